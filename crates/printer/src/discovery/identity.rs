//! Which printer a port is: a key that survives replug and restart, so settings, jobs and the
//! cloud link follow the printer rather than whatever `/dev/ttyUSB<n>` it got this time.

use std::collections::HashMap;

use super::port::PortInfo;

/// A printer's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// `usb:VVVV:PPPP:SERIAL`, `usb:VVVV:PPPP@1-1.2:1.0` or `port:<path as given>`.
    pub key: String,
    pub basis: IdentityBasis,
    /// The `UUID:` the firmware reported in `M115`, once probed. Marlin's all-zero default is
    /// left out: thousands of printers share it.
    pub firmware_uuid: Option<String>,
}

/// What the key was built from, weakest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityBasis {
    /// The USB serial number, present and unique among the connected ports.
    UsbSerial,
    /// VID/PID and the USB socket: the board has no usable serial number.
    UsbSocket,
    /// The port's path, as given: a pty, or a non-USB port.
    Path,
}

impl Identity {
    /// Records the firmware's `UUID:` (from [`marlin::FirmwareInfo::uuid`]).
    pub fn with_firmware_uuid(mut self, uuid: Option<&str>) -> Identity {
        self.firmware_uuid = uuid
            .map(str::trim)
            .filter(|u| !u.is_empty() && !u.chars().all(|c| c == '0' || c == '-'))
            .map(str::to_owned);
        self
    }
}

/// The identity of each port, in the order given. It needs every port at once because a
/// serial number is only an identity when no other connected device reports it too.
pub fn identities(ports: &[PortInfo]) -> Vec<Identity> {
    let serials: Vec<Option<(u16, u16, String)>> = ports
        .iter()
        .map(|port| {
            let usb = port.usb.as_ref()?;
            let serial = usable_serial(usb.serial_number.as_deref()?)?;
            Some((usb.vid, usb.pid, serial))
        })
        .collect();
    let mut seen: HashMap<&(u16, u16, String), usize> = HashMap::new();
    for triple in serials.iter().flatten() {
        *seen.entry(triple).or_default() += 1;
    }
    ports
        .iter()
        .zip(&serials)
        .map(|(port, serial)| match (serial, &port.usb, &port.physical) {
            (Some(triple @ (vid, pid, serial)), _, _) if seen.get(triple) == Some(&1) => identity(
                format!("usb:{vid:04X}:{pid:04X}:{serial}"),
                IdentityBasis::UsbSerial,
            ),
            (_, Some(usb), Some(physical)) => identity(
                format!("usb:{:04X}:{:04X}@{physical}", usb.vid, usb.pid),
                IdentityBasis::UsbSocket,
            ),
            _ => identity(format!("port:{}", port.path.display()), IdentityBasis::Path),
        })
        .collect()
}

fn identity(key: String, basis: IdentityBasis) -> Identity {
    Identity {
        key,
        basis,
        firmware_uuid: None,
    }
}

/// The serial number cleaned to printable ASCII (whitespace becomes `_`), or `None` when it
/// cannot tell devices apart: empty, or a placeholder that clone chips ship with (`0`, `0001`,
/// all one character, `0123456789…`).
fn usable_serial(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .map(|c| if c == ' ' { '_' } else { c })
        .collect();
    let upper = cleaned.to_ascii_uppercase();
    let placeholder = cleaned.len() < 5
        || cleaned.chars().all(|c| cleaned.starts_with(c))
        || "0123456789ABCDEF".starts_with(&upper)
        || "123456789ABCDEF".starts_with(&upper);
    (!placeholder).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::port::UsbInfo;

    fn usb(path: &str, vid: u16, pid: u16, serial: Option<&str>, physical: &str) -> PortInfo {
        PortInfo {
            path: path.into(),
            usb: Some(UsbInfo {
                vid,
                pid,
                serial_number: serial.map(str::to_owned),
                manufacturer: None,
                product: None,
            }),
            physical: Some(physical.to_owned()),
            by_id: None,
            by_path: None,
        }
    }

    fn keys(ports: &[PortInfo]) -> Vec<String> {
        identities(ports).into_iter().map(|i| i.key).collect()
    }

    #[test]
    fn unique_serial_is_the_identity() {
        let ids = identities(&[usb(
            "/dev/ttyACM0",
            0x2C99,
            0x000D,
            Some("CZPX4123X004XK01234"),
            "1-1.2:1.0",
        )]);
        assert_eq!(ids[0].key, "usb:2C99:000D:CZPX4123X004XK01234");
        assert_eq!(ids[0].basis, IdentityBasis::UsbSerial);
        assert_eq!(ids[0].firmware_uuid, None);
    }

    #[test]
    fn serial_identity_ignores_the_socket_and_the_device_name() {
        let before = usb(
            "/dev/ttyACM0",
            0x2C99,
            0x000D,
            Some("CZPX4123X004XK01234"),
            "1-1.2:1.0",
        );
        let after = usb(
            "/dev/ttyACM3",
            0x2C99,
            0x000D,
            Some("CZPX4123X004XK01234"),
            "3-4:1.0",
        );
        assert_eq!(keys(&[before]), keys(&[after]));
    }

    #[test]
    fn shared_serial_falls_back_to_the_socket() {
        let ports = [
            usb(
                "/dev/ttyUSB0",
                0x0403,
                0x6001,
                Some("A10KD7TQ"),
                "1-1.2:1.0",
            ),
            usb(
                "/dev/ttyUSB1",
                0x0403,
                0x6001,
                Some("A10KD7TQ"),
                "1-1.3:1.0",
            ),
        ];
        assert_eq!(
            keys(&ports),
            ["usb:0403:6001@1-1.2:1.0", "usb:0403:6001@1-1.3:1.0"]
        );
        assert!(identities(&ports)
            .iter()
            .all(|i| i.basis == IdentityBasis::UsbSocket));
    }

    #[test]
    fn same_serial_under_different_usb_ids_is_still_unique() {
        let ports = [
            usb(
                "/dev/ttyUSB0",
                0x0403,
                0x6001,
                Some("A10KD7TQ"),
                "1-1.2:1.0",
            ),
            usb(
                "/dev/ttyACM0",
                0x2341,
                0x0042,
                Some("A10KD7TQ"),
                "1-1.3:1.0",
            ),
        ];
        assert_eq!(
            keys(&ports),
            ["usb:0403:6001:A10KD7TQ", "usb:2341:0042:A10KD7TQ"]
        );
    }

    #[test]
    fn placeholder_serials_are_never_identities() {
        for serial in [
            "0001",
            "0",
            "00000000",
            "FFFFFFFF",
            "0123456789ABCDEF",
            "123456789",
            "  ",
            "\u{1}\u{2}",
        ] {
            let ids = identities(&[usb(
                "/dev/ttyUSB0",
                0x1A86,
                0x7523,
                Some(serial),
                "1-1.2:1.0",
            )]);
            assert_eq!(ids[0].key, "usb:1A86:7523@1-1.2:1.0", "serial {serial:?}");
        }
    }

    #[test]
    fn serial_is_cleaned_to_printable_ascii() {
        let ids = identities(&[usb(
            "/dev/ttyACM0",
            0x0483,
            0x5740,
            Some(" 2050 3359\u{7f}4E31 "),
            "1-2:1.0",
        )]);
        assert_eq!(ids[0].key, "usb:0483:5740:2050_33594E31");
    }

    #[test]
    fn two_identical_ch340_boards_on_two_sockets_are_two_printers() {
        let ports = [
            usb("/dev/ttyUSB0", 0x1A86, 0x7523, None, "1-1.2:1.0"),
            usb("/dev/ttyUSB1", 0x1A86, 0x7523, None, "1-1.4:1.0"),
        ];
        let ids = keys(&ports);
        assert_ne!(ids[0], ids[1]);
        assert_eq!(ids, ["usb:1A86:7523@1-1.2:1.0", "usb:1A86:7523@1-1.4:1.0"]);
    }

    #[test]
    fn replug_into_the_same_socket_keeps_the_identity() {
        // Unplugging both and plugging them back in the other order swaps the device names,
        // not the identities.
        let first_boot = [
            usb("/dev/ttyUSB0", 0x1A86, 0x7523, None, "1-1.2:1.0"),
            usb("/dev/ttyUSB1", 0x1A86, 0x7523, None, "1-1.4:1.0"),
        ];
        let replugged = [
            usb("/dev/ttyUSB0", 0x1A86, 0x7523, None, "1-1.4:1.0"),
            usb("/dev/ttyUSB1", 0x1A86, 0x7523, None, "1-1.2:1.0"),
        ];
        let before = keys(&first_boot);
        let after = keys(&replugged);
        assert_eq!(before[0], after[1]);
        assert_eq!(before[1], after[0]);
    }

    #[test]
    fn ports_without_usb_are_named_by_their_path_as_given() {
        let ports = [
            PortInfo::bare("/tmp/gantry-sim-1"),
            PortInfo::bare("/dev/pts/7"),
            PortInfo {
                physical: None,
                ..usb("/dev/ttyUSB0", 0x1A86, 0x7523, None, "")
            },
        ];
        let ids = identities(&ports);
        assert_eq!(ids[0].key, "port:/tmp/gantry-sim-1");
        assert_eq!(ids[1].key, "port:/dev/pts/7");
        assert_eq!(ids[2].key, "port:/dev/ttyUSB0");
        assert!(ids.iter().all(|i| i.basis == IdentityBasis::Path));
    }

    #[test]
    fn firmware_uuid_is_recorded_unless_it_is_marlins_default() {
        let id = identities(&[PortInfo::bare("/dev/pts/7")]).remove(0);
        let with = id
            .clone()
            .with_firmware_uuid(Some("5a1e7c1d-0000-4000-8000-000000000000"));
        assert_eq!(
            with.firmware_uuid.as_deref(),
            Some("5a1e7c1d-0000-4000-8000-000000000000")
        );
        assert_eq!(with.key, id.key);
        let default = id
            .clone()
            .with_firmware_uuid(Some("00000000-0000-0000-0000-000000000000"));
        assert_eq!(default.firmware_uuid, None);
        assert_eq!(id.with_firmware_uuid(None).firmware_uuid, None);
    }
}
