//! Jobs: starting, controlling and resuming prints, and keeping the journal.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::{Arc, PoisonError};

use gcode::{ModalState, ReadError, Reader, ResumeOptions};
use printer::driver::{Command, JobEvent, JobSpec, ResumePoint, Scripts};

use super::{LastJobView, Managed, Manager, ManagerError};
use crate::store::{JobRow, NewJob, ACTIVE_STATES};

/// Settings key of the user's pause/resume/cancel scripts.
pub const SCRIPTS_SETTING: &str = "scripts";

/// Who asked for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Local,
    OctoPrint,
    Cloud,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::OctoPrint => "octoprint",
            Origin::Cloud => "cloud",
        }
    }
}

/// Job controls that act on whatever the printer is printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Cancel,
    EmergencyStop,
}

impl Manager {
    /// Prints library file `file_id` on printer `printer_id`. `cloud_job_id`, when given, makes
    /// the start idempotent: a second start of the same cloud job returns the first one.
    pub async fn start_job(
        &self,
        printer_id: i64,
        file_id: i64,
        origin: Origin,
        cloud_job_id: Option<&str>,
    ) -> Result<JobRow, ManagerError> {
        if let Some(cloud_id) = cloud_job_id {
            if let Some(existing) = self.store.job_by_cloud_id(cloud_id).await? {
                tracing::info!(
                    cloud_id,
                    job = existing.id,
                    "cloud job already started; not starting it again"
                );
                return Ok(existing);
            }
        }
        let entry = self.entry(printer_id)?;
        let file = self.files.get(file_id).await?;
        let path = self.files.path_of(&file.name);
        let total_bytes = std::fs::metadata(&path)
            .map(|m| m.len())
            .map_err(crate::files::FileError::from)?;
        let job = self
            .store
            .create_job(&NewJob {
                printer_id,
                file_id: Some(file_id),
                file_name: &file.name,
                origin: origin.as_str(),
                cloud_job_id,
                total_bytes,
                resumed_from: None,
            })
            .await?;
        let metadata = self.files.metadata(&file).await.map(Arc::new);
        self.launch(&entry, &job, &path, None, metadata).await
    }

    /// Continues an interrupted (or failed, or cancelled) job after `after_line`, or after
    /// its last acknowledged line, as a new job that remembers where it came from.
    pub async fn resume_job(
        &self,
        job_id: i64,
        after_line: Option<u64>,
    ) -> Result<JobRow, ManagerError> {
        let old = self
            .store
            .job(job_id)
            .await?
            .ok_or(ManagerError::UnknownJob(job_id))?;
        if ACTIVE_STATES.contains(&old.state.as_str()) || old.state == "finished" {
            return Err(ManagerError::NotResumable(format!(
                "job {job_id} is {}; only an unfinished job can be resumed",
                old.state
            )));
        }
        let entry = self.entry(old.printer_id)?;
        let file_id = old.file_id.ok_or_else(|| {
            ManagerError::NotResumable(format!("the file of job {job_id} was deleted"))
        })?;
        let file = self.files.get(file_id).await?;
        let path = self.files.path_of(&file.name);
        let line = after_line.unwrap_or(u64::try_from(old.acked_line).unwrap_or(0));
        if line == 0 {
            return Err(ManagerError::NotResumable(
                "the job had not printed anything yet; start it again from the top".into(),
            ));
        }
        let scan_path = path.clone();
        let (state, offset) = tokio::task::spawn_blocking(move || state_at(&scan_path, line))
            .await
            .map_err(|e| ManagerError::NotResumable(e.to_string()))?
            .map_err(|e| {
                ManagerError::NotResumable(format!("cannot read the file up to line {line}: {e}"))
            })?;
        let preamble = gcode::resume_preamble(&state, &ResumeOptions::default()).map_err(|e| {
            ManagerError::NotResumable(format!("cannot resume at line {line}: {e}"))
        })?;
        // The last line actually read: `line` may have named a blank line.
        let line = state.line;
        let total_bytes = std::fs::metadata(&path)
            .map(|m| m.len())
            .map_err(crate::files::FileError::from)?;
        let job = self
            .store
            .create_job(&NewJob {
                printer_id: old.printer_id,
                file_id: Some(file_id),
                file_name: &file.name,
                origin: &old.origin,
                cloud_job_id: None,
                total_bytes,
                resumed_from: Some((old.id, line, offset)),
            })
            .await?;
        let metadata = self.files.metadata(&file).await.map(Arc::new);
        let point = ResumePoint {
            after_line: line,
            offset,
            preamble,
        };
        self.launch(&entry, &job, &path, Some(point), metadata)
            .await
    }

    async fn launch(
        &self,
        entry: &Managed,
        job: &JobRow,
        path: &Path,
        resume: Option<ResumePoint>,
        metadata: Option<Arc<gcode::Metadata>>,
    ) -> Result<JobRow, ManagerError> {
        let scripts: Scripts = self
            .store
            .setting(SCRIPTS_SETTING)
            .await?
            .unwrap_or_default();
        let spec = JobSpec {
            id: job.id,
            path: path.to_owned(),
            name: job.file_name.clone(),
            resume,
            scripts,
        };
        *entry
            .metadata
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = metadata;
        if let Err(refusal) = entry.driver.request(Command::StartJob(spec)).await {
            self.store.discard_job(job.id).await?;
            return Err(refusal.into());
        }
        tracing::info!(job = job.id, printer = job.printer_id, file = %job.file_name, "job started");
        Ok(self.store.job(job.id).await?.unwrap_or_else(|| job.clone()))
    }

    pub async fn control(&self, printer_id: i64, control: Control) -> Result<(), ManagerError> {
        let command = match control {
            Control::Pause => Command::Pause,
            Control::Resume => Command::Resume,
            Control::Cancel => Command::Cancel,
            Control::EmergencyStop => Command::EmergencyStop,
        };
        Ok(self.entry(printer_id)?.driver.request(command).await?)
    }

    /// Writes a printer's milestone to the journal. Never dropped, in order.
    pub(super) async fn journal(&self, managed: &Managed, event: JobEvent) {
        let result = match &event {
            JobEvent::Started { .. } | JobEvent::Resumed { .. } => Ok(()),
            JobEvent::Checkpoint { job, at } => {
                self.store.checkpoint_job(*job, at.line, at.offset).await
            }
            JobEvent::Paused { job, at } => {
                self.store
                    .set_job_state(*job, "paused", at.line, at.offset, None)
                    .await
            }
            JobEvent::Finished { job, at } => {
                self.store
                    .set_job_state(*job, "finished", at.line, at.offset, None)
                    .await
            }
            JobEvent::Cancelled { job, at } => {
                self.store
                    .set_job_state(*job, "cancelled", at.line, at.offset, None)
                    .await
            }
            JobEvent::Failed { job, at, reason } => {
                self.store
                    .set_job_state(*job, "failed", at.line, at.offset, Some(reason))
                    .await
            }
            JobEvent::Interrupted { job, at, reason } => {
                let message = format!("{reason}; interrupted at line {}", at.line);
                self.store
                    .set_job_state(*job, "interrupted", at.line, at.offset, Some(&message))
                    .await
            }
        };
        if let JobEvent::Resumed { job } = &event {
            if let Err(e) = mark_printing(self, *job).await {
                tracing::warn!(job, error = %e, "cannot record the resume");
            }
        }
        if let Err(e) = result {
            tracing::error!(?event, error = %e, "cannot write the job journal");
        }
        let ended = match &event {
            JobEvent::Finished { job, .. }
            | JobEvent::Cancelled { job, .. }
            | JobEvent::Failed { job, .. }
            | JobEvent::Interrupted { job, .. } => Some(*job),
            _ => None,
        };
        if let Some(job) = ended {
            *managed
                .metadata
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
            // As the journal has it, so every client sees the same outcome and time.
            match self.store.job(job).await {
                Ok(Some(row)) => {
                    if let Some(last) = LastJobView::from_row(&row) {
                        *managed
                            .last_job
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner) = Some(last);
                    }
                }
                Ok(None) => tracing::warn!(job, "an ended job is missing from the journal"),
                Err(e) => tracing::warn!(job, error = %e, "cannot read the ended job"),
            }
        }
    }

    /// The printer's most recent job that has ended, for its view.
    pub(super) async fn last_ended_job(&self, printer_id: i64) -> Option<LastJobView> {
        // At most one job per printer is active, so the newest two hold the last ended one.
        match self.store.jobs(Some(printer_id), 2).await {
            Ok(rows) => rows.iter().find_map(LastJobView::from_row),
            Err(e) => {
                tracing::warn!(printer_id, error = %e, "cannot read the printer's last job");
                None
            }
        }
    }
}

/// A paused job that resumes is printing again.
async fn mark_printing(manager: &Manager, job: i64) -> Result<(), crate::store::StoreError> {
    if let Some(row) = manager.store.job(job).await? {
        let (line, bytes) = (
            u64::try_from(row.acked_line).unwrap_or(0),
            u64::try_from(row.acked_bytes).unwrap_or(0),
        );
        manager
            .store
            .set_job_state(job, "printing", line, bytes, None)
            .await?;
    }
    Ok(())
}

/// The printer's modal state after `line`, and the byte offset just after the last line at or
/// before it, in one pass over the file.
fn state_at(path: &Path, line: u64) -> Result<(ModalState, u64), ReadError> {
    let file = File::open(path)?;
    let mut reader = Reader::new(BufReader::new(file)).keep_comment_lines(true);
    let mut state = ModalState::default();
    let mut offset = 0;
    while let Some(l) = reader.next_line()? {
        if l.number > line {
            break;
        }
        if let Some(comment) = l.comment {
            state.apply_comment(comment);
        }
        state.apply(l.command);
        state.line = l.number;
        offset = l.end_offset;
    }
    Ok((state, offset))
}
