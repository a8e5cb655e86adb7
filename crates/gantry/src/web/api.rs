//! The JSON API under `/api/v1`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::Json;
use printer::driver::Command;
use serde::Deserialize;

use super::{ApiError, AppState, ServerInfo};
use crate::manager::{ManagerError, PrinterView};

/// Longest manual command accepted; Marlin's own line buffer is 96 bytes.
const MAX_COMMAND_LEN: usize = 96;

pub async fn status(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo::clone(&state.info))
}

pub async fn printers(State(state): State<AppState>) -> Json<Vec<PrinterView>> {
    Json(state.manager.printers())
}

pub async fn printer(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PrinterView>, ApiError> {
    let number = printer_id(&id)?;
    state
        .manager
        .printer(number)
        .map(Json)
        .ok_or_else(|| unknown_printer(&id))
}

fn unknown_printer(id: &str) -> ApiError {
    ApiError::not_found(format!("there is no printer with id `{id}`"))
}

fn printer_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| unknown_printer(id))
}

#[derive(Deserialize)]
pub struct CommandRequest {
    command: String,
}

/// A manual G-code command, as typed in a console.
pub async fn command(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<CommandRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let number = printer_id(&id)?;
    let Json(request) =
        body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
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
    state
        .manager
        .command(number, Command::Send(line.to_owned()))
        .map_err(|e| match e {
            ManagerError::UnknownPrinter(_) => unknown_printer(&id),
            other => ApiError::new(
                StatusCode::CONFLICT,
                "printer_unavailable",
                other.to_string(),
            ),
        })?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no API endpoint at {}", uri.path()))
}
