//! Printers and jobs as the dashboard, the API and `gantry status` show them.

use std::time::{Duration, SystemTime};

use gcode::progress::{eta, fraction, EtaInput};
use gcode::Metadata;
use printer::driver::{JobStatus, State, Status};
use serde::{Deserialize, Serialize};

use crate::store::PrinterRow;

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
