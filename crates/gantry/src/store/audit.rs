//! The audit log: who did what to this machine's access, from where, and when.

use serde::Serialize;

use super::{now, Store, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub event: String,
    pub address: Option<String>,
    pub account: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    pub async fn audit(
        &self,
        event: &str,
        address: Option<&str>,
        account: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_log (at, event, address, account, detail) VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind(now())
            .bind(event)
            .bind(address)
            .bind(account)
            .bind(detail)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The newest entries first.
    pub async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(
            sqlx::query_as::<_, AuditEntry>("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?1")
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?,
        )
    }
}
