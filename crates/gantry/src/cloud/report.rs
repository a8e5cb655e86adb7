//! The status report sent with every `command` request, and its delta compression.
//!
//! The protocol leaves out fields that have not changed since the last *answered* report, so a
//! report is only marked sent once the cloud has answered it.

use serde::Serialize;
use serde_json::{Map, Value};

/// State names as the cloud knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudState {
    Ready,
    Connecting,
    Error,
    Downloading,
    Printing,
    Paused,
    LocalMode,
    BedNotClear,
}

/// One printer's state, as the link takes it from the host before each request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub state: Option<CloudState>,
    pub percent: f64,
    /// Index 0 is the bed, 1.. the extruders.
    pub temps: Vec<f64>,
    pub target_temps: Vec<f64>,
    pub line_number: Option<u64>,
    pub coords: Option<[f64; 4]>,
    pub filename: Option<String>,
    pub clouds_job_id: Option<String>,
}

/// Fields always sent, even when unchanged.
const ALWAYS: [&str; 4] = ["state", "percent", "temps", "target_temps"];

/// Builds reports that leave out what the cloud already has.
#[derive(Debug, Default)]
pub struct Reporter {
    /// The last report the cloud answered, field by field.
    acknowledged: Map<String, Value>,
}

/// A report built but not yet answered; hand it back to [`Reporter::answered`] on success.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingReport {
    pub body: Value,
    full: Map<String, Value>,
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

impl Reporter {
    pub fn build(&self, snapshot: &Snapshot, events: Option<Map<String, Value>>) -> PendingReport {
        let state = snapshot.state.unwrap_or(CloudState::Connecting);
        let mut full = Map::new();
        full.insert("state".into(), serde_json::json!(state));
        full.insert("percent".into(), Value::from(round2(snapshot.percent)));
        let temps = |list: &[f64]| Value::from(list.iter().map(|t| round2(*t)).collect::<Vec<_>>());
        full.insert("temps".into(), temps(&snapshot.temps));
        full.insert("target_temps".into(), temps(&snapshot.target_temps));
        if let Some(line) = snapshot.line_number {
            full.insert("line_number".into(), Value::from(line));
        }
        if let Some(coords) = snapshot.coords {
            full.insert("coords".into(), Value::from(coords.to_vec()));
        }
        // Job fields only while downloading, printing or paused, as the protocol says.
        let job_state = matches!(
            state,
            CloudState::Downloading | CloudState::Printing | CloudState::Paused
        );
        if job_state {
            if let Some(name) = &snapshot.filename {
                full.insert("filename".into(), Value::from(name.clone()));
            }
            if let Some(job) = &snapshot.clouds_job_id {
                full.insert("clouds_job_id".into(), Value::from(job.clone()));
            }
        }
        let mut body = Map::new();
        for (key, value) in &full {
            let keep = ALWAYS.contains(&key.as_str())
                || key == "clouds_job_id"
                || self.acknowledged.get(key) != Some(value);
            if keep {
                body.insert(key.clone(), value.clone());
            }
        }
        // A one-shot event (cancel, finish) overrides the fields it names, once.
        if let Some(events) = events {
            for (key, value) in events {
                body.insert(key, value);
            }
        }
        PendingReport {
            body: Value::Object(body),
            full,
        }
    }

    /// The cloud answered this report: later reports may leave out what it carried.
    pub fn answered(&mut self, report: PendingReport) {
        self.acknowledged = report.full;
    }

    /// After a new login the cloud knows nothing: send everything again.
    pub fn reset(&mut self) {
        self.acknowledged.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn printing(line: u64) -> Snapshot {
        Snapshot {
            state: Some(CloudState::Printing),
            percent: 12.345,
            temps: vec![60.004, 210.0],
            target_temps: vec![60.0, 210.0],
            line_number: Some(line),
            coords: Some([1.0, 2.0, 0.2, 5.0]),
            filename: Some("a.gcode".into()),
            clouds_job_id: Some("991".into()),
        }
    }

    #[test]
    fn unchanged_fields_are_left_out_only_after_an_answer() {
        let mut reporter = Reporter::default();
        let first = reporter.build(&printing(10), None);
        assert_eq!(first.body["percent"], json!(12.35));
        assert_eq!(first.body["temps"], json!([60.0, 210.0]));
        assert!(first.body.get("coords").is_some());
        // Not answered (link down): the next report still carries everything.
        let retry = reporter.build(&printing(10), None);
        assert!(retry.body.get("coords").is_some());
        reporter.answered(retry);
        let next = reporter.build(&printing(11), None);
        assert_eq!(next.body["line_number"], json!(11));
        assert!(next.body.get("coords").is_none());
        assert!(next.body.get("filename").is_none());
        assert_eq!(next.body["state"], json!("printing"));
        assert_eq!(next.body["clouds_job_id"], json!("991"));
    }

    #[test]
    fn job_fields_only_while_a_job_runs_and_events_override() {
        let reporter = Reporter::default();
        let mut ready = printing(1);
        ready.state = Some(CloudState::Ready);
        let mut events = Map::new();
        events.insert("state".into(), json!("cancel"));
        let report = reporter.build(&ready, Some(events));
        assert!(report.body.get("filename").is_none());
        assert!(report.body.get("clouds_job_id").is_none());
        assert_eq!(report.body["state"], json!("cancel"));
    }
}
