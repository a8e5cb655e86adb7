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
fn a_stale_banner_answered_twice_does_not_pass_for_the_m115_answer() {
    let mut h = Host::new(Config::default());
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    // A banner left over from boot: the link says hello again, and the firmware answers
    // both hellos; the second `ok` arrives after M115 went out.
    h.recv("start\n");
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(1, "M115")]);
    h.recv("ok\n");
    assert_eq!(
        h.link.state(),
        LinkState::Connecting,
        "that ok answered the second hello"
    );
    h.recv(FIRMWARE);
    h.recv("Cap:AUTOREPORT_TEMP:1\n");
    h.recv("ok\n");
    assert_eq!(h.link.state(), LinkState::Ready);
    assert_eq!(
        h.link.firmware().and_then(|f| f.uuid.as_deref()),
        Some("1234-abcd")
    );
    assert_eq!(h.sent(), [f(2, "M155 S1")], "autoreport, not polling");
    // And the accounting is in step: the next line's `ok` acknowledges that line.
    h.recv("ok\n");
    h.link.push_job_line("G1 X1", 7).unwrap();
    assert_eq!(h.sent(), [f(3, "G1 X1")]);
    h.take_events();
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [7]);
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

// ------------------------------------------------------------------------------- resends

/// A ready link with job lines 0..n pushed (tags = index) and the first one sent.
fn streaming(n: u64) -> Host {
    let mut h = autoreport();
    for tag in 0..n {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    h
}

#[test]
fn resend_after_checksum_error() {
    let mut h = streaming(3);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
    h.recv("Error:checksum mismatch, Last Line: 3\nResend: 4\nok\n");
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(5, "G1 X2")]);
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [0, 1, 2]);
}

#[test]
fn resend_without_ok_after_it() {
    let config = Config {
        resend_ok_timeout: Duration::from_millis(500),
        ..Config::default()
    };
    let mut h = connected(config, "Cap:AUTOREPORT_TEMP:1\n");
    h.link.push_job_line("G1 X0", 0).unwrap();
    h.link.push_job_line("G1 X1", 1).unwrap();
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("Resend: 3\n");
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    // No `ok` for the rejection: after resend_ok_timeout the link stops waiting for it, so
    // the next `ok` acknowledges the re-sent line.
    h.advance(Duration::from_millis(500));
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [0]);
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
}

#[test]
fn resend_without_ok_detected_by_the_next_line() {
    let mut h = streaming(2);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("Resend: 3\n");
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    // Any other line first means the firmware is not going to send the rejection's `ok`.
    h.recv("echo:something\nok\n");
    assert_eq!(h.acked_tags(), [0]);
}

#[test]
fn lost_resend_line_recovered_from_the_error() {
    let mut h = streaming(2);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    // `Resend: 3` lost on the wire: the error's `Last Line:` says the same.
    h.recv("Error:checksum mismatch, Last Line: 2\nok\n");
    assert_eq!(
        h.acked_tags(),
        Vec::<u64>::new(),
        "a rejection's ok acknowledges nothing"
    );
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
}

#[test]
fn resend_for_the_line_not_yet_sent_is_ignored() {
    let mut h = streaming(3);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
    // Line 4 arrived twice (its copy came from the wire): the copy is rejected with a request
    // for line 5, the line not yet sent. That acknowledges line 4 and rewinds nothing; its
    // `ok` acknowledges nothing.
    h.recv("ok\nError:Line Number is not Last Line Number+1, Last Line: 4\nResend: 5\nok\n");
    assert_eq!(h.acked_tags(), [0, 1]);
    assert_eq!(h.sent(), [f(5, "G1 X2")]);
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [0, 1, 2]);
}

#[test]
fn resend_request_for_an_unsent_line_number() {
    let mut h = streaming(1);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("ok\n");
    h.take_events();
    // Line 4 was never sent: nothing to rewind, and the link carries on.
    h.recv("Resend: 4\nok\n");
    h.link.enqueue_command("M400").unwrap();
    assert_eq!(h.sent(), [f(4, "M400")]);
}

#[test]
fn duplicate_resend_requests_from_a_window() {
    let mut h = advanced(4);
    for tag in 0..4 {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    assert_eq!(
        h.sent(),
        [f(4, "G1 X0"), f(5, "G1 X1"), f(6, "G1 X2"), f(7, "G1 X3")]
    );
    // Line 4 was corrupted: every line after it is rejected too, each with its own request.
    h.recv("Error:checksum mismatch, Last Line: 3\nResend: 4\nok P15 B4\n");
    let resent = h.sent();
    assert_eq!(
        resent,
        [f(4, "G1 X0"), f(5, "G1 X1"), f(6, "G1 X2"), f(7, "G1 X3")]
    );
    for _ in 0..3 {
        h.recv("Error:Line Number is not Last Line Number+1, Last Line: 3\nResend: 4\nok P15 B4\n");
    }
    assert_eq!(
        h.sent(),
        Vec::<String>::new(),
        "the stale requests rewind nothing"
    );
    h.recv("ok N4 P15 B3\nok N5 P15 B3\nok N6 P15 B3\nok N7 P15 B4\n");
    assert_eq!(h.acked_tags(), [0, 1, 2, 3]);
}

#[test]
fn error_before_resend_is_not_reported() {
    let mut h = streaming(1);
    h.sent();
    h.recv("Error:Line Number is not Last Line Number+1, Last Line: 2\nResend: 3\nok\n");
    assert_eq!(h.take_events(), []);
    assert_eq!(h.link.state(), LinkState::Ready);
}

#[test]
fn no_line_number_with_checksum_sends_the_line_again() {
    let mut h = streaming(1);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    // The `N` was corrupted: the firmware drops the line with no resend and no ok.
    h.recv("Error:No Line Number with checksum, Last Line: 2\n");
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [0]);
}

#[test]
fn too_many_resends_of_one_line_kill_the_link() {
    let config = Config {
        max_resends: 3,
        ..Config::default()
    };
    let mut h = connected(config, "Cap:AUTOREPORT_TEMP:1\n");
    h.link.push_job_line("G1 X0", 0).unwrap();
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    for _ in 0..3 {
        h.recv("Error:checksum mismatch, Last Line: 2\nResend: 3\nok\n");
        assert_eq!(h.sent(), [f(3, "G1 X0")]);
    }
    h.recv("Error:checksum mismatch, Last Line: 2\nResend: 3\nok\n");
    assert_eq!(h.link.state(), LinkState::Dead);
    assert!(
        matches!(h.take_events().as_slice(), [Event::LinkDead { reason }] if reason.contains("stuck"))
    );
    assert_eq!(h.sent(), Vec::<String>::new());
}

#[test]
fn resend_older_than_the_history_kills_the_link() {
    let mut h = streaming(100);
    for _ in 0..100 {
        h.sent();
        h.recv("ok\n");
    }
    assert_eq!(h.acked_tags().len(), 100);
    h.recv("Resend: 5\n");
    assert_eq!(h.link.state(), LinkState::Dead);
}

#[test]
fn resend_within_history_after_acknowledgement() {
    // A request for a line the link already counted as acknowledged (its rejection's
    // `Error:`/`Resend:` were lost): the line is sent again, the tag is not reported twice.
    let mut h = streaming(3);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(5, "G1 X2")]);
    h.recv("Error:Line Number is not Last Line Number+1, Last Line: 3\nResend: 4\nok\n");
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(5, "G1 X2")]);
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [0, 1, 2]);
}

// ------------------------------------------------------------------------------- ADVANCED_OK

/// A ready link whose firmware reports ADVANCED_OK with `free` command buffer slots.
fn advanced(free: u32) -> Host {
    let mut h = Host::new(Config::default());
    h.sent();
    h.recv("ok N0 P15 B3\n");
    assert_eq!(h.sent(), [f(1, "M115")]);
    h.recv(FIRMWARE);
    h.recv("Cap:AUTOREPORT_TEMP:1\nCap:ADVANCED_OK:1\n");
    h.recv("ok N1 P15 B3\n");
    assert_eq!(h.sent(), [f(2, "M155 S1")]);
    h.recv(&format!("ok N2 P15 B{free}\n"));
    h.link.enqueue_command("M400").unwrap();
    assert_eq!(h.sent(), [f(3, "M400")]);
    h.recv(&format!("ok N3 P15 B{free}\n"));
    h.take_events();
    h
}

#[test]
fn advanced_ok_sizes_the_window() {
    // `B3` while the acknowledged command holds a slot: a 4-line buffer.
    let mut h = advanced(3);
    let mut tag = 0;
    while h.link.wants_job_line() {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
        tag += 1;
    }
    assert_eq!(tag, 4, "the driver is asked for a buffer's worth");
    assert_eq!(
        h.sent(),
        [f(4, "G1 X0"), f(5, "G1 X1"), f(6, "G1 X2"), f(7, "G1 X3")]
    );
    h.link.push_job_line("G1 X4", 4).unwrap();
    assert_eq!(h.sent(), Vec::<String>::new(), "window full");
    // The firmware finished line 4 with the rest queued behind it: its slot is free now.
    h.recv("ok N4 P15 B0\n");
    assert_eq!(h.acked_tags(), [0]);
    assert_eq!(
        h.sent(),
        [f(8, "G1 X4")],
        "a full buffer right now does not shrink the window: lines in flight already own their slots"
    );
    h.link.push_job_line("G1 X5", 5).unwrap();
    assert_eq!(h.sent(), Vec::<String>::new(), "4 in flight");
    h.recv("ok N7 P15 B2\n");
    assert_eq!(
        h.acked_tags(),
        [0, 1, 2, 3],
        "ok N7 acknowledges 5, 6 and 7"
    );
    assert_eq!(h.sent(), [f(9, "G1 X5")]);
}

#[test]
fn a_rejection_that_overtakes_queued_lines_oks_is_acted_on() {
    // Marlin rejects a line when it reads it but acknowledges lines when it has executed
    // them: line 7's rejection comes before the `ok`s of 4, 5 and 6, and without an `ok`.
    let mut h = advanced(3);
    for tag in 0..4 {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    assert_eq!(h.sent().len(), 4);
    h.recv("Error:checksum mismatch, Last Line: 6\nResend: 7\n");
    assert_eq!(h.sent(), [f(7, "G1 X3")], "line 7 goes again at once");
    h.recv("ok N4 P15 B2\nok N5 P15 B2\nok N6 P15 B3\n");
    assert_eq!(
        h.sent(),
        Vec::<String>::new(),
        "the queued lines' oks rewind nothing"
    );
    h.recv("ok N7 P15 B3\n");
    assert_eq!(h.acked_tags(), [0, 1, 2, 3]);
    h.link.push_job_line("G1 X4", 4).unwrap();
    assert_eq!(h.sent(), [f(8, "G1 X4")]);
}

#[test]
fn resent_lines_lost_to_a_stale_rejections_flush_go_again() {
    // Line 7 is corrupted; line 8, already on the wire behind it, is rejected later, and
    // Marlin empties its receive buffer at each rejection, so the copies of 7 and 8 sent
    // after the first request can be swallowed. Nothing more comes unless the host acts.
    let mut h = advanced(3);
    for tag in 0..2 {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    assert_eq!(h.sent(), [f(4, "G1 X0"), f(5, "G1 X1")]);
    h.recv("ok N4 P15 B3\nok N5 P15 B3\n");
    for tag in 2..6 {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    assert_eq!(h.sent().len(), 4, "lines 6 to 9 in flight");
    h.recv("Error:checksum mismatch, Last Line: 6\nResend: 7\n");
    assert_eq!(
        h.sent().first(),
        Some(&f(7, "G1 X3")),
        "line 7 goes again at once"
    );
    h.recv("ok N6 P15 B3\n");
    h.recv("Error:Line Number is not Last Line Number+1, Last Line: 6\nResend: 7\n");
    assert_eq!(
        h.sent(),
        Vec::<String>::new(),
        "a stale request rewinds nothing at once"
    );
    h.advance(Duration::from_millis(100));
    assert_eq!(h.sent(), Vec::<String>::new());
    // The firmware stays silent: the copies were flushed. The link sends line 7 again long
    // before the communication timeout.
    h.advance(Duration::from_millis(500));
    let again = h.sent();
    assert_eq!(again.first(), Some(&f(7, "G1 X3")), "{again:?}");
    h.recv("ok N7 P15 B3\nok N8 P15 B3\nok N9 P15 B3\n");
    assert_eq!(h.acked_tags(), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn a_stale_rejection_whose_resent_lines_survive_costs_nothing() {
    // As above, but the copies sent after the first request arrived after the flush and are
    // acknowledged.
    let mut h = advanced(3);
    for tag in 0..4 {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    assert_eq!(h.sent().len(), 4, "lines 4 to 7 in flight");
    h.recv("Error:checksum mismatch, Last Line: 4\nResend: 5\n");
    assert_eq!(h.sent().first(), Some(&f(5, "G1 X1")));
    h.recv("ok N4 P15 B3\n");
    h.recv("Error:Line Number is not Last Line Number+1, Last Line: 4\nResend: 5\n");
    h.recv("ok N5 P15 B3\n");
    let more = h.sent();
    h.advance(Duration::from_secs(1));
    let later = h.sent();
    assert!(
        !more.iter().chain(&later).any(|l| *l == f(5, "G1 X1")),
        "line 5 was acknowledged; it must not go again: {more:?} {later:?}"
    );
}

#[test]
fn a_larger_free_count_grows_the_window() {
    let mut h = advanced(1);
    for tag in 0..6 {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    assert_eq!(h.sent().len(), 4, "the handshake's B3 showed 4 slots");
    h.recv("ok N4 P15 B5\n");
    assert_eq!(h.acked_tags(), [0]);
    assert_eq!(
        h.sent(),
        [f(8, "G1 X4"), f(9, "G1 X5")],
        "B5 shows 6 slots: 5 in flight"
    );
}

#[test]
fn window_is_capped_by_config() {
    let config = Config {
        window_cap: 2,
        ..Config::default()
    };
    let mut h = Host::new(config);
    h.sent();
    h.recv("ok N0 P15 B15\n");
    h.sent();
    h.recv("Cap:AUTOREPORT_TEMP:0\nok N1 P15 B15\n");
    assert_eq!(h.sent(), [f(2, "M105")]);
    h.recv("ok N2 P15 B15 T:20.0 /0.0\n");
    for tag in 0..4 {
        h.link.push_job_line(&format!("G1 X{tag}"), tag).unwrap();
    }
    assert_eq!(h.sent(), [f(3, "G1 X0"), f(4, "G1 X1")]);
}

#[test]
fn plain_ok_keeps_ping_pong() {
    let mut h = streaming(3);
    assert_eq!(
        h.sent(),
        [f(3, "G1 X0")],
        "one line in flight without ADVANCED_OK"
    );
}

// ------------------------------------------------------------------------------- busy, wait, long commands

#[test]
fn busy_keeps_the_link_alive_and_shortens_the_timeout() {
    let mut h = autoreport();
    h.link.enqueue_command("G28").unwrap();
    h.link.enqueue_command("G1 X10").unwrap();
    assert_eq!(h.sent(), [f(3, "G28")]);
    // G28 is long-running: no timeout for a long while.
    h.advance(Duration::from_secs(120));
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.link.state(), LinkState::Ready);
    h.recv("echo:busy: processing\n");
    assert_eq!(h.take_events(), [Event::Busy("processing".into())]);
    h.recv("ok\n");
    // Busy protocol seen: M113 goes first so the keep-alive fits the busy timeout.
    assert_eq!(h.sent(), [f(4, "M113 S2")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(5, "G1 X10")]);
    // Now an ok is due within busy_timeout (3 s), kept alive by busy lines.
    h.advance(Duration::from_secs(2));
    h.recv("busy: processing\n");
    h.advance(Duration::from_secs(2));
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.sent(), [f(5, "G1 X10")], "the probe: the same line again");
}

#[test]
fn long_running_commands_suspend_polling() {
    let mut h = connected(Config::default(), "Cap:AUTOREPORT_TEMP:0\n");
    h.link.enqueue_command("M190 S60").unwrap();
    assert_eq!(h.sent(), [f(3, "M190 S60")]);
    h.advance(Duration::from_secs(5));
    assert_eq!(h.sent(), Vec::<String>::new(), "no poll while M190 waits");
    h.recv(" T:25.0 /0.0 B:40.2 /60.0 @:0 B@:127 W:?\n");
    assert!(
        matches!(h.take_events().as_slice(), [Event::Temperatures(t)] if t.bed == Some(Heater { actual: 40.2, target: Some(60.0) }))
    );
    h.advance(Duration::from_secs(600));
    assert_eq!(h.link.state(), LinkState::Ready);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(4, "M105")], "polling resumes");
}

#[test]
fn wait_while_printing_recovers_a_lost_ok() {
    let mut h = streaming(2);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    // The ok was lost; the firmware's queue ran dry and it says `wait`.
    h.recv("wait\n");
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("Error:Line Number is not Last Line Number+1, Last Line: 3\nResend: 4\nok\n");
    assert_eq!(h.acked_tags(), [0]);
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
}

#[test]
fn wait_while_idle_is_ignored() {
    let mut h = autoreport();
    h.recv("wait\nwait\n");
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.take_events(), []);
}

// ------------------------------------------------------------------------------- errors

#[test]
fn fatal_error_halts() {
    let mut h = streaming(3);
    h.sent();
    h.recv("Error:Thermal Runaway, system stopped! Heater_ID: bed\nError:Printer halted. kill() called!\n");
    assert_eq!(h.link.state(), LinkState::Halted);
    assert_eq!(
        h.take_events(),
        [
            Event::FirmwareError {
                message: "Thermal Runaway, system stopped! Heater_ID: bed".into(),
                fatal: true
            },
            Event::FirmwareError {
                message: "Printer halted. kill() called!".into(),
                fatal: true
            },
        ]
    );
    assert!(!h.link.wants_job_line());
    assert_eq!(h.link.push_job_line("G1 X1", 9), Err(LinkError::Halted));
    assert_eq!(h.link.enqueue_command("G28"), Err(LinkError::Halted));
    assert_eq!(
        h.sent(),
        Vec::<String>::new(),
        "queued job lines are dropped"
    );
    assert_eq!(h.link.poll_timeout(), None);
    // The firmware comes back after a reset.
    h.recv("start\n");
    assert_eq!(h.take_events(), [Event::Reset]);
    assert_eq!(h.link.state(), LinkState::Connecting);
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
}

#[test]
fn m999_recovers_a_stopped_printer() {
    let mut h = autoreport();
    h.recv("Error:Printer stopped due to errors. Fix the error and use M999 to restart.\n");
    assert_eq!(h.link.state(), LinkState::Halted);
    h.take_events();
    h.link.enqueue_command("M999").unwrap();
    assert_eq!(h.sent(), [f(3, "M999")]);
    h.recv("ok\nResend: 4\n");
    assert_eq!(h.link.state(), LinkState::Ready);
    assert_eq!(
        h.take_events(),
        [Event::CommandAcked {
            command: "M999".into(),
            response: vec![]
        }]
    );
    h.link.enqueue_command("M105").unwrap();
    assert_eq!(h.sent(), [f(4, "M105")]);
}

#[test]
fn split_error_number_is_joined() {
    let mut h = autoreport();
    h.recv("Error:0\nMAXTEMP triggered, system stopped! Heater_ID: 0\n");
    assert_eq!(h.link.state(), LinkState::Halted);
    assert_eq!(
        h.take_events(),
        [Event::FirmwareError {
            message: "0 MAXTEMP triggered, system stopped! Heater_ID: 0".into(),
            fatal: true
        }]
    );
}

#[test]
fn other_and_ignorable_errors() {
    let mut h = autoreport();
    h.recv("Error:volume.init failed\nError:Unknown command: \"G999\"\n");
    assert_eq!(h.take_events(), []);
    h.recv("Error:Something unusual\n");
    assert_eq!(
        h.take_events(),
        [Event::FirmwareError {
            message: "Something unusual".into(),
            fatal: false
        }]
    );
    assert_eq!(h.link.state(), LinkState::Ready);
}

#[test]
fn actions_are_reported() {
    let mut h = autoreport();
    h.recv("//action:pause\n//action:prompt_begin Filament runout\n");
    assert_eq!(
        h.take_events(),
        [
            Event::Action("pause".into()),
            Event::Action("prompt_begin Filament runout".into())
        ]
    );
}

#[test]
fn start_while_printing_resets() {
    let mut h = streaming(3);
    h.sent();
    h.recv("start\n");
    assert_eq!(h.take_events(), [Event::Reset]);
    assert_eq!(h.link.state(), LinkState::Connecting);
    assert!(!h.link.wants_job_line());
    assert_eq!(h.sent(), [f(0, "M110 N0")]);
    h.recv("ok\n");
    assert_eq!(h.sent(), [f(1, "M115")]);
    h.recv("Cap:AUTOREPORT_TEMP:1\nok\n");
    assert!(matches!(h.take_events().as_slice(), [Event::Connected(_)]));
    assert_eq!(h.sent(), [f(2, "M155 S1")], "autoreport turned on again");
}

// ------------------------------------------------------------------------------- timeouts

#[test]
fn lost_ok_is_probed_then_recovered() {
    let mut h = streaming(2);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    assert_eq!(h.link.poll_timeout(), Some(h.now + Duration::from_secs(30)));
    // Autoreport lines arrive, but no ok.
    for _ in 0..29 {
        h.advance(Duration::from_secs(1));
        h.recv("T:20.0 /0.0 B:20.0 /0.0\n");
    }
    assert_eq!(h.sent(), Vec::<String>::new());
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.sent(),
        [f(3, "G1 X0")],
        "probe: the oldest unacknowledged line again"
    );
    // It had arrived: the copy is rejected, which acknowledges it.
    h.recv("Error:Line Number is not Last Line Number+1, Last Line: 3\nResend: 4\nok\n");
    assert_eq!(h.acked_tags(), [0]);
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
}

#[test]
fn lost_line_is_probed_then_recovered() {
    let mut h = streaming(2);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.advance(Duration::from_secs(30));
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("ok\n");
    assert_eq!(h.acked_tags(), [0]);
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
}

#[test]
fn consecutive_timeouts_kill_the_link_while_printing() {
    let mut h = streaming(2);
    h.sent();
    for _ in 0..5 {
        h.advance(Duration::from_secs(30));
        assert_eq!(h.sent(), [f(3, "G1 X0")]);
    }
    h.advance(Duration::from_secs(30));
    assert_eq!(h.link.state(), LinkState::Dead);
    assert!(matches!(
        h.take_events().as_slice(),
        [Event::LinkDead { .. }]
    ));
    assert_eq!(h.sent(), Vec::<String>::new());
    assert_eq!(h.link.push_job_line("G1", 1), Err(LinkError::Dead));
}

#[test]
fn silence_while_idle_is_probed_with_m105_then_dead() {
    let mut h = autoreport();
    assert_eq!(h.link.poll_timeout(), Some(h.now + Duration::from_secs(30)));
    h.advance(Duration::from_secs(30));
    assert_eq!(h.sent(), [f(3, "M105")]);
    h.advance(Duration::from_secs(30));
    assert_eq!(h.sent(), [f(3, "M105")]);
    h.advance(Duration::from_secs(30));
    assert_eq!(h.link.state(), LinkState::Dead);
}

#[test]
fn an_ok_resets_the_timeout_count() {
    let mut h = autoreport();
    h.advance(Duration::from_secs(30));
    assert_eq!(h.sent(), [f(3, "M105")]);
    h.advance(Duration::from_secs(30));
    assert_eq!(h.sent(), [f(3, "M105")]);
    h.recv("ok T:20.0 /0.0\n");
    h.advance(Duration::from_secs(30));
    assert_eq!(h.sent(), [f(4, "M105")]);
    h.advance(Duration::from_secs(30));
    assert_eq!(h.link.state(), LinkState::Ready);
}

// ------------------------------------------------------------------------------- emergency stop

#[test]
fn emergency_stop_bypasses_every_queue() {
    let mut h = streaming(5);
    h.link.enqueue_command("G28").unwrap();
    assert_eq!(h.sent(), [f(3, "G28")]);
    h.link.emergency_stop();
    assert_eq!(h.link.state(), LinkState::Halted);
    let bytes = h.link.poll_transmit(h.now).unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        format!("M112\n{}", frame(4, "M112"))
    );
    assert_eq!(
        h.link.poll_transmit(h.now),
        None,
        "queued lines are dropped"
    );
    h.recv("Error:Printer halted. kill() called!\n");
    assert!(h.take_events().contains(&Event::FirmwareError {
        message: "Printer halted. kill() called!".into(),
        fatal: true
    }));
}

#[test]
fn emergency_stop_while_connecting_and_dead() {
    let mut h = Host::new(Config::default());
    h.sent();
    h.link.emergency_stop();
    assert_eq!(h.sent(), ["M112".to_string(), f(1, "M112")]);
    let config = Config {
        hello_retries: 0,
        connect_timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let mut h = Host::new(config);
    h.sent();
    h.advance(Duration::from_secs(1));
    assert_eq!(h.link.state(), LinkState::Dead);
    h.link.emergency_stop();
    assert_eq!(h.sent()[0], "M112");
}

#[test]
fn ok_for_a_fragment_is_not_an_acknowledgement() {
    let mut h = streaming(2);
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    // Noise split line 3: the firmware rejected the head and ran the tail as a command.
    h.recv("Error:checksum mismatch, Last Line: 2\nResend: 3\nok\n");
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("echo:Unknown command: \"0\"\nok\n");
    assert_eq!(h.acked_tags(), Vec::<u64>::new());
    // The link probes with line 3 again; the firmware had taken the re-sent copy.
    assert_eq!(h.sent(), [f(3, "G1 X0")]);
    h.recv("ok\nError:Line Number is not Last Line Number+1, Last Line: 3\nResend: 4\nok\n");
    assert_eq!(h.acked_tags(), [0]);
    assert_eq!(h.sent(), [f(4, "G1 X1")]);
}
