//! Remote Access Authentication: who is asking, and may they?
//!
//! Every request is classified once, by [`gate`], into an [`Authenticated`] kind (or none):
//! an `X-Api-Key` header, the local token from a loopback peer, a session cookie, or a
//! trusted loopback peer. Only the TCP peer decides what is local; `X-Forwarded-For`,
//! `Forwarded` and `X-Real-IP` are never read. Nobody else gets anything but the sign-in page.
//! State-changing requests must also come from one of our own pages (same `Origin`, or
//! `Referer`) and, when a cookie authenticates them, carry the session's CSRF token.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::guard::request_host;
use super::{ApiError, AppState};
use crate::access::sessions::{unix_now, Creation, SessionInfo};
use crate::access::throttle::{FailureOutcome, Refusal};
use crate::access::{
    os_account, token, Access, AccessSettings, Actor, Method as SignInMethod, OwnerCheck, Peer,
};
use crate::store::AuditEntry;

/// The header a cookie-authenticated page echoes its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// API keys are taken from this header only.
pub const API_KEY_HEADER: &str = "x-api-key";
/// Sign-in bodies are tiny; anything bigger is refused before it is read.
const MAX_BODY: usize = 16 * 1024;
/// What every failed sign-in says, whatever failed.
const FAILED: &str = "Sign-in failed. Check the user name and password.";

/// Files the sign-in page needs before anyone has signed in.
const PUBLIC_FILES: &[&str] = &["/login.html", "/login.js", "/login.css", "/icon.svg"];
const PUBLIC_API: &[&str] = &[
    "/api/v1/access/session",
    "/api/v1/access/login",
    "/api/v1/access/logout",
];

/// OctoPrint's app-key workflow: a slicer asks for a key before it has one and polls for the
/// owner's decision, which is made in the dashboard. Programs, not browsers, so no `Origin`.
fn is_app_key_workflow(path: &str) -> bool {
    path == "/plugin/appkeys/probe"
        || path == "/plugin/appkeys/request"
        || path
            .strip_prefix("/plugin/appkeys/request/")
            .is_some_and(|t| !t.is_empty() && !t.contains('/'))
}

/// How a request is authenticated; handlers read it as an extension.
#[derive(Debug, Clone, PartialEq)]
pub enum Authenticated {
    /// The TCP peer is loopback and local visitors are trusted.
    Local,
    /// A program on this computer that read the daemon's local token (CLI, tray).
    LocalToken,
    /// A signed-in visitor's session cookie.
    Session {
        id: i64,
        account: String,
        csrf_token: String,
    },
    /// An `X-Api-Key` header accepted by the registered [`crate::access::ApiKeyVerifier`]
    /// (the OctoPrint-compatible API fills this in). Exempt from the CSRF token.
    ApiKey { name: String },
}

impl Authenticated {
    fn account(&self) -> Option<&str> {
        match self {
            Authenticated::Session { account, .. } => Some(account),
            Authenticated::ApiKey { name } => Some(name),
            Authenticated::Local | Authenticated::LocalToken => None,
        }
    }
}

/// The connection's TCP peer, when the server recorded it.
pub fn peer(request: &Request) -> Option<Peer> {
    request.extensions().get::<ConnectInfo<Peer>>().map(|c| c.0)
}

fn cookie_name(access: &Access) -> String {
    // Cookies are shared by every port of a host: name ours after the port.
    format!("gantry_session_{}", access.binder().port())
}

fn session_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn refuse(status: StatusCode, code: &'static str, message: &str) -> Response {
    ApiError::new(status, code, message).into_response()
}

/// Decides who is asking and whether they may; see the module documentation.
pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let access = &state.access;
    let Some(peer) = peer(&request) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "unknown_peer",
            "the connection's address is unknown",
        );
    };
    // Handlers that only want the address read it like with a plain TcpListener.
    request
        .extensions_mut()
        .insert(ConnectInfo::<SocketAddr>(peer.remote));
    let settings = access.settings();
    let identity = match identify(access, &settings, &peer, request.headers()).await {
        Ok(identity) => identity,
        Err(refusal) => return refusal.into_response(),
    };
    let path = request.uri().path().to_owned();
    let app_keys = is_app_key_workflow(&path);
    let public =
        PUBLIC_FILES.contains(&path.as_str()) || PUBLIC_API.contains(&path.as_str()) || app_keys;
    let state_changing = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let is_websocket = request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));

    if state_changing || is_websocket {
        if let Err(refusal) =
            check_origin(&request, &peer, identity.as_ref(), state_changing, app_keys)
        {
            return refusal.into_response();
        }
    }
    if state_changing {
        if let Some(Authenticated::Session { csrf_token, .. }) = &identity {
            let sent = request
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok());
            if !sent.is_some_and(|t| crate::access::secret::same(t, csrf_token)) {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "the request lacks this page's CSRF token; reload the page",
                );
            }
        }
    }
    match identity {
        Some(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        None if public => next.run(request).await,
        None if path.starts_with("/api/") => refuse(
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
            "sign in first",
        ),
        None if matches!(*request.method(), Method::GET | Method::HEAD) => {
            Redirect::to("/login.html").into_response()
        }
        None => refuse(
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
            "sign in first",
        ),
    }
}

/// Who the request is from, or a refusal for a bad API key.
async fn identify(
    access: &Access,
    settings: &AccessSettings,
    peer: &Peer,
    headers: &HeaderMap,
) -> Result<Option<Authenticated>, ApiError> {
    // PrusaSlicer and OrcaSlicer send the header even with the key field left blank: a blank
    // key is no key, so a trusted local slicer still works without one.
    let key = headers
        .get(API_KEY_HEADER)
        .filter(|k| !k.as_bytes().iter().all(u8::is_ascii_whitespace));
    if let Some(key) = key {
        let name = key
            .to_str()
            .ok()
            .and_then(|key| access.api_key_verifier().and_then(|v| v.verify(key)));
        return match name {
            Some(name) => Ok(Some(Authenticated::ApiKey { name })),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_api_key",
                "the API key is not valid",
            )),
        };
    }
    if peer.is_local() {
        if let Some(t) = headers.get(token::HEADER).and_then(|v| v.to_str().ok()) {
            if access.is_local_token(t) {
                return Ok(Some(Authenticated::LocalToken));
            }
        }
    }
    if let Some(cookie) = session_cookie(headers, &cookie_name(access)) {
        match access
            .sessions
            .find(&cookie, unix_now(), settings.idle_timeout_secs)
            .await
        {
            Ok(Some(s)) => {
                return Ok(Some(Authenticated::Session {
                    id: s.id,
                    account: s.account,
                    csrf_token: s.csrf_token,
                }))
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read sessions");
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store",
                    "sessions cannot be read",
                ));
            }
        }
    }
    if peer.is_local() && !settings.require_local_login {
        return Ok(Some(Authenticated::Local));
    }
    Ok(None)
}

/// `scheme://host[:port]` of an `Origin` or a `Referer`.
fn origin_of(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&value[..scheme.len() + 3 + end])
}

fn same_origin(origin: &str, host: &str, tls: bool) -> bool {
    let expected_scheme = if tls { "https" } else { "http" };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = if tls { ":443" } else { ":80" };
    let normalise = |a: &str| {
        a.strip_suffix(default_port)
            .unwrap_or(a)
            .to_ascii_lowercase()
    };
    scheme.eq_ignore_ascii_case(expected_scheme) && normalise(authority) == normalise(host)
}

/// Browsers mark where a request comes from; a page elsewhere may not act here. Programs that
/// authenticate by header are not browsers and are exempt; a local program with no header and
/// no `Origin` (curl, scripts) is trusted like any local visitor.
fn check_origin(
    request: &Request,
    peer: &Peer,
    identity: Option<&Authenticated>,
    state_changing: bool,
    program_endpoint: bool,
) -> Result<(), ApiError> {
    if matches!(
        identity,
        Some(Authenticated::ApiKey { .. } | Authenticated::LocalToken)
    ) {
        return Ok(());
    }
    let headers = request.headers();
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of)
        });
    let host = request_host(request).unwrap_or_default();
    match origin {
        Some(origin) if same_origin(origin, &host, peer.tls) => Ok(()),
        Some(origin) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "foreign_origin",
            format!("requests from pages at `{origin}` are not allowed"),
        )),
        None if !state_changing || program_endpoint => Ok(()),
        None if peer.is_local() && matches!(identity, Some(Authenticated::Local)) => Ok(()),
        None => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing_origin",
            "a state-changing request from a browser must carry Origin or Referer",
        )),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/access/session", get(session_state))
        .route("/api/v1/access/login", post(login))
        .route("/api/v1/access/logout", post(logout))
        .route("/api/v1/access/sessions", get(list_sessions))
        .route("/api/v1/access/sessions/{id}", delete(revoke_session))
        .route(
            "/api/v1/access/settings",
            get(get_settings).patch(patch_settings),
        )
        .route("/api/v1/access/audit", get(audit))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

#[derive(Serialize)]
struct SessionState {
    signed_in: bool,
    /// `local`, `token`, `session` or `api_key`.
    via: Option<&'static str>,
    account: Option<String>,
    csrf_token: Option<String>,
    /// The TCP peer is this computer.
    local: bool,
    /// The linked cloud account can be used to sign in (otherwise only the OS account).
    cloud_sign_in: bool,
}

async fn session_state(
    State(state): State<AppState>,
    Extension(peer): Extension<ConnectInfo<Peer>>,
    identity: Option<Extension<Authenticated>>,
) -> Json<SessionState> {
    let identity = identity.map(|Extension(i)| i);
    let via = identity.as_ref().map(|i| match i {
        Authenticated::Local => "local",
        Authenticated::LocalToken => "token",
        Authenticated::Session { .. } => "session",
        Authenticated::ApiKey { .. } => "api_key",
    });
    let csrf_token = match &identity {
        Some(Authenticated::Session { csrf_token, .. }) => Some(csrf_token.clone()),
        _ => None,
    };
    Json(SessionState {
        signed_in: identity.is_some(),
        via,
        account: identity
            .as_ref()
            .and_then(|i| i.account().map(str::to_owned)),
        csrf_token,
        local: peer.0.is_local(),
        cloud_sign_in: state.access.cloud_sign_in(),
    })
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginAnswer {
    account: String,
    csrf_token: String,
}

enum Verdict {
    Accepted(SignInMethod, String),
    Rejected(&'static str),
}

async fn login(
    State(state): State<AppState>,
    Extension(ConnectInfo(peer)): Extension<ConnectInfo<Peer>>,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Response {
    let access = state.access.clone();
    let Json(request) = match body {
        Ok(body) => body,
        Err(e) => return ApiError::new(e.status(), "bad_request", e.body_text()).into_response(),
    };
    let account = request.username.trim().to_owned();
    let address = peer.remote.ip().to_string();
    let settings = access.settings();
    let attempt = match access.throttle.begin(
        peer.remote.ip(),
        &account,
        Instant::now(),
        &settings.throttle,
    ) {
        Ok(attempt) => attempt,
        Err(refusal) => {
            let (event, message) = match refusal {
                Refusal::Locked(_) => (
                    "auth.locked_out",
                    "Too many failed sign-ins. Sign-in is locked for a while.",
                ),
                Refusal::Wait(_) => (
                    "auth.throttled",
                    "Too many sign-in attempts. Wait a moment and try again.",
                ),
            };
            access
                .audit(event, Some(&address), Some(&account), None)
                .await;
            let secs = refusal.retry_after().as_secs().max(1);
            let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, "throttled", message);
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
    };
    let verdict = verify(&access, &account, request.password).await;
    match verdict {
        Verdict::Accepted(method, account) => {
            attempt.succeeded(Instant::now());
            let user_agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            let created = access
                .sessions
                .create(Creation {
                    account: &account,
                    method,
                    address: &address,
                    user_agent,
                    tls: peer.tls,
                    now: unix_now(),
                    lifetime_secs: settings.session_lifetime_secs,
                })
                .await;
            let session = match created {
                Ok(session) => session,
                Err(e) => {
                    tracing::error!(error = %e, "cannot create a session");
                    return refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "store",
                        "the session cannot be stored",
                    );
                }
            };
            let detail = format!(
                "session {} via {}",
                session.id,
                if method == SignInMethod::Os {
                    "os"
                } else {
                    "cloud"
                }
            );
            access
                .audit("auth.login", Some(&address), Some(&account), Some(&detail))
                .await;
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                cookie_name(&access),
                session.token,
                settings.session_lifetime_secs,
                if peer.tls { "; Secure" } else { "" }
            );
            let mut response = Json(LoginAnswer {
                account,
                csrf_token: session.csrf_token,
            })
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Verdict::Rejected(why) => {
            let locked = attempt.failed(Instant::now()) == FailureOutcome::LockedOut;
            access
                .audit("auth.failure", Some(&address), Some(&account), Some(why))
                .await;
            if locked {
                let detail = format!("locked for {} s", settings.throttle.lockout_secs);
                access
                    .audit(
                        "auth.lockout",
                        Some(&address),
                        Some(&account),
                        Some(&detail),
                    )
                    .await;
            }
            refuse(StatusCode::UNAUTHORIZED, "sign_in_failed", FAILED)
        }
    }
}

/// The cloud owner's e-mail when it looks like one and cloud sign-in is offered; this
/// computer's accounts otherwise. The reason stays in the audit log, never in the answer.
async fn verify(access: &Arc<Access>, account: &str, password: String) -> Verdict {
    if account.contains('@') {
        if let Some(owner) = access.owner_verifier().filter(|v| v.available()) {
            return match owner.verify(account, &password).await {
                OwnerCheck::Owner { email } => Verdict::Accepted(SignInMethod::Cloud, email),
                OwnerCheck::Rejected => Verdict::Rejected("cloud: not the owner's credentials"),
                OwnerCheck::Unavailable => Verdict::Rejected("cloud: unavailable"),
            };
        }
    }
    let service = access.pam_service().to_owned();
    let user = account.to_owned();
    let checked =
        tokio::task::spawn_blocking(move || os_account::verify(&service, &user, &password)).await;
    match checked {
        Ok(Ok(())) => Verdict::Accepted(SignInMethod::Os, account.to_owned()),
        Ok(Err(os_account::OsAuthError::Rejected)) => Verdict::Rejected("os: rejected"),
        Ok(Err(os_account::OsAuthError::Unavailable(why))) => {
            tracing::error!(%why, "cannot check this computer's accounts");
            Verdict::Rejected("os: account check unavailable")
        }
        Err(e) => {
            tracing::error!(error = %e, "the account check panicked");
            Verdict::Rejected("os: account check failed")
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    Extension(ConnectInfo(peer)): Extension<ConnectInfo<Peer>>,
    identity: Option<Extension<Authenticated>>,
) -> Response {
    let access = &state.access;
    if let Some(Extension(Authenticated::Session { id, account, .. })) = identity {
        if let Err(e) = access.sessions.revoke(id, unix_now()).await {
            tracing::error!(error = %e, "cannot end a session");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                "the session cannot be ended",
            );
        }
        let address = peer.remote.ip().to_string();
        access
            .audit(
                "auth.logout",
                Some(&address),
                Some(&account),
                Some(&format!("session {id}")),
            )
            .await;
    }
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        cookie_name(access)
    );
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// The owner's pages: anyone authenticated except an API key (a slicer has no business here).
fn owner(identity: &Authenticated) -> Result<(), ApiError> {
    match identity {
        Authenticated::ApiKey { .. } => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "owner_only",
            "API keys cannot manage access",
        )),
        _ => Ok(()),
    }
}

fn actor(peer: &Peer, identity: &Authenticated) -> Actor {
    Actor {
        address: Some(peer.remote.ip().to_string()),
        account: identity
            .account()
            .map(str::to_owned)
            .or_else(|| Some("local".into())),
    }
}

#[derive(Serialize)]
struct ListedSession {
    #[serde(flatten)]
    info: SessionInfo,
    current: bool,
}

async fn list_sessions(
    State(state): State<AppState>,
    Extension(identity): Extension<Authenticated>,
) -> Result<Json<Vec<ListedSession>>, ApiError> {
    owner(&identity)?;
    let current = match identity {
        Authenticated::Session { id, .. } => Some(id),
        _ => None,
    };
    let settings = state.access.settings();
    let list = state
        .access
        .sessions
        .list(unix_now(), settings.idle_timeout_secs)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store", e.to_string()))?;
    Ok(Json(
        list.into_iter()
            .map(|info| ListedSession {
                current: Some(info.id) == current,
                info,
            })
            .collect(),
    ))
}

async fn revoke_session(
    State(state): State<AppState>,
    Extension(ConnectInfo(peer)): Extension<ConnectInfo<Peer>>,
    Extension(identity): Extension<Authenticated>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    owner(&identity)?;
    let revoked = state
        .access
        .sessions
        .revoke(id, unix_now())
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store", e.to_string()))?;
    let Some(account) = revoked else {
        return Err(ApiError::not_found(format!(
            "there is no live session {id}"
        )));
    };
    let who = actor(&peer, &identity);
    let detail = format!(
        "session {id} of {account}, revoked by {}",
        who.account.as_deref().unwrap_or("?")
    );
    state
        .access
        .audit(
            "auth.session_revoked",
            who.address.as_deref(),
            Some(&account),
            Some(&detail),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_settings(
    State(state): State<AppState>,
    Extension(identity): Extension<Authenticated>,
) -> Result<Response, ApiError> {
    owner(&identity)?;
    Ok(Json(state.access.status().await).into_response())
}

/// Merges a partial settings object over the current settings and applies the result.
async fn patch_settings(
    State(state): State<AppState>,
    Extension(ConnectInfo(peer)): Extension<ConnectInfo<Peer>>,
    Extension(identity): Extension<Authenticated>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    owner(&identity)?;
    let Json(patch) = body.map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
    let mut merged = serde_json::to_value(state.access.settings())
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    merge(&mut merged, patch);
    let new: AccessSettings = serde_json::from_value(merged)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_settings", e.to_string()))?;
    state
        .access
        .update(new, &actor(&peer, &identity))
        .await
        .map_err(|e| {
            let status = match e {
                crate::access::AccessError::Invalid(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::CONFLICT,
            };
            ApiError::new(status, "settings_not_applied", e.to_string())
        })?;
    Ok(Json(state.access.status().await).into_response())
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<u32>,
}

async fn audit(
    State(state): State<AppState>,
    Extension(identity): Extension<Authenticated>,
    Query(query): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    owner(&identity)?;
    let limit = query.limit.unwrap_or(200).min(1000);
    state
        .access
        .store()
        .audit_entries(limit)
        .await
        .map(Json)
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origins_are_compared_exactly() {
        assert!(same_origin(
            "http://localhost:8008",
            "localhost:8008",
            false
        ));
        assert!(same_origin(
            "http://LOCALHOST:8008",
            "localhost:8008",
            false
        ));
        assert!(same_origin("https://10.0.0.1", "10.0.0.1:443", true));
        assert!(!same_origin(
            "https://localhost:8008",
            "localhost:8008",
            false
        ));
        assert!(!same_origin(
            "http://localhost:8009",
            "localhost:8008",
            false
        ));
        assert!(!same_origin("http://evil.example", "localhost:8008", false));
        assert!(!same_origin("null", "localhost:8008", false));
        assert_eq!(origin_of("http://a.b:1/x/y?z"), Some("http://a.b:1"));
        assert_eq!(origin_of("https://a.b"), Some("https://a.b"));
    }

    #[test]
    fn only_the_app_key_workflow_is_open_to_programs() {
        assert!(is_app_key_workflow("/plugin/appkeys/probe"));
        assert!(is_app_key_workflow("/plugin/appkeys/request"));
        assert!(is_app_key_workflow("/plugin/appkeys/request/abc"));
        assert!(!is_app_key_workflow("/plugin/appkeys/request/"));
        assert!(!is_app_key_workflow("/plugin/appkeys/request/a/b"));
        assert!(!is_app_key_workflow("/plugin/appkeys/decide"));
    }

    #[test]
    fn only_our_cookie_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("_session=x; gantry_session_8008=abc; other=1"),
        );
        assert_eq!(
            session_cookie(&headers, "gantry_session_8008").as_deref(),
            Some("abc")
        );
        assert_eq!(session_cookie(&headers, "gantry_session_9000"), None);
    }

    #[test]
    fn patches_merge_deeply() {
        let mut base = json!({"a": 1, "tls": {"enabled": false, "cert_path": null}});
        merge(&mut base, json!({"tls": {"enabled": true}}));
        assert_eq!(
            base,
            json!({"a": 1, "tls": {"enabled": true, "cert_path": null}})
        );
    }
}
