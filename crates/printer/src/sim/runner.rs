//! The thin I/O loop around the firmware: poll the pty master, feed the firmware paced bytes,
//! write its answers back paced, apply faults, hang up and re-plug.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags};

use super::faults::{FaultAction, Faults};
use super::firmware::Firmware;
use super::pacing::Pacer;
use super::pty::{point_link, remove_link, Pty};
use super::SimConfig;
use crate::wait::poll;

/// Bytes read off the pty but not yet "on the wire"; beyond this the host's writes back up,
/// like a USB-serial adapter's FIFO filling.
const RX_WIRE_CAP: usize = 4096;
/// Answers nobody reads are dropped beyond this, as a UART sends into the void.
const TX_BACKLOG_CAP: usize = 64 * 1024;
/// Longest sleep; only a safety net, every event has its own deadline or wake-up.
const MAX_SLEEP: Duration = Duration::from_secs(5);

/// State shared between the printer thread and its [`SimPrinter`](super::SimPrinter).
#[derive(Debug)]
pub(crate) struct Shared {
    pub accepted: Mutex<Vec<String>>,
    pub slave_path: Mutex<PathBuf>,
    /// How many times the printer has been plugged in (1 after spawn).
    pub plugged: AtomicU64,
    pub stop: AtomicBool,
}

pub(crate) struct Runner {
    config: SimConfig,
    faults: Faults,
    shared: Arc<Shared>,
    pty: Option<Pty>,
    firmware: Firmware,
    rx: Pacer,
    tx: Pacer,
    backlog: Vec<u8>,
    replug_at: Option<Instant>,
}

impl Runner {
    pub fn new(config: SimConfig, faults: Faults, shared: Arc<Shared>, pty: Pty) -> Self {
        let settings = faults.settings();
        Self {
            firmware: Firmware::new(&config, settings.clone(), Instant::now()),
            rx: Pacer::new(settings.baud),
            tx: Pacer::new(settings.baud),
            config,
            faults,
            shared,
            pty: Some(pty),
            backlog: Vec::new(),
            replug_at: None,
        }
    }

    pub fn run(mut self) {
        precise_timers();
        while !self.shared.stop.load(Ordering::Acquire) {
            let now = Instant::now();
            self.apply_faults(now);
            if self.replug_at.is_some_and(|at| at <= now) {
                self.plug(now);
            }
            if self.pty.is_some() {
                self.pump(now);
            }
            if let Err(e) = self.wait(now) {
                tracing::error!(error = %e, "simulated printer cannot poll; stopping");
                break;
            }
        }
        if let Some(link) = &self.config.link {
            remove_link(link);
        }
    }

    fn apply_faults(&mut self, now: Instant) {
        if let Some(settings) = self.faults.take_changed() {
            self.rx.set_baud(settings.baud);
            self.tx.set_baud(settings.baud);
            self.firmware.set_faults(settings, now);
        }
        for action in self.faults.take_actions() {
            tracing::debug!(?action, printer = %self.config.name, "fault");
            match action {
                FaultAction::BusyFor(d) => self.firmware.busy_for(d, now),
                FaultAction::Fatal(reason) => self.firmware.fatal(&reason, now),
                FaultAction::Reset => self.firmware.reset(now),
                FaultAction::Disconnect => self.unplug(),
                FaultAction::Reconnect => self.plug(now),
                FaultAction::UnplugFor(d) => {
                    self.unplug();
                    self.replug_at = Some(now + d);
                }
            }
        }
    }

    /// Hangs up: the master closes, so the client's reads and writes fail.
    fn unplug(&mut self) {
        self.replug_at = None;
        if self.pty.take().is_some() {
            tracing::info!(printer = %self.config.name, "simulated printer unplugged");
        }
        if let Some(link) = &self.config.link {
            remove_link(link);
        }
        self.rx = Pacer::new(self.faults.settings().baud);
        self.tx = Pacer::new(self.faults.settings().baud);
        self.backlog.clear();
    }

    /// Plugs in again: a fresh pty, the link pointed at it, the firmware rebooted.
    fn plug(&mut self, now: Instant) {
        self.unplug();
        let pty = match Pty::open() {
            Ok(pty) => pty,
            Err(e) => {
                tracing::error!(error = %e, "cannot open a new pty; trying again shortly");
                self.replug_at = Some(now + Duration::from_millis(100));
                return;
            }
        };
        if let Some(link) = &self.config.link {
            if let Err(e) = point_link(link, pty.path()) {
                tracing::error!(link = %link.display(), error = %e, "cannot update printer link");
            }
        }
        *self
            .shared
            .slave_path
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = pty.path().to_owned();
        tracing::info!(printer = %self.config.name, path = %pty.path().display(), "simulated printer plugged in");
        self.pty = Some(pty);
        self.firmware.reset(now);
        self.shared.plugged.fetch_add(1, Ordering::AcqRel);
    }

    /// Moves bytes: pty → wire → firmware → wire → pty.
    fn pump(&mut self, now: Instant) {
        let Some(pty) = &mut self.pty else { return };
        let mut buf = [0u8; 1024];
        while self.rx.len() < RX_WIRE_CAP {
            match pty.master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.rx.push(&buf[..n], now),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the pty master failed");
                    break;
                }
            }
        }
        // Each line reaches the firmware at the instant it came off the wire and each answer
        // goes on the wire at the instant the firmware produced it, so this thread waking late
        // delays nothing the link itself would not.
        while let Some((line, arrived_at)) = self.rx.pop_line(now) {
            self.firmware.receive(&line, arrived_at);
            queue_answers(&mut self.firmware, &mut self.tx);
        }
        self.firmware.advance(now);
        queue_answers(&mut self.firmware, &mut self.tx);
        self.backlog.extend(self.tx.pop_lines(now));
        while !self.backlog.is_empty() {
            match pty.master.write(&self.backlog) {
                Ok(n) => {
                    self.backlog.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(error = %e, "writing the pty master failed");
                    break;
                }
            }
        }
        if self.backlog.len() > TX_BACKLOG_CAP {
            let excess = self.backlog.len() - TX_BACKLOG_CAP;
            self.backlog.drain(..excess);
        }
        let accepted = self.firmware.take_accepted();
        if !accepted.is_empty() {
            self.shared
                .accepted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(accepted);
        }
    }

    /// Sleeps until the next deadline, pty activity or a wake-up from the handle.
    fn wait(&mut self, now: Instant) -> nix::Result<()> {
        let deadline = [
            self.pty.as_ref().and_then(|_| self.firmware.next_wakeup()),
            self.rx.next_line_ready(),
            self.tx.next_line_ready(),
            self.replug_at,
        ]
        .into_iter()
        .flatten()
        .min();
        let sleep = deadline.map_or(MAX_SLEEP, |d| {
            d.saturating_duration_since(now).min(MAX_SLEEP)
        });
        let waker = self.faults.waker();
        let mut fds = vec![PollFd::new(waker.fd(), PollFlags::POLLIN)];
        if let Some(pty) = &self.pty {
            let mut events = PollFlags::empty();
            if self.rx.len() < RX_WIRE_CAP {
                events |= PollFlags::POLLIN;
            }
            if !self.backlog.is_empty() {
                events |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(pty.master_fd(), events));
        }
        match poll(&mut fds, sleep) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            waker.drain();
        }
        Ok(())
    }
}

/// Puts the firmware's answers on the wire at the instants it produced them.
fn queue_answers(firmware: &mut Firmware, tx: &mut Pacer) {
    for (at, answer) in firmware.take_timed_output() {
        tx.push(&answer, at);
    }
}

/// Asks the kernel to wake this thread on time: byte pacing sleeps a fraction of a
/// millisecond at a time, and the default 50 µs timer slack would be added to each sleep.
#[cfg(target_os = "linux")]
fn precise_timers() {
    if let Err(e) = nix::sys::prctl::set_timerslack(1) {
        tracing::debug!(error = %e, "cannot tighten timer slack; pacing may run a little slow");
    }
}

#[cfg(not(target_os = "linux"))]
fn precise_timers() {}
