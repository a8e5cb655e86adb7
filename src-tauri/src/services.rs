//! Which of the model's menu items the shell draws: only those whose service exists.
//!
//! `tray-model` describes the whole menu. Some items drive services the tray may not reach:
//! an attached daemon run by another account (whose owner token the tray cannot read), or
//! an older daemon without the API. Drawing them would offer clicks that do nothing. This
//! is the one place that decides.

use tray_model::{ItemId, ItemKind, ItemSpec};

/// Services that exist in this build but may be out of reach at run time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reachable {
    /// The access API answers and the tray may act as the owner (it can read the local token).
    pub access: bool,
    /// The cloud API answers, as the owner.
    pub cloud: bool,
}

/// Whether the service behind `id` exists in this build and is reachable now.
pub fn is_available(id: &ItemId, reachable: Reachable) -> bool {
    match id {
        ItemId::Printer(_)
        | ItemId::NoPrinters
        | ItemId::OpenDashboard
        | ItemId::StartAtLogin
        | ItemId::OpenLogs
        | ItemId::Quit
        | ItemId::Separator(_) => true,
        // Rebinding the dashboard to all interfaces (gantry::access).
        ItemId::ExternalAccess => reachable.access,
        // The cloud link (SSO sign-in, account, sign-out, offline mode, gantry::cloud).
        ItemId::SignInSso | ItemId::Account | ItemId::SignOut | ItemId::OfflineMode => {
            reachable.cloud
        }
    }
}

/// The model's menu without unavailable items, and without the separators that would then
/// be doubled, leading or trailing. Deterministic in the model's menu, so two filtered
/// menus can be diffed like the model's own.
pub fn visible(menu: Vec<ItemSpec>, reachable: Reachable) -> Vec<ItemSpec> {
    let mut out: Vec<ItemSpec> = Vec::with_capacity(menu.len());
    for item in menu.into_iter().filter(|i| is_available(&i.id, reachable)) {
        let is_separator = item.kind == ItemKind::Separator;
        let after_separator = out
            .last()
            .is_none_or(|last| last.kind == ItemKind::Separator);
        if is_separator && after_separator {
            continue;
        }
        out.push(item);
    }
    if out
        .last()
        .is_some_and(|last| last.kind == ItemKind::Separator)
    {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tray_model::{menu_model, Account, PrinterLine, PrinterState, TrayState};

    fn labels(menu: &[ItemSpec]) -> Vec<String> {
        menu.iter()
            .map(|i| match i.kind {
                ItemKind::Separator => "---".to_owned(),
                _ => i.label.clone(),
            })
            .collect()
    }

    #[test]
    fn default_menu_shows_only_working_items() {
        let menu = visible(menu_model(&TrayState::default()), Reachable::default());
        assert_eq!(
            labels(&menu),
            [
                "No printers connected",
                "---",
                "Open dashboard",
                "---",
                "Start at login",
                "Open logs folder",
                "---",
                "Quit"
            ]
        );
    }

    #[test]
    fn printers_are_listed_first() {
        let mut state = TrayState::default();
        state.apply_printers(vec![
            PrinterLine::new("1", "Sim A", PrinterState::Ready),
            PrinterLine::new("2", "Sim B", PrinterState::Connecting),
        ]);
        let menu = visible(menu_model(&state), Reachable::default());
        assert_eq!(
            &labels(&menu)[..3],
            ["Sim A — Ready", "Sim B — Connecting…", "---"]
        );
    }

    #[test]
    fn never_two_separators_in_a_row_nor_at_the_ends() {
        let menu = visible(menu_model(&TrayState::default()), Reachable::default());
        assert_ne!(menu.first().map(|i| i.kind), Some(ItemKind::Separator));
        assert_ne!(menu.last().map(|i| i.kind), Some(ItemKind::Separator));
        for pair in menu.windows(2) {
            assert!(
                !(pair[0].kind == ItemKind::Separator && pair[1].kind == ItemKind::Separator),
                "{menu:?}"
            );
        }
    }

    #[test]
    fn every_visible_item_is_available() {
        let menu = visible(menu_model(&TrayState::default()), Reachable::default());
        assert!(menu
            .iter()
            .all(|i| is_available(&i.id, Reachable::default())));
        assert!(menu.iter().all(|i| i.id != ItemId::ExternalAccess));
    }

    #[test]
    fn external_access_appears_when_the_access_api_is_reachable() {
        let menu = visible(
            menu_model(&TrayState::default()),
            Reachable {
                access: true,
                ..Reachable::default()
            },
        );
        assert_eq!(
            labels(&menu)[2..5],
            ["Open dashboard", "External access", "---"]
        );
    }

    #[test]
    fn cloud_items_appear_when_the_cloud_api_is_reachable() {
        let both = Reachable {
            access: true,
            cloud: true,
        };
        let menu = visible(menu_model(&TrayState::default()), both);
        assert_eq!(
            labels(&menu),
            [
                "No printers connected",
                "---",
                "Open dashboard",
                "External access",
                "---",
                "Sign in with SSO…",
                "Offline mode",
                "---",
                "Start at login",
                "Open logs folder",
                "---",
                "Quit"
            ]
        );
        let mut state = TrayState::default();
        state.apply_account(Account::SignedIn {
            email: "ada@example.test".into(),
        });
        let menu = visible(menu_model(&state), both);
        assert_eq!(
            labels(&menu)[5..8],
            ["Signed in as ada@example.test", "Sign out", "Offline mode"]
        );
    }
}
