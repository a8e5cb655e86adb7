//! The bundled table of USB ids that belong to printers, and the baud rates to try on each.
//!
//! The table is data (`profiles/usb.json`), not code, so adding a board is a one-line change
//! that the validation test checks.

use std::sync::OnceLock;

use serde::Deserialize;

/// The bundled table, embedded at build time.
const USB_PROFILES: &str = include_str!("../../profiles/usb.json");

/// Baud rates tried on a port the user added by path, where no profile says better.
pub const DEFAULT_BAUDS: &[u32] = &[115_200, 250_000, 57_600];

/// Baud rates a profile may name: the ones Marlin-family boards are built with.
const KNOWN_BAUDS: &[u32] = &[
    9_600, 19_200, 38_400, 57_600, 74_880, 115_200, 230_400, 250_000, 460_800, 500_000, 921_600,
    1_000_000,
];

/// What a USB id tells about the device behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// A printer model that identifies itself (Prusa, Printrbot, …).
    Printer,
    /// A printer controller board with native USB (Arduino Mega, STM32, LPC1768, …).
    Board,
    /// A generic USB-serial chip: printers use it, but so do many other devices.
    Bridge,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub vid: u16,
    /// `None` matches any product of the vendor, when no exact row does.
    pub pid: Option<u16>,
    pub name: String,
    pub kind: ProfileKind,
    /// Tried in this order; never empty.
    pub bauds: Vec<u32>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("the profile table is not valid JSON: {0}")]
    Json(String),
    #[error("profile {index}: {field} {value:?} is not four hex digits")]
    Hex {
        index: usize,
        field: &'static str,
        value: String,
    },
    #[error("profile {index} ({name}) lists no baud rate")]
    NoBauds { index: usize, name: String },
    #[error("profile {index} ({name}) lists the unusual baud rate {baud}")]
    Baud {
        index: usize,
        name: String,
        baud: u32,
    },
    #[error("profile {index} ({name}) has an empty name")]
    NoName { index: usize, name: String },
    #[error("profile {index} repeats the USB id of profile {first}")]
    Duplicate { index: usize, first: usize },
}

#[derive(Deserialize)]
struct Table {
    profiles: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    vid: String,
    pid: Option<String>,
    name: String,
    kind: ProfileKind,
    bauds: Vec<u32>,
}

/// Parses and validates a profile table in the format of `profiles/usb.json`.
pub fn parse_profiles(json: &str) -> Result<Vec<Profile>, ProfileError> {
    let table: Table = serde_json::from_str(json).map_err(|e| ProfileError::Json(e.to_string()))?;
    let mut profiles: Vec<Profile> = Vec::with_capacity(table.profiles.len());
    for (index, row) in table.profiles.into_iter().enumerate() {
        let vid = parse_hex(&row.vid).ok_or_else(|| ProfileError::Hex {
            index,
            field: "vid",
            value: row.vid.clone(),
        })?;
        let pid = match &row.pid {
            None => None,
            Some(text) => Some(parse_hex(text).ok_or_else(|| ProfileError::Hex {
                index,
                field: "pid",
                value: text.clone(),
            })?),
        };
        if row.name.trim().is_empty() {
            return Err(ProfileError::NoName {
                index,
                name: row.name,
            });
        }
        if row.bauds.is_empty() {
            return Err(ProfileError::NoBauds {
                index,
                name: row.name,
            });
        }
        if let Some(&baud) = row.bauds.iter().find(|b| !KNOWN_BAUDS.contains(b)) {
            return Err(ProfileError::Baud {
                index,
                name: row.name,
                baud,
            });
        }
        if let Some(first) = profiles.iter().position(|p| p.vid == vid && p.pid == pid) {
            return Err(ProfileError::Duplicate { index, first });
        }
        profiles.push(Profile {
            vid,
            pid,
            name: row.name,
            kind: row.kind,
            bauds: row.bauds,
        });
    }
    Ok(profiles)
}

fn parse_hex(text: &str) -> Option<u16> {
    (text.len() == 4 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u16::from_str_radix(text, 16).ok())
        .flatten()
}

/// The bundled table, parsed on first use.
pub fn profiles() -> &'static [Profile] {
    static TABLE: OnceLock<Vec<Profile>> = OnceLock::new();
    TABLE.get_or_init(|| {
        parse_profiles(USB_PROFILES).unwrap_or_else(|e| {
            // A test validates the bundled file, so this only happens to a hand-edited build.
            tracing::error!(error = %e, "the bundled printer profile table is invalid; no USB port will be recognised");
            Vec::new()
        })
    })
}

/// The profile for a USB id: an exact row first, else the vendor's catch-all row.
pub fn lookup(vid: u16, pid: u16) -> Option<&'static Profile> {
    find(profiles(), vid, pid)
}

fn find(table: &[Profile], vid: u16, pid: u16) -> Option<&Profile> {
    table
        .iter()
        .find(|p| p.vid == vid && p.pid == Some(pid))
        .or_else(|| table.iter().find(|p| p.vid == vid && p.pid.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_table_is_valid() {
        let table = parse_profiles(USB_PROFILES).unwrap();
        assert!(table.len() >= 20, "only {} profiles", table.len());
        assert_eq!(profiles().len(), table.len());
    }

    #[test]
    fn bundled_table_covers_the_common_printer_ids() {
        for (vid, pid, kind) in [
            (0x2C99, 0x0002, ProfileKind::Printer),
            (0x2C99, 0x000C, ProfileKind::Printer),
            (0x2C99, 0x000D, ProfileKind::Printer),
            (0x2C99, 0x0011, ProfileKind::Printer),
            (0x2341, 0x0042, ProfileKind::Board),
            (0x2341, 0x0010, ProfileKind::Board),
            (0x0403, 0x6001, ProfileKind::Bridge),
            (0x0403, 0x6015, ProfileKind::Bridge),
            (0x1A86, 0x7523, ProfileKind::Bridge),
            (0x1A86, 0x55D4, ProfileKind::Bridge),
            (0x10C4, 0xEA60, ProfileKind::Bridge),
            (0x0483, 0x5740, ProfileKind::Board),
            (0x1D50, 0x6029, ProfileKind::Board),
            (0x2E8A, 0x000A, ProfileKind::Board),
            (0x4745, 0x0001, ProfileKind::Printer),
        ] {
            let profile = lookup(vid, pid).unwrap_or_else(|| panic!("{vid:04X}:{pid:04X} missing"));
            assert_eq!(profile.kind, kind, "{vid:04X}:{pid:04X}");
            assert!(!profile.bauds.is_empty());
        }
    }

    #[test]
    fn exact_row_wins_over_vendor_row_and_vendor_row_catches_the_rest() {
        let mk4 = lookup(0x2C99, 0x000D).unwrap();
        assert_eq!(mk4.pid, Some(0x000D));
        assert!(mk4.name.contains("MK4"));
        let unknown_prusa = lookup(0x2C99, 0x0FFF).unwrap();
        assert_eq!(unknown_prusa.pid, None);
    }

    #[test]
    fn unknown_ids_match_nothing() {
        // A USB keyboard, and a CH340 sibling the table does not list.
        assert_eq!(lookup(0x046D, 0xC31C), None);
        assert_eq!(lookup(0x1A86, 0x0001), None);
    }

    #[test]
    fn bauds_keep_their_order() {
        let mega = lookup(0x2341, 0x0042).unwrap();
        assert_eq!(mega.bauds, [250_000, 115_200, 57_600]);
        let ch340 = lookup(0x1A86, 0x7523).unwrap();
        assert_eq!(ch340.bauds[0], 115_200);
    }

    #[test]
    fn invalid_tables_are_rejected() {
        let row = |body: &str| format!(r#"{{"profiles":[{body}]}}"#);
        let ok = r#"{"vid":"1A86","pid":"7523","name":"x","kind":"bridge","bauds":[115200]}"#;
        assert!(parse_profiles(&row(ok)).is_ok());
        assert!(matches!(
            parse_profiles(&row(&ok.replace("1A86", "1A8"))),
            Err(ProfileError::Hex { field: "vid", .. })
        ));
        assert!(matches!(
            parse_profiles(&row(&ok.replace("7523", "75G3"))),
            Err(ProfileError::Hex { field: "pid", .. })
        ));
        assert!(matches!(
            parse_profiles(&row(&ok.replace("[115200]", "[]"))),
            Err(ProfileError::NoBauds { .. })
        ));
        assert!(matches!(
            parse_profiles(&row(&ok.replace("[115200]", "[115201]"))),
            Err(ProfileError::Baud { baud: 115_201, .. })
        ));
        assert!(matches!(
            parse_profiles(&row(&ok.replace("\"x\"", "\" \""))),
            Err(ProfileError::NoName { .. })
        ));
        assert!(matches!(
            parse_profiles(&row(&ok.replace("bridge", "toaster"))),
            Err(ProfileError::Json(_))
        ));
        assert!(matches!(
            parse_profiles(&row(&format!("{ok},{ok}"))),
            Err(ProfileError::Duplicate { index: 1, first: 0 })
        ));
    }
}
