//! Discovery over real ptys: the simulated printer is found and identified, a port another
//! program holds is reported busy and left alone, a silent port gives no answer.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use printer::discovery::{
    list_ports, port_holder, probe, DiscoveryEvent, Holder, IdentityBasis, ProbeError, Scanner,
};
use printer::sim::{SimConfig, SimPrinter};

/// Budget per baud rate: a safety net for a loaded machine, not a speed check.
const PATIENCE: Duration = Duration::from_secs(10);

fn sim(name: &str, uuid: &str) -> SimPrinter {
    SimPrinter::spawn(SimConfig {
        name: name.into(),
        uuid: uuid.into(),
        ..SimConfig::default()
    })
    .expect("spawn the simulated printer")
}

/// A file name nobody else uses, for a simulator's stable link.
fn scratch_link(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gantry-discovery-{}-{tag}", std::process::id()))
}

/// Opens the port the way any program would, without making it our controlling terminal.
fn open_port(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .expect("open the pty")
}

/// Another program holding the port: `sleep` with the port as its stdin.
struct OtherProgram(Child);

impl OtherProgram {
    fn holding(path: &Path) -> OtherProgram {
        let port = open_port(path);
        let child = Command::new("sleep")
            .arg("60")
            .stdin(Stdio::from(port))
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        OtherProgram(child)
    }

    fn holder(&self) -> Holder {
        Holder {
            pid: self.0.id(),
            name: "sleep".into(),
        }
    }

    fn still_running(&mut self) -> bool {
        self.0.try_wait().expect("wait on sleep").is_none()
    }
}

impl Drop for OtherProgram {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn probe_finds_the_simulator_and_its_uuid() {
    let uuid = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
    let printer = sim("Probe Target", uuid);
    let found = probe(printer.path(), &[115_200], PATIENCE).expect("the simulator answers");
    assert_eq!(found.baud, 115_200);
    assert_eq!(found.firmware.uuid.as_deref(), Some(uuid));
    assert_eq!(found.firmware.machine_type.as_deref(), Some("Probe Target"));
    assert!(found
        .firmware
        .name
        .as_deref()
        .is_some_and(|n| n.starts_with("Marlin")));
    // What the busy tests rely on: a probe that talks leaves its commands in the record.
    assert!(
        printer
            .accepted_lines()
            .iter()
            .any(|l| l.starts_with("M115")),
        "{:?}",
        printer.accepted_lines()
    );

    // The probe closed the port: it can be opened (and probed) again at once.
    let again = probe(printer.path(), &[250_000, 115_200], PATIENCE).expect("probe again");
    assert_eq!(
        again.baud, 250_000,
        "a pty answers at any rate, so the first one wins"
    );
    assert_eq!(again.firmware.uuid.as_deref(), Some(uuid));
}

#[test]
fn a_port_another_process_holds_is_busy_and_left_untouched() {
    let printer = sim("Held Printer", "11111111-2222-4333-8444-555555555555");
    let mut other = OtherProgram::holding(printer.path());

    assert_eq!(port_holder(printer.path()), Some(other.holder()));
    match probe(printer.path(), &[115_200, 250_000], PATIENCE) {
        Err(ProbeError::Busy { holder, .. }) => assert_eq!(holder, Some(other.holder())),
        other => panic!("expected Busy, got {other:?}"),
    }
    let message = probe(printer.path(), &[115_200], PATIENCE)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains(&format!("held by sleep (pid {})", other.holder().pid)),
        "{message}"
    );

    assert!(other.still_running());
    assert!(
        printer.accepted_lines().is_empty(),
        "the probe wrote to a held port: {:?}",
        printer.accepted_lines()
    );
}

#[test]
fn a_port_locked_by_another_opener_is_busy_and_left_untouched() {
    // A second opener in this very process (which /proc cannot tell apart from us) holding
    // the exclusive lock, as serialport, pyserial's `exclusive` and Gantry's driver take it.
    let printer = sim("Locked Printer", "22222222-2222-4333-8444-555555555555");
    let holder = serialport::new(printer.path().to_string_lossy(), 115_200)
        .exclusive(true)
        .open()
        .expect("first opener takes the port");

    match probe(printer.path(), &[115_200], PATIENCE) {
        Err(ProbeError::Busy { holder, .. }) => assert_eq!(holder, None),
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(
        printer.accepted_lines().is_empty(),
        "the probe wrote to a locked port"
    );

    drop(holder);
    let found =
        probe(printer.path(), &[115_200], PATIENCE).expect("free again after the holder closes");
    assert_eq!(
        found.firmware.uuid.as_deref(),
        Some("22222222-2222-4333-8444-555555555555")
    );
}

#[test]
fn a_silent_port_gives_no_answer_after_trying_every_rate() {
    let printer = sim("Hung Printer", "33333333-2222-4333-8444-555555555555");
    printer.faults().set_silent(true);
    match probe(
        printer.path(),
        &[115_200, 250_000],
        Duration::from_millis(300),
    ) {
        Err(ProbeError::NoAnswer { tried, path }) => {
            assert_eq!(tried, [115_200, 250_000]);
            assert_eq!(path, printer.path());
        }
        other => panic!("expected NoAnswer, got {other:?}"),
    }
}

#[test]
fn scanner_watches_a_user_added_pty_by_its_stable_link() {
    let link = scratch_link("scan");
    let printer = SimPrinter::spawn(SimConfig {
        link: Some(link.clone()),
        ..SimConfig::default()
    })
    .expect("spawn the simulated printer");
    let mut scanner = Scanner::new([&link]);

    let events = scanner.scan();
    let candidate = events
        .iter()
        .find_map(|e| match e {
            DiscoveryEvent::Added(c) if c.port.path == link => Some((**c).clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the pty was not added: {events:?}"));
    assert_eq!(candidate.identity.key, format!("port:{}", link.display()));
    assert_eq!(candidate.identity.basis, IdentityBasis::Path);
    assert!(candidate.user_added);
    assert!(candidate.may_open());
    assert!(!scanner
        .scan()
        .iter()
        .any(|e| matches!(e, DiscoveryEvent::Added(c) if c.port.path == link)));

    // Another program takes it: busy, named; it lets go: free.
    let other = OtherProgram::holding(&link);
    let events = scanner.scan();
    assert!(
        events.contains(&DiscoveryEvent::BusyChanged {
            path: link.clone(),
            busy: Some(other.holder()),
        }),
        "{events:?}"
    );
    drop(other);
    let events = scanner.scan();
    assert!(
        events.contains(&DiscoveryEvent::BusyChanged {
            path: link.clone(),
            busy: None,
        }),
        "{events:?}"
    );

    // The cable is pulled: the link disappears, and so does the candidate.
    printer.faults().disconnect();
    drop(printer);
    let events = scanner.scan();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DiscoveryEvent::Removed { path, .. } if *path == link)),
        "{events:?}"
    );
}

#[test]
fn this_machines_port_listing_is_sorted_and_consistent() {
    // Whatever this machine has (often nothing): every entry is a device path, listed once,
    // and only USB ports carry a socket.
    let ports = list_ports();
    assert!(ports.windows(2).all(|w| w[0].path < w[1].path), "{ports:?}");
    for port in &ports {
        assert!(port.path.is_absolute(), "{port:?}");
        assert!(port.usb.is_some() || port.physical.is_none(), "{port:?}");
    }
}
