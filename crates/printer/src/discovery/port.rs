//! The serial ports the OS lists, with their USB descriptors and where they are plugged in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One serial port as the OS lists it (or as the user named it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    /// The device to open: `/dev/ttyUSB0`, or a user's path exactly as given.
    pub path: PathBuf,
    /// `None` for ports that are not USB (ptys, on-board UARTs).
    pub usb: Option<UsbInfo>,
    /// The USB interface the port hangs off, e.g. `1-1.2:1.0`: the same socket gives the same
    /// value across replugs and reboots, which is what tells two serial-less clones apart.
    pub physical: Option<String>,
    /// The `/dev/serial/by-id` link to this port, when udev made one.
    pub by_id: Option<PathBuf>,
    /// The `/dev/serial/by-path` link to this port, when udev made one.
    pub by_path: Option<PathBuf>,
}

impl PortInfo {
    /// A port known only by its path (a pty, a port the user typed in).
    pub fn bare(path: impl Into<PathBuf>) -> PortInfo {
        PortInfo {
            path: path.into(),
            usb: None,
            physical: None,
            by_id: None,
            by_path: None,
        }
    }
}

/// The USB device descriptor strings of a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbInfo {
    pub vid: u16,
    pub pid: u16,
    pub serial_number: Option<String>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
}

/// Every serial port the OS lists now, with USB details and, on Linux, the physical socket and
/// the udev links.
pub fn list_ports() -> Vec<PortInfo> {
    let listed = match serialport::available_ports() {
        Ok(ports) => ports,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list serial ports");
            return Vec::new();
        }
    };
    let by_id = links_in(Path::new("/dev/serial/by-id"));
    let by_path = links_in(Path::new("/dev/serial/by-path"));
    let mut ports: Vec<PortInfo> = listed
        .into_iter()
        .map(|listed| {
            let path = PathBuf::from(&listed.port_name);
            let usb = match listed.port_type {
                serialport::SerialPortType::UsbPort(usb) => Some(UsbInfo {
                    vid: usb.vid,
                    pid: usb.pid,
                    serial_number: usb.serial_number,
                    manufacturer: usb.manufacturer,
                    product: usb.product,
                }),
                _ => None,
            };
            let physical = usb.as_ref().and_then(|_| physical_location(&path));
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            PortInfo {
                by_id: by_id.get(&canonical).cloned(),
                by_path: by_path.get(&canonical).cloned(),
                path,
                usb,
                physical,
            }
        })
        .collect();
    ports.sort_by(|a, b| a.path.cmp(&b.path));
    ports
}

/// Link target (canonical) → link, for every symlink in `dir`. A missing directory (no udev,
/// no USB-serial device) is an empty map.
fn links_in(dir: &Path) -> HashMap<PathBuf, PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return HashMap::new();
    };
    let mut links = HashMap::new();
    for entry in entries.flatten() {
        let link = entry.path();
        if let Ok(target) = std::fs::canonicalize(&link) {
            // Two links to one device (by-id of a composite device) keep the first by name.
            links
                .entry(target)
                .and_modify(|old: &mut PathBuf| {
                    if link < *old {
                        *old = link.clone();
                    }
                })
                .or_insert(link);
        }
    }
    links
}

/// The USB interface (`1-1.2:1.0`) behind a tty device, from sysfs.
#[cfg(target_os = "linux")]
fn physical_location(path: &Path) -> Option<String> {
    let device = std::fs::canonicalize(path).ok()?;
    let name = device.file_name()?.to_str()?;
    let sysfs =
        std::fs::canonicalize(Path::new("/sys/class/tty").join(name).join("device")).ok()?;
    usb_interface_of(&sysfs)
}

#[cfg(not(target_os = "linux"))]
fn physical_location(_path: &Path) -> Option<String> {
    None
}

/// The last path component that names a USB interface: `<bus>-<port>[.<port>…]:<config>.<if>`.
/// `ttyACM` devices point at the interface itself, `ttyUSB` devices at a child of it.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // sysfs is Linux's
pub(crate) fn usb_interface_of(sysfs_device: &Path) -> Option<String> {
    sysfs_device
        .components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str())
        .find(|c| is_usb_interface(c))
        .map(str::to_owned)
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn is_usb_interface(name: &str) -> bool {
    let Some((device, interface)) = name.split_once(':') else {
        return false;
    };
    let Some((bus, ports)) = device.split_once('-') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let dotted = |s: &str| s.split('.').all(digits);
    digits(bus)
        && dotted(ports)
        && interface
            .split_once('.')
            .is_some_and(|(config, number)| digits(config) && digits(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_interface_of_an_acm_device() {
        let sysfs = Path::new("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.2/1-1.2:1.0");
        assert_eq!(usb_interface_of(sysfs).as_deref(), Some("1-1.2:1.0"));
    }

    #[test]
    fn finds_the_interface_of_a_usb_serial_device() {
        let sysfs =
            Path::new("/sys/devices/platform/soc/3f980000.usb/usb1/1-1/1-1.3/1-1.3:1.0/ttyUSB0");
        assert_eq!(usb_interface_of(sysfs).as_deref(), Some("1-1.3:1.0"));
    }

    #[test]
    fn pci_addresses_and_hubs_are_not_interfaces() {
        for name in [
            "0000:00:14.0",
            "1-1.2",
            "usb1",
            "pci0000:00",
            "1-:1.0",
            "1-1:1",
            "a-1:1.0",
        ] {
            assert!(!is_usb_interface(name), "{name}");
        }
        assert!(is_usb_interface("3-10.4.1:1.2"));
        assert_eq!(
            usb_interface_of(Path::new("/sys/devices/virtual/tty/ptmx")),
            None
        );
    }
}
