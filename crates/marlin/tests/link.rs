//! Scripted conversations with the link: what it writes, what it reports.

use std::time::{Duration, Instant};

use marlin::{
    frame, Config, Event, FirmwareInfo, Heater, Link, LinkError, LinkState, Temperatures,
};

struct Host {
    link: Link,
    now: Instant,
    events: Vec<Event>,
}

impl Host {
    fn new(config: Config) -> Host {
        let now = Instant::now();
        Host {
            link: Link::new(config, now),
            now,
            events: vec![],
        }
    }

    /// Everything the link wants to write now, as lines without `\n`.
    fn sent(&mut self) -> Vec<String> {
        let mut out = vec![];
        while let Some(bytes) = self.link.poll_transmit(self.now) {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.ends_with('\n'), "{text:?}");
            out.extend(text.lines().map(str::to_string));
        }
        self.drain();
        out
    }

    fn recv(&mut self, text: &str) {
        self.link.handle_input(text.as_bytes(), self.now);
        self.drain();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        if self.link.poll_timeout().is_some_and(|t| t <= self.now) {
            self.link.handle_timeout(self.now);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(e) = self.link.poll_event() {
            if !matches!(e, Event::Log { .. }) {
                self.events.push(e);
            }
        }
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn acked_tags(&mut self) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::JobLineAcked { tag } => Some(*tag),
                _ => None,
            })
            .collect()
    }
}

fn f(n: u32, cmd: &str) -> String {
    frame(n, cmd).trim_end().to_string()
}

const FIRMWARE: &str = "FIRMWARE_NAME:Marlin 2.1.2 (Jan 1 2024) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Test EXTRUDER_COUNT:1 UUID:1234-abcd\n";

/// Handshake with a firmware reporting these capabilities; returns with the link Ready and
/// the post-connect setup line (M155 or the first M105) answered.
fn connected(config: Config, caps: &str) -> Host {
    let mut h = Host::new(config);
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(1, "M115")]);
    h.recv(FIRMWARE);
    h.recv(caps);
    h.recv("ok\n");
    assert_eq!(h.link.state(), LinkState::Ready);
    let setup = h.sent();
    assert_eq!(setup.len(), 1, "{setup:?}");
    h.recv("ok\n");
    h.take_events();
    h
}

fn autoreport() -> Host {
    connected(
        Config::default(),
        "Cap:AUTOREPORT_TEMP:1\nCap:EMERGENCY_PARSER:1\n",
    )
}

#[test]
fn handshake_with_autoreport() {
    let mut h = Host::new(Config::default());
    assert_eq!(h.link.state(), LinkState::Connecting);
    assert_eq!(h.sent(), ["N0 M110 N0*125"]);
    assert_eq!(h.sent(), Vec::<String>::new(), "one hello at a time");
    h.recv("ok\n");
    assert_eq!(h.sent(), ["N1 M115*39"]);
    h.recv(FIRMWARE);
    h.recv("Cap:AUTOREPORT_TEMP:1\nCap:EEPROM:0\n");
    assert_eq!(h.link.state(), LinkState::Connecting);
    h.recv("ok\n");
    assert_eq!(h.link.state(), LinkState::Ready);
    let info = FirmwareInfo {
        name: Some("Marlin 2.1.2 (Jan 1 2024)".into()),
        uuid: Some("1234-abcd".into()),
        machine_type: Some("Test".into()),
        extruder_count: Some(1),
        fields: vec![
            ("FIRMWARE_NAME".into(), "Marlin 2.1.2 (Jan 1 2024)".into()),
            (
                "SOURCE_CODE_URL".into(),
                "github.com/MarlinFirmware/Marlin".into(),
            ),
            ("PROTOCOL_VERSION".into(), "1.0".into()),
            ("MACHINE_TYPE".into(), "Test".into()),
            ("EXTRUDER_COUNT".into(), "1".into()),
            ("UUID".into(), "1234-abcd".into()),
        ],
        capabilities: vec![("AUTOREPORT_TEMP".into(), true), ("EEPROM".into(), false)],
    };
    assert_eq!(h.take_events(), [Event::Connected(info.clone())]);
    assert_eq!(h.link.firmware(), Some(&info));
    assert_eq!(h.sent(), [f(2, "M155 S1")]);
    h.recv("ok\n");
    // Autoreported temperatures become events; no M105 poll goes out.
    h.recv("T:20.50 /0.00 B:21.00 /0.00 @:0 B@:0\n");
    assert_eq!(
        h.take_events(),
        [Event::Temperatures(Temperatures {
            tools: vec![Heater {
                actual: 20.5,
                target: Some(0.0)
            }],
            bed: Some(Heater {
                actual: 21.0,
                target: Some(0.0)
            }),
            chamber: None
        })]
    );
    h.advance(Duration::from_secs(5));
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn handshake_logs_every_line() {
    let now = Instant::now();
    let mut link = Link::new(Config::default(), now);
    link.poll_transmit(now).unwrap();
    link.handle_input(b"ok\r\n", now);
    let logs: Vec<Event> = std::iter::from_fn(|| link.poll_event()).collect();
    assert_eq!(
        logs,
        [
            Event::Log {
                direction: marlin::Direction::Sent,
                line: "N0 M110 N0*125".into()
            },
            Event::Log {
                direction: marlin::Direction::Received,
                line: "ok".into()
            },
        ]
    );
}

#[test]
fn handshake_without_autoreport_polls_m105() {
    let mut h = Host::new(Config::default());
    h.sent();
    h.recv("ok\n");
    h.sent();
    h.recv(FIRMWARE);
    h.recv("Cap:AUTOREPORT_TEMP:0\nok\n");
    assert_eq!(h.link.state(), LinkState::Ready);
    assert_eq!(h.sent(), [f(2, "M105")], "the first poll goes out at once");
    // Never more than one poll outstanding.
    h.advance(Duration::from_secs(3));
    assert_eq!(h.sent(), Vec::<String>::new());
    h.take_events();
    h.recv("ok T:25.0 /0.0 B:24.0 /0.0 @:0 B@:0\n");
    assert_eq!(
        h.take_events(),
        [Event::Temperatures(Temperatures {
            tools: vec![Heater {
                actual: 25.0,
                target: Some(0.0)
            }],
            bed: Some(Heater {
                actual: 24.0,
                target: Some(0.0)
            }),
            chamber: None
        })]
    );
    // The interval counts from the previous poll, which is already 3 s old.
    assert_eq!(h.sent(), [f(3, "M105")]);
    h.recv("ok T:25.0 /0.0 B:24.0 /0.0\n");
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.link.poll_timeout(), Some(h.now + Duration::from_secs(1)));
    h.advance(Duration::from_millis(999));
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.sent(), [f(4, "M105")]);
}

#[test]
fn hello_is_retried_then_the_link_dies() {
    let config = Config {
        connect_timeout: Duration::from_secs(2),
        hello_retries: 2,
        ..Config::default()
    };
    let mut h = Host::new(config);
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    assert_eq!(h.link.poll_timeout(), Some(h.now + Duration::from_secs(2)));
    h.advance(Duration::from_secs(2));
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.link.state(), LinkState::Dead);
    assert!(matches!(
        h.take_events().as_slice(),
        [Event::LinkDead { .. }]
    ));
    assert_eq!(h.link.poll_timeout(), None);
    assert_eq!(h.link.enqueue_command("M105"), Err(LinkError::Dead));
}

#[test]
fn start_banner_triggers_a_new_hello() {
    let mut h = Host::new(Config::default());
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    // The board reset when the port opened and ate the first hello.
    h.recv("start\necho:Marlin 2.1.2\nSD card ok\n");
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(1, "M115")]);
    assert!(
        h.take_events().is_empty(),
        "no Reset before the first connection"
    );
}

#[test]
fn wait_answers_the_hello() {
    let mut h = Host::new(Config::default());
    h.sent();
    h.recv("wait\n");
    assert_eq!(h.sent(), [f(1, "M115")]);
}

#[test]
fn input_in_any_chunking_with_garbage() {
    let mut h = Host::new(Config::default());
    h.sent();
    for b in b"\xff\xfe\x00garbage\r\no".iter().chain(b"k\r\n") {
        h.link.handle_input(&[*b], h.now);
    }
    assert_eq!(h.sent(), [f(1, "M115")]);
    h.link.handle_input(FIRMWARE.as_bytes(), h.now);
    h.link.handle_input(b"Cap:AUTOREPORT_TEMP:1\n", h.now);
    // A garbled line before an `ok` could have been a rejection: the `ok` proves nothing, so
    // the link probes with the same line, which the firmware rejects as a duplicate.
    h.link.handle_input(&[0xc3, 0x28, b'\n'], h.now);
    h.link.handle_input(b"ok\n", h.now);
    assert_eq!(h.sent(), [f(1, "M115")]);
    h.link.handle_input(
        b"Error:Line Number is not Last Line Number+1, Last Line: 1\nResend: 2\nok\nT:1",
        h.now,
    );
    h.drain();
    assert_eq!(h.link.state(), LinkState::Ready);
    assert!(h.link.firmware().unwrap().has_capability("AUTOREPORT_TEMP"));
    h.take_events();
    h.link.handle_input(b"0.0 /0.0\n", h.now);
    h.drain();
    assert_eq!(
        h.take_events(),
        [Event::Temperatures(Temperatures {
            tools: vec![Heater {
                actual: 10.0,
                target: Some(0.0)
            }],
            ..Default::default()
        })]
    );
}

#[test]
fn commands_are_refused_until_ready() {
    let mut h = Host::new(Config::default());
    assert_eq!(h.link.enqueue_command("G28"), Err(LinkError::NotReady));
    assert_eq!(h.link.push_job_line("G1 X1", 1), Err(LinkError::NotReady));
    assert!(!h.link.wants_job_line());
    let mut h = autoreport();
    assert_eq!(
        h.link.enqueue_command("G1 X1\nG1 X2"),
        Err(LinkError::Newline)
    );
    assert_eq!(
        h.link.enqueue_command("  ; only a comment"),
        Err(LinkError::Empty)
    );
    assert_eq!(h.link.enqueue_command("M117 a*b"), Err(LinkError::Asterisk));
    assert!(h.link.wants_job_line());
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn manual_command_with_response_lines() {
    let mut h = autoreport();
    h.link.enqueue_command("M114 ; where am I").unwrap();
    assert_eq!(h.sent(), [f(3, "M114")]);
    h.recv("X:10.00 Y:20.00 Z:0.30 E:1.00 Count X:800 Y:1600 Z:240\n");
    // An autoreport line in between is not part of the answer.
    h.recv("T:20.0 /0.0 B:20.0 /0.0 @:0 B@:0\n");
    h.recv("ok\n");
    let events = h.take_events();
    assert_eq!(
        events[0],
        Event::Position(marlin::Position {
            x: 10.0,
            y: 20.0,
            z: 0.3,
            e: Some(1.0)
        })
    );
    assert!(matches!(events[1], Event::Temperatures(_)));
    assert_eq!(
        events[2],
        Event::CommandAcked {
            command: "M114".into(),
            response: vec!["X:10.00 Y:20.00 Z:0.30 E:1.00 Count X:800 Y:1600 Z:240".into()]
        }
    );
    assert_eq!(events.len(), 3);
}

#[test]
fn manual_m105_answer_is_in_the_ok_line() {
    let mut h = autoreport();
    h.link.enqueue_command("M105").unwrap();
    assert_eq!(h.sent(), [f(3, "M105")]);
    h.recv("ok T:200.0 /200.0 B:60.0 /60.0 @:0 B@:0\n");
    let events = h.take_events();
    assert!(matches!(events[0], Event::Temperatures(_)));
    assert_eq!(
        events[1],
        Event::CommandAcked {
            command: "M105".into(),
            response: vec!["ok T:200.0 /200.0 B:60.0 /60.0 @:0 B@:0".into()]
        }
    );
}

#[test]
fn unknown_command_is_acknowledged_with_its_echo() {
    let mut h = autoreport();
    h.link.enqueue_command("G999").unwrap();
    h.sent();
    h.recv("echo:Unknown command: \"G999\"\nok\n");
    assert_eq!(
        h.take_events(),
        [Event::CommandAcked {
            command: "G999".into(),
            response: vec!["echo:Unknown command: \"G999\"".into()]
        }]
    );
    assert_eq!(h.link.state(), LinkState::Ready);
}

#[test]
fn job_lines_flow_one_at_a_time() {
    let mut h = autoreport();
    assert!(h.link.wants_job_line());
    h.link.push_job_line("G1 X1 ; move", 10).unwrap();
    assert!(
        !h.link.wants_job_line(),
        "one queued line is enough for a window of one"
    );
    assert_eq!(h.sent(), [f(3, "G1 X1")]);
    assert!(h.link.wants_job_line());
    h.link.push_job_line("G1 X2", 20).unwrap();
    assert_eq!(
        h.sent(),
        Vec::<String>::new(),
        "ping-pong: one line in flight"
    );
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [10]);
    assert_eq!(h.sent(), [f(4, "G1 X2")]);
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [10, 20]);
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn manual_commands_go_before_job_lines() {
    let mut h = autoreport();
    h.link.push_job_line("G1 X1", 1).unwrap();
    assert_eq!(h.sent(), [f(3, "G1 X1")]);
    h.link.push_job_line("G1 X2", 2).unwrap();
    h.link.enqueue_command("M106 S255").unwrap();
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(4, "M106 S255")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(5, "G1 X2")]);
    h.recv("ok\n");
    let events = h.take_events();
    assert_eq!(
        events,
        [
            Event::JobLineAcked { tag: 1 },
            Event::CommandAcked {
                command: "M106 S255".into(),
                response: vec![]
            },
            Event::JobLineAcked { tag: 2 },
        ]
    );
}

#[test]
fn polls_share_the_stream_with_job_lines() {
    let mut h = connected(Config::default(), "Cap:AUTOREPORT_TEMP:0\n");
    // `connected` answered the first poll (line 2) at t=0.
    h.link.push_job_line("G1 X1", 1).unwrap();
    assert_eq!(h.sent(), [f(3, "G1 X1")]);
    h.now += Duration::from_secs(2);
    h.link.push_job_line("G1 X2", 2).unwrap();
    h.recv("ok\n");
    // The poll is due: it goes ahead of the next job line.
    assert_eq!(h.sent(), [f(4, "M105")]);
    h.recv("ok T:20.0 /0.0\n");
    assert_eq!(h.sent(), [f(5, "G1 X2")]);
}

#[test]
fn user_m110_keeps_the_link_numbering() {
    let mut h = autoreport();
    h.link.enqueue_command("M110 N100").unwrap();
    assert_eq!(h.sent(), [f(3, "M110 N3")]);
}
