//! A self-pipe that wakes a thread out of `poll`: how a printer thread (and a simulated
//! printer) can sleep until its port speaks or its owner asks something, instead of polling.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::OFlag;

#[derive(Debug)]
pub(crate) struct Waker {
    read: OwnedFd,
    write: OwnedFd,
}

impl Waker {
    pub(crate) fn new() -> std::io::Result<Self> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
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
