//! The JSON API under `/api/v1`: everything the dashboard does, for programs too.

mod files;
mod jobs;
pub(crate) mod printers;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use printer::driver::Refusal;

use super::{ApiError, AppState, ServerInfo};
use crate::files::FileError;
use crate::manager::ManagerError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/printers", get(printers::list).post(printers::add))
        .route("/api/v1/ports", get(printers::ports))
        .route(
            "/api/v1/printers/{id}",
            get(printers::get).patch(printers::update),
        )
        .route("/api/v1/printers/{id}/commands", post(printers::command))
        .route("/api/v1/printers/{id}/console", get(printers::console))
        .route(
            "/api/v1/printers/{id}/temperatures",
            get(printers::temperatures),
        )
        .route("/api/v1/printers/{id}/job", post(jobs::start))
        .route("/api/v1/printers/{id}/job/{action}", post(jobs::control))
        .route(
            "/api/v1/printers/{id}/emergency-stop",
            post(jobs::emergency_stop),
        )
        .route("/api/v1/printers/{id}/jobs", get(jobs::history))
        .route("/api/v1/jobs", get(jobs::list))
        .route("/api/v1/jobs/{id}", get(jobs::get))
        .route("/api/v1/jobs/{id}/resume", post(jobs::resume))
        .route("/api/v1/files", get(files::list).post(files::upload))
        .route(
            "/api/v1/files/{id}",
            get(files::get).patch(files::rename).delete(files::delete),
        )
        .route("/api/v1/files/{id}/thumbnail", get(files::thumbnail))
}

pub async fn status(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo::clone(&state.info))
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no API endpoint at {}", uri.path()))
}

/// Path ids are numbers; anything else names nothing that exists.
fn parse_id(kind: &str, id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("there is no {kind} with id `{id}`")))
}

/// A JSON body, with the extractor's own complaint as the message when it is unusable.
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))
}

impl From<ManagerError> for ApiError {
    fn from(error: ManagerError) -> ApiError {
        let message = error.to_string();
        let (status, code) = match &error {
            ManagerError::UnknownPrinter(_) | ManagerError::UnknownJob(_) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ManagerError::File(file) => return ApiError::from_file(file, message),
            ManagerError::Refused(refusal) => refusal_status(refusal),
            ManagerError::NotResumable(_) => (StatusCode::CONFLICT, "not_resumable"),
            ManagerError::NotAPort(_) => (StatusCode::UNPROCESSABLE_ENTITY, "not_a_printer"),
            ManagerError::Store(_)
            | ManagerError::Simulator { .. }
            | ManagerError::Driver { .. } => {
                tracing::error!(error = %message, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        ApiError::new(status, code, message)
    }
}

impl From<FileError> for ApiError {
    fn from(error: FileError) -> ApiError {
        let message = error.to_string();
        ApiError::from_file(&error, message)
    }
}

impl ApiError {
    fn from_file(error: &FileError, message: String) -> ApiError {
        let (status, code) = match error {
            FileError::BadName(_) => (StatusCode::BAD_REQUEST, "bad_name"),
            FileError::Unsupported(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file"),
            FileError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            FileError::Incomplete { .. } => (StatusCode::BAD_REQUEST, "incomplete_upload"),
            FileError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            FileError::Exists(_) => (StatusCode::CONFLICT, "exists"),
            FileError::Io(_) | FileError::Store(_) => {
                tracing::error!(error = %message, "file request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        ApiError::new(status, code, message)
    }
}

fn refusal_status(refusal: &Refusal) -> (StatusCode, &'static str) {
    match refusal {
        Refusal::NotConnected => (StatusCode::CONFLICT, "not_connected"),
        Refusal::Halted => (StatusCode::CONFLICT, "halted"),
        Refusal::Busy => (StatusCode::CONFLICT, "printer_busy"),
        Refusal::NoJob => (StatusCode::CONFLICT, "no_job"),
        Refusal::NotPaused => (StatusCode::CONFLICT, "not_paused"),
        Refusal::AlreadyPaused => (StatusCode::CONFLICT, "already_paused"),
        Refusal::Unsafe(_) => (StatusCode::CONFLICT, "unsafe_command"),
        Refusal::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
        Refusal::Gone => (StatusCode::SERVICE_UNAVAILABLE, "printer_gone"),
    }
}
