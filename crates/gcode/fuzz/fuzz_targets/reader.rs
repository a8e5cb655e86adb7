//! The reader must never panic, must account for every byte, and must resume only at a line
//! boundary, whatever the file holds.
#![no_main]

use std::io::Cursor;

use gcode::{reconstruct, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader::new(Cursor::new(data));
    let mut last = 0;
    let mut ends = Vec::new();
    loop {
        match reader.next_line() {
            Ok(Some(line)) => {
                assert!(line.end_offset > last);
                last = line.end_offset;
                ends.push((line.number, line.end_offset));
            }
            Ok(None) => break,
            Err(gcode::ReadError::Unsupported(_)) => {
                assert!(ends.is_empty());
                assert!(matches!(reader.next_line(), Ok(None)));
                return;
            }
            Err(_) => last = reader.offset(),
        }
    }
    assert_eq!(reader.offset(), data.len() as u64);
    for (number, end) in ends.into_iter().take(8) {
        assert!(Reader::resume_after(Cursor::new(data), number, end).is_ok());
    }
    let _ = reconstruct(Cursor::new(data), u64::MAX);
});
