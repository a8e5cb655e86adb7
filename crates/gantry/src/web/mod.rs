//! The web server: the dashboard, the JSON API and live updates.

mod api;
mod assets;
mod error;
mod guard;
mod live;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

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
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/printers", get(api::printers))
        .route("/api/v1/printers/{id}", get(api::printer))
        .route("/api/v1/printers/{id}/commands", post(api::command))
        .route("/api/v1/live", get(live::upgrade))
        .nest("/api", Router::new().fallback(api::not_found))
        .fallback(assets::serve)
        .layer(axum::middleware::from_fn(guard::check_origin))
        .layer(axum::middleware::from_fn(guard::check_host))
        .layer(axum::middleware::from_fn(guard::security_headers))
        .with_state(state)
}
