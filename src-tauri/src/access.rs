//! *External access* through the service's own access API, the same one the dashboard uses
//! (see [`crate::local_api`] for how the tray acts as the owner).

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;

use crate::local_api::{ApiError, LocalApi};

const SETTINGS: &str = "/api/v1/access/settings";

/// Whether the dashboard is reachable from other machines, and where it listens then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub external: bool,
    /// Shown next to the menu item while external access is on, e.g. `0.0.0.0:8008`.
    pub bind_address: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    settings: Settings,
    listening: Vec<SocketAddr>,
}

#[derive(Deserialize)]
struct Settings {
    external_access: bool,
}

impl From<Status> for Exposure {
    fn from(status: Status) -> Exposure {
        let external = status.settings.external_access;
        // Prefer the wildcard address: it is what "every interface" means to a person.
        let shown = status
            .listening
            .iter()
            .find(|a| a.ip().is_unspecified())
            .or(status.listening.first());
        Exposure {
            external,
            bind_address: shown.filter(|_| external).map(ToString::to_string),
        }
    }
}

pub struct AccessClient {
    api: Arc<LocalApi>,
}

impl AccessClient {
    pub fn new(api: Arc<LocalApi>) -> AccessClient {
        AccessClient { api }
    }

    pub async fn exposure(&self) -> Result<Exposure, ApiError> {
        let request = self.api.request(Method::GET, SETTINGS);
        Ok(self.api.json::<Status>(request).await?.into())
    }

    /// Rebinds the dashboard (all interfaces, or loopback only) and reports the result.
    pub async fn set_external(&self, external: bool) -> Result<Exposure, ApiError> {
        let request = self
            .api
            .request(Method::PATCH, SETTINGS)
            .json(&serde_json::json!({ "external_access": external }));
        Ok(self.api.json::<Status>(request).await?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(external: bool, listening: &[&str]) -> Status {
        Status {
            settings: Settings {
                external_access: external,
            },
            listening: listening.iter().map(|a| a.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn loopback_only_shows_no_address() {
        let e = Exposure::from(status(false, &["127.0.0.1:8008", "[::1]:8008"]));
        assert_eq!(
            e,
            Exposure {
                external: false,
                bind_address: None
            }
        );
    }

    #[test]
    fn external_shows_the_wildcard_address() {
        let e = Exposure::from(status(true, &["[::]:8008", "0.0.0.0:8008"]));
        assert_eq!(e.bind_address.as_deref(), Some("[::]:8008"));
        let e = Exposure::from(status(true, &["192.168.1.5:8008"]));
        assert_eq!(e.bind_address.as_deref(), Some("192.168.1.5:8008"));
    }

    #[test]
    fn parses_the_service_answer() {
        let json = r#"{"settings":{"external_access":true,"require_local_login":false},
            "listening":["0.0.0.0:8008"],"port":8008,"lan_urls":[],"certificate":null,
            "cloud_sign_in":false}"#;
        let e: Exposure = serde_json::from_str::<Status>(json).unwrap().into();
        assert!(e.external);
        assert_eq!(e.bind_address.as_deref(), Some("0.0.0.0:8008"));
    }
}
