//! Upload throughput on loopback through a real `gantry serve`, and the metadata scan rate.
//!
//! `cargo bench -p gantry --bench upload [-- --size-mb N]` (default 500), or
//! `scripts/bench-upload.sh [--size-mb N]`. Generates a PrusaSlicer-shaped G-code file,
//! streams it to the daemon's `/api/v1/files` and to the OctoPrint-compatible
//! `/api/files/local` (multipart) from a raw-socket client, samples the daemon's memory from
//! `/proc` during each upload, and prints the figures. It asserts nothing about speed; it fails
//! only when an upload fails or the daemon did not read the file's metadata.

#[path = "upload/daemon.rs"]
mod daemon;
#[path = "upload/gcode_file.rs"]
mod gcode_file;
#[path = "upload/http.rs"]
mod http;
#[path = "upload/procfs.rs"]
mod procfs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use daemon::Daemon;
use serde_json::Value;

const DEFAULT_SIZE_MB: u64 = 500;
/// Figures are in decimal megabytes.
const MB: f64 = 1e6;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("upload bench: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    size_mb: u64,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        size_mb: DEFAULT_SIZE_MB,
    };
    let mut input = std::env::args().skip(1);
    while let Some(arg) = input.next() {
        let size = match arg.as_str() {
            // cargo bench passes `--bench` to every benchmark.
            "--bench" => continue,
            "--help" | "-h" => {
                println!("usage: upload [--size-mb N]   (default {DEFAULT_SIZE_MB})");
                return Ok(None);
            }
            "--size-mb" => input.next(),
            other => match other.strip_prefix("--size-mb=") {
                Some(value) => Some(value.to_owned()),
                None => return Err(format!("unknown argument `{other}`; try --help")),
            },
        };
        args.size_mb = size
            .and_then(|s| s.parse().ok())
            .filter(|n| *n > 0)
            .ok_or("--size-mb needs a whole number of megabytes above 0")?;
    }
    Ok(Some(args))
}

fn run() -> Result<(), String> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let work = tempfile::Builder::new()
        .prefix("gantry-upload-bench-")
        .tempdir()
        .map_err(|e| format!("cannot make a work directory: {e}"))?;
    let source = work.path().join("source.gcode");
    let load_before = procfs::load_average();

    let started = Instant::now();
    let generated = gcode_file::generate(&source, args.size_mb * 1_000_000)
        .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
    println!(
        "generated {:.1} MB of G-code ({} lines, {} layers) in {:.1} s",
        generated.bytes as f64 / MB,
        generated.lines,
        generated.layers,
        started.elapsed().as_secs_f64()
    );

    let scan = scan_rate(&source, generated.bytes)?;

    let data_dir = work.path().join("data");
    let program = PathBuf::from(env!("CARGO_BIN_EXE_gantry"));
    let daemon = Daemon::start(&program, &data_dir)?;
    let status = http::get(daemon.port, "/api/v1/status")?;
    if status.status != 200 {
        return Err(format!("/api/v1/status answered {}", status.status));
    }
    let idle_hwm_kb = kb(&daemon, "VmHWM")?;

    let rest = measure(&daemon, "dashboard `POST /api/v1/files` (raw body)", || {
        http::post_file(daemon.port, "/api/v1/files?name=bench.gcode", &source)
    })?;
    let file = expect_upload(&rest, 201)?;
    check_metadata(&file, generated)?;
    let rest_scan_s = daemon_scan_seconds(&daemon.data_dir, "bench.gcode");

    let octoprint = measure(
        &daemon,
        "OctoPrint `POST /api/files/local` (multipart)",
        || {
            http::post_multipart(
                daemon.port,
                "/api/files/local",
                &source,
                "bench-octoprint.gcode",
            )
        },
    )?;
    expect_upload(&octoprint, 201)?;
    let listed = http::get(daemon.port, "/api/v1/files")?;
    let files: Value = serde_json::from_str(&listed.body).map_err(|e| e.to_string())?;
    let stored = files
        .as_array()
        .and_then(|all| all.iter().find(|f| f["name"] == "bench-octoprint.gcode"))
        .ok_or("the OctoPrint upload is not in the library")?;
    check_metadata(stored, generated)?;
    let octoprint_scan_s = daemon_scan_seconds(&daemon.data_dir, "bench-octoprint.gcode");
    drop(daemon);

    print_report(&Report {
        bytes: generated.bytes,
        uploads: [rest, octoprint],
        daemon_scan_s: [rest_scan_s, octoprint_scan_s],
        scan,
        idle_hwm_kb,
        load_before,
        load_after: procfs::load_average(),
    });
    Ok(())
}

/// One upload with the daemon's CPU time and memory around it.
struct Measured {
    label: &'static str,
    answer: http::Answer,
    cpu_s: f64,
    rss_before_kb: u64,
    /// VmHWM reset before the upload and read after it (the true peak), else the sampled peak.
    peak_kb: u64,
    hwm_reset: bool,
    /// The largest VmRSS the sampler saw.
    sampled_peak_kb: u64,
    samples: u64,
}

fn measure(
    daemon: &Daemon,
    label: &'static str,
    upload: impl FnOnce() -> Result<http::Answer, String>,
) -> Result<Measured, String> {
    let pid = daemon.pid();
    // Without the reset, VmHWM would still hold an earlier upload's peak.
    let hwm_reset = procfs::reset_peak(pid).is_ok();
    let rss_before_kb = kb(daemon, "VmRSS")?;
    let cpu_before = procfs::cpu_seconds(pid).map_err(|e| e.to_string())?;
    let sampler = procfs::RssSampler::start(pid);
    let answer = upload();
    let (sampled_peak_kb, samples) = sampler.finish();
    let cpu_s = procfs::cpu_seconds(pid).map_err(|e| e.to_string())? - cpu_before;
    let hwm_kb = kb(daemon, "VmHWM")?;
    Ok(Measured {
        label,
        answer: answer.map_err(|e| format!("{label}: {e}"))?,
        cpu_s,
        rss_before_kb,
        peak_kb: if hwm_reset {
            hwm_kb.max(sampled_peak_kb)
        } else {
            sampled_peak_kb
        },
        hwm_reset,
        sampled_peak_kb,
        samples,
    })
}

fn kb(daemon: &Daemon, key: &str) -> Result<u64, String> {
    procfs::status_kb(daemon.pid(), key).map_err(|e| e.to_string())
}

fn expect_upload(measured: &Measured, status: u16) -> Result<Value, String> {
    let answer = &measured.answer;
    if answer.status != status {
        return Err(format!(
            "{}: answered {} {}",
            measured.label, answer.status, answer.body
        ));
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("{}: {e}", measured.label))
}

/// The daemon must have read the slicer's metadata from the uploaded file.
fn check_metadata(file: &Value, generated: gcode_file::Generated) -> Result<(), String> {
    let size = file["size"].as_u64();
    let meta = &file["metadata"];
    let layers = meta["layer_count"].as_u64();
    let slicer = meta["slicer"].as_str().unwrap_or_default();
    if size != Some(generated.bytes)
        || layers != Some(u64::from(generated.layers))
        || !slicer.starts_with("PrusaSlicer")
        || file["thumbnail"].is_null()
    {
        return Err(format!(
            "the stored file lacks its size or metadata ({} bytes, {} layers expected): {file}",
            generated.bytes, generated.layers
        ));
    }
    Ok(())
}

/// The metadata scan the upload path runs (`gcode::scan_path`), here on the source file.
struct ScanRate {
    seconds: f64,
    layers: usize,
    hints: usize,
}

fn scan_rate(path: &Path, bytes: u64) -> Result<ScanRate, String> {
    let started = Instant::now();
    let meta = gcode::scan_path(path).map_err(|e| format!("metadata scan: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if meta.total_bytes != bytes {
        return Err(format!(
            "the scan read {} of {bytes} bytes",
            meta.total_bytes
        ));
    }
    Ok(ScanRate {
        seconds,
        layers: meta.layers.len(),
        hints: meta.progress_hints.len(),
    })
}

/// How long the daemon's own metadata scan took for `name`, from its log (`scan_ms=`).
fn daemon_scan_seconds(data_dir: &Path, name: &str) -> Option<f64> {
    let logs = std::fs::read_dir(data_dir.join("logs")).ok()?;
    let needle = format!("file={name} ");
    logs.flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .flat_map(|text| {
            text.lines()
                .filter(|line| line.contains("file uploaded") && line.contains(&needle))
                .filter_map(|line| {
                    let value = line.split("scan_ms=").nth(1)?.split_whitespace().next()?;
                    value.parse::<f64>().ok()
                })
                .collect::<Vec<_>>()
        })
        .last()
        .map(|ms| ms / 1000.0)
}

struct Report {
    bytes: u64,
    uploads: [Measured; 2],
    daemon_scan_s: [Option<f64>; 2],
    scan: ScanRate,
    idle_hwm_kb: u64,
    load_before: String,
    load_after: String,
}

fn print_report(report: &Report) {
    let mb_of_kb = |kb: u64| kb as f64 * 1024.0 / MB;
    let mb = report.bytes as f64 / MB;
    println!();
    println!(
        "| upload | MB | seconds | MB/s | answer after the client's last write (s) | daemon CPU s | daemon RSS before → peak (MB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for m in &report.uploads {
        let seconds = m.answer.answered_after.as_secs_f64();
        println!(
            "| {} | {mb:.1} | {seconds:.2} | {:.0} | {:.2} | {:.2} | {:.1} → {:.1} |",
            m.label,
            mb / seconds,
            (m.answer.answered_after - m.answer.sent_after).as_secs_f64(),
            m.cpu_s,
            mb_of_kb(m.rss_before_kb),
            mb_of_kb(m.peak_kb),
        );
    }
    println!();
    println!("| metadata scan (`gcode::scan_path`) | MB/s | seconds |");
    println!("|---|---:|---:|");
    println!(
        "| this benchmark, on the source file (page cache warm) | {:.0} | {:.2} |",
        mb / report.scan.seconds,
        report.scan.seconds
    );
    for (m, seconds) in report.uploads.iter().zip(report.daemon_scan_s) {
        match seconds {
            Some(s) if s > 0.0 => println!(
                "| the daemon, inside {} (from its log) | {:.0} | {s:.2} |",
                m.label,
                mb / s
            ),
            _ => println!("| the daemon, inside {} | — | not in its log |", m.label),
        }
    }
    println!();
    for m in &report.uploads {
        let how = if m.hwm_reset {
            "VmHWM reset before the upload and read after it"
        } else {
            "VmHWM could not be reset: the largest VmRSS sampled"
        };
        println!(
            "{}: peak is {how}; VmRSS sampled every 10 ms peaked at {:.1} MB ({} readings)",
            m.label,
            mb_of_kb(m.sampled_peak_kb),
            m.samples
        );
    }
    println!(
        "daemon peak RSS before any upload (VmHWM since start): {:.1} MB",
        mb_of_kb(report.idle_hwm_kb)
    );
    println!(
        "scan found {} layers and {} M73 hints; MB = 10^6 bytes; load average {} before, {} after",
        report.scan.layers, report.scan.hints, report.load_before, report.load_after
    );
}
