//! `parse_response` must never panic, whatever the line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let _ = marlin::parse_response(&line);
});
