//! A printer's live status as the rest of Gantry sees it.

use std::path::Path;

use marlin::{FirmwareInfo, Temperatures};
use serde::{Deserialize, Serialize};

use super::JobStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The port is open and the handshake is under way.
    Connecting,
    Ready,
    Printing,
    Paused,
    /// The firmware halted or reported a fatal error; it needs a reset.
    Error,
    /// The port is closed or gone; the thread keeps trying to reopen it.
    Offline,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Ready => "ready",
            State::Printing => "printing",
            State::Paused => "paused",
            State::Error => "error",
            State::Offline => "offline",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    pub port: String,
    pub firmware: Option<FirmwareInfo>,
    pub temperatures: Temperatures,
    /// Why the printer is in `Error` or `Offline`, in words a user can act on.
    pub error: Option<String>,
    pub job: Option<JobStatus>,
}

impl Status {
    pub(crate) fn new(port: &Path) -> Status {
        Status {
            state: State::Connecting,
            port: port.display().to_string(),
            firmware: None,
            temperatures: Temperatures::default(),
            error: None,
            job: None,
        }
    }
}
