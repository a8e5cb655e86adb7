//! The body of a printer thread: the I/O driver around the sans-IO `marlin::Link`.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use marlin::{Event, Link, LinkState};
use serialport::SerialPort;
use tokio::sync::watch;

use super::{Command, DriverConfig, State, Status};

/// Upper bound on how long the thread sleeps in a read, so that commands (an emergency stop
/// above all) are picked up promptly even when the port is quiet.
const MAX_WAIT: Duration = Duration::from_millis(10);

/// Why a connection ended.
enum Ended {
    /// The owner asked the thread to stop.
    Disconnect,
    /// The port failed or the firmware stopped answering; try again later.
    Lost(String),
}

pub(super) fn run(config: DriverConfig, inbox: Receiver<Command>, publish: watch::Sender<Status>) {
    loop {
        set(&publish, |s| {
            s.state = State::Connecting;
        });
        let ended = match open(&config) {
            Ok(port) => {
                tracing::info!(port = %config.port.display(), "port open");
                connection(&config, port, &inbox, &publish)
            }
            Err(e) => Ended::Lost(format!("cannot open {}: {e}", config.port.display())),
        };
        match ended {
            Ended::Disconnect => break,
            Ended::Lost(reason) => {
                tracing::warn!(port = %config.port.display(), %reason, "printer offline");
                set(&publish, |s| {
                    s.state = State::Offline;
                    s.error = Some(reason.clone());
                });
                if wait_or_disconnect(&inbox, config.reconnect_interval) {
                    break;
                }
            }
        }
    }
    set(&publish, |s| {
        s.state = State::Offline;
        s.error = None;
    });
    tracing::info!(port = %config.port.display(), "printer thread stopped");
}

fn open(config: &DriverConfig) -> Result<Box<dyn SerialPort>, serialport::Error> {
    let path = config.port.to_string_lossy();
    serialport::new(path, config.baud).timeout(MAX_WAIT).open()
}

/// Drives one open port until it fails or the owner disconnects.
fn connection(
    config: &DriverConfig,
    mut port: Box<dyn SerialPort>,
    inbox: &Receiver<Command>,
    publish: &watch::Sender<Status>,
) -> Ended {
    let mut link = Link::new(config.link.clone(), Instant::now());
    let mut buf = [0u8; 4096];
    loop {
        loop {
            match inbox.try_recv() {
                Ok(Command::Send(line)) => {
                    if let Err(e) = link.enqueue_command(&line) {
                        tracing::warn!(%line, error = %e, "command refused");
                    }
                }
                Ok(Command::EmergencyStop) => link.emergency_stop(),
                Ok(Command::Disconnect) | Err(TryRecvError::Disconnected) => {
                    let _ = flush(&mut link, port.as_mut());
                    return Ended::Disconnect;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        if let Err(e) = flush(&mut link, port.as_mut()) {
            return Ended::Lost(format!("writing to the printer failed: {e}"));
        }
        while let Some(event) = link.poll_event() {
            apply(publish, event);
        }
        if link.state() == LinkState::Dead {
            return Ended::Lost("the printer stopped answering".into());
        }

        let now = Instant::now();
        let wait = link
            .poll_timeout()
            .map_or(MAX_WAIT, |at| at.saturating_duration_since(now))
            .clamp(Duration::from_millis(1), MAX_WAIT);
        if let Err(e) = port.set_timeout(wait) {
            return Ended::Lost(format!("the port stopped accepting settings: {e}"));
        }
        match port.read(&mut buf) {
            Ok(0) => return Ended::Lost("the port closed".into()),
            Ok(n) => link.handle_input(&buf[..n], Instant::now()),
            Err(e) if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Ended::Lost(format!("the printer went away: {e}")),
        }
        let now = Instant::now();
        if link.poll_timeout().is_some_and(|at| at <= now) {
            link.handle_timeout(now);
        }
    }
}

fn flush(link: &mut Link, port: &mut dyn SerialPort) -> io::Result<()> {
    while let Some(bytes) = link.poll_transmit(Instant::now()) {
        port.write_all(&bytes)?;
    }
    port.flush()
}

fn apply(publish: &watch::Sender<Status>, event: Event) {
    match event {
        Event::Connected(firmware) => set(publish, |s| {
            s.state = State::Ready;
            s.error = None;
            s.firmware = Some(firmware.clone());
        }),
        Event::Temperatures(temperatures) => set(publish, |s| s.temperatures = temperatures.clone()),
        Event::FirmwareError { message, fatal: true } => set(publish, |s| {
            s.state = State::Error;
            s.error = Some(message.clone());
        }),
        Event::FirmwareError { message, fatal: false } => {
            tracing::info!(%message, "firmware reported an error it recovered from");
        }
        Event::Reset => set(publish, |s| {
            s.state = State::Connecting;
            s.error = Some("the printer restarted".into());
        }),
        Event::LinkDead { reason } => set(publish, |s| {
            s.state = State::Offline;
            s.error = Some(reason.clone());
        }),
        Event::Log { direction, line } => tracing::trace!(?direction, %line, "serial"),
        other => tracing::debug!(event = ?other, "printer event"),
    }
}

/// Applies `change` and wakes watchers only if something actually changed.
fn set(publish: &watch::Sender<Status>, change: impl FnOnce(&mut Status)) {
    publish.send_if_modified(|status| {
        let before = status.clone();
        change(status);
        *status != before
    });
}

/// Sleeps for `interval` unless a disconnect arrives first; true means stop.
fn wait_or_disconnect(inbox: &Receiver<Command>, interval: Duration) -> bool {
    let deadline = Instant::now() + interval;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match inbox.recv_timeout(left) {
            Ok(Command::Disconnect) | Err(RecvTimeoutError::Disconnected) => return true,
            Ok(other) => tracing::debug!(command = ?other, "ignored while the printer is offline"),
            Err(RecvTimeoutError::Timeout) => return false,
        }
    }
}
