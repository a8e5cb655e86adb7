//! Remote Access Authentication with real parts: a visitor in another network namespace (the
//! daemon sees a non-loopback TCP peer), a real OS account made with `useradd`/`chpasswd` and
//! checked through PAM with the service file Gantry ships. Needs root; without it each test
//! prints why and passes without checking anything.

#[path = "common/access_daemon.rs"]
mod access_daemon;
mod common;
#[path = "common/netns.rs"]
mod netns;
#[path = "common/raw_http.rs"]
mod raw_http;

use std::net::TcpStream;

use access_daemon::Gantry;
use netns::{Netns, OsUser, PamService};
use raw_http::{send, Reply, Req};
use serde_json::{json, Value};

/// Dropped in this order: the daemon stops before its namespace, PAM file and data go.
struct Setup {
    daemon: Gantry,
    ns: Netns,
    _pam: PamService,
    _dir: tempfile::TempDir,
}

fn setup(tag: &str) -> Option<Setup> {
    if let Some(why) = netns::unavailable() {
        eprintln!("skipping: {why}");
        return None;
    }
    let ns = Netns::create();
    let pam = PamService::install(tag);
    let dir = tempfile::tempdir().expect("temp dir");
    let daemon = Gantry::start(
        &dir.path().join("data"),
        0,
        &[],
        &[("GANTRY_PAM_SERVICE", &pam.name)],
    );
    let out = daemon.cli(&["config", "set", "external-access", "on"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(Setup {
        daemon,
        ns,
        _pam: pam,
        _dir: dir,
    })
}

impl Setup {
    /// The daemon as the visitor names it.
    fn host(&self) -> String {
        self.ns.daemon_address(self.daemon.port).to_string()
    }

    fn origin(&self) -> String {
        format!("http://{}", self.host())
    }

    fn remote(&self, request: Req) -> Reply {
        let stream = self
            .ns
            .connect(self.ns.daemon_address(self.daemon.port))
            .expect("connect from the namespace");
        send(stream, &request).expect("an answer")
    }

    fn get(&self, path: &str) -> Req {
        Req::new("GET", path).header("Host", &self.host())
    }

    fn login(&self, user: &str, password: &str) -> Reply {
        self.remote(
            Req::new("POST", "/api/v1/access/login")
                .header("Host", &self.host())
                .header("Origin", &self.origin())
                .json(&json!({ "username": user, "password": password })),
        )
    }

    fn local(&self, request: Req) -> Reply {
        let stream = TcpStream::connect(("127.0.0.1", self.daemon.port)).expect("connect");
        send(stream, &request).expect("an answer")
    }

    fn local_host(&self) -> String {
        format!("127.0.0.1:{}", self.daemon.port)
    }

    fn patch_settings(&self, patch: Value) {
        let reply = self.local(
            Req::new("PATCH", "/api/v1/access/settings")
                .header("Host", &self.local_host())
                .json(&patch),
        );
        assert_eq!(reply.status, 200, "{reply:?}");
    }

    fn audit(&self) -> Vec<Value> {
        self.local(
            Req::new("GET", "/api/v1/access/audit?limit=1000").header("Host", &self.local_host()),
        )
        .json()
        .as_array()
        .cloned()
        .expect("audit")
    }
}

/// `name=value` of the session cookie in a Set-Cookie header.
fn cookie_pair(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("Set-Cookie");
    set.split(';').next().expect("pair").to_owned()
}

#[test]
fn a_remote_visitor_gets_only_the_sign_in_page_and_spoofing_does_not_help() {
    let Some(s) = setup("gate") else { return };
    let port = s.daemon.port;
    // The server sees the namespace's address.
    let state = s.remote(s.get("/api/v1/access/session")).json();
    assert_eq!(
        (state["signed_in"].clone(), state["local"].clone()),
        (json!(false), json!(false))
    );

    for path in [
        "/api/v1/printers",
        "/api/v1/status",
        "/api/v1/access/settings",
        "/api/v1/access/audit",
        "/api/v1/access/sessions",
        "/api/v1/live",
        "/api/v1/keys",
        "/api/version",
        "/api/files",
        "/api/printer",
        "/api/job",
    ] {
        assert_eq!(s.remote(s.get(path)).status, 401, "{path}");
    }
    // A slicer may ask for an API key before it has one (the owner decides in the dashboard).
    let probe = s.remote(s.get("/plugin/appkeys/probe"));
    assert!(!matches!(probe.status, 303 | 401 | 403), "{probe:?}");
    for path in ["/", "/index.html", "/app.js", "/settings.js", "/style.css"] {
        let reply = s.remote(s.get(path));
        assert_eq!(
            (reply.status, reply.header("location")),
            (303, Some("/login.html")),
            "{path}"
        );
    }
    for path in ["/login.html", "/login.js", "/login.css", "/icon.svg"] {
        assert_eq!(s.remote(s.get(path)).status, 200, "{path}");
    }
    // Spoofed forwarding headers, alone or together, with a loopback Host.
    for (name, value) in [
        ("X-Forwarded-For", "127.0.0.1"),
        ("Forwarded", "for=127.0.0.1"),
        ("X-Real-IP", "127.0.0.1"),
        ("X-Forwarded-For", "::1"),
    ] {
        let reply = s.remote(
            Req::new("GET", "/api/v1/printers")
                .header("Host", &format!("localhost:{port}"))
                .header(name, value),
        );
        assert_eq!(reply.status, 401, "{name}: {value}");
    }
    // A state-changing request without a session is refused too (and never reaches a handler).
    let reply = s.remote(
        Req::new("PATCH", "/api/v1/access/settings")
            .header("Host", &s.host())
            .header("Origin", &s.origin())
            .header("X-Forwarded-For", "127.0.0.1")
            .json(&json!({ "external_access": false })),
    );
    assert_eq!(reply.status, 401);
    // A name this machine does not have (DNS rebinding) is refused before anything else.
    let reply =
        s.remote(Req::new("GET", "/login.html").header("Host", &format!("evil.example:{port}")));
    assert_eq!(reply.status, 421);
    // A configured extra name is accepted.
    s.patch_settings(json!({ "extra_host_names": ["printers.test"] }));
    let reply =
        s.remote(Req::new("GET", "/login.html").header("Host", &format!("printers.test:{port}")));
    assert_eq!(reply.status, 200);
}

#[test]
fn an_os_account_signs_in_through_pam_and_sessions_are_guarded() {
    let Some(s) = setup("login") else { return };
    let user = OsUser::create("a");
    // Guesses are throttled elsewhere (`guessing_is_slowed_then_locked_out`); here only PAM's
    // own delay applies.
    s.patch_settings(json!({ "throttle": { "base_delay_ms": 1, "max_delay_ms": 1 } }));

    // Sign-in needs a same-origin Origin (login CSRF).
    let reply = s.remote(
        Req::new("POST", "/api/v1/access/login")
            .header("Host", &s.host())
            .json(&json!({ "username": user.name, "password": user.password })),
    );
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].clone()),
        (403, json!("missing_origin"))
    );
    let reply = s.remote(
        Req::new("POST", "/api/v1/access/login")
            .header("Host", &s.host())
            .header("Origin", "http://evil.example")
            .json(&json!({ "username": user.name, "password": user.password })),
    );
    assert_eq!(reply.status, 403);

    // Wrong password and unknown user: one message, same status.
    let wrong = s.login(&user.name, "not-the-password");
    let unknown = s.login("nosuchuser-gantry", "whatever");
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(
        wrong.body, unknown.body,
        "the failure does not say what was wrong"
    );

    let ok = s.login(&user.name, &user.password);
    assert_eq!(ok.status, 200, "{ok:?}");
    let set_cookie = ok.header("set-cookie").expect("cookie").to_owned();
    assert!(
        set_cookie.starts_with(&format!("gantry_session_{}=", s.daemon.port)),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let cookie = cookie_pair(&ok);
    let csrf = ok.json()["csrf_token"]
        .as_str()
        .expect("csrf token")
        .to_owned();

    let with_cookie = |request: Req| request.header("Cookie", &cookie);
    assert_eq!(s.remote(with_cookie(s.get("/api/v1/printers"))).status, 200);
    assert_eq!(s.remote(with_cookie(s.get("/"))).status, 200);
    let state = s
        .remote(with_cookie(s.get("/api/v1/access/session")))
        .json();
    assert_eq!(state["account"], user.name.as_str());
    assert_eq!(state["csrf_token"], csrf.as_str());

    // State-changing with the cookie: needs the CSRF token, and our Origin.
    let patch = |csrf: Option<&str>, origin: Option<&str>| {
        let mut request =
            with_cookie(Req::new("PATCH", "/api/v1/access/settings").header("Host", &s.host()));
        if let Some(c) = csrf {
            request = request.header("X-CSRF-Token", c);
        }
        if let Some(o) = origin {
            request = request.header("Origin", o);
        }
        s.remote(request.json(&json!({ "idle_timeout_secs": 900 })))
    };
    let origin = s.origin();
    assert_eq!(patch(None, Some(&origin)).json()["error"]["code"], "csrf");
    assert_eq!(
        patch(Some("forged"), Some(&origin)).json()["error"]["code"],
        "csrf"
    );
    assert_eq!(
        patch(Some(&csrf), None).json()["error"]["code"],
        "missing_origin"
    );
    assert_eq!(
        patch(Some(&csrf), Some("http://evil.example")).json()["error"]["code"],
        "foreign_origin"
    );
    assert_eq!(patch(Some(&csrf), Some(&origin)).status, 200);

    // An API key is never taken from a cookie, and an unknown key is refused outright.
    let reply = s.remote(with_cookie(s.get("/api/v1/printers")).header("X-Api-Key", "guess"));
    assert_eq!(reply.status, 401);

    // The owner (here: on this computer) lists and revokes the session; it is dead at once.
    let sessions = s
        .local(Req::new("GET", "/api/v1/access/sessions").header("Host", &s.local_host()))
        .json();
    let listed = sessions.as_array().expect("sessions");
    assert_eq!(listed.len(), 1, "{sessions}");
    assert_eq!(listed[0]["account"], user.name.as_str());
    assert_eq!(listed[0]["address"], s.ns.visitor_ip.to_string());
    let id = listed[0]["id"].as_i64().expect("id");
    let reply = s.local(
        Req::new("DELETE", &format!("/api/v1/access/sessions/{id}"))
            .header("Host", &s.local_host()),
    );
    assert_eq!(reply.status, 204);
    assert_eq!(
        s.remote(with_cookie(s.get("/api/v1/printers"))).status,
        401,
        "revoked = dead"
    );

    // Sign in again, then sign out: the cookie is cleared and the session ends.
    let ok = s.login(&user.name, &user.password);
    let cookie2 = cookie_pair(&ok);
    let csrf2 = ok.json()["csrf_token"].as_str().unwrap().to_owned();
    let reply = s.remote(
        Req::new("POST", "/api/v1/access/logout")
            .header("Host", &s.host())
            .header("Origin", &s.origin())
            .header("Cookie", &cookie2)
            .header("X-CSRF-Token", &csrf2),
    );
    assert_eq!(reply.status, 204);
    assert!(reply
        .header("set-cookie")
        .unwrap_or_default()
        .contains("Max-Age=0"));
    assert_eq!(
        s.remote(s.get("/api/v1/printers").header("Cookie", &cookie2))
            .status,
        401
    );

    let events: Vec<(String, Option<String>, Option<String>)> = s
        .audit()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or_default().to_owned(),
                e["address"].as_str().map(str::to_owned),
                e["account"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let visitor = Some(s.ns.visitor_ip.to_string());
    for wanted in [
        "auth.failure",
        "auth.login",
        "auth.session_revoked",
        "auth.logout",
    ] {
        assert!(
            events.iter().any(|(e, a, acc)| e == wanted
                && (wanted == "auth.session_revoked" || *a == visitor)
                && acc.is_some()),
            "{wanted} missing from {events:?}"
        );
    }
    assert!(events
        .iter()
        .any(|(e, _, acc)| e == "auth.failure" && acc.as_deref() == Some("nosuchuser-gantry")));
    assert!(events.iter().any(|(e, _, _)| e == "access.external_access"));
}

#[test]
fn guessing_is_slowed_then_locked_out() {
    let Some(s) = setup("brute") else { return };
    let user = OsUser::create("b");
    // A long backoff first: the second guess right after a failure is turned away unchecked.
    s.patch_settings(json!({ "throttle": { "base_delay_ms": 60_000, "max_delay_ms": 60_000, "lockout_after": 3, "lockout_secs": 600 } }));
    assert_eq!(s.login(&user.name, "guess-1").status, 401);
    let refused = s.login(&user.name, &user.password);
    assert_eq!(
        refused.status, 429,
        "even the right password waits: {refused:?}"
    );
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");

    // A short backoff (the same count of failures carries on), then the lockout.
    s.patch_settings(json!({ "throttle": { "base_delay_ms": 1, "max_delay_ms": 1 } }));
    assert_eq!(s.login(&user.name, "guess-2").status, 401);
    assert_eq!(
        s.login(&user.name, "guess-3").status,
        401,
        "the third failure locks"
    );
    let locked = s.login(&user.name, &user.password);
    assert_eq!(locked.status, 429, "locked, even with the right password");
    assert!(locked
        .header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|s| s > 60));
    // Locked per account: the same account from this computer cannot sign in either.
    let reply = s.local(
        Req::new("POST", "/api/v1/access/login")
            .header("Host", &s.local_host())
            .json(&json!({ "username": user.name, "password": user.password })),
    );
    assert_eq!(reply.status, 429);
    // And per address: another account from the visitor's address is locked too.
    assert_eq!(s.login("someone-else", "x").status, 429);

    let events: Vec<String> = s
        .audit()
        .iter()
        .map(|e| e["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(events.iter().any(|e| e == "auth.lockout"), "{events:?}");
    assert!(events.iter().any(|e| e == "auth.locked_out"), "{events:?}");
    assert!(events.iter().any(|e| e == "auth.throttled"), "{events:?}");
}

#[test]
fn plain_http_from_the_lan_is_redirected_to_https_and_the_cookie_is_secure() {
    let Some(s) = setup("tls") else { return };
    let user = OsUser::create("c");
    s.patch_settings(json!({ "tls": { "enabled": true } }));
    let reply = s.remote(s.get("/login.html"));
    assert_eq!(reply.status, 308);
    assert_eq!(
        reply.header("location"),
        Some(format!("https://{}/login.html", s.host()).as_str())
    );

    // Over TLS, from the namespace: a rustls client that trusts exactly the daemon's certificate.
    use rustls::pki_types::pem::PemObject as _;
    let cert =
        rustls::pki_types::CertificateDer::from_pem_file(s.daemon.data_dir.join("tls/cert.pem"))
            .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(s.ns.host_ip.into());
    let mut connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut tcp = s.ns.connect(s.ns.daemon_address(s.daemon.port)).unwrap();
    let mut tls = rustls::Stream::new(&mut connection, &mut tcp);
    let request = Req::new("POST", "/api/v1/access/login")
        .header("Host", &s.host())
        .header("Origin", &format!("https://{}", s.host()))
        .json(&json!({ "username": user.name, "password": user.password }));
    use std::io::{Read, Write};
    tls.write_all(&request.bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let reply = raw_http::parse(&raw).expect("an HTTPS answer");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(
        reply
            .header("set-cookie")
            .unwrap_or_default()
            .contains("; Secure"),
        "{reply:?}"
    );
}
