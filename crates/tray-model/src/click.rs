//! Clicks to effects: what the shell should do, never what already happened.
//!
//! Check items do not flip [`TrayState`] here. The effect carries the *requested* value;
//! the shell performs it and, once the service confirms, calls the matching `apply_*`
//! method. Until then the menu keeps showing the confirmed value, so a failed request
//! (port in use, autostart file not writable) cannot leave a tick that lies. Because the
//! requested value is absolute, a second click before the first is confirmed asks for
//! the same thing again, which is harmless.

use crate::id::ItemId;
use crate::state::{Account, TrayState};
use crate::text;

/// What the shell must do in response to a click or a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    OpenDashboard,
    /// Open the dashboard at this printer (its id).
    OpenPrinter(String),
    /// Rebind the dashboard; confirm with [`TrayState::apply_external_access`].
    SetExternalAccess(bool),
    /// Write or remove the autostart entry; confirm with [`TrayState::apply_start_at_login`].
    SetStartAtLogin(bool),
    /// Enter or leave offline mode; confirm with [`TrayState::apply_account`].
    SetOffline(bool),
    /// Start SSO in the system browser; confirm with [`TrayState::apply_account`].
    StartSso,
    /// Unlink the cloud account; confirm with [`TrayState::apply_account`].
    SignOut,
    /// Ask before signing out while printing; answer with [`on_confirm`] and [`Prompt::SignOut`].
    ConfirmSignOut {
        /// Names of the printers with a job in progress.
        printing: Vec<String>,
        /// The dialog text, ready to show.
        message: String,
    },
    OpenLogs,
    /// Ask before quitting while printing; answer with [`on_confirm`] and [`Prompt::Quit`].
    ConfirmQuit {
        /// Names of the printers with a job in progress.
        printing: Vec<String>,
        /// The dialog text, ready to show.
        message: String,
    },
    /// Shut the service down and exit.
    Quit,
}

/// A question the model asked through a `Confirm*` effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    Quit,
    SignOut,
}

/// Questions asked and not yet answered. A set rather than one slot: a tray menu stays
/// usable while a dialog is open, so both questions can be pending at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Awaiting {
    quit: bool,
    sign_out: bool,
}

impl Awaiting {
    fn slot(&mut self, prompt: Prompt) -> &mut bool {
        match prompt {
            Prompt::Quit => &mut self.quit,
            Prompt::SignOut => &mut self.sign_out,
        }
    }
}

/// Handles a click on `id`. Returns `None` for items that do nothing (labels, separators,
/// disabled items, or a printer that disappeared since the menu was drawn).
#[must_use = "the effect is the whole point of a click"]
pub fn on_click(state: &mut TrayState, id: &ItemId) -> Option<Effect> {
    let effect = match id {
        ItemId::Printer(printer) => {
            if state.printer(printer).is_none() {
                tracing::debug!(printer = %printer, "click on a printer that is no longer listed");
                return None;
            }
            Effect::OpenPrinter(printer.clone())
        }
        ItemId::OpenDashboard => Effect::OpenDashboard,
        ItemId::ExternalAccess => Effect::SetExternalAccess(!state.external_access),
        ItemId::SignInSso => match state.account {
            Account::SignedOut => Effect::StartSso,
            // Disabled (offline) or not shown (signed in): a stale or forged click.
            Account::Offline | Account::SignedIn { .. } => return ignored(id),
        },
        ItemId::SignOut => match state.account {
            Account::SignedIn { .. } => {
                let printing = state.active_jobs();
                if printing.is_empty() {
                    Effect::SignOut
                } else {
                    *state.awaiting.slot(Prompt::SignOut) = true;
                    Effect::ConfirmSignOut {
                        message: text::sign_out_message(&printing),
                        printing,
                    }
                }
            }
            Account::SignedOut | Account::Offline => return ignored(id),
        },
        ItemId::OfflineMode => Effect::SetOffline(!state.account.is_offline()),
        ItemId::StartAtLogin => Effect::SetStartAtLogin(!state.start_at_login),
        ItemId::OpenLogs => Effect::OpenLogs,
        ItemId::Quit => {
            let printing = state.active_jobs();
            if printing.is_empty() {
                Effect::Quit
            } else {
                *state.awaiting.slot(Prompt::Quit) = true;
                Effect::ConfirmQuit {
                    message: text::quit_message(&printing),
                    printing,
                }
            }
        }
        ItemId::NoPrinters | ItemId::Account | ItemId::Separator(_) => return ignored(id),
    };
    tracing::debug!(item = %id, ?effect, "tray click");
    Some(effect)
}

fn ignored(id: &ItemId) -> Option<Effect> {
    tracing::debug!(item = %id, "click on an inactive tray item ignored");
    None
}

/// The user answered a `Confirm*` dialog. Returns the effect to perform, or `None` when
/// they declined, when the question was never asked (or already answered), or when it no
/// longer applies (signed out meanwhile).
#[must_use = "a confirmed answer yields the effect to perform"]
pub fn on_confirm(state: &mut TrayState, prompt: Prompt, confirmed: bool) -> Option<Effect> {
    let slot = state.awaiting.slot(prompt);
    if !std::mem::take(slot) {
        tracing::debug!(?prompt, "answer to a question that is not pending ignored");
        return None;
    }
    if !confirmed {
        return None;
    }
    match prompt {
        // Prints may have finished meanwhile; quitting is what the user asked for either way.
        Prompt::Quit => Some(Effect::Quit),
        Prompt::SignOut => match state.account {
            Account::SignedIn { .. } => Some(Effect::SignOut),
            Account::SignedOut | Account::Offline => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::menu_model;
    use crate::state::{PrinterLine, PrinterState};

    fn alice() -> Account {
        Account::SignedIn {
            email: "alice@example.com".into(),
        }
    }

    fn with_printers(lines: Vec<PrinterLine>) -> TrayState {
        let mut s = TrayState::default();
        s.apply_printers(lines);
        s
    }

    fn printing_state() -> TrayState {
        with_printers(vec![
            PrinterLine::new("p1", "Prusa MK4", PrinterState::Printing).with_progress(42.0),
            PrinterLine::new("p2", "Ender 3", PrinterState::Ready),
        ])
    }

    #[test]
    fn plain_actions() {
        let mut s = TrayState::default();
        assert_eq!(
            on_click(&mut s, &ItemId::OpenDashboard),
            Some(Effect::OpenDashboard)
        );
        assert_eq!(on_click(&mut s, &ItemId::OpenLogs), Some(Effect::OpenLogs));
        assert_eq!(on_click(&mut s, &ItemId::Quit), Some(Effect::Quit));
    }

    #[test]
    fn printer_line_opens_that_printer() {
        let mut s = printing_state();
        assert_eq!(
            on_click(&mut s, &ItemId::Printer("p2".into())),
            Some(Effect::OpenPrinter("p2".into()))
        );
        assert_eq!(on_click(&mut s, &ItemId::Printer("gone".into())), None);
    }

    #[test]
    fn checks_request_the_opposite_without_changing_state() {
        let mut s = TrayState::default();
        let before = s.clone();
        assert_eq!(
            on_click(&mut s, &ItemId::ExternalAccess),
            Some(Effect::SetExternalAccess(true))
        );
        assert_eq!(
            on_click(&mut s, &ItemId::StartAtLogin),
            Some(Effect::SetStartAtLogin(true))
        );
        assert_eq!(
            on_click(&mut s, &ItemId::OfflineMode),
            Some(Effect::SetOffline(true))
        );
        assert_eq!(s, before, "clicks never flip state optimistically");
        assert_eq!(menu_model(&s), menu_model(&before));

        // Unconfirmed: a second click repeats the same request.
        assert_eq!(
            on_click(&mut s, &ItemId::ExternalAccess),
            Some(Effect::SetExternalAccess(true))
        );
    }

    #[test]
    fn checks_follow_confirmed_state() {
        let mut s = TrayState::default();
        s.apply_external_access(true, Some("0.0.0.0:8008".into()));
        s.apply_start_at_login(true);
        s.apply_account(Account::Offline);
        assert_eq!(
            on_click(&mut s, &ItemId::ExternalAccess),
            Some(Effect::SetExternalAccess(false))
        );
        assert_eq!(
            on_click(&mut s, &ItemId::StartAtLogin),
            Some(Effect::SetStartAtLogin(false))
        );
        assert_eq!(
            on_click(&mut s, &ItemId::OfflineMode),
            Some(Effect::SetOffline(false))
        );
    }

    #[test]
    fn offline_toggle_from_signed_in_requests_offline() {
        let mut s = TrayState::default();
        s.apply_account(alice());
        assert_eq!(
            on_click(&mut s, &ItemId::OfflineMode),
            Some(Effect::SetOffline(true))
        );
    }

    #[test]
    fn sso_only_when_signed_out() {
        let mut s = TrayState::default();
        assert_eq!(on_click(&mut s, &ItemId::SignInSso), Some(Effect::StartSso));
        s.apply_account(Account::Offline);
        assert_eq!(on_click(&mut s, &ItemId::SignInSso), None);
        s.apply_account(alice());
        assert_eq!(on_click(&mut s, &ItemId::SignInSso), None);
    }

    #[test]
    fn sign_out_when_idle_needs_no_confirmation() {
        let mut s = with_printers(vec![PrinterLine::new("p", "P", PrinterState::Ready)]);
        s.apply_account(alice());
        assert_eq!(on_click(&mut s, &ItemId::SignOut), Some(Effect::SignOut));
    }

    #[test]
    fn sign_out_only_when_signed_in() {
        let mut s = TrayState::default();
        assert_eq!(on_click(&mut s, &ItemId::SignOut), None);
        s.apply_account(Account::Offline);
        assert_eq!(on_click(&mut s, &ItemId::SignOut), None);
    }

    #[test]
    fn sign_out_while_printing_asks_and_says_prints_continue() {
        let mut s = printing_state();
        s.apply_account(alice());
        let effect = on_click(&mut s, &ItemId::SignOut);
        assert_eq!(
            effect,
            Some(Effect::ConfirmSignOut {
                printing: vec!["Prusa MK4".into()],
                message: "Prusa MK4 has a print in progress. Prints continue locally after \
                          you sign out. Sign out anyway?"
                    .into(),
            })
        );
        assert_eq!(
            on_confirm(&mut s, Prompt::SignOut, true),
            Some(Effect::SignOut)
        );
    }

    #[test]
    fn sign_out_confirmation_lapses_if_already_signed_out() {
        let mut s = printing_state();
        s.apply_account(alice());
        assert!(matches!(
            on_click(&mut s, &ItemId::SignOut),
            Some(Effect::ConfirmSignOut { .. })
        ));
        s.apply_account(Account::SignedOut);
        assert_eq!(on_confirm(&mut s, Prompt::SignOut, true), None);
    }

    #[test]
    fn quit_while_printing_asks_first() {
        let mut s = printing_state();
        assert_eq!(
            on_click(&mut s, &ItemId::Quit),
            Some(Effect::ConfirmQuit {
                printing: vec!["Prusa MK4".into()],
                message: "Prusa MK4 has a print in progress. Printing stops when Gantry quits. \
                          Quit anyway?"
                    .into(),
            })
        );
        assert_eq!(on_confirm(&mut s, Prompt::Quit, true), Some(Effect::Quit));
    }

    #[test]
    fn quit_confirmation_lists_every_active_job_including_paused() {
        let mut s = with_printers(vec![
            PrinterLine::new("a", "A", PrinterState::Printing),
            PrinterLine::new("b", "B", PrinterState::Error),
            PrinterLine::new("c", "C", PrinterState::Paused),
            PrinterLine::new("d", "D", PrinterState::Printing),
        ]);
        match on_click(&mut s, &ItemId::Quit) {
            Some(Effect::ConfirmQuit { printing, message }) => {
                assert_eq!(printing, ["A", "C", "D"]);
                assert!(message.starts_with("A, C and D have prints in progress."));
            }
            other => panic!("expected ConfirmQuit, got {other:?}"),
        }
    }

    #[test]
    fn quit_needs_no_confirmation_unless_a_job_is_active() {
        for state in [
            PrinterState::Disconnected,
            PrinterState::Connecting,
            PrinterState::Ready,
            PrinterState::Error,
        ] {
            let mut s = with_printers(vec![PrinterLine::new("a", "A", state)]);
            assert_eq!(
                on_click(&mut s, &ItemId::Quit),
                Some(Effect::Quit),
                "{state:?}"
            );
        }
    }

    #[test]
    fn declined_quit_does_nothing_and_clears_the_question() {
        let mut s = printing_state();
        assert!(on_click(&mut s, &ItemId::Quit).is_some());
        assert_eq!(on_confirm(&mut s, Prompt::Quit, false), None);
        assert_eq!(
            on_confirm(&mut s, Prompt::Quit, true),
            None,
            "the question was answered already"
        );
    }

    #[test]
    fn confirming_an_unasked_question_does_nothing() {
        let mut s = printing_state();
        s.apply_account(alice());
        assert_eq!(on_confirm(&mut s, Prompt::Quit, true), None);
        assert_eq!(on_confirm(&mut s, Prompt::SignOut, true), None);
    }

    #[test]
    fn quit_confirmation_still_quits_if_prints_finished_meanwhile() {
        let mut s = printing_state();
        assert!(on_click(&mut s, &ItemId::Quit).is_some());
        s.apply_printers(Vec::new());
        assert_eq!(on_confirm(&mut s, Prompt::Quit, true), Some(Effect::Quit));
    }

    #[test]
    fn two_pending_questions_are_answered_independently() {
        let mut s = printing_state();
        s.apply_account(alice());
        assert!(on_click(&mut s, &ItemId::Quit).is_some());
        assert!(on_click(&mut s, &ItemId::SignOut).is_some());
        assert_eq!(on_confirm(&mut s, Prompt::SignOut, false), None);
        assert_eq!(on_confirm(&mut s, Prompt::Quit, true), Some(Effect::Quit));
    }

    #[test]
    fn inert_items_do_nothing() {
        let mut s = printing_state();
        s.apply_account(alice());
        for id in [
            ItemId::NoPrinters,
            ItemId::Account,
            ItemId::Separator(0),
            ItemId::Separator(3),
        ] {
            assert_eq!(on_click(&mut s, &id), None, "{id}");
        }
    }

    #[test]
    fn every_enabled_item_does_something_and_every_disabled_one_nothing() {
        for account in [Account::SignedOut, alice(), Account::Offline] {
            let mut s = printing_state();
            s.apply_account(account);
            for item in menu_model(&s) {
                let effect = on_click(&mut s.clone(), &item.id);
                assert_eq!(effect.is_some(), item.enabled, "{}", item.id);
            }
        }
    }
}
