//! The cloud link against real parts: the StreamerAPI test cloud and the OpenID provider in
//! `tests/cloud/server.mjs`, simulated printers, the `gantry` command, headless Chromium.

mod common;
#[path = "common/cloud.rs"]
mod test_cloud;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use common::{gantry, Daemon, PATIENCE};
use serde_json::{json, Value};
use test_cloud::{
    acks, approve_in_browser, gcode, get_json, reports, wait_for_json, Served, TestCloud, ADA,
    GRACE, NO_GROUP, SSO_ONLY, UNVERIFIED,
};

/// Tokens go to a private file unless a test runs its own keychain: never into the keychain
/// of the developer running the tests.
fn private_secrets() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var("GANTRY_SECRETS", "file"));
}

/// The test cloud and a daemon with one simulated printer, signed in as Ada with a password,
/// once the printer has reported to the cloud.
async fn linked_printer() -> (TestCloud, Daemon) {
    let cloud = TestCloud::start(&[]);
    let daemon = Daemon::start(&["--simulate", "1"]);
    assert!(login(&daemon.data_dir, &cloud, ADA).status.success());
    cloud
        .wait_for("the printer to report", |s| !reports(s).is_empty())
        .await;
    (cloud, daemon)
}

/// `gantry login` with the password on standard input (never on the command line).
fn login(data_dir: &Path, cloud: &TestCloud, user: (&str, &str)) -> Output {
    let mut child = gantry(data_dir)
        .args(["login", "--email", user.0, "--cloud-url", &cloud.cloud])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gantry login");
    writeln!(child.stdin.take().expect("stdin"), "{}", user.1).expect("password");
    child.wait_with_output().expect("gantry login output")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn run(data_dir: &Path, args: &[&str]) -> Output {
    gantry(data_dir).args(args).output().expect("gantry")
}

async fn cloud_status(daemon: &Daemon) -> Value {
    reqwest::get(daemon.url("/api/v1/cloud"))
        .await
        .expect("GET /api/v1/cloud")
        .json()
        .await
        .expect("JSON")
}

/// Every file under `dir`, as bytes, with its path.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                found.push((path, bytes));
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn password_login_links_printers_and_reports_status() {
    private_secrets();
    let cloud = TestCloud::start(&[]);
    let daemon = Daemon::start(&["--simulate", "1"]);
    let output = login(&daemon.data_dir, &cloud, ADA);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("Linked to the cloud as ada@example.test"),
        "{}",
        text(&output)
    );

    let state = cloud
        .wait_for("a report with temperatures", |s| {
            reports(s)
                .iter()
                .any(|r| r["temps"].as_array().is_some_and(|t| t.len() == 2))
        })
        .await;
    let login = &state["logins"][0];
    assert_eq!(login["login"]["user"], "ada@example.test");
    assert_eq!(login["platform"], "linux");
    assert!(login["host_mac"].as_str().unwrap().starts_with("0x"));
    let printer = &state["printers"][0];
    assert_eq!(printer["account"], "ada@example.test");
    // Index 0 is the bed, then the extruder.
    let last = reports(&state).pop().unwrap();
    assert_eq!(last["state"], "ready", "{last}");
    assert_eq!(last["temps"].as_array().unwrap().len(), 2, "{last}");

    let status = run(&daemon.data_dir, &["status"]);
    let shown = text(&status);
    assert!(shown.contains("Cloud: linked to"), "{shown}");
    assert!(shown.contains("as ada@example.test"), "{shown}");
    assert!(shown.contains("printer 1: linked"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_shown_with_their_advice() {
    private_secrets();
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            (ADA.0, "wrong password"),
            "check the e-mail address and password",
        ),
        (
            UNVERIFIED,
            "check your inbox and spam folder for the verification link",
        ),
        (NO_GROUP, "ask your lab administrator to add you"),
    ];
    for (user, advice) in cases {
        let output = login(dir.path(), &cloud, user);
        assert!(!output.status.success(), "{user:?} was accepted");
        let shown = text(&output);
        assert!(shown.contains(advice), "{user:?}: {shown}");
        assert!(!shown.contains(user.1), "the password was echoed: {shown}");
    }
    let status = cloud.state().await;
    assert!(status["printers"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloud_job_prints_once_through_drops_repeats_and_a_lost_link() {
    private_secrets();
    let cloud = TestCloud::start(&[]);
    let mut daemon = Daemon::start(&["--simulate", "1"]);
    let output = login(&daemon.data_dir, &cloud, ADA);
    assert!(output.status.success(), "{}", text(&output));
    cloud
        .wait_for("the printer to report", |s| !reports(s).is_empty())
        .await;

    let file = gcode(1500);
    cloud.put_file("part.gcode", &file).await;
    // The first download is cut off a third of the way: the client must resume with Range.
    cloud.fault(json!({"dropDownloadAt": file.len() / 3})).await;
    let command = cloud
        .command(
            "gcodes",
            json!([cloud.file_url("part.gcode")]),
            json!({"is_link": true, "job_id": "J-77", "filename": "part.gcode", "size": file.len()}),
        )
        .await;
    let number = command["number"].as_i64().unwrap();
    let state = cloud
        .wait_for("the print to start", |s| {
            reports(s).iter().any(|r| r["state"] == "printing")
        })
        .await;
    let downloads = state["downloads"].as_array().unwrap();
    assert_eq!(downloads[0]["range"], Value::Null);
    assert_eq!(
        downloads[1]["range"],
        format!("bytes={}-", file.len() / 3),
        "{downloads:?}"
    );
    assert!(acks(&state).contains(&json!({"number": number, "result": true})));

    // The cloud repeats the command (its ack was lost) and later sends the same job again:
    // neither starts a second print.
    cloud.fault(json!({"repeatNext": 2})).await;
    cloud
        .command(
            "gcodes",
            json!([cloud.file_url("part.gcode")]),
            json!({"is_link": true, "job_id": "J-77", "filename": "part.gcode", "size": file.len()}),
        )
        .await;
    // The link drops mid-print: errors and unanswered requests. The print carries on.
    cloud.fault(json!({"status500": 4})).await;

    let state = cloud
        .wait_for("the finish to be reported", |s| {
            reports(s)
                .iter()
                .any(|r| r["state"] == "ready" && r["percent"] == 100)
        })
        .await;
    let reports = reports(&state);
    let finished = reports
        .iter()
        .filter(|r| r["state"] == "ready" && r["percent"] == 100)
        .count();
    assert_eq!(finished, 1, "the job is reported done once");
    assert!(
        !reports.iter().any(|r| r["state"] == "cancel"),
        "never cancelled"
    );
    assert_eq!(
        state["downloads"].as_array().unwrap().len(),
        2,
        "downloaded once (two parts)"
    );
    let jobs: Vec<Value> = reqwest::get(daemon.url("/api/v1/jobs"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or_default();
    if !jobs.is_empty() {
        let cloud_jobs = jobs.iter().filter(|j| j["cloud_job_id"] == "J-77").count();
        assert_eq!(cloud_jobs, 1, "{jobs:?}");
    }
    let (_, stderr) = daemon.stop();
    assert!(stderr.contains("repeated a command"), "{stderr}");
    assert!(stderr.contains("already started once"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_commands_are_acknowledged_as_unknown_and_never_run() {
    private_secrets();
    let (cloud, daemon) = linked_printer().await;
    let unknown = cloud
        .command("quit_application", json!(null), json!({}))
        .await;
    let rename = cloud
        .command("set_name", json!(["Lab printer 3"]), json!({}))
        .await;
    let state = cloud.wait_for("both acks", |s| acks(s).len() >= 2).await;
    let acks = acks(&state);
    assert_eq!(acks[0]["number"], unknown["number"]);
    assert!(
        acks[0]["result"]
            .as_str()
            .unwrap()
            .contains("unknown command"),
        "{acks:?}"
    );
    assert_eq!(acks[1], json!({"number": rename["number"], "result": true}));
    let printers: Value = reqwest::get(daemon.url("/api/v1/printers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printers[0]["name"], "Lab printer 3");
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_is_refused_while_printing_unless_forced_and_the_print_goes_on() {
    private_secrets();
    let (cloud, daemon) = linked_printer().await;
    let file = gcode(6000);
    cloud.put_file("long.gcode", &file).await;
    cloud
        .command(
            "gcodes",
            json!([cloud.file_url("long.gcode")]),
            json!({"is_link": true, "job_id": "J-LONG", "filename": "long.gcode", "size": file.len()}),
        )
        .await;
    cloud
        .wait_for("the print to start", |s| {
            reports(s).iter().any(|r| r["state"] == "printing")
        })
        .await;

    let refused = run(&daemon.data_dir, &["logout"]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("--force"), "{}", text(&refused));
    assert_eq!(cloud_status(&daemon).await["mode"], "linked");

    let forced = run(&daemon.data_dir, &["logout", "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert_eq!(cloud_status(&daemon).await["mode"], "unlinked");
    let printers: Value = reqwest::get(daemon.url("/api/v1/printers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        printers[0]["state"], "printing",
        "the print continues: {printers}"
    );

    // Another account: the printer is logged in under it, its local name kept.
    assert!(login(&daemon.data_dir, &cloud, GRACE).status.success());
    cloud
        .wait_for("the printer under the new account", |s| {
            s["printers"][0]["account"] == "grace@example.test"
        })
        .await;
    let printers: Value = reqwest::get(daemon.url("/api/v1/printers"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printers[0]["name"], "Simulated printer 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_mode_never_contacts_the_cloud() {
    private_secrets();
    // A "cloud" that counts every connection; the test fails on any.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let contacts = Arc::new(AtomicUsize::new(0));
    let counter = contacts.clone();
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watch_flag = watching.clone();
    let watcher = std::thread::spawn(move || {
        while watch_flag.load(Ordering::Relaxed) {
            if listener.accept().is_ok() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let offline = run(&data_dir, &["login", "--offline", "--cloud-url", &url]);
    assert!(offline.status.success(), "{}", text(&offline));
    // The daemon's data dir is fresh; point it at the same settings by starting it there.
    let mut child = gantry(&data_dir)
        .args(["serve", "--port", "0", "--simulate", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let port = loop {
        if let Ok(text) = std::fs::read_to_string(data_dir.join("daemon.json")) {
            let info: Value = serde_json::from_str(&text).unwrap();
            break info["port"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "gantry serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    let base = format!("http://127.0.0.1:{port}");
    let status: Value = reqwest::get(format!("{base}/api/v1/cloud"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["mode"], "offline");
    // Local work goes on: the printer comes up ready.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let printers: Value = reqwest::get(format!("{base}/api/v1/printers"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if printers[0]["state"] == "ready" {
            break;
        }
        assert!(Instant::now() < deadline, "the printer never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Leaving offline mode goes back to the login screen, still without contacting the cloud.
    let left = reqwest::Client::new()
        .post(format!("{base}/api/v1/cloud/offline"))
        .json(&json!({"offline": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), 204);
    let status: Value = reqwest::get(format!("{base}/api/v1/cloud"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["mode"], "unlinked");
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    common::wait_with_patience(&mut child);
    watching.store(false, Ordering::Relaxed);
    watcher.join().unwrap();
    assert_eq!(
        contacts.load(Ordering::Relaxed),
        0,
        "offline mode contacted the cloud"
    );
}

/// Starts `gantry login --device` and returns it with the verification URL it printed.
fn start_device_login(
    data_dir: &Path,
    cloud: &TestCloud,
) -> (std::process::Child, String, Vec<String>) {
    let mut child = gantry(data_dir)
        .args([
            "login",
            "--device",
            "--issuer",
            &cloud.issuer,
            "--client-id",
            "gantry",
            "--cloud-url",
            &cloud.cloud,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gantry login --device");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    let mut url = None;
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("read") == 0 {
            break;
        }
        if let Some(rest) = line.strip_prefix("To sign in, open ") {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        let waiting = line.starts_with("Waiting for you to confirm");
        lines.push(line);
        if waiting {
            break;
        }
    }
    // Keep reading the rest in the background so the child never blocks on a full pipe.
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    drop(rest);
    let url = url.unwrap_or_else(|| panic!("no verification URL in {lines:?}"));
    (child, url, lines)
}

#[tokio::test(flavor = "multi_thread")]
async fn device_login_is_confirmed_in_a_browser_and_handles_slow_down() {
    private_secrets();
    let cloud = TestCloud::start(&[("TEST_CLOUD_SLOW_DOWN_ONCE", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (child, url, lines) = start_device_login(&data_dir, &cloud);
    let shown = lines.concat();
    assert!(shown.contains("and enter the code:"), "{shown}");
    assert!(
        shown.contains('█') || shown.contains('▀'),
        "a QR code: {shown}"
    );
    let code = shown
        .lines()
        .find_map(|l| l.strip_prefix("and enter the code:"))
        .map(str::trim)
        .unwrap();
    let log = dir.path().join("browser.log");
    approve_in_browser(&format!("{url}?user_code={code}"), ADA, "allow", &log);
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let state = cloud.state().await;
    assert_eq!(state["logins"][0]["login"]["user"], "");
    assert!(
        state["logins"][0]["login"]["access_token_len"]
            .as_u64()
            .unwrap()
            > 10
    );
    let status = run(&data_dir, &["status"]);
    let _ = status; // no daemon runs here; the link is stored for the next start
}

#[tokio::test(flavor = "multi_thread")]
async fn device_login_denied_expired_and_sso_user_not_found() {
    private_secrets();
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();

    // Denied at the consent screen.
    let (child, url, lines) = start_device_login(&dir.path().join("a"), &cloud);
    let code = lines
        .concat()
        .lines()
        .find_map(|l| {
            l.strip_prefix("and enter the code:")
                .map(|c| c.trim().to_owned())
        })
        .unwrap();
    approve_in_browser(
        &format!("{url}?user_code={code}"),
        ADA,
        "deny",
        &dir.path().join("b.log"),
    );
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("denied"), "{}", text(&output));

    // Never confirmed: the code expires.
    let short_lived = TestCloud::start(&[("TEST_CLOUD_DEVICE_TTL", "2")]);
    let (child, _, _) = start_device_login(&dir.path().join("b"), &short_lived);
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(text(&output).contains("expired"), "{}", text(&output));

    // Known to the provider but not to the cloud.
    let (child, url, lines) = start_device_login(&dir.path().join("c"), &cloud);
    let code = lines
        .concat()
        .lines()
        .find_map(|l| {
            l.strip_prefix("and enter the code:")
                .map(|c| c.trim().to_owned())
        })
        .unwrap();
    approve_in_browser(
        &format!("{url}?user_code={code}"),
        SSO_ONLY,
        "allow",
        &dir.path().join("c.log"),
    );
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("complete your institution's registration or safety training first; it can take up to 24 hours"),
        "{}",
        text(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_login_runs_in_the_system_browser() {
    private_secrets();
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("browser.log");
    for (consent, ok) in [("deny", false), ("allow", true)] {
        let output = gantry(&dir.path().join("data"))
            .args([
                "login",
                "--sso",
                "--issuer",
                &cloud.issuer,
                "--client-id",
                "gantry",
                "--cloud-url",
                &cloud.cloud,
            ])
            .env("BROWSER", test_cloud::script("browser.mjs"))
            .env("GANTRY_TEST_USER", ADA.0)
            .env("GANTRY_TEST_PASSWORD", ADA.1)
            .env("GANTRY_TEST_CONSENT", consent)
            .env("GANTRY_TEST_BROWSER_LOG", &log)
            .output()
            .unwrap();
        assert_eq!(output.status.success(), ok, "{consent}: {}", text(&output));
        if !ok {
            assert!(text(&output).contains("denied"), "{}", text(&output));
        }
    }
    let browser = std::fs::read_to_string(&log).unwrap();
    assert!(browser.contains("You can close this tab"), "{browser}");
    let state = cloud.state().await;
    assert_eq!(
        state["logins"].as_array().unwrap().len(),
        1,
        "only the allowed sign-in reached the cloud"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_password_or_token_is_left_in_logs_or_data_after_a_full_cycle() {
    private_secrets();
    let (cloud, mut daemon) = linked_printer().await;
    let file = gcode(300);
    cloud.put_file("small.gcode", &file).await;
    cloud
        .command(
            "gcodes",
            json!([cloud.file_url("small.gcode")]),
            json!({"is_link": true, "job_id": "J-S", "filename": "small.gcode", "size": file.len()}),
        )
        .await;
    cloud
        .wait_for("the finish", |s| {
            reports(s)
                .iter()
                .any(|r| r["state"] == "ready" && r["percent"] == 100)
        })
        .await;
    assert!(run(&daemon.data_dir, &["logout"]).status.success());

    // A device-code sign-in through the daemon leaves a refresh token in the secrets store;
    // a renewal then rotates it. Neither may leak, and logout removes them.
    let (child, url, lines) = start_device_login(&daemon.data_dir, &cloud);
    let code = lines
        .concat()
        .lines()
        .find_map(|l| {
            l.strip_prefix("and enter the code:")
                .map(|c| c.trim().to_owned())
        })
        .unwrap();
    let browser_log = tempfile::NamedTempFile::new().unwrap();
    approve_in_browser(
        &format!("{url}?user_code={code}"),
        ADA,
        "allow",
        browser_log.path(),
    );
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let linked = cloud
        .wait_for("the printer under the device sign-in", |s| {
            s["printerLogins"].as_u64() >= Some(2)
        })
        .await;
    assert_eq!(linked["refreshTokensIssued"], 1, "{linked:#}");
    let secrets_file = std::fs::read(daemon.data_dir.join("secrets.json")).unwrap();
    assert!(
        contains(&secrets_file, "refresh_token"),
        "the refresh token is kept"
    );
    cloud.expire_tokens().await;
    cloud
        .wait_for("the renewal", |s| {
            s["grants"]["refresh_token"] == 1 && s["refreshTokensIssued"] == 2
        })
        .await;
    wait_for_json(
        &daemon.url("/api/v1/cloud"),
        "the printer linked again",
        |s| s["printers"][0]["state"] == "linked",
    )
    .await;
    assert!(run(&daemon.data_dir, &["logout"]).status.success());
    assert!(!daemon.data_dir.join("secrets.json").exists());

    let state = cloud.state().await;
    let (_, stderr) = daemon.stop();
    let mut secrets: Vec<String> = state["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    // User and printer tokens of both sign-ins, and the provider's access and refresh tokens.
    assert!(
        secrets.len() >= 8,
        "user, printer, access and refresh tokens: {secrets:?}"
    );
    secrets.push(ADA.1.to_owned());
    let mut files = files_under(&daemon.data_dir);
    files.push(("stderr".into(), stderr.into_bytes()));
    assert!(
        files
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("logs")),
        "the log was checked"
    );
    for (path, bytes) in &files {
        for secret in &secrets {
            assert!(
                !contains(bytes, secret),
                "{} holds a secret",
                path.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_cloud_times_out_and_the_status_code_alone_decides() {
    use gantry::cloud::api::{Cloud, CloudError, CommandRequest, Secret};
    use gantry::cloud::StreamerApi;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let api = StreamerApi::new(&url, "0x020000000001L", Duration::from_millis(300)).unwrap();
    let error = api
        .command(&Secret::new("pt-x"), &CommandRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(error, CloudError::Timeout), "{error:?}");
    holder.abort();

    // The test cloud answers `command` with the reason phrase "Fine": still a success.
    let cloud = TestCloud::start(&[]);
    let api = StreamerApi::new(&cloud.cloud, "0x020000000001L", Duration::from_secs(5)).unwrap();
    let refused = api
        .command(&Secret::new("pt-unknown"), &CommandRequest::default())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CloudError::Refused(ref r) if r.code == 3),
        "{refused:?}"
    );
    cloud.fault(json!({"status500": 1})).await;
    let failed = api
        .command(&Secret::new("pt-unknown"), &CommandRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(failed, CloudError::Status(500)), "{failed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_live_in_the_secret_service_when_one_runs() {
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let mut child = std::process::Command::new("dbus-run-session")
        .arg("--")
        .arg(test_cloud::script("keychain.sh"))
        .arg(common::BIN)
        .arg(&data)
        .arg(&cloud.cloud)
        .arg(ADA.0)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env_remove("GANTRY_SECRETS")
        .env_remove("GANTRY_PORT")
        .env_remove("GANTRY_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-run-session (packages dbus and gnome-keyring)");
    writeln!(child.stdin.take().unwrap(), "{}", ADA.1).unwrap();
    let output = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "file: absent",
        "keychain: stored",
        "daemon: linked=yes",
        "tokens are kept in the system keychain",
        "printer tokens: stored",
        "file after linking: absent",
        "after logout: removed",
        "printer tokens after logout: removed",
    ] {
        assert!(
            shown.contains(expected),
            "{expected:?} missing from:\n{shown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_headless_box_keeps_tokens_in_a_private_file_and_says_so() {
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = gantry(&data_dir)
        .args(["login", "--email", ADA.0, "--cloud-url", &cloud.cloud])
        .env_remove("GANTRY_SECRETS")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", ADA.1).unwrap();
    let output = child.wait_with_output().unwrap();
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("tokens are kept in the file"), "{shown}");
    assert!(shown.contains("readable only by this user"), "{shown}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir.join("secrets.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_refuses_a_forged_state() {
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let output = gantry(&dir.path().join("data"))
        .args([
            "login",
            "--sso",
            "--issuer",
            &cloud.issuer,
            "--client-id",
            "gantry",
            "--cloud-url",
            &cloud.cloud,
        ])
        .env("GANTRY_SECRETS", "file")
        .env("BROWSER", test_cloud::script("forged-browser.mjs"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("a state that does not match this sign-in"),
        "{}",
        text(&output)
    );
    assert!(cloud.state().await["logins"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skewed_clock_is_warned_about() {
    let cloud = TestCloud::start(&[("TEST_CLOUD_DATE_SKEW", "600")]);
    let dir = tempfile::tempdir().unwrap();
    let mut child = gantry(&dir.path().join("data"))
        .args(["login", "--email", ADA.0, "--cloud-url", &cloud.cloud])
        .env("GANTRY_SECRETS", "file")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", ADA.1).unwrap();
    let output = child.wait_with_output().unwrap();
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("SSO and MFA may fail; check this computer's clock"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zipped_cloud_job_is_unpacked_and_printed() {
    use std::io::Write as _;
    private_secrets();
    let (cloud, _daemon) = linked_printer().await;
    let mut packed = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut packed);
        let options = zip::write::SimpleFileOptions::default();
        writer.start_file("readme.txt", options).unwrap();
        writer.write_all(b"print the other one").unwrap();
        writer.start_file("models/bracket.gcode", options).unwrap();
        writer.write_all(&gcode(200)).unwrap();
        writer.finish().unwrap();
    }
    let packed = packed.into_inner();
    cloud.put_file("job.zip", &packed).await;
    cloud
        .command(
            "gcodes",
            json!([cloud.file_url("job.zip")]),
            json!({"is_link": true, "job_id": "J-ZIP", "filename": "job.zip", "size": packed.len(), "zip": true}),
        )
        .await;
    let state = cloud
        .wait_for("the unpacked file to print and finish", |s| {
            reports(s)
                .iter()
                .any(|r| r["state"] == "ready" && r["percent"] == 100)
        })
        .await;
    assert!(
        reports(&state)
            .iter()
            .any(|r| r["filename"] == "bracket.gcode"),
        "{:?}",
        reports(&state)
    );
}

/// Writes cloud settings into a data directory before a daemon starts there.
async fn cloud_settings(data_dir: &Path, settings: Value) {
    std::fs::create_dir_all(data_dir).unwrap();
    let store = gantry::store::Store::open(&data_dir.join("gantry.db"))
        .await
        .unwrap();
    store
        .set_setting("cloud.settings", &settings)
        .await
        .unwrap();
    store.close().await;
}

fn browser_env<'a>(log: &'a str, consent: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("BROWSER", BROWSER.as_str()),
        ("GANTRY_TEST_USER", ADA.0),
        ("GANTRY_TEST_PASSWORD", ADA.1),
        ("GANTRY_TEST_CONSENT", consent),
        ("GANTRY_TEST_BROWSER_LOG", log),
    ]
}

static BROWSER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    test_cloud::script("browser.mjs")
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
});

/// The dashboard's SSO button (`POST /api/v1/cloud/sso`, the real `webbrowser` path with the
/// test browser as `$BROWSER`) links the account; then a user token the cloud refuses is renewed
/// with the provider's refresh token without asking anyone, a restart reuses the kept printer
/// token, and a refresh the provider refuses falls back to the login screen with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn sso_from_the_dashboard_renews_itself_and_survives_a_restart() {
    private_secrets();
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    cloud_settings(&data_dir, json!({"base_url": cloud.cloud})).await;
    std::fs::write(
        data_dir.join("organisations.json"),
        json!([{"name": "Example University", "issuer": cloud.issuer, "client_id": "gantry"}])
            .to_string(),
    )
    .unwrap();
    let log = dir.path().join("browser.log");
    let log = log.to_str().unwrap();
    let env = browser_env(log, "allow");
    let mut daemon = Served::start(&data_dir, &["--simulate", "1"], &env);
    assert_eq!(
        get_json(&daemon.url("/api/v1/cloud")).await["mode"],
        "unlinked"
    );

    let response = reqwest::Client::new()
        .post(daemon.url("/api/v1/cloud/sso"))
        .json(&json!({"organisation": "Example University"}))
        .send()
        .await
        .unwrap();
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["mode"], "linked", "{status}");
    assert_eq!(status["account"], "ada@example.test", "{status}");
    // The sign-in completes when the browser reaches the loopback redirect; the browser
    // script writes its log after that, so give it a moment on a busy machine.
    let mut browser = String::new();
    for _ in 0..300 {
        browser = std::fs::read_to_string(log).unwrap_or_default();
        if browser.contains("You can close this tab") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(browser.contains("You can close this tab"), "{browser}");
    wait_for_json(&daemon.url("/api/v1/cloud"), "the printer linked", |s| {
        s["printers"][0]["state"] == "linked"
    })
    .await;
    let state = cloud
        .wait_for("the printer to report", |s| !reports(s).is_empty())
        .await;
    assert_eq!(
        state["refreshTokensIssued"], 1,
        "Gantry asked for offline_access, so the provider issued a refresh token"
    );
    assert!(state["logins"][0]["login"]["access_token_len"].as_u64() > Some(10));

    // The cloud refuses every token it gave: the printer logs in again, its user token is
    // refused, and the sign-in is renewed at the provider and exchanged again.
    cloud.expire_tokens().await;
    let renewed = cloud
        .wait_for("the renewed sign-in", |s| {
            s["grants"]["refresh_token"] == 1
                && s["logins"].as_array().is_some_and(|l| l.len() == 2)
                && s["printerLogins"] == 2
        })
        .await;
    assert!(renewed["logins"][1]["login"]["access_token_len"].as_u64() > Some(10));
    let seen = reports(&renewed).len();
    cloud
        .wait_for("reports under the renewed sign-in", |s| {
            reports(s).len() > seen + 1
        })
        .await;
    let status = get_json(&daemon.url("/api/v1/cloud")).await;
    assert_eq!(status["mode"], "linked", "{status}");
    assert_eq!(status["error"], Value::Null, "{status}");

    // A restart reuses the kept printer token: no printer login, no sign-in.
    let stderr = daemon.stop();
    assert!(stderr.contains("renewed the cloud sign-in"), "{stderr}");
    let before = cloud.state().await;
    let seen = reports(&before).len();
    let mut daemon = Served::start(&data_dir, &["--simulate", "1"], &env);
    let after = cloud
        .wait_for("reports from the restarted daemon", |s| {
            reports(s).len() > seen + 1
        })
        .await;
    assert_eq!(after["printerLogins"], before["printerLogins"]);
    assert_eq!(after["logins"].as_array().unwrap().len(), 2);

    // The provider refuses the refresh: back to the login screen, with the reason, and no
    // token is left behind.
    cloud.fault(json!({"refuseRefresh": 1})).await;
    cloud.expire_tokens().await;
    let status = wait_for_json(&daemon.url("/api/v1/cloud"), "the login screen", |s| {
        s["mode"] == "unlinked"
    })
    .await;
    let error = status["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("could not be renewed") && error.contains("Sign in again"),
        "{status}"
    );
    assert!(!data_dir.join("secrets.json").exists(), "a token was left");
    assert_eq!(cloud.state().await["logins"].as_array().unwrap().len(), 2);
    daemon.stop();
}

/// The organisation search lists the admin's file merged with the cloud's list (the admin's
/// entry wins a conflict, the cloud's fills in), and keeps the cloud's last list in the
/// database for when the cloud is away, in offline mode, and after a restart.
#[tokio::test(flavor = "multi_thread")]
async fn the_organisation_search_merges_the_admins_file_with_the_clouds_list() {
    private_secrets();
    let cloud = TestCloud::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    // Asked again at every search, so each step below sees the cloud's current list.
    cloud_settings(
        &data_dir,
        json!({"base_url": cloud.cloud, "organisations_refresh_s": 0}),
    )
    .await;
    std::fs::write(
        data_dir.join("organisations.json"),
        json!([
            {"name": "example university", "issuer": cloud.issuer, "client_id": "gantry-admin"},
            {"name": "Admin Only Lab", "issuer": cloud.issuer, "client_id": "gantry"},
        ])
        .to_string(),
    )
    .unwrap();
    let mut daemon = Served::start(&data_dir, &[], &[]);
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let search =
        |q: &str| get_json_owned(daemon.url(&format!("/api/v1/cloud/organisations?q={q}")));

    let all = search("").await;
    assert_eq!(
        names(&all),
        [
            "example university",
            "Admin Only Lab",
            "Cloud Only Institute"
        ]
    );
    assert_eq!(
        all[0]["client_id"], "gantry-admin",
        "the admin's entry wins"
    );
    assert_eq!(all[0]["domain"], "example.test", "the cloud's fills in");
    assert_eq!(
        names(&search("ada%40example.test").await),
        ["example university"]
    );

    cloud
        .set_organisations(
            json!([{"name": "Renamed College", "issuer": cloud.issuer, "client_id": "gantry"}]),
        )
        .await;
    assert_eq!(
        names(&search("").await),
        ["example university", "Admin Only Lab", "Renamed College"]
    );

    // Offline mode never asks the cloud; the cached list still answers.
    let offline = reqwest::Client::new()
        .post(daemon.url("/api/v1/cloud/offline"))
        .json(&json!({"offline": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(offline.status(), 204);
    let asked = cloud.state().await["organisationRequests"].clone();
    assert!(names(&search("").await).contains(&"Renamed College".to_owned()));
    assert_eq!(cloud.state().await["organisationRequests"], asked);

    // The cloud goes away: the list survives, also across a restart.
    let left = reqwest::Client::new()
        .post(daemon.url("/api/v1/cloud/offline"))
        .json(&json!({"offline": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), 204);
    drop(cloud);
    assert!(names(&search("").await).contains(&"Renamed College".to_owned()));
    daemon.stop();
    let mut daemon = Served::start(&data_dir, &[], &[]);
    let list = get_json(&daemon.url("/api/v1/cloud/organisations")).await;
    assert_eq!(
        names(&list),
        ["example university", "Admin Only Lab", "Renamed College"]
    );
    daemon.stop();
}

async fn get_json_owned(url: String) -> Value {
    get_json(&url).await
}

/// A cloud file larger than `upload_limit_bytes` is refused with a message that says so, the
/// cloud is told, and nothing is kept: refused at once when the cloud announces the size, and
/// at the file server's `Content-Length` when it does not.
#[tokio::test(flavor = "multi_thread")]
async fn an_over_limit_cloud_download_is_refused_reported_and_not_kept() {
    private_secrets();
    let (cloud, daemon) = linked_printer().await;
    let store = gantry::store::Store::open(&daemon.data_dir.join("gantry.db"))
        .await
        .unwrap();
    store
        .set_setting("upload_limit_bytes", &1000u64)
        .await
        .unwrap();
    store.close().await;
    let file = gcode(300);
    assert!(file.len() > 1000);
    cloud.put_file("big.gcode", &file).await;

    let announced = cloud
        .command(
            "gcodes",
            json!([cloud.file_url("big.gcode")]),
            json!({"is_link": true, "job_id": "J-BIG", "filename": "big.gcode", "size": file.len()}),
        )
        .await;
    let state = cloud
        .wait_for("the refusal in the ack", |s| {
            acks(s).iter().any(|a| a["number"] == announced["number"])
        })
        .await;
    let ack = acks(&state)
        .into_iter()
        .find(|a| a["number"] == announced["number"])
        .unwrap();
    let message = ack["result"].as_str().unwrap_or_default();
    assert!(
        message.contains("more than this Gantry takes (1000 bytes"),
        "{ack}"
    );
    assert!(state["downloads"].as_array().unwrap().is_empty());

    let unannounced = cloud
        .command(
            "gcodes",
            json!([cloud.file_url("big.gcode")]),
            json!({"is_link": true, "job_id": "J-BIG2", "filename": "big2.gcode"}),
        )
        .await;
    let state = cloud
        .wait_for("the download's refusal reported", |s| {
            s["printers"][0]["errors"]
                .as_array()
                .is_some_and(|e| e.iter().filter(|e| e["code"] == 88).count() >= 2)
        })
        .await;
    // Both refusals reach the cloud as error 88 with the limit in the message.
    let errors = state["printers"][0]["errors"].as_array().unwrap().clone();
    for error in errors.iter().filter(|e| e["code"] == 88) {
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("(1000 bytes, the upload_limit_bytes setting)"),
            "{errors:?}"
        );
    }
    assert!(acks(&state).contains(&json!({"number": unannounced["number"], "result": true})));
    assert!(!reports(&state).iter().any(|r| r["state"] == "printing"));

    let files = get_json(&daemon.url("/api/v1/files")).await;
    assert_eq!(files, json!([]), "nothing in the library");
    let downloads = daemon.data_dir.join("cloud-downloads");
    let left: Vec<_> = std::fs::read_dir(&downloads)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "downloads kept: {left:?}");
    let jobs = get_json(&daemon.url("/api/v1/jobs")).await;
    assert_eq!(jobs, json!([]), "no job was started");
}
