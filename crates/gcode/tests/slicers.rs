//! Metadata from small files written the way each slicer writes them.

use std::path::PathBuf;

use gcode::metadata::ImageFormat;
use gcode::{scan_path, Metadata};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn scan(name: &str) -> Metadata {
    scan_path(&data(name)).unwrap()
}

#[test]
fn prusaslicer() {
    let m = scan("prusaslicer.gcode");
    assert_eq!(m.slicer.as_deref(), Some("PrusaSlicer"));
    assert_eq!(m.slicer_version.as_deref(), Some("2.7.1+win64"));
    assert_eq!(m.estimated_time_s, Some(93_784));
    assert_eq!(m.filament_used_mm, Some(1234.56));
    assert_eq!(m.filament_used_g, Some(3.77));
    assert_eq!(m.filament_used_cm3, Some(2.97));
    assert_eq!(m.layer_height_mm, Some(0.2));
    assert_eq!(m.first_layer_height_mm, Some(0.2));
    assert_eq!(m.nozzle_diameter_mm, Some(0.4));
    assert_eq!(m.filament_type.as_deref(), Some("PETG"));
    assert_eq!(
        (m.nozzle_temp_c, m.first_layer_nozzle_temp_c),
        (Some(250.0), Some(240.0))
    );
    assert_eq!(
        (m.bed_temp_c, m.first_layer_bed_temp_c),
        (Some(90.0), Some(85.0))
    );
    // Not in PrusaSlicer's text output: measured from the layer markers.
    assert_eq!(m.layer_count, Some(3));
    assert_eq!(m.object_height_mm, Some(0.6));
    assert_eq!(m.layers.len(), 3);
    assert_eq!(m.layers[1].z, Some(0.4));

    assert_eq!(m.thumbnails.len(), 3);
    assert_eq!(m.thumbnails[1].format, ImageFormat::Qoi);
    let t = m.thumbnail.as_ref().unwrap();
    assert_eq!((t.width, t.height), (220, 124));
    assert_eq!(t.png, std::fs::read(data("thumb_220x124.png")).unwrap());

    // Silent-mode `M73 Q.. S..` lines are not hints.
    assert_eq!(m.progress_hints.len(), 5);
    assert_eq!(m.progress_hints[0].remaining_s, Some(63 * 60));
    assert_eq!(m.progress_hints[1].percent, Some(50.0));
    let len = std::fs::metadata(data("prusaslicer.gcode")).unwrap().len();
    assert_eq!(m.total_bytes, len);
}

#[test]
fn orcaslicer() {
    let m = scan("orcaslicer.gcode");
    assert_eq!(m.slicer.as_deref(), Some("OrcaSlicer"));
    assert_eq!(m.slicer_version.as_deref(), Some("2.0.0"));
    assert_eq!(m.estimated_time_s, Some(25 * 60 + 10));
    assert_eq!(m.layer_count, Some(2));
    assert_eq!(m.object_height_mm, Some(0.48));
    assert_eq!(m.filament_used_mm, Some(512.3));
    assert_eq!(m.filament_used_g, Some(1.53));
    assert_eq!(m.filament_used_cm3, Some(1.23));
    assert_eq!(m.layer_height_mm, Some(0.28));
    assert_eq!(m.first_layer_height_mm, Some(0.2));
    assert_eq!(m.filament_type.as_deref(), Some("PLA"));
    assert_eq!(
        (m.nozzle_temp_c, m.first_layer_nozzle_temp_c),
        (Some(220.0), Some(225.0))
    );
    // The textured plate is in use, not the hot plate.
    assert_eq!(m.bed_temp_c, Some(65.0));
    assert!(m.thumbnail.is_some());
    assert_eq!(
        m.layers.iter().map(|l| l.z).collect::<Vec<_>>(),
        [Some(0.2), Some(0.48)]
    );
}

#[test]
fn bambustudio() {
    let m = scan("bambustudio.gcode");
    assert_eq!(m.slicer.as_deref(), Some("BambuStudio"));
    assert_eq!(m.slicer_version.as_deref(), Some("01.08.04.51"));
    // The total (with calibration) wins over the model time.
    assert_eq!(m.estimated_time_s, Some(3600 + 10 * 60 + 3));
    assert_eq!(m.layer_count, Some(120));
    assert_eq!(m.object_height_mm, Some(24.0));
    assert_eq!(m.filament_used_mm, Some(1234.56));
    assert_eq!(m.filament_used_g, Some(3.68));
    assert_eq!(m.filament_used_cm3, Some(2.97));
    assert_eq!(m.filament_type.as_deref(), Some("PLA"));
    assert_eq!(m.nozzle_temp_c, Some(220.0));
    assert_eq!(
        (m.bed_temp_c, m.first_layer_bed_temp_c),
        (Some(35.0), Some(40.0))
    );
    assert_eq!(m.layers.len(), 2);
    assert_eq!(m.layers[1].z, Some(0.4));
    let t = m.thumbnail.unwrap();
    assert_eq!((t.width, t.height), (16, 16));
}

#[test]
fn cura_marlin_with_crlf() {
    let m = scan("cura.gcode");
    assert_eq!(m.slicer.as_deref(), Some("Cura"));
    assert_eq!(m.slicer_version.as_deref(), Some("5.6.0"));
    assert_eq!(m.estimated_time_s, Some(6666));
    assert!((m.filament_used_mm.unwrap() - 1234.56).abs() < 1e-9);
    assert_eq!(m.layer_height_mm, Some(0.12));
    assert_eq!(m.first_layer_height_mm, Some(0.3));
    assert_eq!(m.object_height_mm, Some(10.2));
    assert_eq!(m.layer_count, Some(2));
    assert_eq!((m.nozzle_temp_c, m.bed_temp_c), (Some(200.0), Some(60.0)));
    assert_eq!(m.layers.len(), 2);
    assert!(m.thumbnail.is_none());
}

#[test]
fn cura_griffin_header() {
    let m = scan("cura_griffin.gcode");
    assert_eq!(m.slicer.as_deref(), Some("Cura"));
    assert_eq!(m.slicer_version.as_deref(), Some("5.6.0"));
    assert_eq!(m.estimated_time_s, Some(3725));
    assert_eq!(m.nozzle_diameter_mm, Some(0.4));
    assert_eq!(m.first_layer_nozzle_temp_c, Some(215.0));
    assert_eq!(m.nozzle_temp_c, Some(215.0));
    assert_eq!(m.bed_temp_c, Some(60.0));
    assert_eq!(m.filament_used_cm3, Some(4.567));
    assert_eq!(m.object_height_mm, Some(25.47));
}

#[test]
fn layer_and_time_lookup_by_offset() {
    let m = scan("prusaslicer.gcode");
    assert_eq!(m.layer_at(0), None);
    let second = m.layers[1].offset;
    assert_eq!(m.layer_at(second).map(|l| l.index), Some(1));
    assert_eq!(m.layer_at(second - 1).map(|l| l.index), Some(0));
    assert_eq!(m.layer_at(u64::MAX).map(|l| l.index), Some(2));
    assert_eq!(m.remaining_at(second), Some(31 * 60));
    assert_eq!(m.remaining_at(0), None);
    assert_eq!(m.remaining_at(m.progress_hints[0].offset), Some(63 * 60));
}

#[test]
fn serialises_for_the_dashboard() {
    let m = scan("orcaslicer.gcode");
    let json = serde_json::to_value(&m).unwrap();
    assert_eq!(json["slicer"], "OrcaSlicer");
    assert_eq!(json["estimated_time_s"], 1510);
    let png = json["thumbnail"]["png"].as_str().unwrap();
    assert!(png.starts_with("iVBORw0KGgo"));
    assert_eq!(json["thumbnails"][0]["format"], "png");
}

#[test]
fn binary_gcode_is_rejected_clearly() {
    let mut bytes = b"GCDE".to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&[1, 0, 0, 0]);
    let err = gcode::scan(std::io::Cursor::new(bytes)).unwrap_err();
    assert!(err.to_string().contains(".bgcode"), "{err}");
    let err = gcode::scan(std::io::Cursor::new(b"\x89PNG\0\0".to_vec())).unwrap_err();
    assert!(err.to_string().contains("not G-code"), "{err}");
}
