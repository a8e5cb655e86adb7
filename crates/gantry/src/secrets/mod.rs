//! Where tokens live: the OS keychain through `keyring` (Secret Service on Linux desktops,
//! Keychain on macOS, Credential Manager on Windows), or — on a headless Linux box with no
//! Secret Service — a file readable only by the service user in its state directory.
//!
//! Passwords are never stored anywhere; only revocable tokens are.

mod file;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use file::FileStore;

/// `GANTRY_SECRETS=file` forces the file store (for a service that must not touch a desktop
/// keychain); `keychain` refuses to fall back.
pub const BACKEND_ENV: &str = "GANTRY_SECRETS";
/// The fallback file's name in the data directory.
pub const FILE_NAME: &str = "secrets.json";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the keychain refused: {0}")]
    Keychain(String),
    #[error("cannot use the secrets file {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the secrets file {} is damaged: {detail}", path.display())]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "no keychain is available ({0}) and GANTRY_SECRETS=keychain forbids the file fallback"
    )]
    NoKeychain(String),
}

/// Which store holds the tokens, for `gantry status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Backend {
    Keychain,
    File { path: PathBuf, reason: String },
}

impl Backend {
    pub fn describe(&self) -> String {
        match self {
            Backend::Keychain => "the system keychain".into(),
            Backend::File { path, reason } => format!(
                "the file {} (readable only by this user), because {reason}",
                path.display()
            ),
        }
    }
}

/// The token store of one data directory.
pub struct Secrets {
    inner: Inner,
}

enum Inner {
    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    Keychain(keychain::Keychain),
    File(FileStore),
}

impl Secrets {
    /// Opens the keychain when one answers, else the file in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Secrets, SecretError> {
        let path = data_dir.join(FILE_NAME);
        let choice = std::env::var(BACKEND_ENV).unwrap_or_default();
        if choice == "file" {
            return Ok(Secrets::file(data_dir, format!("{BACKEND_ENV}=file")));
        }
        #[cfg(any(target_os = "linux", target_os = "macos", windows))]
        let probe = keychain::Keychain::probe(data_dir);
        #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
        let probe: Result<std::convert::Infallible, String> =
            Err("this system has no supported keychain".into());
        match probe {
            #[cfg(any(target_os = "linux", target_os = "macos", windows))]
            Ok(keychain) => Ok(Secrets {
                inner: Inner::Keychain(keychain),
            }),
            #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
            Ok(never) => match never {},
            Err(reason) if choice == "keychain" => Err(SecretError::NoKeychain(reason)),
            Err(reason) => {
                tracing::info!(%reason, file = %path.display(), "no keychain; keeping tokens in a private file");
                Ok(Secrets {
                    inner: Inner::File(FileStore::new(
                        path,
                        format!("no keychain answers ({reason})"),
                    )),
                })
            }
        }
    }

    /// The private file alone, whatever keychain runs (tests, and `GANTRY_SECRETS=file`).
    pub fn file(data_dir: &Path, reason: impl Into<String>) -> Secrets {
        Secrets {
            inner: Inner::File(FileStore::new(data_dir.join(FILE_NAME), reason.into())),
        }
    }

    pub fn backend(&self) -> Backend {
        match &self.inner {
            #[cfg(any(target_os = "linux", target_os = "macos", windows))]
            Inner::Keychain(_) => Backend::Keychain,
            Inner::File(file) => Backend::File {
                path: file.path().to_owned(),
                reason: file.reason().to_owned(),
            },
        }
    }

    pub fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        match &self.inner {
            #[cfg(any(target_os = "linux", target_os = "macos", windows))]
            Inner::Keychain(k) => k.get(name),
            Inner::File(f) => f.get(name),
        }
    }

    pub fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
        match &self.inner {
            #[cfg(any(target_os = "linux", target_os = "macos", windows))]
            Inner::Keychain(k) => k.set(name, value),
            Inner::File(f) => f.set(name, value),
        }
    }

    /// Removes a secret; removing one that is not there is not an error.
    pub fn delete(&self, name: &str) -> Result<(), SecretError> {
        match &self.inner {
            #[cfg(any(target_os = "linux", target_os = "macos", windows))]
            Inner::Keychain(k) => k.delete(name),
            Inner::File(f) => f.delete(name),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
mod keychain {
    use std::path::Path;

    use super::SecretError;

    /// Entries are named per data directory, so two Gantry instances of one user stay apart.
    pub struct Keychain {
        service: String,
    }

    impl Keychain {
        /// Opens the keychain if it answers a read; the error text says why not.
        pub fn probe(data_dir: &Path) -> Result<Keychain, String> {
            let dir = data_dir
                .canonicalize()
                .unwrap_or_else(|_| data_dir.to_owned());
            let keychain = Keychain {
                service: format!("Gantry {}", dir.display()),
            };
            match keychain.entry("probe")?.get_password() {
                Ok(_) | Err(keyring::Error::NoEntry) => Ok(keychain),
                Err(e) => Err(e.to_string()),
            }
        }

        fn entry(&self, name: &str) -> Result<keyring::Entry, String> {
            keyring::Entry::new(&self.service, name).map_err(|e| e.to_string())
        }

        pub fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
            match self
                .entry(name)
                .map_err(SecretError::Keychain)?
                .get_password()
            {
                Ok(value) => Ok(Some(value)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(SecretError::Keychain(e.to_string())),
            }
        }

        pub fn set(&self, name: &str, value: &str) -> Result<(), SecretError> {
            self.entry(name)
                .map_err(SecretError::Keychain)?
                .set_password(value)
                .map_err(|e| SecretError::Keychain(e.to_string()))
        }

        pub fn delete(&self, name: &str) -> Result<(), SecretError> {
            match self
                .entry(name)
                .map_err(SecretError::Keychain)?
                .delete_credential()
            {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(SecretError::Keychain(e.to_string())),
            }
        }
    }
}
