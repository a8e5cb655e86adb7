//! The test cloud (`tests/cloud/server.mjs`): a StreamerAPI-compatible cloud and a real OpenID
//! provider in one Node process, with a control API for faults and for reading what the client
//! sent. Stopped when dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{gantry, wait_with_patience, PATIENCE};

pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cloud")
        .join(name)
}

pub struct TestCloud {
    child: Child,
    pub cloud: String,
    pub issuer: String,
    http: reqwest::Client,
}

pub const ADA: (&str, &str) = ("ada@example.test", "correct horse 42");
pub const GRACE: (&str, &str) = ("grace@example.test", "second user 13");
pub const UNVERIFIED: (&str, &str) = ("new@example.test", "unverified pw 7");
pub const NO_GROUP: (&str, &str) = ("lonely@example.test", "no group pw 9");
pub const SSO_ONLY: (&str, &str) = ("ghost@example.test", "ghost pw 11");

impl TestCloud {
    pub fn start(env: &[(&str, &str)]) -> TestCloud {
        let mut child = Command::new("node")
            .arg(script("server.mjs"))
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node tests/cloud/server.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("the test cloud prints its addresses");
        // Keep draining: a closed pipe would kill the server at its next write.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let ports: Value = serde_json::from_str(&line).expect("a JSON line");
        TestCloud {
            child,
            cloud: ports["cloud"].as_str().expect("cloud").to_owned(),
            issuer: ports["issuer"].as_str().expect("issuer").to_owned(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn state(&self) -> Value {
        self.http
            .get(format!("{}/control/state", self.cloud))
            .send()
            .await
            .expect("control state")
            .json()
            .await
            .expect("JSON")
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}/control/{path}", self.cloud))
            .json(&body)
            .send()
            .await
            .expect("control")
            .json()
            .await
            .expect("JSON")
    }

    pub async fn fault(&self, faults: Value) {
        self.control("fault", faults).await;
    }

    /// Every user and printer token issued so far stops working, as when they expire.
    pub async fn expire_tokens(&self) {
        self.control("expire", json!({})).await;
    }

    /// What the cloud lists at `sso_organisations`.
    pub async fn set_organisations(&self, organisations: Value) {
        self.control("organisations", json!({ "organisations": organisations }))
            .await;
    }

    pub async fn put_file(&self, name: &str, data: &[u8]) {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(data);
        self.control("file", json!({"name": name, "base64": encoded}))
            .await;
    }

    /// Queues a command for the first printer; returns it as the cloud will send it.
    pub async fn command(&self, command: &str, payload: Value, extra: Value) -> Value {
        self.control(
            "command",
            json!({"command": command, "payload": payload, "extra": extra}),
        )
        .await
    }

    pub async fn command_numbered(
        &self,
        command: &str,
        number: i64,
        payload: Value,
        extra: Value,
    ) -> Value {
        self.control(
            "command",
            json!({"command": command, "number": number, "payload": payload, "extra": extra}),
        )
        .await
    }

    /// Polls the cloud's state until `done` holds.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let state = self.state().await;
            if done(&state) {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {state:#}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub fn file_url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.cloud)
    }
}

impl Drop for TestCloud {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every report the cloud received from its first printer.
pub fn reports(state: &Value) -> Vec<Value> {
    state["printers"][0]["reports"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub fn acks(state: &Value) -> Vec<Value> {
    state["printers"][0]["acks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A G-code file of `moves` moves.
pub fn gcode(moves: usize) -> Vec<u8> {
    let mut text = String::from("G28\nG1 Z0.2 F300\n");
    for i in 0..moves {
        text.push_str(&format!(
            "G1 X{} Y{} E{:.2} F3000\n",
            i % 100,
            (i * 7) % 100,
            i as f64 * 0.01
        ));
    }
    text.push_str("M400\n");
    text.into_bytes()
}

/// Drives headless Chromium (tests/cloud/browser.mjs) in the foreground to confirm `url`.
pub fn approve_in_browser(url: &str, user: (&str, &str), consent: &str, log: &std::path::Path) {
    let status = Command::new("node")
        .arg(script("browser.mjs"))
        .arg("--wait")
        .arg(url)
        .env("GANTRY_TEST_USER", user.0)
        .env("GANTRY_TEST_PASSWORD", user.1)
        .env("GANTRY_TEST_CONSENT", consent)
        .env("GANTRY_TEST_BROWSER_LOG", log)
        .status()
        .expect("run the browser");
    assert!(status.success(), "browser.mjs failed");
    let outcome = std::fs::read_to_string(log).unwrap_or_default();
    let last = outcome.lines().last().unwrap_or_default();
    assert!(
        ["device-done", "device-error", "callback"]
            .iter()
            .any(|result| last.contains(result)),
        "the browser did not finish: {outcome}"
    );
}

/// A `gantry serve` in a data directory the test chooses (so it can be restarted there) and
/// with the environment it needs (`BROWSER` for SSO from the dashboard). Killed when dropped.
pub struct Served {
    child: Option<Child>,
    pub port: u16,
    /// Read all along, so a chatty daemon never blocks on a full pipe.
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Served {
    pub fn start(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
        let _ = std::fs::remove_file(data_dir.join("daemon.json"));
        let mut command = gantry(data_dir);
        command
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start gantry serve");
        let mut pipe = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        let deadline = Instant::now() + PATIENCE;
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(data_dir.join("daemon.json")) {
                let info: Value = serde_json::from_str(&text).expect("daemon.json is JSON");
                break info["port"].as_u64().expect("port") as u16;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let text = stderr.join().unwrap_or_default();
                panic!("gantry serve exited early ({status}): {text}");
            }
            assert!(Instant::now() < deadline, "gantry serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        Served {
            child: Some(child),
            port,
            stderr: Some(stderr),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGTERM, then everything it wrote to stderr.
    pub fn stop(&mut self) -> String {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        wait_with_patience(&mut child);
        self.stderr
            .take()
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `GET` a daemon's JSON.
pub async fn get_json(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// Polls `url` until `done` holds for its JSON.
pub async fn wait_for_json(url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = get_json(url).await;
        if done(&value) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {value:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
