//! `gantry-sim`: simulated Marlin printers on pseudo-terminals, run in their own process so
//! benchmarks measure Gantry and not the simulators sharing its threads.
//!
//! Prints `printer <i>: <path>` per printer, then runs until SIGINT or SIGTERM. Faults can be
//! changed at run time by writing lines to stdin: `<printer index or *> <fault> [value]`, e.g.
//! `0 silent on`, `* latency 20`, `1 unplug 3`. `help` lists them.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use nix::sys::signal::{SigSet, Signal};
use printer::sim::{Faults, SimConfig, SimPrinter};

/// Simulated Marlin printers on ptys.
#[derive(Debug, Parser)]
#[command(name = "gantry-sim", version)]
struct Args {
    /// How many printers to start.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Create a stable symlink `printer-<i>` per printer in this directory.
    #[arg(long)]
    link_dir: Option<PathBuf>,
    /// Pace bytes like a UART at this baud rate (bytes/s = baud / 10); 0 = unpaced.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Command queue size (Marlin's BUFSIZE).
    #[arg(long, default_value_t = 4)]
    buffer: usize,
    /// Serial receive buffer in bytes; overflowing bytes are lost. Unbounded if absent.
    #[arg(long)]
    rx_bytes: Option<usize>,
    /// Answer a bare `ok` instead of `ok N.. P.. B..`.
    #[arg(long)]
    no_advanced_ok: bool,
    /// No M155 temperature autoreport.
    #[arg(long)]
    no_autoreport: bool,
    /// No emergency parser (M112/M108/M410 wait their turn in the queue).
    #[arg(long)]
    no_emergency_parser: bool,
    /// Processing time per command, in milliseconds.
    #[arg(long, default_value_t = 1)]
    latency_ms: u64,
    /// Time one move occupies the planner, in milliseconds.
    #[arg(long, default_value_t = 20)]
    planner_drain_ms: u64,
    /// Moves the planner holds.
    #[arg(long, default_value_t = 16)]
    planner_blocks: usize,
    /// Probability that a received checksummed line is corrupted.
    #[arg(long, default_value_t = 0.0)]
    corrupt_rate: f64,
    /// Seed of the fault RNG (printer i uses seed + i).
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// Corrupt every n-th numbered line (a forced resend).
    #[arg(long)]
    resend_every: Option<u32>,
    /// Send every resend request twice.
    #[arg(long)]
    duplicate_resend: bool,
    /// Send resend requests without their `ok`.
    #[arg(long)]
    resend_without_ok: bool,
    /// Hotend heating rate (fraction of the gap closed per second).
    #[arg(long)]
    heat_rate: Option<f64>,
    /// MACHINE_TYPE prefix; printer i is "<name> <i>".
    #[arg(long, default_value = "Gantry Simulator")]
    name: String,
}

impl Args {
    fn config(&self, index: usize) -> SimConfig {
        let defaults = SimConfig::default();
        SimConfig {
            name: format!("{} {index}", self.name),
            uuid: format!("5a1e7c1d-0000-4000-8000-{index:012x}"),
            link: self
                .link_dir
                .as_ref()
                .map(|dir| dir.join(format!("printer-{index}"))),
            baud: (self.baud > 0).then_some(self.baud),
            command_latency: Duration::from_millis(self.latency_ms),
            rx_buffer_lines: self.buffer,
            rx_buffer_bytes: self.rx_bytes,
            planner_blocks: self.planner_blocks,
            planner_drain: Duration::from_millis(self.planner_drain_ms),
            advanced_ok: !self.no_advanced_ok,
            autoreport_temp: !self.no_autoreport,
            emergency_parser: !self.no_emergency_parser,
            heat_rate: self.heat_rate.unwrap_or(defaults.heat_rate),
            seed: self.seed.wrapping_add(index as u64),
            corrupt_rate: self.corrupt_rate,
            resend_every: self.resend_every,
            duplicate_resend: self.duplicate_resend,
            resend_without_ok: self.resend_without_ok,
            // Nobody can read the list from another process.
            record_accepted: false,
            ..defaults
        }
    }
}

const HELP: &str = "\
<printer index or *> <fault> [value], faults:
  latency MS | baud B|off | buffer N | advanced-ok on|off | corrupt-rate F
  resend-every N|off | duplicate-resend on|off | resend-without-ok on|off | silent on|off
  busy SECS | runaway | fatal TEXT | reset | disconnect | reconnect | unplug SECS";

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    // Block the stop signals before any thread starts, so every thread inherits the mask and
    // only the main thread's `sigwait` sees them.
    let mut stop_signals = SigSet::empty();
    stop_signals.add(Signal::SIGINT);
    stop_signals.add(Signal::SIGTERM);
    if let Err(e) = stop_signals.thread_block() {
        eprintln!("gantry-sim: cannot block signals: {e}");
        return std::process::ExitCode::FAILURE;
    }
    if let Some(dir) = &args.link_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("gantry-sim: cannot create {}: {e}", dir.display());
            return std::process::ExitCode::FAILURE;
        }
    }

    let mut printers = Vec::with_capacity(args.count);
    let mut stdout = std::io::stdout().lock();
    for index in 0..args.count {
        match SimPrinter::spawn(args.config(index)) {
            Ok(printer) => {
                let _ = writeln!(stdout, "printer {index}: {}", printer.path().display());
                printers.push(printer);
            }
            Err(e) => {
                eprintln!("gantry-sim: cannot start printer {index}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let _ = stdout.flush();
    drop(stdout);

    let faults: Vec<Faults> = printers.iter().map(|p| p.faults().clone()).collect();
    let spawned = std::thread::Builder::new()
        .name("stdin faults".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if let Err(e) = apply(&faults, &line) {
                    eprintln!("gantry-sim: {e}\n{HELP}");
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("gantry-sim: no runtime fault control: {e}");
    }

    match stop_signals.wait() {
        Ok(signal) => tracing::info!(?signal, "stopping simulated printers"),
        Err(e) => eprintln!("gantry-sim: waiting for a signal failed: {e}"),
    }
    drop(printers);
    std::process::ExitCode::SUCCESS
}

/// Applies one `<index|*> <fault> [value]` line.
fn apply(faults: &[Faults], line: &str) -> Result<(), String> {
    let mut words = line.split_whitespace();
    let Some(target) = words.next() else {
        return Ok(());
    };
    if target == "help" {
        eprintln!("{HELP}");
        return Ok(());
    }
    let fault = words.next().ok_or("missing fault")?;
    let value = words.collect::<Vec<_>>().join(" ");
    let chosen: Vec<&Faults> = if target == "*" {
        faults.iter().collect()
    } else {
        let index: usize = target
            .parse()
            .map_err(|_| format!("bad printer {target:?}"))?;
        vec![faults.get(index).ok_or(format!("no printer {index}"))?]
    };
    let number = |v: &str| v.parse::<f64>().map_err(|_| format!("bad number {v:?}"));
    let on = |v: &str| match v {
        "on" | "1" | "true" | "" => Ok(true),
        "off" | "0" | "false" => Ok(false),
        _ => Err(format!("expected on/off, got {v:?}")),
    };
    let seconds = |v: &str| {
        number(v)
            .and_then(|s| Duration::try_from_secs_f64(s).map_err(|_| format!("bad duration {v:?}")))
    };
    for f in chosen {
        match fault {
            "latency" => f.set_latency(Duration::from_secs_f64(number(&value)?.max(0.0) / 1e3)),
            "baud" if value == "off" => f.set_baud(None),
            "baud" => f.set_baud(Some(number(&value)? as u32)),
            "buffer" => f.set_buffer_lines(number(&value)? as usize),
            "advanced-ok" => f.set_advanced_ok(on(&value)?),
            "corrupt-rate" => f.set_corrupt_rate(number(&value)?),
            "resend-every" if value == "off" => f.set_resend_every(None),
            "resend-every" => f.set_resend_every(Some(number(&value)? as u32)),
            "duplicate-resend" => f.set_duplicate_resend(on(&value)?),
            "resend-without-ok" => f.set_resend_without_ok(on(&value)?),
            "silent" => f.set_silent(on(&value)?),
            "busy" => f.busy_for(seconds(&value)?),
            "runaway" => f.thermal_runaway(),
            "fatal" => f.fatal(value.clone()),
            "reset" => f.reset(),
            "disconnect" => f.disconnect(),
            "reconnect" => f.reconnect(),
            "unplug" => f.unplug_for(seconds(&value)?),
            other => return Err(format!("unknown fault {other:?}")),
        }
    }
    Ok(())
}
