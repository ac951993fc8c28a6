//! The OS-level wake-up a socket sleeps on: an eventfd that becomes readable when the socket's
//! mailbox has work. It is what `poll()` and ZMQ_FD expose, so a socket can be waited on
//! together with other file descriptors.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// An eventfd with a "signalled" flag so that only the first of many signals costs a syscall,
/// and none when nobody sleeps on the fd.
///
/// The eventfd is written only while the owner sleeps in [`Signaler::wait`] or once the fd
/// has been handed out ([`Signaler::expose`]: ZMQ_FD, `zmq::poll`). A socket whose blocking
/// call catches the signal while spinning on the flag therefore costs neither the writer's
/// `write` nor its own `read`: in a stream whose reader keeps running dry, that pair of system
/// calls per wake-up was the largest cost of making the reader faster.
///
/// Sleeping is a Dekker-style handshake, all sequentially consistent: the owner raises
/// `sleeping` and then looks at `pending`; a signaller raises `pending` and then looks at
/// `sleeping`. One of the two always sees the other's store, so either the owner does not
/// sleep or the signaller writes the fd.
#[derive(Debug)]
pub struct Signaler {
    fd: OwnedFd,
    /// True from the first `signal()` until the owner calls `reset()`.
    pending: AtomicBool,
    /// The owner is in (or about to enter) `poll(2)` on the fd.
    sleeping: AtomicBool,
    /// The fd has been given out: every signal makes it readable, as before this optimisation.
    exposed: AtomicBool,
    /// A signaller has written (or is about to write) the fd since the last reset.
    written: AtomicBool,
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
        Ok(Signaler {
            fd,
            pending: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            exposed: AtomicBool::new(false),
            written: AtomicBool::new(false),
        })
    }

    /// Marks work pending and makes the fd readable if anyone may be waiting on it.
    pub fn signal(&self) {
        if self.pending.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.sleeping.load(Ordering::SeqCst) || self.exposed.load(Ordering::SeqCst) {
            self.write_fd();
        }
    }

    /// The fd is given out (ZMQ_FD, `zmq::poll`): from now on every signal makes it readable.
    /// Called by the owner.
    pub fn expose(&self) {
        if self.exposed.swap(true, Ordering::SeqCst) {
            return;
        }
        // A signal that came before, while nobody slept, did not write the fd.
        if self.pending.load(Ordering::SeqCst) {
            self.write_fd();
        }
    }

    fn write_fd(&self) {
        if self.written.swap(true, Ordering::SeqCst) {
            return;
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own fd.
        let rc = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        // EAGAIN would mean the counter is saturated, i.e. already readable: fine.
        debug_assert!(rc == 8 || io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock);
    }

    /// Empties the fd and lowers `written`, so that the next signal writes it again. For
    /// readiness that no pending signal accounts for: a write that landed after the reset
    /// that consumed its signal (a signaller racing with the owner).
    fn drain_fd(&self) {
        self.written.store(false, Ordering::SeqCst);
        self.read_fd();
    }

    /// For an fd that has been handed out (ZMQ_FD, `zmq::poll`): clears readiness that no
    /// signal accounts for, before the owner looks at its mailbox (ZMQ_EVENTS). Without this,
    /// such a leftover write kept the fd readable, and a `zmq::poll` on an idle socket
    /// returned at once again and again, spinning until the next signal. A signal pending
    /// now stays pending (it is a flag; the owner looks at it after this).
    pub fn clear_exposed_fd(&self) {
        if self.exposed.load(Ordering::SeqCst) {
            self.drain_fd();
        }
    }

    fn read_fd(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our own fd.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    /// Clears the pending flag (and the fd, if it was written). The owner calls this *before*
    /// draining its mailbox, so a signal sent during the drain is not lost.
    pub fn reset(&self) {
        if !self.pending.swap(false, Ordering::SeqCst) {
            return;
        }
        if self.written.swap(false, Ordering::SeqCst) {
            // The writer may not have written yet (it marks `written` first): then its write
            // lands after this read, and `wait` clears that stale readiness when it meets it.
            self.read_fd();
        }
    }

    /// Whether a signal is pending.
    pub fn is_signalled(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Waits until a signal is pending or `timeout` passes (`None`: forever). Returns whether
    /// one is. Interrupted waits return `Ok(false)`.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<bool> {
        if self.is_signalled() {
            return Ok(true);
        }
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        self.sleeping.store(true, Ordering::SeqCst);
        let result = loop {
            if self.pending.load(Ordering::SeqCst) {
                break Ok(true);
            }
            let left = deadline.map(|at| at.saturating_duration_since(std::time::Instant::now()));
            let mut pfd = libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
            let ms =
                left.map_or(-1, |t| i32::try_from(t.as_millis().max(u128::from(!t.is_zero()))).unwrap_or(i32::MAX));
            // SAFETY: one valid pollfd, count 1.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let error = io::Error::last_os_error();
                break if error.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(error) };
            }
            if self.pending.load(Ordering::SeqCst) {
                break Ok(true);
            }
            if rc == 0 {
                break Ok(false);
            }
            // Readable with nothing pending: a write that landed after the reset that
            // consumed its signal. Clear it, and its `written` mark too: left raised, it
            // would make every later signal skip its write while we sleep (a lost wake-up).
            // A signal racing with this finds `sleeping` raised and writes again, or has
            // raised `pending` before, which the loop sees before it polls.
            self.drain_fd();
        };
        self.sleeping.store(false, Ordering::SeqCst);
        result
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

    /// Whether the fd is readable now.
    fn fd_readable(signaler: &Signaler) -> bool {
        let mut pfd = libc::pollfd { fd: signaler.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, count 1, no wait.
        unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
    }

    #[test]
    fn a_signal_nobody_sleeps_on_leaves_the_fd_alone() {
        let signaler = Signaler::new().unwrap();
        signaler.signal();
        assert!(signaler.is_signalled());
        assert!(!fd_readable(&signaler), "no write(2) while nobody sleeps");
        signaler.reset();
        assert!(!signaler.is_signalled());
    }

    #[test]
    fn an_exposed_fd_shows_every_signal_including_an_earlier_one() {
        let signaler = Signaler::new().unwrap();
        signaler.signal();
        signaler.expose();
        assert!(fd_readable(&signaler), "the signal from before the fd was handed out");
        signaler.reset();
        assert!(!fd_readable(&signaler));
        signaler.signal();
        assert!(fd_readable(&signaler));
        signaler.reset();
        assert!(!fd_readable(&signaler));
    }

    #[test]
    fn a_signal_after_a_late_write_still_wakes_the_sleeper() {
        // The race that hung a tcp stream (both processes asleep, 280 KB unread): a signaller
        // raises `pending` and sees the owner about to sleep; the owner sees `pending` first,
        // resets (nothing written yet) and goes on; only then does the signaller mark
        // `written` and write. That write is stale, and once the owner has cleared it, the
        // next signal must write again.
        let signaler = Arc::new(Signaler::new().unwrap());
        signaler.signal();
        signaler.reset();
        signaler.write_fd();
        assert!(!signaler.wait(Some(Duration::from_millis(20))).unwrap(), "the stale write is not a signal");
        let signaller = {
            let signaler = Arc::clone(&signaler);
            std::thread::spawn(move || {
                while !signaler.sleeping.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                signaler.signal();
            })
        };
        let started = std::time::Instant::now();
        assert!(signaler.wait(Some(Duration::from_secs(5))).unwrap(), "woken by the signal");
        assert!(started.elapsed() < Duration::from_secs(4), "woken by the signal, not the timeout");
        signaller.join().unwrap();
    }

    #[test]
    fn an_exposed_fd_left_readable_by_a_late_write_is_cleared_before_a_look() {
        let signaler = Signaler::new().unwrap();
        signaler.expose();
        signaler.signal();
        signaler.reset();
        // The write of a signal that the reset above already consumed.
        signaler.write_fd();
        assert!(fd_readable(&signaler) && !signaler.is_signalled());
        signaler.clear_exposed_fd();
        assert!(!fd_readable(&signaler), "a poll on the fd now sleeps");
        signaler.signal();
        assert!(fd_readable(&signaler), "and the next signal wakes it");
        signaler.clear_exposed_fd();
        assert!(signaler.is_signalled(), "clearing the fd leaves a pending signal pending");
        let hidden = Signaler::new().unwrap();
        hidden.write_fd();
        hidden.clear_exposed_fd();
        assert!(fd_readable(&hidden), "an fd nobody was given is left to `wait`");
    }

    #[test]
    fn waiting_clears_a_stale_readable_fd() {
        let signaler = Signaler::new().unwrap();
        // A write whose signal was already consumed (the writer wrote after the reset).
        signaler.write_fd();
        assert!(fd_readable(&signaler));
        assert!(!signaler.wait(Some(Duration::from_millis(20))).unwrap(), "nothing pending");
        assert!(!fd_readable(&signaler), "cleared, so the next wait sleeps");
        assert!(!signaler.written.load(Ordering::SeqCst), "and the next signal writes again");
    }

    /// Two threads bounce a token through two signalers; each sometimes finds the signal
    /// already there and sometimes sleeps for it. A lost wake-up fails the bounded wait.
    #[test]
    fn ping_pong_never_loses_a_wake_up() {
        const ROUNDS: usize = 20_000;
        let a = Arc::new(Signaler::new().unwrap());
        let b = Arc::new(Signaler::new().unwrap());
        let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
        let peer = std::thread::spawn(move || {
            for round in 0..ROUNDS {
                assert!(b2.wait(Some(Duration::from_secs(5))).unwrap(), "peer asleep at round {round}");
                b2.reset();
                a2.signal();
            }
        });
        for round in 0..ROUNDS {
            b.signal();
            assert!(a.wait(Some(Duration::from_secs(5))).unwrap(), "owner asleep at round {round}");
            a.reset();
        }
        peer.join().unwrap();
    }

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
