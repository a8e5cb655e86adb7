//! A `gantry serve` process for tests: started on a free port in a fresh data directory,
//! stopped with SIGTERM when dropped.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_gantry");

/// Upper bound for waits that only guard against a hung test; never a performance check.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Daemon {
    pub child: Option<Child>,
    pub data_dir: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

pub fn gantry(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("GANTRY_PORT")
        .env_remove("GANTRY_DATA_DIR")
        .env("GANTRY_LOG", "info")
        .arg("--data-dir")
        .arg(data_dir);
    command
}

impl Daemon {
    /// Starts `gantry serve --port 0 <args>` and waits until it has published its address.
    pub fn start(args: &[&str]) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        let child = gantry(&data_dir)
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gantry serve");
        Daemon {
            child: Some(child),
            data_dir,
            port: 0,
            _dir: dir,
        }
        .wait_for_runtime_file()
    }

    /// Waits until the daemon has published its address in `daemon.json`.
    fn wait_for_runtime_file(mut self) -> Daemon {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(text) = std::fs::read_to_string(self.data_dir.join("daemon.json")) {
                let info: serde_json::Value =
                    serde_json::from_str(&text).expect("daemon.json is JSON");
                self.port = info["port"].as_u64().expect("port") as u16;
                return self;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("gantry serve exited early ({status}): {}", self.stderr());
            }
            assert!(Instant::now() < deadline, "gantry serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGTERM, then wait for the exit; returns the status and everything written to stderr.
    pub fn stop(&mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = wait_with_patience(&mut child);
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status, stderr)
    }

    fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut pipe) = self.child.as_mut().and_then(|c| c.stderr.take()) {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    }
}

pub fn wait_with_patience(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Daemon {
    /// Starts a new daemon on the same data directory (and port) after the old one stopped.
    pub fn restart(mut old: Daemon, args: &[&str]) -> Daemon {
        let data_dir = old.data_dir.clone();
        let port = old.port.to_string();
        let dir = std::mem::replace(&mut old._dir, tempfile::tempdir().expect("temp dir"));
        drop(old);
        let _ = std::fs::remove_file(data_dir.join("daemon.json"));
        let child = gantry(&data_dir)
            .args(["serve", "--port", &port])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("restart gantry serve");
        let daemon = Daemon {
            child: Some(child),
            data_dir,
            port: 0,
            _dir: dir,
        };
        daemon.wait_for_runtime_file()
    }
}

/// One raw HTTP/1.1 exchange on loopback, so that tests control every header.
pub fn raw_request(port: u16, request: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}
