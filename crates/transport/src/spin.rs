//! Who may spin: busy-waiting threads of this process are counted, and at most one fewer
//! than the CPUs may spin at once, so that a spinner never takes the last CPU from the
//! thread that would answer it. Shared by a socket's blocking wait (`SocketBase::wait`) and
//! an I/O thread waiting for a reply (`IoThread::await_reply`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Threads of this process spinning in a wait now (see [`SpinSlot`]).
pub(crate) static SPINNERS: AtomicUsize = AtomicUsize::new(0);

/// How many threads may spin at once: one fewer than the CPUs, so that spinning never takes
/// the last CPU from the threads that would answer (none on a single CPU). Measured with 4
/// SUB threads on 2 vCPUs (pub/sub fan-out, default HWM): unlimited spinning cost 7-11 % of
/// the throughput, one spinner nothing.
pub(crate) fn spin_limit() -> usize {
    // Unit tests run many sockets at once; they check the limit through `SpinSlot::claim`.
    if cfg!(test) {
        return usize::MAX;
    }
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| std::thread::available_parallelism().map_or(0, |n| n.get() - 1))
}

/// A thread's permission to spin, one of at most `limit` held at once; released on drop.
pub(crate) struct SpinSlot<'a>(&'a AtomicUsize);

impl<'a> SpinSlot<'a> {
    pub(crate) fn claim(spinners: &'a AtomicUsize, limit: usize) -> Option<SpinSlot<'a>> {
        if spinners.fetch_add(1, Ordering::Relaxed) < limit {
            Some(SpinSlot(spinners))
        } else {
            spinners.fetch_sub(1, Ordering::Relaxed);
            None
        }
    }
}

impl Drop for SpinSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_limit_threads_spin_at_once() {
        let spinners = AtomicUsize::new(0);
        let first = SpinSlot::claim(&spinners, 2).expect("first");
        let second = SpinSlot::claim(&spinners, 2).expect("second");
        assert!(SpinSlot::claim(&spinners, 2).is_none(), "a third is refused");
        assert_eq!(spinners.load(Ordering::Relaxed), 2, "a refused claim leaves no trace");
        drop(first);
        let third = SpinSlot::claim(&spinners, 2).expect("a released slot is free again");
        drop((second, third));
        assert_eq!(spinners.load(Ordering::Relaxed), 0);
        assert!(SpinSlot::claim(&spinners, 0).is_none(), "a single CPU never spins");
    }
}
