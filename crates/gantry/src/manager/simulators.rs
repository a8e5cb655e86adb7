//! The demo's simulated printers. Each is a Marlin-like firmware behind a pseudo-terminal,
//! which only Unix systems have.

use std::path::Path;
#[cfg(unix)]
use std::sync::{Mutex, PoisonError};

/// The running simulators, stopped together when Gantry shuts down.
#[derive(Debug, Default)]
pub(super) struct Simulators {
    #[cfg(unix)]
    running: Mutex<Vec<printer::sim::SimPrinter>>,
}

impl Simulators {
    /// Starts simulator `index` with its port linked at `link`.
    #[cfg(unix)]
    pub fn start(&self, index: u32, link: &Path) -> std::io::Result<()> {
        use printer::sim::{SimConfig, SimPrinter};

        let config = SimConfig {
            name: format!("Gantry Sim {}", index + 1),
            uuid: uuid(index),
            link: Some(link.to_owned()),
            // Heaters a little quicker than real ones, so a demo print starts in seconds.
            heat_rate: 0.25,
            bed_heat_rate: 0.15,
            ..SimConfig::default()
        };
        let sim = SimPrinter::spawn(config)?;
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sim);
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn start(&self, _index: u32, _link: &Path) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "simulated printers need a pseudo-terminal, which this system does not have",
        ))
    }

    /// Stops every simulator; blocks until their threads have ended.
    #[cfg(unix)]
    pub fn stop_all(&self) {
        let running =
            std::mem::take(&mut *self.running.lock().unwrap_or_else(PoisonError::into_inner));
        running.into_iter().for_each(printer::sim::SimPrinter::stop);
    }

    #[cfg(not(unix))]
    pub fn stop_all(&self) {}
}

/// A fixed, well-formed UUID per simulator index, so that each simulated printer keeps
/// its identity across restarts like a real one.
#[cfg(unix)]
fn uuid(index: u32) -> String {
    format!("6a7e5c1e-0000-4000-8000-{:012x}", index + 1)
}
