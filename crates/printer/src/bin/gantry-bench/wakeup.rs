//! How late this machine wakes a sleeping thread right now. Every streamed line needs a few
//! wake-ups (simulator and driver, each way), so on a loaded machine this, not the driver's
//! code, sets how close one-in-flight streaming gets to its bound.

use std::time::{Duration, Instant};

/// Mean and 90th percentile oversleep of `samples` 1 ms sleeps, in microseconds.
pub fn oversleep(samples: usize) -> (f64, f64) {
    let asked = Duration::from_millis(1);
    let mut late: Vec<f64> = (0..samples.max(1))
        .map(|_| {
            let start = Instant::now();
            std::thread::sleep(asked);
            start.elapsed().saturating_sub(asked).as_secs_f64() * 1e6
        })
        .collect();
    late.sort_by(f64::total_cmp);
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    (mean, late[late.len() * 9 / 10])
}
