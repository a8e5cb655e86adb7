//! *External access* through the service's own access API, the same one the dashboard uses,
//! so an in-process service and an attached daemon behave alike.
//!
//! The tray proves it acts for the owner with the service's local token
//! (`<data dir>/local.token`, readable only by the account that runs the service). Where it
//! cannot read it (a system daemon run by another account) the item is not offered.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use gantry::access::token;
use serde::Deserialize;

/// A rebind is quick; this only bounds a daemon that stopped answering.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("the Gantry service did not answer: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the Gantry service refused ({status}): {body}")]
    Refused {
        status: reqwest::StatusCode,
        body: String,
    },
}

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
    http: reqwest::Client,
    url: String,
    token: String,
}

impl AccessClient {
    /// A client for the service on `port` whose data directory is `data_dir`; `None` when
    /// this account cannot read the service's local token.
    pub fn new(port: u16, data_dir: &Path) -> Option<AccessClient> {
        let token = token::read(data_dir)?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_proxy()
            .build()
            .ok()?;
        Some(AccessClient {
            http,
            url: format!("http://127.0.0.1:{port}/api/v1/access/settings"),
            token,
        })
    }

    pub async fn exposure(&self) -> Result<Exposure, AccessError> {
        let request = self.http.get(&self.url);
        self.send(request).await
    }

    /// Rebinds the dashboard (all interfaces, or loopback only) and reports the result.
    pub async fn set_external(&self, external: bool) -> Result<Exposure, AccessError> {
        let request = self
            .http
            .patch(&self.url)
            .json(&serde_json::json!({ "external_access": external }));
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Exposure, AccessError> {
        let response = request.header(token::HEADER, &self.token).send().await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(AccessError::Refused { status, body });
        }
        Ok(response.json::<Status>().await?.into())
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

    #[test]
    fn no_token_no_client() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AccessClient::new(8008, dir.path()).is_none());
    }
}
