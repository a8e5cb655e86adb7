//! Stable item ids: the only thing the shell hands back to the model on a click.
//!
//! Toolkits identify menu items by string, so every id has a fixed textual form that
//! survives the round trip through `tauri::menu` (or D-Bus) unchanged.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// Prefix of a printer status line's id; the rest of the string is the printer's id, verbatim.
const PRINTER_PREFIX: &str = "printer:";
/// Prefix of a separator's id; separators need ids only so that [`crate::diff`] can align menus.
const SEPARATOR_PREFIX: &str = "separator:";

/// Identifies one tray menu item across renders and clicks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemId {
    /// A printer's status line, keyed by the printer's id (not its name, which may change).
    Printer(String),
    /// The placeholder line shown when no printer is known.
    NoPrinters,
    OpenDashboard,
    ExternalAccess,
    SignInSso,
    /// The "Signed in as …" line.
    Account,
    SignOut,
    OfflineMode,
    StartAtLogin,
    OpenLogs,
    Quit,
    /// The n-th separator from the top.
    Separator(u8),
}

/// A string that names no tray item, e.g. an id from an older build of the menu.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tray item id {0:?}")]
pub struct ParseItemIdError(pub String);

impl ItemId {
    /// Every fixed (non-printer, non-separator) id, for exhaustive tests and lookups.
    pub const FIXED: [ItemId; 10] = [
        ItemId::NoPrinters,
        ItemId::OpenDashboard,
        ItemId::ExternalAccess,
        ItemId::SignInSso,
        ItemId::Account,
        ItemId::SignOut,
        ItemId::OfflineMode,
        ItemId::StartAtLogin,
        ItemId::OpenLogs,
        ItemId::Quit,
    ];

    /// The textual form; one total match so no variant can lack a string.
    fn text(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            ItemId::Printer(id) => return Cow::Owned(format!("{PRINTER_PREFIX}{id}")),
            ItemId::Separator(n) => return Cow::Owned(format!("{SEPARATOR_PREFIX}{n}")),
            ItemId::NoPrinters => "printers:none",
            ItemId::OpenDashboard => "open_dashboard",
            ItemId::ExternalAccess => "external_access",
            ItemId::SignInSso => "sign_in_sso",
            ItemId::Account => "account",
            ItemId::SignOut => "sign_out",
            ItemId::OfflineMode => "offline_mode",
            ItemId::StartAtLogin => "start_at_login",
            ItemId::OpenLogs => "open_logs",
            ItemId::Quit => "quit",
        })
    }

    /// Parses the textual form produced by `Display`.
    pub fn parse(s: &str) -> Result<ItemId, ParseItemIdError> {
        let bad = || ParseItemIdError(s.to_owned());
        if let Some(printer) = s.strip_prefix(PRINTER_PREFIX) {
            return match printer {
                "" => Err(bad()),
                id => Ok(ItemId::Printer(id.to_owned())),
            };
        }
        if let Some(digits) = s.strip_prefix(SEPARATOR_PREFIX) {
            // Only the canonical decimal form, so that parse and Display stay inverse.
            return match digits.parse::<u8>() {
                Ok(n) if n.to_string() == digits => Ok(ItemId::Separator(n)),
                _ => Err(bad()),
            };
        }
        Self::FIXED
            .into_iter()
            .find(|id| id.text() == s)
            .ok_or_else(bad)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl FromStr for ItemId {
    type Err = ParseItemIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ItemId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ids_round_trip() {
        for id in ItemId::FIXED {
            let text = id.to_string();
            assert_eq!(ItemId::parse(&text), Ok(id.clone()), "{text}");
        }
    }

    #[test]
    fn fixed_ids_have_distinct_texts() {
        let mut texts: Vec<String> = ItemId::FIXED.iter().map(ToString::to_string).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), ItemId::FIXED.len());
    }

    #[test]
    fn printer_ids_round_trip_verbatim() {
        for raw in [
            "1",
            "usb-2c99-CZPX1234",
            "a:b:c",
            "printer:nested",
            "Ünïcode ✓",
            " spaced ",
        ] {
            let id = ItemId::Printer(raw.to_owned());
            let text = id.to_string();
            assert_eq!(text, format!("printer:{raw}"));
            assert_eq!(text.parse::<ItemId>(), Ok(id));
        }
    }

    #[test]
    fn printer_id_that_looks_like_a_fixed_id_stays_a_printer() {
        assert_eq!(
            ItemId::parse("printer:quit"),
            Ok(ItemId::Printer("quit".to_owned()))
        );
    }

    #[test]
    fn separators_round_trip() {
        for n in [0u8, 1, 9, 255] {
            let id = ItemId::Separator(n);
            assert_eq!(ItemId::parse(&id.to_string()), Ok(id));
        }
    }

    #[test]
    fn unknown_and_malformed_ids_are_rejected() {
        for bad in [
            "",
            "nope",
            "printer:",
            "Quit",
            "quit ",
            "separator:",
            "separator:x",
            "separator:01",
            "separator:256",
            "separator:+1",
        ] {
            assert_eq!(
                ItemId::parse(bad),
                Err(ParseItemIdError(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_names_the_bad_id() {
        let err = ItemId::parse("nope").unwrap_err();
        assert_eq!(err.to_string(), "unknown tray item id \"nope\"");
    }
}
