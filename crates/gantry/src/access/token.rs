//! The local token: a random secret the daemon writes into its data directory at start, readable
//! only by the account that runs it. A program on this computer that can read it (the `gantry`
//! command, the tray) sends it as `X-Gantry-Token` to act as the owner even when *Require login
//! on this computer too* is on. It is only honoured from a loopback peer.

use std::io;
use std::path::{Path, PathBuf};

use super::secret;

pub const HEADER: &str = "x-gantry-token";
const FILE: &str = "local.token";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Makes a fresh token for this run of the daemon.
pub fn create(data_dir: &Path) -> io::Result<String> {
    let token = secret::token().map_err(io::Error::other)?;
    let file = path(data_dir);
    // A new file each time, so the mode applies even if an old one had looser permissions.
    let _ = std::fs::remove_file(&file);
    super::tls::write_secret_file(&file, token.as_bytes())?;
    Ok(token)
}

/// The running daemon's token, when this process may read it.
pub fn read(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(path(data_dir))
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}
