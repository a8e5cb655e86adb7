//! Defences that apply to every route.
//!
//! The daemon listens on loopback only, but a web page in the user's own browser can still
//! reach it through DNS rebinding (`evil.example` resolving to 127.0.0.1). Refusing any `Host`
//! that does not name this machine closes that door.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

pub async fn check_host(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    match host {
        Some(host) if is_local_host(&host) => next.run(request).await,
        Some(host) => ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown_host",
            format!("this Gantry does not answer to the host name `{host}`; open it as http://localhost instead"),
        )
        .into_response(),
        None => ApiError::new(StatusCode::BAD_REQUEST, "missing_host", "the request has no Host header").into_response(),
    }
}

/// True for `localhost`, `*.localhost` and loopback addresses, with or without a port.
pub fn is_local_host(host: &str) -> bool {
    let name = strip_port(host);
    if name.eq_ignore_ascii_case("localhost") || name.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `host:port` → `host`, `[v6]:port` → `[v6]`, leaving a bare IPv6 literal alone.
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

/// A state-changing request from a browser must come from one of our own pages. Programs that
/// send no `Origin` are not browsers and cannot be driven by a hostile page.
pub async fn check_origin(request: Request, next: Next) -> Response {
    let safe = matches!(request.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or(""));
    match origin {
        Some(origin) if !safe && !is_local_origin(origin) => ApiError::new(
            StatusCode::FORBIDDEN,
            "foreign_origin",
            format!("requests from pages at `{origin}` are not allowed"),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// True for `http(s)://` origins on this machine's loopback names.
pub fn is_local_origin(origin: &str) -> bool {
    match origin.split_once("://") {
        Some(("http" | "https", rest)) => is_local_host(rest),
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
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_local() {
        for host in [
            "localhost",
            "localhost:8008",
            "LOCALHOST",
            "gantry.localhost:1",
            "127.0.0.1",
            "127.0.0.1:8008",
            "127.1.2.3",
            "[::1]",
            "[::1]:8008",
            "::1",
        ] {
            assert!(is_local_host(host), "{host}");
        }
    }

    #[test]
    fn origins_must_be_local_web_origins() {
        assert!(is_local_origin("http://localhost:8008"));
        assert!(is_local_origin("http://[::1]:8008"));
        assert!(!is_local_origin("http://evil.example"));
        assert!(!is_local_origin("null"));
        assert!(!is_local_origin("file://localhost"));
    }

    #[test]
    fn other_names_are_not() {
        for host in [
            "evil.example",
            "evil.example:8008",
            "localhost.evil.example",
            "192.168.1.5:8008",
            "[fe80::1]:8008",
            "0.0.0.0",
            "",
            "127.0.0.1.evil.example",
        ] {
            assert!(!is_local_host(host), "{host}");
        }
    }
}
