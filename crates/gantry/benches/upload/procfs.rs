//! The daemon's CPU time and memory, read from `/proc` while it works.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the sampler reads `VmRSS` during an upload.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// CPU seconds (user + system) the process has used so far, all its threads together.
pub fn cpu_seconds(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The name in parentheses may hold spaces; the fields after it are fixed.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; the first field after the name is 3.
    let ticks = |i: usize| -> io::Result<f64> {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected /proc/{pid}/stat")))
    };
    // SAFETY: sysconf only reads a constant of the running system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((ticks(11)? + ticks(12)?) / per_second.max(1.0))
}

/// A `kB` figure from `/proc/<pid>/status`: `VmHWM` (peak resident set) or `VmRSS`.
pub fn status_kb(pid: u32, key: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no {key} in /proc/{pid}/status")))
}

/// Resets the process's `VmHWM` to its current RSS (Linux 4.0 and later), so that the next
/// reading is the peak of what happens from now on.
pub fn reset_peak(pid: u32) -> io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// Reads `VmRSS` every few milliseconds on its own thread and keeps the largest, so a peak
/// shows even if `VmHWM` was already higher before.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    peak_kb: Arc<AtomicU64>,
    samples: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kb = Arc::new(AtomicU64::new(0));
        let samples = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, peak_kb, samples) = (stop.clone(), peak_kb.clone(), samples.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(kb) = status_kb(pid, "VmRSS") {
                        peak_kb.fetch_max(kb, Ordering::Relaxed);
                        samples.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        RssSampler {
            stop,
            peak_kb,
            samples,
            thread: Some(thread),
        }
    }

    /// The largest `VmRSS` seen, in kB, and how many readings were taken.
    pub fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        (
            self.peak_kb.load(Ordering::Relaxed),
            self.samples.load(Ordering::Relaxed),
        )
    }
}
