//! What the link allows at best for a given file, computed from the bytes the driver puts on
//! the wire, so a ratio near 1 means the host wastes nothing.

use std::time::Duration;

/// The line number of the first job line: the handshake uses `N0` (`M110`), `N1` (`M115`)
/// and `N2` (`M155`).
pub const FIRST_JOB_LINE: u32 = 3;

/// Seconds one byte occupies an 8N1 wire.
fn byte_time(baud: u32) -> f64 {
    10.0 / f64::from(baud)
}

/// The limits of one link for one file.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Mean framed line length (`N<n> <cmd>*<cs>\n`), bytes.
    pub bytes_per_line: f64,
    /// Windowed mode: the wire is never idle; lines/s = (baud / 10) / bytes per line, or the
    /// answers' wire if that were slower, or the firmware's processing if slower still.
    pub windowed: f64,
    /// One line in flight: each line costs its own transmission, the firmware's latency and
    /// the `ok`'s transmission, one after another.
    pub round_trip: f64,
}

impl Bounds {
    pub fn new(commands: &[String], baud: u32, latency: Duration, advanced_ok: bool) -> Bounds {
        let byte = byte_time(baud);
        let latency = latency.as_secs_f64();
        let mut sent = 0usize;
        let mut answered = 0usize;
        let mut round_trips = 0.0;
        for (n, command) in (FIRST_JOB_LINE..).zip(commands) {
            let line = marlin::frame(n, command).len();
            // What the simulator answers: `ok N<n> P<free> B<free>` or a bare `ok`.
            let ok = if advanced_ok {
                format!("ok N{n} P16 B3\n").len()
            } else {
                3
            };
            sent += line;
            answered += ok;
            round_trips += line as f64 * byte + latency + ok as f64 * byte;
        }
        let lines = commands.len() as f64;
        let upstream = sent as f64 * byte;
        let downstream = answered as f64 * byte;
        let firmware = lines * latency;
        Bounds {
            bytes_per_line: sent as f64 / lines,
            windowed: lines / upstream.max(downstream).max(firmware),
            round_trip: lines / round_trips,
        }
    }

    /// The bound that applies: the wire's with `ADVANCED_OK`, the round trip's without.
    pub fn limit(&self, advanced_ok: bool) -> f64 {
        if advanced_ok {
            self.windowed
        } else {
            self.round_trip
        }
    }
}
