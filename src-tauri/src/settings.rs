//! The tray app's own settings, kept next to the service's data in `tray.json`.
//!
//! Absent fields take their defaults, so a file written by an older build keeps working and
//! a person can edit it by hand.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE: &str = "tray.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Open the dashboard in the system browser when a person starts the app.
    pub open_dashboard_on_launch: bool,
    /// Also open it on the automatic launch at login (off: a browser popping up at every
    /// login is a nuisance).
    pub open_dashboard_at_login: bool,
    /// Whether the first run already turned *Start at login* on. Start at login is on by
    /// default after install, but only once: a person who turns it off keeps it off.
    pub start_at_login_initialized: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            open_dashboard_on_launch: true,
            open_dashboard_at_login: false,
            start_at_login_initialized: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not valid tray settings: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

impl Settings {
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(FILE)
    }

    /// The saved settings, or the defaults when there is no file yet.
    pub fn load(data_dir: &Path) -> Result<Settings, SettingsError> {
        let path = Self::path(data_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| SettingsError::Parse { path, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(SettingsError::Read { path, source }),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a file.
    pub fn save(&self, data_dir: &Path) -> Result<(), SettingsError> {
        let path = Self::path(data_dir);
        let tmp = data_dir.join(format!(".{FILE}.tmp"));
        let write = |p: &Path| -> io::Result<()> {
            let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
            std::fs::write(p, text)
        };
        write(&tmp)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| SettingsError::Write { path, source })
    }

    /// Whether this launch opens the dashboard.
    pub fn opens_dashboard(&self, launched_at_login: bool) -> bool {
        if launched_at_login {
            self.open_dashboard_at_login
        } else {
            self.open_dashboard_on_launch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load(dir.path()).unwrap();
        assert_eq!(s, Settings::default());
        assert!(s.open_dashboard_on_launch);
        assert!(!s.open_dashboard_at_login);
        assert!(!s.start_at_login_initialized);
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings {
            open_dashboard_on_launch: false,
            open_dashboard_at_login: true,
            start_at_login_initialized: true,
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()).unwrap(), s);
    }

    #[test]
    fn partial_file_fills_in_defaults() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            Settings::path(dir.path()),
            r#"{"open_dashboard_on_launch": false}"#,
        )
        .unwrap();
        let s = Settings::load(dir.path()).unwrap();
        assert!(!s.open_dashboard_on_launch);
        assert!(!s.start_at_login_initialized);
    }

    #[test]
    fn broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Settings::path(dir.path()), "{nope").unwrap();
        let err = Settings::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("tray.json"), "{err}");
    }

    #[test]
    fn login_launch_opens_only_when_asked() {
        let s = Settings::default();
        assert!(s.opens_dashboard(false));
        assert!(!s.opens_dashboard(true));
        let s = Settings {
            open_dashboard_at_login: true,
            ..Settings::default()
        };
        assert!(s.opens_dashboard(true));
        let s = Settings {
            open_dashboard_on_launch: false,
            ..Settings::default()
        };
        assert!(!s.opens_dashboard(false));
    }
}
