//! Printers and jobs as the dashboard, the API and `gantry status` show them.

use std::time::{Duration, SystemTime};

use gcode::progress::{eta, fraction, EtaInput};
use gcode::Metadata;
use printer::driver::{JobStatus, State, Status};
use serde::{Deserialize, Serialize};

use crate::store::{JobRow, PrinterRow};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PrinterView {
    pub id: i64,
    pub identity: String,
    pub name: String,
    pub port: String,
    pub baud: Option<i64>,
    pub state: State,
    pub error: Option<String>,
    pub firmware: Option<FirmwareView>,
    pub temperatures: TemperaturesView,
    pub job: Option<JobView>,
    /// The printer's most recent job that has ended, so a client that was away (or the
    /// tray, which notifies once per job) can tell how it went.
    #[serde(default)]
    pub last_job: Option<LastJobView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FirmwareView {
    pub name: Option<String>,
    pub uuid: Option<String>,
    pub machine_type: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TemperaturesView {
    pub tools: Vec<HeaterView>,
    pub bed: Option<HeaterView>,
    pub chamber: Option<HeaterView>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct HeaterView {
    pub actual: f64,
    pub target: Option<f64>,
}

/// The running job of a printer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JobView {
    pub id: i64,
    pub file_name: String,
    pub paused: bool,
    /// Percent of the file the firmware has acknowledged.
    pub progress: f64,
    pub acked_bytes: u64,
    pub total_bytes: u64,
    pub line: u64,
    pub elapsed_s: u64,
    pub eta_s: Option<u64>,
    /// 1-based layer number, when the file marks layers.
    pub layer: Option<u32>,
    pub layer_count: Option<u32>,
    pub resumed_from_line: Option<u64>,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JobResult {
    Finished,
    Failed,
    Cancelled,
    /// Cut short by a lost link, a crash or a power loss; it can be resumed.
    Interrupted,
}

impl JobResult {
    /// The outcome a journal state records; `None` while the job is still active.
    pub fn from_state(state: &str) -> Option<JobResult> {
        match state {
            "finished" => Some(JobResult::Finished),
            "failed" => Some(JobResult::Failed),
            "cancelled" => Some(JobResult::Cancelled),
            "interrupted" => Some(JobResult::Interrupted),
            _ => None,
        }
    }
}

/// A job that has ended, as the journal recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LastJobView {
    pub id: i64,
    pub file_name: String,
    pub result: JobResult,
    /// RFC 3339, UTC.
    pub ended_at: Option<String>,
    /// Why it failed or was interrupted, when known.
    pub message: Option<String>,
}

impl LastJobView {
    /// The view of a journal row; `None` while the job is still active.
    pub fn from_row(row: &JobRow) -> Option<LastJobView> {
        Some(LastJobView {
            id: row.id,
            file_name: row.file_name.clone(),
            result: JobResult::from_state(&row.state)?,
            ended_at: row.ended_at.clone(),
            message: row.message.clone(),
        })
    }
}

impl From<&marlin::Heater> for HeaterView {
    fn from(heater: &marlin::Heater) -> HeaterView {
        HeaterView {
            actual: heater.actual,
            target: heater.target,
        }
    }
}

impl PrinterView {
    pub(super) fn new(
        row: &PrinterRow,
        status: &Status,
        metadata: Option<&Metadata>,
        last_job: Option<LastJobView>,
    ) -> PrinterView {
        let temps = &status.temperatures;
        PrinterView {
            id: row.id,
            identity: row.identity.clone(),
            name: row.name.clone(),
            port: row.port.clone(),
            baud: row.baud,
            state: status.state,
            error: status.error.clone(),
            firmware: status.firmware.as_ref().map(|f| FirmwareView {
                name: f.name.clone(),
                uuid: f.uuid.clone(),
                machine_type: f.machine_type.clone(),
            }),
            temperatures: TemperaturesView {
                tools: temps.tools.iter().map(HeaterView::from).collect(),
                bed: temps.bed.as_ref().map(HeaterView::from),
                chamber: temps.chamber.as_ref().map(HeaterView::from),
            },
            job: status.job.as_ref().map(|job| JobView::new(job, metadata)),
            last_job,
        }
    }
}

impl JobView {
    fn new(job: &JobStatus, metadata: Option<&Metadata>) -> JobView {
        let offset = job.acked.offset;
        let done = fraction(offset, job.total_bytes);
        let elapsed = SystemTime::now()
            .duration_since(job.started_at)
            .unwrap_or_default();
        let eta = eta(&EtaInput {
            elapsed,
            fraction: done,
            slicer_total: metadata
                .and_then(|m| m.estimated_time_s)
                .map(Duration::from_secs),
            slicer_remaining: metadata
                .and_then(|m| m.remaining_at(offset))
                .map(Duration::from_secs),
        });
        let layer_count =
            metadata.and_then(|m| m.layer_count.or_else(|| u32::try_from(m.layers.len()).ok()));
        JobView {
            id: job.id,
            file_name: job.name.clone(),
            paused: job.paused,
            progress: (done * 1000.0).round() / 10.0,
            acked_bytes: offset,
            total_bytes: job.total_bytes,
            line: job.acked.line,
            elapsed_s: elapsed.as_secs(),
            eta_s: eta.map(|d| d.as_secs()),
            layer: metadata
                .and_then(|m| m.layer_at(offset))
                .map(|l| l.index + 1),
            layer_count: layer_count.filter(|n| *n > 0),
            resumed_from_line: job.resumed_from_line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str) -> JobRow {
        JobRow {
            id: 12,
            printer_id: 1,
            file_id: Some(3),
            file_name: "cube.gcode".into(),
            origin: "local".into(),
            cloud_job_id: None,
            state: state.into(),
            total_bytes: 100,
            acked_line: 4,
            acked_bytes: 40,
            resumed_from_line: None,
            resumed_job_id: None,
            message: Some("lost".into()),
            created_at: "2026-11-27T01:00:00Z".into(),
            started_at: Some("2026-11-27T01:00:00Z".into()),
            ended_at: Some("2026-11-27T01:05:00Z".into()),
            checkpoint_at: None,
        }
    }

    #[test]
    fn every_ended_state_has_a_result_and_active_ones_none() {
        let ended = [
            ("finished", JobResult::Finished),
            ("failed", JobResult::Failed),
            ("cancelled", JobResult::Cancelled),
            ("interrupted", JobResult::Interrupted),
        ];
        for (state, result) in ended {
            assert_eq!(JobResult::from_state(state), Some(result), "{state}");
        }
        for state in crate::store::ACTIVE_STATES {
            assert_eq!(JobResult::from_state(state), None, "{state}");
            assert_eq!(LastJobView::from_row(&row(state)), None, "{state}");
        }
    }

    #[test]
    fn last_job_carries_the_journal_row() {
        let last = LastJobView::from_row(&row("interrupted")).expect("ended");
        assert_eq!(last.id, 12);
        assert_eq!(last.file_name, "cube.gcode");
        assert_eq!(last.result, JobResult::Interrupted);
        assert_eq!(last.ended_at.as_deref(), Some("2026-11-27T01:05:00Z"));
        assert_eq!(last.message.as_deref(), Some("lost"));
        let json = serde_json::to_value(&last).expect("JSON");
        assert_eq!(json["result"], "interrupted");
    }
}
