//! Remote Access Authentication with the linked cloud account: the visitor's e-mail and
//! password are checked with the cloud at sign-in, and only the linked account is accepted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::account::{self, Mode};
use super::api::{Cloud, CloudError, Credentials, Secret};
use crate::access::verify::{BoxFuture, OwnerCheck, OwnerVerifier};
use crate::store::Store;

pub struct CloudOwner {
    store: Store,
    /// Whether an account is linked, kept current by the cloud service.
    linked: Arc<AtomicBool>,
}

impl CloudOwner {
    pub fn new(store: Store, linked: Arc<AtomicBool>) -> CloudOwner {
        CloudOwner { store, linked }
    }

    async fn check(&self, email: &str, password: &str) -> OwnerCheck {
        let Ok(record) = account::record(&self.store).await else {
            return OwnerCheck::Unavailable;
        };
        let (Mode::Linked, Some(owner)) = (record.mode, record.account) else {
            return OwnerCheck::Unavailable;
        };
        if !owner.eq_ignore_ascii_case(email.trim()) {
            return OwnerCheck::Rejected;
        }
        let Ok(settings) = account::settings(&self.store).await else {
            return OwnerCheck::Unavailable;
        };
        let Ok(cloud) = account::backend(&self.store, &settings).await else {
            return OwnerCheck::Unavailable;
        };
        let credentials = Credentials::Password {
            email: email.trim().to_owned(),
            password: Secret::new(password),
        };
        match cloud.user_login(&credentials).await {
            Ok(session) if session.account.eq_ignore_ascii_case(&owner) => {
                OwnerCheck::Owner { email: owner }
            }
            Ok(_) | Err(CloudError::Refused(_)) => OwnerCheck::Rejected,
            Err(_) => OwnerCheck::Unavailable,
        }
    }
}

impl OwnerVerifier for CloudOwner {
    fn available(&self) -> bool {
        self.linked.load(Ordering::Relaxed)
    }

    fn verify<'a>(&'a self, email: &'a str, password: &'a str) -> BoxFuture<'a, OwnerCheck> {
        Box::pin(self.check(email, password))
    }
}
