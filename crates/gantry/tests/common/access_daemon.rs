//! A `gantry serve` for the access tests: extra environment (a test PAM service), a data
//! directory that outlives one run (settings must persist), stopped with SIGTERM on drop.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Instant;

use crate::common::{gantry, wait_with_patience, PATIENCE};

pub struct Gantry {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub port: u16,
}

impl Gantry {
    /// `gantry serve --port <port> <args>` in `data_dir`, waiting until it has published its
    /// address.
    pub fn start(data_dir: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> Gantry {
        let runtime = data_dir.join("daemon.json");
        let _ = std::fs::remove_file(&runtime);
        let mut command = gantry(data_dir);
        command
            .args(["serve", "--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start gantry serve");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(text) = std::fs::read_to_string(&runtime) {
                let info: serde_json::Value =
                    serde_json::from_str(&text).expect("daemon.json is JSON");
                let port = info["port"].as_u64().expect("port") as u16;
                return Gantry {
                    child: Some(child),
                    data_dir: data_dir.to_owned(),
                    port,
                };
            }
            if let Some(status) = child.try_wait().expect("wait") {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("gantry serve exited early ({status}): {err}");
            }
            assert!(Instant::now() < deadline, "gantry serve did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `gantry --data-dir <dir> <args>`, as a user would type it.
    pub fn cli(&self, args: &[&str]) -> Output {
        gantry(&self.data_dir)
            .args(args)
            .output()
            .expect("run gantry")
    }

    /// SIGTERM and wait; returns stderr.
    pub fn stop(&mut self) -> String {
        let Some(mut child) = self.child.take() else {
            return String::new();
        };
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = wait_with_patience(&mut child);
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "gantry serve failed: {err}");
        err
    }
}

impl Drop for Gantry {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
