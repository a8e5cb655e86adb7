//! Defences that apply to every route, before anyone is asked who they are.
//!
//! - `Host` must name this machine: a hostile page whose own name resolves to this machine
//!   (DNS rebinding) is recognised by the name the browser sends.
//! - Paths with `..` segments, backslashes or NULs, and oversized header sets, are refused
//!   before any handler (and before the embedded-file lookup) sees them.
//! - Plain HTTP from another machine is redirected to HTTPS when TLS is on.
//! - Security headers on every answer: a CSP without inline script, no framing, no sniffing,
//!   no referrers.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::{auth, ApiError, AppState};
use crate::access::hosts;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

/// All request headers together may not exceed this (names and values).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request_host(&request);
    let settings = state.access.settings();
    match host {
        Some(host) if hosts::allowed(&host, settings.external_access, &settings.extra_host_names) => {
            let peer = auth::peer(&request);
            let plain_from_afar = peer.is_none_or(|p| !p.is_local() && !p.tls);
            if settings.tls.enabled && plain_from_afar {
                // Never a redirect elsewhere: the host was just checked to be this machine.
                let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
                return Redirect::permanent(&format!("https://{host}{path}")).into_response();
            }
            next.run(request).await
        }
        Some(host) => ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            format!(
                "this Gantry does not answer to the host name `{}`; open it as http://localhost, by this \
                 machine's address, or add the name to the access settings",
                hosts::host_name(&host)
            ),
        )
        .into_response(),
        None => ApiError::new(StatusCode::BAD_REQUEST, "missing_host", "the request has no Host header")
            .into_response(),
    }
}

/// The `Host` header (HTTP/1.1) or the URI authority (HTTP/2).
pub fn request_host(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()))
}

/// Refuses traversal attempts and oversized headers.
pub async fn check_request(request: Request, next: Next) -> Response {
    if header_bytes(request.headers()) > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request's headers exceed {MAX_HEADER_BYTES} bytes"),
        )
        .into_response();
    }
    if !is_clean_path(request.uri().path()) {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "the path is not allowed",
        )
        .into_response();
    }
    next.run(request).await
}

fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// No `.`/`..` segments, backslashes, NULs or encoded slashes, raw or percent-encoded.
pub fn is_clean_path(path: &str) -> bool {
    let lowered = path.to_ascii_lowercase();
    if lowered.contains("%2f") || lowered.contains("%5c") || lowered.contains("%00") {
        return false;
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    if decoded.contains('\\') || decoded.contains('\0') {
        return false;
    }
    decoded
        .split('/')
        .all(|segment| segment != ".." && segment != ".")
}

/// True for `http(s)://` origins that name this machine: loopback, or one of its own
/// addresses or host names. (Whether an origin is *the same* as the page's is decided per
/// request in `auth`.)
pub fn is_local_origin(origin: &str) -> bool {
    match origin.split_once("://") {
        Some(("http" | "https", rest)) if !rest.contains('/') => hosts::allowed(rest, true, &[]),
        _ => false,
    }
}

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_name_this_machine() {
        assert!(is_local_origin("http://localhost:8008"));
        assert!(is_local_origin("http://[::1]:8008"));
        assert!(is_local_origin("https://127.0.0.1"));
        assert!(!is_local_origin("http://evil.example"));
        assert!(!is_local_origin("http://localhost.evil.example"));
        assert!(!is_local_origin("null"));
        assert!(!is_local_origin("file://localhost"));
        assert!(!is_local_origin("http://localhost/x"));
    }

    #[test]
    fn traversal_is_refused() {
        for path in [
            "/../Cargo.toml",
            "/a/../../b",
            "/%2e%2e/x",
            "/%2E%2E%2Fetc",
            "/..%2fetc",
            "/a%5c..%5cb",
            "/a\\b",
            "/x%00.js",
            "/./x",
        ] {
            assert!(!is_clean_path(path), "{path}");
        }
        for path in [
            "/",
            "/index.html",
            "/api/v1/printers/1",
            "/a..b/c",
            "/login.js",
        ] {
            assert!(is_clean_path(path), "{path}");
        }
    }
}
