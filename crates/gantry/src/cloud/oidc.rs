//! Signing in at an organisation's OpenID provider: the device flow (RFC 8628) for consoles and
//! the authorization code flow with PKCE in the system browser (RFC 8252 loopback redirect).
//! Either ends in an access token that the cloud exchanges for its user token.

use std::time::Duration;

use base64::Engine as _;
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl,
    DeviceCodeErrorResponseType, ExtraTokenFields, PkceCodeChallenge, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardDeviceAuthorizationResponse, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::api::Secret;

/// The page the browser lands on after the provider redirects back.
const DONE_PAGE: &str =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Gantry</title></head>\
<body style=\"font-family:sans-serif;text-align:center;margin-top:4em\"><h1>Gantry</h1>\
<p>Gantry has the answer. You can close this tab and return to Gantry.</p></body></html>";

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("cannot reach the identity provider {issuer}: {detail}")]
    Discovery { issuer: String, detail: String },
    #[error("the identity provider refused: {0}")]
    Provider(String),
    #[error("the sign-in was denied at the identity provider")]
    Denied,
    #[error("the code expired before it was confirmed; run the sign-in again")]
    Expired,
    #[error("no answer from the browser within {0:?}; sign in again, and finish in the browser window that opens")]
    Timeout(Duration),
    #[error("the browser came back with a state that does not match this sign-in (a stale tab, or a forged redirect); nothing was accepted")]
    StateMismatch,
    #[error("the browser came back from {got}, not from {expected}; nothing was accepted")]
    IssuerMismatch { expected: String, got: String },
    #[error("cannot listen for the browser on 127.0.0.1: {0}")]
    Listen(std::io::Error),
    /// The provider answered, and no longer accepts the refresh token: only a new sign-in helps.
    #[error("the identity provider no longer accepts this sign-in ({0})")]
    RefreshRefused(String),
}

/// The `id_token` that the basic token response drops.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

/// A client whose token responses keep the `id_token`, for the `nonce` check.
type OidcClient = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// The claims checked in an `id_token`. Its signature is the cloud's to verify (it checks the
/// access token with the provider); these checks tie the token to this very sign-in.
#[derive(Debug, Deserialize)]
struct IdClaims {
    iss: String,
    aud: serde_json::Value,
    #[serde(default)]
    nonce: Option<String>,
}

fn check_id_token(
    token: &str,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<(), OidcError> {
    let bad = |why: &str| OidcError::Provider(format!("the id_token {why}"));
    let payload = token.split('.').nth(1).ok_or_else(|| bad("is not a JWT"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("is not base64url"))?;
    let claims: IdClaims = serde_json::from_slice(&bytes).map_err(|_| bad("has no claims"))?;
    if claims.iss.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(OidcError::IssuerMismatch {
            expected: issuer.to_owned(),
            got: claims.iss,
        });
    }
    let audience_ok = match &claims.aud {
        serde_json::Value::String(aud) => aud == client_id,
        serde_json::Value::Array(list) => list.iter().any(|a| a == client_id),
        _ => false,
    };
    if !audience_ok {
        return Err(bad("was issued to another client"));
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(bad(
            "does not carry this sign-in's nonce (a replayed token?)",
        ));
    }
    Ok(())
}

/// What the provider publishes at `/.well-known/openid-configuration`.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// The scope that asks for a refresh token.
const OFFLINE_ACCESS: &str = "offline_access";

impl Discovery {
    /// Whether to ask for `offline_access`: a provider that lists it issues refresh tokens only
    /// when asked (one that does not list it may refuse the unknown scope).
    fn offers_offline_access(&self) -> bool {
        self.scopes_supported
            .as_ref()
            .is_some_and(|scopes| scopes.iter().any(|s| s == OFFLINE_ACCESS))
    }

    /// `openid email`, plus `offline_access` where the provider offers it.
    fn scopes(&self) -> Vec<Scope> {
        let mut scopes = vec![Scope::new("openid".into()), Scope::new("email".into())];
        if self.offers_offline_access() {
            scopes.push(Scope::new(OFFLINE_ACCESS.into()));
        }
        scopes
    }
}

/// An organisation's provider, as the directory lists it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub login_hint: Option<String>,
}

pub struct Tokens {
    pub access_token: Secret,
    /// Kept in the secrets store so an expired sign-in is renewed without the user.
    pub refresh_token: Option<Secret>,
    pub clock_skew: Option<i64>,
}

impl Tokens {
    /// What every grant (code, device code, refresh) keeps of the provider's answer.
    fn from_response(token: &impl TokenResponse, clock_skew: Option<i64>) -> Tokens {
        Tokens {
            access_token: Secret::new(token.access_token().secret().clone()),
            refresh_token: token
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            clock_skew,
        }
    }
}

fn http() -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        // A redirect would replay the code verifier elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| OidcError::Provider(e.to_string()))
}

pub async fn discover(issuer: &str) -> Result<(Discovery, Option<i64>), OidcError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let failed = |detail: String| OidcError::Discovery {
        issuer: issuer.to_owned(),
        detail,
    };
    let response = http()?
        .get(&url)
        .send()
        .await
        .map_err(|e| failed(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status().as_u16())));
    }
    let skew = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .map(
            |date| match date.duration_since(std::time::SystemTime::now()) {
                Ok(ahead) => ahead.as_secs() as i64,
                Err(behind) => -(behind.duration().as_secs() as i64),
            },
        );
    let discovery: Discovery = response
        .json()
        .await
        .map_err(|e| failed(format!("not a discovery document: {e}")))?;
    if discovery.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(OidcError::IssuerMismatch {
            expected: issuer.to_owned(),
            got: discovery.issuer,
        });
    }
    Ok((discovery, skew))
}

fn url_error(e: url::ParseError) -> OidcError {
    OidcError::Provider(format!("a provider endpoint is not a URL: {e}"))
}

/// What the console shows while waiting for the user to confirm a device code.
pub struct DevicePrompt {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
}

/// The device flow: `show` is called once with the code to display; then the provider is
/// polled at its interval (slowing down when asked) until the user confirms, denies, or the
/// code expires.
pub async fn device_flow(
    provider: &Provider,
    show: impl FnOnce(&DevicePrompt),
) -> Result<Tokens, OidcError> {
    let (discovery, skew) = discover(&provider.issuer).await?;
    let scopes = discovery.scopes();
    let device_url = discovery.device_authorization_endpoint.ok_or_else(|| {
        OidcError::Provider("this provider does not offer the device flow; use --sso".into())
    })?;
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(discovery.token_endpoint).map_err(url_error)?)
        .set_device_authorization_url(DeviceAuthorizationUrl::new(device_url).map_err(url_error)?);
    let http = http()?;
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes)
        .request_async(&http)
        .await
        .map_err(|e| OidcError::Provider(describe(&e)))?;
    show(&DevicePrompt {
        user_code: details.user_code().secret().clone(),
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().clone()),
        expires_in: details.expires_in(),
    });
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .map_err(|e| match &e {
            RequestTokenError::ServerResponse(response) => match response.error() {
                DeviceCodeErrorResponseType::AccessDenied => OidcError::Denied,
                DeviceCodeErrorResponseType::ExpiredToken => OidcError::Expired,
                _ => OidcError::Provider(describe(&e)),
            },
            _ => OidcError::Provider(describe(&e)),
        })?;
    Ok(Tokens::from_response(&token, skew))
}

/// Trades a refresh token for a new access token (and, where the provider rotates them, a new
/// refresh token). A refusal is [`OidcError::RefreshRefused`]; anything else may pass.
pub async fn refresh(provider: &Provider, refresh_token: &Secret) -> Result<Tokens, OidcError> {
    let (discovery, skew) = discover(&provider.issuer).await?;
    let client = BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::new(discovery.token_endpoint).map_err(url_error)?);
    let token = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.expose().to_owned()))
        .request_async(&http()?)
        .await
        .map_err(|e| match &e {
            RequestTokenError::ServerResponse(response) => {
                OidcError::RefreshRefused(response.error().to_string())
            }
            _ => OidcError::Provider(describe(&e)),
        })?;
    Ok(Tokens::from_response(&token, skew))
}

fn describe<E: std::error::Error>(error: &E) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A terminal QR code of `text`, two rows of modules per line.
pub fn qr_text(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build(),
    )
}

/// Where the SSO flow stands, for the console or the dashboard.
pub struct SsoStart {
    pub url: String,
}

/// The authorization code flow in the system browser: PKCE S256, `state`, `nonce` and `iss`
/// checks, a one-shot loopback listener on 127.0.0.1 with an ephemeral port.
pub async fn sso_flow(
    provider: &Provider,
    timeout: Duration,
    opened: impl FnOnce(&SsoStart),
) -> Result<Tokens, OidcError> {
    let (discovery, skew) = discover(&provider.issuer).await?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(OidcError::Listen)?;
    let port = listener.local_addr().map_err(OidcError::Listen)?.port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let client = OidcClient::new(ClientId::new(provider.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_auth_uri(AuthUrl::new(discovery.authorization_endpoint.clone()).map_err(url_error)?)
        .set_token_uri(TokenUrl::new(discovery.token_endpoint.clone()).map_err(url_error)?)
        .set_redirect_uri(RedirectUrl::new(redirect).map_err(url_error)?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(discovery.scopes())
        .add_extra_param("nonce", nonce.secret().clone())
        .set_pkce_challenge(challenge);
    if discovery.offers_offline_access() {
        // OpenID Connect drops `offline_access` from a code request without a consent prompt.
        request = request.add_extra_param("prompt", "consent");
    }
    if let Some(hint) = &provider.login_hint {
        request = request.add_extra_param("login_hint", hint.clone());
    }
    let (url, state) = request.url();
    let url = url.to_string();
    if let Err(e) = webbrowser::open(&url) {
        tracing::info!(error = %e, "no browser opened; the user opens the URL");
    }
    opened(&SsoStart { url });
    let query = tokio::time::timeout(timeout, callback(&listener))
        .await
        .map_err(|_| OidcError::Timeout(timeout))??;
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if param("state").as_deref() != Some(state.secret().as_str()) {
        return Err(OidcError::StateMismatch);
    }
    if let Some(iss) = param("iss") {
        if iss.trim_end_matches('/') != discovery.issuer.trim_end_matches('/') {
            return Err(OidcError::IssuerMismatch {
                expected: discovery.issuer,
                got: iss,
            });
        }
    }
    if let Some(error) = param("error") {
        return Err(if error == "access_denied" {
            OidcError::Denied
        } else {
            OidcError::Provider(format!(
                "{error}: {}",
                param("error_description").unwrap_or_default()
            ))
        });
    }
    let code =
        param("code").ok_or_else(|| OidcError::Provider("no code in the redirect".into()))?;
    let http = http()?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .map_err(|e| OidcError::Provider(describe(&e)))?;
    let id_token = token
        .extra_fields()
        .id_token
        .as_deref()
        .ok_or_else(|| OidcError::Provider("no id_token in the answer".into()))?;
    check_id_token(
        id_token,
        &discovery.issuer,
        &provider.client_id,
        nonce.secret(),
    )?;
    Ok(Tokens::from_response(&token, skew))
}

/// Serves the loopback redirect: answers `GET /callback` with the "close this tab" page and
/// returns its query; anything else gets a 404 and the wait goes on.
async fn callback(listener: &TcpListener) -> Result<Vec<(String, String)>, OidcError> {
    loop {
        let (mut stream, _) = listener.accept().await.map_err(OidcError::Listen)?;
        let mut buffer = vec![0u8; 8192];
        let mut read = 0;
        while read < buffer.len() {
            match stream.read(&mut buffer[read..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
            if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let head = String::from_utf8_lossy(&buffer[..read]).into_owned();
        let target = head
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("");
        if let Some(query) = target.strip_prefix("/callback") {
            let query = query.strip_prefix('?').unwrap_or("");
            let pairs = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{DONE_PAGE}",
                DONE_PAGE.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
            return Ok(pairs);
        }
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        let encode = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.sig",
            encode(br#"{"alg":"RS256"}"#),
            encode(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn id_tokens_must_match_issuer_audience_and_nonce() {
        let good = jwt(serde_json::json!({"iss": "http://idp", "aud": "gantry", "nonce": "n1"}));
        check_id_token(&good, "http://idp/", "gantry", "n1").unwrap();
        assert!(matches!(
            check_id_token(&good, "http://other", "gantry", "n1"),
            Err(OidcError::IssuerMismatch { .. })
        ));
        assert!(check_id_token(&good, "http://idp", "someone-else", "n1").is_err());
        let replayed = check_id_token(&good, "http://idp", "gantry", "n2").unwrap_err();
        assert!(replayed.to_string().contains("nonce"), "{replayed}");
        assert!(check_id_token("not-a-jwt", "http://idp", "gantry", "n1").is_err());
    }

    #[test]
    fn qr_codes_render_as_text() {
        let qr = qr_text("http://127.0.0.1:1/device?user_code=ABCD-EFGH").unwrap();
        assert!(qr.lines().count() > 10);
    }
}
