//! The store: one SQLite file in WAL mode, migrated at start.
//!
//! A file that is not Gantry's is refused with a clear error rather than migrated over or
//! reset: the user may have pointed `--data-dir` at the wrong place, and their data matters.

mod audit;
mod files;
mod jobs;
mod printers;
mod settings;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use audit::AuditEntry;
pub use files::FileRow;
pub use jobs::{JobRow, NewJob, ACTIVE_STATES};
pub use printers::{NewPrinter, PrinterRow};

/// `PRAGMA application_id` of a Gantry database ('GANT'); set by the first migration.
const APPLICATION_ID: i64 = 0x4741_4E54;

/// SQLite's primary result codes for a file that is not (or no longer) a database.
const SQLITE_CORRUPT: &str = "11";
const SQLITE_NOTADB: &str = "26";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {}: {source}", path.display())]
    Open { path: PathBuf, source: sqlx::Error },
    #[error(
        "{} is not a Gantry database (it holds someone else's tables); \
         Gantry will not touch it — move it aside or choose another --data-dir",
        path.display()
    )]
    Foreign { path: PathBuf },
    #[error(
        "{} is damaged or is not a SQLite database ({detail}); Gantry will not overwrite it — \
         restore a backup or move the file aside to start afresh",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error("cannot bring the database {} up to date: {source}", path.display())]
    Migrate {
        path: PathBuf,
        source: sqlx::migrate::MigrateError,
    },
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("a stored setting is not valid JSON: {0}")]
    Setting(#[from] serde_json::Error),
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if missing) the database at `path`, checks that it is Gantry's and applies
    /// the embedded migrations.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|source| StoreError::Open {
                path: path.to_owned(),
                source,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| classify_open_error(path, e))?;
        let store = Store { pool };
        store.check_ownership(path).await?;
        sqlx::migrate!("./migrations")
            .run(&store.pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_owned(),
                source,
            })?;
        Ok(store)
    }

    /// Refuses a database that holds tables but was not created by Gantry.
    async fn check_ownership(&self, path: &Path) -> Result<(), StoreError> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| classify_open_error(path, e))?;
        let application_id: i64 = sqlx::query_scalar("PRAGMA application_id")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify_open_error(path, e))?;
        let fresh = tables.is_empty() && application_id == 0;
        if fresh || application_id == APPLICATION_ID {
            Ok(())
        } else {
            Err(StoreError::Foreign {
                path: path.to_owned(),
            })
        }
    }

    /// Flushes the WAL into the main file and closes every connection.
    pub async fn close(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "checkpoint before closing the database failed");
        }
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn classify_open_error(path: &Path, error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        if matches!(
            db.code().as_deref(),
            Some(SQLITE_NOTADB) | Some(SQLITE_CORRUPT)
        ) {
            return StoreError::Corrupt {
                path: path.to_owned(),
                detail: db.message().to_owned(),
            };
        }
    }
    StoreError::Open {
        path: path.to_owned(),
        source: error,
    }
}

/// Timestamps are stored as RFC 3339 text in UTC so that they sort and read well.
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
