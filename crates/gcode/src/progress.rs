//! Job progress: percent by bytes acknowledged, and an ETA that starts from the slicer's
//! estimate and leans on the observed pace as the print goes on.
//!
//! Time is passed in, never read here, so the arithmetic is testable and deterministic.

use std::time::Duration;

/// Fraction of the file acknowledged, 0.0–1.0. An empty file is complete.
pub fn fraction(done_bytes: u64, total_bytes: u64) -> f64 {
    if total_bytes == 0 {
        return 1.0;
    }
    (done_bytes as f64 / total_bytes as f64).clamp(0.0, 1.0)
}

/// Percent of the file acknowledged, 0.0–100.0.
pub fn percent(done_bytes: u64, total_bytes: u64) -> f64 {
    fraction(done_bytes, total_bytes) * 100.0
}

/// What is known when an ETA is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EtaInput {
    /// Printing time so far, pauses excluded by the caller.
    pub elapsed: Duration,
    /// Fraction done by bytes, see [`fraction`].
    pub fraction: f64,
    /// The slicer's estimate for the whole print (header time).
    pub slicer_total: Option<Duration>,
    /// The slicer's time left at the current point (the last `M73 R`), when the file has hints.
    pub slicer_remaining: Option<Duration>,
}

/// Bounds on how far the observed pace may scale the slicer's estimate: heating at the start
/// and pauses the caller could not exclude must not make the ETA swing wildly.
const MIN_PACE: f64 = 0.5;
const MAX_PACE: f64 = 3.0;

/// The time left, or `None` when there is nothing to base it on yet.
///
/// With a slicer estimate: its remaining time, scaled by how much slower or faster the print has
/// been than the slicer thought so far, trusted in proportion to how far the print is. Without
/// one: the elapsed time extrapolated by bytes.
pub fn eta(input: &EtaInput) -> Option<Duration> {
    let f = if input.fraction.is_finite() {
        input.fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if f >= 1.0 {
        return Some(Duration::ZERO);
    }
    let elapsed = input.elapsed.as_secs_f64();
    let total = input.slicer_total.map(|d| d.as_secs_f64());
    let remaining = input
        .slicer_remaining
        .map(|d| d.as_secs_f64())
        .or_else(|| total.map(|t| t * (1.0 - f)));

    let Some(remaining) = remaining else {
        if f <= 0.0 || elapsed <= 0.0 {
            return None;
        }
        return Some(Duration::from_secs_f64(elapsed * (1.0 - f) / f));
    };
    // How far through the print the slicer would say we are, by its own clock.
    let slicer_elapsed = match total {
        Some(t) if t > remaining => t - remaining,
        _ => return Some(Duration::from_secs_f64(remaining)),
    };
    let Some(total) = total.filter(|t| *t > 0.0) else {
        return Some(Duration::from_secs_f64(remaining));
    };
    let pace = if slicer_elapsed > 0.0 && elapsed > 0.0 {
        (elapsed / slicer_elapsed).clamp(MIN_PACE, MAX_PACE)
    } else {
        1.0
    };
    let weight = (slicer_elapsed / total).clamp(0.0, 1.0);
    let blended = remaining * (1.0 - weight) + remaining * pace * weight;
    Some(Duration::from_secs_f64(blended.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn percent_by_bytes() {
        assert_eq!(percent(50, 200), 25.0);
        assert_eq!(percent(300, 200), 100.0);
        assert_eq!(percent(0, 0), 100.0);
    }

    #[test]
    fn slicer_estimate_at_start() {
        let e = eta(&EtaInput {
            slicer_total: Some(secs(3600)),
            ..EtaInput::default()
        });
        assert_eq!(e, Some(secs(3600)));
    }

    #[test]
    fn on_pace_keeps_the_slicer_remaining() {
        let e = eta(&EtaInput {
            elapsed: secs(1800),
            fraction: 0.4,
            slicer_total: Some(secs(3600)),
            slicer_remaining: Some(secs(1800)),
        })
        .unwrap();
        assert_eq!(e.as_secs(), 1800);
    }

    #[test]
    fn slow_print_stretches_the_estimate_by_progress() {
        // Half way by the slicer's clock, but it took twice as long: weight 0.5, pace 2.
        let e = eta(&EtaInput {
            elapsed: secs(3600),
            fraction: 0.5,
            slicer_total: Some(secs(3600)),
            slicer_remaining: Some(secs(1800)),
        })
        .unwrap();
        assert_eq!(e.as_secs(), 2700);
    }

    #[test]
    fn pace_is_bounded() {
        let e = eta(&EtaInput {
            elapsed: secs(100_000),
            fraction: 0.9,
            slicer_total: Some(secs(1000)),
            slicer_remaining: Some(secs(100)),
        })
        .unwrap();
        assert_eq!(e.as_secs(), 100 / 10 + 100 * 3 * 9 / 10);
    }

    #[test]
    fn without_slicer_extrapolates_bytes() {
        let e = eta(&EtaInput {
            elapsed: secs(600),
            fraction: 0.25,
            ..EtaInput::default()
        });
        assert_eq!(e, Some(secs(1800)));
        assert_eq!(eta(&EtaInput::default()), None);
        let done = EtaInput {
            fraction: 1.0,
            ..EtaInput::default()
        };
        assert_eq!(eta(&done), Some(Duration::ZERO));
    }

    #[test]
    fn remaining_only() {
        let e = eta(&EtaInput {
            elapsed: secs(10),
            fraction: 0.1,
            slicer_remaining: Some(secs(500)),
            ..EtaInput::default()
        });
        assert_eq!(e, Some(secs(500)));
    }
}
