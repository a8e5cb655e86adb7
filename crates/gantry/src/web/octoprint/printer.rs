//! The printer: state and temperatures, G-code commands, heater targets.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{shape, Caller, OpError};
use crate::manager::PrinterView;
use crate::web::AppState;

/// Lines one command request may carry.
const MAX_COMMANDS: usize = 100;
/// Highest heater target accepted, °C.
const MAX_TOOL_C: f64 = 450.0;
const MAX_BED_C: f64 = 200.0;

/// The caller's printer when it is connected and answering (409 otherwise, as OctoPrint).
fn operational(state: &AppState, caller: &Caller) -> Result<PrinterView, OpError> {
    caller
        .printer(state)
        .filter(shape::operational)
        .ok_or_else(OpError::not_operational)
}

#[derive(Deserialize)]
pub struct StatusQuery {
    exclude: Option<String>,
}

pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<StatusQuery>,
) -> Result<Json<Value>, OpError> {
    let printer = operational(&state, &caller)?;
    let excluded: Vec<&str> = query
        .exclude
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .collect();
    let mut body = Map::new();
    if !excluded.contains(&"temperature") {
        body.insert("temperature".into(), shape::temperatures(&printer));
    }
    if !excluded.contains(&"sd") {
        body.insert("sd".into(), json!({ "ready": false }));
    }
    if !excluded.contains(&"state") {
        body.insert("state".into(), shape::state(&printer));
    }
    Ok(Json(Value::Object(body)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    command: Option<String>,
    commands: Option<Vec<String>>,
    script: Option<String>,
    parameters: Option<Value>,
}

/// `{"command": "M105"}` or `{"commands": [...]}`, sent one by one under the driver's
/// safety rules; the first refusal stops the rest.
pub async fn command(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CommandRequest>, JsonRejection>,
) -> Result<StatusCode, OpError> {
    let Json(body) = body.map_err(|e| OpError::bad_request(e.body_text()))?;
    if body.script.is_some() || body.parameters.is_some() {
        return Err(OpError::bad_request(
            "G-code scripts are not supported; send commands",
        ));
    }
    let lines: Vec<String> = match (body.command, body.commands) {
        (Some(one), None) => vec![one],
        (None, Some(many)) => many,
        _ => return Err(OpError::bad_request("Send either `command` or `commands`")),
    };
    let lines: Vec<String> = lines
        .iter()
        .flat_map(|l| l.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if lines.is_empty() {
        return Err(OpError::bad_request("No commands to send"));
    }
    if lines.len() > MAX_COMMANDS {
        return Err(OpError::bad_request(format!(
            "At most {MAX_COMMANDS} commands at once"
        )));
    }
    let printer = operational(&state, &caller)?;
    for line in &lines {
        state.manager.send_command(printer.id, line).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct HeaterRequest {
    command: String,
    targets: Option<Map<String, Value>>,
    target: Option<Value>,
}

fn temperature(value: &Value, max: f64) -> Result<f64, OpError> {
    value
        .as_f64()
        .filter(|t| (0.0..=max).contains(t))
        .ok_or_else(|| OpError::bad_request(format!("A target must be a number from 0 to {max}")))
}

fn heater_request(
    body: Result<Json<HeaterRequest>, JsonRejection>,
) -> Result<HeaterRequest, OpError> {
    let Json(body) = body.map_err(|e| OpError::bad_request(e.body_text()))?;
    if body.command != "target" {
        return Err(OpError::bad_request(format!(
            "Unsupported command `{}`; only `target` is",
            body.command
        )));
    }
    Ok(body)
}

/// `{"command": "target", "targets": {"tool0": 200}}`.
pub async fn tool(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<HeaterRequest>, JsonRejection>,
) -> Result<StatusCode, OpError> {
    let body = heater_request(body)?;
    let targets = body
        .targets
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OpError::bad_request("`targets` is missing"))?;
    let mut lines = Vec::new();
    for (name, value) in &targets {
        let index: u8 = name
            .strip_prefix("tool")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| OpError::bad_request(format!("`{name}` is not a tool")))?;
        let celsius = temperature(value, MAX_TOOL_C)?;
        lines.push(format!("M104 T{index} S{celsius}"));
    }
    let printer = operational(&state, &caller)?;
    for line in &lines {
        state.manager.send_command(printer.id, line).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `{"command": "target", "target": 60}`.
pub async fn bed(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<HeaterRequest>, JsonRejection>,
) -> Result<StatusCode, OpError> {
    let body = heater_request(body)?;
    let target = body
        .target
        .as_ref()
        .ok_or_else(|| OpError::bad_request("`target` is missing"))?;
    let celsius = temperature(target, MAX_BED_C)?;
    let printer = operational(&state, &caller)?;
    state
        .manager
        .send_command(printer.id, &format!("M140 S{celsius}"))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
