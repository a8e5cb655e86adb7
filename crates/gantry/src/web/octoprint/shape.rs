//! Gantry's printers, jobs and files in OctoPrint's shapes.

use std::time::UNIX_EPOCH;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use printer::driver::State;
use serde_json::{json, Map, Value};

use crate::files::FileLibrary;
use crate::manager::{HeaterView, PrinterView};
use crate::store::FileRow;

/// What stays unescaped in a file name inside a URL path.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Connected and answering: what OctoPrint calls operational.
pub fn operational(printer: &PrinterView) -> bool {
    matches!(
        printer.state,
        State::Ready | State::Printing | State::Paused
    )
}

/// OctoPrint's state text (`GET /api/job`'s `state`, `GET /api/printer`'s `state.text`).
pub fn state_text(printer: Option<&PrinterView>) -> String {
    let Some(printer) = printer else {
        return "Offline".into();
    };
    match printer.state {
        State::Connecting => "Connecting".into(),
        State::Ready => "Operational".into(),
        State::Printing => "Printing".into(),
        State::Paused => "Paused".into(),
        State::Error => format!(
            "Error: {}",
            printer
                .error
                .as_deref()
                .unwrap_or("the printer reported an error")
        ),
        State::Offline => "Offline".into(),
    }
}

pub fn state(printer: &PrinterView) -> Value {
    let s = printer.state;
    json!({
        "text": state_text(Some(printer)),
        "error": printer.error.clone().unwrap_or_default(),
        "flags": {
            "operational": operational(printer),
            "printing": s == State::Printing,
            "paused": s == State::Paused,
            "pausing": false,
            "resuming": false,
            "cancelling": false,
            "finishing": false,
            "error": s == State::Error,
            "closedOrError": matches!(s, State::Error | State::Offline),
            "ready": s == State::Ready,
            "sdReady": false,
        }
    })
}

fn heater(h: &HeaterView) -> Value {
    json!({ "actual": h.actual, "target": h.target.unwrap_or(0.0), "offset": 0 })
}

pub fn temperatures(printer: &PrinterView) -> Value {
    let mut map = Map::new();
    for (i, tool) in printer.temperatures.tools.iter().enumerate() {
        map.insert(format!("tool{i}"), heater(tool));
    }
    if let Some(bed) = &printer.temperatures.bed {
        map.insert("bed".into(), heater(bed));
    }
    if let Some(chamber) = &printer.temperatures.chamber {
        map.insert("chamber".into(), heater(chamber));
    }
    Value::Object(map)
}

/// A file's URL path under `base`.
pub fn resource(base: &str, name: &str) -> String {
    format!(
        "{base}/api/files/local/{}",
        utf8_percent_encode(name, PATH_SEGMENT)
    )
}

/// The file's modification time in Unix seconds, as OctoPrint's `date`.
pub fn date(files: &FileLibrary, name: &str) -> Option<u64> {
    std::fs::metadata(files.path_of(name))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
}

/// `job.filament` / `gcodeAnalysis.filament`.
pub fn filament(metadata: Option<&gcode::Metadata>) -> Value {
    match metadata.and_then(|m| m.filament_used_mm) {
        Some(length) => json!({ "tool0": { "length": length, "volume": 0.0 } }),
        None => Value::Null,
    }
}

/// A library file as OctoPrint lists it.
pub async fn file(files: &FileLibrary, base: &str, row: &FileRow) -> Value {
    let metadata = files.metadata(row).await;
    let mut entry = json!({
        "name": row.name,
        "display": row.name,
        "path": row.name,
        "origin": "local",
        "type": "machinecode",
        "typePath": ["machinecode", "gcode"],
        "size": row.size,
        "date": date(files, &row.name),
        "refs": { "resource": resource(base, &row.name) },
    });
    if let Some(m) = &metadata {
        entry["gcodeAnalysis"] = json!({
            "estimatedPrintTime": m.estimated_time_s,
            "filament": filament(Some(m)),
        });
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_urls() {
        assert_eq!(
            resource("http://h", "a b/ü?.gcode"),
            "http://h/api/files/local/a%20b%2F%C3%BC%3F.gcode"
        );
    }
}
