//! OctoPrint's app-keys workflow, as Cura, Home Assistant and client libraries run it: probe,
//! ask for a key, poll until the owner decides in the dashboard (see `keys`).

use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::{base_url, OpError};
use crate::access::Peer;
use crate::apikeys::{Poll, RequestError};
use crate::web::AppState;

/// 204: the workflow is supported.
pub async fn probe() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub struct KeyRequest {
    app: String,
    user: Option<String>,
}

pub async fn request(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    headers: HeaderMap,
    body: Result<Json<KeyRequest>, JsonRejection>,
) -> Result<Response, OpError> {
    let Json(body) = body.map_err(|e| OpError::bad_request(e.body_text()))?;
    let peer = peer.map(|Extension(p)| p);
    let address = peer
        .as_ref()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |p| p.0.remote.ip());
    let token = state
        .api_keys
        .requests
        .open(&body.app, body.user.as_deref(), address, Instant::now())
        .map_err(|e| match e {
            RequestError::RateLimited | RequestError::TooMany => {
                OpError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string())
            }
            RequestError::BadApp => OpError::bad_request(e.to_string()),
            RequestError::Gone | RequestError::Random => {
                OpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        })?;
    tracing::info!(app = %body.app.trim(), %address, "an app asks for an API key; approve it in the dashboard");
    state
        .access
        .audit(
            "apikey.requested",
            Some(&address.to_string()),
            None,
            Some(body.app.trim()),
        )
        .await;
    let base = base_url(&headers, peer.as_ref());
    let location = format!("{base}/plugin/appkeys/request/{token}");
    let body = json!({ "app_token": token, "auth_dialog": format!("{base}/#api-keys") });
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// 202 while undecided, 200 with the key exactly once, 404 after that or when denied.
pub async fn poll(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.api_keys.requests.poll(&token, Instant::now()) {
        Poll::Pending => (
            StatusCode::ACCEPTED,
            Json(json!({ "message": "Awaiting decision" })),
        )
            .into_response(),
        Poll::Granted(key) => Json(json!({ "api_key": key })).into_response(),
        Poll::Gone => OpError::new(StatusCode::NOT_FOUND, "No such request").into_response(),
    }
}
