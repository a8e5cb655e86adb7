//! The dashboard's side of API keys, under `/api/v1/keys`: make (the secret is shown once),
//! list, revoke, and decide the apps' key requests. A request made with an API key may do
//! none of this: a key never makes or approves keys.

use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use crate::access::Peer;
use crate::apikeys::{AppRequest, KeyError, KeyInfo, NewKey};
use crate::web::auth::Authenticated;
use crate::web::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/keys", get(list).post(create))
        .route("/api/v1/keys/{id}", delete(revoke))
        .route("/api/v1/keys/requests", get(requests))
        .route("/api/v1/keys/requests/{id}", post(decide))
}

/// Who manages keys: anyone the dashboard trusts, except a key.
struct Owner {
    account: Option<String>,
    address: Option<String>,
}

impl Owner {
    fn of(
        identity: Option<Extension<Authenticated>>,
        peer: Option<Extension<ConnectInfo<Peer>>>,
    ) -> Result<Owner, ApiError> {
        let account = match identity.map(|Extension(i)| i) {
            Some(Authenticated::ApiKey { .. }) | None => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "API keys are managed in the dashboard, not with an API key",
                ))
            }
            Some(Authenticated::Session { account, .. }) => Some(account),
            Some(Authenticated::Local | Authenticated::LocalToken) => None,
        };
        Ok(Owner {
            account,
            address: peer.map(|Extension(p)| p.0.remote.ip().to_string()),
        })
    }

    async fn audit(&self, state: &AppState, event: &str, detail: &str) {
        state
            .access
            .audit(
                event,
                self.address.as_deref(),
                self.account.as_deref(),
                Some(detail),
            )
            .await;
    }
}

fn bad_request(e: JsonRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
}

fn parse_id(kind: &str, id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("there is no {kind} with id `{id}`")))
}

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> ApiError {
        let message = error.to_string();
        match error {
            KeyError::BadName => ApiError::new(StatusCode::BAD_REQUEST, "bad_name", message),
            KeyError::NotFound(_) => ApiError::not_found(message),
            KeyError::Random(_) | KeyError::Store(_) => {
                tracing::error!(error = %message, "API key request failed");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

fn known_printer(state: &AppState, id: i64) -> Result<(), ApiError> {
    match state.manager.printer(id) {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(format!(
            "there is no printer with id {id}"
        ))),
    }
}

async fn list(
    State(state): State<AppState>,
    identity: Option<Extension<Authenticated>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    Owner::of(identity, peer)?;
    Ok(Json(state.api_keys.list()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    printer_id: i64,
}

async fn create(
    State(state): State<AppState>,
    identity: Option<Extension<Authenticated>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<NewKey>), ApiError> {
    let owner = Owner::of(identity, peer)?;
    let Json(body) = body.map_err(bad_request)?;
    known_printer(&state, body.printer_id)?;
    let key = state.api_keys.create(&body.name, body.printer_id).await?;
    owner.audit(&state, "apikey.created", &key.info.name).await;
    Ok((StatusCode::CREATED, Json(key)))
}

async fn revoke(
    State(state): State<AppState>,
    identity: Option<Extension<Authenticated>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let owner = Owner::of(identity, peer)?;
    let id = parse_id("API key", &id)?;
    let key = state.api_keys.revoke(id).await?;
    owner.audit(&state, "apikey.revoked", &key.name).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn requests(
    State(state): State<AppState>,
    identity: Option<Extension<Authenticated>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
) -> Result<Json<Vec<AppRequest>>, ApiError> {
    Owner::of(identity, peer)?;
    Ok(Json(state.api_keys.requests.pending(Instant::now())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    approve: bool,
    /// The printer the new key drives; needed to approve.
    printer_id: Option<i64>,
}

/// Approves (making a key for the chosen printer, which the app collects with its next poll)
/// or denies an app's request.
async fn decide(
    State(state): State<AppState>,
    identity: Option<Extension<Authenticated>>,
    peer: Option<Extension<ConnectInfo<Peer>>>,
    Path(id): Path<String>,
    body: Result<Json<Decision>, JsonRejection>,
) -> Result<(StatusCode, Json<Option<KeyInfo>>), ApiError> {
    let owner = Owner::of(identity, peer)?;
    let id = parse_id("key request", &id)?;
    let Json(body) = body.map_err(bad_request)?;
    let gone = |_| {
        ApiError::not_found("the key request is gone: it was decided, or the app stopped asking")
    };
    let request = state
        .api_keys
        .requests
        .get(id, Instant::now())
        .map_err(gone)?;
    if !body.approve {
        state
            .api_keys
            .requests
            .deny(id, Instant::now())
            .map_err(gone)?;
        owner.audit(&state, "apikey.denied", &request.app).await;
        return Ok((StatusCode::OK, Json(None)));
    }
    let printer = body.printer_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "say which printer the key drives (`printer_id`)",
        )
    })?;
    known_printer(&state, printer)?;
    let key = state.api_keys.create(&request.app, printer).await?;
    if let Err(e) = state.api_keys.requests.grant(id, key.key, Instant::now()) {
        // The app gave up while the owner decided: nobody will ever see this key.
        let _ = state.api_keys.revoke(key.info.id).await;
        return Err(gone(e));
    }
    owner.audit(&state, "apikey.approved", &key.info.name).await;
    Ok((StatusCode::CREATED, Json(Some(key.info))))
}
