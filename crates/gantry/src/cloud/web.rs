//! The cloud link's API under `/api/v1/cloud`, used by the Client Cloud Login page, the
//! dashboard and `gantry login`/`logout` when a daemon runs.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::account::{LinkError, SsoGrant};
use super::api::{Credentials, Secret};
use super::catalogue;
use super::directory::{self, Organisation};
use super::oidc::{self, Provider};
use super::service::CloudStatus;
use crate::web::{ApiError, AppState};

/// How long the dashboard's SSO sign-in waits for the browser.
const SSO_TIMEOUT: Duration = Duration::from_secs(300);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cloud", get(status))
        .route("/api/v1/cloud/login", post(login))
        .route("/api/v1/cloud/logout", post(logout))
        .route("/api/v1/cloud/offline", post(offline))
        .route("/api/v1/cloud/reload", post(reload))
        .route("/api/v1/cloud/organisations", get(organisations))
        .route("/api/v1/cloud/sso", post(sso))
}

/// A refusal keeps its advice; the status code says who must act.
pub fn link_error(error: LinkError) -> ApiError {
    let (status, code) = match &error {
        LinkError::Refused(_) => (StatusCode::UNAUTHORIZED, "cloud_refused"),
        LinkError::Printing(_) => (StatusCode::CONFLICT, "printing"),
        LinkError::Offline => (StatusCode::CONFLICT, "offline"),
        LinkError::Cloud(_) => (StatusCode::BAD_GATEWAY, "cloud_unreachable"),
        LinkError::Secrets(_) | LinkError::Store(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    };
    ApiError::new(status, code, error.to_string())
}

fn bad_request(e: JsonRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
}

async fn status(State(state): State<AppState>) -> Result<Json<CloudStatus>, ApiError> {
    state.cloud.status().await.map(Json).map_err(link_error)
}

/// Either e-mail and password, or an access token from the organisation's provider.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum LoginRequest {
    Password {
        email: String,
        password: String,
    },
    /// From `gantry login --device`/`--sso`, which ran the flow itself: `client_id` and
    /// `refresh_token` let the daemon renew the sign-in later.
    Token {
        issuer: String,
        access_token: String,
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        refresh_token: Option<String>,
    },
}

impl LoginRequest {
    pub fn into_parts(self) -> (Credentials, Option<SsoGrant>) {
        match self {
            LoginRequest::Password { email, password } => (
                Credentials::Password {
                    email: email.trim().to_owned(),
                    password: Secret::new(password),
                },
                None,
            ),
            LoginRequest::Token {
                issuer,
                access_token,
                email,
                client_id,
                refresh_token,
            } => {
                let grant = client_id.map(|client_id| SsoGrant {
                    provider: Provider {
                        issuer: issuer.clone(),
                        client_id,
                        login_hint: None,
                    },
                    refresh_token: refresh_token.map(Secret::new),
                });
                (
                    Credentials::AccessToken {
                        email,
                        issuer,
                        access_token: Secret::new(access_token),
                    },
                    grant,
                )
            }
        }
    }
}

async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<CloudStatus>, ApiError> {
    let Json(request) = body.map_err(bad_request)?;
    let (credentials, sso) = request.into_parts();
    state
        .cloud
        .login(&credentials, sso)
        .await
        .map(Json)
        .map_err(link_error)
}

#[derive(Deserialize, Default)]
struct LogoutRequest {
    #[serde(default)]
    force: bool,
}

async fn logout(
    State(state): State<AppState>,
    body: Result<Json<LogoutRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(request) = body.map_err(bad_request)?;
    state
        .cloud
        .logout(request.force)
        .await
        .map_err(link_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct OfflineRequest {
    offline: bool,
}

async fn offline(
    State(state): State<AppState>,
    body: Result<Json<OfflineRequest>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(request) = body.map_err(bad_request)?;
    state
        .cloud
        .set_offline(request.offline)
        .await
        .map_err(link_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reload(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state.cloud.reload().await.map_err(link_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

/// The admin's organisations merged with the cloud's.
async fn all_organisations(state: &AppState) -> Result<Vec<Organisation>, ApiError> {
    catalogue::organisations(state.cloud.store(), &state.info.data_dir)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "directory",
                e.to_string(),
            )
        })
}

async fn organisations(
    State(state): State<AppState>,
    Query(search): Query<Search>,
) -> Result<Json<Vec<Organisation>>, ApiError> {
    let all = all_organisations(&state).await?;
    Ok(Json(
        directory::search(&all, &search.q)
            .into_iter()
            .cloned()
            .collect(),
    ))
}

#[derive(Deserialize)]
struct SsoRequest {
    organisation: String,
}

/// SSO from the dashboard: the system browser opens at the provider; this request returns
/// when the sign-in is done (or failed).
async fn sso(
    State(state): State<AppState>,
    body: Result<Json<SsoRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(bad_request)?;
    let all = all_organisations(&state).await?;
    let organisation = all
        .iter()
        .find(|o| o.name == request.organisation)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no organisation named `{}` in the directory",
                request.organisation
            ))
        })?;
    let provider = organisation.provider();
    let tokens = oidc::sso_flow(&provider, SSO_TIMEOUT, |start| {
        tracing::info!(url = %start.url, "SSO sign-in opened in the system browser");
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "sso_failed", e.to_string()))?;
    let credentials = Credentials::AccessToken {
        email: None,
        issuer: provider.issuer.clone(),
        access_token: tokens.access_token,
    };
    let grant = SsoGrant {
        provider,
        refresh_token: tokens.refresh_token,
    };
    let mut status = state
        .cloud
        .login(&credentials, Some(grant))
        .await
        .map_err(link_error)?;
    if status.warning.is_none() {
        status.warning = super::account::clock_warning(tokens.clock_skew);
    }
    Ok(Json(status).into_response())
}
