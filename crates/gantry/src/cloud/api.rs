//! The `Cloud` trait: what the link needs from a cloud, independent of its wire protocol.

use std::fmt;
use std::future::Future;

use serde::Serialize;
use serde_json::{Map, Value};

use super::command::RawCommand;
use super::directory::Organisation;
use super::refusal::Refusal;

/// A token or password: never printed, never logged, compared in full only where needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How a user proves who they are to the cloud.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Sent once in `user_login`, never stored.
    Password { email: String, password: Secret },
    /// An access token from the organisation's OpenID provider (SSO or device flow), sent in
    /// `user_login` in place of a password.
    AccessToken {
        email: Option<String>,
        issuer: String,
        access_token: Secret,
    },
}

/// A successful `user_login`.
#[derive(Debug, Clone)]
pub struct UserSession {
    pub user_token: Secret,
    /// The account's display name or e-mail, as the cloud reports it.
    pub account: String,
    pub settings_mod: Map<String, Value>,
    /// The cloud's clock minus ours, in seconds, from its `Date` header.
    pub clock_skew: Option<i64>,
}

/// The printer id the protocol sends: USB ids or pseudo-ids, and a serial number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrinterIdentity {
    #[serde(rename = "VID")]
    pub vid: String,
    #[serde(rename = "PID")]
    pub pid: String,
    #[serde(rename = "SNR")]
    pub snr: String,
}

#[derive(Debug, Clone)]
pub enum PrinterLogin {
    Linked {
        printer_token: Secret,
        name: Option<String>,
    },
    /// Error 8: the type is unknown; the user picks it on the website while the link keeps asking.
    PickType { message: String },
}

/// The acknowledgement of the previous command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ack {
    pub number: i64,
    /// `true`, or an error text.
    pub result: Value,
}

/// `{code, message, level}` as the protocol reports errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReport {
    pub code: u32,
    pub message: String,
    pub level: u32,
}

#[derive(Debug, Clone, Default)]
pub struct CommandRequest {
    pub report: Value,
    pub ack: Option<Ack>,
    pub errors: Vec<ErrorReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("the cloud answered HTTP {0}")]
    Status(u16),
    #[error("the cloud did not answer in time")]
    Timeout,
    #[error("cannot reach the cloud: {0}")]
    Transport(String),
    #[error("the cloud's answer is not what the protocol says: {0}")]
    BadAnswer(String),
    #[error("offline mode is on; the cloud is not contacted")]
    Offline,
}

impl CloudError {
    /// Whether trying again later may help (a refusal will not change by itself).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CloudError::Status(_)
                | CloudError::Timeout
                | CloudError::Transport(_)
                | CloudError::BadAnswer(_)
        )
    }
}

/// A cloud account's backend. The first is the StreamerAPI; others can follow.
pub trait Cloud: Send + Sync + 'static {
    fn user_login(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<UserSession, CloudError>> + Send;

    fn printer_login(
        &self,
        user_token: &Secret,
        printer: &PrinterIdentity,
    ) -> impl Future<Output = Result<PrinterLogin, CloudError>> + Send;

    /// One turn of the loop: the report and the previous command's ack go up, at most one
    /// command comes down.
    fn command(
        &self,
        printer_token: &Secret,
        request: &CommandRequest,
    ) -> impl Future<Output = Result<Option<RawCommand>, CloudError>> + Send;

    /// Asks the cloud to start a job from its queue for this printer; the job then arrives as a
    /// `gcodes` link.
    fn start_queued_job(
        &self,
        printer_token: &Secret,
        job_id: Option<&str>,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// The organisations whose members sign in with SSO, as the cloud lists them. Asked
    /// before any sign-in, so it needs no token.
    fn organisations(&self) -> impl Future<Output = Result<Vec<Organisation>, CloudError>> + Send;
}
