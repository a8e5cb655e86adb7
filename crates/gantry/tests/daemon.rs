//! `gantry serve` as a process: live temperatures over the WebSocket, `gantry status`,
//! clean shutdown, and clear refusals.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use common::{gantry, raw_request, Daemon, PATIENCE};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread")]
async fn two_simulated_printers_stream_live_temperatures() {
    let mut daemon = Daemon::start(&["--simulate", "2"]);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/api/v1/live", daemon.port))
            .await
            .expect("websocket");

    let http = reqwest::Client::new();
    let mut heated = HashSet::new();
    // Nozzle readings per printer id, as pushed over the socket.
    let mut readings: HashMap<i64, Vec<f64>> = HashMap::new();
    let deadline = Instant::now() + PATIENCE;
    while readings.len() < 2 || readings.values().any(|r| distinct(r) < 3) {
        let message = tokio::time::timeout(deadline - Instant::now(), socket.next())
            .await
            .expect("temperatures kept changing")
            .expect("socket open")
            .expect("message");
        let Message::Text(text) = message else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).expect("JSON");
        let printers = match message["type"].as_str() {
            Some("snapshot") => message["printers"].as_array().cloned().unwrap_or_default(),
            Some("printer") => vec![message["printer"].clone()],
            other => panic!("unexpected message type {other:?}"),
        };
        for printer in printers {
            let id = printer["id"].as_i64().expect("id");
            if printer["state"] == "ready" && heated.insert(id) {
                // Heat both so their temperatures move like a real printer's.
                for command in ["M104 S200", "M140 S60"] {
                    let response = http
                        .post(daemon.url(&format!("/api/v1/printers/{id}/commands")))
                        .json(&json!({ "command": command }))
                        .send()
                        .await
                        .expect("POST command");
                    assert_eq!(response.status(), 202, "{command}");
                }
            }
            if let Some(actual) = printer["temperatures"]["tools"][0]["actual"].as_f64() {
                readings.entry(id).or_default().push(actual);
            }
        }
    }

    let printers: Vec<Value> = http
        .get(daemon.url("/api/v1/printers"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printers.len(), 2);
    let identities: HashSet<&str> = printers
        .iter()
        .map(|p| p["identity"].as_str().unwrap())
        .collect();
    assert_eq!(identities.len(), 2, "two distinct printers: {printers:?}");
    for printer in &printers {
        assert_eq!(printer["state"], "ready", "{printer}");
        assert_eq!(
            printer["temperatures"]["tools"][0]["target"], 200.0,
            "{printer}"
        );
        assert_eq!(printer["temperatures"]["bed"]["target"], 60.0, "{printer}");
        assert!(printer["firmware"]["uuid"].is_string(), "{printer}");
    }

    let status = gantry(&daemon.data_dir)
        .arg("status")
        .output()
        .expect("gantry status");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        text.contains(&format!("http://127.0.0.1:{}", daemon.port)),
        "{text}"
    );
    assert!(
        text.contains("Simulated printer 1") && text.contains("Simulated printer 2"),
        "{text}"
    );
    assert!(text.contains("ready"), "{text}");

    let (exit, stderr) = daemon.stop();
    assert!(exit.success(), "{exit}: {stderr}");
    assert!(stderr.contains("printers disconnected"), "{stderr}");
    assert!(stderr.contains("stopped cleanly"), "{stderr}");
    assert!(!daemon.data_dir.join("daemon.json").exists());
    let logs: Vec<_> = std::fs::read_dir(daemon.data_dir.join("logs"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(logs.len(), 1, "one log file");
    let log = std::fs::read_to_string(logs[0].path()).unwrap();
    assert!(log.contains("Gantry is serving"), "{log}");
}

fn distinct(values: &[f64]) -> usize {
    let mut seen: Vec<f64> = Vec::new();
    for v in values {
        if !seen.iter().any(|s| (s - v).abs() < 1e-9) {
            seen.push(*v);
        }
    }
    seen.len()
}

#[test]
fn a_taken_port_is_refused_with_a_clear_message() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = gantry(&dir.path().join("data"))
        .args(["serve", "--port", &port])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
    assert!(stderr.contains("--port"), "{stderr}");
}

#[test]
fn an_unwritable_data_dir_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let output = gantry(&file.join("data"))
        .args(["serve", "--port", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("data directory"), "{stderr}");
    assert!(stderr.contains("--data-dir"), "{stderr}");
}

#[test]
fn a_damaged_database_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let garbage = vec![0xA5u8; 4096];
    std::fs::write(data.join("gantry.db"), &garbage).unwrap();
    let output = gantry(&data)
        .args(["serve", "--port", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("damaged"), "{stderr}");
    assert_eq!(std::fs::read(data.join("gantry.db")).unwrap(), garbage);
}

#[test]
fn status_without_a_daemon_says_so() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    drop(holder);
    let dir = tempfile::tempdir().unwrap();
    let output = gantry(dir.path())
        .args(["status", "--port", &port])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("no Gantry daemon answers"), "{stderr}");
}

#[test]
fn hostile_requests_are_refused() {
    let daemon = Daemon::start(&[]);
    let port = daemon.port;

    let rebinding = raw_request(
        port,
        "GET /api/v1/printers HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert!(rebinding.starts_with("HTTP/1.1 421"), "{rebinding}");
    assert!(rebinding.contains("unknown_host"), "{rebinding}");

    let good = raw_request(
        port,
        &format!(
            "GET /api/v1/printers HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(good.starts_with("HTTP/1.1 200"), "{good}");
    assert!(good.contains("content-security-policy"), "{good}");

    let cross_site = raw_request(
        port,
        &format!(
            "POST /api/v1/printers/1/commands HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://evil.example\r\n\
             Content-Type: application/json\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{{\"command\":\"M104 S0\"}}"
        ),
    );
    assert!(cross_site.starts_with("HTTP/1.1 403"), "{cross_site}");

    let socket = raw_request(
        port,
        &format!(
            "GET /api/v1/live HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: http://evil.example\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ),
    );
    assert!(socket.starts_with("HTTP/1.1 403"), "{socket}");
}

#[tokio::test]
async fn api_errors_have_one_shape() {
    let daemon = Daemon::start(&[]);
    let http = reqwest::Client::new();
    let cases = [
        (
            http.get(daemon.url("/api/v1/printers/42")),
            404,
            "not_found",
        ),
        (
            http.get(daemon.url("/api/v1/printers/abc")),
            404,
            "not_found",
        ),
        (
            http.get(daemon.url("/api/v1/nothing-here")),
            404,
            "not_found",
        ),
        (
            http.post(daemon.url("/api/v1/printers/42/commands"))
                .json(&json!({"command": "M105"})),
            404,
            "not_found",
        ),
        (
            http.post(daemon.url("/api/v1/printers/1/commands"))
                .json(&json!({"cmd": "M105"})),
            400,
            "bad_request",
        ),
        (
            http.post(daemon.url("/api/v1/printers/1/commands"))
                .json(&json!({"command": "  "})),
            400,
            "bad_command",
        ),
        (
            http.post(daemon.url("/api/v1/printers/1/commands"))
                .json(&json!({"command": "M105\nM112"})),
            400,
            "bad_command",
        ),
        (
            http.post(daemon.url("/api/v1/printers/1/commands"))
                .body("{not json")
                .header("content-type", "application/json"),
            400,
            "bad_request",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
}
