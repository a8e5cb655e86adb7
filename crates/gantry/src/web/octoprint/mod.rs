//! The OctoPrint-compatible subset that slicers (PrusaSlicer, OrcaSlicer, Cura's OctoPrint
//! plugin), Home Assistant and OctoPrint client libraries use, on top of Gantry's own printers
//! and file library. Bodies are shaped like OctoPrint 1.11's; errors are OctoPrint's
//! `{"error": "..."}`, because these clients read the status and, at most, that string.
//!
//! The OctoPrint API has one printer: a request with an API key drives the printer chosen
//! when the key was made; a trusted local visitor without a key drives the first printer.
//! Keys are managed under `/api/v1/keys` (see [`keys`]), never with a key.

mod appkeys;
mod files;
mod info;
mod job;
mod keys;
mod printer;
mod shape;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::auth::{Authenticated, API_KEY_HEADER};
use super::{ApiError, AppState};
use crate::access::Peer;
use crate::apikeys::KeyInfo;
use crate::manager::PrinterView;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/version", get(info::version))
        .route("/api/server", get(info::server))
        .route("/api/settings", get(info::settings))
        .route("/api/login", post(info::login))
        .route("/api/currentuser", get(info::current_user))
        .route("/api/printerprofiles", get(info::printer_profiles))
        .route("/api/connection", get(info::connection).post(info::connect))
        .route("/api/files", get(files::list))
        .route(
            "/api/files/local",
            get(files::list)
                .post(files::upload)
                // Uploads stream to disk under the library's own limit (a setting).
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/files/local/{*path}",
            get(files::info).post(files::command),
        )
        .route("/api/printer", get(printer::status))
        .route("/api/printer/command", post(printer::command))
        .route("/api/printer/tool", post(printer::tool))
        .route("/api/printer/bed", post(printer::bed))
        .route("/api/job", get(job::status).post(job::command))
        .route("/plugin/appkeys/probe", get(appkeys::probe))
        .route("/plugin/appkeys/request", post(appkeys::request))
        .route("/plugin/appkeys/request/{token}", get(appkeys::poll))
        .merge(keys::routes())
}

/// An OctoPrint-style error: the status, and `{"error": message}`.
#[derive(Debug)]
pub struct OpError {
    status: StatusCode,
    message: String,
}

impl OpError {
    fn new(status: StatusCode, message: impl Into<String>) -> OpError {
        OpError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> OpError {
        OpError::new(StatusCode::BAD_REQUEST, message)
    }

    fn conflict(message: impl Into<String>) -> OpError {
        OpError::new(StatusCode::CONFLICT, message)
    }

    /// What OctoPrint answers when the printer is not connected (clients read it as "offline").
    fn not_operational() -> OpError {
        OpError::conflict("Printer is not operational")
    }
}

impl IntoResponse for OpError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<ApiError> for OpError {
    fn from(error: ApiError) -> OpError {
        OpError::new(error.status, error.message)
    }
}

impl From<crate::manager::ManagerError> for OpError {
    fn from(error: crate::manager::ManagerError) -> OpError {
        ApiError::from(error).into()
    }
}

impl From<crate::files::FileError> for OpError {
    fn from(error: crate::files::FileError) -> OpError {
        ApiError::from(error).into()
    }
}

impl From<crate::store::StoreError> for OpError {
    fn from(error: crate::store::StoreError) -> OpError {
        crate::manager::ManagerError::from(error).into()
    }
}

/// Who is calling the compatible API, and so which printer and selection are theirs.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The API key, when the request carried one.
    pub key: Option<KeyInfo>,
    /// What OctoPrint would call the user.
    pub name: String,
}

impl Caller {
    /// The selection slot: the key's id, or the keyless local slot.
    fn client(&self) -> Option<i64> {
        self.key.as_ref().map(|k| k.id)
    }

    /// The printer this caller drives: the key's, or the first one for keyless visitors.
    fn printer(&self, state: &AppState) -> Option<PrinterView> {
        match &self.key {
            Some(key) => state.manager.printer(key.printer_id),
            None => state.manager.printers().into_iter().min_by_key(|p| p.id),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = OpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, OpError> {
        let forbidden = || {
            OpError::new(StatusCode::FORBIDDEN, "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.")
        };
        match parts.extensions.get::<Authenticated>() {
            // The gate accepted the key; look it up again for its printer (it may have been
            // revoked in between, which refuses the request).
            Some(Authenticated::ApiKey { .. }) => {
                let key = parts
                    .headers
                    .get(API_KEY_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|k| state.api_keys.find(k))
                    .ok_or_else(forbidden)?;
                Ok(Caller {
                    name: key.name.clone(),
                    key: Some(key),
                })
            }
            Some(Authenticated::Session { account, .. }) => Ok(Caller {
                key: None,
                name: account.clone(),
            }),
            Some(Authenticated::Local | Authenticated::LocalToken) => Ok(Caller {
                key: None,
                name: "local".into(),
            }),
            None => Err(forbidden()),
        }
    }
}

/// `http(s)://host[:port]` as the client addressed us, for `Location` headers and refs. The
/// `Host` header was already checked to name this machine (`web::guard`).
fn base_url(headers: &HeaderMap, peer: Option<&ConnectInfo<Peer>>) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if peer.is_some_and(|p| p.0.tls) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}
