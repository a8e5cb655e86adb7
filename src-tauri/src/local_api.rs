//! The service's own HTTP API on loopback, as the owner: the same endpoints the dashboard
//! uses, so an in-process service and an attached daemon behave alike.
//!
//! The tray proves it acts for the owner with the service's local token
//! (`<data dir>/local.token`, readable only by the account that runs the service). Where it
//! cannot read it (a system daemon run by another account) the items that need it are not
//! offered.

use std::path::Path;
use std::time::Duration;

use gantry::access::token;
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The service answers these at once; this only bounds a daemon that stopped answering.
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the Gantry service did not answer: {0}")]
    Http(#[from] reqwest::Error),
    /// The service's own explanation (`{"error": {"message"}}`), or the raw body.
    #[error("{message}")]
    Refused {
        status: reqwest::StatusCode,
        message: String,
    },
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

/// The explanation to show for a refusal: the API's message when the body has one.
fn refusal_message(status: reqwest::StatusCode, body: &str) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(parsed) => parsed.error.message,
        Err(_) if body.trim().is_empty() => format!("the Gantry service refused ({status})"),
        Err(_) => format!("the Gantry service refused ({status}): {}", body.trim()),
    }
}

pub struct LocalApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl LocalApi {
    /// A client for the service on `port` whose data directory is `data_dir`; `None` when
    /// this account cannot read the service's local token.
    pub fn new(port: u16, data_dir: &Path) -> Option<LocalApi> {
        let token = token::read(data_dir)?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_proxy()
            .build()
            .ok()?;
        Some(LocalApi {
            http,
            base: format!("http://127.0.0.1:{port}"),
            token,
        })
    }

    /// A request to `path` (e.g. `/api/v1/cloud`) that carries the owner's token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header(token::HEADER, &self.token)
    }

    /// Sends the request and reads a JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ApiError> {
        Ok(checked(request.send().await?).await?.json::<T>().await?)
    }

    /// Sends the request; any success will do (e.g. `204 No Content`).
    pub async fn call(&self, request: RequestBuilder) -> Result<(), ApiError> {
        checked(request.send().await?).await.map(drop)
    }
}

async fn checked(response: reqwest::Response) -> Result<reqwest::Response, ApiError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(ApiError::Refused {
        status,
        message: refusal_message(status, &body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_token_no_client() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LocalApi::new(8008, dir.path()).is_none());
    }

    #[test]
    fn refusals_say_what_the_service_said() {
        let status = reqwest::StatusCode::CONFLICT;
        let body = r#"{"error":{"code":"printing","message":"Sim A is printing"}}"#;
        assert_eq!(refusal_message(status, body), "Sim A is printing");
        assert_eq!(
            refusal_message(status, "  "),
            "the Gantry service refused (409 Conflict)"
        );
        assert_eq!(
            refusal_message(status, "busy\n"),
            "the Gantry service refused (409 Conflict): busy"
        );
    }
}
