//! *Add printer by port*: a pty added through the API becomes a printer; a port another
//! program holds is refused with who holds it, and that program is left alone.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Daemon, PATIENCE};
use printer::sim::{SimConfig, SimPrinter};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread")]
async fn a_port_added_by_path_becomes_a_printer_and_a_held_port_is_left_alone() {
    let daemon = Daemon::start(&["--no-discovery"]);
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();

    let sim = SimPrinter::spawn(SimConfig {
        link: Some(dir.path().join("free")),
        ..SimConfig::default()
    })
    .unwrap();
    let added = http
        .post(daemon.url("/api/v1/printers"))
        .json(&json!({ "port": sim.path() }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201, "{}", added.text().await.unwrap());
    let printer: Value = added.json().await.unwrap();
    let id = printer["id"].as_i64().unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let p: Value = http
            .get(daemon.url(&format!("/api/v1/printers/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if p["state"] == "ready" {
            assert_eq!(p["firmware"]["machine_type"], "Gantry Simulator");
            break;
        }
        assert!(Instant::now() < deadline, "never ready: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = http
        .post(daemon.url("/api/v1/printers"))
        .json(&json!({ "port": sim.path() }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 422);

    // Another program has the second printer's port open.
    let held = SimPrinter::spawn(SimConfig {
        link: Some(dir.path().join("held")),
        ..SimConfig::default()
    })
    .unwrap();
    let mut holder = std::process::Command::new("sleep")
        .arg("60")
        .stdin(std::fs::File::open(held.path()).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let refused = http
        .post(daemon.url("/api/v1/printers"))
        .json(&json!({ "port": held.path() }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("sleep"), "names the holder: {message}");
    assert!(
        holder.try_wait().unwrap().is_none(),
        "the holder was not disturbed"
    );
    holder.kill().unwrap();
    let _ = holder.wait();

    for bad in [
        json!({ "port": "/dev/does-not-exist" }),
        json!({ "port": "" }),
        json!({ "path": "/dev/ttyUSB0" }),
    ] {
        let response = http
            .post(daemon.url("/api/v1/printers"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert!(matches!(response.status().as_u16(), 400 | 422), "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["message"].is_string());
    }
    let ports: Vec<Value> = http
        .get(daemon.url("/api/v1/ports"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ports.is_empty(), "discovery is off: {ports:?}");
}
