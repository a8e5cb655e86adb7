//! The tray menu as plain data, derived from [`TrayState`] alone.

use crate::id::ItemId;
use crate::state::{Account, TrayState};
use crate::text;

/// How an item behaves; the shell maps each to its toolkit's item type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A plain clickable item.
    Action,
    /// A check item; the flag is the state the service last confirmed.
    Check(bool),
    /// Informational text, never clickable (render it disabled).
    Label,
    Separator,
}

/// One menu item. Labels are plain text: the shell escapes its toolkit's mnemonic marker
/// (for `tauri::menu`/muda, `&` must become `&&`), because names come from users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSpec {
    pub id: ItemId,
    pub label: String,
    pub kind: ItemKind,
    /// False for labels, separators and items that do not apply right now
    /// (e.g. SSO sign-in in offline mode).
    pub enabled: bool,
}

impl ItemSpec {
    fn action(id: ItemId, label: impl Into<String>) -> Self {
        ItemSpec {
            id,
            label: label.into(),
            kind: ItemKind::Action,
            enabled: true,
        }
    }

    fn check(id: ItemId, label: impl Into<String>, checked: bool) -> Self {
        ItemSpec {
            id,
            label: label.into(),
            kind: ItemKind::Check(checked),
            enabled: true,
        }
    }

    fn label(id: ItemId, label: impl Into<String>) -> Self {
        ItemSpec {
            id,
            label: label.into(),
            kind: ItemKind::Label,
            enabled: false,
        }
    }

    fn disabled(self) -> Self {
        ItemSpec {
            enabled: false,
            ..self
        }
    }

    /// The confirmed check state, for check items.
    pub fn checked(&self) -> Option<bool> {
        match self.kind {
            ItemKind::Check(on) => Some(on),
            _ => None,
        }
    }
}

/// Appends items and numbers separators from the top, so their ids are stable for a
/// given menu shape.
#[derive(Default)]
struct Builder {
    items: Vec<ItemSpec>,
    separators: u8,
}

impl Builder {
    fn push(&mut self, item: ItemSpec) {
        self.items.push(item);
    }

    fn separator(&mut self) {
        self.items.push(ItemSpec {
            id: ItemId::Separator(self.separators),
            label: String::new(),
            kind: ItemKind::Separator,
            enabled: false,
        });
        // The layout has four separators, far below u8::MAX.
        self.separators += 1;
    }
}

/// The full menu, top to bottom.
pub fn menu_model(state: &TrayState) -> Vec<ItemSpec> {
    let mut menu = Builder::default();

    if state.printers.is_empty() {
        menu.push(ItemSpec::label(ItemId::NoPrinters, text::NO_PRINTERS));
    }
    for printer in &state.printers {
        menu.push(ItemSpec::action(
            ItemId::Printer(printer.id.clone()),
            text::printer_label(printer),
        ));
    }
    menu.separator();

    menu.push(ItemSpec::action(
        ItemId::OpenDashboard,
        text::OPEN_DASHBOARD,
    ));
    menu.push(ItemSpec::check(
        ItemId::ExternalAccess,
        text::external_access_label(state.external_access, state.bind_address.as_deref()),
        state.external_access,
    ));
    menu.separator();

    match &state.account {
        Account::SignedOut => menu.push(ItemSpec::action(ItemId::SignInSso, text::SIGN_IN_SSO)),
        // Kept visible but disabled so the menu keeps its shape when offline mode toggles.
        Account::Offline => {
            menu.push(ItemSpec::action(ItemId::SignInSso, text::SIGN_IN_SSO).disabled())
        }
        Account::SignedIn { email } => {
            menu.push(ItemSpec::label(
                ItemId::Account,
                text::signed_in_label(email),
            ));
            menu.push(ItemSpec::action(ItemId::SignOut, text::SIGN_OUT));
        }
    }
    menu.push(ItemSpec::check(
        ItemId::OfflineMode,
        text::OFFLINE_MODE,
        state.account.is_offline(),
    ));
    menu.separator();

    menu.push(ItemSpec::check(
        ItemId::StartAtLogin,
        text::START_AT_LOGIN,
        state.start_at_login,
    ));
    menu.push(ItemSpec::action(ItemId::OpenLogs, text::OPEN_LOGS));
    menu.separator();

    menu.push(ItemSpec::action(ItemId::Quit, text::QUIT));
    menu.items
}

/// Looks an item up by id, e.g. to read back the confirmed tick after a click.
pub fn find_item<'a>(menu: &'a [ItemSpec], id: &ItemId) -> Option<&'a ItemSpec> {
    menu.iter().find(|item| &item.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{PrinterLine, PrinterState};

    fn labels(menu: &[ItemSpec]) -> Vec<&str> {
        menu.iter()
            .map(|i| match i.kind {
                ItemKind::Separator => "---",
                _ => i.label.as_str(),
            })
            .collect()
    }

    fn kind_of(menu: &[ItemSpec], id: ItemId) -> ItemKind {
        find_item(menu, &id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .kind
    }

    fn alice() -> Account {
        Account::SignedIn {
            email: "alice@example.com".into(),
        }
    }

    #[test]
    fn default_menu_labels_in_order() {
        let menu = menu_model(&TrayState::default());
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
                "Quit",
            ]
        );
    }

    #[test]
    fn signed_in_menu_with_printers_labels_in_order() {
        let mut s = TrayState::default();
        s.apply_printers(vec![
            PrinterLine::new("p1", "Prusa MK4", PrinterState::Printing).with_progress(42.0),
            PrinterLine::new("p2", "Ender 3", PrinterState::Ready),
        ]);
        s.apply_external_access(true, Some("0.0.0.0:8008".into()));
        s.apply_account(alice());
        let menu = menu_model(&s);
        assert_eq!(
            labels(&menu),
            [
                "Prusa MK4 — Printing 42 %",
                "Ender 3 — Ready",
                "---",
                "Open dashboard",
                "External access (0.0.0.0:8008)",
                "---",
                "Signed in as alice@example.com",
                "Sign out",
                "Offline mode",
                "---",
                "Start at login",
                "Open logs folder",
                "---",
                "Quit",
            ]
        );
    }

    #[test]
    fn ids_are_unique_and_printers_use_their_ids() {
        let mut s = TrayState::default();
        s.apply_printers(vec![
            PrinterLine::new("p1", "Same name", PrinterState::Ready),
            PrinterLine::new("p2", "Same name", PrinterState::Ready),
        ]);
        s.apply_account(alice());
        let menu = menu_model(&s);
        let mut ids: Vec<String> = menu.iter().map(|i| i.id.to_string()).collect();
        assert_eq!(ids[0], "printer:p1");
        assert_eq!(ids[1], "printer:p2");
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), menu.len());
    }

    #[test]
    fn every_rendered_id_round_trips() {
        let mut s = TrayState::default();
        s.apply_printers(vec![PrinterLine::new(
            "usb:2c99:CZ 1",
            "x",
            PrinterState::Ready,
        )]);
        for account in [Account::SignedOut, alice(), Account::Offline] {
            s.apply_account(account);
            for item in menu_model(&s) {
                assert_eq!(ItemId::parse(&item.id.to_string()), Ok(item.id));
            }
        }
    }

    #[test]
    fn checks_reflect_state() {
        for (external, offline, autostart) in [
            (false, false, false),
            (true, false, false),
            (false, true, false),
            (false, false, true),
            (true, true, true),
        ] {
            let mut s = TrayState::default();
            s.apply_external_access(external, None);
            s.apply_start_at_login(autostart);
            s.apply_account(if offline {
                Account::Offline
            } else {
                Account::SignedOut
            });
            let menu = menu_model(&s);
            assert_eq!(
                kind_of(&menu, ItemId::ExternalAccess),
                ItemKind::Check(external)
            );
            assert_eq!(
                kind_of(&menu, ItemId::OfflineMode),
                ItemKind::Check(offline)
            );
            assert_eq!(
                kind_of(&menu, ItemId::StartAtLogin),
                ItemKind::Check(autostart)
            );
        }
    }

    #[test]
    fn offline_mode_disables_sso() {
        let mut s = TrayState::default();
        let sso = |s: &TrayState| find_item(&menu_model(s), &ItemId::SignInSso).cloned();
        assert_eq!(sso(&s).map(|i| i.enabled), Some(true));
        s.apply_account(Account::Offline);
        let item = sso(&s);
        assert_eq!(item.as_ref().map(|i| i.enabled), Some(false));
        assert_eq!(item.map(|i| i.kind), Some(ItemKind::Action));
    }

    #[test]
    fn signed_in_replaces_sso_with_account_and_sign_out() {
        let mut s = TrayState::default();
        s.apply_account(alice());
        let menu = menu_model(&s);
        assert!(find_item(&menu, &ItemId::SignInSso).is_none());
        let account = find_item(&menu, &ItemId::Account).cloned();
        assert_eq!(account.as_ref().map(|i| i.kind), Some(ItemKind::Label));
        assert_eq!(account.map(|i| i.enabled), Some(false));
        assert_eq!(kind_of(&menu, ItemId::SignOut), ItemKind::Action);
        assert_eq!(kind_of(&menu, ItemId::OfflineMode), ItemKind::Check(false));
    }

    #[test]
    fn sign_out_and_account_absent_unless_signed_in() {
        for account in [Account::SignedOut, Account::Offline] {
            let mut s = TrayState::default();
            s.apply_account(account);
            let menu = menu_model(&s);
            assert!(find_item(&menu, &ItemId::SignOut).is_none());
            assert!(find_item(&menu, &ItemId::Account).is_none());
        }
    }

    #[test]
    fn only_labels_and_separators_and_disabled_items_are_disabled() {
        let menu = menu_model(&TrayState::default());
        for item in &menu {
            let should_be_enabled = matches!(item.kind, ItemKind::Action | ItemKind::Check(_));
            assert_eq!(item.enabled, should_be_enabled, "{}", item.id);
        }
    }

    #[test]
    fn separators_are_numbered_from_the_top() {
        let menu = menu_model(&TrayState::default());
        let seps: Vec<ItemId> = menu
            .iter()
            .filter(|i| i.kind == ItemKind::Separator)
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(
            seps,
            (0..4).map(ItemId::Separator).collect::<Vec<_>>(),
            "four separators, numbered 0..4"
        );
    }

    #[test]
    fn checked_reads_check_items_only() {
        let mut s = TrayState::default();
        s.apply_start_at_login(true);
        let menu = menu_model(&s);
        let checked = |id| find_item(&menu, &id).and_then(ItemSpec::checked);
        assert_eq!(checked(ItemId::StartAtLogin), Some(true));
        assert_eq!(checked(ItemId::ExternalAccess), Some(false));
        assert_eq!(checked(ItemId::Quit), None);
    }
}
