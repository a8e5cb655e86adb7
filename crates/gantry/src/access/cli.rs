//! `gantry config get|set KEY [VALUE]`: reads or changes an access setting of the running
//! daemon (found by `--port`/`--data-dir`) through its local API, so the change applies at once.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use super::token;
use crate::location::Location;

#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConfigAction {
    /// Print a setting's value
    Get {
        /// external-access, require-local-login or tls
        key: Key,
    },
    /// Change a setting of the running daemon
    Set {
        /// external-access, require-local-login or tls
        key: Key,
        /// on or off
        value: OnOff,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Key {
    /// Listen on every interface (other machines get the sign-in page), or loopback only
    ExternalAccess,
    /// Make visitors on this computer sign in too
    RequireLocalLogin,
    /// Serve HTTPS to other machines (a self-signed certificate unless one is configured)
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl Key {
    /// The field's path in the settings JSON.
    fn path(self) -> &'static [&'static str] {
        match self {
            Key::ExternalAccess => &["external_access"],
            Key::RequireLocalLogin => &["require_local_login"],
            Key::Tls => &["tls", "enabled"],
        }
    }
}

pub async fn run(location: &Location, args: &ConfigArgs) -> anyhow::Result<()> {
    let port = location.client_port();
    let base = format!("http://127.0.0.1:{port}/api/v1/access/settings");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?;
    let with_token = |request: reqwest::RequestBuilder| match token::read(&location.data_dir()) {
        Some(t) => request.header(token::HEADER, t),
        None => request,
    };
    let unreachable =
        || format!("no Gantry daemon answers on port {port} — start one with `gantry serve`");
    match &args.action {
        ConfigAction::Get { key } => {
            let response = with_token(http.get(&base))
                .send()
                .await
                .with_context(unreachable)?;
            let status: Value = answer(response).await?;
            let mut value = &status["settings"];
            for part in key.path() {
                value = &value[*part];
            }
            println!(
                "{}",
                if value.as_bool() == Some(true) {
                    "on"
                } else {
                    "off"
                }
            );
        }
        ConfigAction::Set { key, value } => {
            let mut patch = Value::Bool(*value == OnOff::On);
            for part in key.path().iter().rev() {
                let mut object = serde_json::Map::new();
                object.insert((*part).to_owned(), patch);
                patch = Value::Object(object);
            }
            let response = with_token(http.patch(&base).json(&patch))
                .send()
                .await
                .with_context(unreachable)?;
            let status: Value = answer(response).await?;
            let listening: Vec<String> = status["listening"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "{}: {}; listening on {}",
                key_name(*key),
                if *value == OnOff::On { "on" } else { "off" },
                listening.join(", ")
            );
        }
    }
    Ok(())
}

fn key_name(key: Key) -> &'static str {
    match key {
        Key::ExternalAccess => "external-access",
        Key::RequireLocalLogin => "require-local-login",
        Key::Tls => "tls",
    }
}

async fn answer(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no explanation");
        if status == reqwest::StatusCode::UNAUTHORIZED {
            bail!("the daemon asks for a sign-in ({message}); run this as the user that runs the daemon, so that it can read the local token");
        }
        bail!("the daemon refused: {message} ({status})");
    }
    Ok(body)
}
