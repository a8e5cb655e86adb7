//! Jobs: start a file on a printer, control it, resume an interrupted one, and the history.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{body, parse_id, ApiError, AppState};
use crate::manager::{Control, Origin};
use crate::store::JobRow;

const DEFAULT_HISTORY: u32 = 50;
const MAX_HISTORY: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    file_id: i64,
}

pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Result<Json<StartRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<JobRow>), ApiError> {
    let printer = parse_id("printer", &id)?;
    let request = body(request)?;
    let job = state
        .manager
        .start_job(printer, request.file_id, Origin::Local, None)
        .await?;
    Ok((StatusCode::CREATED, Json(job)))
}

pub async fn control(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let printer = parse_id("printer", &id)?;
    let control = match action.as_str() {
        "pause" => Control::Pause,
        "resume" => Control::Resume,
        "cancel" => Control::Cancel,
        other => {
            return Err(ApiError::not_found(format!(
                "`{other}` is not a job action; use pause, resume or cancel"
            )))
        }
    };
    state.manager.control(printer, control).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn emergency_stop(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let printer = parse_id("printer", &id)?;
    state
        .manager
        .control(printer, Control::EmergencyStop)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    limit: Option<u32>,
}

pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Vec<JobRow>>, ApiError> {
    let printer = parse_id("printer", &id)?;
    if state.manager.printer(printer).is_none() {
        return Err(ApiError::not_found(format!(
            "there is no printer with id `{id}`"
        )));
    }
    let limit = query.limit.unwrap_or(DEFAULT_HISTORY).min(MAX_HISTORY);
    Ok(Json(
        state
            .manager
            .store()
            .jobs(Some(printer), limit)
            .await
            .map_err(crate::manager::ManagerError::from)?,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Vec<JobRow>>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_HISTORY).min(MAX_HISTORY);
    Ok(Json(
        state
            .manager
            .store()
            .jobs(None, limit)
            .await
            .map_err(crate::manager::ManagerError::from)?,
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobRow>, ApiError> {
    let job = parse_id("job", &id)?;
    state
        .manager
        .store()
        .job(job)
        .await
        .map_err(crate::manager::ManagerError::from)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("there is no job with id `{id}`")))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    /// Resume after this line of the file instead of after the last acknowledged one.
    after_line: Option<u64>,
}

pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Result<Json<ResumeRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<JobRow>), ApiError> {
    let job = parse_id("job", &id)?;
    // An empty body means "from where it stopped".
    let request = match request {
        Err(JsonRejection::MissingJsonContentType(_)) => ResumeRequest::default(),
        other => body(other)?,
    };
    let job = state.manager.resume_job(job, request.after_line).await?;
    Ok((StatusCode::CREATED, Json(job)))
}
