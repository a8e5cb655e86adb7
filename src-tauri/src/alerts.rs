//! Which printer changes deserve a desktop notification: the ones a person must act on and
//! might miss because the dashboard is closed.
//!
//! - A printer that disconnects mid-print, or reports an error.
//! - A print that finishes, fails or is interrupted: once per job id, from the printer's
//!   `last_job`. A cancelled print is quiet: whoever cancelled it knows.
//!
//! A notification fires on a *change*, never on what is first seen, so starting the app next
//! to a printer already in error, or whose last print ended before the app started, does not
//! pop anything up (the tray icon and the dashboard show it).
//!
//! One incident, one notification: a print that fails because the printer errored or
//! vanished is told once, by whichever of the two news arrives first (the job's outcome and
//! the printer's state reach the tray in either order).

use std::collections::HashMap;

use gantry::manager::{JobResult, LastJobView, PrinterView};
use printer::driver::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub title: String,
    pub body: String,
}

/// What was last seen of one printer.
#[derive(Debug)]
struct Seen {
    state: State,
    /// The id of the printer's last ended job; its outcome has been dealt with.
    last_job: Option<i64>,
    /// A failure was already told (an error, a disconnect mid-print, or a failed or
    /// interrupted print) and the printer has not settled since: the same incident's other
    /// half stays quiet.
    incident_told: bool,
}

/// The last state seen per printer.
#[derive(Debug, Default)]
pub struct Alerts {
    seen: HashMap<i64, Seen>,
}

impl Alerts {
    /// Records the printer's view; returns the notification its change calls for, if any.
    pub fn observe(&mut self, view: &PrinterView) -> Option<Alert> {
        let last_job = view.last_job.as_ref().map(|j| j.id);
        let Some(seen) = self.seen.get_mut(&view.id) else {
            self.seen.insert(
                view.id,
                Seen {
                    state: view.state,
                    last_job,
                    incident_told: false,
                },
            );
            return None;
        };
        let before = std::mem::replace(&mut seen.state, view.state);
        if matches!(
            view.state,
            State::Ready | State::Printing | State::Connecting
        ) {
            // Settled or started again: a later failure is a new incident.
            seen.incident_told = false;
        }
        let name = display_name(view);
        let state_news = state_alert(&name, before, view).filter(|_| !seen.incident_told);
        let mut failure_told = state_news.is_some();

        let mut outcome_news = None;
        if let Some(job) = view
            .last_job
            .as_ref()
            .filter(|j| Some(j.id) != seen.last_job)
        {
            seen.last_job = Some(job.id);
            let failure = matches!(job.result, JobResult::Failed | JobResult::Interrupted);
            if !(failure && seen.incident_told) {
                outcome_news = outcome_alert(&name, job);
                failure_told |= failure && outcome_news.is_some();
            }
        }
        seen.incident_told |= failure_told;
        // Both in one view: the job's outcome is the more specific news.
        outcome_news.or(state_news)
    }

    /// Forgets printers missing from a full snapshot, so a printer that comes back later
    /// starts fresh.
    pub fn retain(&mut self, ids: &[i64]) {
        self.seen.retain(|id, _| ids.contains(id));
    }
}

fn display_name(view: &PrinterView) -> String {
    if view.name.trim().is_empty() {
        format!("Printer {}", view.id)
    } else {
        view.name.clone()
    }
}

/// A change of the printer's state that needs a person.
fn state_alert(name: &str, before: State, view: &PrinterView) -> Option<Alert> {
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

/// How a print ended, told the way a person wants to hear it.
fn outcome_alert(name: &str, job: &LastJobView) -> Option<Alert> {
    let reason = job
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    let file = &job.file_name;
    match job.result {
        JobResult::Finished => Some(Alert {
            title: format!("{name} finished printing"),
            body: format!("{file} is done."),
        }),
        JobResult::Failed => Some(Alert {
            title: format!("{name}: the print failed"),
            body: match reason {
                Some(reason) => format!("{file}: {reason}"),
                None => format!("{file} did not finish. Open the dashboard for details."),
            },
        }),
        JobResult::Interrupted => Some(Alert {
            title: format!("{name}: the print was interrupted"),
            body: match reason {
                Some(reason) => format!("{file}: {reason}. It can be resumed from the dashboard."),
                None => format!("{file} stopped. It can be resumed from the dashboard."),
            },
        }),
        JobResult::Cancelled => None,
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
            last_job: None,
        }
    }

    fn ended(job: i64, result: JobResult, message: Option<&str>) -> LastJobView {
        LastJobView {
            id: job,
            file_name: "cube.gcode".into(),
            result,
            ended_at: Some("2026-11-27T01:00:00Z".into()),
            message: message.map(Into::into),
        }
    }

    fn with_last(mut v: PrinterView, job: LastJobView) -> PrinterView {
        v.last_job = Some(job);
        v
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

    #[test]
    fn a_finished_print_alerts_once_per_job() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let done = with_last(
            view(1, State::Ready, None),
            ended(7, JobResult::Finished, None),
        );
        let alert = a.observe(&done).unwrap();
        assert_eq!(alert.title, "Sim A finished printing");
        assert_eq!(alert.body, "cube.gcode is done.");
        assert_eq!(a.observe(&done), None, "the same job is told once");
        assert_eq!(a.observe(&done), None);
        let next = with_last(
            view(1, State::Ready, None),
            ended(8, JobResult::Finished, None),
        );
        assert!(a.observe(&next).is_some(), "the next job is news again");
    }

    #[test]
    fn a_job_that_ended_before_the_app_started_is_quiet() {
        let mut a = Alerts::default();
        let old = with_last(
            view(1, State::Ready, None),
            ended(3, JobResult::Failed, Some("thermal runaway")),
        );
        assert_eq!(a.observe(&old), None, "first sight");
        assert_eq!(a.observe(&old), None, "and after");
    }

    #[test]
    fn a_printer_first_seen_without_jobs_alerts_for_its_first_job() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Ready, None));
        let done = with_last(
            view(1, State::Ready, None),
            ended(1, JobResult::Finished, None),
        );
        assert!(a.observe(&done).is_some());
    }

    #[test]
    fn a_failed_print_says_why() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let failed = with_last(
            view(1, State::Ready, None),
            ended(2, JobResult::Failed, Some("cannot read the file")),
        );
        let alert = a.observe(&failed).unwrap();
        assert_eq!(alert.title, "Sim A: the print failed");
        assert_eq!(alert.body, "cube.gcode: cannot read the file");
    }

    #[test]
    fn a_cancelled_print_is_quiet() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let cancelled = with_last(
            view(1, State::Ready, None),
            ended(2, JobResult::Cancelled, None),
        );
        assert_eq!(a.observe(&cancelled), None);
    }

    #[test]
    fn a_disconnect_and_its_interrupted_job_are_one_notification_in_either_order() {
        // The printer's state first, then the job's outcome.
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let first = a.observe(&view(1, State::Offline, None)).unwrap();
        assert_eq!(first.title, "Sim A disconnected during a print");
        let interrupted = with_last(
            view(1, State::Offline, None),
            ended(5, JobResult::Interrupted, Some("the connection was lost")),
        );
        assert_eq!(a.observe(&interrupted), None);

        // The job's outcome first, then the printer's state.
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let early = with_last(
            view(1, State::Printing, None),
            ended(5, JobResult::Interrupted, Some("the connection was lost")),
        );
        let first = a.observe(&early).unwrap();
        assert_eq!(first.title, "Sim A: the print was interrupted");
        assert_eq!(
            first.body,
            "cube.gcode: the connection was lost. It can be resumed from the dashboard."
        );
        let offline = with_last(
            view(1, State::Offline, None),
            ended(5, JobResult::Interrupted, None),
        );
        assert_eq!(a.observe(&offline), None);
    }

    #[test]
    fn an_error_and_its_failed_job_are_one_notification() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        let both = with_last(
            view(1, State::Error, Some("Heating failed")),
            ended(
                9,
                JobResult::Failed,
                Some("the printer reported: Heating failed"),
            ),
        );
        let alert = a.observe(&both).unwrap();
        assert_eq!(alert.title, "Sim A: the print failed");
        assert_eq!(a.observe(&both), None);
    }

    #[test]
    fn a_new_incident_after_the_printer_settled_is_told() {
        let mut a = Alerts::default();
        a.observe(&view(1, State::Printing, None));
        assert!(a.observe(&view(1, State::Error, Some("MAXTEMP"))).is_some());
        a.observe(&view(1, State::Connecting, None));
        a.observe(&view(1, State::Ready, None));
        assert!(
            a.observe(&view(1, State::Error, Some("MAXTEMP"))).is_some(),
            "an error after recovering is news"
        );
    }
}
