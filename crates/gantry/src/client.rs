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
        let report = StatusReport {
            server,
            printers,
            cloud,
        };
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
        if let Some(job) = &p.job {
            let verb = if job.paused { "paused" } else { "printing" };
            let eta = job
                .eta_s
                .map(|s| format!(", {} min left", s.div_ceil(60)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "     ↳ {verb} {} — {:.1} %{eta}",
                job.file_name, job.progress
            );
        }
        if let Some(error) = &p.error {
            let _ = writeln!(out, "     ↳ {error}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::{JobView, TemperaturesView};
    use printer::driver::State;

    fn printer(state: State, job: Option<JobView>, error: Option<&str>) -> PrinterView {
        PrinterView {
            id: 3,
            identity: "usb:2c99:0002:CZPX1234".into(),
            name: "Workshop MK3".into(),
            port: "/dev/ttyACM0".into(),
            baud: Some(115_200),
            state,
            error: error.map(str::to_owned),
            firmware: None,
            temperatures: TemperaturesView {
                tools: vec![HeaterView {
                    actual: 214.6,
                    target: Some(215.0),
                }],
                bed: Some(HeaterView {
                    actual: 59.9,
                    target: None,
                }),
                chamber: None,
            },
            job,
            last_job: None,
        }
    }

    #[test]
    fn status_lists_printers_jobs_and_errors() {
        let server = ServerInfo {
            version: "0.1.0".into(),
            pid: 42,
            port: 8008,
            addresses: vec![
                "127.0.0.1:8008".parse().unwrap(),
                "[::1]:8008".parse().unwrap(),
            ],
            data_dir: "/var/lib/gantry".into(),
            started_at: "2026-11-26T10:00:00Z".into(),
        };
        let job = JobView {
            id: 7,
            file_name: "benchy.gcode".into(),
            paused: false,
            progress: 42.5,
            acked_bytes: 425,
            total_bytes: 1000,
            line: 99,
            elapsed_s: 600,
            eta_s: Some(750),
            layer: Some(12),
            layer_count: Some(120),
            resumed_from_line: None,
        };
        let text = render(
            &server,
            &[
                printer(State::Printing, Some(job), None),
                printer(State::Offline, None, Some("cannot open /dev/ttyACM1")),
            ],
        );
        assert!(
            text.contains("listening on http://127.0.0.1:8008, http://[::1]:8008"),
            "{text}"
        );
        assert!(text.contains("Workshop MK3"), "{text}");
        assert!(text.contains("214.6/215.0 °C"), "{text}");
        assert!(text.contains("59.9 °C"), "{text}");
        assert!(
            text.contains("printing benchy.gcode — 42.5 %, 13 min left"),
            "{text}"
        );
        assert!(text.contains("offline"), "{text}");
        assert!(text.contains("↳ cannot open /dev/ttyACM1"), "{text}");
        assert_eq!(render(&server, &[]).lines().last(), Some("No printers."));
    }
}
