//! The metadata scanner must never panic and must see every byte.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gcode::detect_format(data);
    if let Ok(meta) = gcode::scan(Cursor::new(data)) {
        assert_eq!(meta.total_bytes, data.len() as u64);
        let _ = meta.layer_at(data.len() as u64 / 2);
    }
});
