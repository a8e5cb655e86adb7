//! The firmware model on its own, with a made-up clock: every answer Gantry's driver relies on.

use std::time::{Duration, Instant};

use printer::sim::line::frame;
use printer::sim::{FaultSettings, Firmware, SimConfig};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

struct Bench {
    fw: Firmware,
    now: Instant,
    config: SimConfig,
}

impl Bench {
    fn new(config: SimConfig) -> Bench {
        let now = Instant::now();
        let fw = Firmware::new(&config, FaultSettings::from_config(&config), now);
        let mut bench = Bench { fw, now, config };
        bench.lines();
        bench
    }

    fn default() -> Bench {
        Bench::new(SimConfig {
            command_latency: Duration::ZERO,
            ..SimConfig::default()
        })
    }

    fn send(&mut self, line: &str) {
        self.fw.receive(format!("{line}\n").as_bytes(), self.now);
    }

    fn after(&mut self, d: Duration) {
        self.now += d;
        self.fw.advance(self.now);
    }

    fn lines(&mut self) -> Vec<String> {
        String::from_utf8(self.fw.take_output())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Sends and returns the answer once nothing more is due within `settle`.
    fn ask(&mut self, line: &str) -> Vec<String> {
        self.send(line);
        self.lines()
    }

    fn faults(&mut self, change: impl FnOnce(&mut FaultSettings)) {
        let mut settings = FaultSettings::from_config(&self.config);
        change(&mut settings);
        self.fw.set_faults(settings, self.now);
    }
}

fn temp_of(line: &str, key: &str) -> f64 {
    let at = line.find(key).unwrap() + key.len();
    line[at..].split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn boot_banner_starts_with_start() {
    let config = SimConfig::default();
    let now = Instant::now();
    let mut fw = Firmware::new(&config, FaultSettings::from_config(&config), now);
    let out = String::from_utf8(fw.take_output()).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("start"));
    assert!(lines.all(|l| l.starts_with("echo:")));
}

#[test]
fn boot_delay_loses_early_bytes() {
    let config = SimConfig {
        boot_delay: SEC,
        command_latency: Duration::ZERO,
        ..SimConfig::default()
    };
    let mut b = Bench::new(config);
    assert!(b.ask("M105").is_empty());
    b.after(SEC);
    assert_eq!(b.lines()[0], "start");
    assert!(b.ask("M105")[0].starts_with("ok T:"));
}

#[test]
fn m115_reports_identity_and_capabilities() {
    let mut b = Bench::new(SimConfig {
        name: "Lab 3".into(),
        uuid: "abc".into(),
        advanced_ok: false,
        autoreport_temp: false,
        command_latency: Duration::ZERO,
        ..SimConfig::default()
    });
    let out = b.ask("M115");
    assert!(out[0].starts_with("FIRMWARE_NAME:Marlin 2."));
    for field in [
        "PROTOCOL_VERSION:1.0",
        "MACHINE_TYPE:Lab 3",
        "EXTRUDER_COUNT:1",
        "UUID:abc",
    ] {
        assert!(out[0].contains(field), "{field} missing in {}", out[0]);
    }
    assert!(out.contains(&"Cap:AUTOREPORT_TEMP:0".to_owned()));
    assert!(out.contains(&"Cap:EMERGENCY_PARSER:1".to_owned()));
    assert!(out.contains(&"Cap:ADVANCED_OK:0".to_owned()));
    assert_eq!(out.last().unwrap(), "ok");
    // Without autoreport support M155 is unknown, like on a Marlin built without it.
    assert_eq!(
        b.ask("M155 S2"),
        ["echo:Unknown command: \"M155 S2\"", "ok"]
    );
}

#[test]
fn m105_format() {
    let mut b = Bench::default();
    assert_eq!(b.ask("M105"), ["ok T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0"]);
    // Even with ADVANCED_OK, M105's ok carries the temperatures and no N/P/B.
    assert!(b.ask(&frame(1, "M105"))[0].starts_with("ok T:22.00"));
}

#[test]
fn heaters_approach_their_targets_and_cool_down() {
    let mut b = Bench::default();
    assert_eq!(b.ask("M104 S200"), ["ok P16 B3"]);
    assert_eq!(b.ask("M140 S60"), ["ok P16 B3"]);
    let mut last = (22.0, 22.0);
    for _ in 0..30 {
        b.after(SEC);
        let line = b.ask("M105").remove(0);
        let now = (temp_of(&line, "T:"), temp_of(&line, "B:"));
        assert!(now.0 > last.0 && now.1 > last.1, "{line}");
        assert!(line.contains("/200.00") && line.contains("/60.00"));
        assert!(temp_of(&line, "@:") > 0.0);
        last = now;
    }
    b.after(Duration::from_secs(600));
    let line = b.ask("M105").remove(0);
    assert!((temp_of(&line, "T:") - 200.0).abs() < 0.5, "{line}");
    b.ask("M104 S0");
    b.after(Duration::from_secs(60));
    assert!(temp_of(&b.ask("M105")[0], "T:") < 200.0);
}

#[test]
fn m155_autoreports_without_ok_until_turned_off() {
    let mut b = Bench::default();
    b.ask("M155 S2");
    b.after(SEC);
    assert!(b.lines().is_empty());
    b.after(SEC);
    assert_eq!(b.lines(), [" T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0"]);
    b.after(Duration::from_secs(4));
    assert_eq!(b.lines().len(), 2);
    b.ask("M155 S0");
    b.after(Duration::from_secs(10));
    assert!(b.lines().is_empty());
}

#[test]
fn m109_blocks_with_once_a_second_reports() {
    let mut b = Bench::new(SimConfig {
        command_latency: Duration::ZERO,
        heat_rate: 0.5,
        temp_residency: Duration::from_secs(2),
        ..SimConfig::default()
    });
    b.send("M109 S200");
    b.send("M105");
    let mut reports = b.lines();
    let mut waited = Duration::ZERO;
    while !reports.iter().any(|l| l.starts_with("ok")) {
        assert!(waited < Duration::from_secs(60), "M109 never finished");
        b.after(100 * MS);
        waited += 100 * MS;
        reports.extend(b.lines());
    }
    let ok_at = reports.iter().position(|l| l.starts_with("ok")).unwrap();
    let waiting = &reports[..ok_at];
    assert!(waiting.len() >= 10, "{reports:?}");
    assert!(waiting
        .iter()
        .all(|l| l.starts_with(" T:") && l.contains(" W:")));
    assert!(waiting[0].ends_with("W:?"));
    assert!(waiting.last().unwrap().ends_with("W:0") || waiting.last().unwrap().ends_with("W:1"));
    // The queued M105 only runs after the wait.
    assert_eq!(reports[ok_at], "ok P16 B3");
    b.after(MS);
    let rest: Vec<_> = reports[ok_at + 1..]
        .iter()
        .cloned()
        .chain(b.lines())
        .collect();
    assert!(rest[0].starts_with("ok T:"));
    assert!((temp_of(&rest[0], "T:") - 200.0).abs() <= 1.0);
}

#[test]
fn m190_s_does_not_wait_for_cooling_but_r_does() {
    let mut b = Bench::default();
    b.ask("M140 S80");
    b.after(Duration::from_secs(600));
    b.lines();
    assert_eq!(b.ask("M190 S50"), ["ok P16 B3"]);
    b.send("M190 R50");
    assert!(b.lines().iter().all(|l| !l.starts_with("ok")));
}

#[test]
fn emergency_m108_breaks_a_heating_wait() {
    let mut b = Bench::default();
    b.send("M109 S250");
    b.after(SEC);
    assert!(b.lines().iter().all(|l| l.contains("W:?")));
    assert_eq!(b.ask("M108"), ["ok P16 B3", "ok P16 B3"]);
}

#[test]
fn m112_halts_the_printer() {
    let mut b = Bench::default();
    b.ask("M104 S200");
    b.send("M109 S200");
    b.lines();
    assert_eq!(b.ask("M112"), ["Error:Printer halted. kill() called!"]);
    assert!(b.fw.is_halted());
    assert!(b.ask("M105").is_empty());
    b.after(Duration::from_secs(5));
    assert!(b.lines().is_empty());
    assert_eq!(b.fw.temperatures()[0].1, 0.0);
}

#[test]
fn m112_without_emergency_parser_waits_its_turn() {
    let mut b = Bench::new(SimConfig {
        emergency_parser: false,
        command_latency: 10 * MS,
        ..SimConfig::default()
    });
    b.send("G4 P100");
    b.send("M112");
    assert!(b.lines().is_empty());
    b.after(200 * MS);
    assert_eq!(
        b.lines(),
        ["ok P16 B3", "Error:Printer halted. kill() called!"]
    );
}

#[test]
fn unknown_commands_are_echoed_and_acknowledged() {
    let mut b = Bench::default();
    assert_eq!(
        b.ask("G999 X1"),
        ["echo:Unknown command: \"G999 X1\"", "ok P16 B3"]
    );
    assert_eq!(b.ask("T1"), ["echo:T1 Invalid extruder", "ok P16 B3"]);
    for accepted in [
        "G28",
        "G90",
        "M82",
        "M83",
        "M106 S128",
        "M107",
        "M73 P10",
        "M117 hi",
        "G92 E0",
        "M84",
        "M220 S100",
        "M400",
        "M999",
        "G4 P10",
    ] {
        b.send(accepted);
        b.after(Duration::from_secs(3));
        let answer = b.lines();
        assert!(
            answer.last().is_some_and(|l| l.starts_with("ok"))
                && !answer.iter().any(|l| l.contains("Unknown")),
            "{accepted}: {answer:?}"
        );
    }
}

#[test]
fn m114_tracks_moves() {
    let mut b = Bench::default();
    b.ask("G1 X10 Y20 Z0.3 E1.5 F3000");
    b.ask("G91");
    b.ask("G1 X5 E1");
    assert_eq!(
        b.ask("M114"),
        [
            "X:15.00 Y:20.00 Z:0.30 E:2.50 Count X:1200 Y:1600 Z:120",
            "ok P14 B3"
        ]
    );
    b.ask("G92 X0");
    assert!(b.ask("M114")[0].starts_with("X:0.00 Y:20.00"));
}

#[test]
fn numbered_lines_and_their_errors() {
    let mut b = Bench::default();
    assert_eq!(b.ask(&frame(0, "M110 N0")), ["ok N0 P16 B3"]);
    assert_eq!(b.ask(&frame(1, "G28")), [] as [String; 0]);
    b.after(Duration::from_secs(3));
    // Homing takes 2 s: one keep-alive after 1 s, then the ok.
    assert_eq!(b.lines(), ["echo:busy: processing", "ok N1 P16 B3"]);
    // Bad checksum.
    assert_eq!(
        b.ask("N2 M105*1"),
        ["Error:checksum mismatch, Last Line: 1", "Resend: 2", "ok"]
    );
    // Line number without checksum.
    assert_eq!(
        b.ask("N2 M105"),
        [
            "Error:No Checksum with line number, Last Line: 1",
            "Resend: 2",
            "ok"
        ]
    );
    // Skipped line number.
    assert_eq!(
        b.ask(&frame(4, "M105")),
        [
            "Error:Line Number is not Last Line Number+1, Last Line: 1",
            "Resend: 2",
            "ok"
        ]
    );
    // Checksum without line number: reported, neither resent nor acknowledged.
    assert_eq!(
        b.ask("M105*20"),
        ["Error:No Line Number with checksum, Last Line: 1"]
    );
    assert_eq!(b.ask(&frame(2, "G1 X1")), ["ok N2 P15 B3"]);
    // M110 sets the number the next line must follow.
    assert_eq!(b.ask(&frame(3, "M110 N100")), ["ok N3 P15 B3"]);
    assert_eq!(b.ask(&frame(101, "G1 X2")), ["ok N101 P14 B3"]);
    assert_eq!(b.ask("M110 N7"), ["ok P14 B3"]);
    assert_eq!(b.ask(&frame(8, "M400")), [] as [String; 0]);
    b.after(SEC);
    assert_eq!(b.lines(), ["ok N8 P16 B3"]);
    assert_eq!(
        b.fw.take_accepted(),
        [
            "M110 N0",
            "G28",
            "G1 X1",
            "M110 N100",
            "G1 X2",
            "M110 N7",
            "M400"
        ]
    );
}

#[test]
fn an_error_flushes_the_receive_buffer() {
    let mut b = Bench::new(SimConfig {
        command_latency: 10 * MS,
        ..SimConfig::default()
    });
    let burst = format!(
        "{}\nN2 G1 X2*0\n{}\n{}\n",
        frame(1, "G1 X1"),
        frame(3, "G1 X3"),
        frame(4, "G1 X4")
    );
    b.fw.receive(burst.as_bytes(), b.now);
    assert_eq!(
        b.lines(),
        ["Error:checksum mismatch, Last Line: 1", "Resend: 2", "ok"]
    );
    b.after(20 * MS);
    assert_eq!(b.lines(), ["ok N1 P15 B3"]);
    assert_eq!(b.fw.take_accepted(), ["G1 X1"]);
}

#[test]
fn plain_ok_without_advanced_ok() {
    let mut b = Bench::default();
    b.faults(|f| f.advanced_ok = false);
    assert_eq!(b.ask(&frame(1, "G1 X1")), ["ok"]);
    b.faults(|f| f.advanced_ok = true);
    assert_eq!(b.ask(&frame(2, "G1 X1")), ["ok N2 P14 B3"]);
}

#[test]
fn full_queue_holds_back_reading_and_oks() {
    let mut b = Bench::new(SimConfig {
        command_latency: 10 * MS,
        rx_buffer_lines: 4,
        ..SimConfig::default()
    });
    let burst: String = (1..=8).map(|n| frame(n, "M117 x") + "\n").collect();
    b.fw.receive(burst.as_bytes(), b.now);
    assert!(b.lines().is_empty());
    // Four lines are queued: the first acknowledgement reports no free slot (the command being
    // acknowledged still holds its slot, as in Marlin).
    b.after(10 * MS);
    assert_eq!(b.lines(), ["ok N1 P16 B0"]);
    assert_eq!(b.fw.take_accepted().len(), 5);
    b.after(10 * MS);
    assert_eq!(b.lines(), ["ok N2 P16 B0"]);
    b.after(100 * MS);
    let rest = b.lines();
    assert_eq!(rest.len(), 6);
    assert_eq!(rest.last().unwrap(), "ok N8 P16 B3");
}

#[test]
fn byte_limited_receive_buffer_loses_overflow() {
    let mut b = Bench::new(SimConfig {
        command_latency: 10 * MS,
        rx_buffer_lines: 1,
        rx_buffer_bytes: Some(32),
        ..SimConfig::default()
    });
    let burst: String = (1..=4).map(|n| frame(n, "G1 X100 Y100") + "\n").collect();
    b.fw.receive(burst.as_bytes(), b.now);
    b.after(100 * MS);
    assert_eq!(b.lines(), ["ok N1 P15 B0"]);
    // Line 2 lost its tail; the next bytes complete it into a line that fails its checksum.
    b.send(&frame(5, "G1 X1"));
    b.after(100 * MS);
    assert_eq!(
        b.lines(),
        ["Error:checksum mismatch, Last Line: 1", "Resend: 2", "ok"]
    );
}

#[test]
fn planner_fills_and_drains() {
    let mut b = Bench::new(SimConfig {
        command_latency: Duration::ZERO,
        planner_blocks: 2,
        planner_drain: 100 * MS,
        ..SimConfig::default()
    });
    assert_eq!(b.ask("G1 X1"), ["ok P1 B3"]);
    assert_eq!(b.ask("G1 X2"), ["ok P0 B3"]);
    assert!(b.ask("G1 X3").is_empty());
    b.after(100 * MS);
    assert_eq!(b.lines(), ["ok P0 B3"]);
    b.send("M400");
    b.after(150 * MS);
    assert!(b.lines().is_empty());
    b.after(50 * MS);
    assert_eq!(b.lines(), ["ok P2 B3"]);
    // M410 (emergency parser) drops what is planned.
    b.ask("G1 X4");
    b.ask("G1 X5");
    b.send("M400");
    assert!(b.lines().is_empty());
    // The M400 waiting for the planner finishes at once; the M410, still in the receive
    // buffer (Marlin reads no new lines while a command blocks), follows.
    assert_eq!(b.ask("M410"), ["ok P2 B3", "ok P2 B3"]);
}

#[test]
fn latency_delays_every_answer() {
    let mut b = Bench::new(SimConfig {
        command_latency: 50 * MS,
        ..SimConfig::default()
    });
    assert!(b.ask("M105").is_empty());
    b.after(49 * MS);
    assert!(b.lines().is_empty());
    b.after(MS);
    assert_eq!(b.lines().len(), 1);
    b.faults(|f| f.command_latency = Duration::ZERO);
    assert_eq!(b.ask("M105").len(), 1);
}

#[test]
fn corruption_is_reproducible_from_the_seed() {
    let run = |seed| {
        let mut b = Bench::new(SimConfig {
            command_latency: Duration::ZERO,
            corrupt_rate: 0.3,
            seed,
            ..SimConfig::default()
        });
        let mut n = 1;
        let mut transcript = Vec::new();
        while n <= 50 {
            let answer = b.ask(&frame(n, "G1 X1 Y2"));
            if answer.iter().any(|l| l.starts_with("Resend:")) {
                assert_eq!(
                    answer[0],
                    format!("Error:checksum mismatch, Last Line: {}", n - 1)
                );
                assert_eq!(answer[1], format!("Resend: {n}"));
            } else {
                n += 1;
            }
            transcript.extend(answer);
            b.after(Duration::from_secs(1));
        }
        transcript
    };
    let a = run(7);
    assert!(a.iter().filter(|l| l.starts_with("Resend:")).count() > 5);
    assert_eq!(a, run(7));
    assert_ne!(a, run(8));
}

#[test]
fn forced_resend_every_n_lines() {
    let mut b = Bench::default();
    b.faults(|f| f.resend_every = Some(3));
    assert_eq!(b.ask(&frame(1, "M117 a")), ["ok N1 P16 B3"]);
    assert_eq!(b.ask(&frame(2, "M117 b")), ["ok N2 P16 B3"]);
    assert_eq!(
        b.ask(&frame(3, "M117 c")),
        ["Error:checksum mismatch, Last Line: 2", "Resend: 3", "ok"]
    );
    assert_eq!(b.ask(&frame(3, "M117 c")), ["ok N3 P16 B3"]);
}

#[test]
fn duplicate_resends_and_resends_without_ok() {
    let mut b = Bench::default();
    b.faults(|f| f.duplicate_resend = true);
    assert_eq!(
        b.ask("N1 M105*0"),
        [
            "Error:checksum mismatch, Last Line: 0",
            "Resend: 1",
            "ok",
            "Resend: 1",
            "ok"
        ]
    );
    b.faults(|f| f.resend_without_ok = true);
    assert_eq!(
        b.ask("N1 M105*0"),
        ["Error:checksum mismatch, Last Line: 0", "Resend: 1"]
    );
}

#[test]
fn silence_discards_input_until_lifted() {
    let mut b = Bench::default();
    b.ask("M155 S1");
    b.faults(|f| f.silent = true);
    assert!(b.ask("M105").is_empty());
    b.after(Duration::from_secs(5));
    assert!(b.lines().is_empty());
    b.faults(|f| f.silent = false);
    assert!(b.ask("M105")[0].starts_with("ok T:"));
    b.after(SEC);
    assert_eq!(b.lines().len(), 1);
}

#[test]
fn busy_spells_keep_the_link_alive() {
    let mut b = Bench::default();
    // Idle: an internal job holds the firmware; a command sent meanwhile waits.
    b.fw.busy_for(Duration::from_millis(2500), b.now);
    b.send("M105");
    b.after(SEC);
    assert_eq!(b.lines(), ["echo:busy: processing"]);
    b.after(SEC);
    assert_eq!(b.lines(), ["echo:busy: processing"]);
    b.after(SEC);
    assert!(b.lines()[0].starts_with("ok T:"));
    // M113 S0 turns the keep-alive off.
    b.ask("M113 S0");
    b.fw.busy_for(Duration::from_secs(3), b.now);
    b.after(Duration::from_secs(5));
    assert!(b.lines().is_empty());
}

#[test]
fn fatal_error_halts_after_the_reason() {
    let mut b = Bench::default();
    b.fw.fatal("Thermal Runaway, system stopped! Heater_ID: 0", b.now);
    assert_eq!(
        b.lines(),
        [
            "Error:Thermal Runaway, system stopped! Heater_ID: 0",
            "Error:Printer halted. kill() called!"
        ]
    );
    assert!(b.ask("M105").is_empty());
    b.fw.reset(b.now);
    assert_eq!(b.lines()[0], "start");
    assert!(b.ask("M105")[0].starts_with("ok T:"));
}

#[test]
fn reset_restarts_line_numbers() {
    let mut b = Bench::default();
    b.ask(&frame(1, "M105"));
    b.ask(&frame(2, "M105"));
    b.fw.reset(b.now);
    b.lines();
    assert!(b.ask(&frame(1, "M105"))[0].starts_with("ok T:"));
}

#[test]
fn m0_waits_for_the_user() {
    let mut b = Bench::default();
    b.send("M0");
    b.after(Duration::from_millis(1500));
    assert_eq!(b.lines(), ["echo:busy: paused for user"]);
    assert_eq!(b.ask("M108"), ["ok P16 B3", "ok P16 B3"]);
    b.send("M1 S2");
    b.after(Duration::from_secs(2));
    assert_eq!(b.lines().last().unwrap(), "ok P16 B3");
}

#[test]
fn m118_echoes() {
    let mut b = Bench::default();
    assert_eq!(b.ask("M118 hello"), ["hello", "ok P16 B3"]);
    assert_eq!(b.ask("M118 E1 hi there"), ["echo:hi there", "ok P16 B3"]);
}

#[test]
fn answers_do_not_depend_on_how_often_time_is_looked_at() {
    let script = |step: Duration| {
        let mut b = Bench::new(SimConfig {
            command_latency: 3 * MS,
            ..SimConfig::default()
        });
        b.ask("M155 S1");
        b.send("M104 S210");
        b.send("M109 S210");
        let mut out = Vec::new();
        let end = b.now + Duration::from_secs(90);
        while b.now < end {
            let step = step.min(end - b.now);
            b.after(step);
            out.extend(b.lines());
        }
        out
    };
    assert_eq!(
        script(Duration::from_millis(7)),
        script(Duration::from_millis(500))
    );
}
