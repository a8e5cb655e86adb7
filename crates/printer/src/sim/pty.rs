//! The pseudo-terminal a simulated printer answers on, and the symlink that names it.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, ControlFlags, SetArg};

/// A pty whose slave end looks like a serial port to a client.
#[derive(Debug)]
pub struct Pty {
    /// The firmware's end, non-blocking.
    pub master: File,
    /// Held open so the master never reads `EIO` while no client is attached, and so the
    /// raw settings stick before anyone opens the slave.
    _slave: OwnedFd,
    path: PathBuf,
}

impl Pty {
    /// Opens a pty with a raw, echo-free slave.
    pub fn open() -> io::Result<Self> {
        let pty = nix::pty::openpty(None, None)?;
        let mut termios = tcgetattr(&pty.slave)?;
        cfmakeraw(&mut termios);
        termios.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios)?;
        let path = nix::unistd::ttyname(&pty.slave)?;
        for fd in [&pty.master, &pty.slave] {
            fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        }
        fcntl(
            pty.master.as_raw_fd(),
            FcntlArg::F_SETFL(OFlag::O_NONBLOCK | OFlag::O_RDWR),
        )?;
        Ok(Self {
            master: File::from(pty.master),
            _slave: pty.slave,
            path,
        })
    }

    /// The slave device path, e.g. `/dev/pts/7`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn master_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.master.as_fd()
    }
}

/// Points `link` at `target`, replacing whatever was there in one step.
pub fn point_link(link: &Path, target: &Path) -> io::Result<()> {
    let mut staging = link.as_os_str().to_owned();
    staging.push(".new");
    let staging = PathBuf::from(staging);
    match std::fs::remove_file(&staging) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::os::unix::fs::symlink(target, &staging)?;
    std::fs::rename(&staging, link)
}

/// Removes `link` as an unplugged device node disappears; a missing link is fine.
pub fn remove_link(link: &Path) {
    if let Err(e) = std::fs::remove_file(link) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(link = %link.display(), error = %e, "could not remove printer link");
        }
    }
}
