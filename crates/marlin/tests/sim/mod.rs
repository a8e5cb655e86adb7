//! A small Marlin model for the tests: line numbers and checksums checked the way Marlin does,
//! a command buffer of `bufsize` commands (serial input waits while it is full), one command
//! executed per step with its `ok` (`ok N<n> P<p> B<b>` with ADVANCED_OK), the serial input
//! emptied at each rejection, `M115` with capability lines, `M105`, `M155` autoreport.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use marlin::checksum;

pub struct Firmware {
    pub advanced_ok: bool,
    pub autoreport_cap: bool,
    pub bufsize: usize,
    /// The last line number accepted.
    pub last_n: u32,
    rx: Vec<u8>,
    buffer: VecDeque<(Option<u32>, String)>,
    /// Every command executed, in order.
    pub executed: Vec<String>,
    autoreport: Option<(Duration, Instant)>,
    pub halted: bool,
    /// The most lines ever waiting in the serial input while the command buffer was full.
    pub max_rx_backlog: usize,
}

impl Firmware {
    pub fn new(advanced_ok: bool, autoreport_cap: bool) -> Firmware {
        Firmware {
            advanced_ok,
            autoreport_cap,
            bufsize: 4,
            // Left over from an earlier session: the hello must reset it.
            last_n: 4321,
            rx: vec![],
            buffer: VecDeque::new(),
            executed: vec![],
            autoreport: None,
            halted: false,
            max_rx_backlog: 0,
        }
    }

    pub fn receive(&mut self, bytes: &[u8]) {
        self.rx.extend_from_slice(bytes);
    }

    /// Nothing to read and nothing to execute.
    pub fn idle(&self) -> bool {
        self.buffer.is_empty() && !self.rx.contains(&b'\n')
    }

    pub fn next_wakeup(&self) -> Option<Instant> {
        self.autoreport.map(|(_, next)| next)
    }

    /// `acknowledging`: the answer to an executed command, which (as in Marlin) still holds
    /// its slot while the `ok` is written, though this model already took it off the buffer.
    fn ok(&self, n: Option<u32>, acknowledging: bool) -> String {
        if self.advanced_ok {
            let free = self.bufsize - self.buffer.len() - usize::from(acknowledging);
            match n {
                Some(n) => format!("ok N{n} P15 B{free}"),
                None => format!("ok P15 B{free}"),
            }
        } else {
            "ok".to_string()
        }
    }

    /// Marlin empties its serial input before asking for the line again, so whatever was
    /// already received behind the bad line is lost.
    fn reject(&mut self, out: &mut Vec<String>, error: &str) {
        self.rx.clear();
        out.push(format!("Error:{error}, Last Line: {}", self.last_n));
        out.push(format!("Resend: {}", self.last_n + 1));
        out.push(self.ok(None, false));
    }

    fn read_line(&mut self, raw: &[u8], out: &mut Vec<String>) {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim();
        if text.is_empty() || self.halted {
            return;
        }
        if text == "M112" {
            self.halted = true;
            out.push("Error:Printer halted. kill() called!".to_string());
            return;
        }
        let Some(rest) = text.strip_prefix('N') else {
            if text.contains('*') {
                out.push(format!(
                    "Error:No Line Number with checksum, Last Line: {}",
                    self.last_n
                ));
            } else {
                self.buffer.push_back((None, text.to_string()));
            }
            return;
        };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let n: Option<u32> = digits.parse().ok();
        let Some(star) = text.find('*') else {
            self.reject(out, "No Checksum with line number");
            return;
        };
        let command = text[1 + digits.len()..star].trim();
        let is_m110 = command.starts_with("M110");
        if n != Some(self.last_n + 1) && !is_m110 {
            self.reject(out, "Line Number is not Last Line Number+1");
            return;
        }
        let cs = &text[star + 1..];
        let valid = !cs.is_empty()
            && cs.bytes().all(|b| b.is_ascii_digit())
            && cs.parse::<u8>().ok() == Some(checksum(&text.as_bytes()[..star]));
        if !valid || n.is_none() {
            self.reject(out, "checksum mismatch");
            return;
        }
        let n = n.unwrap();
        self.last_n = n;
        if is_m110 {
            if let Some(x) = command
                .split_whitespace()
                .find_map(|w| w.strip_prefix('N'))
                .and_then(|x| x.parse().ok())
            {
                self.last_n = x;
            }
        }
        self.buffer.push_back((Some(n), command.to_string()));
    }

    fn execute(&mut self, n: Option<u32>, command: String, now: Instant, out: &mut Vec<String>) {
        let code = command.split_whitespace().next().unwrap_or("").to_string();
        self.executed.push(command.clone());
        let ok = self.ok(n, true);
        let known = code.len() > 1
            && matches!(code.as_bytes()[0], b'G' | b'M' | b'T')
            && code[1..].bytes().all(|b| b.is_ascii_digit());
        if !known {
            out.push(format!("echo:Unknown command: \"{command}\""));
        }
        match code.as_str() {
            "M115" => {
                out.push("FIRMWARE_NAME:Marlin Model PROTOCOL_VERSION:1.0 MACHINE_TYPE:Sim EXTRUDER_COUNT:1 UUID:0000".into());
                out.push(format!(
                    "Cap:AUTOREPORT_TEMP:{}",
                    u8::from(self.autoreport_cap)
                ));
                out.push("Cap:EMERGENCY_PARSER:1".into());
                out.push(ok);
            }
            "M105" => out.push(format!("{ok} T:20.0 /0.0 B:20.0 /0.0 @:0 B@:0")),
            "M155" => {
                let secs: u64 = command
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix('S'))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                self.autoreport = (secs > 0).then(|| {
                    let every = Duration::from_secs(secs);
                    (every, now + every)
                });
                out.push(ok);
            }
            "M114" => {
                out.push("X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0".into());
                out.push(ok);
            }
            _ => out.push(ok),
        }
    }

    /// Read what fits in the command buffer, execute one command, autoreport when due.
    /// Returns the lines written (without `\n`).
    pub fn step(&mut self, now: Instant) -> Vec<String> {
        let mut out = vec![];
        while self.buffer.len() < self.bufsize {
            let Some(pos) = self.rx.iter().position(|&b| b == b'\n') else {
                break;
            };
            let raw: Vec<u8> = self.rx.drain(..=pos).collect();
            self.read_line(&raw[..raw.len() - 1], &mut out);
        }
        let backlog = self.rx.iter().filter(|&&b| b == b'\n').count();
        self.max_rx_backlog = self.max_rx_backlog.max(backlog);
        if !self.halted {
            if let Some((n, command)) = self.buffer.pop_front() {
                self.execute(n, command, now, &mut out);
            }
            if let Some((every, next)) = self.autoreport {
                if now >= next {
                    out.push("T:20.0 /0.0 B:20.0 /0.0 @:0 B@:0".into());
                    self.autoreport = Some((every, next + every));
                }
            }
        }
        out
    }
}

/// A tiny deterministic PRNG (xorshift64*), so a failing case replays exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < u64::from(percent)
    }
}

/// Faults applied to whole lines (each with its `\n`) on one direction of the wire.
pub struct Wire {
    pub percent: u32,
    pub rng: Rng,
    /// Which faults may happen.
    pub kinds: &'static [Fault],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The whole line vanishes.
    Drop,
    /// One byte becomes 0xFF (noise).
    Garble,
    /// One byte other than the newline becomes a random printable character.
    Noise,
    /// The line arrives twice.
    Duplicate,
    /// The newline is lost: the line runs into the next one.
    LoseNewline,
    /// A byte becomes a newline: the line arrives as two fragments.
    Split,
}

impl Wire {
    pub fn carry(&mut self, lines: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![];
        for line in lines {
            let mut line = line.clone();
            if line.len() > 1 && self.rng.chance(self.percent) {
                let fault = self.kinds[self.rng.below(self.kinds.len() as u64) as usize];
                let body = line.len() - 1;
                match fault {
                    Fault::Drop => continue,
                    Fault::Garble => {
                        let at = self.rng.below(body as u64) as usize;
                        line[at] = 0xff;
                    }
                    Fault::Noise => {
                        let at = self.rng.below(body as u64) as usize;
                        let printable = b"0123456789 ABNXYZ:*/.-okabcz";
                        line[at] = printable[self.rng.below(printable.len() as u64) as usize];
                    }
                    Fault::Duplicate => out.extend_from_slice(&line),
                    Fault::LoseNewline => {
                        line.pop();
                    }
                    Fault::Split => {
                        let at = self.rng.below(body as u64) as usize;
                        line[at] = b'\n';
                    }
                }
            }
            out.extend_from_slice(&line);
        }
        out
    }
}

/// Split a byte stream into lines, each keeping its `\n`.
pub fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}
