//! A printer's serial port: opened exclusive (another program's port is reported busy, never
//! shared) and, where the adapter has one, with its receive latency timer at the minimum; and
//! the wait that lets the printer thread sleep until the port speaks or a command arrives.

use std::io;
use std::path::Path;
use std::time::Duration;

/// The port type of this OS, whose descriptor the thread can wait on.
#[cfg(unix)]
pub(super) type NativePort = serialport::TTYPort;
#[cfg(windows)]
pub(super) type NativePort = serialport::COMPort;

/// How long a write may wait for room in the OS's transmit buffer.
const WRITE_PATIENCE: Duration = Duration::from_secs(1);

/// Opens `path` at `baud`.
pub(super) fn open(path: &Path, baud: u32) -> Result<NativePort, serialport::Error> {
    // Exclusive access (`TIOCEXCL`) is the native port's default.
    let port = serialport::new(path.to_string_lossy(), baud)
        .timeout(WRITE_PATIENCE)
        .open_native()?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        match low_latency::enable(port.as_raw_fd()) {
            Ok(true) => tracing::debug!(port = %path.display(), "low-latency receive on"),
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(port = %path.display(), error = %e, "port has no latency setting")
            }
        }
    }
    Ok(port)
}

/// Rung by the printer's owner after queueing a command, so the thread sleeps until it has
/// something to do rather than waking every few milliseconds to look.
#[cfg(unix)]
pub(super) type Doorbell = crate::wait::Waker;

/// Where the port cannot be waited on together with a pipe, the thread polls its commands
/// between short reads instead, and the bell has nothing to ring.
#[cfg(not(unix))]
#[derive(Debug)]
pub(super) struct Doorbell;

#[cfg(not(unix))]
impl Doorbell {
    pub(super) fn new() -> io::Result<Self> {
        Ok(Doorbell)
    }

    pub(super) fn wake(&self) {}
}

/// Waits up to `timeout` for input on `port` or a ring of `bell`; true when the port has
/// something to read (or has hung up, which the read then reports).
#[cfg(unix)]
pub(super) fn wait(port: &mut NativePort, bell: &Doorbell, timeout: Duration) -> io::Result<bool> {
    use nix::poll::{PollFd, PollFlags};
    use std::os::fd::{AsRawFd, BorrowedFd};

    // SAFETY: the descriptor belongs to `port`, which outlives this call.
    let port_fd = unsafe { BorrowedFd::borrow_raw(port.as_raw_fd()) };
    let mut fds = [
        PollFd::new(port_fd, PollFlags::POLLIN),
        PollFd::new(bell.fd(), PollFlags::POLLIN),
    ];
    match crate::wait::poll(&mut fds, timeout) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => {}
        Err(e) => return Err(e.into()),
    }
    if fds[1].revents().is_some_and(|r| !r.is_empty()) {
        bell.drain();
    }
    Ok(fds[0].revents().is_some_and(|r| !r.is_empty()))
}

/// Reads what the port has once [`wait`] said so: straight from the descriptor, since `wait`
/// already polled it and serialport's own `read` would poll it again, a second system call on
/// every answer from the printer.
#[cfg(unix)]
pub(super) fn read(port: &mut NativePort, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // The descriptor is blocking (raw mode, `VMIN` 1) and this thread its only reader, so after
    // `wait` saw input, or a hang-up that makes the read fail, this returns at once.
    Ok(nix::unistd::read(port.as_raw_fd(), buf)?)
}

#[cfg(not(unix))]
pub(super) fn read(port: &mut NativePort, buf: &mut [u8]) -> io::Result<usize> {
    use std::io::Read as _;
    port.read(buf)
}

/// Without a pollable pair the read itself waits, briefly, so commands are seen promptly.
#[cfg(not(unix))]
pub(super) fn wait(port: &mut NativePort, _bell: &Doorbell, timeout: Duration) -> io::Result<bool> {
    use serialport::SerialPort as _;
    const COMMAND_POLL: Duration = Duration::from_millis(10);
    port.set_timeout(timeout.clamp(Duration::from_millis(1), COMMAND_POLL))?;
    Ok(true)
}

/// Linux's `ASYNC_LOW_LATENCY` serial flag. USB-serial bridges such as FTDI's hold received
/// bytes for a latency timer (16 ms by default) before passing them on; with the flag the
/// kernel driver sets that timer to 1 ms. One line in flight waits for every `ok`, so the
/// default timer alone would cap such a printer at about 60 lines per second.
#[cfg(target_os = "linux")]
pub(crate) mod low_latency {
    use std::io;
    use std::os::fd::RawFd;

    use libc::{c_char, c_int, c_uchar, c_uint, c_ulong, c_ushort};

    /// `ASYNC_LOW_LATENCY` in `<linux/tty_flags.h>`; a flag any user may change.
    const ASYNC_LOW_LATENCY: c_int = 1 << 13;

    /// `struct serial_struct` from `<linux/serial.h>`.
    #[repr(C)]
    struct SerialStruct {
        kind: c_int,
        line: c_int,
        port: c_uint,
        irq: c_int,
        flags: c_int,
        xmit_fifo_size: c_int,
        custom_divisor: c_int,
        baud_base: c_int,
        close_delay: c_ushort,
        io_type: c_char,
        reserved_char: [c_char; 1],
        hub6: c_int,
        closing_wait: c_ushort,
        closing_wait2: c_ushort,
        iomem_base: *mut c_uchar,
        iomem_reg_shift: c_ushort,
        port_high: c_uint,
        iomap_base: c_ulong,
    }

    /// Sets the flag on the open tty `fd`. `Ok(false)`: it was already set. An error means the
    /// device has no such setting (a pty, many CDC-ACM boards), which costs nothing.
    pub fn enable(fd: RawFd) -> io::Result<bool> {
        // SAFETY: all-zero is a valid `serial_struct` (integers and a null pointer), and the
        // kernel fills it completely on success.
        let mut serial: SerialStruct = unsafe { std::mem::zeroed() };
        // SAFETY: `TIOCGSERIAL` writes one `serial_struct` through the pointer, which points to
        // one that lives for the whole call.
        if unsafe { libc::ioctl(fd, libc::TIOCGSERIAL, &mut serial as *mut SerialStruct) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if serial.flags & ASYNC_LOW_LATENCY != 0 {
            return Ok(false);
        }
        serial.flags |= ASYNC_LOW_LATENCY;
        // SAFETY: `TIOCSSERIAL` only reads one `serial_struct` through the pointer.
        if unsafe { libc::ioctl(fd, libc::TIOCSSERIAL, &serial as *const SerialStruct) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(true)
    }

    #[cfg(test)]
    mod tests {
        use std::os::fd::AsRawFd;

        use super::*;

        #[test]
        fn a_pty_has_no_latency_setting_and_says_so() {
            let pty = nix::pty::openpty(None, None).expect("openpty");
            let err = enable(pty.slave.as_raw_fd()).expect_err("a pty has no serial_struct");
            assert!(
                matches!(err.raw_os_error(), Some(libc::ENOTTY | libc::EINVAL)),
                "{err}"
            );
        }

        #[test]
        fn a_file_that_is_no_tty_is_refused() {
            let file = tempfile::tempfile().expect("tempfile");
            assert!(enable(file.as_raw_fd()).is_err());
        }
    }
}
