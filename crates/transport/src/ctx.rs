//! The context: I/O threads, the inproc name registry, and termination.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::error::{Errno, ZResult};
use crate::io_thread::{IoCommand, IoThreadHandle};
use crate::mailbox::{DeferredNotify, PeerInfo, SocketCommand, SocketMailbox};
use crate::pipe::Pipe;

/// ZMQ_MAX_SOCKETS default.
pub const DEFAULT_MAX_SOCKETS: usize = 1023;

/// A socket bound to an inproc name.
pub(crate) struct InprocBinding {
    pub(crate) mailbox: Arc<SocketMailbox>,
    pub(crate) socket_id: u64,
    pub(crate) sndhwm: i32,
    pub(crate) rcvhwm: i32,
    pub(crate) routing_id: bytes::Bytes,
}

/// An inproc connect waiting for its bind: the binder's end of the pipe, already created.
pub(crate) struct PendingInproc {
    pub(crate) pipe: Pipe,
    pub(crate) notify: Arc<DeferredNotify>,
    pub(crate) peer: PeerInfo,
    pub(crate) connecter_id: u64,
}

#[derive(Default)]
pub(crate) struct InprocRegistry {
    pub(crate) bound: HashMap<String, InprocBinding>,
    pub(crate) pending: HashMap<String, Vec<PendingInproc>>,
}

pub(crate) struct CtxInner {
    io_thread_count: AtomicUsize,
    max_sockets: AtomicUsize,
    io_threads: Mutex<Option<Vec<IoThreadHandle>>>,
    sockets: Mutex<HashMap<u64, Arc<SocketMailbox>>>,
    sockets_changed: Condvar,
    pub(crate) inproc: Mutex<InprocRegistry>,
    terminating: AtomicBool,
    terminated: AtomicBool,
    next_io: AtomicUsize,
}

/// A context. Cheap to clone; every clone is the same context.
#[derive(Clone)]
pub struct Ctx {
    pub(crate) inner: Arc<CtxInner>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").finish_non_exhaustive()
    }
}

impl Default for Ctx {
    fn default() -> Self {
        Self::new()
    }
}

/// Allocates process-unique ids for sockets, listeners and sessions.
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Ctx {
    /// A new context; its I/O threads start with its first socket.
    pub fn new() -> Ctx {
        Ctx {
            inner: Arc::new(CtxInner {
                io_thread_count: AtomicUsize::new(1),
                max_sockets: AtomicUsize::new(DEFAULT_MAX_SOCKETS),
                io_threads: Mutex::new(None),
                sockets: Mutex::new(HashMap::new()),
                sockets_changed: Condvar::new(),
                inproc: Mutex::new(InprocRegistry::default()),
                terminating: AtomicBool::new(false),
                terminated: AtomicBool::new(false),
                next_io: AtomicUsize::new(0),
            }),
        }
    }

    /// ZMQ_IO_THREADS.
    pub fn io_threads(&self) -> usize {
        self.inner.io_thread_count.load(Ordering::Relaxed)
    }

    /// Sets ZMQ_IO_THREADS; takes effect if no socket has been created yet (as libzmq).
    pub fn set_io_threads(&self, count: usize) -> ZResult<()> {
        self.inner.io_thread_count.store(count, Ordering::Relaxed);
        Ok(())
    }

    /// ZMQ_MAX_SOCKETS.
    pub fn max_sockets(&self) -> usize {
        self.inner.max_sockets.load(Ordering::Relaxed)
    }

    /// Sets ZMQ_MAX_SOCKETS.
    pub fn set_max_sockets(&self, count: usize) -> ZResult<()> {
        if count == 0 {
            return Err(Errno::EINVAL);
        }
        self.inner.max_sockets.store(count, Ordering::Relaxed);
        Ok(())
    }

    /// Whether termination has begun.
    pub fn is_terminating(&self) -> bool {
        self.inner.terminating.load(Ordering::Acquire)
    }

    /// Registers a new socket, starting the I/O threads on first use.
    pub(crate) fn register_socket(&self, id: u64, mailbox: Arc<SocketMailbox>) -> ZResult<()> {
        if self.is_terminating() {
            return Err(Errno::ETERM);
        }
        {
            let mut threads = self.inner.io_threads.lock();
            if threads.is_none() {
                let count = self.io_threads().max(1);
                let mut started = Vec::with_capacity(count);
                for index in 0..count {
                    started.push(
                        IoThreadHandle::spawn(index, Arc::downgrade(&self.inner)).map_err(|e| Errno::from_io(&e))?,
                    );
                }
                *threads = Some(started);
            }
        }
        let mut sockets = self.inner.sockets.lock();
        if sockets.len() >= self.max_sockets() {
            return Err(Errno::EMFILE);
        }
        sockets.insert(id, mailbox);
        Ok(())
    }

    /// Forgets a closed socket.
    pub(crate) fn unregister_socket(&self, id: u64) {
        self.inner.sockets.lock().remove(&id);
        self.inner.sockets_changed.notify_all();
    }

    /// Picks an I/O thread for a new listener or session (round robin) and runs `f` on it.
    pub(crate) fn with_io_thread<R>(&self, f: impl FnOnce(usize, &IoThreadHandle) -> R) -> R {
        let threads = self.inner.io_threads.lock();
        let threads = threads.as_ref().expect("I/O threads start with the first socket");
        let index = self.inner.next_io.fetch_add(1, Ordering::Relaxed) % threads.len();
        f(index, &threads[index])
    }

    /// Sends a command to one I/O thread.
    pub(crate) fn send_to_io_thread(&self, index: usize, command: IoCommand) {
        if let Some(threads) = self.inner.io_threads.lock().as_ref() {
            if let Some(thread) = threads.get(index) {
                thread.send(command);
            }
        }
    }

    /// Sends a command to every I/O thread.
    pub(crate) fn broadcast_io(&self, make: impl Fn() -> IoCommand) {
        if let Some(threads) = self.inner.io_threads.lock().as_ref() {
            for thread in threads {
                thread.send(make());
            }
        }
    }

    /// zmq_ctx_term: makes every blocking call on the context's sockets return ETERM, waits
    /// until all sockets are closed, lets sessions finish lingering, and joins the I/O
    /// threads. Idempotent.
    pub fn terminate(&self) {
        if self.inner.terminating.swap(true, Ordering::AcqRel) {
            // Another caller terminates; wait for it to finish.
            let mut sockets = self.inner.sockets.lock();
            while !self.inner.terminated.load(Ordering::Acquire) {
                self.inner.sockets_changed.wait_for(&mut sockets, std::time::Duration::from_millis(10));
            }
            return;
        }
        {
            let mut sockets = self.inner.sockets.lock();
            for mailbox in sockets.values() {
                mailbox.send(SocketCommand::Stop);
            }
            while !sockets.is_empty() {
                self.inner.sockets_changed.wait(&mut sockets);
            }
        }
        // Pending inproc connects whose bind never came are dropped with the registry.
        *self.inner.inproc.lock() = InprocRegistry::default();
        let threads = self.inner.io_threads.lock().take();
        for mut thread in threads.into_iter().flatten() {
            thread.stop_and_join();
        }
        self.inner.terminated.store(true, Ordering::Release);
        self.inner.sockets_changed.notify_all();
    }
}
