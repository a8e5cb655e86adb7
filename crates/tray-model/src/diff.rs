//! What changed between two renders, so the shell can update items in place: rebuilding
//! a tray menu makes it flicker (and close, if open) on some Linux desktops.

use std::mem::discriminant;

use crate::id::ItemId;
use crate::menu::ItemSpec;

/// How to get from the menu on screen to the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuDiff {
    Unchanged,
    /// Same items in the same order; apply these per-item changes.
    Update(Vec<ItemUpdate>),
    /// Items were added, removed, reordered or changed type: build the menu again.
    Rebuild,
}

/// Changes to one existing item; `None` fields are unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemUpdate {
    pub id: ItemId,
    pub label: Option<String>,
    pub checked: Option<bool>,
    pub enabled: Option<bool>,
}

/// Compares the menu the shell last rendered with a freshly computed one.
pub fn diff(old: &[ItemSpec], new: &[ItemSpec]) -> MenuDiff {
    let same_shape = old.len() == new.len()
        && old
            .iter()
            .zip(new)
            .all(|(a, b)| a.id == b.id && discriminant(&a.kind) == discriminant(&b.kind));
    if !same_shape {
        return MenuDiff::Rebuild;
    }
    let updates: Vec<ItemUpdate> = old
        .iter()
        .zip(new)
        .filter_map(|(a, b)| {
            let update = ItemUpdate {
                id: b.id.clone(),
                label: (a.label != b.label).then(|| b.label.clone()),
                checked: b.checked().filter(|_| a.checked() != b.checked()),
                enabled: (a.enabled != b.enabled).then_some(b.enabled),
            };
            let changed =
                update.label.is_some() || update.checked.is_some() || update.enabled.is_some();
            changed.then_some(update)
        })
        .collect();
    if updates.is_empty() {
        MenuDiff::Unchanged
    } else {
        MenuDiff::Update(updates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::menu_model;
    use crate::state::{Account, PrinterLine, PrinterState, TrayState};

    fn printing(progress: f32) -> TrayState {
        let mut s = TrayState::default();
        s.apply_printers(vec![
            PrinterLine::new("p1", "Prusa MK4", PrinterState::Printing).with_progress(progress),
            PrinterLine::new("p2", "Ender 3", PrinterState::Ready),
        ]);
        s
    }

    fn update(id: ItemId) -> ItemUpdate {
        ItemUpdate {
            id,
            label: None,
            checked: None,
            enabled: None,
        }
    }

    #[test]
    fn identical_menus_are_unchanged() {
        let s = printing(10.0);
        assert_eq!(diff(&menu_model(&s), &menu_model(&s)), MenuDiff::Unchanged);
    }

    #[test]
    fn progress_within_the_same_percent_is_unchanged() {
        assert_eq!(
            diff(&menu_model(&printing(42.1)), &menu_model(&printing(42.9))),
            MenuDiff::Unchanged
        );
    }

    #[test]
    fn progress_updates_one_label_in_place() {
        assert_eq!(
            diff(&menu_model(&printing(42.0)), &menu_model(&printing(43.0))),
            MenuDiff::Update(vec![ItemUpdate {
                label: Some("Prusa MK4 — Printing 43 %".into()),
                ..update(ItemId::Printer("p1".into()))
            }])
        );
    }

    #[test]
    fn external_access_updates_check_and_label_in_place() {
        let old = TrayState::default();
        let mut new = old.clone();
        new.apply_external_access(true, Some("0.0.0.0:8008".into()));
        assert_eq!(
            diff(&menu_model(&old), &menu_model(&new)),
            MenuDiff::Update(vec![ItemUpdate {
                label: Some("External access (0.0.0.0:8008)".into()),
                checked: Some(true),
                ..update(ItemId::ExternalAccess)
            }])
        );
    }

    #[test]
    fn check_turning_off_is_reported_as_false() {
        let mut old = TrayState::default();
        old.apply_start_at_login(true);
        let mut new = old.clone();
        new.apply_start_at_login(false);
        assert_eq!(
            diff(&menu_model(&old), &menu_model(&new)),
            MenuDiff::Update(vec![ItemUpdate {
                checked: Some(false),
                ..update(ItemId::StartAtLogin)
            }])
        );
    }

    #[test]
    fn offline_mode_updates_in_place() {
        let old = TrayState::default();
        let mut new = old.clone();
        new.apply_account(Account::Offline);
        assert_eq!(
            diff(&menu_model(&old), &menu_model(&new)),
            MenuDiff::Update(vec![
                ItemUpdate {
                    enabled: Some(false),
                    ..update(ItemId::SignInSso)
                },
                ItemUpdate {
                    checked: Some(true),
                    ..update(ItemId::OfflineMode)
                },
            ])
        );
    }

    #[test]
    fn sign_in_rebuilds() {
        let old = TrayState::default();
        let mut new = old.clone();
        new.apply_account(Account::SignedIn {
            email: "alice@example.com".into(),
        });
        assert_eq!(
            diff(&menu_model(&old), &menu_model(&new)),
            MenuDiff::Rebuild
        );
    }

    #[test]
    fn printer_added_removed_or_reordered_rebuilds() {
        let base = printing(1.0);
        let mut added = base.clone();
        added.apply_printer(PrinterLine::new("p3", "Voron", PrinterState::Ready));
        let mut removed = base.clone();
        removed.remove_printer("p2");
        let mut reordered = base.clone();
        reordered.printers.reverse();
        for other in [added, removed, reordered] {
            assert_eq!(
                diff(&menu_model(&base), &menu_model(&other)),
                MenuDiff::Rebuild
            );
        }
    }

    #[test]
    fn kind_change_with_same_id_rebuilds() {
        let old = menu_model(&TrayState::default());
        let mut new = old.clone();
        new[2].kind = crate::menu::ItemKind::Check(false);
        assert_eq!(diff(&old, &new), MenuDiff::Rebuild);
    }
}
