//! The printer driver: one OS thread per printer owning its serial port, and the simulated
//! Marlin printer that the demo, the tests and the benchmarks drive through a real pty.

pub mod discovery;
pub mod driver;
#[cfg(target_os = "linux")]
pub mod procfs;
#[cfg(unix)]
pub mod sim;
#[cfg(unix)]
mod wait;
