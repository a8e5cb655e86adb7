//! A visitor from another machine, for real: a network namespace joined to this one by a veth
//! pair, so the daemon sees a non-loopback TCP peer. Addresses come from 10.231.0.0/16 and live
//! only on the pair this creates; everything is removed on drop. Needs root (and `ip`).

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static NEXT: AtomicU32 = AtomicU32::new(0);

pub struct Netns {
    pub name: String,
    host_if: String,
    /// This machine's end: the address the visitor connects to.
    pub host_ip: Ipv4Addr,
    /// The visitor's address, as the daemon sees it.
    pub visitor_ip: Ipv4Addr,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Why these tests cannot run here, if they cannot.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: network namespaces, useradd and PAM need root".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("`ip` (iproute2) is not installed".into());
    }
    None
}

impl Netns {
    pub fn create() -> Netns {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        // A /30 per pair: .1 here, .2 in the namespace.
        let slot = (pid.wrapping_mul(8).wrapping_add(n)) % (256 * 64);
        let (third, fourth) = ((slot / 64) as u8, ((slot % 64) * 4) as u8);
        let host_ip = Ipv4Addr::new(10, 231, third, fourth + 1);
        let visitor_ip = Ipv4Addr::new(10, 231, third, fourth + 2);
        let tag = format!("{:x}{}", pid % 0xfffff, n);
        let ns = Netns {
            name: format!("gantry-t{tag}"),
            host_if: format!("gth{tag}"),
            host_ip,
            visitor_ip,
        };
        let peer_if = format!("gtv{tag}");
        let host_cidr = format!("{host_ip}/30");
        let visitor_cidr = format!("{visitor_ip}/30");
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", &ns.name],
            vec![
                "link",
                "add",
                &ns.host_if,
                "type",
                "veth",
                "peer",
                "name",
                &peer_if,
            ],
            vec!["link", "set", &peer_if, "netns", &ns.name],
            vec!["addr", "add", &host_cidr, "dev", &ns.host_if],
            vec!["link", "set", &ns.host_if, "up"],
            vec![
                "-n",
                &ns.name,
                "addr",
                "add",
                &visitor_cidr,
                "dev",
                &peer_if,
            ],
            vec!["-n", &ns.name, "link", "set", &peer_if, "up"],
            vec!["-n", &ns.name, "link", "set", "lo", "up"],
        ];
        for step in steps {
            if let Err(e) = ip(&step) {
                panic!("cannot set up the visitor's namespace: {e}");
            }
        }
        ns
    }

    /// A TCP connection made from inside the namespace (its socket belongs there for good).
    pub fn connect(&self, address: SocketAddr) -> std::io::Result<TcpStream> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path)?;
                // SAFETY: setns on this (short-lived) thread only, with an fd we own.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                TcpStream::connect_timeout(&address, Duration::from_secs(10))
            })
            .join()
            .expect("connect thread")
        })
    }

    /// The daemon as the visitor reaches it.
    pub fn daemon_address(&self, port: u16) -> SocketAddr {
        SocketAddr::from((self.host_ip, port))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// A real account of this machine, made for one test and removed after it.
pub struct OsUser {
    pub name: String,
    pub password: String,
}

impl OsUser {
    pub fn create(tag: &str) -> OsUser {
        let name = format!("gt{}{tag}", std::process::id() % 100_000);
        let password = format!("Pw-{}-{tag}-ok", std::process::id());
        let _ = Command::new("userdel").arg(&name).output();
        let out = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", &name])
            .output()
            .expect("run useradd");
        assert!(
            out.status.success(),
            "useradd: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut chpasswd = Command::new("chpasswd")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("run chpasswd");
        {
            use std::io::Write;
            let mut stdin = chpasswd.stdin.take().expect("stdin");
            writeln!(stdin, "{name}:{password}").expect("write chpasswd");
        }
        assert!(
            chpasswd.wait().expect("chpasswd").success(),
            "chpasswd failed"
        );
        OsUser { name, password }
    }
}

impl Drop for OsUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

/// The PAM service file Gantry's packages install, copied under a name unique to this test (so
/// parallel tests and a real install never collide) and removed on drop.
pub struct PamService {
    pub name: String,
}

impl PamService {
    pub fn install(tag: &str) -> PamService {
        let name = format!("gantry-test-{}-{tag}", std::process::id());
        let shipped = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../installers/linux/pam.d/gantry"
        );
        let text = std::fs::read_to_string(shipped).expect("the shipped PAM service file");
        std::fs::write(format!("/etc/pam.d/{name}"), text).expect("write /etc/pam.d");
        PamService { name }
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(format!("/etc/pam.d/{}", self.name));
    }
}
