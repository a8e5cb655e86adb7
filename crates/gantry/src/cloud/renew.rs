//! The linked account as the printer links use it: its user token, renewed without asking the
//! user when the cloud refuses it. The identity provider's refresh token buys a new access
//! token, which the cloud exchanges for a new user token. When that cannot work (a password
//! sign-in, or a refresh the provider refuses) the sign-in is lost: every token is forgotten and
//! the dashboard shows the login screen with the reason.

use std::sync::Arc;

use super::account::{self, LinkRecord};
use super::api::{Cloud, CloudError, Credentials, Secret};
use super::oidc::{self, OidcError};
use super::vault::Vault;
use crate::store::Store;

/// What a renewal came to.
#[derive(Debug)]
pub enum Renewal {
    /// A valid user token: new, or already renewed by another printer's link.
    Renewed(Secret),
    /// The provider or the cloud did not answer: try again later; nothing is lost.
    Later(String),
    /// The sign-in is gone; the links stop and the login screen says why.
    Lost(String),
}

enum Failure {
    Later(String),
    Lost(String),
}

fn later(error: impl std::fmt::Display) -> Failure {
    Failure::Later(error.to_string())
}

/// Told once when the sign-in is lost, with the sentence for the user.
pub type OnLost = Box<dyn Fn(String) + Send + Sync>;

pub struct LinkedAccount<C> {
    cloud: Arc<C>,
    store: Store,
    vault: Arc<Vault>,
    /// The lock also makes concurrent renewals wait for the first, and learn its outcome.
    state: tokio::sync::Mutex<State>,
    on_lost: OnLost,
}

struct State {
    token: Secret,
    /// Set once the sign-in is lost, so the other printers' links stop with the same reason.
    lost: Option<String>,
}

impl<C: Cloud> LinkedAccount<C> {
    pub fn new(
        cloud: Arc<C>,
        store: Store,
        vault: Arc<Vault>,
        token: Secret,
        on_lost: OnLost,
    ) -> LinkedAccount<C> {
        LinkedAccount {
            cloud,
            store,
            vault,
            state: tokio::sync::Mutex::new(State { token, lost: None }),
            on_lost,
        }
    }

    pub async fn user_token(&self) -> Secret {
        self.state.lock().await.token.clone()
    }

    /// Called when the cloud refused `stale` as expired or invalid.
    pub async fn renew(&self, stale: &Secret) -> Renewal {
        let mut state = self.state.lock().await;
        if let Some(message) = &state.lost {
            return Renewal::Lost(message.clone());
        }
        if state.token != *stale {
            return Renewal::Renewed(state.token.clone());
        }
        match self.try_renew().await {
            Ok(token) => {
                state.token = token.clone();
                Renewal::Renewed(token)
            }
            Err(Failure::Later(why)) => Renewal::Later(why),
            Err(Failure::Lost(why)) => {
                let message = format!(
                    "The cloud no longer accepts this computer's sign-in and it could not be renewed: {why}. Sign in again."
                );
                tracing::warn!(reason = %why, "the cloud sign-in is lost; showing the login screen");
                if let Err(e) = self.vault.forget_all() {
                    tracing::error!(error = %e, "cannot remove the stale tokens");
                }
                if let Err(e) = account::set_record(&self.store, &LinkRecord::default()).await {
                    tracing::error!(error = %e, "cannot record the lost sign-in");
                }
                (self.on_lost)(message.clone());
                state.lost = Some(message.clone());
                Renewal::Lost(message)
            }
        }
    }

    async fn try_renew(&self) -> Result<Secret, Failure> {
        let record = account::record(&self.store).await.map_err(later)?;
        let Some(provider) = record.provider.clone() else {
            return Err(Failure::Lost(
                "a password sign-in cannot be renewed without the password".into(),
            ));
        };
        let Some(refresh_token) = self.vault.refresh_token().map_err(later)? else {
            return Err(Failure::Lost(
                "the identity provider issued no refresh token to renew it with".into(),
            ));
        };
        let tokens = match oidc::refresh(&provider, &refresh_token).await {
            Ok(tokens) => tokens,
            Err(e @ OidcError::RefreshRefused(_)) => return Err(Failure::Lost(e.to_string())),
            Err(e) => return Err(later(e)),
        };
        // A provider that rotates refresh tokens has just invalidated the old one.
        if let Some(rotated) = &tokens.refresh_token {
            self.vault.set_refresh_token(Some(rotated)).map_err(later)?;
        }
        let credentials = Credentials::AccessToken {
            email: None,
            issuer: provider.issuer.clone(),
            access_token: tokens.access_token,
        };
        let session = match self.cloud.user_login(&credentials).await {
            Ok(session) => session,
            Err(CloudError::Refused(refusal)) => return Err(Failure::Lost(refusal.to_string())),
            Err(e) => return Err(later(e)),
        };
        if record
            .account
            .as_deref()
            .is_some_and(|linked| !linked.eq_ignore_ascii_case(&session.account))
        {
            return Err(Failure::Lost(format!(
                "the renewed sign-in belongs to {}, not to the linked account",
                session.account
            )));
        }
        self.vault
            .set_user_token(&session.user_token)
            .map_err(later)?;
        tracing::info!("renewed the cloud sign-in with the identity provider's refresh token");
        Ok(session.user_token)
    }
}
