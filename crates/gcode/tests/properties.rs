//! Properties that must hold for any input, not just the samples.

use std::io::Cursor;

use gcode::metadata::parse_seconds;
use gcode::{reconstruct, scan, ReadError, Reader};
use proptest::prelude::*;

/// Lines built from the pieces real files are made of, so the properties reach deep paths.
fn gcode_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(";LAYER_CHANGE".to_string()),
        (0u32..500).prop_map(|z| format!(";Z:{}", f64::from(z) / 10.0)),
        (0i32..40).prop_map(|n| format!(";LAYER:{n}")),
        (0u32..101, 0u32..600).prop_map(|(p, r)| format!("M73 P{p} R{r}")),
        Just("; thumbnail begin 16x16 12".to_string()),
        Just("; thumbnail end".to_string()),
        Just("; iVBORw0KGgo=".to_string()),
        Just("; estimated printing time (normal mode) = 1h 2m 3s".to_string()),
        Just(";SETTING_3 {\"a\": \"\\\\nlayer_height = 0.2\\\\n\"}".to_string()),
        "[ -~]{0,40}",
        (-1000i32..1000, -1000i32..1000)
            .prop_map(|(x, e)| format!("G1 X{x} E{}", f64::from(e) / 100.0)),
        Just("G1 X1 (comment) Y2 ; trailing".to_string()),
        Just("\u{e9}t\u{e9} ; caf\u{e9}".to_string()),
    ]
}

fn gcode_file() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(gcode_line(), 0..60),
        prop::sample::select(vec!["\n", "\r\n"]),
        any::<bool>(),
    )
        .prop_map(|(lines, eol, trailing)| {
            let mut text = lines.join(eol);
            if trailing {
                text.push_str(eol);
            }
            text.into_bytes()
        })
}

fn check_reader(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut reader = Reader::new(Cursor::new(bytes.to_vec()));
    let mut last = 0u64;
    let mut last_line = 0u64;
    loop {
        match reader.next_line() {
            Ok(Some(line)) => {
                prop_assert!(line.end_offset > last);
                prop_assert!(line.number > last_line);
                prop_assert!(!line.command.is_empty());
                prop_assert!(!line.command.contains(';'));
                prop_assert_eq!(line.command.trim(), line.command);
                prop_assert!(!line.command.contains("  "));
                last = line.end_offset;
                last_line = line.number;
            }
            Ok(None) => break,
            // Binary files are refused before anything is yielded, and nothing follows.
            Err(ReadError::Unsupported(_)) => {
                prop_assert_eq!(last, 0);
                prop_assert!(reader.next_line().unwrap().is_none());
                return Ok(());
            }
            // Decoding errors skip one line and reading goes on.
            Err(_) => {
                prop_assert!(reader.offset() >= last);
                last = reader.offset();
            }
        }
    }
    prop_assert_eq!(reader.offset(), bytes.len() as u64);
    Ok(())
}

proptest! {
    // A fixed seed keeps every run identical; the case count keeps the suite quick in debug.
    #![proptest_config(ProptestConfig {
        cases: 128,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6a6e_7472),
        ..ProptestConfig::default()
    })]

    #[test]
    fn reader_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_reader(&bytes)?;
    }

    #[test]
    fn reader_never_panics_on_bytes_without_nul(bytes in prop::collection::vec(1u8.., 0..2048)) {
        check_reader(&bytes)?;
    }

    #[test]
    fn reader_offsets_on_gcode_like_files(bytes in gcode_file()) {
        check_reader(&bytes)?;
    }

    #[test]
    fn last_command_ends_at_file_length(mut bytes in gcode_file(), newline in any::<bool>()) {
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(b"G1 X1");
        if newline {
            bytes.push(b'\n');
        }
        let last = Reader::new(Cursor::new(bytes.clone()))
            .filter_map(Result::ok)
            .last()
            .unwrap();
        prop_assert_eq!(last.text, "G1 X1");
        prop_assert_eq!(last.end_offset, bytes.len() as u64);
    }

    #[test]
    fn reading_is_idempotent(bytes in gcode_file()) {
        let first: Vec<String> = Reader::new(Cursor::new(bytes))
            .filter_map(Result::ok)
            .map(|c| c.text)
            .collect();
        let again: Vec<String> = Reader::new(Cursor::new(first.join("\n").into_bytes()))
            .filter_map(Result::ok)
            .map(|c| c.text)
            .collect();
        prop_assert_eq!(first, again);
    }

    #[test]
    fn metadata_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = scan(Cursor::new(bytes));
    }

    #[test]
    fn metadata_on_gcode_like_files(bytes in gcode_file()) {
        let len = bytes.len() as u64;
        let m = scan(Cursor::new(bytes)).unwrap();
        prop_assert_eq!(m.total_bytes, len);
        prop_assert!(m.layers.windows(2).all(|w| w[0].offset <= w[1].offset && w[0].index < w[1].index));
        prop_assert!(m.progress_hints.windows(2).all(|w| w[0].offset <= w[1].offset));
    }

    #[test]
    fn relative_moves_sum(
        moves in prop::collection::vec((-500i32..500, -500i32..500, 0i32..50, -300i32..300), 0..80),
        start in (-100i32..100, -100i32..100, 0i32..100),
    ) {
        let mut text = format!("G90\nG1 X{} Y{} Z{}\nG91\n", start.0, start.1, start.2);
        let mut sum = [f64::from(start.0), f64::from(start.1), f64::from(start.2), 0.0];
        for (i, (dx, dy, dz, de)) in moves.iter().enumerate() {
            let d = [dx, dy, dz, de].map(|v| f64::from(*v) / 100.0);
            // Vary the spelling: some lines omit axes, some are compact.
            if i % 3 == 0 {
                text.push_str(&format!("G1X{}Y{}E{}\n", d[0], d[1], d[3]));
                sum[0] += d[0];
                sum[1] += d[1];
                sum[3] += d[3];
            } else {
                text.push_str(&format!("G1 X{} Y{} Z{} E{} F1200 ; move\n", d[0], d[1], d[2], d[3]));
                for (s, v) in sum.iter_mut().zip(d) {
                    *s += v;
                }
            }
        }
        let state = reconstruct(Cursor::new(text.into_bytes()), u64::MAX).unwrap();
        for (axis, expected) in sum.iter().enumerate() {
            let got = state.position[axis].unwrap();
            prop_assert!((got - expected).abs() < 1e-6, "axis {}: {} != {}", axis, got, expected);
        }
    }

    #[test]
    fn relative_extrusion_with_absolute_xyz_sums(des in prop::collection::vec(-300i32..300, 0..80)) {
        let mut text = String::from("G90\nM83\n");
        let mut sum = 0.0;
        for (i, de) in des.iter().enumerate() {
            let de = f64::from(*de) / 100.0;
            sum += de;
            text.push_str(&format!("G1 X{i} Y{i} E{de}\n"));
        }
        let state = reconstruct(Cursor::new(text.into_bytes()), u64::MAX).unwrap();
        prop_assert!((state.e().unwrap() - sum).abs() < 1e-6);
        prop_assert_eq!(state.x(), des.len().checked_sub(1).map(|n| n as f64));
    }

    #[test]
    fn durations_round_trip(d in 0u64..30, h in 0u64..24, m in 0u64..60, s in 0u64..60) {
        let text = format!("{d}d {h}h {m}m {s}s");
        prop_assert_eq!(parse_seconds(&text), Some(d * 86_400 + h * 3600 + m * 60 + s));
        let total = d * 86_400 + h * 3600 + m * 60 + s;
        prop_assert_eq!(parse_seconds(&total.to_string()), Some(total));
    }
}
