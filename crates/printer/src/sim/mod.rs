//! A simulated Marlin printer on a pseudo-terminal, for the demo, the integration tests and the
//! benchmarks. Gantry's driver opens the pty's slave path exactly as it opens a USB printer.
//!
//! The firmware itself ([`Firmware`]) is sans-IO; [`SimPrinter`] runs it on a thread behind a
//! pty, with byte pacing and the faults of [`Faults`] applied at run time.

mod command;
mod config;
mod faults;
mod firmware;
mod heater;
pub mod line;
mod pacing;
mod pty;
mod rng;
mod runner;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

pub use config::SimConfig;
pub use faults::{FaultAction, FaultSettings, Faults};
pub use firmware::Firmware;

use runner::{Runner, Shared};

/// A running simulated printer. Stops when dropped.
#[derive(Debug)]
pub struct SimPrinter {
    path: PathBuf,
    link: Option<PathBuf>,
    faults: Faults,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl SimPrinter {
    /// Opens a raw pty (and the link, if configured) and boots the firmware on its own thread.
    pub fn spawn(config: SimConfig) -> std::io::Result<SimPrinter> {
        let pty = pty::Pty::open()?;
        let slave = pty.path().to_owned();
        if let Some(link) = &config.link {
            pty::point_link(link, &slave)?;
        }
        let faults = Faults::new(FaultSettings::from_config(&config))?;
        let shared = Arc::new(Shared {
            accepted: Mutex::new(Vec::new()),
            slave_path: Mutex::new(slave.clone()),
            plugged: AtomicU64::new(1),
            stop: AtomicBool::new(false),
        });
        let runner = Runner::new(config.clone(), faults.clone(), Arc::clone(&shared), pty);
        let thread = std::thread::Builder::new()
            .name(format!("sim {}", config.name))
            .spawn(move || runner.run())?;
        Ok(SimPrinter {
            path: config.link.clone().unwrap_or(slave),
            link: config.link,
            faults,
            shared,
            thread: Some(thread),
        })
    }

    /// Where a client opens the printer: the link if configured, else the slave device as it
    /// was at spawn (a reconnect without a link gets a new one, see [`Self::current_path`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The slave device path right now; it changes on every reconnect.
    pub fn current_path(&self) -> PathBuf {
        self.shared
            .slave_path
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times the printer has been plugged in: 1 after spawn, +1 per reconnect, so a
    /// test can wait for a reconnect to have happened.
    pub fn connections(&self) -> u64 {
        self.shared.plugged.load(Ordering::Acquire)
    }

    /// Fault injection, changeable while the printer runs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every command line the firmware accepted into its queue, in order, without the line
    /// number and checksum.
    pub fn accepted_lines(&self) -> Vec<String> {
        self.shared
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the firmware and closes the pty (also done on drop).
    pub fn stop(self) {
        drop(self);
    }

    fn shut_down(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.faults.waker().wake();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!(path = %self.path.display(), "simulated printer thread panicked");
            }
        }
        if let Some(link) = &self.link {
            pty::remove_link(link);
        }
    }
}

impl Drop for SimPrinter {
    fn drop(&mut self) {
        self.shut_down();
    }
}
