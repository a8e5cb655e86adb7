//! The link's tokens in the secrets store (keychain, or the headless 0600 file): the account's
//! user token, the identity provider's refresh token, and one printer token per printer. They
//! are forgotten together, so no token of an old sign-in outlives it.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use super::api::{PrinterIdentity, Secret};
use crate::secrets::{Backend, SecretError, Secrets};

/// Secret names. The printer tokens share one entry (a JSON map), because a keychain cannot
/// list its entries and logout must find every one of them.
pub const USER_TOKEN: &str = "user_token";
pub const REFRESH_TOKEN: &str = "refresh_token";
pub const PRINTER_TOKENS: &str = "printer_tokens";

pub struct Vault {
    secrets: Secrets,
    /// Serialises the read-modify-write of the printer-token map between printer links.
    printers: Mutex<()>,
}

/// The printer's key in the map: the id the protocol sends, stable across restarts.
fn printer_key(printer: &PrinterIdentity) -> String {
    format!("{}_{}_{}", printer.vid, printer.pid, printer.snr)
}

impl Vault {
    pub fn new(secrets: Secrets) -> Vault {
        Vault {
            secrets,
            printers: Mutex::new(()),
        }
    }

    pub fn backend(&self) -> Backend {
        self.secrets.backend()
    }

    pub fn user_token(&self) -> Result<Option<Secret>, SecretError> {
        Ok(self.secrets.get(USER_TOKEN)?.map(Secret::new))
    }

    pub fn set_user_token(&self, token: &Secret) -> Result<(), SecretError> {
        self.secrets.set(USER_TOKEN, token.expose())
    }

    pub fn refresh_token(&self) -> Result<Option<Secret>, SecretError> {
        Ok(self.secrets.get(REFRESH_TOKEN)?.map(Secret::new))
    }

    /// Stores the refresh token, or removes it (a password sign-in has none).
    pub fn set_refresh_token(&self, token: Option<&Secret>) -> Result<(), SecretError> {
        match token {
            Some(token) => self.secrets.set(REFRESH_TOKEN, token.expose()),
            None => self.secrets.delete(REFRESH_TOKEN),
        }
    }

    fn printer_map(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match self.secrets.get(PRINTER_TOKENS)? {
            // A damaged entry only costs a printer login: start afresh rather than fail.
            Some(text) => Ok(serde_json::from_str(&text).unwrap_or_default()),
            None => Ok(BTreeMap::new()),
        }
    }

    pub fn printer_token(&self, printer: &PrinterIdentity) -> Result<Option<Secret>, SecretError> {
        let _guard = self.printers.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(self
            .printer_map()?
            .remove(&printer_key(printer))
            .map(Secret::new))
    }

    /// Stores a printer's token, or removes it when the cloud no longer accepts it.
    pub fn set_printer_token(
        &self,
        printer: &PrinterIdentity,
        token: Option<&Secret>,
    ) -> Result<(), SecretError> {
        let _guard = self.printers.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = self.printer_map()?;
        let key = printer_key(printer);
        let changed = match token {
            Some(token) => {
                map.insert(key, token.expose().to_owned()).as_deref() != Some(token.expose())
            }
            None => map.remove(&key).is_some(),
        };
        if !changed {
            return Ok(());
        }
        if map.is_empty() {
            return self.secrets.delete(PRINTER_TOKENS);
        }
        let text = serde_json::to_string(&map).map_err(|e| SecretError::Keychain(e.to_string()))?;
        self.secrets.set(PRINTER_TOKENS, &text)
    }

    /// Printer tokens belong to the account that logged the printers in: a new sign-in drops them.
    pub fn forget_printer_tokens(&self) -> Result<(), SecretError> {
        let _guard = self.printers.lock().unwrap_or_else(PoisonError::into_inner);
        self.secrets.delete(PRINTER_TOKENS)
    }

    /// Logout, offline mode and a lost sign-in: every token goes.
    pub fn forget_all(&self) -> Result<(), SecretError> {
        self.secrets.delete(USER_TOKEN)?;
        self.secrets.delete(REFRESH_TOKEN)?;
        self.forget_printer_tokens()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(snr: &str) -> PrinterIdentity {
        PrinterIdentity {
            vid: "XXXX".into(),
            pid: "XXXX".into(),
            snr: snr.into(),
        }
    }

    #[test]
    fn printer_tokens_are_kept_per_printer_and_forgotten_together() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::new(Secrets::file(dir.path(), "test"));
        vault.set_user_token(&Secret::new("ut-1")).unwrap();
        vault.set_refresh_token(Some(&Secret::new("rt-1"))).unwrap();
        vault
            .set_printer_token(&printer("a"), Some(&Secret::new("pt-a")))
            .unwrap();
        vault
            .set_printer_token(&printer("b"), Some(&Secret::new("pt-b")))
            .unwrap();
        assert_eq!(
            vault.printer_token(&printer("a")).unwrap(),
            Some(Secret::new("pt-a"))
        );
        vault.set_printer_token(&printer("a"), None).unwrap();
        assert_eq!(vault.printer_token(&printer("a")).unwrap(), None);
        assert_eq!(
            vault.printer_token(&printer("b")).unwrap(),
            Some(Secret::new("pt-b"))
        );
        vault.forget_all().unwrap();
        assert_eq!(vault.user_token().unwrap(), None);
        assert_eq!(vault.refresh_token().unwrap(), None);
        assert_eq!(vault.printer_token(&printer("b")).unwrap(), None);
        assert!(!dir.path().join("secrets.json").exists());
    }
}
