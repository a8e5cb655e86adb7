//! A `Link` fed arbitrary firmware output in arbitrary chunks, with time passing and job
//! lines and commands offered, must never panic and must keep its outputs well-formed.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use marlin::{Config, Event, Link};

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut link = Link::new(Config::default(), now);
    let mut tag = 0u64;
    // Each chunk starts with a control byte: its low bits pick the chunk length, the high
    // bits an action (advance time, offer a job line, a command, an emergency stop).
    let mut rest = data;
    while let Some((&control, tail)) = rest.split_first() {
        let len = usize::from(control & 0x1f).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        link.handle_input(chunk, now);
        match control >> 5 {
            0 => now += Duration::from_millis(u64::from(control) * 37),
            1 => {
                if link.wants_job_line() {
                    let _ = link.push_job_line("G1 X1 Y2", tag);
                    tag += 1;
                }
            }
            2 => {
                let _ = link.enqueue_command("M105");
            }
            3 => now += Duration::from_secs(31),
            4 if control == 0x9f => link.emergency_stop(),
            _ => {}
        }
        if link.poll_timeout().is_some_and(|t| t <= now) {
            link.handle_timeout(now);
        }
        while let Some(bytes) = link.poll_transmit(now) {
            assert!(bytes.ends_with(b"\n"));
        }
        while let Some(event) = link.poll_event() {
            if let Event::JobLineAcked { tag: acked } = event {
                assert!(acked < tag);
            }
        }
    }
});
