//! How a simulated printer is built: identity, link, buffers and the heater model.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that shapes one simulated printer.
///
/// The default is a well-behaved Marlin 2 paced like a 115200 baud UART, with
/// temperature autoreport, the emergency parser and `ADVANCED_OK` on, and no faults. The
/// fields from `command_latency` to `resend_without_ok` are only starting values: they can be
/// changed while the printer runs through [`Faults`](super::Faults).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// `MACHINE_TYPE` in the `M115` report.
    pub name: String,
    /// `UUID` in the `M115` report: a stable identity across reconnects.
    pub uuid: String,
    /// If set, a symlink to the slave pty is (re)created here, so the path survives reconnects.
    pub link: Option<PathBuf>,
    /// Byte pacing like a real UART (bytes/s = baud / 10) in both directions; `None` = unpaced.
    pub baud: Option<u32>,
    /// Time the firmware spends on every command before answering it.
    pub command_latency: Duration,
    /// Marlin's `BUFSIZE`: lines the command queue holds; the reader stops while it is full.
    pub rx_buffer_lines: usize,
    /// Size of the serial receive buffer in bytes (Marlin's `RX_BUFFER_SIZE`); bytes that arrive
    /// while it is full are lost, as on a real UART. `None` = unbounded.
    pub rx_buffer_bytes: Option<usize>,
    /// Moves the planner holds (Marlin's `BLOCK_BUFFER_SIZE`).
    pub planner_blocks: usize,
    /// Time one move occupies the planner: the drain rate of the motion queue.
    pub planner_drain: Duration,
    /// Time `G28` takes once the planner is empty.
    pub home_duration: Duration,
    /// `ok N<line> P<planner free> B<buffer free>` instead of a bare `ok`.
    pub advanced_ok: bool,
    /// `Cap:AUTOREPORT_TEMP` and `M155` support.
    pub autoreport_temp: bool,
    /// `Cap:EMERGENCY_PARSER`: `M112`, `M108` and `M410` act as soon as they are received.
    pub emergency_parser: bool,
    /// Interval of `echo:busy: processing` while a command runs long (`M113 S<n>` changes it).
    pub keepalive: Duration,
    /// Time between power-on (or reset) and the `start` banner; bytes received before are lost.
    pub boot_delay: Duration,
    /// Room temperature in °C, where heaters start and cool down to.
    pub ambient: f64,
    /// Hotend heating rate: the fraction of the distance to the target closed per second.
    pub heat_rate: f64,
    /// Bed heating rate, as `heat_rate`.
    pub bed_heat_rate: f64,
    /// Cooling rate towards the lower target or ambient, as `heat_rate`.
    pub cool_rate: f64,
    /// `M109`/`M190` consider the target reached within this many °C (`TEMP_WINDOW`).
    pub temp_window: f64,
    /// Time `M109`/`M190` keep waiting once within the window (`TEMP_RESIDENCY_TIME`).
    pub temp_residency: Duration,
    /// Seed of the fault RNG, so corrupted lines are reproducible.
    pub seed: u64,
    /// Probability that a received checksummed line is corrupted (→ checksum error and resend).
    pub corrupt_rate: f64,
    /// Corrupt every n-th numbered line received (a forced resend); `None` = never.
    pub resend_every: Option<u32>,
    /// Every resend request is sent twice.
    pub duplicate_resend: bool,
    /// Resend requests are not followed by `ok`.
    pub resend_without_ok: bool,
    /// Keep the list behind [`SimPrinter::accepted_lines`](super::SimPrinter::accepted_lines);
    /// off for long benchmark runs nobody inspects.
    pub record_accepted: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            name: "Gantry Simulator".to_owned(),
            uuid: "5a1e7c1d-0000-4000-8000-000000000000".to_owned(),
            link: None,
            baud: Some(115_200),
            command_latency: Duration::from_millis(1),
            rx_buffer_lines: 4,
            rx_buffer_bytes: None,
            planner_blocks: 16,
            planner_drain: Duration::from_millis(20),
            home_duration: Duration::from_secs(2),
            advanced_ok: true,
            autoreport_temp: true,
            emergency_parser: true,
            keepalive: Duration::from_secs(1),
            boot_delay: Duration::ZERO,
            ambient: 22.0,
            heat_rate: 0.12,
            bed_heat_rate: 0.05,
            cool_rate: 0.02,
            temp_window: 1.0,
            temp_residency: Duration::from_secs(3),
            seed: 0x5eed,
            corrupt_rate: 0.0,
            resend_every: None,
            duplicate_resend: false,
            resend_without_ok: false,
            record_accepted: true,
        }
    }
}
