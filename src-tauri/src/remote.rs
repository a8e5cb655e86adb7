//! Attaching to a Gantry that already runs (a `gantry serve` daemon, or the system
//! service): find it over HTTP, then follow its printers over the live WebSocket.

use std::time::Duration;

use futures_util::StreamExt;
use gantry::manager::PrinterView;
use gantry::web::ServerInfo;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::backend::Update;

/// How long a probe waits: a local daemon answers in milliseconds, and the tray must not
/// hang at start-up on a port held by something that never answers.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between reconnection attempts after the daemon went away.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// The live feed's messages (see `gantry::web::live`).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LiveMessage {
    Snapshot { printers: Vec<PrinterView> },
    Printer { printer: Box<PrinterView> },
}

/// Whether a Gantry answers on this loopback port; its self-description if so. Anything
/// else on the port (or nothing) is `None`.
pub async fn probe(port: u16) -> Option<ServerInfo> {
    let http = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .no_proxy()
        .build()
        .ok()?;
    let response = http
        .get(format!("http://127.0.0.1:{port}/api/v1/status"))
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json::<ServerInfo>().await.ok()
}

/// Follows the daemon's printers until the receiver is dropped, reconnecting when the
/// daemon restarts. While it is away the tray lists no printers rather than stale ones.
pub async fn follow(port: u16, updates: mpsc::Sender<Update>) {
    let url = format!("ws://127.0.0.1:{port}/api/v1/live");
    loop {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((mut socket, _)) => {
                tracing::info!(%url, "following the running Gantry");
                while let Some(message) = socket.next().await {
                    let text = match message {
                        Ok(Message::Text(text)) => text,
                        Ok(Message::Close(_)) | Err(_) => break,
                        Ok(_) => continue,
                    };
                    let update = match serde_json::from_str::<LiveMessage>(&text) {
                        Ok(LiveMessage::Snapshot { printers }) => Update::Snapshot(printers),
                        Ok(LiveMessage::Printer { printer }) => Update::Printer(printer),
                        Err(e) => {
                            tracing::warn!(error = %e, "unexpected message on the live feed");
                            continue;
                        }
                    };
                    if updates.send(update).await.is_err() {
                        return;
                    }
                }
                tracing::warn!(%url, "the running Gantry went away; retrying");
            }
            Err(e) => tracing::debug!(%url, error = %e, "cannot reach the running Gantry"),
        }
        if updates.send(Update::Snapshot(Vec::new())).await.is_err() {
            return;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_live_messages() {
        let printer = r#"{"id":3,"identity":"sim-3","name":"Sim","port":"/dev/pts/4","baud":115200,
            "state":"ready","error":null,"firmware":null,
            "temperatures":{"tools":[],"bed":null,"chamber":null}}"#;
        let snapshot = format!(r#"{{"type":"snapshot","printers":[{printer}]}}"#);
        match serde_json::from_str::<LiveMessage>(&snapshot).unwrap() {
            LiveMessage::Snapshot { printers } => assert_eq!(printers[0].id, 3),
            other => panic!("{other:?}"),
        }
        let one = format!(r#"{{"type":"printer","printer":{printer}}}"#);
        match serde_json::from_str::<LiveMessage>(&one).unwrap() {
            LiveMessage::Printer { printer } => assert_eq!(printer.name, "Sim"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn probe_of_a_closed_port_is_none() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        assert!(probe(port).await.is_none());
    }
}
