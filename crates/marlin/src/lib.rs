//! Sans-IO Marlin-family serial protocol core.
//!
//! The crate does no I/O, spawns no threads and reads no clock: it is fed the bytes read from the
//! serial port and the current [`std::time::Instant`], and it hands back the bytes to write
//! ([`Link::poll_transmit`]) and what happened ([`Link::poll_event`]), in the style of `quinn-proto`.
//!
//! - [`checksum`] and [`frame`] build `N<n> <cmd>*<cs>` lines.
//! - [`parse_response`] classifies one line received from the firmware.
//! - [`Link`] is the connection state machine: handshake (`M110 N0`, `M115`, `Cap:` lines),
//!   temperature autoreport or polling, numbered and checksummed streaming with a resend history,
//!   flow control (one line in flight, or a window sized from `ADVANCED_OK`), `busy:`/`wait`,
//!   firmware errors, timeouts, and the out-of-band emergency stop.
//!
//! # Driving a link
//!
//! After every input (bytes read, a timeout, a command or job line queued) write out
//! everything [`Link::poll_transmit`] returns and handle every [`Link::poll_event`]; then wait
//! for bytes until [`Link::poll_timeout`] and call [`Link::handle_timeout`] when it passes.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use marlin::{Config, Event, Link};
//!
//! let mut now = Instant::now();
//! let mut link = Link::new(Config::default(), now);
//! let mut job = ["G28", "G1 X10 Y10 F3000", "G1 X20"].into_iter().enumerate();
//! // What the port would return; a real driver reads with a timeout up to poll_timeout().
//! let mut replies = vec![
//!     "ok\n",
//!     "FIRMWARE_NAME:Marlin 2.1.2\nCap:AUTOREPORT_TEMP:1\nok\n",
//!     "ok\n", "ok\n", "ok\n", "ok\n",
//! ]
//! .into_iter();
//! let mut acked = vec![];
//! loop {
//!     while link.wants_job_line() {
//!         let Some((offset, line)) = job.next() else { break };
//!         link.push_job_line(line, offset as u64).unwrap();
//!     }
//!     while let Some(bytes) = link.poll_transmit(now) {
//!         let _ = bytes; // port.write_all(&bytes)
//!     }
//!     while let Some(event) = link.poll_event() {
//!         match event {
//!             Event::JobLineAcked { tag } => acked.push(tag),
//!             Event::LinkDead { reason } => panic!("{reason}"),
//!             _ => {}
//!         }
//!     }
//!     match replies.next() {
//!         Some(bytes) => link.handle_input(bytes.as_bytes(), now),
//!         None => break,
//!     }
//!     now += Duration::from_millis(5);
//!     if link.poll_timeout().is_some_and(|t| t <= now) {
//!         link.handle_timeout(now);
//!     }
//! }
//! assert_eq!(acked, [0, 1, 2]);
//! ```

mod frame;
mod link;
mod response;

pub use frame::{checksum, frame};
pub use link::{Config, Direction, Event, Link, LinkError, LinkState};
pub use response::{
    parse_response, ErrorKind, FirmwareInfo, Heater, OkResponse, Position, Response, Temperatures,
};
