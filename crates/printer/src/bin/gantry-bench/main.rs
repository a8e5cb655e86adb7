//! `gantry-bench`: how close Gantry streams to the serial link's limit.
//!
//! Part 1 runs one driver thread against one in-process simulator for every combination of
//! baud rate, firmware buffer and `ADVANCED_OK`, and compares the lines per second it reaches
//! with what the wire allows for the same file. Part 2 runs a real `gantry serve` against
//! `gantry-sim --count N` in another process and reports every printer's ratio and the
//! daemon's CPU time and peak memory. Run it from `scripts/bench.sh`.

mod bounds;
mod fleet;
mod floor;
mod http;
mod single;
mod timestamp;
mod wakeup;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use bounds::Bounds;
use printer::procfs;
use single::Case;

/// Streaming benchmark: achieved lines/s against the link's limit.
#[derive(Debug, Parser)]
#[command(name = "gantry-bench")]
struct Args {
    /// Moves in the file each single-printer case prints.
    #[arg(long, default_value_t = 3000)]
    moves: usize,
    /// Simulated printers streaming at once through the daemon (0 skips that part).
    #[arg(long, default_value_t = 32)]
    fleet: usize,
    /// Moves in the file every fleet printer prints.
    #[arg(long, default_value_t = 4000)]
    fleet_moves: usize,
    /// Baud rate of the fleet's printers.
    #[arg(long, default_value_t = 115_200)]
    fleet_baud: u32,
    /// Firmware command buffer of the fleet's printers.
    #[arg(long, default_value_t = 4)]
    fleet_buffer: usize,
    /// Skip the single-printer cases.
    #[arg(long)]
    no_single: bool,
    /// Firmware processing time per command, in milliseconds.
    #[arg(long, default_value_t = 1)]
    latency_ms: u64,
    /// The `gantry` program [default: next to this one].
    #[arg(long)]
    gantry: Option<PathBuf>,
    /// The `gantry-sim` program [default: next to this one].
    #[arg(long)]
    sim: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(2),
        Err(e) => {
            eprintln!("gantry-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every part; `Ok(false)` when a target was missed.
fn run(args: &Args) -> Result<bool, String> {
    let dir = tempdir()?;
    let latency = Duration::from_millis(args.latency_ms);
    println!("# gantry-bench");
    println!();
    println!(
        "machine: {} CPUs, load average {}; firmware latency {} ms/command, planner never full",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        procfs::load_average(),
        args.latency_ms
    );
    let (mean, p90) = wakeup::oversleep(300);
    println!("thread wake-up lateness (1 ms sleeps): mean {mean:.0} µs, p90 {p90:.0} µs");
    let began = Instant::now();
    let mut met = true;
    if !args.no_single {
        met &= single_part(args, latency, &dir)?;
    }
    if args.fleet > 0 {
        met &= fleet_part(args, latency, &dir)?;
    }
    println!();
    let (mean, p90) = wakeup::oversleep(300);
    println!(
        "total {:.0} s; load average now {}; wake-up lateness now mean {mean:.0} µs, p90 {p90:.0} µs",
        began.elapsed().as_secs_f64(),
        procfs::load_average()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(met)
}

fn single_part(args: &Args, latency: Duration, dir: &std::path::Path) -> Result<bool, String> {
    let file = dir.join("single.gcode");
    let workload = workload::write(&file, args.moves)
        .map_err(|e| format!("cannot write the job file: {e}"))?;
    println!();
    println!(
        "## One printer (driver thread and simulator in this process): {} lines, {} bytes of file",
        workload.commands.len(),
        workload.file_bytes
    );
    println!();
    println!("| baud   | buffer | ADVANCED_OK | mode          | bytes/line | seconds | lines/s | limit lines/s | ratio | bare host ratio | M105 polls | target |");
    println!("|--------|--------|-------------|---------------|-----------:|--------:|--------:|--------------:|------:|----------------:|-----------:|--------|");
    let mut met = true;
    for baud in [115_200, 250_000] {
        for buffer in [4, 8] {
            for advanced_ok in [true, false] {
                let case = Case {
                    baud,
                    buffer,
                    advanced_ok,
                    latency,
                };
                let bounds = Bounds::new(&workload.commands, baud, latency, advanced_ok);
                let outcome = single::run(case, &workload, &file, dir)?;
                let ok = outcome.ratio() >= 0.95;
                met &= ok;
                let floor = if advanced_ok {
                    "—".to_owned()
                } else {
                    let rate = floor::run(case, &workload, dir)?;
                    format!("{:.3}", rate / outcome.limit)
                };
                println!(
                    "| {baud} | {buffer} | {} | {} | {:.1} | {:.2} | {:.1} | {:.1} | {:.3} | {floor} | {} | {} |",
                    if advanced_ok { "on " } else { "off" },
                    if advanced_ok { "window       " } else { "one-in-flight" },
                    bounds.bytes_per_line,
                    outcome.seconds,
                    outcome.rate,
                    outcome.limit,
                    outcome.ratio(),
                    outcome.polls,
                    if ok { "met" } else { "MISSED" }
                );
            }
        }
    }
    println!();
    println!("limit: window = (baud/10) / framed bytes per line; one-in-flight = 1 / (line tx + latency + `ok` tx)");
    println!("bare host: the same simulator driven by a loop that only writes each line and blocks for its `ok`: this machine's floor");
    Ok(met)
}

fn fleet_part(args: &Args, latency: Duration, dir: &std::path::Path) -> Result<bool, String> {
    let programs = programs(args)?;
    let file = dir.join("fleet.gcode");
    let workload = workload::write(&file, args.fleet_moves)
        .map_err(|e| format!("cannot write the job file: {e}"))?;
    let mut met = true;
    for advanced_ok in [true, false] {
        let case = Case {
            baud: args.fleet_baud,
            buffer: args.fleet_buffer,
            advanced_ok,
            latency,
        };
        let run_dir = dir.join(format!("fleet-{advanced_ok}"));
        let outcome = fleet::run(&programs, args.fleet, case, &workload, &file, &run_dir)?;
        println!();
        println!(
            "## {} printers through `gantry serve` (simulators in `gantry-sim`): {} baud, buffer {}, ADVANCED_OK {}, {} lines each",
            args.fleet,
            args.fleet_baud,
            args.fleet_buffer,
            if advanced_ok { "on" } else { "off" },
            workload.commands.len()
        );
        println!();
        println!(
            "limit {:.1} lines/s per printer ({})",
            outcome.limit,
            if advanced_ok {
                "window"
            } else {
                "one-in-flight"
            }
        );
        println!();
        println!("| printer | seconds | lines/s | ratio |");
        println!("|--------:|--------:|--------:|------:|");
        for p in &outcome.printers {
            println!(
                "| {} | {:.2} | {:.1} | {:.3} |",
                p.id, p.seconds, p.rate, p.ratio
            );
        }
        let worst = outcome
            .printers
            .iter()
            .map(|p| p.ratio)
            .fold(f64::INFINITY, f64::min);
        let mean = outcome.printers.iter().map(|p| p.ratio).sum::<f64>()
            / outcome.printers.len().max(1) as f64;
        let rss_mb = outcome.peak_rss_kb as f64 / 1024.0;
        let ok = worst >= 0.95 && rss_mb < 50.0;
        met &= ok;
        println!();
        println!(
            "ratio min {worst:.3}, mean {mean:.3}; daemon CPU {:.2} s over {:.1} s wall = {:.3} CPU s per 10,000 lines \
             (simulators: {:.2} CPU s); peak RSS {rss_mb:.1} MB (idle with {} printers: {:.1} MB) — target {}",
            outcome.cpu_seconds,
            outcome.wall_seconds,
            outcome.cpu_per_10k_lines(),
            outcome.sim_cpu_seconds,
            args.fleet,
            outcome.idle_rss_kb as f64 / 1024.0,
            if ok { "met" } else { "MISSED" }
        );
    }
    Ok(met)
}

fn programs(args: &Args) -> Result<fleet::Programs, String> {
    let here = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let sibling = |name: &str| here.with_file_name(name);
    let programs = fleet::Programs {
        gantry: args.gantry.clone().unwrap_or_else(|| sibling("gantry")),
        sim: args.sim.clone().unwrap_or_else(|| sibling("gantry-sim")),
    };
    for program in [&programs.gantry, &programs.sim] {
        if !program.exists() {
            return Err(format!(
                "{} not found; build it or pass --gantry/--sim",
                program.display()
            ));
        }
    }
    Ok(programs)
}

/// A fresh directory for files, links and the daemon's data, removed at the end.
fn tempdir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("gantry-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}
