//! UART byte pacing: bytes leave one after another at `baud / 10` bytes per second (8N1), so
//! a simulated link is no faster than a real one.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A FIFO of bytes that become available at the link's byte rate.
#[derive(Debug, Default)]
pub struct Pacer {
    byte_time: Option<Duration>,
    bytes: VecDeque<u8>,
    /// When the head byte started on the wire.
    head_start: Option<Instant>,
}

impl Pacer {
    pub fn new(baud: Option<u32>) -> Self {
        let mut pacer = Self::default();
        pacer.set_baud(baud);
        pacer
    }

    /// Changes the rate; bytes already queued keep flowing at the new rate.
    pub fn set_baud(&mut self, baud: Option<u32>) {
        self.byte_time = baud
            .filter(|&b| b > 0)
            .map(|b| Duration::from_secs_f64(10.0 / f64::from(b)));
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Queues bytes handed over at `now`.
    pub fn push(&mut self, bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        if self.bytes.is_empty() {
            // An idle wire starts sending now, not back when it last went quiet.
            self.head_start = Some(self.head_start.map_or(now, |t| t.max(now)));
        }
        self.bytes.extend(bytes);
    }

    /// Takes the bytes transmitted by `now` up to and including the first newline, with the
    /// instant the last of them came through: the receiver acts on a line when it arrived,
    /// not when its thread happened to wake up.
    pub fn pop_line(&mut self, now: Instant) -> Option<(Vec<u8>, Instant)> {
        let through = self.through_by(now);
        if through == 0 {
            return None;
        }
        let count = self
            .bytes
            .iter()
            .take(through)
            .position(|&b| b == b'\n')
            .map_or(through, |newline| newline + 1);
        Some(self.take(count, now))
    }

    /// Takes the whole lines transmitted by `now`; a line still on the wire stays queued,
    /// except bytes that no newline follows at all (garbage), which go as they are through.
    /// Both ends act on whole lines, so handing over a line's head early would only cost the
    /// writer an extra wake-up for its tail.
    pub fn pop_lines(&mut self, now: Instant) -> Vec<u8> {
        let through = self.through_by(now);
        let count = match self.bytes.iter().take(through).rposition(|&b| b == b'\n') {
            Some(newline) => newline + 1,
            None if self.bytes.contains(&b'\n') => 0,
            None => through,
        };
        self.take(count, now).0
    }

    /// How many queued bytes are fully transmitted by `now`.
    fn through_by(&self, now: Instant) -> usize {
        match (self.byte_time, self.head_start) {
            (None, _) => self.bytes.len(),
            (Some(_), None) => 0,
            (Some(byte_time), Some(start)) => {
                let elapsed = now.saturating_duration_since(start);
                ((elapsed.as_nanos() / byte_time.as_nanos().max(1)) as usize).min(self.bytes.len())
            }
        }
    }

    /// Removes the first `count` bytes (all through by `now`) and says when the last one was.
    fn take(&mut self, count: usize, now: Instant) -> (Vec<u8>, Instant) {
        let through_at = match (self.byte_time, self.head_start) {
            (Some(byte_time), Some(start)) => {
                let at = start + byte_time * count as u32;
                self.head_start = Some(at);
                at
            }
            _ => now,
        };
        (self.bytes.drain(..count).collect(), through_at)
    }

    /// When the next line (through its `\n`, or the last queued byte) will be through. Both
    /// ends act on whole lines, so waking once per line instead of once per byte loses nothing.
    pub fn next_line_ready(&self) -> Option<Instant> {
        let end = self
            .bytes
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.bytes.len().saturating_sub(1));
        self.ready_after(end)
    }

    /// When the byte at `index` will be through.
    fn ready_after(&self, index: usize) -> Option<Instant> {
        if index >= self.bytes.len() {
            return None;
        }
        match (self.byte_time, self.head_start) {
            (Some(byte_time), Some(start)) => Some(start + byte_time * (index as u32 + 1)),
            _ => Some(self.head_start.unwrap_or_else(Instant::now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Pacer {
        /// Every byte through by `now`, lines or not.
        fn pop_ready(&mut self, now: Instant) -> Vec<u8> {
            let count = self.through_by(now);
            self.take(count, now).0
        }
    }

    #[test]
    fn unpaced_passes_everything_at_once() {
        let t = Instant::now();
        let mut p = Pacer::new(None);
        p.push(b"hello", t);
        assert_eq!(p.pop_ready(t), b"hello");
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn paced_at_baud_over_ten() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(10_000)); // 1000 bytes/s: 1 ms per byte
        p.push(&[0; 10], t);
        assert!(p.pop_ready(t).is_empty());
        assert_eq!(p.next_line_ready(), Some(t + Duration::from_millis(10)));
        assert_eq!(p.pop_ready(t + Duration::from_micros(3500)).len(), 3);
        assert_eq!(p.pop_ready(t + Duration::from_millis(10)).len(), 7);
        assert_eq!(p.next_line_ready(), None);
    }

    #[test]
    fn next_line_is_ready_when_its_newline_is_through() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(10_000));
        p.push(b"ok\nstart", t);
        assert_eq!(p.next_line_ready(), Some(t + Duration::from_millis(3)));
        assert_eq!(p.pop_ready(t + Duration::from_millis(3)), b"ok\n");
        assert_eq!(p.next_line_ready(), Some(t + Duration::from_millis(8)));
        assert_eq!(Pacer::new(None).next_line_ready(), None);
    }

    #[test]
    fn a_line_pops_with_the_instant_its_newline_came_through() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(10_000)); // 1 ms per byte
        p.push(b"ok\nok\nst", t);
        assert_eq!(p.pop_line(t + Duration::from_micros(500)), None);
        // A line still arriving gives up what is through so far.
        assert_eq!(
            p.pop_line(t + Duration::from_micros(2500)),
            Some((b"ok".to_vec(), t + Duration::from_millis(2)))
        );
        let late = t + Duration::from_micros(7500);
        assert_eq!(
            p.pop_line(late),
            Some((b"\n".to_vec(), t + Duration::from_millis(3)))
        );
        assert_eq!(
            p.pop_line(late),
            Some((b"ok\n".to_vec(), t + Duration::from_millis(6)))
        );
        assert_eq!(
            p.pop_line(late),
            Some((b"s".to_vec(), t + Duration::from_millis(7)))
        );
        assert_eq!(p.pop_line(late), None);
        let mut unpaced = Pacer::new(None);
        unpaced.push(b"a\nb", t);
        assert_eq!(unpaced.pop_line(late), Some((b"a\n".to_vec(), late)));
    }

    #[test]
    fn whole_lines_pop_together() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(10_000)); // 1 ms per byte
        p.push(b"ok\nT:20\nxy", t);
        assert!(p.pop_lines(t + Duration::from_millis(2)).is_empty());
        assert_eq!(p.pop_lines(t + Duration::from_millis(7)), b"ok\n");
        assert_eq!(p.pop_lines(t + Duration::from_millis(8)), b"T:20\n");
        assert_eq!(
            p.pop_lines(t + Duration::from_millis(9)),
            b"x",
            "no newline follows"
        );
        assert_eq!(p.pop_lines(t + Duration::from_millis(10)), b"y");
    }

    #[test]
    fn idle_wire_does_not_bank_time() {
        let t = Instant::now();
        let mut p = Pacer::new(Some(10_000));
        p.push(&[0; 2], t);
        assert_eq!(p.pop_ready(t + Duration::from_millis(2)).len(), 2);
        let later = t + Duration::from_secs(1);
        p.push(&[0; 5], later);
        assert_eq!(p.pop_ready(later).len(), 0);
        assert_eq!(p.pop_ready(later + Duration::from_millis(5)).len(), 5);
    }
}
