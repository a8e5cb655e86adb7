//! Which printer changes deserve a desktop notification: the ones a person must act on and
//! might miss because the dashboard is closed.
//!
//! A notification fires on a *transition*, never on a state first seen, so starting the app
//! next to a printer already in error does not pop anything up (the tray icon shows it).
//! Finished and failed prints join this list when the service reports jobs.

use std::collections::HashMap;

use gantry::manager::PrinterView;
use printer::driver::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub body: String,
}

/// The last state seen per printer.
#[derive(Debug, Default)]
pub struct Alerts {
    last: HashMap<i64, State>,
}

impl Alerts {
    /// Records the printer's state; returns the notification its change calls for, if any.
    pub fn observe(&mut self, view: &PrinterView) -> Option<Alert> {
        let before = self.last.insert(view.id, view.state)?;
        let name = if view.name.trim().is_empty() {
            format!("Printer {}", view.id)
        } else {
            view.name.clone()
        };
        let was_printing = matches!(before, State::Printing | State::Paused);
        match view.state {
            State::Offline if was_printing => Some(Alert {
                title: format!("{name} disconnected during a print"),
                body: "The print stopped. Check the USB cable and the printer's power.".into(),
            }),
            State::Error if before != State::Error => Some(Alert {
                title: format!("{name} reported an error"),
                body: view
                    .error
                    .clone()
                    .filter(|e| !e.trim().is_empty())
                    .unwrap_or_else(|| "Open the dashboard for details.".into()),
            }),
            _ => None,
        }
    }

    /// Forgets printers missing from a full snapshot, so a printer that comes back later
    /// starts fresh.
    pub fn retain(&mut self, ids: &[i64]) {
        self.last.retain(|id, _| ids.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gantry::manager::TemperaturesView;

    fn view(id: i64, state: State, error: Option<&str>) -> PrinterView {
        PrinterView {
            id,
            identity: format!("sim-{id}"),
            name: "Sim A".into(),
            port: "/dev/pts/9".into(),
            baud: Some(115_200),
            state,
            error: error.map(Into::into),
            firmware: None,
            temperatures: TemperaturesView::default(),
            job: None,
        }
    }

    #[test]
    fn first_sight_never_alerts() {
        let mut a = Alerts::default();
        assert_eq!(a.observe(&view(1, State::Error, Some("MINTEMP"))), None);
    }

    #[test]
    fn disconnect_mid_print_alerts_once() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let alert = a.observe(&view(1, State::Offline, None)).unwrap();
        assert_eq!(alert.title, "Sim A disconnected during a print");
        assert_eq!(a.observe(&view(1, State::Offline, None)), None);
    }

    #[test]
    fn disconnect_while_paused_counts_as_mid_print() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Paused, None));
        assert!(a.observe(&view(1, State::Offline, None)).is_some());
    }

    #[test]
    fn disconnect_when_idle_is_quiet() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Ready, None));
        assert_eq!(a.observe(&view(1, State::Offline, None)), None);
    }

    #[test]
    fn error_alerts_with_the_firmware_message() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Ready, None));
        let alert = a
            .observe(&view(1, State::Error, Some("Heating failed")))
            .unwrap();
        assert_eq!(alert.title, "Sim A reported an error");
        assert_eq!(alert.body, "Heating failed");
        assert_eq!(
            a.observe(&view(1, State::Error, Some("Heating failed"))),
            None
        );
    }

    #[test]
    fn error_without_message_points_to_the_dashboard() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let alert = a.observe(&view(1, State::Error, Some("  "))).unwrap();
        assert_eq!(alert.body, "Open the dashboard for details.");
    }

    #[test]
    fn printers_are_tracked_separately_and_forgotten() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        a.observe(&view(2, State::Ready, None));
        assert_eq!(a.observe(&view(2, State::Offline, None)), None);
        a.retain(&[2]);
        assert_eq!(
            a.observe(&view(1, State::Offline, None)),
            None,
            "1 was forgotten"
        );
    }
}
