//! Retry delays with jitter, so a fleet of clients that lost the cloud together does not
//! come back in lock-step.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max,
            failures: 0,
        }
    }

    /// The delay before the next attempt after one more failure. `unit` is a random number in
    /// [0, 1) (passed in so tests are deterministic): "equal jitter", half fixed, half random.
    pub fn fail(&mut self, unit: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exponent = self.failures.saturating_sub(1).min(16);
        let ceiling = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.max)
            .as_secs_f64();
        Duration::from_secs_f64(ceiling / 2.0 + ceiling / 2.0 * unit.clamp(0.0, 1.0))
    }

    pub fn succeed(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// A random number in [0, 1) for [`Backoff::fail`].
pub fn jitter() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_ceiling_and_reset() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        assert_eq!(backoff.fail(0.0), Duration::from_millis(500));
        assert_eq!(backoff.fail(1.0), Duration::from_secs(2));
        assert_eq!(backoff.fail(0.5), Duration::from_secs(3));
        for _ in 0..20 {
            backoff.fail(0.0);
        }
        assert_eq!(backoff.fail(1.0), Duration::from_secs(30));
        assert_eq!(backoff.fail(0.0), Duration::from_secs(15));
        backoff.succeed();
        assert_eq!(backoff.fail(1.0), Duration::from_secs(1));
    }
}
