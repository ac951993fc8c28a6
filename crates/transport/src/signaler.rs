//! The OS-level wake-up a socket sleeps on: an eventfd that becomes readable when the socket's
//! mailbox has work. It is what `poll()` and ZMQ_FD expose, so a socket can be waited on
//! together with other file descriptors.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// An eventfd with a "signalled" flag so that only the first of many signals costs a syscall.
#[derive(Debug)]
pub struct Signaler {
    fd: OwnedFd,
    /// True from the first `signal()` until the owner calls `reset()`.
    pending: AtomicBool,
}

impl Signaler {
    /// Creates a non-blocking, close-on-exec eventfd.
    pub fn new() -> io::Result<Signaler> {
        // SAFETY: eventfd takes no pointers; on success it returns a new fd that we own.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid fd owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Signaler { fd, pending: AtomicBool::new(false) })
    }

    /// Makes the fd readable, unless it already is.
    pub fn signal(&self) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own fd.
        let rc = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        // EAGAIN would mean the counter is saturated, i.e. already readable: fine.
        debug_assert!(rc == 8 || io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock);
    }

    /// Makes the fd unreadable again. The owner calls this *before* draining its mailbox, so
    /// a signal sent during the drain is not lost.
    pub fn reset(&self) {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own fd.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    /// Whether a signal is pending.
    pub fn is_signalled(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Waits until the fd is readable or `timeout` passes (`None`: forever). Returns whether
    /// it became readable. Interrupted waits return `Ok(false)`.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<bool> {
        if self.is_signalled() {
            return Ok(true);
        }
        let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis().max(u128::from(!t.is_zero()))).unwrap_or(i32::MAX));
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let error = io::Error::last_os_error();
            return if error.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(error) };
        }
        Ok(rc > 0)
    }
}

impl AsRawFd for Signaler {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn signal_wakes_a_waiter_and_reset_clears() {
        let signaler = Arc::new(Signaler::new().unwrap());
        assert!(!signaler.wait(Some(Duration::from_millis(1))).unwrap());
        let other = Arc::clone(&signaler);
        let thread = std::thread::spawn(move || other.signal());
        assert!(signaler.wait(Some(Duration::from_secs(5))).unwrap());
        thread.join().unwrap();
        signaler.signal();
        signaler.reset();
        assert!(!signaler.is_signalled());
        assert!(!signaler.wait(Some(Duration::ZERO)).unwrap());
    }
}
