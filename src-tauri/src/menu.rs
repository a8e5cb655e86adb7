//! Draws the model's menu with `tauri::menu`, and changes it in place afterwards.
//!
//! Every function here touches GTK/AppKit/Win32 objects: call them on the main thread
//! (tauri would otherwise bounce each call to it and wait).

use std::collections::HashMap;

use tauri::menu::{CheckMenuItem, Menu, MenuItem, MenuItemKind, PredefinedMenuItem};
use tauri::{AppHandle, Runtime};
use tray_model::{ItemKind, ItemSpec, ItemUpdate};

/// The drawn menu and its items by id, for updates in place.
pub struct Drawn<R: Runtime> {
    pub menu: Menu<R>,
    items: HashMap<String, MenuItemKind<R>>,
}

/// `tauri::menu` reads `&` as a mnemonic marker; printer names come from people.
fn escape(label: &str) -> String {
    label.replace('&', "&&")
}

pub fn build<R: Runtime>(app: &AppHandle<R>, specs: &[ItemSpec]) -> tauri::Result<Drawn<R>> {
    let menu = Menu::new(app)?;
    let mut items = HashMap::new();
    for spec in specs {
        let id = spec.id.to_string();
        let label = escape(&spec.label);
        let item: MenuItemKind<R> = match spec.kind {
            ItemKind::Separator => {
                menu.append(&PredefinedMenuItem::separator(app)?)?;
                continue;
            }
            ItemKind::Check(checked) => MenuItemKind::Check(CheckMenuItem::with_id(
                app,
                id.as_str(),
                label,
                spec.enabled,
                checked,
                None::<&str>,
            )?),
            ItemKind::Action | ItemKind::Label => MenuItemKind::MenuItem(MenuItem::with_id(
                app,
                id.as_str(),
                label,
                spec.enabled,
                None::<&str>,
            )?),
        };
        menu.append(&item)?;
        items.insert(id, item);
    }
    Ok(Drawn { menu, items })
}

impl<R: Runtime> Drawn<R> {
    pub fn update(&self, updates: &[ItemUpdate]) -> tauri::Result<()> {
        for update in updates {
            let Some(item) = self.items.get(&update.id.to_string()) else {
                tracing::warn!(item = %update.id, "update for an item that is not drawn");
                continue;
            };
            match item {
                MenuItemKind::MenuItem(item) => {
                    if let Some(label) = &update.label {
                        item.set_text(escape(label))?;
                    }
                    if let Some(enabled) = update.enabled {
                        item.set_enabled(enabled)?;
                    }
                }
                MenuItemKind::Check(item) => {
                    if let Some(label) = &update.label {
                        item.set_text(escape(label))?;
                    }
                    if let Some(enabled) = update.enabled {
                        item.set_enabled(enabled)?;
                    }
                    if let Some(checked) = update.checked {
                        item.set_checked(checked)?;
                    }
                }
                _ => tracing::warn!(item = %update.id, "update for an item of an unexpected kind"),
            }
        }
        Ok(())
    }

    /// Puts a check item's tick back to `checked`: the toolkit flips it on click, before the
    /// service has done anything.
    pub fn set_checked(&self, id: &str, checked: bool) -> tauri::Result<()> {
        if let Some(MenuItemKind::Check(item)) = self.items.get(id) {
            item.set_checked(checked)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn ampersands_are_doubled() {
        assert_eq!(escape("Prusa & Co — Ready"), "Prusa && Co — Ready");
        assert_eq!(escape("plain"), "plain");
    }
}
