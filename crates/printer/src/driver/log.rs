//! The recent serial traffic of one printer, for the console.
//!
//! Kept out of the `watch`ed status on purpose: a busy link logs hundreds of lines a second,
//! and those must not wake every status watcher. Readers pull what is new by sequence number.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

/// Lines kept per printer.
pub const LOG_LINES: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Counts up for the printer's lifetime, so a reader can ask for what is new.
    pub seq: u64,
    pub at: SystemTime,
    pub sent: bool,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct SerialLog {
    lines: Mutex<VecDeque<LogLine>>,
}

impl SerialLog {
    pub(crate) fn push(&self, sent: bool, text: String) {
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = lines.back().map_or(1, |l| l.seq + 1);
        if lines.len() == LOG_LINES {
            lines.pop_front();
        }
        lines.push_back(LogLine {
            seq,
            at: SystemTime::now(),
            sent,
            text,
        });
    }

    /// The kept lines with a sequence number above `after`, oldest first.
    pub fn since(&self, after: u64) -> Vec<LogLine> {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().filter(|l| l.seq > after).cloned().collect()
    }
}
