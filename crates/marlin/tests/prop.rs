//! Property tests: the link against a Marlin model over a faulty wire.
//!
//! Whatever the wire drops, garbles or duplicates (host→firmware and firmware→host), the
//! firmware executes every job line exactly once and in order, and every manual command
//! exactly once and in order.
//!
//! `MARLIN_TRACE=1` prints the last events of a failing simulation; `MARLIN_SOAK_SEEDS=<n>`
//! runs the soak test with more seeds.

mod sim;

use std::time::{Duration, Instant};

use marlin::{Config, Event, Link, LinkState};
use proptest::prelude::*;
use sim::{lines_of, Fault, Firmware, Rng, Wire};

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    h2f_percent: u32,
    f2h_percent: u32,
    advanced_ok: bool,
    autoreport: bool,
    job_lines: usize,
    /// Enqueue a manual command after pushing this many job lines.
    manual_at: Vec<usize>,
    window_cap: usize,
}

#[derive(Debug)]
struct Outcome {
    executed_job: Vec<String>,
    executed_manual: Vec<String>,
    acked: Vec<u64>,
    command_acks: Vec<String>,
    /// Tags acknowledged before the firmware had executed that line.
    early_acks: Vec<u64>,
    max_rx_backlog: usize,
}

const H2F: &[Fault] = &[
    Fault::Drop,
    Fault::Garble,
    Fault::Noise,
    Fault::Duplicate,
    Fault::LoseNewline,
    Fault::Split,
];
// Responses carry no checksum, so a digit turned into another digit cannot be detected by
// any host; the firmware→host wire drops, garbles (invalid bytes), duplicates and merges.
const F2H: &[Fault] = &[
    Fault::Drop,
    Fault::Garble,
    Fault::Duplicate,
    Fault::LoseNewline,
];

fn job_line(i: usize) -> String {
    format!("G1 X{i} Y{}", i * 2)
}

fn simulate(case: &Case) -> Result<Outcome, String> {
    let config = Config {
        hello_retries: 1000,
        max_timeouts_idle: 1000,
        max_timeouts_printing: 1000,
        max_resends: 1000,
        window_cap: case.window_cap,
        ..Config::default()
    };
    let mut now = Instant::now();
    let start = now;
    let mut link = Link::new(config, now);
    let mut fw = Firmware::new(case.advanced_ok, case.autoreport);
    let mut rng = Rng::new(case.seed);
    let mut h2f = Wire {
        percent: case.h2f_percent,
        rng: Rng::new(rng.next()),
        kinds: H2F,
    };
    let mut f2h = Wire {
        percent: case.f2h_percent,
        rng: Rng::new(rng.next()),
        kinds: F2H,
    };

    let mut pushed = 0;
    let mut manual_enqueued = 0;
    let mut acked = vec![];
    let mut command_acks = vec![];
    let mut early_acks = vec![];
    // After the job, the driver sends a few sync commands (as a job runner ends with M400):
    // a line the firmware never got is revealed by the `Resend:` the next line provokes.
    let sync_total = 3;
    let mut sync_sent = 0;
    let mut sync_acked = 0;

    let trace = std::env::var_os("MARLIN_TRACE").is_some();
    let mut log: Vec<String> = vec![];
    for _ in 0..2_000_000 {
        if link.state() == LinkState::Ready {
            while link.wants_job_line() && pushed < case.job_lines {
                while manual_enqueued < case.manual_at.len()
                    && case.manual_at[manual_enqueued] <= pushed
                {
                    link.enqueue_command(&format!("M117 manual {manual_enqueued}"))
                        .unwrap();
                    manual_enqueued += 1;
                }
                link.push_job_line(&job_line(pushed), pushed as u64)
                    .map_err(|e| e.to_string())?;
                pushed += 1;
            }
            let job_done = pushed == case.job_lines && acked.len() == case.job_lines;
            if job_done && sync_sent == sync_acked && sync_sent < sync_total {
                link.enqueue_command("M400").unwrap();
                sync_sent += 1;
            }
        }

        let mut moved = false;
        while let Some(bytes) = link.poll_transmit(now) {
            moved = true;
            fw.receive(&h2f.carry(&lines_of(&bytes)));
        }
        let out = fw.step(now);
        if !out.is_empty() {
            moved = true;
            let lines: Vec<Vec<u8>> = out.iter().map(|l| format!("{l}\n").into_bytes()).collect();
            link.handle_input(&f2h.carry(&lines), now);
        }
        while let Some(event) = link.poll_event() {
            let autoreport_noise = match &event {
                Event::Temperatures(_) => true,
                Event::Log { line, .. } => line.contains("20.0 /0."),
                _ => false,
            };
            if trace && !autoreport_noise {
                log.push(format!("{:?} {event:?}", now.duration_since(start)));
            }
            match event {
                Event::JobLineAcked { tag } => {
                    let executed = fw.executed.iter().filter(|c| c.starts_with("G1 ")).count();
                    if executed <= tag as usize {
                        early_acks.push(tag);
                    }
                    acked.push(tag);
                }
                Event::CommandAcked { command, .. } => {
                    if command == "M400" {
                        sync_acked += 1;
                    }
                    command_acks.push(command);
                }
                Event::LinkDead { reason } => {
                    dump(&log);
                    return Err(format!("link dead: {reason}"));
                }
                Event::FirmwareError {
                    message,
                    fatal: true,
                } => return Err(format!("fatal firmware error: {message}")),
                Event::Reset => return Err("unexpected reset".into()),
                _ => {}
            }
        }
        if sync_acked == sync_total && fw.idle() {
            let executed_job = fw
                .executed
                .iter()
                .filter(|c| c.starts_with("G1 "))
                .cloned()
                .collect();
            let executed_manual = fw
                .executed
                .iter()
                .filter(|c| c.starts_with("M117"))
                .cloned()
                .collect();
            return Ok(Outcome {
                executed_job,
                executed_manual,
                acked,
                command_acks,
                early_acks,
                max_rx_backlog: fw.max_rx_backlog,
            });
        }

        if !moved && fw.idle() {
            // Nothing on the wire: jump to the next timer.
            let mut next = now + Duration::from_secs(1);
            for t in [link.poll_timeout(), fw.next_wakeup()]
                .into_iter()
                .flatten()
            {
                next = next.min(t);
            }
            now = next.max(now + Duration::from_millis(1));
        } else {
            now += Duration::from_millis(1);
        }
        if link.poll_timeout().is_some_and(|t| t <= now) {
            link.handle_timeout(now);
        }
    }
    dump(&log);
    Err(format!(
        "did not finish: pushed {pushed}, acked {}, sync {sync_acked}/{sync_sent}, state {:?}",
        acked.len(),
        link.state()
    ))
}

fn dump(log: &[String]) {
    for l in &log[log.len().saturating_sub(80)..] {
        eprintln!("{l}");
    }
}

fn expected_job(case: &Case) -> Vec<String> {
    (0..case.job_lines).map(job_line).collect()
}

fn check_exactly_once(case: &Case, out: &Outcome) -> Result<(), TestCaseError> {
    prop_assert_eq!(&out.executed_job, &expected_job(case));
    let manual: Vec<String> = (0..case.manual_at.len())
        .map(|i| format!("M117 manual {i}"))
        .collect();
    prop_assert_eq!(&out.executed_manual, &manual);
    // Every tag once, in order.
    let tags: Vec<u64> = (0..case.job_lines as u64).collect();
    prop_assert_eq!(&out.acked, &tags);
    let acked_manual: Vec<&String> = out
        .command_acks
        .iter()
        .filter(|c| c.starts_with("M117"))
        .collect();
    prop_assert_eq!(acked_manual.len(), manual.len());
    Ok(())
}

fn case_strategy(max_percent: u32) -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        0..=max_percent,
        0..=max_percent,
        any::<bool>(),
        any::<bool>(),
        1usize..120,
        proptest::collection::vec(0usize..120, 0..4),
        prop_oneof![Just(1usize), Just(4), Just(8)],
    )
        .prop_map(
            |(seed, h2f, f2h, advanced_ok, autoreport, job_lines, mut manual_at, window_cap)| {
                for at in &mut manual_at {
                    *at %= job_lines;
                }
                manual_at.sort();
                Case {
                    seed,
                    h2f_percent: h2f,
                    f2h_percent: f2h,
                    advanced_ok,
                    autoreport,
                    job_lines,
                    manual_at,
                    window_cap,
                }
            },
        )
}

proptest! {
    /// On a clean wire everything is acknowledged exactly, never before the firmware executed
    /// it, and the send window never outruns the firmware's command buffer.
    #[test]
    fn clean_wire_acks_are_exact(case in case_strategy(0)) {
        let out = simulate(&case).map_err(TestCaseError::fail)?;
        check_exactly_once(&case, &out)?;
        prop_assert!(out.early_acks.is_empty(), "early acks {:?}", out.early_acks);
        prop_assert_eq!(out.max_rx_backlog, 0);
    }

    /// On a faulty wire the firmware still executes every job line exactly once and in order.
    #[test]
    fn faulty_wire_exactly_once_in_order(case in case_strategy(15)) {
        let out = simulate(&case).map_err(TestCaseError::fail)?;
        check_exactly_once(&case, &out)?;
    }
}

/// Many seeds at a high fault rate, both firmware flavours: a cheap soak that finds rare paths.
#[test]
fn soak_high_fault_rate() {
    let seeds: u64 = std::env::var("MARLIN_SOAK_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    for seed in 0..seeds {
        let case = Case {
            seed: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            h2f_percent: 25,
            f2h_percent: 25,
            advanced_ok: seed % 2 == 0,
            autoreport: seed % 3 != 0,
            job_lines: 80,
            manual_at: vec![10, 40],
            window_cap: [1, 4, 8][(seed % 3) as usize],
        };
        let out = simulate(&case).unwrap_or_else(|e| panic!("{case:?}: {e}"));
        assert_eq!(out.executed_job, expected_job(&case), "{case:?}");
        assert_eq!(out.acked, (0..80).collect::<Vec<u64>>(), "{case:?}");
    }
}
