//! Subcommands that talk to a running daemon over its local HTTP API.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;

use crate::location::Location;
use crate::manager::{HeaterView, PrinterView};
use crate::web::ServerInfo;

/// `gantry status --json`: the daemon's own two answers, side by side.
#[derive(Debug, serde::Serialize)]
struct StatusReport {
    server: serde_json::Value,
    printers: serde_json::Value,
    cloud: serde_json::Value,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(location: &Location) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()?;
        Ok(Client {
            http,
            base: format!("http://127.0.0.1:{}", location.client_port()),
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).send().await.with_context(|| {
            format!(
                "no Gantry daemon answers at {} — start one with `gantry serve`",
                self.base
            )
        })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("{url} answered {status}: {body}");
        }
        response
            .json()
            .await
            .with_context(|| format!("{url} sent something that is not Gantry's JSON"))
    }

    pub async fn status(&self) -> anyhow::Result<(serde_json::Value, serde_json::Value)> {
        let server = self.get("/api/v1/status").await?;
        let printers = self.get("/api/v1/printers").await?;
        Ok((server, printers))
    }
}

/// `gantry status`.
pub async fn status(location: &Location, json: bool) -> anyhow::Result<()> {
    let client = Client::new(location)?;
    let (server, printers) = client.status().await?;
    let cloud: serde_json::Value = client.get("/api/v1/cloud").await.unwrap_or_default();
    if json {
        let report = StatusReport { server, printers, cloud };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let server: ServerInfo = serde_json::from_value(server)?;
    let printers: Vec<PrinterView> = serde_json::from_value(printers)?;
    print!("{}", render(&server, &printers));
    print!("{}", crate::cloud::render_status(&cloud));
    Ok(())
}

fn heater(h: Option<&HeaterView>) -> String {
    match h {
        Some(HeaterView {
            actual,
            target: Some(target),
        }) => format!("{actual:.1}/{target:.1} °C"),
        Some(HeaterView {
            actual,
            target: None,
        }) => format!("{actual:.1} °C"),
        None => "—".into(),
    }
}

pub fn render(server: &ServerInfo, printers: &[PrinterView]) -> String {
    let mut out = String::new();
    let urls: Vec<String> = server
        .addresses
        .iter()
        .map(|a| format!("http://{a}"))
        .collect();
    let _ = writeln!(
        out,
        "Gantry {} (pid {}) listening on {}",
        server.version,
        server.pid,
        urls.join(", ")
    );
    let _ = writeln!(out, "Data directory: {}", server.data_dir.display());
    if printers.is_empty() {
        let _ = writeln!(out, "No printers.");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<4} {:<24} {:<11} {:<18} {:<18} PORT",
        "ID", "NAME", "STATE", "NOZZLE", "BED"
    );
    for p in printers {
        let _ = writeln!(
            out,
            "{:<4} {:<24} {:<11} {:<18} {:<18} {}",
            p.id,
            p.name,
            p.state,
            heater(p.temperatures.tools.first()),
            heater(p.temperatures.bed.as_ref()),
            p.port
        );
        if let Some(error) = &p.error {
            let _ = writeln!(out, "     ↳ {error}");
        }
    }
    out
}
