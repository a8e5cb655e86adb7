//! The daemon's CPU time and memory, read from `/proc` while it works: the readings shared
//! with the streaming benchmark, and a sampler for the peak during an upload.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use printer::procfs::{cpu_seconds, load_average, reset_peak, status_kb};

/// How often the sampler reads `VmRSS` during an upload.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

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
