//! Remote Access Authentication with the linked cloud account, against the test cloud
//! (`tests/cloud/server.mjs`): the owner's e-mail and password work, a real but different cloud
//! account does not, and once unlinked only this computer's accounts can be used. The visitor
//! connects to this machine's LAN address, so the daemon sees a non-loopback peer.

#[path = "common/access_daemon.rs"]
mod access_daemon;
mod common;
#[path = "common/raw_http.rs"]
mod raw_http;
#[path = "common/cloud.rs"]
mod test_cloud;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::Stdio;

use access_daemon::Gantry;
use common::gantry;
use raw_http::{send, Reply, Req};
use serde_json::json;
use test_cloud::{TestCloud, ADA, GRACE};

fn lan_ip() -> Option<IpAddr> {
    gantry::access::hosts::own_addresses()
        .into_iter()
        .find(|ip| ip.is_ipv4() && !ip.is_loopback())
}

#[test]
fn only_the_linked_cloud_owner_signs_in_with_cloud_credentials() {
    let Some(ip) = lan_ip() else {
        eprintln!("skipping: this machine has no non-loopback IPv4 address to visit from");
        return;
    };
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let daemon = Gantry::start(&dir.path().join("data"), 0, &[], &[]);
    let mut child = gantry(&daemon.data_dir)
        .args(["login", "--email", ADA.0, "--cloud-url", &cloud.cloud])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gantry login");
    writeln!(child.stdin.take().expect("stdin"), "{}", ADA.1).expect("password");
    let linked = child.wait_with_output().expect("gantry login");
    assert!(
        linked.status.success(),
        "{}",
        String::from_utf8_lossy(&linked.stderr)
    );
    assert!(daemon
        .cli(&["config", "set", "external-access", "on"])
        .status
        .success());
    let local_host = format!("127.0.0.1:{}", daemon.port);
    let throttle = send(
        TcpStream::connect(("127.0.0.1", daemon.port)).unwrap(),
        &Req::new("PATCH", "/api/v1/access/settings")
            .header("Host", &local_host)
            .json(&json!({ "throttle": { "base_delay_ms": 1, "max_delay_ms": 1 } })),
    )
    .expect("answer");
    assert_eq!(throttle.status, 200);

    let host = SocketAddr::new(ip, daemon.port).to_string();
    let remote = |request: Req| -> Reply {
        send(
            TcpStream::connect((ip, daemon.port)).expect("LAN connect"),
            &request,
        )
        .expect("answer")
    };
    let login = |user: &str, password: &str| {
        remote(
            Req::new("POST", "/api/v1/access/login")
                .header("Host", &host)
                .header("Origin", &format!("http://{host}"))
                .json(&json!({ "username": user, "password": password })),
        )
    };
    let state = remote(Req::new("GET", "/api/v1/access/session").header("Host", &host)).json();
    assert_eq!(
        state["cloud_sign_in"], true,
        "linked: the cloud account is offered"
    );

    // Another real cloud account, with its right password: not the owner, so no.
    let other = login(GRACE.0, GRACE.1);
    assert_eq!(other.status, 401, "{other:?}");
    let wrong = login(ADA.0, "not the password");
    assert_eq!(wrong.status, 401);
    assert_eq!(other.body, wrong.body, "one message for every failure");

    let owner = login(ADA.0, ADA.1);
    assert_eq!(owner.status, 200, "{owner:?}");
    assert_eq!(owner.json()["account"], ADA.0);
    let cookie = owner
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let reply = remote(
        Req::new("GET", "/api/v1/printers")
            .header("Host", &host)
            .header("Cookie", &cookie),
    );
    assert_eq!(reply.status, 200);
    let sessions = send(
        TcpStream::connect(("127.0.0.1", daemon.port)).unwrap(),
        &Req::new("GET", "/api/v1/access/sessions").header("Host", &local_host),
    )
    .expect("answer")
    .json();
    assert_eq!(sessions[0]["method"], "cloud");
    assert_eq!(sessions[0]["account"], ADA.0);

    // Unlinked: the screen says only this computer's accounts can be used, and the owner's
    // cloud credentials no longer open anything.
    let out = daemon.cli(&["logout"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(login(ADA.0, ADA.1).status, 401);
    let state = remote(Req::new("GET", "/api/v1/access/session").header("Host", &host)).json();
    assert_eq!(state["cloud_sign_in"], false);
}
