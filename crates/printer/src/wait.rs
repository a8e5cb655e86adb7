//! Sleeping until a descriptor is ready, a deadline passes or another thread asks: how a
//! printer thread (and a simulated printer) waits without polling on a timer.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::PollFd;

/// A self-pipe that wakes a thread out of [`poll`].
#[derive(Debug)]
pub(crate) struct Waker {
    read: OwnedFd,
    write: OwnedFd,
}

impl Waker {
    pub(crate) fn new() -> std::io::Result<Self> {
        // `pipe` and `fcntl` rather than `pipe2`, which macOS lacks.
        let (read, write) = nix::unistd::pipe()?;
        for end in [&read, &write] {
            fcntl(end.as_raw_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
            fcntl(end.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        }
        Ok(Self { read, write })
    }

    pub(crate) fn wake(&self) {
        // A full pipe already guarantees a wake-up, so a failed write loses nothing.
        let _ = nix::unistd::write(&self.write, &[1]);
    }

    /// Readable while a wake-up is pending.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!(nix::unistd::read(self.read.as_raw_fd(), &mut buf), Ok(n) if n > 0) {}
    }
}

/// `poll` with a microsecond timeout where the OS has one: byte pacing at 115200 baud needs
/// finer wake-ups than milliseconds.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) fn poll(fds: &mut [PollFd], timeout: Duration) -> nix::Result<nix::libc::c_int> {
    nix::poll::ppoll(
        fds,
        Some(nix::sys::time::TimeSpec::from_duration(timeout)),
        None,
    )
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub(crate) fn poll(fds: &mut [PollFd], timeout: Duration) -> nix::Result<nix::libc::c_int> {
    // Round up, so a wake-up never comes before its deadline and spins.
    let millis = timeout.as_micros().div_ceil(1000);
    let timeout = nix::poll::PollTimeout::try_from(millis).unwrap_or(nix::poll::PollTimeout::MAX);
    nix::poll::poll(fds, timeout)
}

#[cfg(test)]
mod tests {
    use nix::poll::{PollFd, PollFlags, PollTimeout};

    use super::*;

    fn pending(waker: &Waker) -> bool {
        let mut fds = [PollFd::new(waker.fd(), PollFlags::POLLIN)];
        nix::poll::poll(&mut fds, PollTimeout::ZERO).expect("poll") == 1
    }

    #[test]
    fn wakes_once_however_often_woken_and_drains() {
        let waker = Waker::new().expect("pipe");
        assert!(!pending(&waker));
        for _ in 0..100_000 {
            waker.wake(); // more than a pipe holds: the extra wake-ups are dropped
        }
        assert!(pending(&waker));
        waker.drain();
        assert!(!pending(&waker));
    }
}
