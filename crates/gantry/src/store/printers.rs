//! Printers as the store knows them: a stable identity and what the user called them.

use serde::Serialize;

use super::{now, Store, StoreError};

/// What the printer manager knows of a port before it has talked to the printer.
#[derive(Debug, Clone)]
pub struct NewPrinter<'a> {
    pub identity: &'a str,
    /// Used only the first time this identity is seen; a user's rename is kept afterwards.
    pub default_name: &'a str,
    pub port: &'a str,
    pub baud: Option<u32>,
    pub profile: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct PrinterRow {
    pub id: i64,
    pub identity: String,
    pub name: String,
    pub profile: Option<String>,
    pub port: String,
    pub baud: Option<i64>,
    pub firmware_name: Option<String>,
    pub firmware_uuid: Option<String>,
    pub machine_type: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
}

impl Store {
    /// Records that a printer is present, creating it on first sight.
    pub async fn upsert_printer(&self, printer: &NewPrinter<'_>) -> Result<PrinterRow, StoreError> {
        let at = now();
        let row = sqlx::query_as::<_, PrinterRow>(
            "INSERT INTO printers (identity, name, profile, port, baud, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (identity) DO UPDATE SET
                port = excluded.port,
                baud = excluded.baud,
                profile = COALESCE(excluded.profile, printers.profile),
                last_seen = excluded.last_seen
             RETURNING *",
        )
        .bind(printer.identity)
        .bind(printer.default_name)
        .bind(printer.profile)
        .bind(printer.port)
        .bind(printer.baud.map(i64::from))
        .bind(&at)
        .fetch_one(self.pool())
        .await?;
        Ok(row)
    }

    /// Stores what the firmware said about itself in answer to `M115`.
    pub async fn record_firmware(
        &self,
        id: i64,
        firmware_name: Option<&str>,
        uuid: Option<&str>,
        machine_type: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE printers SET firmware_name = ?2, firmware_uuid = ?3, machine_type = ?4, last_seen = ?5
             WHERE id = ?1",
        )
        .bind(id)
        .bind(firmware_name)
        .bind(uuid)
        .bind(machine_type)
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn touch_printer(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE printers SET last_seen = ?2 WHERE id = ?1")
            .bind(id)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn rename_printer(&self, id: i64, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE printers SET name = ?2 WHERE id = ?1")
            .bind(id)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn printers(&self) -> Result<Vec<PrinterRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, PrinterRow>("SELECT * FROM printers ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn printer(&self, id: i64) -> Result<Option<PrinterRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, PrinterRow>("SELECT * FROM printers WHERE id = ?1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}
