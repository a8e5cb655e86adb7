//! What the scanner asks of the operating system, behind a trait so tests can hand it made-up
//! port listings and holders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::holder::{port_holders, Holder};
use super::port::{list_ports, PortInfo};

/// The scanner's view of the machine.
pub trait Host {
    /// The serial ports the OS lists now.
    fn list_ports(&mut self) -> Vec<PortInfo>;
    /// The device a user-given path leads to now, or `None` when nothing is there.
    fn resolve(&mut self, path: &Path) -> Option<PathBuf>;
    /// Other processes holding any of these ports open.
    fn holders(&mut self, paths: &[PathBuf]) -> BTreeMap<PathBuf, Holder>;
}

/// The real machine: serialport + sysfs for the listing, `/proc` for the holders.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl Host for SystemHost {
    fn list_ports(&mut self) -> Vec<PortInfo> {
        list_ports()
    }

    fn resolve(&mut self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    fn holders(&mut self, paths: &[PathBuf]) -> BTreeMap<PathBuf, Holder> {
        port_holders(paths)
    }
}
