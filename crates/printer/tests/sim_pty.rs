//! The simulated printer over a real pty, opened with `serialport` exactly as the driver opens
//! a USB printer.

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use printer::sim::line::frame;
use printer::sim::{SimConfig, SimPrinter};
use serialport::SerialPort;

/// Upper bound on waiting for an answer; a safety net against hanging, not a speed check.
const PATIENCE: Duration = Duration::from_secs(10);

struct Client {
    port: Box<dyn SerialPort>,
    reader: BufReader<Box<dyn SerialPort>>,
}

impl Client {
    fn open(path: &std::path::Path) -> Client {
        let port = serialport::new(path.to_string_lossy(), 115_200)
            .timeout(Duration::from_millis(50))
            .open()
            .expect("open the simulated printer like a serial port");
        let reader = BufReader::new(port.try_clone().expect("clone port"));
        Client { port, reader }
    }

    fn send(&mut self, line: &str) {
        self.port.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    /// Reads lines until one satisfies `done`; returns all lines read.
    fn until(&mut self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let give_up = Instant::now() + PATIENCE;
        let mut lines = Vec::new();
        let mut line = String::new();
        while Instant::now() < give_up {
            match self.reader.read_line(&mut line) {
                Ok(0) => {}
                Ok(_) if line.ends_with('\n') => {
                    let got = line.trim_end().to_owned();
                    line.clear();
                    let finished = done(&got);
                    lines.push(got);
                    if finished {
                        return lines;
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("read failed: {e}; lines so far: {lines:?}"),
            }
        }
        panic!("gave up waiting; lines so far: {lines:?}");
    }

    fn until_ok(&mut self) -> Vec<String> {
        self.until(|l| l.starts_with("ok"))
    }
}

#[test]
fn boots_identifies_and_answers_numbered_lines() {
    let sim = SimPrinter::spawn(SimConfig {
        name: "Pty Test".into(),
        uuid: "11111111-2222-4333-8444-555555555555".into(),
        ..SimConfig::default()
    })
    .unwrap();
    let mut client = Client::open(sim.path());
    client.until(|l| l == "start");

    client.send(&frame(0, "M110 N0"));
    assert_eq!(client.until_ok().last().unwrap(), "ok N0 P16 B3");

    client.send(&frame(1, "M115"));
    let report = client.until_ok();
    assert!(report[0].starts_with("FIRMWARE_NAME:Marlin"));
    assert!(report[0].contains("MACHINE_TYPE:Pty Test"));
    assert!(report[0].contains("UUID:11111111-2222-4333-8444-555555555555"));
    assert!(report.iter().any(|l| l == "Cap:AUTOREPORT_TEMP:1"));
    assert!(report.iter().any(|l| l == "Cap:EMERGENCY_PARSER:1"));

    client.send(&frame(2, "M105"));
    let temps = client.until_ok();
    assert!(temps.last().unwrap().starts_with("ok T:"), "{temps:?}");

    // A corrupted checksum is answered with Marlin's error, a resend request and ok.
    client.send("N3 G1 X10*0");
    let answer = client.until_ok();
    assert_eq!(
        answer,
        ["Error:checksum mismatch, Last Line: 2", "Resend: 3", "ok"]
    );
    client.send(&frame(3, "G1 X10"));
    assert_eq!(client.until_ok().last().unwrap(), "ok N3 P15 B3");

    assert_eq!(sim.accepted_lines(), ["M110 N0", "M115", "M105", "G1 X10"]);
}

#[test]
fn temperatures_move_and_autoreport() {
    let sim = SimPrinter::spawn(SimConfig {
        heat_rate: 5.0,
        ..SimConfig::default()
    })
    .unwrap();
    let mut client = Client::open(sim.path());
    client.send("M104 S200");
    client.until_ok();
    client.send("M155 S1");
    client.until_ok();
    // Autoreport lines carry no ok; the hotend climbs towards its target.
    let lines = client.until(|l| {
        l.strip_prefix(" T:")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|t| t.parse::<f64>().ok())
            .is_some_and(|t| t > 100.0)
    });
    assert!(lines.last().unwrap().contains("/200.00"));
}

#[test]
fn disconnect_fails_reads_and_reconnect_updates_the_link() {
    let dir = std::env::temp_dir().join(format!("gantry-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("printer-0");
    let sim = SimPrinter::spawn(SimConfig {
        link: Some(link.clone()),
        ..SimConfig::default()
    })
    .unwrap();
    assert_eq!(sim.path(), link);
    assert_eq!(std::fs::read_link(&link).unwrap(), sim.current_path());

    let mut client = Client::open(sim.path());
    client.until(|l| l == "start");
    sim.faults().disconnect();
    let give_up = Instant::now() + PATIENCE;
    let mut buf = [0u8; 64];
    let error = loop {
        match client.port.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Ok(n) if n > 0 => {}
            Ok(_) => break std::io::Error::other("end of file"),
            Err(e) => break e,
        }
        assert!(Instant::now() < give_up, "reads never failed");
    };
    assert_ne!(error.kind(), std::io::ErrorKind::TimedOut);
    drop(client);

    sim.faults().reconnect();
    let give_up = Instant::now() + PATIENCE;
    while sim.connections() < 2 {
        assert!(Instant::now() < give_up, "link never came back");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(std::fs::read_link(&link).unwrap(), sim.current_path());
    let mut client = Client::open(&link);
    client.until(|l| l == "start");
    client.send("M105");
    client.until_ok();
    drop(sim);
    assert!(!link.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ping-pong streaming with resends, as the simplest driver would do it.
fn stream(client: &mut Client, commands: &[String]) -> usize {
    client.send(&frame(0, "M110 N0"));
    client.until_ok();
    let mut next = 1;
    let mut resends = 0;
    while next <= commands.len() {
        client.send(&frame(next as u32, &commands[next - 1]));
        let answer = client.until_ok();
        match answer.iter().find_map(|l| l.strip_prefix("Resend: ")) {
            Some(n) => {
                resends += 1;
                next = n.parse().unwrap();
            }
            None => next += 1,
        }
    }
    resends
}

#[test]
fn corrupted_lines_are_resent_and_accepted_once_in_order() {
    let sim = SimPrinter::spawn(SimConfig {
        baud: None,
        command_latency: Duration::ZERO,
        planner_drain: Duration::ZERO,
        corrupt_rate: 0.1,
        seed: 42,
        ..SimConfig::default()
    })
    .unwrap();
    let mut client = Client::open(sim.path());
    let commands: Vec<String> = (0..300)
        .map(|i| format!("G1 X{} Y{}", i % 200, i % 150))
        .collect();
    let resends = stream(&mut client, &commands);
    assert!(resends > 10, "only {resends} resends");
    let mut expected = vec!["M110 N0".to_owned()];
    expected.extend(commands);
    assert_eq!(sim.accepted_lines(), expected);
}

#[test]
fn windowed_sending_uses_the_reported_buffer() {
    let sim = SimPrinter::spawn(SimConfig {
        baud: None,
        command_latency: Duration::from_micros(200),
        planner_drain: Duration::ZERO,
        rx_buffer_lines: 8,
        ..SimConfig::default()
    })
    .unwrap();
    let mut client = Client::open(sim.path());
    client.send(&frame(0, "M110 N0"));
    let hello = client.until_ok();
    let free: usize = hello
        .last()
        .unwrap()
        .rsplit_once(" B")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert_eq!(free, 7);
    // Keep as many lines in flight as the firmware says it has room for.
    let total = 200;
    let (mut sent, mut acked) = (0, 0);
    while acked < total {
        while sent < total && sent - acked < free {
            sent += 1;
            client.send(&frame(sent as u32, "M117 windowed"));
        }
        for line in client.until_ok() {
            assert!(
                !line.starts_with("Error") && !line.starts_with("Resend"),
                "{line}"
            );
            if line.starts_with("ok") {
                acked += 1;
            }
        }
    }
    assert_eq!(sim.accepted_lines().len(), total + 1);
}

#[test]
fn paced_link_is_no_faster_than_its_baud() {
    let sim = SimPrinter::spawn(SimConfig {
        baud: Some(19_200),
        command_latency: Duration::ZERO,
        ..SimConfig::default()
    })
    .unwrap();
    let mut client = Client::open(sim.path());
    client.until(|l| l == "start");
    let began = Instant::now();
    client.send("M115");
    let report = client.until_ok();
    let bytes: usize = report.iter().map(|l| l.len() + 1).sum::<usize>() + "M115\n".len();
    // A lower bound only: pacing can make the answer late, never early.
    let floor = Duration::from_secs_f64(bytes as f64 / 1920.0 * 0.9);
    assert!(
        began.elapsed() >= floor,
        "{bytes} bytes in {:?}",
        began.elapsed()
    );
}

#[test]
fn emergency_stop_and_faults_over_the_pty() {
    let sim = SimPrinter::spawn(SimConfig {
        command_latency: Duration::ZERO,
        ..SimConfig::default()
    })
    .unwrap();
    let mut client = Client::open(sim.path());
    client.until(|l| l == "start");

    sim.faults().busy_for(Duration::from_millis(1200));
    client.send("M105");
    let answer = client.until_ok();
    assert!(
        answer.iter().any(|l| l == "echo:busy: processing"),
        "{answer:?}"
    );
    assert!(answer.last().unwrap().starts_with("ok T:"));

    sim.faults().set_advanced_ok(false);
    client.send(&frame(1, "M117 x"));
    assert_eq!(client.until_ok(), ["ok"]);

    sim.faults().set_resend_every(Some(1));
    client.send(&frame(2, "M117 y"));
    assert_eq!(
        client.until_ok(),
        ["Error:checksum mismatch, Last Line: 1", "Resend: 2", "ok"]
    );
    sim.faults().set_resend_every(None);

    client.send("M109 S300");
    client.until(|l| l.ends_with("W:?"));
    client.send("M112");
    client.until(|l| l == "Error:Printer halted. kill() called!");
    sim.faults().reset();
    client.until(|l| l == "start");
    client.send("M105");
    assert!(client.until_ok().last().unwrap().starts_with("ok T:"));
}
