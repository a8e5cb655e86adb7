//! One printer, driver and simulator in this process: how close one driver thread gets to the
//! link's limit.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use printer::driver::{Command, Driver, DriverConfig, JobEvent, JobSpec, Scripts, State};
use printer::sim::{SimConfig, SimPrinter};

use crate::bounds::Bounds;
use crate::workload::Workload;

/// One link setting to measure.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub baud: u32,
    pub buffer: usize,
    pub advanced_ok: bool,
    pub latency: Duration,
}

/// What one case achieved.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub seconds: f64,
    pub rate: f64,
    pub limit: f64,
    /// `M105` lines the link sent during the run (none when temperature autoreport is used).
    pub polls: usize,
}

impl Outcome {
    pub fn ratio(&self) -> f64 {
        self.rate / self.limit
    }
}

/// The simulator as the benchmark wants it: paced, with a planner that never holds the
/// stream back, so only the link and the host are measured.
pub fn sim_config(case: Case, link: &Path) -> SimConfig {
    SimConfig {
        link: Some(link.to_owned()),
        baud: Some(case.baud),
        command_latency: case.latency,
        rx_buffer_lines: case.buffer,
        planner_drain: Duration::ZERO,
        advanced_ok: case.advanced_ok,
        ..SimConfig::default()
    }
}

pub fn run(case: Case, workload: &Workload, file: &Path, dir: &Path) -> Result<Outcome, String> {
    let link = dir.join(format!(
        "single-{}-{}-{}",
        case.baud, case.buffer, case.advanced_ok
    ));
    let sim = SimPrinter::spawn(sim_config(case, &link))
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
    let (driver, mut events) = Driver::spawn(DriverConfig::new(&link, case.baud))
        .map_err(|e| format!("cannot start the driver: {e}"))?;

    // Stamp milestones as they arrive, so waiting for them costs no precision.
    let (stamped, milestones) = mpsc::channel();
    let forwarder = std::thread::spawn(move || {
        while let Some(event) = events.blocking_recv() {
            if stamped.send((Instant::now(), event)).is_err() {
                break;
            }
        }
    });

    wait_ready(&driver, Duration::from_secs(20))?;
    let handshake: Vec<String> = driver
        .log()
        .since(0)
        .into_iter()
        .map(|l| format!("{} {}", if l.sent { ">" } else { "<" }, l.text))
        .collect();
    let spec = JobSpec {
        id: 1,
        path: file.to_owned(),
        name: "bench.gcode".into(),
        resume: None,
        scripts: Scripts::default(),
    };
    let bounds = Bounds::new(
        &workload.commands,
        case.baud,
        case.latency,
        case.advanced_ok,
    );
    let limit = bounds.limit(case.advanced_ok);
    let patience = Duration::from_secs_f64(workload.commands.len() as f64 / limit * 4.0 + 30.0);
    let started = Instant::now();
    driver
        .send(Command::StartJob(spec))
        .map_err(|e| e.to_string())?;
    let finished = loop {
        let left = patience.saturating_sub(started.elapsed());
        match milestones.recv_timeout(left) {
            Ok((at, JobEvent::Finished { .. })) => break at,
            Ok((_, JobEvent::Started { .. } | JobEvent::Checkpoint { .. })) => {}
            Ok((_, other)) => return Err(format!("the job did not finish: {other:?}")),
            Err(_) => {
                return Err(format!(
                    "no end of job after {patience:?}: {:?}",
                    driver.status().borrow()
                ))
            }
        }
    };
    let seconds = finished.duration_since(started).as_secs_f64();

    // The run only counts if every line arrived once and in order.
    // `M105` polls are the link's own, interleaved with the job; they cost round trips.
    let (polls, accepted): (Vec<String>, Vec<String>) =
        sim.accepted_lines().into_iter().partition(|l| l == "M105");
    if !polls.is_empty() {
        tracing::warn!(polls = polls.len(), handshake = ?handshake, "the link polled temperatures during the job");
    }
    if !accepted.ends_with(&workload.commands) {
        return Err(mismatch(&accepted, &workload.commands));
    }
    driver.shutdown();
    let _ = forwarder.join();
    sim.stop();
    let lines = workload.commands.len();
    Ok(Outcome {
        seconds,
        rate: lines as f64 / seconds,
        limit,
        polls: polls.len(),
    })
}

fn wait_ready(driver: &Driver, patience: Duration) -> Result<(), String> {
    let deadline = Instant::now() + patience;
    let status = driver.status();
    while Instant::now() < deadline {
        if status.borrow().state == State::Ready {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!(
        "the printer never became ready: {:?}",
        status.borrow()
    ))
}

/// Where the firmware's record first departs from the file, for the error message.
fn mismatch(accepted: &[String], commands: &[String]) -> String {
    let start = accepted.iter().position(|a| *a == commands[0]).unwrap_or(0);
    let tail = &accepted[start..];
    let at = tail
        .iter()
        .zip(commands)
        .position(|(a, c)| a != c)
        .unwrap_or(tail.len().min(commands.len()));
    let around =
        |lines: &[String]| lines[at.saturating_sub(3)..(at + 6).min(lines.len())].join(" | ");
    format!(
        "the firmware accepted {} lines ({} before the job), the file has {} job lines; they differ at job line {at}: \
         firmware [{}] file [{}]",
        accepted.len(),
        start,
        commands.len(),
        around(tail),
        around(commands)
    )
}
