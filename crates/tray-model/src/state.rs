//! What the tray shows, as last confirmed by the service.
//!
//! Nothing here changes because of a click: clicks only *request* changes (see
//! [`crate::on_click`]), and the shell writes the outcome back through the `apply_*`
//! methods once the service has actually done it. That keeps a check mark from claiming
//! "External access" is on while the rebind failed.

use crate::click::Awaiting;

/// A printer's state as far as the tray cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrinterState {
    /// Known (e.g. seen before) but no serial link.
    Disconnected,
    Connecting,
    /// Connected and not running a job.
    Ready,
    Printing,
    /// A job is loaded but not feeding; quitting would still abandon it.
    Paused,
    /// The printer or its link reported a fault; details live in the dashboard.
    Error,
}

impl PrinterState {
    /// Whether a job is in progress, i.e. quitting Gantry would stop a print.
    pub fn has_active_job(self) -> bool {
        matches!(self, PrinterState::Printing | PrinterState::Paused)
    }
}

/// One printer's status line.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterLine {
    /// Stable printer id (USB serial or port-based identity); becomes `printer:<id>`.
    pub id: String,
    /// Display name; may be empty, in which case the id is shown.
    pub name: String,
    pub state: PrinterState,
    /// Job progress in percent, `0.0..=100.0`; shown only while a job is active.
    /// Out-of-range values are clamped and NaN is treated as unknown.
    pub progress: Option<f32>,
}

impl PrinterLine {
    pub fn new(id: impl Into<String>, name: impl Into<String>, state: PrinterState) -> Self {
        PrinterLine {
            id: id.into(),
            name: name.into(),
            state,
            progress: None,
        }
    }

    pub fn with_progress(mut self, percent: f32) -> Self {
        self.progress = Some(percent);
        self
    }
}

/// The cloud account link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Account {
    #[default]
    SignedOut,
    SignedIn {
        email: String,
    },
    /// Offline mode: no cloud contact at all, so signing in is not offered.
    Offline,
}

impl Account {
    pub fn is_offline(&self) -> bool {
        matches!(self, Account::Offline)
    }
}

/// Everything the tray renders. Build it with `TrayState::default()` and the `apply_*`
/// methods (or by setting the public fields at start-up).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrayState {
    /// In the order the menu lists them.
    pub printers: Vec<PrinterLine>,
    pub external_access: bool,
    /// The address the dashboard listens on while external access is on, e.g. `0.0.0.0:8008`.
    pub bind_address: Option<String>,
    pub account: Account,
    pub start_at_login: bool,
    /// Confirmation dialogs the model has asked for and not yet heard back about.
    pub(crate) awaiting: Awaiting,
}

impl TrayState {
    /// Names of the printers that have a job in progress, in menu order.
    pub fn active_jobs(&self) -> Vec<String> {
        self.printers
            .iter()
            .filter(|p| p.state.has_active_job())
            .map(crate::text::printer_name)
            .collect()
    }

    pub fn printer(&self, id: &str) -> Option<&PrinterLine> {
        self.printers.iter().find(|p| p.id == id)
    }

    /// The service confirmed the dashboard's binding. Returns whether anything changed.
    pub fn apply_external_access(&mut self, enabled: bool, bind_address: Option<String>) -> bool {
        let changed = self.external_access != enabled || self.bind_address != bind_address;
        self.external_access = enabled;
        self.bind_address = bind_address;
        changed
    }

    /// The autostart entry was written or removed. Returns whether anything changed.
    pub fn apply_start_at_login(&mut self, enabled: bool) -> bool {
        replace_if_different(&mut self.start_at_login, enabled)
    }

    /// The service reports the account link, including entering or leaving offline mode.
    /// Returns whether anything changed.
    pub fn apply_account(&mut self, account: Account) -> bool {
        replace_if_different(&mut self.account, account)
    }

    /// Replaces the whole printer list (a snapshot from the printer manager).
    /// Returns whether anything changed.
    pub fn apply_printers(&mut self, printers: Vec<PrinterLine>) -> bool {
        replace_if_different(&mut self.printers, printers)
    }

    /// Updates one printer in place, or appends it if it is new. Returns whether anything changed.
    pub fn apply_printer(&mut self, line: PrinterLine) -> bool {
        match self.printers.iter_mut().find(|p| p.id == line.id) {
            Some(existing) => replace_if_different(existing, line),
            None => {
                self.printers.push(line);
                true
            }
        }
    }

    /// Drops a printer that is gone for good. Returns whether it was listed.
    pub fn remove_printer(&mut self, id: &str) -> bool {
        let before = self.printers.len();
        self.printers.retain(|p| p.id != id);
        self.printers.len() != before
    }
}

fn replace_if_different<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        false
    } else {
        *slot = value;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PrinterState::*;

    #[test]
    fn only_printing_and_paused_are_active_jobs() {
        let active: Vec<_> = [Disconnected, Connecting, Ready, Printing, Paused, Error]
            .into_iter()
            .filter(|s| s.has_active_job())
            .collect();
        assert_eq!(active, [Printing, Paused]);
    }

    #[test]
    fn active_jobs_lists_names_in_order_and_falls_back_to_id() {
        let mut s = TrayState::default();
        s.apply_printers(vec![
            PrinterLine::new("a", "Prusa MK4", Printing),
            PrinterLine::new("b", "Ender 3", Ready),
            PrinterLine::new("c", "", Paused),
        ]);
        assert_eq!(s.active_jobs(), ["Prusa MK4", "c"]);
    }

    #[test]
    fn apply_methods_report_changes() {
        let mut s = TrayState::default();
        assert!(s.apply_external_access(true, Some("0.0.0.0:8008".into())));
        assert!(!s.apply_external_access(true, Some("0.0.0.0:8008".into())));
        assert!(s.apply_external_access(true, Some("[::]:8008".into())));
        assert!(s.apply_external_access(false, None));
        assert!(!s.external_access);

        assert!(s.apply_start_at_login(true));
        assert!(!s.apply_start_at_login(true));
        assert!(s.start_at_login);

        let alice = Account::SignedIn {
            email: "alice@example.com".into(),
        };
        assert!(s.apply_account(alice.clone()));
        assert!(!s.apply_account(alice.clone()));
        assert_eq!(s.account, alice);
        assert!(s.apply_account(Account::Offline));
        assert!(s.account.is_offline());
    }

    #[test]
    fn apply_printer_upserts_and_remove_drops() {
        let mut s = TrayState::default();
        assert!(s.apply_printer(PrinterLine::new("a", "A", Ready)));
        assert!(s.apply_printer(PrinterLine::new("b", "B", Ready)));
        assert!(!s.apply_printer(PrinterLine::new("a", "A", Ready)));
        assert!(s.apply_printer(PrinterLine::new("a", "A", Printing).with_progress(5.0)));
        assert_eq!(s.printers.len(), 2);
        assert_eq!(s.printers[0].id, "a", "an update keeps the printer's place");
        assert_eq!(s.printer("a").map(|p| p.progress), Some(Some(5.0)));

        assert!(s.remove_printer("a"));
        assert!(!s.remove_printer("a"));
        assert_eq!(s.printers.len(), 1);
        assert!(s.printer("a").is_none());
    }

    #[test]
    fn apply_printers_reports_changes() {
        let mut s = TrayState::default();
        let list = vec![PrinterLine::new("a", "A", Ready)];
        assert!(s.apply_printers(list.clone()));
        assert!(!s.apply_printers(list));
        assert!(s.apply_printers(Vec::new()));
    }
}
