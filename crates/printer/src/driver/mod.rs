//! The printer driver: one OS thread per printer that owns the serial port.
//!
//! The thread never waits on anything but its port and its command channel, so a slow
//! database, web client or cloud can never stall a print. Status leaves it through a
//! `watch` channel, which keeps only the newest value: a reader that falls behind skips
//! samples instead of holding the printer back. Job milestones — what the crash journal
//! needs — leave through an unbounded channel and are never dropped.

mod job;
mod log;
mod port;
mod safety;
mod status;
mod thread;

use std::path::PathBuf;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

pub use job::{JobEvent, JobSpec, JobStatus, Position, ResumePoint, Scripts, CHECKPOINT_INTERVAL};
pub use log::{LogLine, SerialLog, LOG_LINES};
pub use safety::refusal_while_printing;
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
    StartJob(JobSpec),
    Pause,
    Resume,
    Cancel,
    /// `M112`, ahead of every queue.
    EmergencyStop,
    /// Close the port and end the thread (a running job is interrupted, resumable).
    Disconnect,
}

/// Why the printer thread turned a command down, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the printer is not connected")]
    NotConnected,
    #[error("the printer's firmware has halted; reset or power-cycle the printer")]
    Halted,
    #[error("the printer is already printing")]
    Busy,
    #[error("no print is running")]
    NoJob,
    #[error("the print is not paused")]
    NotPaused,
    #[error("the print is already paused")]
    AlreadyPaused,
    #[error("{0}")]
    Unsafe(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the printer thread has stopped")]
    Gone,
}

pub type Reply = oneshot::Sender<Result<(), Refusal>>;

#[derive(Debug, thiserror::Error)]
#[error("cannot start the printer thread: {0}")]
pub struct SpawnError(#[from] std::io::Error);

/// The handle on a running printer thread. Dropping it disconnects the printer.
#[derive(Debug)]
pub struct Driver {
    commands: mpsc::Sender<(Command, Option<Reply>)>,
    /// Rung after every command, so the thread need not poll its inbox.
    bell: Arc<port::Doorbell>,
    status: watch::Receiver<Status>,
    log: Arc<SerialLog>,
    thread: Option<JoinHandle<()>>,
}

/// The printer's milestones, for the journal: never dropped.
pub type JobEvents = tokio::sync::mpsc::UnboundedReceiver<JobEvent>;

impl Driver {
    pub fn spawn(config: DriverConfig) -> Result<(Driver, JobEvents), SpawnError> {
        let (commands, inbox) = mpsc::channel();
        let bell = Arc::new(port::Doorbell::new()?);
        let (publish, status) = watch::channel(Status::new(&config.port));
        let (events, milestones) = tokio::sync::mpsc::unbounded_channel();
        let log = Arc::new(SerialLog::default());
        let outputs = thread::Outputs {
            status: publish,
            events,
            log: log.clone(),
        };
        let name = format!("printer {}", config.port.display());
        let thread_bell = bell.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || thread::run(config, inbox, thread_bell, outputs))?;
        Ok((
            Driver {
                commands,
                bell,
                status,
                log,
                thread: Some(thread),
            },
            milestones,
        ))
    }

    /// The printer's recent serial traffic.
    pub fn log(&self) -> Arc<SerialLog> {
        self.log.clone()
    }

    /// A receiver of the printer's live status; `changed()` wakes on every update.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Sends a command without waiting for the verdict.
    pub fn send(&self, command: Command) -> Result<(), Refusal> {
        self.commands
            .send((command, None))
            .map_err(|_| Refusal::Gone)?;
        self.bell.wake();
        Ok(())
    }

    /// Sends a command and waits for the printer thread to accept or refuse it.
    pub async fn request(&self, command: Command) -> Result<(), Refusal> {
        let (reply, verdict) = oneshot::channel();
        self.commands
            .send((command, Some(reply)))
            .map_err(|_| Refusal::Gone)?;
        self.bell.wake();
        verdict.await.unwrap_or(Err(Refusal::Gone))
    }

    /// Disconnects and waits for the thread to close the port.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.commands.send((Command::Disconnect, None));
        self.bell.wake();
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
