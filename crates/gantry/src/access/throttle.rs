//! Slows password guessing: per source address and per account, with exponential backoff and
//! a lockout after repeated failures, and only one attempt in flight per address or account
//! (a PAM check takes seconds, so parallel guesses would otherwise slip past the count).
//!
//! Time is passed in, so the rules can be tested without waiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::settings::ThrottleSettings;

/// Entries beyond this many are pruned of the ones that have gone quiet.
const PRUNE_ABOVE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Account(String),
}

#[derive(Debug, Default)]
struct Entry {
    failures: u32,
    last_failure: Option<Instant>,
    locked_until: Option<Instant>,
    in_flight: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// Too soon after a failure, or another attempt is still being checked.
    Wait(Duration),
    /// Locked after too many failures.
    Locked(Duration),
}

impl Refusal {
    pub fn retry_after(&self) -> Duration {
        match *self {
            Refusal::Wait(d) | Refusal::Locked(d) => d,
        }
    }
}

/// What a finished failure led to, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    Counted,
    /// This failure locked the address, the account, or both.
    LockedOut,
}

#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// One admitted attempt. Dropping it without [`Attempt::succeeded`] or [`Attempt::failed`]
/// (the client went away mid-check) counts as a failure, so disconnecting does not help.
#[derive(Debug)]
pub struct Attempt {
    throttle: Arc<Throttle>,
    keys: Vec<Key>,
    settings: ThrottleSettings,
    done: bool,
}

pub fn account_key(account: &str) -> String {
    account.trim().to_lowercase()
}

impl Throttle {
    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while holding this lock leaves counters, never broken invariants; carry on.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits an attempt, or says how long to wait.
    pub fn begin(
        self: &Arc<Self>,
        address: IpAddr,
        account: &str,
        now: Instant,
        settings: &ThrottleSettings,
    ) -> Result<Attempt, Refusal> {
        let keys = vec![Key::Address(address), Key::Account(account_key(account))];
        let mut entries = self.lock();
        if entries.len() > PRUNE_ABOVE {
            let quiet = Duration::from_secs(settings.lockout_secs)
                + Duration::from_millis(settings.max_delay_ms);
            entries.retain(|_, e| {
                e.in_flight
                    || e.last_failure
                        .is_some_and(|t| now.duration_since(t) < quiet)
            });
        }
        let mut refusal: Option<Refusal> = None;
        for key in &keys {
            if let Some(entry) = entries.get(key) {
                if let Some(r) = wait_for(entry, now, settings) {
                    refusal = Some(worse(refusal, r));
                }
            }
        }
        if let Some(r) = refusal {
            return Err(r);
        }
        for key in &keys {
            entries.entry(key.clone()).or_default().in_flight = true;
        }
        Ok(Attempt {
            throttle: self.clone(),
            keys,
            settings: settings.clone(),
            done: false,
        })
    }

    fn finish(
        &self,
        keys: &[Key],
        ok: bool,
        now: Instant,
        settings: &ThrottleSettings,
    ) -> FailureOutcome {
        let mut entries = self.lock();
        let mut outcome = FailureOutcome::Counted;
        for key in keys {
            if ok {
                entries.remove(key);
                continue;
            }
            let entry = entries.entry(key.clone()).or_default();
            entry.in_flight = false;
            // A long quiet spell forgives earlier failures.
            let forgiven = Duration::from_secs(settings.lockout_secs);
            if entry
                .last_failure
                .is_some_and(|t| now.duration_since(t) >= forgiven)
            {
                entry.failures = 0;
            }
            entry.failures += 1;
            entry.last_failure = Some(now);
            if entry.failures >= settings.lockout_after
                && entry.locked_until.is_none_or(|t| t <= now)
            {
                entry.locked_until = Some(now + Duration::from_secs(settings.lockout_secs));
                entry.failures = 0;
                outcome = FailureOutcome::LockedOut;
            }
        }
        outcome
    }
}

fn wait_for(entry: &Entry, now: Instant, settings: &ThrottleSettings) -> Option<Refusal> {
    if let Some(until) = entry.locked_until.filter(|&t| t > now) {
        return Some(Refusal::Locked(until - now));
    }
    if entry.in_flight {
        return Some(Refusal::Wait(Duration::from_secs(1)));
    }
    let last = entry.last_failure?;
    if entry.failures == 0 {
        return None;
    }
    let delay = backoff(entry.failures, settings);
    let ready = last + delay;
    (ready > now).then(|| Refusal::Wait(ready - now))
}

/// `base * 2^(failures-1)`, capped.
fn backoff(failures: u32, settings: &ThrottleSettings) -> Duration {
    let factor = 1u64
        .checked_shl(failures.saturating_sub(1).min(32))
        .unwrap_or(u64::MAX);
    Duration::from_millis(
        settings
            .base_delay_ms
            .saturating_mul(factor)
            .min(settings.max_delay_ms),
    )
}

fn worse(a: Option<Refusal>, b: Refusal) -> Refusal {
    match (a, b) {
        (Some(Refusal::Locked(x)), Refusal::Locked(y)) => Refusal::Locked(x.max(y)),
        (Some(locked @ Refusal::Locked(_)), Refusal::Wait(_)) => locked,
        (_, Refusal::Locked(y)) => Refusal::Locked(y),
        (Some(Refusal::Wait(x)), Refusal::Wait(y)) => Refusal::Wait(x.max(y)),
        (None, wait) => wait,
    }
}

impl Attempt {
    pub fn succeeded(mut self, now: Instant) {
        self.done = true;
        self.throttle.finish(&self.keys, true, now, &self.settings);
    }

    pub fn failed(mut self, now: Instant) -> FailureOutcome {
        self.done = true;
        self.throttle.finish(&self.keys, false, now, &self.settings)
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.done {
            self.throttle
                .finish(&self.keys, false, Instant::now(), &self.settings);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ThrottleSettings {
        ThrottleSettings {
            base_delay_ms: 1_000,
            max_delay_ms: 8_000,
            lockout_after: 5,
            lockout_secs: 600,
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn backoff_doubles_then_locks() {
        let s = settings();
        let throttle = Arc::new(Throttle::default());
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..4 {
            let attempt = throttle.begin(A, "alice", now, &s).expect("admitted");
            assert_eq!(attempt.failed(now), FailureOutcome::Counted);
            let Err(Refusal::Wait(wait)) = throttle.begin(A, "alice", now, &s) else {
                panic!("too soon must be refused");
            };
            waits.push(wait.as_millis());
            now += wait;
        }
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000]);
        let attempt = throttle.begin(A, "alice", now, &s).expect("admitted");
        assert_eq!(attempt.failed(now), FailureOutcome::LockedOut);
        assert!(matches!(
            throttle.begin(A, "alice", now + Duration::from_secs(599), &s),
            Err(Refusal::Locked(_))
        ));
        // Locked per account: another address gets nowhere with alice either.
        assert!(matches!(
            throttle.begin(B, "Alice ", now, &s),
            Err(Refusal::Locked(_))
        ));
        // And per address: another account from A is locked too.
        assert!(matches!(
            throttle.begin(A, "bob", now, &s),
            Err(Refusal::Locked(_))
        ));
        assert!(throttle.begin(B, "bob", now, &s).is_ok());
        assert!(throttle
            .begin(A, "alice", now + Duration::from_secs(600), &s)
            .is_ok());
    }

    #[test]
    fn one_attempt_in_flight_and_success_resets() {
        let s = settings();
        let throttle = Arc::new(Throttle::default());
        let now = Instant::now();
        let first = throttle.begin(A, "alice", now, &s).expect("admitted");
        assert!(matches!(
            throttle.begin(A, "carol", now, &s),
            Err(Refusal::Wait(_))
        ));
        assert!(matches!(
            throttle.begin(B, "alice", now, &s),
            Err(Refusal::Wait(_))
        ));
        first.failed(now);
        let later = now + Duration::from_secs(1);
        throttle
            .begin(A, "alice", later, &s)
            .expect("admitted")
            .succeeded(later);
        assert!(throttle.begin(A, "alice", later, &s).is_ok());
    }

    #[test]
    fn an_abandoned_attempt_counts_as_a_failure() {
        let s = settings();
        let throttle = Arc::new(Throttle::default());
        let now = Instant::now();
        drop(throttle.begin(A, "alice", now, &s).expect("admitted"));
        assert!(matches!(
            throttle.begin(A, "alice", now, &s),
            Err(Refusal::Wait(_))
        ));
    }
}
