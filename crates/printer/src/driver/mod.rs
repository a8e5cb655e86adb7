//! The printer driver: one OS thread per printer that owns the serial port.
//!
//! The thread never waits on anything but its port and its command channel, so a slow
//! database, web client or cloud can never stall a print. Status leaves it through a
//! `watch` channel, which keeps only the newest value: a reader that falls behind skips
//! samples instead of holding the printer back.

mod status;
mod thread;

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use status::{State, Status};

/// How to reach one printer.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    pub port: PathBuf,
    pub baud: u32,
    pub link: marlin::Config,
    /// Pause between attempts to reopen a port that vanished or never opened.
    pub reconnect_interval: Duration,
}

impl DriverConfig {
    pub fn new(port: impl Into<PathBuf>, baud: u32) -> DriverConfig {
        DriverConfig {
            port: port.into(),
            baud,
            link: marlin::Config::default(),
            reconnect_interval: Duration::from_secs(2),
        }
    }
}

/// What other parts of Gantry may ask of a printer thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A manual G-code line, as typed in a console.
    Send(String),
    /// `M112`, ahead of every queue.
    EmergencyStop,
    /// Close the port and end the thread.
    Disconnect,
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot start the printer thread: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("the printer thread has stopped")]
    Gone,
}

/// The handle on a running printer thread. Dropping it disconnects the printer.
#[derive(Debug)]
pub struct Driver {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<Status>,
    thread: Option<JoinHandle<()>>,
}

impl Driver {
    pub fn spawn(config: DriverConfig) -> Result<Driver, DriverError> {
        let (commands, inbox) = mpsc::channel();
        let (publish, status) = watch::channel(Status::new(&config.port));
        let name = format!("printer {}", config.port.display());
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || thread::run(config, inbox, publish))?;
        Ok(Driver { commands, status, thread: Some(thread) })
    }

    /// A receiver of the printer's live status; `changed()` wakes on every update.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    pub fn send(&self, command: Command) -> Result<(), DriverError> {
        self.commands.send(command).map_err(|_| DriverError::Gone)
    }

    /// Disconnects and waits for the thread to close the port.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send(Command::Disconnect);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("a printer thread panicked while stopping");
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}
