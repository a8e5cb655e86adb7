//! The commands that bring a printer back to a [`ModalState`] so a job can continue after a
//! crash or a lost link, with the part still on the bed and Z not re-homed.
//!
//! Order matters for the part: the nozzle is lifted clear and parked by homing X/Y before the
//! hotend is heated, so it never sits hot on the print; Z is never homed, the journal's Z is
//! declared with `G92` instead (the head has not moved since the stop).

use super::{ModalState, Units};

/// Why a state cannot be resumed safely.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResumeError {
    #[error("the {0} position at the resume line is unknown")]
    UnknownPosition(char),
    #[error("no hotend temperature was set before the resume line")]
    NoHotendTemperature,
}

/// Machine-specific choices for the preamble.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeOptions {
    /// How far to lift above the part before homing X/Y.
    pub lift_mm: f64,
    /// The machine's Z travel, so the lift never runs into the top.
    pub max_z_mm: Option<f64>,
    /// Feed for the X/Y travel back to the part, mm/min.
    pub travel_feed: f64,
    /// Feed for Z moves, mm/min.
    pub z_feed: f64,
    /// Filament to push after heating so the first moves are not dry, mm (0 for none).
    pub prime_mm: f64,
}

impl Default for ResumeOptions {
    fn default() -> Self {
        Self {
            lift_mm: 5.0,
            max_z_mm: None,
            travel_feed: 3000.0,
            z_feed: 600.0,
            prime_mm: 0.0,
        }
    }
}

/// Commands to send before the line after `state.line`.
pub fn resume_preamble(
    state: &ModalState,
    opts: &ResumeOptions,
) -> Result<Vec<String>, ResumeError> {
    let x = state.x().ok_or(ResumeError::UnknownPosition('X'))?;
    let y = state.y().ok_or(ResumeError::UnknownPosition('Y'))?;
    let z = state.z().ok_or(ResumeError::UnknownPosition('Z'))?;
    // An extruder never moved is at zero.
    let e = state.e().unwrap_or(0.0);
    let hotend = state
        .hotend_target
        .filter(|t| *t > 0.0)
        .ok_or(ResumeError::NoHotendTemperature)?;
    let bed = state.bed_target.filter(|t| *t > 0.0);
    let lift = match opts.max_z_mm {
        Some(max) => opts.lift_mm.min(max - z).max(0.0),
        None => opts.lift_mm.max(0.0),
    };

    let mut out = Vec::with_capacity(24);
    if let Some(bed) = bed {
        out.push(format!("M140 S{}", num(bed)));
        out.push(format!("M190 S{}", num(bed)));
    }
    out.push("G21".into());
    out.push("G90".into());
    out.push("M82".into());
    out.push(format!("G92 Z{}", num(z)));
    if lift > 0.0 {
        out.push(format!("G1 Z{} F{}", num(z + lift), num(opts.z_feed)));
    }
    out.push("G28 X Y".into());
    out.push(format!("M109 S{}", num(hotend)));
    if opts.prime_mm > 0.0 {
        out.push("G92 E0".into());
        out.push(format!("G1 E{} F120", num(opts.prime_mm)));
    }
    // `G28` cleared any X/Y shift; travel in machine coordinates, then shift back.
    let (mx, my) = (x - state.offset[0], y - state.offset[1]);
    out.push(format!(
        "G1 X{} Y{} F{}",
        num(mx),
        num(my),
        num(opts.travel_feed)
    ));
    if lift > 0.0 {
        out.push(format!("G1 Z{} F{}", num(z), num(opts.z_feed)));
    }
    if state.offset[0] != 0.0 || state.offset[1] != 0.0 {
        out.push(format!("G92 X{} Y{}", num(x), num(y)));
    }
    out.push(format!("G92 E{}", num(e)));
    out.push(match state.fan {
        Some(s) if s > 0 => format!("M106 S{s}"),
        _ => "M107".into(),
    });
    if let Some(f) = state.feed_rate {
        // Before `G20`: the printer keeps feed internally, so set it while numbers are mm.
        out.push(format!("G1 F{}", num(f)));
    }
    // `G90`/`G91` also set the extruder mode in Marlin, so `M82`/`M83` must come after.
    out.push(if state.absolute_xyz { "G90" } else { "G91" }.into());
    out.push(if state.absolute_e { "M82" } else { "M83" }.into());
    if state.units == Units::Inches {
        out.push("G20".into());
    }
    Ok(out)
}

/// A number with at most five decimals and no trailing zeros (`0.2`, `215`, `-1.23457`).
fn num(v: f64) -> String {
    let s = format!("{v:.5}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modal::reconstruct;
    use std::io::Cursor;

    fn state(text: &str) -> ModalState {
        reconstruct(Cursor::new(text.as_bytes().to_vec()), u64::MAX).unwrap()
    }

    #[test]
    fn full_preamble() {
        let s = state(
            "M140 S60\nM104 S215\nG28\nG90\nM83\nG1 X100 Y80 Z0.6 F1500\nG1 E0.5\nM106 S200\n",
        );
        let p = resume_preamble(&s, &ResumeOptions::default()).unwrap();
        assert_eq!(
            p,
            [
                "M140 S60",
                "M190 S60",
                "G21",
                "G90",
                "M82",
                "G92 Z0.6",
                "G1 Z5.6 F600",
                "G28 X Y",
                "M109 S215",
                "G1 X100 Y80 F3000",
                "G1 Z0.6 F600",
                "G92 E0.5",
                "M106 S200",
                "G1 F1500",
                "G90",
                "M83",
            ]
        );
    }

    #[test]
    fn shifted_xy_inches_and_lift_limit() {
        let s = state("M104 S200\nG1 X50 Y50 Z9\nG92 X0 Y0\nG91\nG20\nG1 X1\n");
        let opts = ResumeOptions {
            max_z_mm: Some(10.0),
            prime_mm: 2.0,
            ..ResumeOptions::default()
        };
        let p = resume_preamble(&s, &opts).unwrap();
        assert!(!p.iter().any(|c| c.starts_with("M190")));
        assert!(p.contains(&"G1 Z10 F600".to_string()));
        assert!(p.contains(&"G1 X75.4 Y50 F3000".to_string()));
        assert!(p.contains(&"G92 X25.4 Y0".to_string()));
        assert!(p.contains(&"G1 E2 F120".to_string()));
        assert_eq!(&p[p.len() - 3..], ["G91", "M83", "G20"]);
    }

    #[test]
    fn refuses_unknown_state() {
        let s = state("M104 S200\nG28\nG1 X1 Y1\n");
        assert_eq!(
            resume_preamble(&s, &ResumeOptions::default()),
            Err(ResumeError::UnknownPosition('Z'))
        );
        let s = state("G1 X1 Y1 Z1\n");
        assert_eq!(
            resume_preamble(&s, &ResumeOptions::default()),
            Err(ResumeError::NoHotendTemperature)
        );
        assert_eq!(num(-0.000001), "0");
        assert_eq!(num(1.234567), "1.23457");
    }
}
