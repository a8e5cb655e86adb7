//! A first-order heater: the temperature closes a fixed fraction of its distance to the goal
//! every second. Solved exactly, so the answer never depends on how often it is asked.

use std::time::{Duration, Instant};

/// One heater (hotend or bed) and its sensor.
#[derive(Debug, Clone)]
pub struct Heater {
    temp: f64,
    target: f64,
    ambient: f64,
    heat_rate: f64,
    cool_rate: f64,
    at: Instant,
}

impl Heater {
    pub fn new(ambient: f64, heat_rate: f64, cool_rate: f64, now: Instant) -> Self {
        Self {
            temp: ambient,
            target: 0.0,
            ambient,
            heat_rate: heat_rate.max(f64::MIN_POSITIVE),
            cool_rate: cool_rate.max(f64::MIN_POSITIVE),
            at: now,
        }
    }

    /// Where the temperature heads: the target, or ambient when the heater is off.
    fn goal(&self) -> f64 {
        if self.target > 0.0 {
            self.target.max(self.ambient)
        } else {
            self.ambient
        }
    }

    fn rate(&self) -> f64 {
        if self.temp <= self.goal() {
            self.heat_rate
        } else {
            self.cool_rate
        }
    }

    /// Moves the model forward to `now`; earlier instants are ignored.
    pub fn advance(&mut self, now: Instant) {
        let Some(dt) = now.checked_duration_since(self.at) else {
            return;
        };
        let goal = self.goal();
        self.temp = goal + (self.temp - goal) * (-self.rate() * dt.as_secs_f64()).exp();
        self.at = now;
    }

    pub fn set_target(&mut self, target: f64, now: Instant) {
        self.advance(now);
        self.target = target.max(0.0);
    }

    pub fn temp(&self) -> f64 {
        self.temp
    }

    pub fn target(&self) -> f64 {
        self.target
    }

    /// PWM duty (0–127) as Marlin reports it after `@:`.
    pub fn power(&self) -> u8 {
        if self.target <= 0.0 {
            return 0;
        }
        // Holding power grows with the lift above ambient; the gap adds proportional drive.
        let hold = (self.target - self.ambient).max(0.0) * 0.2;
        let drive = (self.target - self.temp) * 8.0;
        (hold + drive).clamp(0.0, 127.0) as u8
    }

    /// How long until the temperature is within `window` of the target; `None` if it never
    /// gets there (heater off or target below ambient).
    pub fn time_to_reach(&self, window: f64) -> Option<Duration> {
        let gap = (self.temp - self.target).abs();
        if gap <= window {
            return Some(Duration::ZERO);
        }
        if self.target <= 0.0 || self.target < self.ambient - window {
            return None;
        }
        let seconds = (gap / window).ln() / self.rate();
        Duration::try_from_secs_f64(seconds).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approaches_target_then_cools_to_ambient() {
        let t0 = Instant::now();
        let mut h = Heater::new(22.0, 0.1, 0.05, t0);
        h.set_target(200.0, t0);
        h.advance(t0 + Duration::from_secs(5));
        let warm = h.temp();
        assert!(warm > 22.0 && warm < 200.0);
        h.advance(t0 + Duration::from_secs(120));
        assert!((h.temp() - 200.0).abs() < 0.01);
        h.set_target(0.0, t0 + Duration::from_secs(120));
        h.advance(t0 + Duration::from_secs(1000));
        assert!((h.temp() - 22.0).abs() < 0.1);
    }

    #[test]
    fn same_answer_whatever_the_step() {
        let t0 = Instant::now();
        let mut coarse = Heater::new(22.0, 0.1, 0.05, t0);
        let mut fine = coarse.clone();
        coarse.set_target(210.0, t0);
        fine.set_target(210.0, t0);
        for i in 1..=100 {
            fine.advance(t0 + Duration::from_millis(100 * i));
        }
        coarse.advance(t0 + Duration::from_secs(10));
        assert!((coarse.temp() - fine.temp()).abs() < 1e-9);
    }

    #[test]
    fn predicts_when_window_is_reached() {
        let t0 = Instant::now();
        let mut h = Heater::new(22.0, 0.1, 0.05, t0);
        h.set_target(200.0, t0);
        let eta = h.time_to_reach(1.0).unwrap();
        h.advance(t0 + eta + Duration::from_millis(1));
        assert!((h.temp() - 200.0).abs() <= 1.0);
        h.set_target(0.0, t0 + eta);
        assert_eq!(h.time_to_reach(1.0), None);
    }
}
