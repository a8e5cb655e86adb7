//! Slicer metadata from one pass over a file: estimated time, filament, layer heights,
//! temperatures, progress hints (`M73`), layer markers and the embedded thumbnail.
//!
//! The scan never holds more than a line (plus the one thumbnail worth decoding), and it skips
//! motion lines after looking at their first byte, which is what keeps it fast.

mod duration;
mod keys;
mod thumbnail;

use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use duration::parse_seconds;
pub use thumbnail::{ImageFormat, Thumbnail, ThumbnailInfo};

use crate::format::{detect_format, Format};
use crate::layers::{self, Tracker};
use crate::line;
use crate::words;

/// Why a file could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("reading G-code: {0}")]
    Io(#[from] std::io::Error),
    /// Binary G-code or not G-code at all; the message says which, for the user.
    #[error("{}", .0.rejection().unwrap_or("unsupported file"))]
    Unsupported(Format),
}

/// What the slicer said about a file, plus what one pass can measure. Every slicer field is
/// optional: files from other slicers, or edited by hand, have any subset.
/// Deserialising gives everything but the thumbnail, which callers store on its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub slicer: Option<String>,
    pub slicer_version: Option<String>,
    /// The slicer's estimate for the whole print (normal mode), in seconds.
    pub estimated_time_s: Option<u64>,
    pub filament_used_mm: Option<f64>,
    pub filament_used_g: Option<f64>,
    pub filament_used_cm3: Option<f64>,
    pub layer_height_mm: Option<f64>,
    pub first_layer_height_mm: Option<f64>,
    pub nozzle_diameter_mm: Option<f64>,
    pub filament_type: Option<String>,
    /// Hotend and bed targets from the slicer settings or, failing that, the first non-zero
    /// `M104`/`M109` and `M140`/`M190` in the file.
    pub nozzle_temp_c: Option<f64>,
    pub first_layer_nozzle_temp_c: Option<f64>,
    pub bed_temp_c: Option<f64>,
    pub first_layer_bed_temp_c: Option<f64>,
    /// From the header, else the highest layer marker height.
    pub object_height_mm: Option<f64>,
    /// From the header, else the number of layer markers.
    pub layer_count: Option<u32>,
    /// Layer starts in file order; see [`Metadata::layer_at`].
    pub layers: Vec<LayerMark>,
    /// `M73` hints in file order; see [`Metadata::remaining_at`].
    pub progress_hints: Vec<ProgressHint>,
    /// Every embedded thumbnail as declared.
    pub thumbnails: Vec<ThumbnailInfo>,
    /// The largest PNG thumbnail, decoded.
    #[serde(skip_deserializing)]
    pub thumbnail: Option<Thumbnail>,
    /// File size as scanned.
    pub total_bytes: u64,
    pub line_count: u64,
}

/// Where a layer starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerMark {
    /// Byte offset of the marker line's start.
    pub offset: u64,
    /// 0-based layer index in file order.
    pub index: u32,
    pub z: Option<f64>,
}

/// An `M73 P<percent> R<minutes>` line: the slicer's own progress and time left at that point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProgressHint {
    pub offset: u64,
    pub percent: Option<f64>,
    pub remaining_s: Option<u64>,
}

impl Metadata {
    /// The layer being printed once the printer has acknowledged up to byte `offset`.
    pub fn layer_at(&self, offset: u64) -> Option<&LayerMark> {
        let n = self.layers.partition_point(|m| m.offset <= offset);
        n.checked_sub(1).map(|i| &self.layers[i])
    }

    /// The slicer's last `M73` hint at or before byte `offset`.
    pub fn hint_at(&self, offset: u64) -> Option<&ProgressHint> {
        let n = self.progress_hints.partition_point(|h| h.offset <= offset);
        n.checked_sub(1).map(|i| &self.progress_hints[i])
    }

    /// Seconds left by the slicer's own reckoning at byte `offset`, from the last `M73 R`.
    pub fn remaining_at(&self, offset: u64) -> Option<u64> {
        let n = self.progress_hints.partition_point(|h| h.offset <= offset);
        self.progress_hints[..n]
            .iter()
            .rev()
            .find_map(|h| h.remaining_s)
    }
}

/// Scans a file for metadata; rejects binary G-code with a clear message.
pub fn scan_path(path: &Path) -> Result<Metadata, MetadataError> {
    let file = std::fs::File::open(path)?;
    scan(std::io::BufReader::with_capacity(256 * 1024, file))
}

/// Scans a whole file from the current position (its start) for metadata.
pub fn scan<R: BufRead>(mut input: R) -> Result<Metadata, MetadataError> {
    let format = detect_format(input.fill_buf()?);
    if format != Format::Text {
        return Err(MetadataError::Unsupported(format));
    }
    let mut scanner = Scanner::default();
    // A line cut at `MAX_LINE` is some giant comment; what was kept is still scanned.
    line::for_each_line(&mut input, &mut Vec::new(), |raw, consumed| {
        scanner.line(line::strip_eol(raw));
        scanner.meta.total_bytes += consumed as u64;
        scanner.meta.line_count += 1;
    })?;
    Ok(scanner.finish())
}

#[derive(Debug, Default)]
struct Scanner {
    meta: Metadata,
    deferred: keys::Deferred,
    thumbnails: thumbnail::Collector,
    layers: Tracker,
    max_z: Option<f64>,
    first_nozzle: Option<f64>,
    first_bed: Option<f64>,
}

impl Scanner {
    fn line(&mut self, raw: &[u8]) {
        let start = raw
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(raw.len());
        let raw = &raw[start..];
        match raw.first() {
            None => {}
            Some(b';') => self.comment(&raw[1..]),
            Some(b'M' | b'm') => {
                self.thumbnails.interrupt();
                self.m_command(raw);
            }
            Some(_) => {
                self.thumbnails.interrupt();
                // Motion lines dominate a file; only a trailing layer marker is worth a look.
                if let Some(c) = line::split(raw).comment {
                    if c.first() == Some(&b'L') || c.first() == Some(&b'Z') {
                        self.layer_comment(c);
                    }
                }
            }
        }
    }

    fn comment(&mut self, comment: &[u8]) {
        // UTF-8 BOM of the first line, and comments in a legacy code page, are not metadata.
        let Ok(text) = std::str::from_utf8(comment) else {
            return;
        };
        let text = text.trim();
        if self.thumbnails.observe(text) {
            return;
        }
        if self.layer_comment(comment) {
            return;
        }
        keys::observe(&mut self.meta, &mut self.deferred, text);
    }

    fn layer_comment(&mut self, comment: &[u8]) -> bool {
        let offset = self.meta.total_bytes;
        match self.layers.observe(comment) {
            Some(layers::Change::NewLayer { index }) => {
                let z = self.layers.z();
                self.meta.layers.push(LayerMark { offset, index, z });
            }
            Some(layers::Change::Height { z }) => {
                if let Some(last) = self.meta.layers.last_mut() {
                    last.z = Some(z);
                }
            }
            None => return false,
        }
        if let Some(z) = self.layers.z() {
            self.max_z = Some(self.max_z.map_or(z, |m| m.max(z)));
        }
        true
    }

    fn m_command(&mut self, raw: &[u8]) {
        let command = line::split(raw).command;
        let Ok(text) = std::str::from_utf8(command) else {
            return;
        };
        let slot = match words::code(text) {
            Some((b'M', 73)) => {
                let percent = words::param(text, b'P');
                let remaining_s = words::param(text, b'R')
                    .filter(|r| r.is_finite() && *r >= 0.0)
                    .map(|r| (r * 60.0).round() as u64);
                if percent.is_some() || remaining_s.is_some() {
                    self.meta.progress_hints.push(ProgressHint {
                        offset: self.meta.total_bytes,
                        percent,
                        remaining_s,
                    });
                }
                return;
            }
            // Only the first tool: other tools' temperatures are not the print's headline.
            Some((b'M', 104 | 109)) if words::param(text, b'T').unwrap_or(0.0) == 0.0 => {
                &mut self.first_nozzle
            }
            Some((b'M', 140 | 190)) => &mut self.first_bed,
            _ => return,
        };
        if slot.is_none() {
            *slot = words::param(text, b'S')
                .or_else(|| words::param(text, b'R'))
                .filter(|t| *t > 0.0);
        }
    }

    fn finish(mut self) -> Metadata {
        keys::finish(&mut self.meta, self.deferred);
        let m = &mut self.meta;
        m.thumbnails = self.thumbnails.infos;
        m.thumbnail = self.thumbnails.best;
        if m.nozzle_temp_c.is_none() {
            m.nozzle_temp_c = m.first_layer_nozzle_temp_c.or(self.first_nozzle);
        }
        if m.bed_temp_c.is_none() {
            m.bed_temp_c = m.first_layer_bed_temp_c.or(self.first_bed);
        }
        if m.object_height_mm.is_none() {
            m.object_height_mm = self.max_z;
        }
        if m.layer_count.is_none() && self.layers.count() > 0 {
            m.layer_count = Some(self.layers.count());
        }
        self.meta
    }
}
