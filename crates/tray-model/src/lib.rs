//! The Gantry tray as plain data: the menu, the icon, the tooltip and what each click
//! asks for, with no GUI toolkit so it unit-tests headless and stays the single source of
//! truth for every item the Tauri shell draws.
//!
//! # Contract with the shell
//!
//! 1. **Render.** Build toolkit items from [`menu_model`], keyed by `ItemId::to_string()`;
//!    keep the returned `Vec<ItemSpec>` as "what is on screen". Set the icon from
//!    [`icon_state`] and the tooltip from [`tooltip`]. Labels are plain text: escape the
//!    toolkit's mnemonic marker (`&` → `&&` for `tauri::menu`).
//! 2. **Click.** Parse the id ([`ItemId::parse`]), call [`on_click`] and perform the
//!    returned [`Effect`]. The model does not flip check items: the toolkit already moved
//!    the tick itself, so set it back to the item's confirmed value
//!    ([`find_item`] + [`ItemSpec::checked`] on the kept menu).
//! 3. **Confirm.** When the service reports the outcome, call the matching `apply_*` on
//!    [`TrayState`] (`apply_external_access`, `apply_start_at_login`, `apply_account`,
//!    `apply_printers`/`apply_printer`), then [`diff`] the kept menu against a fresh
//!    [`menu_model`] and update items in place ([`MenuDiff::Update`]) or rebuild
//!    ([`MenuDiff::Rebuild`]). A failed request changes nothing; the tick stays true.
//! 4. **Ask.** [`Effect::ConfirmQuit`] and [`Effect::ConfirmSignOut`] carry the dialog
//!    text; report the answer with [`on_confirm`], which yields the real effect.
//!
//! ```
//! use tray_model::{diff, menu_model, on_click, Effect, ItemId, ItemUpdate, MenuDiff, TrayState};
//!
//! let mut state = TrayState::default();
//! let shown = menu_model(&state);
//!
//! let id = ItemId::parse("external_access")?;
//! assert_eq!(on_click(&mut state, &id), Some(Effect::SetExternalAccess(true)));
//! assert_eq!(diff(&shown, &menu_model(&state)), MenuDiff::Unchanged); // not yet confirmed
//!
//! // The service rebound the dashboard:
//! state.apply_external_access(true, Some("0.0.0.0:8008".into()));
//! assert_eq!(
//!     diff(&shown, &menu_model(&state)),
//!     MenuDiff::Update(vec![ItemUpdate {
//!         id,
//!         label: Some("External access (0.0.0.0:8008)".into()),
//!         checked: Some(true),
//!         enabled: None,
//!     }])
//! );
//! # Ok::<(), tray_model::ParseItemIdError>(())
//! ```

mod click;
mod diff;
mod icon;
mod id;
mod menu;
mod state;
mod text;

pub use click::{on_click, on_confirm, Effect, Prompt};
pub use diff::{diff, ItemUpdate, MenuDiff};
pub use icon::{icon_state, tooltip, IconState};
pub use id::{ItemId, ParseItemIdError};
pub use menu::{find_item, menu_model, ItemKind, ItemSpec};
pub use state::{Account, PrinterLine, PrinterState, TrayState};
