//! The cloud link: a [`Cloud`] trait with the 3DPrinterOS-compatible StreamerAPI as its first
//! backend, the per-printer command loop, cloud jobs, and the linked account.

pub mod account;
pub mod api;
pub mod backoff;
pub mod catalogue;
pub mod command;
pub mod directory;
pub mod download;
pub mod host;
pub mod link;
pub mod oidc;
pub mod owner;
pub mod refusal;
pub mod renew;
pub mod report;
pub mod service;
pub mod settings;
pub mod streamer;
pub mod unzip;
pub mod vault;
pub mod web;

pub use account::{LinkError, LinkRecord, Mode};
pub use api::{Cloud, CloudError, Credentials, Secret};
pub use host::PrintHost;
pub use service::{CloudService, CloudStatus};
pub use streamer::StreamerApi;

/// The cloud lines of `gantry status`, from `GET /api/v1/cloud`.
pub fn render_status(status: &serde_json::Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let text = |key: &str| status[key].as_str().unwrap_or_default().to_owned();
    match status["mode"].as_str() {
        Some("linked") => {
            let _ = writeln!(
                out,
                "Cloud: linked to {} as {}",
                text("base_url"),
                text("account")
            );
        }
        Some("offline") => {
            let _ = writeln!(out, "Cloud: offline mode (the cloud is never contacted)");
        }
        Some(_) => {
            let _ = writeln!(out, "Cloud: not linked — `gantry login` links an account");
        }
        None => return out,
    }
    let _ = writeln!(out, "       {}", text("secrets_note"));
    for printer in status["printers"].as_array().into_iter().flatten() {
        let state = printer["state"].as_str().unwrap_or("?");
        let detail = printer["error"]
            .as_str()
            .or_else(|| printer["message"].as_str())
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "       printer {}: {state}{detail}",
            printer["printer"]
        );
    }
    for key in ["warning", "error"] {
        if let Some(message) = status[key].as_str() {
            let _ = writeln!(out, "       {key}: {message}");
        }
    }
    out
}
