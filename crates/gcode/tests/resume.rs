//! Rebuilding the state inside a real slicer file and resuming from it.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use gcode::{reconstruct, resume_preamble, ReadError, Reader, ResumeOptions};

fn open(name: &str) -> BufReader<File> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    BufReader::new(File::open(path).unwrap())
}

/// The line of the first command equal to `text`.
fn line_of(name: &str, text: &str) -> (u64, u64) {
    Reader::new(open(name))
        .map(Result::unwrap)
        .find(|c| c.text == text)
        .map(|c| (c.number, c.end_offset))
        .unwrap()
}

#[test]
fn prusaslicer_second_layer() {
    let (line, _) = line_of("prusaslicer.gcode", "M106 S255");
    let state = reconstruct(open("prusaslicer.gcode"), line).unwrap();
    assert_eq!(state.layer, Some(1));
    assert_eq!(state.z(), Some(0.4));
    assert_eq!(
        (state.hotend_target, state.bed_target),
        (Some(250.0), Some(90.0))
    );
    assert_eq!(state.fan, Some(255));
    assert!(state.absolute_xyz && !state.absolute_e);
    // `G28 W` left X/Y unknown; the skirt's absolute moves set them again.
    assert_eq!(state.x(), Some(107.5));
    let pre = resume_preamble(&state, &ResumeOptions::default()).unwrap();
    assert!(pre.contains(&"G92 Z0.4".to_string()));
    assert_eq!(pre.last().map(String::as_str), Some("M83"));
}

#[test]
fn cura_absolute_extrusion_resume() {
    let (line, end) = line_of("cura.gcode", "M106 S85");
    let state = reconstruct(open("cura.gcode"), line).unwrap();
    assert!(state.absolute_e);
    assert!((state.e().unwrap() - 0.16).abs() < 1e-9);
    assert_eq!(state.fan, Some(85));
    let pre = resume_preamble(&state, &ResumeOptions::default()).unwrap();
    assert!(pre.contains(&"G92 E0.16".to_string()), "{pre:?}");
    assert_eq!(pre.last().map(String::as_str), Some("M82"));

    // The reader picks up right after the journal's line.
    let mut reader = Reader::resume_after(open("cura.gcode"), line, end).unwrap();
    let next = reader.next_line().unwrap().unwrap();
    assert_eq!(next.command, "G0 X91 Y91 Z0.42");
    assert_eq!(next.number, line + 1);
}

#[test]
fn journal_pointing_inside_a_line_is_caught() {
    let (line, end) = line_of("cura.gcode", "M106 S85");
    let err = Reader::resume_after(open("cura.gcode"), line, end - 2).unwrap_err();
    assert!(matches!(err, ReadError::NotLineBoundary { .. }));
}
