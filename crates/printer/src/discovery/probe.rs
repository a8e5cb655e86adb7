//! Asking a port whether a Marlin-family printer is behind it, at which baud rate, and who it
//! says it is (`M115`).
//!
//! The probe never takes a port from another program: it first asks `/proc` who holds the
//! port (no open at all), then opens it exclusively (`TIOCEXCL` and an exclusive `flock`, both
//! done by `serialport`), which fails with `EBUSY`/`EWOULDBLOCK` when someone else has it.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use marlin::{Config, Event, FirmwareInfo, Link};
use serialport::{ClearBuffer, SerialPort};

use super::holder::{port_holder, Holder};

/// The longest a single read blocks, so the link's own timers are served on time.
const READ_SLICE: Duration = Duration::from_millis(50);
/// The shortest hello timeout, so a tiny per-baud budget still sends the hello more than once.
const MIN_HELLO_TIMEOUT: Duration = Duration::from_millis(100);

/// A printer found on a port.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    pub baud: u32,
    pub firmware: FirmwareInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Another program has the port; it was not touched.
    #[error("{} is {}", .path.display(), busy_reason(.holder))]
    Busy {
        path: PathBuf,
        /// `None` when the port is locked but the holder cannot be named (this process, or a
        /// process we may not inspect).
        holder: Option<Holder>,
    },
    #[error("no printer answered on {} at {tried:?} baud", .path.display())]
    NoAnswer { path: PathBuf, tried: Vec<u32> },
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
}

fn busy_reason(holder: &Option<Holder>) -> String {
    holder
        .as_ref()
        .map_or_else(|| "held by another program".to_owned(), Holder::to_string)
}

/// Opens `path` exclusively and tries each baud rate in turn for up to `timeout_per_baud`,
/// until the firmware answers the hello and `M115`. The port is closed again before this
/// returns. Boards that reset when the port opens (Arduino) need a budget that covers their
/// boot, a few seconds.
pub fn probe(path: &Path, bauds: &[u32], timeout_per_baud: Duration) -> Result<Probed, ProbeError> {
    if let Some(holder) = port_holder(path) {
        return Err(ProbeError::Busy {
            path: path.to_owned(),
            holder: Some(holder),
        });
    }
    let Some(&first) = bauds.first() else {
        return Err(ProbeError::NoAnswer {
            path: path.to_owned(),
            tried: Vec::new(),
        });
    };
    let io_error = |source: io::Error| ProbeError::Io {
        path: path.to_owned(),
        source,
    };
    // Exclusive access is the default (`TIOCEXCL` on Unix; Windows never shares a COM port).
    let mut port = serialport::new(path.to_string_lossy(), first)
        .timeout(READ_SLICE)
        .open()
        .map_err(|e| match e.kind() {
            // serialport reports both a TIOCEXCL refusal (EBUSY) and a held flock this way.
            serialport::ErrorKind::NoDevice => ProbeError::Busy {
                path: path.to_owned(),
                holder: port_holder(path),
            },
            _ => io_error(e.into()),
        })?;
    for &baud in bauds {
        if port.baud_rate().ok() != Some(baud) {
            port.set_baud_rate(baud).map_err(|e| io_error(e.into()))?;
        }
        // Whatever arrived at the previous rate (or before we opened) is noise now.
        port.clear(ClearBuffer::All)
            .map_err(|e| io_error(e.into()))?;
        match handshake(port.as_mut(), timeout_per_baud).map_err(io_error)? {
            Some(firmware) => {
                tracing::info!(path = %path.display(), baud, firmware = ?firmware.name, "printer found");
                return Ok(Probed { baud, firmware });
            }
            None => tracing::debug!(path = %path.display(), baud, "no answer at this baud rate"),
        }
    }
    Err(ProbeError::NoAnswer {
        path: path.to_owned(),
        tried: bauds.to_vec(),
    })
}

/// Drives a fresh link until it is connected (`Some`), or until the budget is spent, the
/// link gives up or the input is garbage (`None`: try the next rate).
fn handshake(port: &mut dyn SerialPort, budget: Duration) -> io::Result<Option<FirmwareInfo>> {
    let start = Instant::now();
    let deadline = start + budget;
    let config = Config {
        connect_timeout: (budget / 4).max(MIN_HELLO_TIMEOUT),
        hello_retries: 3,
        ..Config::default()
    };
    let mut link = Link::new(config, start);
    let mut noise = Noise::default();
    let mut buf = [0u8; 512];
    loop {
        let now = Instant::now();
        if link.poll_timeout().is_some_and(|t| t <= now) {
            link.handle_timeout(now);
        }
        while let Some(bytes) = link.poll_transmit(now) {
            port.write_all(&bytes)?;
        }
        while let Some(event) = link.poll_event() {
            match event {
                Event::Connected(firmware) => return Ok(Some(firmware)),
                Event::LinkDead { reason } => {
                    tracing::debug!(%reason, "probe link gave up");
                    return Ok(None);
                }
                _ => {}
            }
        }
        if now >= deadline {
            return Ok(None);
        }
        let wake = link.poll_timeout().map_or(deadline, |t| t.min(deadline));
        let wait = wake
            .saturating_duration_since(now)
            .clamp(Duration::from_millis(1), READ_SLICE);
        port.set_timeout(wait)?;
        match port.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => {
                if noise.feed(&buf[..n]) {
                    tracing::debug!("garbage on the line: wrong baud rate");
                    return Ok(None);
                }
                link.handle_input(&buf[..n], Instant::now());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Tells a wrong baud rate from a slow printer: at the wrong rate most bytes decode as control
/// characters or bytes above 0x7F, while Marlin only ever sends printable ASCII lines.
#[derive(Debug, Default)]
struct Noise {
    total: usize,
    bad: usize,
}

impl Noise {
    /// Bytes seen before judging, so one glitch at open is not enough.
    const SAMPLE: usize = 64;

    /// Counts `bytes`; `true` once enough has arrived and at least half of it is garbage.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        self.total += bytes.len();
        self.bad += bytes
            .iter()
            .filter(|&&b| !(b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n' | b'\t')))
            .count();
        self.total >= Self::SAMPLE && self.bad * 2 >= self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marlin_text_is_not_noise() {
        let mut noise = Noise::default();
        let text = b"start\necho:Marlin 2.1.2\nok\nFIRMWARE_NAME:Marlin 2.1.2 (Github) SOURCE_CODE_URL:x\n";
        assert!(!noise.feed(text));
        assert!(!noise.feed(text));
    }

    #[test]
    fn a_wrong_baud_rate_is_noise_once_enough_has_arrived() {
        let mut noise = Noise::default();
        let garbage = [0x00, 0xF8, 0x80, 0xFE, b'x', 0x1C, 0xE0, 0x86];
        for _ in 0..7 {
            assert!(
                !noise.feed(&garbage),
                "judged before the sample was complete"
            );
        }
        assert!(noise.feed(&garbage));
    }

    #[test]
    fn a_glitch_among_text_is_not_noise() {
        let mut noise = Noise::default();
        assert!(!noise.feed(&[0x00, 0xFF, 0xF0]));
        assert!(!noise.feed(&[b'o'; 80]));
    }

    #[test]
    fn busy_message_names_the_holder_or_says_it_cannot() {
        let named = ProbeError::Busy {
            path: "/dev/ttyUSB0".into(),
            holder: Some(Holder {
                pid: 812,
                name: "octoprint".into(),
            }),
        };
        assert_eq!(
            named.to_string(),
            "/dev/ttyUSB0 is held by octoprint (pid 812)"
        );
        let unnamed = ProbeError::Busy {
            path: "/dev/ttyUSB0".into(),
            holder: None,
        };
        assert_eq!(
            unnamed.to_string(),
            "/dev/ttyUSB0 is held by another program"
        );
    }

    #[test]
    fn no_bauds_is_no_answer_without_opening() {
        let err = probe(
            Path::new("/nonexistent/ttyUSB9"),
            &[],
            Duration::from_millis(10),
        )
        .unwrap_err();
        assert!(matches!(err, ProbeError::NoAnswer { tried, .. } if tried.is_empty()));
    }

    #[test]
    fn a_missing_port_is_an_io_error() {
        let err = probe(
            Path::new("/nonexistent/ttyUSB9"),
            &[115_200],
            Duration::from_millis(10),
        )
        .unwrap_err();
        assert!(matches!(err, ProbeError::Io { .. }), "{err:?}");
    }
}
