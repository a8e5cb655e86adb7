//! External access and Remote Access Authentication.
//!
//! Off by default: the dashboard listens on loopback only and trusts its visitors, because the
//! TCP peer is this computer. With external access on it listens on every interface, and anyone
//! whose TCP peer is not loopback must sign in — with an account of this computer, or with the
//! linked cloud account's credentials — before anything but the sign-in page is served.
//! [`Access`] holds the settings, sessions, throttle and sockets; `web::auth` and `web::guard`
//! apply them to every request.

pub mod cli;
pub mod hosts;
pub mod listen;
pub mod os_account;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod throttle;
pub mod tls;
pub mod token;
pub mod verify;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::Serialize;

pub use listen::{Binder, Incoming, Peer, Scope};
pub use sessions::{Method, Sessions};
pub use settings::{AccessSettings, InvalidSettings};
pub use throttle::Throttle;
pub use tls::CertificateInfo;
pub use verify::{ApiKeyVerifier, OwnerCheck, OwnerVerifier};

use crate::location::RuntimeInfo;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Invalid(#[from] InvalidSettings),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on the {scope} interfaces: {source}")]
    Bind {
        scope: &'static str,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot write the local token: {0}")]
    Token(std::io::Error),
}

/// Who changed something, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub address: Option<String>,
    pub account: Option<String>,
}

/// What the dashboard's settings area shows besides the settings themselves.
#[derive(Debug, Clone, Serialize)]
pub struct AccessStatus {
    pub settings: AccessSettings,
    pub listening: Vec<SocketAddr>,
    pub port: u16,
    /// Addresses another machine can try (this machine's non-loopback addresses).
    pub lan_urls: Vec<String>,
    pub certificate: Option<CertificateInfo>,
    pub cloud_sign_in: bool,
}

pub struct Access {
    store: Store,
    data_dir: PathBuf,
    settings: RwLock<AccessSettings>,
    pub sessions: Sessions,
    pub throttle: Arc<Throttle>,
    binder: Binder,
    certificate: RwLock<Option<CertificateInfo>>,
    owner: RwLock<Option<Arc<dyn OwnerVerifier>>>,
    api_keys: RwLock<Option<Arc<dyn ApiKeyVerifier>>>,
    local_token: String,
    pam_service: String,
    /// Settings changes one at a time (each may rebind sockets).
    changing: tokio::sync::Mutex<()>,
}

/// Reads through a lock whose poisoning can only mean a panic elsewhere mid-read or mid-swap of
/// a whole value; the value itself is always complete.
fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|p| p.into_inner()) = value;
}

impl Access {
    /// Applies the stored settings to a freshly bound `binder` (rebinding to every interface
    /// when external access is on, loading the certificate when TLS is on) and writes the local
    /// token.
    pub async fn start(
        store: Store,
        data_dir: &Path,
        binder: Binder,
    ) -> Result<Access, AccessError> {
        let settings = AccessSettings::load(&store).await?;
        let local_token = token::create(data_dir).map_err(AccessError::Token)?;
        let access = Access {
            sessions: Sessions::new(store.clone()),
            store,
            data_dir: data_dir.to_owned(),
            settings: RwLock::new(settings.clone()),
            throttle: Arc::default(),
            binder,
            certificate: RwLock::new(None),
            owner: RwLock::new(None),
            api_keys: RwLock::new(None),
            local_token,
            // Tests point this at a service of their own; installs use /etc/pam.d/gantry.
            pam_service: std::env::var("GANTRY_PAM_SERVICE")
                .unwrap_or_else(|_| os_account::PAM_SERVICE.into()),
            changing: tokio::sync::Mutex::new(()),
        };
        if settings.tls.enabled {
            if let Err(e) = access.apply_tls(&settings) {
                tracing::error!(error = %e, "HTTPS is on but the certificate cannot be used; serving plain HTTP");
            }
        }
        if settings.external_access {
            access.rebind(true).await?;
            tracing::warn!("external access is on: other machines can reach the sign-in page");
        }
        if let Err(e) = access.sessions.prune(sessions::unix_now()).await {
            tracing::warn!(error = %e, "cannot prune old sessions");
        }
        Ok(access)
    }

    pub fn settings(&self) -> AccessSettings {
        read(&self.settings)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn pam_service(&self) -> &str {
        &self.pam_service
    }

    pub fn binder(&self) -> &Binder {
        &self.binder
    }

    /// True when `token` is this run's local token.
    pub fn is_local_token(&self, token: &str) -> bool {
        secret::same(token, &self.local_token)
    }

    /// The cloud link registers its owner check here; `None` withdraws it (unlinked).
    pub fn set_owner_verifier(&self, verifier: Option<Arc<dyn OwnerVerifier>>) {
        write(&self.owner, verifier);
    }

    pub fn owner_verifier(&self) -> Option<Arc<dyn OwnerVerifier>> {
        read(&self.owner)
    }

    /// The OctoPrint-compatible API registers its key check here.
    pub fn set_api_key_verifier(&self, verifier: Option<Arc<dyn ApiKeyVerifier>>) {
        write(&self.api_keys, verifier);
    }

    pub fn api_key_verifier(&self) -> Option<Arc<dyn ApiKeyVerifier>> {
        read(&self.api_keys)
    }

    /// True when the sign-in page may offer the cloud account.
    pub fn cloud_sign_in(&self) -> bool {
        self.owner_verifier().is_some_and(|v| v.available())
    }

    pub async fn status(&self) -> AccessStatus {
        let port = self.binder.port();
        let lan_urls = hosts::own_addresses()
            .into_iter()
            .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
            .filter(|ip| !matches!(ip, std::net::IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80))
            .map(|ip| {
                let scheme = if self.settings().tls.enabled { "https" } else { "http" };
                format!("{scheme}://{}/", SocketAddr::new(ip, port))
            })
            .collect();
        AccessStatus {
            settings: self.settings(),
            listening: self.binder.addresses().await,
            port,
            lan_urls,
            certificate: read(&self.certificate),
            cloud_sign_in: self.cloud_sign_in(),
        }
    }

    /// Validates, applies (rebinding or loading certificates as needed) and stores new
    /// settings; audits what changed. Nothing is stored unless it could be applied.
    pub async fn update(
        &self,
        new: AccessSettings,
        actor: &Actor,
    ) -> Result<AccessSettings, AccessError> {
        new.validate()?;
        let _one_at_a_time = self.changing.lock().await;
        let old = self.settings();
        if new.tls != old.tls {
            if new.tls.enabled {
                self.apply_tls(&new)?;
            } else {
                self.binder.set_tls(None);
                write(&self.certificate, None);
            }
        }
        if new.external_access != old.external_access {
            self.rebind(new.external_access).await?;
        }
        new.save(&self.store).await?;
        write(&self.settings, new.clone());
        self.audit_changes(&old, &new, actor).await;
        Ok(new)
    }

    fn apply_tls(&self, settings: &AccessSettings) -> Result<(), AccessError> {
        let identity = tls::load(&self.data_dir, &settings.tls)?;
        tracing::info!(fingerprint = %identity.info.fingerprint, "HTTPS certificate loaded");
        self.binder.set_tls(Some(identity.acceptor));
        write(&self.certificate, Some(identity.info));
        Ok(())
    }

    async fn rebind(&self, external: bool) -> Result<(), AccessError> {
        let (scope, name) = if external {
            (Scope::AllInterfaces, "all")
        } else {
            (Scope::Loopback, "loopback")
        };
        let addresses = self
            .binder
            .rebind(scope)
            .await
            .map_err(|source| AccessError::Bind {
                scope: name,
                source,
            })?;
        tracing::info!(?addresses, "listening");
        let info = RuntimeInfo {
            pid: std::process::id(),
            port: self.binder.port(),
            addresses,
        };
        if let Err(e) = info.write(&self.data_dir) {
            tracing::warn!(error = %e, "cannot update the runtime file");
        }
        Ok(())
    }

    async fn audit_changes(&self, old: &AccessSettings, new: &AccessSettings, actor: &Actor) {
        let onoff = |b: bool| if b { "on" } else { "off" };
        let mut events: Vec<(&str, String)> = Vec::new();
        if old.external_access != new.external_access {
            events.push(("access.external_access", onoff(new.external_access).into()));
        }
        if old.require_local_login != new.require_local_login {
            events.push((
                "access.require_local_login",
                onoff(new.require_local_login).into(),
            ));
        }
        if old.tls != new.tls {
            events.push(("access.tls", onoff(new.tls.enabled).into()));
        }
        let rest_changed = AccessSettings {
            external_access: old.external_access,
            require_local_login: old.require_local_login,
            tls: old.tls.clone(),
            ..new.clone()
        } != *old;
        if rest_changed {
            events.push((
                "access.settings",
                serde_json::to_string(new).unwrap_or_default(),
            ));
        }
        for (event, detail) in events {
            self.audit(
                event,
                actor.address.as_deref(),
                actor.account.as_deref(),
                Some(&detail),
            )
            .await;
        }
    }

    /// Writes an audit entry; a failure is logged, never fatal to the request.
    pub async fn audit(
        &self,
        event: &str,
        address: Option<&str>,
        account: Option<&str>,
        detail: Option<&str>,
    ) {
        if let Err(e) = self.store.audit(event, address, account, detail).await {
            tracing::warn!(error = %e, event, "cannot write the audit log");
        }
    }

    /// Stops listening; part of the daemon's orderly stop.
    pub async fn close(&self) {
        self.binder.close().await;
        let _ = std::fs::remove_file(token::path(&self.data_dir));
    }
}
