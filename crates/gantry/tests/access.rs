//! External access and the defences on every route, against a real `gantry serve`: forged
//! `Host`, foreign or missing `Origin`, traversal, oversized requests, live rebinding with open
//! connections, *Require login on this computer too*, HTTPS, and spoofed forwarding headers
//! from a non-loopback peer (this machine's own LAN address; see `access_remote.rs` for a
//! visitor from another network namespace and real OS accounts).

#[path = "common/access_daemon.rs"]
mod access_daemon;
mod common;
#[path = "common/raw_http.rs"]
mod raw_http;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use access_daemon::Gantry;
use common::PATIENCE;
use futures_util::StreamExt;
use raw_http::{send, Reply, Req};
use serde_json::{json, Value};

fn fresh(args: &[&str]) -> (tempfile::TempDir, Gantry) {
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Gantry::start(&dir.path().join("data"), 0, args, &[]);
    (dir, daemon)
}

fn local(daemon: &Gantry, request: Req) -> Reply {
    let stream = TcpStream::connect(("127.0.0.1", daemon.port)).expect("connect");
    send(stream, &request).expect("an answer")
}

fn host(daemon: &Gantry) -> String {
    format!("127.0.0.1:{}", daemon.port)
}

/// This machine's first non-loopback IPv4 address: connecting to it from here gives the
/// daemon a TCP peer that is not loopback.
fn lan_ip() -> Option<IpAddr> {
    gantry::access::hosts::own_addresses()
        .into_iter()
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
}

fn config(daemon: &Gantry, args: &[&str]) -> String {
    let mut full = vec!["config"];
    full.extend_from_slice(args);
    let out = daemon.cli(&full);
    assert!(
        out.status.success(),
        "gantry config {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn settings(daemon: &Gantry) -> Value {
    local(
        daemon,
        Req::new("GET", "/api/v1/access/settings").header("Host", &host(daemon)),
    )
    .json()
}

fn audit_events(daemon: &Gantry) -> Vec<(String, Option<String>)> {
    local(
        daemon,
        Req::new("GET", "/api/v1/access/audit?limit=1000").header("Host", &host(daemon)),
    )
    .json()
    .as_array()
    .expect("audit entries")
    .iter()
    .map(|e| {
        (
            e["event"].as_str().unwrap_or_default().to_owned(),
            e["detail"].as_str().map(str::to_owned),
        )
    })
    .collect()
}

#[test]
fn forged_host_headers_are_refused() {
    let (_dir, daemon) = fresh(&[]);
    let port = daemon.port;
    for forged in [
        "evil.example".to_owned(),
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        "0.0.0.0".to_owned(),
        format!("192.0.2.7:{port}"),
    ] {
        let reply = local(
            &daemon,
            Req::new("GET", "/api/v1/printers").header("Host", &forged),
        );
        assert_eq!(reply.status, 421, "Host: {forged}: {reply:?}");
        assert_eq!(reply.json()["error"]["code"], "unknown_host");
    }
    for fine in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let reply = local(
            &daemon,
            Req::new("GET", "/api/v1/printers").header("Host", &fine),
        );
        assert_eq!(reply.status, 200, "Host: {fine}");
    }
    // An HTTP/1.1 request without Host is malformed.
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let reply = send(stream, &Req::new("GET", "/api/v1/printers")).expect("answer");
    assert_eq!(reply.status, 400);
}

#[test]
fn foreign_or_missing_origins_are_refused_and_headers_are_set() {
    let (_dir, daemon) = fresh(&[]);
    let h = host(&daemon);
    let post = |origin: Option<(&str, &str)>| {
        let mut request = Req::new("POST", "/api/v1/access/logout").header("Host", &h);
        if let Some((name, value)) = origin {
            request = request.header(name, value);
        }
        local(&daemon, request)
    };
    for (name, value) in [
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        ("Origin", "https://127.0.0.1"),
        ("Origin", &format!("http://localhost:{}", daemon.port + 1)),
        ("Referer", "http://evil.example/page"),
    ] {
        let reply = post(Some((name, value)));
        assert_eq!(reply.status, 403, "{name}: {value}");
        assert_eq!(reply.json()["error"]["code"], "foreign_origin");
    }
    assert_eq!(post(Some(("Origin", &format!("http://{h}")))).status, 204);
    // A local program (no Origin at all) is trusted like any local visitor.
    assert_eq!(post(None).status, 204);

    // A WebSocket from a foreign page.
    let reply = local(
        &daemon,
        Req::new("GET", "/api/v1/live")
            .header("Host", &h)
            .header("Origin", "http://evil.example")
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    );
    assert_eq!(reply.status, 403);

    for path in ["/", "/login.html", "/api/v1/printers"] {
        let reply = local(&daemon, Req::new("GET", path).header("Host", &h));
        let csp = reply.header("content-security-policy").expect("CSP");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    }
}

#[test]
fn traversal_and_oversized_requests_are_refused() {
    let (_dir, daemon) = fresh(&[]);
    let h = host(&daemon);
    for path in [
        "/../Cargo.toml",
        "/../../Cargo.toml",
        "/%2e%2e/%2e%2e/Cargo.toml",
        "/..%2f..%2fCargo.toml",
        "/%2e%2e%5c%2e%2e%5cCargo.toml",
        "/ui/../../../etc/passwd",
        "/..\\..\\Cargo.toml",
        "/index.html%00.js",
    ] {
        let stream = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
        // Either the guard answers 400, or the HTTP parser refuses the request line outright.
        if let Some(reply) = send(stream, &Req::new("GET", path).header("Host", &h)) {
            assert_eq!(reply.status, 400, "{path}");
            assert_eq!(reply.json()["error"]["code"], "bad_path", "{path}");
            assert!(
                !reply.body.contains("[package]") && !reply.body.contains("root:"),
                "{path} leaked a file"
            );
        }
    }

    let big = "a".repeat(64 * 1024);
    let reply = local(
        &daemon,
        Req::new("GET", "/api/v1/printers")
            .header("Host", &h)
            .header("X-Big", &big),
    );
    assert_eq!(reply.status, 431);
    let huge = "a".repeat(1024 * 1024);
    let stream = TcpStream::connect(("127.0.0.1", daemon.port)).unwrap();
    if let Some(reply) = send(
        stream,
        &Req::new("GET", "/")
            .header("Host", &h)
            .header("X-Huge", &huge),
    ) {
        assert_eq!(reply.status, 431, "a 1 MiB header");
    }

    let mut request = Req::new("POST", "/api/v1/access/login").header("Host", &h);
    request.body = format!(
        "{{\"username\":\"{}\",\"password\":\"x\"}}",
        "u".repeat(1024 * 1024)
    )
    .into_bytes();
    request = request.header("Content-Type", "application/json");
    let reply = local(&daemon, request);
    assert_eq!(reply.status, 413, "{reply:?}");
}

/// Reads one response (Content-Length bodies only) from a keep-alive connection.
fn read_response(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read");
        assert_eq!(n, 1, "connection closed");
        raw.push(byte[0]);
    }
    let head = raw_http::parse(&raw).expect("head");
    let length: usize = head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("body");
    raw.extend_from_slice(&body);
    raw_http::parse(&raw).expect("response")
}

fn keep_alive_get(stream: &mut TcpStream, host: &str, path: &str) -> Reply {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").expect("write");
    read_response(stream)
}

#[tokio::test(flavor = "multi_thread")]
async fn external_access_rebinds_live_keeps_connections_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut daemon = Gantry::start(&data_dir, 0, &["--simulate", "1"], &[]);
    let port = daemon.port;
    let h = host(&daemon);
    assert_eq!(config(&daemon, &["get", "external-access"]), "off");
    let listening = settings(&daemon)["listening"].clone();
    assert_eq!(
        listening,
        json!([format!("127.0.0.1:{port}"), format!("[::1]:{port}")])
    );

    // Open connections before the switch: a live WebSocket and a keep-alive HTTP connection.
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/api/v1/live"))
            .await
            .expect("websocket");
    let mut kept = TcpStream::connect(("127.0.0.1", port)).unwrap();
    kept.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(keep_alive_get(&mut kept, &h, "/api/v1/status").status, 200);

    let said = config(&daemon, &["set", "external-access", "on"]);
    assert!(said.contains(&format!("0.0.0.0:{port}")), "{said}");
    assert_eq!(config(&daemon, &["get", "external-access"]), "on");
    assert_eq!(
        settings(&daemon)["listening"],
        json!([format!("0.0.0.0:{port}"), format!("[::]:{port}")])
    );
    let runtime: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("daemon.json")).unwrap())
            .unwrap();
    assert_eq!(runtime["addresses"][0], format!("0.0.0.0:{port}"));

    // Both connections outlived the rebind.
    assert_eq!(
        keep_alive_get(&mut kept, &h, "/api/v1/printers").status,
        200
    );
    let deadline = Instant::now() + PATIENCE;
    let mut messages = 0;
    while messages < 2 {
        let next = tokio::time::timeout(deadline - Instant::now(), socket.next())
            .await
            .expect("the WebSocket kept delivering")
            .expect("socket open")
            .expect("message");
        if next.is_text() {
            messages += 1;
        }
    }

    // From this machine's LAN address the peer is not loopback: nothing but the sign-in page.
    if let Some(ip) = lan_ip() {
        let lan_host = SocketAddr::new(ip, port).to_string();
        let remote = |request: Req| {
            send(
                TcpStream::connect((ip, port)).expect("LAN connect"),
                &request,
            )
            .expect("answer")
        };
        let reply = remote(Req::new("GET", "/api/v1/printers").header("Host", &lan_host));
        assert_eq!(reply.status, 401, "{reply:?}");
        let reply = remote(Req::new("GET", "/").header("Host", &lan_host));
        assert_eq!(
            (reply.status, reply.header("location")),
            (303, Some("/login.html"))
        );
        assert_eq!(
            remote(Req::new("GET", "/login.html").header("Host", &lan_host)).status,
            200
        );
        // Forwarding headers never make a remote peer local.
        let spoofed = remote(
            Req::new("GET", "/api/v1/printers")
                .header("Host", &format!("localhost:{port}"))
                .header("X-Forwarded-For", "127.0.0.1")
                .header("Forwarded", "for=127.0.0.1;host=localhost")
                .header("X-Real-IP", "127.0.0.1")
                .header("X-Forwarded-Host", "localhost"),
        );
        assert_eq!(spoofed.status, 401, "{spoofed:?}");
        let session =
            remote(Req::new("GET", "/api/v1/access/session").header("Host", &lan_host)).json();
        assert_eq!(session["signed_in"], false);
        assert_eq!(session["local"], false);
        assert_eq!(session["cloud_sign_in"], false, "no cloud link registered");
    } else {
        eprintln!("skipping the LAN-address checks: this machine has no non-loopback IPv4 address");
    }

    // The setting persists across a restart on the same port.
    daemon.stop();
    let daemon = Gantry::start(&data_dir, port, &[], &[]);
    assert_eq!(
        settings(&daemon)["listening"],
        json!([format!("0.0.0.0:{port}"), format!("[::]:{port}")])
    );
    config(&daemon, &["set", "external-access", "off"]);
    assert_eq!(
        settings(&daemon)["listening"],
        json!([format!("127.0.0.1:{port}"), format!("[::1]:{port}")])
    );
    if let Some(ip) = lan_ip() {
        assert!(
            TcpStream::connect_timeout(&SocketAddr::new(ip, port), Duration::from_secs(5)).is_err(),
            "closed to the LAN"
        );
    }
    let events = audit_events(&daemon);
    let toggles: Vec<&str> = events
        .iter()
        .filter(|(e, _)| e == "access.external_access")
        .filter_map(|(_, d)| d.as_deref())
        .collect();
    assert_eq!(toggles, ["off", "on"], "newest first: {events:?}");
}

#[test]
fn require_login_on_this_computer_too() {
    let (_dir, daemon) = fresh(&[]);
    let h = host(&daemon);
    config(&daemon, &["set", "require-local-login", "on"]);
    let reply = local(
        &daemon,
        Req::new("GET", "/api/v1/printers").header("Host", &h),
    );
    assert_eq!(reply.status, 401);
    let reply = local(&daemon, Req::new("GET", "/").header("Host", &h));
    assert_eq!(
        (reply.status, reply.header("location")),
        (303, Some("/login.html"))
    );
    for public in ["/login.html", "/login.js", "/login.css", "/icon.svg"] {
        assert_eq!(
            local(&daemon, Req::new("GET", public).header("Host", &h)).status,
            200,
            "{public}"
        );
    }
    let session = local(
        &daemon,
        Req::new("GET", "/api/v1/access/session").header("Host", &h),
    )
    .json();
    assert_eq!(
        (session["signed_in"].clone(), session["local"].clone()),
        (json!(false), json!(true))
    );
    // The daemon's local token (readable by its own account only) still works for the CLI.
    assert_eq!(config(&daemon, &["get", "require-local-login"]), "on");
    let token = std::fs::read_to_string(daemon.data_dir.join("local.token")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(daemon.data_dir.join("local.token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the token is private");
    }
    let reply = local(
        &daemon,
        Req::new("GET", "/api/v1/printers")
            .header("Host", &h)
            .header("X-Gantry-Token", &token),
    );
    assert_eq!(reply.status, 200);
    let reply = local(
        &daemon,
        Req::new("GET", "/api/v1/printers")
            .header("Host", &h)
            .header("X-Gantry-Token", "guess"),
    );
    assert_eq!(reply.status, 401);
    config(&daemon, &["set", "require-local-login", "off"]);
    assert_eq!(
        local(
            &daemon,
            Req::new("GET", "/api/v1/printers").header("Host", &h)
        )
        .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_a_self_signed_certificate() {
    let (_dir, daemon) = fresh(&[]);
    let port = daemon.port;
    config(&daemon, &["set", "tls", "on"]);
    let status = settings(&daemon);
    let shown = status["certificate"]["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    assert_eq!(status["certificate"]["self_signed"], true);
    // The fingerprint shown is the certificate's on disk.
    use rustls_pki_types::pem::PemObject as _;
    let der = rustls_pki_types::CertificateDer::from_pem_file(daemon.data_dir.join("tls/cert.pem"))
        .unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    let expected: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(shown, expected.join(":"));

    let https = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .no_proxy()
        .build()
        .unwrap();
    let reply = https
        .get(format!("https://127.0.0.1:{port}/api/v1/status"))
        .send()
        .await
        .expect("HTTPS");
    assert_eq!(reply.status(), 200);
    // Plain HTTP keeps working for this computer.
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    assert_eq!(
        plain
            .get(daemon.url("/api/v1/status"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    if let Some(ip) = lan_ip() {
        config(&daemon, &["set", "external-access", "on"]);
        let lan_host = SocketAddr::new(ip, port).to_string();
        // Plain HTTP from the LAN is sent to HTTPS, on the same host and path.
        let reply = send(
            TcpStream::connect((ip, port)).unwrap(),
            &Req::new("GET", "/login.html?x=1").header("Host", &lan_host),
        )
        .expect("answer");
        assert_eq!(reply.status, 308);
        assert_eq!(
            reply.header("location"),
            Some(format!("https://{lan_host}/login.html?x=1").as_str())
        );
        let reply = https
            .get(format!("https://{lan_host}/api/v1/printers"))
            .send()
            .await
            .expect("HTTPS from the LAN");
        assert_eq!(reply.status(), 401, "HTTPS does not skip the sign-in");
        config(&daemon, &["set", "external-access", "off"]);
    }
    config(&daemon, &["set", "tls", "off"]);
    // A new client: connections made before the switch rightly stay as they were.
    let fresh_https = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .no_proxy()
        .build()
        .unwrap();
    assert!(
        fresh_https
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .is_err(),
        "TLS is off again"
    );
}
