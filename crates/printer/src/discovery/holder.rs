//! Who else has a serial port open. Asked before a port is ever opened, because opening and
//! writing to a port another program drives (OctoPrint, a slicer, a second Gantry) would break
//! its print; the answer comes from `/proc`, which touches no device.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Another process that holds a port open.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Holder {
    pub pid: u32,
    /// The process name (`/proc/<pid>/comm`), e.g. `octoprint`.
    pub name: String,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "held by {} (pid {})", self.name, self.pid)
    }
}

/// The other process holding `path` open, if any. This process never counts: its own
/// open ports are its own business. Always `None` where there is no `/proc`.
pub fn port_holder(path: &Path) -> Option<Holder> {
    port_holders(&[path.to_path_buf()]).remove(path)
}

/// [`port_holder`] for many ports in one pass over `/proc`.
pub fn port_holders(paths: &[PathBuf]) -> BTreeMap<PathBuf, Holder> {
    imp::port_holders(paths)
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::{BTreeMap, HashMap};
    use std::fs;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use std::path::{Path, PathBuf};

    use super::Holder;

    pub fn port_holders(paths: &[PathBuf]) -> BTreeMap<PathBuf, Holder> {
        // Compare device numbers, not names: a symlink, a by-id link or another mount of
        // /dev all name the same device.
        let mut wanted: HashMap<u64, Vec<&PathBuf>> = HashMap::new();
        for path in paths {
            if let Some(rdev) = char_device(path) {
                wanted.entry(rdev).or_default().push(path);
            }
        }
        let mut found = BTreeMap::new();
        if wanted.is_empty() {
            return found;
        }
        let me = std::process::id();
        for pid in pids().into_iter().filter(|&pid| pid != me) {
            for rdev in devices_held_by(pid, &wanted) {
                let name = process_name(pid);
                for path in &wanted[&rdev] {
                    found.entry((*path).clone()).or_insert_with(|| Holder {
                        pid,
                        name: name.clone(),
                    });
                }
            }
        }
        found
    }

    fn char_device(path: &Path) -> Option<u64> {
        let meta = fs::metadata(path).ok()?;
        meta.file_type().is_char_device().then(|| meta.rdev())
    }

    /// Every process id, in increasing order, so the reported holder is deterministic.
    fn pids() -> Vec<u32> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut pids: Vec<u32> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Which of the wanted devices `pid` has open. Processes that vanish or that we may not
    /// inspect are skipped. A process that also holds a pty's master is the device behind
    /// that pty (a simulator, a serial bridge), not a program competing for it.
    fn devices_held_by(pid: u32, wanted: &HashMap<u64, Vec<&PathBuf>>) -> Vec<u64> {
        let dir = PathBuf::from(format!("/proc/{pid}/fd"));
        let Ok(fds) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut held: Vec<(u64, PathBuf)> = Vec::new();
        let mut masters: Vec<String> = Vec::new();
        for fd in fds.flatten() {
            // readlink is cheap and rules out sockets, pipes and files before any stat.
            let Ok(target) = fs::read_link(fd.path()) else {
                continue;
            };
            if !target.starts_with("/dev") {
                continue;
            }
            if target.ends_with("ptmx") {
                if let Some(index) = pty_index(pid, &fd.file_name()) {
                    masters.push(format!("/dev/pts/{index}"));
                }
                continue;
            }
            if let Some(rdev) = char_device(&fd.path()) {
                if wanted.contains_key(&rdev) && !held.iter().any(|(r, _)| *r == rdev) {
                    held.push((rdev, target));
                }
            }
        }
        held.into_iter()
            .filter(|(_, target)| !masters.iter().any(|m| target == Path::new(m)))
            .map(|(rdev, _)| rdev)
            .collect()
    }

    /// The pty number behind a master fd, from `tty-index:` in its fdinfo.
    fn pty_index(pid: u32, fd: &std::ffi::OsStr) -> Option<u32> {
        let info = fs::read_to_string(Path::new(&format!("/proc/{pid}/fdinfo")).join(fd)).ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("tty-index:")?.trim().parse().ok())
    }

    fn process_name(pid: u32) -> String {
        fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|s| s.trim().to_owned())
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "another program".to_owned())
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::Holder;

    pub fn port_holders(_paths: &[PathBuf]) -> BTreeMap<PathBuf, Holder> {
        BTreeMap::new()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn holder_message_names_the_process() {
        let holder = Holder {
            pid: 812,
            name: "octoprint".into(),
        };
        assert_eq!(holder.to_string(), "held by octoprint (pid 812)");
    }

    #[test]
    fn this_process_never_holds_a_port() {
        // The test harness holds its own stdin/stdout; /dev/null is a char device we have open.
        let null = std::fs::File::open("/dev/null").unwrap();
        let holders = port_holders(&[PathBuf::from("/dev/null")]);
        assert!(holders.values().all(|h| h.pid != std::process::id()));
        drop(null);
    }

    #[test]
    fn a_missing_or_non_device_path_has_no_holder() {
        assert_eq!(port_holder(Path::new("/nonexistent/ttyUSB9")), None);
        assert_eq!(port_holder(Path::new("/proc/self/status")), None);
    }
}
