//! Many printers at once through a real daemon: `gantry-sim --count N` in one process,
//! `gantry serve --serial ...` in another, jobs started and followed over the HTTP API, and
//! the daemon's CPU time and peak memory read from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bounds::Bounds;
use crate::http::{expect_success, Api};
use crate::single::Case;
use crate::timestamp;
use crate::workload::Workload;
use printer::procfs;

/// Where the two programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    pub gantry: PathBuf,
    pub sim: PathBuf,
}

#[derive(Debug, Clone)]
pub struct PrinterResult {
    pub id: i64,
    pub seconds: f64,
    pub rate: f64,
    pub ratio: f64,
}

#[derive(Debug, Clone)]
pub struct FleetOutcome {
    pub limit: f64,
    pub printers: Vec<PrinterResult>,
    pub lines: usize,
    /// Daemon CPU seconds (user + system) from the first job start to the last job's end.
    pub cpu_seconds: f64,
    /// The simulators' CPU seconds over the same span: they share the machine with the daemon.
    pub sim_cpu_seconds: f64,
    pub wall_seconds: f64,
    pub peak_rss_kb: u64,
    /// Peak RSS before any job started: what 32 idle printers cost.
    pub idle_rss_kb: u64,
}

impl FleetOutcome {
    pub fn cpu_per_10k_lines(&self) -> f64 {
        self.cpu_seconds / self.lines as f64 * 10_000.0
    }
}

/// Kills its process when dropped, so a failed run leaves nothing behind.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: signalling our own child, which we have not waited for yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(
    programs: &Programs,
    count: usize,
    case: Case,
    workload: &Workload,
    file: &Path,
    dir: &Path,
) -> Result<FleetOutcome, String> {
    let links = dir.join("links");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;

    let sim = start_sims(programs, count, case, &links, dir)?;
    let daemon = start_daemon(programs, count, case, &links, &data, dir)?;
    let pid = daemon.0.id();
    let api = Api {
        port: wait_for_port(&data, &daemon)?,
    };

    let ids = wait_ready(&api, count, Duration::from_secs(60))?;
    let body = std::fs::read(file).map_err(|e| e.to_string())?;
    let upload = api.post(
        "/api/v1/files?name=bench.gcode&overwrite=true",
        "application/octet-stream",
        &body,
    );
    let upload = upload.map_err(|e| format!("upload: {e}"))?;
    expect_success("upload", &upload).map_err(|e| e.to_string())?;
    let file_id = upload.json().map_err(|e| e.to_string())?["id"]
        .as_i64()
        .ok_or("the upload answer has no id")?;

    let idle_rss_kb = procfs::status_kb(pid, "VmHWM").map_err(|e| e.to_string())?;
    let cpu_before = procfs::cpu_seconds(pid).map_err(|e| e.to_string())?;
    let sim_cpu_before = procfs::cpu_seconds(sim.0.id()).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let request = format!("{{\"file_id\":{file_id}}}");
    for id in &ids {
        let path = format!("/api/v1/printers/{id}/job");
        let answer = api
            .post(&path, "application/json", request.as_bytes())
            .map_err(|e| format!("{path}: {e}"))?;
        expect_success(&path, &answer).map_err(|e| e.to_string())?;
    }

    let bounds = Bounds::new(
        &workload.commands,
        case.baud,
        case.latency,
        case.advanced_ok,
    );
    let limit = bounds.limit(case.advanced_ok);
    let patience = Duration::from_secs_f64(workload.commands.len() as f64 / limit * 4.0 + 60.0);
    wait_all_done(&api, patience)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = procfs::cpu_seconds(pid).map_err(|e| e.to_string())? - cpu_before;
    let sim_cpu_seconds =
        procfs::cpu_seconds(sim.0.id()).map_err(|e| e.to_string())? - sim_cpu_before;
    let peak_rss_kb = procfs::status_kb(pid, "VmHWM").map_err(|e| e.to_string())?;

    let mut printers = Vec::with_capacity(ids.len());
    for id in ids {
        let jobs = api
            .get_json(&format!("/api/v1/printers/{id}/jobs?limit=1"))
            .map_err(|e| e.to_string())?;
        let job = &jobs[0];
        let state = job["state"].as_str().unwrap_or("?");
        if state != "finished" {
            return Err(format!(
                "printer {id}: the job ended {state}: {}",
                job["message"]
            ));
        }
        let start = job["started_at"].as_str().and_then(timestamp::parse);
        let end = job["ended_at"].as_str().and_then(timestamp::parse);
        let (Some(start), Some(end)) = (start, end) else {
            return Err(format!(
                "printer {id}: the job has no start or end time: {job}"
            ));
        };
        let seconds = end - start;
        let rate = workload.commands.len() as f64 / seconds;
        printers.push(PrinterResult {
            id,
            seconds,
            rate,
            ratio: rate / limit,
        });
    }
    drop(daemon);
    drop(sim);
    Ok(FleetOutcome {
        limit,
        lines: printers.len() * workload.commands.len(),
        printers,
        cpu_seconds,
        sim_cpu_seconds,
        wall_seconds,
        peak_rss_kb,
        idle_rss_kb,
    })
}

fn log_file(dir: &Path, name: &str) -> Result<Stdio, String> {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .map(Stdio::from)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn start_sims(
    programs: &Programs,
    count: usize,
    case: Case,
    links: &Path,
    dir: &Path,
) -> Result<Reaped, String> {
    let mut command = Command::new(&programs.sim);
    command
        .arg("--count")
        .arg(count.to_string())
        .arg("--link-dir")
        .arg(links)
        .arg("--baud")
        .arg(case.baud.to_string())
        .arg("--buffer")
        .arg(case.buffer.to_string())
        .arg("--latency-ms")
        .arg(case.latency.as_millis().to_string())
        .arg("--planner-drain-ms")
        .arg("0");
    if !case.advanced_ok {
        command.arg("--no-advanced-ok");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log_file(dir, "gantry-sim.log")?)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", programs.sim.display()))?;
    let stdout = child.stdout.take();
    let sim = Reaped(child);
    // It prints one line per printer once all are up.
    let mut lines = BufReader::new(stdout.ok_or("no stdout from gantry-sim")?).lines();
    for index in 0..count {
        match lines.next() {
            Some(Ok(line)) if line.starts_with(&format!("printer {index}:")) => {}
            other => {
                return Err(format!(
                    "gantry-sim did not start printer {index}: {other:?}"
                ))
            }
        }
    }
    Ok(sim)
}

fn start_daemon(
    programs: &Programs,
    count: usize,
    case: Case,
    links: &Path,
    data: &Path,
    dir: &Path,
) -> Result<Reaped, String> {
    let mut command = Command::new(&programs.gantry);
    command
        .arg("--port")
        .arg("0")
        .arg("--data-dir")
        .arg(data)
        .arg("serve");
    for index in 0..count {
        let port = links.join(format!("printer-{index}"));
        command
            .arg("--serial")
            .arg(format!("{}@{}", port.display(), case.baud));
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(log_file(dir, "gantry.out")?)
        .stderr(log_file(dir, "gantry.err")?)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", programs.gantry.display()))?;
    Ok(Reaped(child))
}

/// The daemon writes `daemon.json` with the port it bound once it serves.
fn wait_for_port(data: &Path, daemon: &Reaped) -> Result<u16, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let runtime = data.join("daemon.json");
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&runtime) {
            if let Ok(info) = serde_json::from_str::<serde_json::Value>(&text) {
                let pid = info["pid"].as_u64();
                if let (Some(port), true) =
                    (info["port"].as_u64(), pid == Some(u64::from(daemon.0.id())))
                {
                    return u16::try_from(port).map_err(|e| e.to_string());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "the daemon never wrote {} (see gantry.err)",
        runtime.display()
    ))
}

/// The ids of the printers once `count` of them are ready.
fn wait_ready(api: &Api, count: usize, patience: Duration) -> Result<Vec<i64>, String> {
    let deadline = Instant::now() + patience;
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(list) = api.get_json("/api/v1/printers") {
            let printers = list.as_array().cloned().unwrap_or_default();
            let ready: Vec<i64> = printers
                .iter()
                .filter(|p| p["state"] == "ready")
                .filter_map(|p| p["id"].as_i64())
                .collect();
            if ready.len() >= count {
                return Ok(ready);
            }
            last = format!("{} of {} printers ready", ready.len(), printers.len());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("the printers never became ready: {last}"))
}

fn wait_all_done(api: &Api, patience: Duration) -> Result<(), String> {
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        let list = api
            .get_json("/api/v1/printers")
            .map_err(|e| e.to_string())?;
        let printers = list.as_array().cloned().unwrap_or_default();
        if printers.iter().all(|p| p["job"].is_null()) {
            return Ok(());
        }
    }
    Err(format!("the jobs did not end within {patience:?}"))
}
