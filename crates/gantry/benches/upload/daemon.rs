//! A real `gantry serve` in a fresh data directory on a free loopback port, stopped (SIGTERM,
//! then SIGKILL) when dropped so a failed run leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the daemon may take to write `daemon.json`.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Daemon {
    child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
}

impl Daemon {
    pub fn start(program: &Path, data_dir: &Path) -> Result<Daemon, String> {
        let log = std::fs::File::create(data_dir.with_extension("stderr.log"))
            .map_err(|e| format!("cannot create the daemon's log: {e}"))?;
        let child = Command::new(program)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--port", "0", "--no-discovery"])
            .env("GANTRY_LOG", "info")
            .env_remove("GANTRY_PORT")
            .env_remove("GANTRY_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let mut daemon = Daemon {
            child,
            port: 0,
            data_dir: data_dir.to_owned(),
        };
        daemon.port = daemon.wait_for_port()?;
        Ok(daemon)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_for_port(&mut self) -> Result<u16, String> {
        let deadline = Instant::now() + PATIENCE;
        let file = self.data_dir.join("daemon.json");
        loop {
            let port = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|info| info["port"].as_u64())
                .and_then(|port| u16::try_from(port).ok());
            if let Some(port) = port {
                return Ok(port);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "gantry serve exited early ({status}); see {}",
                    self.stderr_log().display()
                ));
            }
            if Instant::now() > deadline {
                return Err("gantry serve did not write daemon.json in time".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the daemon wrote to stderr (its log).
    pub fn stderr_log(&self) -> PathBuf {
        self.data_dir.with_extension("stderr.log")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: signalling our own child, which has not been waited for yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
