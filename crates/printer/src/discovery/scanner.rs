//! The discovery loop's state: which ports are there, which printer each is, and who holds
//! them, turned into added/removed/busy events by comparing one scan with the last.
//!
//! A scan opens nothing: a port is only ever opened by [`probe`](super::probe) and only when
//! [`Candidate::may_open`] says so.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::holder::Holder;
use super::host::{Host, SystemHost};
use super::identity::{identities, Identity};
use super::port::PortInfo;
use super::profile::{lookup, Profile, DEFAULT_BAUDS};

/// A port that may hold a printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub port: PortInfo,
    pub identity: Identity,
    /// The profile its USB id matched; `None` for unknown devices and ports without USB.
    pub profile: Option<&'static Profile>,
    /// Another program holding the port open.
    pub busy: Option<Holder>,
    /// The user named this port (`--serial PATH`, *Add printer by port*).
    pub user_added: bool,
}

impl Candidate {
    /// Whether Gantry may open the port to probe it: a known printer id or a port the user
    /// added, and nobody else holding it.
    pub fn may_open(&self) -> bool {
        (self.profile.is_some() || self.user_added) && self.busy.is_none()
    }

    /// Baud rates to probe, in order.
    pub fn bauds(&self) -> &[u32] {
        self.profile.map_or(DEFAULT_BAUDS, |p| p.bauds.as_slice())
    }
}

/// What changed since the previous scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryEvent {
    /// A port appeared, or a known port changed what it is (its identity, profile or USB
    /// details), which is reported as `Removed` then `Added`.
    Added(Box<Candidate>),
    Removed {
        path: PathBuf,
        identity: Identity,
    },
    /// Another program took or released the port.
    BusyChanged {
        path: PathBuf,
        busy: Option<Holder>,
    },
}

/// Polls the ports (call [`Scanner::scan`] every ~2 s).
#[derive(Debug)]
pub struct Scanner<H: Host = SystemHost> {
    host: H,
    extra: Vec<PathBuf>,
    known: BTreeMap<PathBuf, Candidate>,
}

impl Scanner<SystemHost> {
    /// A scanner of this machine's ports plus `extra_paths` (ptys, `/dev/serial/by-path/…`),
    /// which are watched even when they match no profile.
    pub fn new(extra_paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        Scanner::with_host(SystemHost, extra_paths)
    }
}

impl<H: Host> Scanner<H> {
    pub fn with_host(host: H, extra_paths: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        let mut scanner = Scanner {
            host,
            extra: Vec::new(),
            known: BTreeMap::new(),
        };
        for path in extra_paths {
            scanner.add_path(path);
        }
        scanner
    }

    /// Watches one more user-given path from the next scan on.
    pub fn add_path(&mut self, path: impl Into<PathBuf>) {
        let path = path.into();
        if !self.extra.contains(&path) {
            self.extra.push(path);
        }
    }

    /// Stops treating `path` as user-added from the next scan on.
    pub fn remove_path(&mut self, path: &std::path::Path) {
        self.extra.retain(|p| p != path);
    }

    /// The candidates as of the last scan, by path.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.known.values()
    }

    /// Looks at the ports now and reports what changed: removals first, then additions, then
    /// busy changes, each sorted by path.
    pub fn scan(&mut self) -> Vec<DiscoveryEvent> {
        let current = self.current();
        let mut removed = Vec::new();
        let mut busy = Vec::new();
        for (path, old) in &self.known {
            match current.get(path) {
                Some(new) if same_port(old, new) => {
                    if old.busy != new.busy {
                        busy.push(DiscoveryEvent::BusyChanged {
                            path: path.clone(),
                            busy: new.busy.clone(),
                        });
                    }
                }
                _ => removed.push(DiscoveryEvent::Removed {
                    path: path.clone(),
                    identity: old.identity.clone(),
                }),
            }
        }
        let added = current
            .iter()
            .filter(|(path, new)| !self.known.get(*path).is_some_and(|old| same_port(old, new)))
            .map(|(_, new)| DiscoveryEvent::Added(Box::new(new.clone())));
        let events = removed.into_iter().chain(added).chain(busy).collect();
        self.known = current;
        events
    }

    fn current(&mut self) -> BTreeMap<PathBuf, Candidate> {
        let mut listed = self.host.list_ports();
        let mut ports: Vec<(PortInfo, bool)> = Vec::new();
        for extra in self.extra.clone() {
            let Some(device) = self.host.resolve(&extra) else {
                continue;
            };
            // A user-given link to a listed USB port is that port, opened by the given name.
            let same = listed.iter().position(|p| {
                p.path == device
                    || p.by_id.as_ref() == Some(&extra)
                    || p.by_path.as_ref() == Some(&extra)
            });
            let port = match same {
                Some(index) => PortInfo {
                    path: extra,
                    ..listed.remove(index)
                },
                None => PortInfo::bare(extra),
            };
            ports.push((port, true));
        }
        ports.extend(listed.into_iter().map(|p| (p, false)));
        let infos: Vec<PortInfo> = ports.iter().map(|(p, _)| p.clone()).collect();
        let ids = identities(&infos);
        let paths: Vec<PathBuf> = infos.iter().map(|p| p.path.clone()).collect();
        let mut holders = self.host.holders(&paths);
        ports
            .into_iter()
            .zip(ids)
            .map(|((port, user_added), identity)| {
                let profile = port.usb.as_ref().and_then(|u| lookup(u.vid, u.pid));
                let busy = holders.remove(&port.path);
                let candidate = Candidate {
                    port,
                    identity,
                    profile,
                    busy,
                    user_added,
                };
                (candidate.port.path.clone(), candidate)
            })
            .collect()
    }
}

/// Everything but the holder: a change there is a `BusyChanged`, not a new printer.
fn same_port(a: &Candidate, b: &Candidate) -> bool {
    a.port == b.port
        && a.identity == b.identity
        && a.profile == b.profile
        && a.user_added == b.user_added
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::discovery::identity::IdentityBasis;
    use crate::discovery::port::UsbInfo;

    #[derive(Default)]
    struct FakeHost {
        ports: Vec<PortInfo>,
        /// Paths that exist besides the listed ports, and where they lead.
        links: HashMap<PathBuf, PathBuf>,
        holders: BTreeMap<PathBuf, Holder>,
    }

    impl Host for FakeHost {
        fn list_ports(&mut self) -> Vec<PortInfo> {
            self.ports.clone()
        }
        fn resolve(&mut self, path: &Path) -> Option<PathBuf> {
            self.links.get(path).cloned()
        }
        fn holders(&mut self, paths: &[PathBuf]) -> BTreeMap<PathBuf, Holder> {
            self.holders
                .iter()
                .filter(|(p, _)| paths.contains(p))
                .map(|(p, h)| (p.clone(), h.clone()))
                .collect()
        }
    }

    fn usb(path: &str, vid: u16, pid: u16, serial: Option<&str>, physical: &str) -> PortInfo {
        PortInfo {
            path: path.into(),
            usb: Some(UsbInfo {
                vid,
                pid,
                serial_number: serial.map(str::to_owned),
                manufacturer: Some("QinHeng Electronics".into()),
                product: Some("USB Serial".into()),
            }),
            physical: Some(physical.to_owned()),
            by_id: None,
            by_path: Some(format!("/dev/serial/by-path/platform-usb-{physical}-port0").into()),
        }
    }

    fn scanner(ports: Vec<PortInfo>) -> Scanner<FakeHost> {
        Scanner::with_host(
            FakeHost {
                ports,
                ..FakeHost::default()
            },
            Vec::<PathBuf>::new(),
        )
    }

    fn added(events: &[DiscoveryEvent]) -> Vec<&Candidate> {
        events
            .iter()
            .filter_map(|e| match e {
                DiscoveryEvent::Added(c) => Some(&**c),
                _ => None,
            })
            .collect()
    }

    fn octoprint() -> Holder {
        Holder {
            pid: 812,
            name: "octoprint".into(),
        }
    }

    #[test]
    fn first_scan_adds_every_port_sorted_and_a_second_scan_is_quiet() {
        let mut scanner = scanner(vec![
            usb("/dev/ttyUSB1", 0x1A86, 0x7523, None, "1-1.4:1.0"),
            usb(
                "/dev/ttyACM0",
                0x2C99,
                0x000D,
                Some("CZPX4123X004XK01234"),
                "1-1.2:1.0",
            ),
        ]);
        let events = scanner.scan();
        let paths: Vec<_> = added(&events).iter().map(|c| c.port.path.clone()).collect();
        assert_eq!(
            paths,
            [PathBuf::from("/dev/ttyACM0"), PathBuf::from("/dev/ttyUSB1")]
        );
        let prusa = added(&events)[0];
        assert_eq!(prusa.identity.key, "usb:2C99:000D:CZPX4123X004XK01234");
        assert_eq!(
            prusa.profile.map(|p| p.name.as_str()),
            Some("Original Prusa MK4")
        );
        assert!(prusa.may_open());
        assert_eq!(prusa.bauds(), [115_200]);
        assert!(scanner.scan().is_empty());
        assert_eq!(scanner.candidates().count(), 2);
    }

    #[test]
    fn unplug_is_removed_and_replug_into_the_same_socket_is_the_same_printer() {
        let board = usb("/dev/ttyUSB0", 0x1A86, 0x7523, None, "1-1.2:1.0");
        let mut scanner = scanner(vec![board.clone()]);
        let first = scanner.scan();
        let key = added(&first)[0].identity.key.clone();
        assert_eq!(key, "usb:1A86:7523@1-1.2:1.0");

        scanner.host.ports.clear();
        assert_eq!(
            scanner.scan(),
            [DiscoveryEvent::Removed {
                path: "/dev/ttyUSB0".into(),
                identity: added(&first)[0].identity.clone(),
            }]
        );

        // The kernel may hand out another name on replug; the socket is the same.
        scanner.host.ports = vec![PortInfo {
            path: "/dev/ttyUSB3".into(),
            ..board
        }];
        let again = scanner.scan();
        assert_eq!(added(&again).len(), 1);
        assert_eq!(added(&again)[0].identity.key, key);
    }

    #[test]
    fn busy_changes_are_reported_without_re_adding_the_port() {
        let mut scanner = scanner(vec![usb("/dev/ttyUSB0", 0x1A86, 0x7523, None, "1-1.2:1.0")]);
        scanner.scan();
        scanner
            .host
            .holders
            .insert("/dev/ttyUSB0".into(), octoprint());
        assert_eq!(
            scanner.scan(),
            [DiscoveryEvent::BusyChanged {
                path: "/dev/ttyUSB0".into(),
                busy: Some(octoprint()),
            }]
        );
        let candidate = scanner.candidates().next().unwrap();
        assert!(!candidate.may_open());
        assert_eq!(
            candidate.busy.as_ref().unwrap().to_string(),
            "held by octoprint (pid 812)"
        );
        assert!(scanner.scan().is_empty());
        scanner.host.holders.clear();
        assert_eq!(
            scanner.scan(),
            [DiscoveryEvent::BusyChanged {
                path: "/dev/ttyUSB0".into(),
                busy: None,
            }]
        );
        assert!(scanner.candidates().next().unwrap().may_open());
    }

    #[test]
    fn a_port_that_is_busy_when_first_seen_is_added_busy() {
        let mut scanner = scanner(vec![usb(
            "/dev/ttyACM0",
            0x2341,
            0x0042,
            Some("75833353934351B0E1A1"),
            "1-1:1.0",
        )]);
        scanner
            .host
            .holders
            .insert("/dev/ttyACM0".into(), octoprint());
        let events = scanner.scan();
        assert_eq!(added(&events)[0].busy, Some(octoprint()));
        assert!(!added(&events)[0].may_open());
    }

    #[test]
    fn unknown_usb_devices_are_reported_but_may_not_be_opened() {
        let mut scanner = scanner(vec![usb("/dev/ttyUSB0", 0x067B, 0x2303, None, "1-1.2:1.0")]);
        let events = scanner.scan();
        let candidate = added(&events)[0];
        assert_eq!(candidate.profile, None);
        assert!(!candidate.user_added);
        assert!(!candidate.may_open());
    }

    #[test]
    fn user_added_pty_comes_and_goes_with_its_path() {
        let mut scanner = scanner(Vec::new());
        scanner.add_path("/tmp/sim-a");
        assert!(scanner.scan().is_empty(), "nothing is there yet");

        scanner
            .host
            .links
            .insert("/tmp/sim-a".into(), "/dev/pts/4".into());
        let events = scanner.scan();
        let candidate = added(&events)[0];
        assert_eq!(candidate.port, PortInfo::bare("/tmp/sim-a"));
        assert_eq!(candidate.identity.key, "port:/tmp/sim-a");
        assert_eq!(candidate.identity.basis, IdentityBasis::Path);
        assert!(candidate.user_added);
        assert!(candidate.may_open(), "the user may open what they added");
        assert_eq!(candidate.bauds(), DEFAULT_BAUDS);

        // The simulator re-plugged: the link now leads to another pty, the printer is the same.
        scanner
            .host
            .links
            .insert("/tmp/sim-a".into(), "/dev/pts/9".into());
        assert!(scanner.scan().is_empty());

        scanner.host.links.clear();
        assert!(
            matches!(&scanner.scan()[..], [DiscoveryEvent::Removed { path, .. }] if path == Path::new("/tmp/sim-a"))
        );
    }

    #[test]
    fn a_user_added_link_to_a_usb_port_is_that_port_by_the_given_name() {
        let board = usb("/dev/ttyUSB0", 0x067B, 0x2303, None, "1-1.2:1.0");
        let link = PathBuf::from("/dev/serial/by-path/platform-usb-1-1.2:1.0-port0");
        let mut scanner = scanner(vec![board]);
        scanner
            .host
            .links
            .insert(link.clone(), "/dev/ttyUSB0".into());
        scanner.add_path(&link);
        let events = scanner.scan();
        assert_eq!(events.len(), 1, "{events:?}");
        let candidate = added(&events)[0];
        assert_eq!(candidate.port.path, link);
        assert_eq!(candidate.identity.key, "usb:067B:2303@1-1.2:1.0");
        assert!(candidate.user_added);
        assert!(candidate.may_open(), "unknown id, but the user added it");
    }

    #[test]
    fn two_identical_clones_are_two_candidates() {
        let mut scanner = scanner(vec![
            usb("/dev/ttyUSB0", 0x1A86, 0x7523, None, "1-1.2:1.0"),
            usb("/dev/ttyUSB1", 0x1A86, 0x7523, None, "1-1.3:1.0"),
        ]);
        let events = scanner.scan();
        let keys: Vec<_> = added(&events)
            .iter()
            .map(|c| c.identity.key.clone())
            .collect();
        assert_eq!(keys, ["usb:1A86:7523@1-1.2:1.0", "usb:1A86:7523@1-1.3:1.0"]);
    }

    #[test]
    fn a_second_device_with_the_same_serial_re_identifies_the_first() {
        let first = usb(
            "/dev/ttyUSB0",
            0x0403,
            0x6001,
            Some("A10KD7TQ"),
            "1-1.2:1.0",
        );
        let mut scanner = scanner(vec![first.clone()]);
        let events = scanner.scan();
        assert_eq!(added(&events)[0].identity.key, "usb:0403:6001:A10KD7TQ");

        scanner.host.ports.push(usb(
            "/dev/ttyUSB1",
            0x0403,
            0x6001,
            Some("A10KD7TQ"),
            "1-1.3:1.0",
        ));
        let events = scanner.scan();
        assert!(
            matches!(&events[0], DiscoveryEvent::Removed { identity, .. } if identity.key == "usb:0403:6001:A10KD7TQ")
        );
        let keys: Vec<_> = added(&events)
            .iter()
            .map(|c| c.identity.key.clone())
            .collect();
        assert_eq!(keys, ["usb:0403:6001@1-1.2:1.0", "usb:0403:6001@1-1.3:1.0"]);
    }
}
