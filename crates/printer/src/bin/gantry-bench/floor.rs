//! The floor for one line in flight: a host that only writes each framed line and blocks until
//! its `ok`, against the same simulator over the same pty. What it loses to the bound is this
//! machine's (pty hand-offs, thread wake-ups), not the driver's, so the gap between its ratio
//! and the driver's is what the driver itself costs.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use printer::sim::SimPrinter;

use crate::bounds::FIRST_JOB_LINE;
use crate::single::{sim_config, Case};
use crate::workload::Workload;

/// Lines per second the bare host achieved for `workload`.
pub fn run(case: Case, workload: &Workload, dir: &Path) -> Result<f64, String> {
    let link = dir.join(format!("floor-{}-{}", case.baud, case.buffer));
    let sim = SimPrinter::spawn(sim_config(case, &link))
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
    let mut port = serialport::new(link.to_string_lossy(), case.baud)
        .timeout(Duration::from_secs(5))
        .open()
        .map_err(|e| format!("cannot open the simulator's port: {e}"))?;
    let mut host = BareHost {
        port: &mut *port,
        pending: Vec::new(),
    };
    let reset = FIRST_JOB_LINE - 1;
    host.round_trip(&marlin::frame(reset, &format!("M110 N{reset}")))
        .map_err(|e| format!("the simulator did not answer M110: {e}"))?;

    let started = Instant::now();
    for (n, command) in (FIRST_JOB_LINE..).zip(&workload.commands) {
        host.round_trip(&marlin::frame(n, command))
            .map_err(|e| format!("line {n} ({command}): {e}"))?;
    }
    let seconds = started.elapsed().as_secs_f64();

    let accepted = sim.accepted_lines();
    sim.stop();
    if !accepted.ends_with(&workload.commands) {
        return Err("the simulator's record does not end with the file's lines".into());
    }
    Ok(workload.commands.len() as f64 / seconds)
}

struct BareHost<'a> {
    port: &'a mut dyn serialport::SerialPort,
    /// Bytes read past the last complete line.
    pending: Vec<u8>,
}

impl BareHost<'_> {
    /// Writes one line and reads until an `ok`; anything but `ok` or chatter is an error,
    /// since this host has no resend logic and the simulator injects no faults.
    fn round_trip(&mut self, line: &str) -> io::Result<()> {
        self.port.write_all(line.as_bytes())?;
        let mut buf = [0u8; 256];
        loop {
            while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let answer: Vec<u8> = self.pending.drain(..=end).collect();
                if answer.starts_with(b"ok") {
                    return Ok(());
                }
                if answer.starts_with(b"Error") || answer.starts_with(b"Resend") {
                    return Err(io::Error::other(
                        String::from_utf8_lossy(&answer).trim_end().to_owned(),
                    ));
                }
            }
            let n = self.port.read(&mut buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}
