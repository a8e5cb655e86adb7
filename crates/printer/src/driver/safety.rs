//! Which manual commands may interrupt a running print.
//!
//! A command typed into a console while a job streams goes into the same numbered stream as
//! the job's lines, so a move or a mode change (`G91`, `G92`, `M83`) would silently corrupt
//! the print. Only commands that read state or tune the print as it runs are let through.

/// Commands that are safe while a job is printing or paused.
const SAFE_WHILE_PRINTING: &[(&str, &str)] = &[
    ("M105", "report temperatures"),
    ("M114", "report position"),
    ("M115", "report firmware"),
    ("M117", "show a message"),
    ("M104", "set the nozzle temperature"),
    ("M140", "set the bed temperature"),
    ("M106", "set the fan speed"),
    ("M107", "turn the fan off"),
    ("M220", "set the feed-rate override"),
    ("M221", "set the flow override"),
    ("M290", "babystep"),
];

/// Why a command was refused, in words for the console.
pub fn refusal_while_printing(command: &str) -> Option<String> {
    let code = command
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if SAFE_WHILE_PRINTING.iter().any(|(safe, _)| *safe == code) {
        return None;
    }
    let allowed: Vec<&str> = SAFE_WHILE_PRINTING.iter().map(|(c, _)| *c).collect();
    Some(format!(
        "`{command}` is refused while a print is running, because it would mix into the job's \
         G-code and could ruin the print; only {} are allowed then (use Emergency stop to halt)",
        allowed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_and_tuning_commands_pass() {
        for command in [
            "M105",
            "m105",
            "M106 S255",
            "M220 S110",
            "M221 S95",
            "M104 S215",
            "M117 Hello",
        ] {
            assert_eq!(refusal_while_printing(command), None, "{command}");
        }
    }

    #[test]
    fn moves_and_mode_changes_are_refused_with_a_reason() {
        for command in [
            "G1 X10",
            "G28",
            "G91",
            "G92 E0",
            "M83",
            "M109 S200",
            "M112",
            "",
        ] {
            let reason = refusal_while_printing(command).expect(command);
            assert!(
                reason.contains("refused while a print is running"),
                "{reason}"
            );
            assert!(reason.contains("M105"), "{reason}");
        }
    }
}
