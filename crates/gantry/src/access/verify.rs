//! The ways a visitor can prove who they are, besides this computer's accounts
//! (`os_account`): hooks that other parts of Gantry fill in.

use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The cloud's answer about an e-mail and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerCheck {
    /// The credentials are right and belong to the account this client is linked to.
    Owner { email: String },
    /// Wrong credentials, or a cloud account other than the owner's.
    Rejected,
    /// Unlinked, offline, or the cloud did not answer: only the OS account can be used.
    Unavailable,
}

/// Checks the linked cloud account's credentials at the moment of sign-in. The cloud link
/// implements it and registers it with [`crate::access::Access::set_owner_verifier`]; until
/// then the sign-in screen offers the OS account only.
pub trait OwnerVerifier: Send + Sync {
    /// Whether cloud sign-in can be offered now (the client is linked and the cloud is
    /// believed reachable). Cheap: the sign-in page asks on every load.
    fn available(&self) -> bool;

    /// Asks the cloud, now, whether `email`/`password` are the linked owner's. Any other
    /// cloud account must come back [`OwnerCheck::Rejected`].
    fn verify<'a>(&'a self, email: &'a str, password: &'a str) -> BoxFuture<'a, OwnerCheck>;
}

/// Checks an `X-Api-Key` header (slicers and OctoPrint clients). Keys are only ever taken from
/// that header, never from a cookie or the URL, and requests that carry one are exempt from
/// the CSRF token (a browser page cannot set the header cross-origin).
pub trait ApiKeyVerifier: Send + Sync {
    /// The key's name (what the audit log shows) when the key is valid.
    fn verify(&self, key: &str) -> Option<String>;
}
