//! The tray icon and its tooltip: the at-a-glance summary of every printer.

use crate::state::{PrinterState, TrayState};
use crate::text;

/// Which icon variant to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconState {
    Idle,
    /// At least one job is in progress (printing or paused).
    Printing,
    /// At least one printer is in error; outranks printing because it needs a person.
    Error,
}

/// Error beats printing beats idle.
pub fn icon_state(state: &TrayState) -> IconState {
    let states = || state.printers.iter().map(|p| p.state);
    if states().any(|s| s == PrinterState::Error) {
        IconState::Error
    } else if states().any(PrinterState::has_active_job) {
        IconState::Printing
    } else {
        IconState::Idle
    }
}

/// One line: the single printer's status, or counts by state when there are several,
/// plus the settings worth knowing without opening the menu.
pub fn tooltip(state: &TrayState) -> String {
    let mut tip = match state.printers.as_slice() {
        [] => "Gantry: no printers".to_owned(),
        [one] => format!("Gantry: {}", text::printer_label(one)),
        many => format!(
            "Gantry: {} printers{}{}",
            many.len(),
            text::DASH,
            counts(state)
        ),
    };
    if state.external_access {
        tip.push_str(" · ");
        tip.push_str(&text::external_access_summary(
            state.bind_address.as_deref(),
        ));
    }
    if state.account.is_offline() {
        tip.push_str(" · offline");
    }
    tip
}

/// "1 error, 2 printing, 1 ready", most urgent first, zero counts left out.
fn counts(state: &TrayState) -> String {
    const ORDER: [(PrinterState, &str); 6] = [
        (PrinterState::Error, "error"),
        (PrinterState::Printing, "printing"),
        (PrinterState::Paused, "paused"),
        (PrinterState::Connecting, "connecting"),
        (PrinterState::Ready, "ready"),
        (PrinterState::Disconnected, "disconnected"),
    ];
    ORDER
        .iter()
        .filter_map(|&(kind, word)| {
            let n = state.printers.iter().filter(|p| p.state == kind).count();
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Account, PrinterLine};
    use PrinterState::*;

    fn state_of(states: &[PrinterState]) -> TrayState {
        let mut s = TrayState::default();
        s.apply_printers(
            states
                .iter()
                .enumerate()
                .map(|(i, &st)| PrinterLine::new(i.to_string(), format!("P{i}"), st))
                .collect(),
        );
        s
    }

    #[test]
    fn icon_precedence_error_then_printing_then_idle() {
        let cases: &[(&[PrinterState], IconState)] = &[
            (&[], IconState::Idle),
            (&[Ready, Disconnected, Connecting], IconState::Idle),
            (&[Ready, Printing], IconState::Printing),
            (&[Paused], IconState::Printing),
            (&[Error], IconState::Error),
            (&[Printing, Error, Paused], IconState::Error),
            (&[Ready, Error], IconState::Error),
        ];
        for (states, want) in cases {
            assert_eq!(icon_state(&state_of(states)), *want, "{states:?}");
        }
    }

    #[test]
    fn icon_ignores_settings() {
        let mut s = state_of(&[Ready]);
        s.apply_external_access(true, Some("0.0.0.0:8008".into()));
        s.apply_account(Account::Offline);
        assert_eq!(icon_state(&s), IconState::Idle);
    }

    #[test]
    fn tooltip_without_printers() {
        assert_eq!(tooltip(&TrayState::default()), "Gantry: no printers");
    }

    #[test]
    fn tooltip_for_one_printer_is_its_status_line() {
        let mut s = TrayState::default();
        s.apply_printers(vec![
            PrinterLine::new("a", "Prusa MK4", Printing).with_progress(42.0)
        ]);
        assert_eq!(tooltip(&s), "Gantry: Prusa MK4 — Printing 42 %");
    }

    #[test]
    fn tooltip_for_many_printers_counts_by_urgency() {
        let s = state_of(&[Ready, Printing, Error, Printing, Disconnected]);
        assert_eq!(
            tooltip(&s),
            "Gantry: 5 printers — 1 error, 2 printing, 1 ready, 1 disconnected"
        );
    }

    #[test]
    fn tooltip_mentions_external_access_and_offline() {
        let mut s = TrayState::default();
        s.apply_external_access(true, Some("0.0.0.0:8008".into()));
        s.apply_account(Account::Offline);
        assert_eq!(
            tooltip(&s),
            "Gantry: no printers · external access on (0.0.0.0:8008) · offline"
        );
        s.apply_external_access(true, None);
        s.apply_account(Account::SignedOut);
        assert_eq!(tooltip(&s), "Gantry: no printers · external access on");
    }
}
