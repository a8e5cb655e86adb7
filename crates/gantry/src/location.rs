//! Where a daemon lives: its port and its data directory.
//!
//! Every `gantry` subcommand takes the same `--port` and `--data-dir`, so that `gantry status`
//! finds the daemon that `gantry serve` started with the same two. A running daemon also
//! leaves `daemon.json` in its data directory, so `--data-dir` alone is enough to find it.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const DEFAULT_PORT: u16 = 8008;
const RUNTIME_FILE: &str = "daemon.json";

#[derive(Debug, Clone, clap::Args)]
pub struct Location {
    /// TCP port of the dashboard and API [default: 8008, or the running daemon's]
    #[arg(long, env = "GANTRY_PORT", global = true)]
    pub port: Option<u16>,
    /// Directory for the database, uploaded files and logs [default: the platform's data directory]
    #[arg(long, env = "GANTRY_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

impl Location {
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    /// The port to serve on: the one given, else the default.
    pub fn serve_port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    /// The port of the daemon to talk to: the one given, else the running daemon's, else the default.
    pub fn client_port(&self) -> u16 {
        self.port
            .or_else(|| RuntimeInfo::read(&self.data_dir()).map(|info| info.port))
            .unwrap_or(DEFAULT_PORT)
    }
}

/// The platform's conventional data directory (XDG on Linux, Application Support on macOS,
/// AppData on Windows); the system service's when there is no home directory.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "Gantry")
        .map(|dirs| dirs.data_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from("/var/lib/gantry"))
}

/// What a running daemon publishes about itself in its data directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuntimeInfo {
    pub pid: u32,
    pub port: u16,
    pub addresses: Vec<SocketAddr>,
}

impl RuntimeInfo {
    pub fn read(data_dir: &Path) -> Option<RuntimeInfo> {
        let text = std::fs::read_to_string(data_dir.join(RUNTIME_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Written atomically so that a reader never sees half a file.
    pub fn write(&self, data_dir: &Path) -> io::Result<()> {
        let tmp = data_dir.join(format!(".{RUNTIME_FILE}.tmp"));
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(io::Error::other)?,
        )?;
        std::fs::rename(tmp, data_dir.join(RUNTIME_FILE))
    }

    pub fn remove(data_dir: &Path) {
        let _ = std::fs::remove_file(data_dir.join(RUNTIME_FILE));
    }
}
