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

mod frame;
mod link;
mod response;

pub use frame::{checksum, frame};
pub use link::{Config, Direction, Event, Link, LinkError, LinkState};
pub use response::{
    parse_response, ErrorKind, FirmwareInfo, Heater, OkResponse, Position, Response, Temperatures,
};
