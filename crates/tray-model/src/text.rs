//! Every user-visible string the tray shows, in one place so wording stays consistent
//! between the menu, the tooltip and the confirmation dialogs.

use crate::state::{PrinterLine, PrinterState};

/// Separates a printer's name from its state in a status line.
pub(crate) const DASH: &str = " — ";

/// Printer names come from firmware and users; a long one would stretch the whole menu.
const MAX_NAME_CHARS: usize = 40;
/// Emails (from the cloud) and addresses need more room to stay recognisable.
const MAX_DETAIL_CHARS: usize = 64;

pub(crate) const OPEN_DASHBOARD: &str = "Open dashboard";
pub(crate) const EXTERNAL_ACCESS: &str = "External access";
pub(crate) const SIGN_IN_SSO: &str = "Sign in with SSO…";
pub(crate) const SIGN_OUT: &str = "Sign out";
pub(crate) const OFFLINE_MODE: &str = "Offline mode";
pub(crate) const START_AT_LOGIN: &str = "Start at login";
pub(crate) const OPEN_LOGS: &str = "Open logs folder";
pub(crate) const QUIT: &str = "Quit";
pub(crate) const NO_PRINTERS: &str = "No printers connected";

/// Makes untrusted text safe for a one-line menu label: control characters (newlines,
/// tabs, escapes) become spaces, and overlong text is cut with an ellipsis.
pub(crate) fn one_line(text: &str, max_chars: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.chars().count() <= max_chars {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(max_chars.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// The name to show for a printer: its name, or its id when it has none.
pub(crate) fn printer_name(line: &PrinterLine) -> String {
    let name = one_line(&line.name, MAX_NAME_CHARS);
    if name.is_empty() {
        one_line(&line.id, MAX_NAME_CHARS)
    } else {
        name
    }
}

/// Whole percent, rounded down so "100 %" appears only when the job is really done.
pub(crate) fn whole_percent(progress: Option<f32>) -> Option<u8> {
    let p = progress.filter(|p| !p.is_nan())?;
    // Clamped to 0..=100 first, so the cast cannot truncate.
    Some(p.clamp(0.0, 100.0).floor() as u8)
}

/// "Printing 42 %", "Ready", …
pub(crate) fn printer_status(line: &PrinterLine) -> String {
    let state = match line.state {
        PrinterState::Disconnected => "Disconnected",
        PrinterState::Connecting => "Connecting…",
        PrinterState::Ready => "Ready",
        PrinterState::Printing => "Printing",
        PrinterState::Paused => "Paused",
        PrinterState::Error => "Error",
    };
    match whole_percent(line.progress) {
        Some(p) if line.state.has_active_job() => format!("{state} {p} %"),
        _ => state.to_owned(),
    }
}

/// "Prusa MK4 — Printing 42 %"
pub(crate) fn printer_label(line: &PrinterLine) -> String {
    format!("{}{DASH}{}", printer_name(line), printer_status(line))
}

/// "External access" or, while on with a known address, "External access (0.0.0.0:8008)".
pub(crate) fn external_access_label(enabled: bool, bind_address: Option<&str>) -> String {
    match bind_address.map(|a| one_line(a, MAX_DETAIL_CHARS)) {
        Some(addr) if enabled && !addr.is_empty() => format!("{EXTERNAL_ACCESS} ({addr})"),
        _ => EXTERNAL_ACCESS.to_owned(),
    }
}

/// "external access on (0.0.0.0:8008)", for the tooltip.
pub(crate) fn external_access_summary(bind_address: Option<&str>) -> String {
    match bind_address.map(|a| one_line(a, MAX_DETAIL_CHARS)) {
        Some(addr) if !addr.is_empty() => format!("external access on ({addr})"),
        _ => "external access on".to_owned(),
    }
}

pub(crate) fn signed_in_label(email: &str) -> String {
    format!("Signed in as {}", one_line(email, MAX_DETAIL_CHARS))
}

/// "A", "A and B", "A, B and C".
pub(crate) fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "Prusa MK4 has a print" / "Prusa MK4 and Ender 3 have prints".
fn who_is_printing(names: &[String]) -> String {
    let (verb, noun) = if names.len() == 1 {
        ("has", "a print")
    } else {
        ("have", "prints")
    };
    format!("{} {verb} {noun} in progress.", join_names(names))
}

pub(crate) fn quit_message(printing: &[String]) -> String {
    format!(
        "{} Printing stops when Gantry quits. Quit anyway?",
        who_is_printing(printing)
    )
}

pub(crate) fn sign_out_message(printing: &[String]) -> String {
    format!(
        "{} Prints continue locally after you sign out. Sign out anyway?",
        who_is_printing(printing)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use PrinterState::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn status_line_shows_progress_only_for_active_jobs() {
        let cases = [
            (Printing, Some(42.0), "Prusa MK4 — Printing 42 %"),
            (Printing, None, "Prusa MK4 — Printing"),
            (Paused, Some(42.9), "Prusa MK4 — Paused 42 %"),
            (Ready, Some(100.0), "Prusa MK4 — Ready"),
            (Error, Some(50.0), "Prusa MK4 — Error"),
            (Connecting, None, "Prusa MK4 — Connecting…"),
            (Disconnected, None, "Prusa MK4 — Disconnected"),
        ];
        for (state, progress, want) in cases {
            let line = PrinterLine {
                id: "x".into(),
                name: "Prusa MK4".into(),
                state,
                progress,
            };
            assert_eq!(printer_label(&line), want);
        }
    }

    #[test]
    fn percent_rounds_down_clamps_and_ignores_nan() {
        assert_eq!(whole_percent(Some(99.99)), Some(99));
        assert_eq!(whole_percent(Some(100.0)), Some(100));
        assert_eq!(whole_percent(Some(0.0)), Some(0));
        assert_eq!(whole_percent(Some(-3.0)), Some(0));
        assert_eq!(whole_percent(Some(250.0)), Some(100));
        assert_eq!(whole_percent(Some(f32::INFINITY)), Some(100));
        assert_eq!(whole_percent(Some(f32::NAN)), None);
        assert_eq!(whole_percent(None), None);
    }

    #[test]
    fn names_are_one_line_and_bounded() {
        assert_eq!(one_line("  Prusa\nMK4\t ", 40), "Prusa MK4");
        let long = "x".repeat(100);
        let cut = one_line(&long, 40);
        assert_eq!(cut.chars().count(), 40);
        assert!(cut.ends_with('…'));
        assert_eq!(one_line(&"é".repeat(40), 40), "é".repeat(40));
        assert_eq!(
            one_line("abc   defgh", 7),
            "abc…",
            "no space before the ellipsis"
        );
    }

    #[test]
    fn blank_name_falls_back_to_id() {
        let line = PrinterLine::new("usb-2c99-1", " \n", Ready);
        assert_eq!(printer_label(&line), "usb-2c99-1 — Ready");
    }

    #[test]
    fn external_access_label_shows_address_only_when_on() {
        assert_eq!(
            external_access_label(true, Some("0.0.0.0:8008")),
            "External access (0.0.0.0:8008)"
        );
        assert_eq!(external_access_label(true, None), "External access");
        assert_eq!(external_access_label(true, Some("")), "External access");
        assert_eq!(
            external_access_label(false, Some("0.0.0.0:8008")),
            "External access"
        );
    }

    #[test]
    fn names_join_in_plain_english() {
        assert_eq!(join_names(&names(&[])), "");
        assert_eq!(join_names(&names(&["A"])), "A");
        assert_eq!(join_names(&names(&["A", "B"])), "A and B");
        assert_eq!(join_names(&names(&["A", "B", "C"])), "A, B and C");
    }

    #[test]
    fn quit_message_says_printing_stops() {
        assert_eq!(
            quit_message(&names(&["Prusa MK4"])),
            "Prusa MK4 has a print in progress. Printing stops when Gantry quits. Quit anyway?"
        );
        assert_eq!(
            quit_message(&names(&["Prusa MK4", "Ender 3"])),
            "Prusa MK4 and Ender 3 have prints in progress. Printing stops when Gantry quits. \
             Quit anyway?"
        );
    }

    #[test]
    fn sign_out_message_says_prints_continue() {
        assert_eq!(
            sign_out_message(&names(&["Prusa MK4"])),
            "Prusa MK4 has a print in progress. Prints continue locally after you sign out. \
             Sign out anyway?"
        );
    }
}
