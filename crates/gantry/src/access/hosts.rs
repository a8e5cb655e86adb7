//! Which `Host` names the dashboard answers to.
//!
//! A browser sends the name it looked up, so a hostile page whose own name resolves to this
//! machine (DNS rebinding) is recognised by its `Host`. Loopback names are always fine; with
//! external access on, so are this machine's own addresses and host names, and the extra names
//! the owner configured.

use std::net::IpAddr;

/// `host:port` → `host`, `[v6]:port` → `v6`, and a bare IPv6 literal stays whole; lowercased,
/// with a trailing root dot removed.
pub fn host_name(host: &str) -> String {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(inside, _)| inside)
    } else {
        match host.rsplit_once(':') {
            Some((name, port))
                if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => host,
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// `localhost`, `*.localhost` (RFC 6761 keeps them on this machine) and loopback addresses.
pub fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// True when `host` (a `Host` header value) names this machine.
pub fn allowed(host: &str, external: bool, extra: &[String]) -> bool {
    let name = host_name(host);
    if name.is_empty() {
        return false;
    }
    if is_loopback_name(&name) {
        return true;
    }
    if !external {
        return false;
    }
    if extra.iter().any(|e| host_name(e) == name) {
        return true;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => !ip.is_unspecified() && own_addresses().contains(&ip),
        Err(_) => own_names().contains(&name),
    }
}

/// This machine's name as the system knows it, its first label, and the mDNS `.local` form.
pub fn own_names() -> Vec<String> {
    let Some(full) = hostname() else {
        return Vec::new();
    };
    let full = full.trim_end_matches('.').to_ascii_lowercase();
    let short = full.split('.').next().unwrap_or_default().to_owned();
    let mut names = vec![full.clone(), format!("{short}.local")];
    if short != full {
        names.push(short);
    }
    names
}

#[cfg(unix)]
fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length, which is what we pass.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..end])
        .ok()
        .map(str::to_owned)
        .filter(|n| !n.is_empty())
}

#[cfg(not(unix))]
fn hostname() -> Option<String> {
    std::env::var("COMPUTERNAME").ok()
}

/// Every address on this machine's interfaces, loopback included.
#[cfg(unix)]
pub fn own_addresses() -> Vec<IpAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot list this machine's addresses");
        return Vec::new();
    }
    let mut addresses = Vec::new();
    let mut node = list;
    while !node.is_null() {
        // SAFETY: `node` is an element of the list getifaddrs returned and has not been freed.
        let entry = unsafe { &*node };
        if !entry.ifa_addr.is_null() {
            // SAFETY: ifa_addr points at a sockaddr whose family tells its real type.
            let family = i32::from(unsafe { (*entry.ifa_addr).sa_family });
            if family == libc::AF_INET {
                // SAFETY: the family says this is a sockaddr_in.
                let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                addresses.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
            } else if family == libc::AF_INET6 {
                // SAFETY: the family says this is a sockaddr_in6.
                let sin6 = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in6) };
                addresses.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
        }
        node = entry.ifa_next;
    }
    // SAFETY: `list` came from getifaddrs and is freed exactly once.
    unsafe { libc::freeifaddrs(list) };
    addresses
}

#[cfg(not(unix))]
pub fn own_addresses() -> Vec<IpAddr> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_brackets_are_stripped() {
        assert_eq!(host_name("LocalHost:8008"), "localhost");
        assert_eq!(host_name("[::1]:8008"), "::1");
        assert_eq!(host_name("::1"), "::1");
        assert_eq!(host_name("printers.lan."), "printers.lan");
        assert_eq!(host_name("10.0.0.1:80"), "10.0.0.1");
    }

    #[test]
    fn loopback_names_are_always_allowed() {
        for host in [
            "localhost",
            "localhost:8008",
            "gantry.localhost:1",
            "127.0.0.1:8008",
            "127.1.2.3",
            "[::1]:8008",
            "::1",
        ] {
            assert!(allowed(host, false, &[]), "{host}");
        }
    }

    #[test]
    fn foreign_names_are_refused() {
        for host in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "0.0.0.0",
            "[::]:8008",
            "",
            "192.0.2.77",
        ] {
            assert!(!allowed(host, true, &[]), "{host}");
        }
    }

    #[test]
    fn own_addresses_and_names_only_with_external_access() {
        let names = own_names();
        let name = names.first().expect("this machine has a host name");
        assert!(allowed(&format!("{name}:8008"), true, &[]));
        assert!(!allowed(name, false, &[]));
        if let Some(ip) = own_addresses().into_iter().find(|ip| !ip.is_loopback()) {
            let host = match ip {
                IpAddr::V4(v4) => format!("{v4}:8008"),
                IpAddr::V6(v6) => format!("[{v6}]:8008"),
            };
            assert!(allowed(&host, true, &[]), "{host}");
            assert!(!allowed(&host, false, &[]), "{host}");
        }
        assert!(allowed("printers.lan:8008", true, &["printers.lan".into()]));
        assert!(!allowed(
            "printers.lan:8008",
            false,
            &["printers.lan".into()]
        ));
    }
}
