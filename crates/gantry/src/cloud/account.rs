//! The linked account: which one, in which mode, and its token — the part shared by the daemon
//! and by `gantry login` when no daemon runs.

use serde::{Deserialize, Serialize};

use super::api::{Cloud, CloudError, Credentials, Secret, UserSession};
use super::oidc::Provider;
use super::refusal::Refusal;
use super::settings::{CloudSettings, SETTINGS_KEY};
use super::streamer::StreamerApi;
use super::vault::Vault;
use crate::secrets::SecretError;
use crate::store::{Store, StoreError};

/// Store key of the [`LinkRecord`].
pub const LINK_KEY: &str = "cloud.link";
/// Store key of the installation's stable `host_mac`.
const HOST_ID_KEY: &str = "cloud.host_id";

/// Clock difference beyond which SSO and MFA codes tend to fail.
pub const MAX_CLOCK_SKEW_S: i64 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Not linked: the dashboard shows the Client Cloud Login screen.
    #[default]
    Unlinked,
    Linked,
    /// Never contacts the cloud; everything local works.
    Offline,
}

/// What is stored about the link; the tokens themselves are in the [`Vault`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LinkRecord {
    pub mode: Mode,
    pub account: Option<String>,
    pub since: Option<String>,
    /// The identity provider of an SSO or device-code sign-in, where its refresh token renews
    /// the sign-in. None for a password sign-in.
    #[serde(default)]
    pub provider: Option<Provider>,
}

/// What an SSO or device-code sign-in leaves for later renewals.
#[derive(Debug, Clone)]
pub struct SsoGrant {
    pub provider: Provider,
    pub refresh_token: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Cloud(CloudError),
    #[error(
        "{} printing ({}); logging out would leave {} unreported to the cloud. Pass --force (or confirm in the dashboard) to log out anyway: the prints continue",
        if .0.len() == 1 { "a printer is" } else { "printers are" },
        .0.join(", "),
        if .0.len() == 1 { "its print" } else { "their prints" }
    )]
    Printing(Vec<String>),
    #[error(transparent)]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "offline mode is on; leave it first (`gantry login` does, or \"Sign in\" on the dashboard)"
    )]
    Offline,
}

impl From<CloudError> for LinkError {
    fn from(error: CloudError) -> LinkError {
        match error {
            CloudError::Refused(refusal) => LinkError::Refused(refusal),
            other => LinkError::Cloud(other),
        }
    }
}

pub async fn settings(store: &Store) -> Result<CloudSettings, StoreError> {
    Ok(store.setting(SETTINGS_KEY).await?.unwrap_or_default())
}

pub async fn record(store: &Store) -> Result<LinkRecord, StoreError> {
    Ok(store.setting(LINK_KEY).await?.unwrap_or_default())
}

pub async fn set_record(store: &Store, record: &LinkRecord) -> Result<(), StoreError> {
    store.set_setting(LINK_KEY, record).await
}

/// A stable id per installation, in the MAC-like form the protocol's `host_mac` uses.
pub async fn host_id(store: &Store) -> Result<String, StoreError> {
    if let Some(id) = store.setting::<String>(HOST_ID_KEY).await? {
        return Ok(id);
    }
    // A locally administered unicast address: bit 1 of the first byte set, bit 0 clear.
    let raw = (fastrand::u64(..) & 0xffff_ffff_ffff & !0x0100_0000_0000) | 0x0200_0000_0000;
    let id = format!("0x{raw:012x}L");
    store.set_setting(HOST_ID_KEY, &id).await?;
    Ok(id)
}

pub async fn backend(store: &Store, settings: &CloudSettings) -> Result<StreamerApi, LinkError> {
    let host = host_id(store).await?;
    Ok(StreamerApi::new(
        &settings.base_url,
        &host,
        settings.request_timeout(),
    )?)
}

/// The warning for a clock that differs from the cloud's by more than two minutes.
pub fn clock_warning(skew: Option<i64>) -> Option<String> {
    let skew = skew?;
    (skew.abs() > MAX_CLOCK_SKEW_S).then(|| {
        format!(
            "this computer's clock is {} s {} the cloud's: SSO and MFA may fail; check this computer's clock",
            skew.abs(),
            if skew > 0 { "behind" } else { "ahead of" }
        )
    })
}

/// Signs in with `credentials`, stores the tokens in the vault and records the link.
/// The password is sent once and kept nowhere. Printer tokens of an earlier sign-in are
/// dropped: the printers log in again under this account.
pub async fn sign_in(
    store: &Store,
    vault: &Vault,
    credentials: &Credentials,
    sso: Option<SsoGrant>,
) -> Result<UserSession, LinkError> {
    let settings = settings(store).await?;
    let cloud = backend(store, &settings).await?;
    let session = cloud.user_login(credentials).await?;
    let mut settings = settings;
    let refused = settings.apply_cloud_changes(&session.settings_mod);
    if !refused.is_empty() {
        tracing::info!(
            ?refused,
            "the cloud asked to change settings it may not change"
        );
    }
    store.set_setting(SETTINGS_KEY, &settings).await?;
    vault.forget_printer_tokens()?;
    vault.set_user_token(&session.user_token)?;
    let (provider, refresh_token) = match sso {
        Some(grant) => (Some(grant.provider), grant.refresh_token),
        None => (None, None),
    };
    vault.set_refresh_token(refresh_token.as_ref())?;
    set_record(
        store,
        &LinkRecord {
            mode: Mode::Linked,
            account: Some(session.account.clone()),
            since: Some(crate::store::now()),
            provider,
        },
    )
    .await?;
    tracing::info!(account = %session.account, "linked to the cloud");
    Ok(session)
}

/// Forgets every token and the account. Prints are not touched.
pub async fn sign_out(store: &Store, vault: &Vault) -> Result<(), LinkError> {
    vault.forget_all()?;
    set_record(store, &LinkRecord::default()).await?;
    Ok(())
}

/// Offline mode: no account and no token; the cloud is never contacted.
pub async fn go_offline(store: &Store, vault: &Vault) -> Result<(), LinkError> {
    vault.forget_all()?;
    set_record(
        store,
        &LinkRecord {
            mode: Mode::Offline,
            since: Some(crate::store::now()),
            ..LinkRecord::default()
        },
    )
    .await?;
    Ok(())
}

pub fn user_token(vault: &Vault) -> Result<Option<Secret>, SecretError> {
    vault.user_token()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_beyond_two_minutes_warns() {
        assert_eq!(clock_warning(Some(119)), None);
        assert_eq!(clock_warning(None), None);
        let warning = clock_warning(Some(-600)).unwrap();
        assert!(warning.contains("600 s ahead of"), "{warning}");
        assert!(warning.contains("SSO and MFA may fail; check this computer's clock"));
    }
}
