//! Runtime fault injection: knobs and one-shot actions that tests and benchmarks turn while a
//! simulated printer runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::SimConfig;
use crate::wait::Waker;

/// The knobs a running printer can change at any time. The firmware sees a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSettings {
    /// Time spent on every command before answering it.
    pub command_latency: Duration,
    /// UART pacing (bytes/s = baud / 10); `None` = unpaced.
    pub baud: Option<u32>,
    /// Command queue size (`BUFSIZE`).
    pub rx_buffer_lines: usize,
    /// `ok N.. P.. B..` instead of `ok`.
    pub advanced_ok: bool,
    /// Probability of corrupting a received checksummed line.
    pub corrupt_rate: f64,
    /// Corrupt every n-th numbered line received.
    pub resend_every: Option<u32>,
    /// Send every resend request twice.
    pub duplicate_resend: bool,
    /// Send resend requests without the `ok` after them.
    pub resend_without_ok: bool,
    /// A hung firmware: input is discarded, nothing runs, nothing is sent.
    pub silent: bool,
}

impl FaultSettings {
    /// The starting values of a printer built from `config`.
    pub fn from_config(config: &SimConfig) -> Self {
        Self {
            command_latency: config.command_latency,
            baud: config.baud,
            rx_buffer_lines: config.rx_buffer_lines,
            advanced_ok: config.advanced_ok,
            corrupt_rate: config.corrupt_rate,
            resend_every: config.resend_every,
            duplicate_resend: config.duplicate_resend,
            resend_without_ok: config.resend_without_ok,
            silent: false,
        }
    }
}

/// Things that happen once, at the moment they are requested.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// The firmware is busy for this long (`echo:busy: processing`), holding back its answers.
    BusyFor(Duration),
    /// A fatal firmware error: `Error:<reason>`, then `Error:Printer halted. kill() called!`.
    Fatal(String),
    /// A reset (like DTR): the firmware reboots and prints `start` again.
    Reset,
    /// The USB cable is pulled: the pty hangs up, so the client's reads and writes fail.
    Disconnect,
    /// The cable is plugged back: a fresh pty, a freshly booted firmware, the link updated.
    Reconnect,
    /// Disconnect, then reconnect after this long.
    UnplugFor(Duration),
}

/// Handle to a running printer's faults. Cheap to clone; every change wakes the printer.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Mutex<FaultSettings>,
    actions: Mutex<Vec<FaultAction>>,
    changed: AtomicBool,
    waker: Waker,
}

impl Faults {
    pub(crate) fn new(settings: FaultSettings) -> std::io::Result<Self> {
        Ok(Self {
            inner: Arc::new(Inner {
                settings: Mutex::new(settings),
                actions: Mutex::new(Vec::new()),
                changed: AtomicBool::new(true),
                waker: Waker::new()?,
            }),
        })
    }

    /// The current knobs.
    pub fn settings(&self) -> FaultSettings {
        lock(&self.inner.settings).clone()
    }

    /// Changes any knobs at once.
    pub fn update(&self, change: impl FnOnce(&mut FaultSettings)) {
        change(&mut lock(&self.inner.settings));
        self.inner.changed.store(true, Ordering::Release);
        self.inner.waker.wake();
    }

    /// Processing time per command.
    pub fn set_latency(&self, latency: Duration) {
        self.update(|s| s.command_latency = latency);
    }

    /// UART pacing; `None` = unpaced.
    pub fn set_baud(&self, baud: Option<u32>) {
        self.update(|s| s.baud = baud);
    }

    /// Command queue size.
    pub fn set_buffer_lines(&self, lines: usize) {
        self.update(|s| s.rx_buffer_lines = lines);
    }

    /// `ADVANCED_OK` on or off.
    pub fn set_advanced_ok(&self, on: bool) {
        self.update(|s| s.advanced_ok = on);
    }

    /// Probability of corrupting a received checksummed line.
    pub fn set_corrupt_rate(&self, rate: f64) {
        self.update(|s| s.corrupt_rate = rate);
    }

    /// Corrupt every n-th numbered line.
    pub fn set_resend_every(&self, every: Option<u32>) {
        self.update(|s| s.resend_every = every);
    }

    /// Send every resend request twice.
    pub fn set_duplicate_resend(&self, on: bool) {
        self.update(|s| s.duplicate_resend = on);
    }

    /// Send resend requests without their `ok`.
    pub fn set_resend_without_ok(&self, on: bool) {
        self.update(|s| s.resend_without_ok = on);
    }

    /// Stop answering (and stop reading) until turned off again.
    pub fn set_silent(&self, on: bool) {
        self.update(|s| s.silent = on);
    }

    /// Be busy for `duration`: the running (or an internal) command holds its answer and
    /// `echo:busy: processing` keeps the link alive.
    pub fn busy_for(&self, duration: Duration) {
        self.act(FaultAction::BusyFor(duration));
    }

    /// Thermal runaway on the hotend: a fatal error, the printer halts.
    pub fn thermal_runaway(&self) {
        self.act(FaultAction::Fatal(
            "Thermal Runaway, system stopped! Heater_ID: 0".to_owned(),
        ));
    }

    /// Any fatal error: `Error:<reason>`, then the printer halts.
    pub fn fatal(&self, reason: impl Into<String>) {
        self.act(FaultAction::Fatal(reason.into()));
    }

    /// Reset the firmware as a DTR pulse would.
    pub fn reset(&self) {
        self.act(FaultAction::Reset);
    }

    /// Hang up the pty like a pulled USB cable.
    pub fn disconnect(&self) {
        self.act(FaultAction::Disconnect);
    }

    /// Plug back in: a fresh pty (and link) with a freshly booted firmware.
    pub fn reconnect(&self) {
        self.act(FaultAction::Reconnect);
    }

    /// Disconnect now and reconnect after `duration`.
    pub fn unplug_for(&self, duration: Duration) {
        self.act(FaultAction::UnplugFor(duration));
    }

    /// Queues a one-shot action.
    pub fn act(&self, action: FaultAction) {
        lock(&self.inner.actions).push(action);
        self.inner.waker.wake();
    }

    /// The knobs, if they changed since the last call.
    pub(crate) fn take_changed(&self) -> Option<FaultSettings> {
        self.inner
            .changed
            .swap(false, Ordering::AcqRel)
            .then(|| self.settings())
    }

    pub(crate) fn take_actions(&self) -> Vec<FaultAction> {
        std::mem::take(&mut *lock(&self.inner.actions))
    }

    pub(crate) fn waker(&self) -> &Waker {
        &self.inner.waker
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked: every writer replaces
/// plain values, so a poisoned guard is still safe to use.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
