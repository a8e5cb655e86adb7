//! Printers: list, rename, manual commands and the console.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use printer::driver::LogLine;
use serde::{Deserialize, Serialize};

use super::{body, parse_id, ApiError, AppState};
use crate::manager::{PortView, PrinterView, TemperatureSample};

/// Longest manual command accepted; Marlin's own line buffer is 96 bytes.
const MAX_COMMAND_LEN: usize = 96;
/// Longest printer name.
const MAX_NAME_LEN: usize = 64;

pub async fn list(State(state): State<AppState>) -> Json<Vec<PrinterView>> {
    Json(state.manager.printers())
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PrinterView>, ApiError> {
    let number = parse_id("printer", &id)?;
    state
        .manager
        .printer(number)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no printer with id `{id}`")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    name: String,
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Result<Json<Update>, JsonRejection>,
) -> Result<Json<PrinterView>, ApiError> {
    let number = parse_id("printer", &id)?;
    let name = body(request)?.name;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_name",
            format!("a printer name is 1 to {MAX_NAME_LEN} characters on one line"),
        ));
    }
    Ok(Json(state.manager.rename(number, name).await?))
}

#[derive(Deserialize)]
pub struct CommandRequest {
    command: String,
}

/// A manual G-code command, as typed in a console.
pub async fn command(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Result<Json<CommandRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let number = parse_id("printer", &id)?;
    let request = body(request)?;
    let line = request.command.trim();
    if line.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_command",
            "the command is empty",
        ));
    }
    if line.len() > MAX_COMMAND_LEN || line.chars().any(|c| c.is_control() || !c.is_ascii()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_command",
            format!("a command is one line of at most {MAX_COMMAND_LEN} plain ASCII characters"),
        ));
    }
    state.manager.send_command(number, line).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
pub struct ConsoleQuery {
    #[serde(default)]
    after: u64,
}

#[derive(Serialize)]
pub(crate) struct ConsoleLine {
    seq: u64,
    /// Milliseconds since the Unix epoch.
    at: u64,
    direction: &'static str,
    text: String,
}

pub async fn console(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<ConsoleQuery>,
) -> Result<Json<Vec<ConsoleLine>>, ApiError> {
    let number = parse_id("printer", &id)?;
    let lines = state.manager.console(number, query.after)?;
    Ok(Json(lines.into_iter().map(ConsoleLine::from).collect()))
}

impl From<LogLine> for ConsoleLine {
    fn from(line: LogLine) -> ConsoleLine {
        ConsoleLine {
            seq: line.seq,
            at: line
                .at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            direction: if line.sent { "sent" } else { "received" },
            text: line.text,
        }
    }
}

/// The last 30 minutes of temperatures, for the chart.
pub async fn temperatures(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<TemperatureSample>>, ApiError> {
    let number = parse_id("printer", &id)?;
    Ok(Json(state.manager.temperature_history(number)?))
}

/// Serial ports seen by discovery, with what Gantry makes of each.
pub async fn ports(State(state): State<AppState>) -> Json<Vec<PortView>> {
    Json(state.manager.ports())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    port: String,
    baud: Option<u32>,
}

/// *Add printer by port*.
pub async fn add(
    State(state): State<AppState>,
    request: Result<Json<AddRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<PrinterView>), ApiError> {
    let request = body(request)?;
    if request.port.trim().is_empty() || request.port.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "name the serial port, e.g. /dev/ttyUSB0",
        ));
    }
    let id = state
        .manager
        .add_by_port(request.port.trim().into(), request.baud)
        .await?;
    let view = state
        .manager
        .printer(id)
        .ok_or_else(|| ApiError::not_found("the printer vanished"))?;
    Ok((StatusCode::CREATED, Json(view)))
}
