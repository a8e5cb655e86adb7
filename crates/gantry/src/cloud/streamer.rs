//! The StreamerAPI backend: JSON `POST`s under `/streamerapi/`, tokens in the body.
//!
//! Success is HTTP 200, whatever the reason phrase says. Request bodies hold tokens and
//! passwords, so only endpoint names and statuses are ever logged.
//!
//! One endpoint is Gantry's own, because the protocol has none for it:
//! `POST /streamerapi/sso_organisations` with `{"platform", "host_mac", "version"}` and no
//! token, answered with `{"organisations": [{"name", "issuer", "client_id", "login_hint"?,
//! "domain"?}]}` (or the bare list) — the organisations whose members sign in with SSO. A cloud
//! without it answers 404, and the login screen then lists the admin's organisations and the
//! last list a cloud gave.

use std::time::{Duration, SystemTime};

use reqwest::header::DATE;
use serde_json::{json, Map, Value};

use super::api::{
    Cloud, CloudError, CommandRequest, Credentials, PrinterIdentity, PrinterLogin, Secret,
    UserSession,
};
use super::command::RawCommand;
use super::directory::Organisation;
use super::refusal::Refusal;

/// What the protocol calls `platform`.
const PLATFORM: &str = if cfg!(target_os = "macos") {
    "mac"
} else if cfg!(windows) {
    "win"
} else {
    "linux"
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(6);

pub struct StreamerApi {
    http: reqwest::Client,
    base: url::Url,
    host_id: String,
    version: String,
}

/// A parsed answer: nothing (empty body or `[]`), or a JSON value without an `error`.
struct Answer {
    value: Option<Value>,
    date: Option<SystemTime>,
}

impl StreamerApi {
    /// `host_id` is sent as `host_mac`: stable per installation, so the cloud recognises it.
    pub fn new(
        base_url: &str,
        host_id: &str,
        timeout: Duration,
    ) -> Result<StreamerApi, CloudError> {
        let base = url::Url::parse(base_url).map_err(|e| {
            CloudError::BadAnswer(format!("the cloud URL {base_url} is not a URL: {e}"))
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout)
            // A cloud's redirect must not carry tokens to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Gantry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CloudError::Transport(e.to_string()))?;
        Ok(StreamerApi {
            http,
            base,
            host_id: host_id.to_owned(),
            version: format!("{}gantry", env!("CARGO_PKG_VERSION")),
        })
    }

    pub fn base_url(&self) -> &url::Url {
        &self.base
    }

    async fn post(&self, endpoint: &str, body: &Value) -> Result<Answer, CloudError> {
        let url = self
            .base
            .join(&format!("streamerapi/{endpoint}"))
            .map_err(|e| CloudError::BadAnswer(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| transport(endpoint, e))?;
        let status = response.status();
        let date = response
            .headers()
            .get(DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| httpdate::parse_http_date(d).ok());
        tracing::debug!(endpoint, status = status.as_u16(), "cloud answered");
        if status != reqwest::StatusCode::OK {
            return Err(CloudError::Status(status.as_u16()));
        }
        let text = response.text().await.map_err(|e| transport(endpoint, e))?;
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed == "[]" || trimmed == "\"\"" {
            return Ok(Answer { value: None, date });
        }
        let value: Value = serde_json::from_str(trimmed)
            .map_err(|_| CloudError::BadAnswer(format!("{endpoint}: not JSON")))?;
        if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
            return Err(CloudError::Refused(Refusal {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
                    .to_owned(),
            }));
        }
        Ok(Answer {
            value: Some(value),
            date,
        })
    }

    async fn queued_jobs(&self, printer_token: &Secret) -> Result<Vec<String>, CloudError> {
        let answer = self
            .post(
                "get_queued_jobs",
                &json!({ "printer_token": printer_token.expose() }),
            )
            .await?;
        let jobs = match answer.value {
            Some(Value::Array(jobs)) => jobs,
            None => Vec::new(),
            Some(_) => return Err(CloudError::BadAnswer("get_queued_jobs: not a list".into())),
        };
        Ok(jobs
            .iter()
            .filter_map(|job| match job.get("id") {
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect())
    }
}

fn transport(endpoint: &str, error: reqwest::Error) -> CloudError {
    if error.is_timeout() {
        CloudError::Timeout
    } else {
        // Without the URL: a download link or a query may carry a token.
        CloudError::Transport(format!("{endpoint}: {}", error.without_url()))
    }
}

/// The cloud's clock minus ours, in whole seconds.
fn skew(date: Option<SystemTime>) -> Option<i64> {
    let date = date?;
    let now = SystemTime::now();
    Some(match date.duration_since(now) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    })
}

impl Cloud for StreamerApi {
    async fn user_login(&self, credentials: &Credentials) -> Result<UserSession, CloudError> {
        let login = match credentials {
            Credentials::Password { email, password } => {
                json!({ "user": email, "password": password.expose() })
            }
            Credentials::AccessToken {
                email,
                issuer,
                access_token,
            } => json!({
                "user": email.clone().unwrap_or_default(),
                "access_token": access_token.expose(),
                "issuer": issuer,
            }),
        };
        let body = json!({
            "login": login,
            "platform": PLATFORM,
            "host_mac": self.host_id,
            "version": self.version,
        });
        let answer = self.post("user_login", &body).await?;
        let value = answer
            .value
            .ok_or_else(|| CloudError::BadAnswer("user_login: empty answer".into()))?;
        let token = value
            .get("user_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| CloudError::BadAnswer("user_login: no user_token".into()))?;
        let account = value
            .get("user_login")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| match credentials {
                Credentials::Password { email, .. } => Some(email.clone()),
                Credentials::AccessToken { email, .. } => email.clone(),
            })
            .unwrap_or_default();
        Ok(UserSession {
            user_token: Secret::new(token),
            account,
            settings_mod: value
                .get("settings_mod")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            clock_skew: skew(answer.date),
        })
    }

    async fn printer_login(
        &self,
        user_token: &Secret,
        printer: &PrinterIdentity,
    ) -> Result<PrinterLogin, CloudError> {
        let body = json!({
            "user_token": user_token.expose(),
            "printer": printer,
            "version": self.version,
            "message_time": httpdate::fmt_http_date(SystemTime::now()),
            "no_job_fail": true,
            "profiles_version": "v2",
        });
        match self.post("printer_login", &body).await {
            Ok(answer) => {
                let value = answer.value.unwrap_or(Value::Null);
                let token = value
                    .get("printer_token")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        CloudError::BadAnswer("printer_login: no printer_token".into())
                    })?;
                Ok(PrinterLogin::Linked {
                    printer_token: Secret::new(token),
                    name: value.get("name").and_then(Value::as_str).map(str::to_owned),
                })
            }
            Err(CloudError::Refused(refusal)) if refusal.code == 8 => Ok(PrinterLogin::PickType {
                message: refusal.message,
            }),
            Err(e) => Err(e),
        }
    }

    async fn command(
        &self,
        printer_token: &Secret,
        request: &CommandRequest,
    ) -> Result<Option<RawCommand>, CloudError> {
        let mut body = Map::new();
        body.insert("printer_token".into(), json!(printer_token.expose()));
        body.insert("report".into(), request.report.clone());
        if let Some(ack) = &request.ack {
            body.insert("command_ack".into(), json!(ack));
        }
        if !request.errors.is_empty() {
            body.insert("error".into(), json!(request.errors));
        }
        let answer = self.post("command", &Value::Object(body)).await?;
        match answer.value {
            None => Ok(None),
            Some(value @ Value::Object(_)) if value.get("command").is_some() => {
                serde_json::from_value(value)
                    .map(Some)
                    .map_err(|e| CloudError::BadAnswer(format!("command: {e}")))
            }
            Some(Value::Object(map)) if map.is_empty() => Ok(None),
            Some(_) => Err(CloudError::BadAnswer("command: not a command".into())),
        }
    }

    async fn start_queued_job(
        &self,
        printer_token: &Secret,
        job_id: Option<&str>,
    ) -> Result<(), CloudError> {
        let job_id = match job_id {
            Some(id) => id.to_owned(),
            None => match self.queued_jobs(printer_token).await?.into_iter().next() {
                Some(id) => id,
                None => {
                    return Err(CloudError::BadAnswer(
                        "the cloud's job queue is empty".into(),
                    ))
                }
            },
        };
        self.post(
            "start_queued_job",
            &json!({ "printer_token": printer_token.expose(), "job_id": job_id }),
        )
        .await
        .map(|_| ())
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, CloudError> {
        let answer = self
            .post(
                "sso_organisations",
                &json!({
                    "platform": PLATFORM,
                    "host_mac": self.host_id,
                    "version": self.version,
                }),
            )
            .await?;
        let list = match answer.value {
            None => return Ok(Vec::new()),
            Some(Value::Object(mut map)) => map.remove("organisations").unwrap_or(Value::Null),
            Some(list) => list,
        };
        let Value::Array(entries) = list else {
            return Err(CloudError::BadAnswer(
                "sso_organisations: no list of organisations".into(),
            ));
        };
        // One malformed entry must not hide the others.
        Ok(entries
            .into_iter()
            .filter_map(|entry| match serde_json::from_value::<Organisation>(entry) {
                Ok(org) if org.is_usable() => Some(org),
                Ok(org) => {
                    tracing::info!(name = %org.name, "ignoring a cloud organisation without a usable issuer");
                    None
                }
                Err(e) => {
                    tracing::info!(error = %e, "ignoring a malformed cloud organisation");
                    None
                }
            })
            .collect())
    }
}
