//! The `gantry-sim` binary: printers in another process, paths on stdout, faults on stdin,
//! clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const PATIENCE: Duration = Duration::from_secs(10);

fn read_until(port: &mut dyn serialport::SerialPort, done: impl Fn(&str) -> bool) -> Vec<String> {
    let give_up = Instant::now() + PATIENCE;
    let mut text = String::new();
    let mut buf = [0u8; 256];
    loop {
        assert!(Instant::now() < give_up, "gave up; got {text:?}");
        match port.read(&mut buf) {
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read failed: {e}"),
        }
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if text.ends_with('\n') && lines.iter().any(|l| done(l)) {
            return lines;
        }
    }
}

#[test]
fn runs_printers_until_sigterm() {
    let dir = std::env::temp_dir().join(format!("gantry-sim-bin-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_gantry-sim"))
        .args(["--count", "2", "--latency-ms", "0", "--link-dir"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut paths = Vec::new();
    for index in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let (label, path) = line.trim_end().split_once(": ").unwrap();
        assert_eq!(label, format!("printer {index}"));
        assert_eq!(path, dir.join(format!("printer-{index}")).to_str().unwrap());
        paths.push(path.to_owned());
    }

    let mut port = serialport::new(&paths[1], 115_200)
        .timeout(Duration::from_millis(50))
        .open()
        .unwrap();
    port.write_all(b"M115\n").unwrap();
    let report = read_until(&mut *port, |l| l.starts_with("ok"));
    assert!(report
        .iter()
        .any(|l| l.contains("MACHINE_TYPE:Gantry Simulator 1 ")));

    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "1 fatal Testing a fatal error").unwrap();
    let halted = read_until(&mut *port, |l| l.contains("kill() called"));
    assert!(halted.contains(&"Error:Testing a fatal error".to_owned()));
    drop(port);

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(!dir.join("printer-0").exists() && !dir.join("printer-1").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
