//! The cloud account items (*Sign in with SSO…*, *Signed in as …*, *Sign out*, *Offline
//! mode*) through the service's cloud API (`/api/v1/cloud`), the one the dashboard's Client
//! Cloud Login page uses.
//!
//! Signing in happens on that page, in the system browser: it has the organisation search
//! and the provider's own sign-in. The tray learns the outcome by asking the service again
//! (see [`POLL_EVERY`]), which also picks up a sign-in from the dashboard or `gantry login`.

use std::sync::Arc;
use std::time::Duration;

use gantry::cloud::Mode;
use reqwest::Method;
use serde::Deserialize;
use tray_model::Account;

use crate::local_api::{ApiError, LocalApi};

/// How often the tray asks for the link's state: a loopback request that reads two settings,
/// so a sign-in on the dashboard shows in the menu within seconds.
pub const POLL_EVERY: Duration = Duration::from_secs(3);

const STATUS: &str = "/api/v1/cloud";

/// The part of the service's `CloudStatus` the menu shows.
#[derive(Debug, Deserialize)]
struct Status {
    mode: Mode,
    account: Option<String>,
}

impl From<Status> for Account {
    fn from(status: Status) -> Account {
        match status.mode {
            Mode::Unlinked => Account::SignedOut,
            Mode::Offline => Account::Offline,
            Mode::Linked => Account::SignedIn {
                // Linked through SSO without an e-mail claim: say so rather than show nothing.
                email: status
                    .account
                    .filter(|a| !a.trim().is_empty())
                    .unwrap_or_else(|| "your cloud account".into()),
            },
        }
    }
}

/// The dashboard page where a person signs in (e-mail and password, or their organisation).
pub fn login_page(dashboard_url: &str) -> String {
    format!("{}/cloud.html", dashboard_url.trim_end_matches('/'))
}

pub struct CloudClient {
    api: Arc<LocalApi>,
}

impl CloudClient {
    pub fn new(api: Arc<LocalApi>) -> CloudClient {
        CloudClient { api }
    }

    pub async fn account(&self) -> Result<Account, ApiError> {
        let request = self.api.request(Method::GET, STATUS);
        Ok(self.api.json::<Status>(request).await?.into())
    }

    /// Enters or leaves offline mode, then reports the link as it now is.
    pub async fn set_offline(&self, offline: bool) -> Result<Account, ApiError> {
        self.post(
            "/api/v1/cloud/offline",
            serde_json::json!({ "offline": offline }),
        )
        .await
    }

    /// Unlinks the account. Forced: the tray asked first when a print was running, and a
    /// sign-out never stops a print.
    pub async fn sign_out(&self) -> Result<Account, ApiError> {
        self.post("/api/v1/cloud/logout", serde_json::json!({ "force": true }))
            .await
    }

    /// Posts `body` to `path`, then reports the link as it now is.
    async fn post(&self, path: &str, body: serde_json::Value) -> Result<Account, ApiError> {
        let request = self.api.request(Method::POST, path).json(&body);
        self.api.call(request).await?;
        self.account().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(json: &str) -> Account {
        serde_json::from_str::<Status>(json).unwrap().into()
    }

    #[test]
    fn every_mode_maps_to_the_menu() {
        // The service's answer carries more (base_url, secrets, printers…); only these count.
        assert_eq!(
            account(r#"{"mode":"unlinked","account":null,"base_url":"https://c","printers":[]}"#),
            Account::SignedOut
        );
        assert_eq!(
            account(r#"{"mode":"offline","account":null}"#),
            Account::Offline
        );
        assert_eq!(
            account(r#"{"mode":"linked","account":"ada@example.test"}"#),
            Account::SignedIn {
                email: "ada@example.test".into()
            }
        );
    }

    #[test]
    fn a_link_without_an_address_still_says_signed_in() {
        assert_eq!(
            account(r#"{"mode":"linked","account":null}"#),
            Account::SignedIn {
                email: "your cloud account".into()
            }
        );
    }

    #[test]
    fn the_login_page_is_on_the_dashboard() {
        assert_eq!(
            login_page("http://localhost:8008/"),
            "http://localhost:8008/cloud.html"
        );
        assert_eq!(
            login_page("http://localhost:8008"),
            "http://localhost:8008/cloud.html"
        );
    }
}
