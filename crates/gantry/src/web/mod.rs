//! The web server: the dashboard, the JSON API and live updates.

mod api;
mod assets;
pub mod auth;
mod error;
mod guard;
mod live;
mod octoprint;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::access::Access;
use crate::manager::Manager;

pub use error::ApiError;

/// Facts about the running server that `gantry status` and the dashboard show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub pid: u32,
    pub port: u16,
    pub addresses: Vec<SocketAddr>,
    pub data_dir: PathBuf,
    pub started_at: String,
}

#[derive(Clone)]
pub struct AppState {
    pub manager: Arc<Manager>,
    pub info: Arc<ServerInfo>,
    /// Turns true when the daemon is stopping, so long-lived connections close themselves.
    pub stopping: watch::Receiver<bool>,
    /// External access, sessions and sign-in (see `crate::access`).
    pub access: Arc<Access>,
    /// The cloud link (see `crate::cloud`).
    pub cloud: Arc<crate::cloud::CloudService<Manager>>,
    /// API keys and app-key requests of the OctoPrint-compatible API (see `crate::apikeys`).
    pub api_keys: Arc<crate::apikeys::ApiKeys>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .route("/api/v1/live", get(live::upgrade))
        .merge(auth::routes())
        .merge(crate::cloud::web::routes())
        .merge(octoprint::routes())
        .nest("/api", Router::new().fallback(api::not_found))
        .fallback(assets::serve)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check_host,
        ))
        .layer(axum::middleware::from_fn(guard::check_request))
        .layer(axum::middleware::from_fn(guard::security_headers))
        .with_state(state)
}
