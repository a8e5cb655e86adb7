//! Print jobs and their journal: the last line the firmware acknowledged, checkpointed while
//! printing, so a crash or a lost cable leaves a job that can be resumed from that line.

use serde::Serialize;

use super::{now, Store, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub printer_id: i64,
    pub file_id: Option<i64>,
    pub file_name: String,
    pub origin: String,
    pub cloud_job_id: Option<String>,
    pub state: String,
    pub total_bytes: i64,
    pub acked_line: i64,
    pub acked_bytes: i64,
    pub resumed_from_line: Option<i64>,
    pub resumed_job_id: Option<i64>,
    pub message: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub checkpoint_at: Option<String>,
}

/// A job about to be handed to a printer.
#[derive(Debug, Clone, Default)]
pub struct NewJob<'a> {
    pub printer_id: i64,
    pub file_id: Option<i64>,
    pub file_name: &'a str,
    pub origin: &'a str,
    pub cloud_job_id: Option<&'a str>,
    pub total_bytes: u64,
    pub resumed_from: Option<(i64, u64, u64)>,
}

/// States in which a job is still on its printer.
pub const ACTIVE_STATES: &[&str] = &["printing", "paused"];

impl Store {
    pub async fn create_job(&self, job: &NewJob<'_>) -> Result<JobRow, StoreError> {
        let at = now();
        let (resumed_job, line, bytes) = match job.resumed_from {
            Some((id, line, bytes)) => (Some(id), line, bytes),
            None => (None, 0, 0),
        };
        Ok(sqlx::query_as::<_, JobRow>(
            "INSERT INTO jobs (printer_id, file_id, file_name, origin, cloud_job_id, state, total_bytes,
                               acked_line, acked_bytes, resumed_from_line, resumed_job_id, created_at,
                               started_at, checkpoint_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'printing', ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?11)
             RETURNING *",
        )
        .bind(job.printer_id)
        .bind(job.file_id)
        .bind(job.file_name)
        .bind(job.origin)
        .bind(job.cloud_job_id)
        .bind(to_i64(job.total_bytes))
        .bind(to_i64(line))
        .bind(to_i64(bytes))
        .bind(resumed_job.map(|_| to_i64(line)))
        .bind(resumed_job)
        .bind(&at)
        .fetch_one(self.pool())
        .await?)
    }

    /// A job that never reached the printer leaves no trace.
    pub async fn discard_job(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM jobs WHERE id = ?1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn checkpoint_job(&self, id: i64, line: u64, bytes: u64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET acked_line = ?2, acked_bytes = ?3, checkpoint_at = ?4 WHERE id = ?1",
        )
        .bind(id)
        .bind(to_i64(line))
        .bind(to_i64(bytes))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves a job to `state` with its journal position; ends it unless it is still active.
    pub async fn set_job_state(
        &self,
        id: i64,
        state: &str,
        line: u64,
        bytes: u64,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        let ended = (!ACTIVE_STATES.contains(&state)).then(now);
        sqlx::query(
            "UPDATE jobs SET state = ?2, acked_line = ?3, acked_bytes = ?4, checkpoint_at = ?5,
                             message = COALESCE(?6, message), ended_at = COALESCE(?7, ended_at)
             WHERE id = ?1",
        )
        .bind(id)
        .bind(state)
        .bind(to_i64(line))
        .bind(to_i64(bytes))
        .bind(now())
        .bind(message)
        .bind(ended)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, JobRow>("SELECT * FROM jobs WHERE id = ?1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The newest jobs first; all printers when `printer_id` is `None`.
    pub async fn jobs(
        &self,
        printer_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<JobRow>, StoreError> {
        Ok(sqlx::query_as::<_, JobRow>(
            "SELECT * FROM jobs WHERE (?1 IS NULL OR printer_id = ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(printer_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn job_by_cloud_id(&self, cloud_job_id: &str) -> Result<Option<JobRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, JobRow>("SELECT * FROM jobs WHERE cloud_job_id = ?1")
                .bind(cloud_job_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// At start-up, no job can be printing: any that the journal shows as active was cut
    /// short by a crash or a power loss, at its last checkpoint.
    pub async fn interrupt_orphaned_jobs(&self) -> Result<Vec<JobRow>, StoreError> {
        Ok(sqlx::query_as::<_, JobRow>(
            "UPDATE jobs SET state = 'interrupted', ended_at = ?1,
                    message = 'Gantry stopped unexpectedly while printing (crash or power loss)'
             WHERE state IN ('printing', 'paused')
             RETURNING *",
        )
        .bind(now())
        .fetch_all(self.pool())
        .await?)
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Store {
    /// True while a printer is printing (or paused on) this file.
    pub async fn file_in_use(&self, file_id: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE file_id = ?1 AND state IN ('printing', 'paused')",
        )
        .bind(file_id)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }
}
