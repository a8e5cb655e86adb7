//! The printer's modal state as a file leaves it at some line, for resuming an interrupted job.
//!
//! Follows Marlin's rules: `G90`/`G91` switch the extruder too (Marlin's relative-mode flag
//! covers every axis), `M82`/`M83` switch only the extruder, `G92` shifts the logical
//! coordinates, `G28` clears that shift for the homed axes, and `G20` makes numbers inches.
//! Positions are kept in millimetres and in the file's logical coordinates.

mod resume;

use std::io::BufRead;

use serde::Serialize;

pub use resume::{resume_preamble, ResumeError, ResumeOptions};

use crate::layers::Tracker;
use crate::reader::{ReadError, Reader};
use crate::words;

/// Length unit the file's numbers are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    #[default]
    Millimetres,
    Inches,
}

/// X, Y, Z, E in that order.
const AXES: [u8; 4] = [b'X', b'Y', b'Z', b'E'];

/// The state a resumed job must restore. `None` means the file never set it (or a `G28` made
/// it unknown).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModalState {
    /// `G90` (true) or `G91`.
    pub absolute_xyz: bool,
    /// `M82` (true) or `M83`; also set by `G90`/`G91`.
    pub absolute_e: bool,
    pub units: Units,
    /// Logical position in mm: X, Y, Z, E.
    pub position: [Option<f64>; 4],
    /// `G92` shift in mm: logical minus machine coordinate, X, Y, Z, E.
    pub offset: [f64; 4],
    /// Feed rate in mm/min.
    pub feed_rate: Option<f64>,
    pub hotend_target: Option<f64>,
    pub bed_target: Option<f64>,
    /// Part-cooling fan PWM, 0–255.
    pub fan: Option<u8>,
    /// 0-based layer index from the slicer's markers.
    pub layer: Option<u32>,
    /// Last line applied.
    pub line: u64,
    #[serde(skip)]
    layers: Tracker,
}

impl Default for ModalState {
    /// A freshly booted Marlin: absolute, millimetres, X/Y/Z unknown.
    fn default() -> Self {
        Self {
            absolute_xyz: true,
            absolute_e: true,
            units: Units::Millimetres,
            // Marlin boots with the extruder at zero; the axes are unknown until homed or set.
            position: [None, None, None, Some(0.0)],
            offset: [0.0; 4],
            feed_rate: None,
            hotend_target: None,
            bed_target: None,
            fan: None,
            layer: None,
            line: 0,
            layers: Tracker::default(),
        }
    }
}

impl ModalState {
    pub fn x(&self) -> Option<f64> {
        self.position[0]
    }
    pub fn y(&self) -> Option<f64> {
        self.position[1]
    }
    pub fn z(&self) -> Option<f64> {
        self.position[2]
    }
    pub fn e(&self) -> Option<f64> {
        self.position[3]
    }

    /// Applies one cleaned command (as [`Reader`] yields it).
    pub fn apply(&mut self, command: &str) {
        let Some((letter, number)) = words::code(command) else {
            return;
        };
        match (letter, number) {
            (b'G', 0..=3) => self.motion(command),
            (b'G', 20) => self.units = Units::Inches,
            (b'G', 21) => self.units = Units::Millimetres,
            (b'G', 28) => self.home(command),
            (b'G', 90) => (self.absolute_xyz, self.absolute_e) = (true, true),
            (b'G', 91) => (self.absolute_xyz, self.absolute_e) = (false, false),
            (b'G', 92) => self.set_position(command),
            (b'M', 82) => self.absolute_e = true,
            (b'M', 83) => self.absolute_e = false,
            (b'M', 104 | 109) if self.is_first_tool(command) => {
                if let Some(t) = words::param(command, b'S').or_else(|| words::param(command, b'R'))
                {
                    self.hotend_target = Some(t);
                }
            }
            (b'M', 140 | 190) => {
                if let Some(t) = words::param(command, b'S').or_else(|| words::param(command, b'R'))
                {
                    self.bed_target = Some(t);
                }
            }
            (b'M', 106) if words::param(command, b'P').unwrap_or(0.0) == 0.0 => {
                let s = words::param(command, b'S').unwrap_or(255.0);
                self.fan = Some(s.clamp(0.0, 255.0).round() as u8);
            }
            (b'M', 107) if words::param(command, b'P').unwrap_or(0.0) == 0.0 => self.fan = Some(0),
            _ => {}
        }
    }

    /// Applies one comment (without `;`), for the slicer's layer markers.
    pub fn apply_comment(&mut self, comment: &[u8]) {
        if self.layers.observe(comment).is_some() {
            self.layer = self.layers.layer();
        }
    }

    fn is_first_tool(&self, command: &str) -> bool {
        // Single-hotend model: other tools' targets do not belong to this state.
        words::param(command, b'T').unwrap_or(0.0) == 0.0
    }

    fn mm(&self, value: f64) -> f64 {
        match self.units {
            Units::Millimetres => value,
            Units::Inches => value * 25.4,
        }
    }

    fn motion(&mut self, command: &str) {
        for w in words::words(command).skip(1) {
            if w.letter == b'F' {
                if w.value > 0.0 {
                    self.feed_rate = Some(self.mm(w.value));
                }
                continue;
            }
            let Some(axis) = AXES.iter().position(|&a| a == w.letter) else {
                continue;
            };
            let value = self.mm(w.value);
            let relative = if axis == 3 {
                !self.absolute_e
            } else {
                !self.absolute_xyz
            };
            self.position[axis] = if relative {
                // A relative move from an unknown place lands somewhere unknown.
                self.position[axis].map(|p| p + value)
            } else {
                Some(value)
            };
        }
    }

    fn home(&mut self, command: &str) {
        let named: Vec<usize> = (0..3)
            .filter(|&i| words::has_letter(command, AXES[i]))
            .collect();
        let axes = if named.is_empty() {
            vec![0, 1, 2]
        } else {
            named
        };
        for i in axes {
            // Where home is depends on the machine; the next absolute move makes it known again.
            self.position[i] = None;
            self.offset[i] = 0.0;
        }
    }

    fn set_position(&mut self, command: &str) {
        let mut any = false;
        for w in words::words(command).skip(1) {
            let Some(axis) = AXES.iter().position(|&a| a == w.letter) else {
                continue;
            };
            any = true;
            let value = self.mm(w.value);
            if let Some(old) = self.position[axis] {
                self.offset[axis] += value - old;
            }
            self.position[axis] = Some(value);
        }
        if !any {
            // Bare `G92` zeroes every axis.
            for axis in 0..4 {
                if let Some(old) = self.position[axis] {
                    self.offset[axis] -= old;
                }
                self.position[axis] = Some(0.0);
            }
        }
    }
}

/// The modal state after line `through_line` (1-based, inclusive) of `input`.
///
/// Lines that fail to decode are an error: resuming from a state built while skipping part of
/// the file would be a guess.
pub fn reconstruct<R: BufRead>(input: R, through_line: u64) -> Result<ModalState, ReadError> {
    let mut reader = Reader::new(input).keep_comment_lines(true);
    let mut state = ModalState::default();
    while let Some(line) = reader.next_line()? {
        if line.number > through_line {
            break;
        }
        if let Some(c) = line.comment {
            state.apply_comment(c);
        }
        state.apply(line.command);
        state.line = line.number;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn run(text: &str) -> ModalState {
        reconstruct(Cursor::new(text.as_bytes().to_vec()), u64::MAX).unwrap()
    }

    #[test]
    fn absolute_and_relative_moves() {
        let s = run("G90\nM83\nG1 X10 Y20 Z0.2 F3000\nG1 E1.5\nG1 E-0.5\nG91\nG1 X5 Z0.2\n");
        assert_eq!(s.position, [Some(15.0), Some(20.0), Some(0.4), Some(1.0)]);
        assert_eq!(s.feed_rate, Some(3000.0));
        assert!(!s.absolute_xyz && !s.absolute_e);
    }

    #[test]
    fn g90_resets_relative_extrusion_like_marlin() {
        let s = run("M83\nG90\nG1 E5\nG1 E6\n");
        assert!(s.absolute_e);
        assert_eq!(s.e(), Some(6.0));
    }

    #[test]
    fn g92_shifts_and_g28_clears() {
        let s = run("G28\nG1 X10 Y10 Z5\nG92 X0 E0\nG1 X2 E3\n");
        assert_eq!(s.position, [Some(2.0), Some(10.0), Some(5.0), Some(3.0)]);
        assert_eq!(s.offset[0], -10.0);
        let s = run("G1 X10 Y10 Z5\nG92 X0\nG28 X\n");
        assert_eq!((s.x(), s.offset[0]), (None, 0.0));
        assert_eq!(s.z(), Some(5.0));
        let s = run("G1 X1 Y2 Z3 E4\nG92\n");
        assert_eq!(s.position, [Some(0.0); 4]);
        assert_eq!(s.offset, [-1.0, -2.0, -3.0, -4.0]);
    }

    #[test]
    fn temperatures_fan_units_and_layer() {
        let s = run(
            "M140 S60\nM104 S215\nM104 T1 S180\nM190 S60\nM109 S220\nM106 S128\nG20\nG1 X1\n\
             ;LAYER_CHANGE\n;Z:0.2\nM107\n;LAYER_CHANGE\n",
        );
        assert_eq!((s.bed_target, s.hotend_target), (Some(60.0), Some(220.0)));
        assert_eq!(s.fan, Some(0));
        assert_eq!(s.units, Units::Inches);
        assert_eq!(s.x(), Some(25.4));
        assert_eq!(s.layer, Some(1));
    }

    #[test]
    fn stops_at_the_line() {
        let text = "G1 X1\nG1 X2\nG1 X3\n";
        let s = reconstruct(Cursor::new(text.as_bytes().to_vec()), 2).unwrap();
        assert_eq!((s.x(), s.line), (Some(2.0), 2));
        let s = run("M106\n");
        assert_eq!(s.fan, Some(255));
    }
}
