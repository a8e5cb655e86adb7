//! Access settings, kept as one JSON value under the `access` key of the settings table so that
//! a field added later needs no migration (missing fields take their defaults).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

const KEY: &str = "access";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccessSettings {
    /// Listen on every interface instead of loopback only. Off by default on every OS.
    pub external_access: bool,
    /// Make visitors on this computer sign in too, instead of trusting loopback.
    pub require_local_login: bool,
    /// A session unused for this long is over.
    pub idle_timeout_secs: u64,
    /// A session is over this long after sign-in, however busy.
    pub session_lifetime_secs: u64,
    /// Host names (besides this machine's own names and addresses) that the dashboard answers
    /// to, e.g. a DNS name the router hands out.
    pub extra_host_names: Vec<String>,
    pub tls: TlsSettings,
    pub throttle: ThrottleSettings,
}

impl Default for AccessSettings {
    fn default() -> AccessSettings {
        AccessSettings {
            external_access: false,
            require_local_login: false,
            idle_timeout_secs: 30 * 60,
            session_lifetime_secs: 12 * 60 * 60,
            extra_host_names: Vec::new(),
            tls: TlsSettings::default(),
            throttle: ThrottleSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsSettings {
    /// Serve HTTPS to visitors from other machines; plain HTTP from them is redirected.
    pub enabled: bool,
    /// A certificate chain and key of the user's own (PEM). Without them Gantry makes a
    /// self-signed certificate in the data directory on first use.
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
}

/// How sign-in attempts are slowed: after the n-th failure in a row the next attempt from the
/// same address, or for the same account, waits `base_delay_ms * 2^(n-1)` (at most
/// `max_delay_ms`); after `lockout_after` failures it is refused for `lockout_secs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottleSettings {
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub lockout_after: u32,
    pub lockout_secs: u64,
}

impl Default for ThrottleSettings {
    fn default() -> ThrottleSettings {
        ThrottleSettings {
            base_delay_ms: 1_000,
            max_delay_ms: 60_000,
            lockout_after: 10,
            lockout_secs: 15 * 60,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InvalidSettings {
    #[error("the idle timeout must be between 1 minute and 30 days")]
    IdleTimeout,
    #[error("the session lifetime must be between 1 minute and 365 days, and not shorter than the idle timeout")]
    Lifetime,
    #[error("`{0}` is not a host name")]
    HostName(String),
    #[error("give both a certificate and a key file, or neither")]
    HalfCertificate,
    #[error("the sign-in throttle needs at least one attempt before lockout and a lockout of 1 s to 1 day")]
    Throttle,
}

impl AccessSettings {
    pub async fn load(store: &Store) -> Result<AccessSettings, StoreError> {
        Ok(store.setting(KEY).await?.unwrap_or_default())
    }

    pub async fn save(&self, store: &Store) -> Result<(), StoreError> {
        store.set_setting(KEY, self).await
    }

    pub fn validate(&self) -> Result<(), InvalidSettings> {
        const MINUTE: u64 = 60;
        const DAY: u64 = 24 * 60 * MINUTE;
        if !(MINUTE..=30 * DAY).contains(&self.idle_timeout_secs) {
            return Err(InvalidSettings::IdleTimeout);
        }
        if !(MINUTE..=365 * DAY).contains(&self.session_lifetime_secs)
            || self.session_lifetime_secs < self.idle_timeout_secs
        {
            return Err(InvalidSettings::Lifetime);
        }
        if let Some(bad) = self.extra_host_names.iter().find(|n| !is_host_name(n)) {
            return Err(InvalidSettings::HostName(bad.clone()));
        }
        if self.tls.cert_path.is_some() != self.tls.key_path.is_some() {
            return Err(InvalidSettings::HalfCertificate);
        }
        let t = &self.throttle;
        if t.lockout_after == 0
            || !(1..=DAY).contains(&t.lockout_secs)
            || t.max_delay_ms < t.base_delay_ms
        {
            return Err(InvalidSettings::Throttle);
        }
        Ok(())
    }
}

/// A DNS name of letters, digits, `-` and `.` (what a `Host` header can carry without a port).
fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_closed_and_valid() {
        let settings = AccessSettings::default();
        assert!(!settings.external_access);
        assert!(!settings.tls.enabled);
        assert_eq!(settings.validate(), Ok(()));
    }

    #[test]
    fn missing_fields_take_defaults() {
        let settings: AccessSettings = serde_json::from_str(r#"{"external_access":true}"#).unwrap();
        assert!(settings.external_access);
        assert_eq!(
            settings.idle_timeout_secs,
            AccessSettings::default().idle_timeout_secs
        );
    }

    #[test]
    fn nonsense_is_refused() {
        let base = AccessSettings::default();
        let mut s = base.clone();
        s.idle_timeout_secs = 1;
        assert_eq!(s.validate(), Err(InvalidSettings::IdleTimeout));
        let mut s = base.clone();
        s.session_lifetime_secs = s.idle_timeout_secs - 1;
        assert_eq!(s.validate(), Err(InvalidSettings::Lifetime));
        let mut s = base.clone();
        s.extra_host_names = vec!["printers.lan".into(), "evil example".into()];
        assert_eq!(
            s.validate(),
            Err(InvalidSettings::HostName("evil example".into()))
        );
        let mut s = base.clone();
        s.tls.cert_path = Some("/x.pem".into());
        assert_eq!(s.validate(), Err(InvalidSettings::HalfCertificate));
        let mut s = base;
        s.throttle.lockout_after = 0;
        assert_eq!(s.validate(), Err(InvalidSettings::Throttle));
    }
}
