//! The job: what is printing (or selected) and how far it got; start, pause, resume, cancel.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use printer::driver::State as PrinterState;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{shape, Caller, OpError};
use crate::manager::{Control, Origin};
use crate::web::AppState;

pub async fn status(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, OpError> {
    let printer = caller.printer(&state);
    let files = state.manager.files();
    let running = printer.as_ref().and_then(|p| p.job.clone());
    let file_name = match &running {
        Some(job) => Some(job.file_name.clone()),
        None => match state.api_keys.selected(caller.client()) {
            Some(id) => files.get(id).await.ok().map(|row| row.name),
            None => None,
        },
    };
    let row = match &file_name {
        Some(name) => state.manager.store().file_by_name(name).await?,
        None => None,
    };
    let metadata = match &row {
        Some(row) => files.metadata(row).await,
        None => None,
    };
    let file = match &file_name {
        Some(name) => json!({
            "name": name,
            "display": name,
            "path": name,
            "origin": "local",
            "size": running.as_ref().map(|j| j.total_bytes as i64).or(row.as_ref().map(|r| r.size)),
            "date": shape::date(files, name),
        }),
        None => {
            json!({ "name": null, "display": null, "path": null, "origin": null, "size": null, "date": null })
        }
    };
    let progress = match &running {
        Some(job) => json!({
            "completion": job.progress,
            "filepos": job.acked_bytes,
            "printTime": job.elapsed_s,
            "printTimeLeft": job.eta_s,
            "printTimeLeftOrigin": job.eta_s.map(|_| "estimate"),
        }),
        None => json!({
            "completion": null, "filepos": null, "printTime": null, "printTimeLeft": null,
            "printTimeLeftOrigin": null,
        }),
    };
    Ok(Json(json!({
        "job": {
            "file": file,
            "estimatedPrintTime": metadata.as_ref().and_then(|m| m.estimated_time_s),
            "averagePrintTime": null,
            "lastPrintTime": null,
            "filament": shape::filament(metadata.as_ref()),
            "user": caller.name,
        },
        "progress": progress,
        "state": shape::state_text(printer.as_ref()),
    })))
}

#[derive(Deserialize)]
pub struct JobCommand {
    command: String,
    action: Option<String>,
}

pub async fn command(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<JobCommand>, JsonRejection>,
) -> Result<StatusCode, OpError> {
    let Json(body) = body.map_err(|e| OpError::bad_request(e.body_text()))?;
    let printer = caller
        .printer(&state)
        .filter(shape::operational)
        .ok_or_else(OpError::not_operational)?;
    match body.command.as_str() {
        "start" => {
            if printer.state != PrinterState::Ready {
                return Err(OpError::conflict(
                    "Printer already has an active print job, did you mean 'restart'?",
                ));
            }
            let file = state
                .api_keys
                .selected(caller.client())
                .ok_or_else(|| OpError::conflict("No file is selected for printing"))?;
            state
                .manager
                .start_job(printer.id, file, Origin::OctoPrint, None)
                .await?;
        }
        "cancel" => {
            if !matches!(printer.state, PrinterState::Printing | PrinterState::Paused) {
                return Err(OpError::conflict("No active print job to cancel"));
            }
            state.manager.control(printer.id, Control::Cancel).await?;
        }
        "pause" => {
            let paused = printer.state == PrinterState::Paused;
            if !paused && printer.state != PrinterState::Printing {
                return Err(OpError::conflict(
                    "Printer is neither printing nor paused, 'pause' command cannot be performed",
                ));
            }
            let control = match (body.action.as_deref().unwrap_or("toggle"), paused) {
                ("pause", true) | ("resume", false) => None,
                ("pause", false) | ("toggle", false) => Some(Control::Pause),
                ("resume", true) | ("toggle", true) => Some(Control::Resume),
                (other, _) => {
                    return Err(OpError::bad_request(format!(
                        "Unknown action `{other}`; use pause, resume or toggle"
                    )))
                }
            };
            if let Some(control) = control {
                state.manager.control(printer.id, control).await?;
            }
        }
        "restart" => {
            return Err(OpError::conflict(
                "Gantry does not restart a job in place; cancel it and start it again",
            ))
        }
        other => return Err(OpError::bad_request(format!("Unknown command: {other}"))),
    }
    Ok(StatusCode::NO_CONTENT)
}
