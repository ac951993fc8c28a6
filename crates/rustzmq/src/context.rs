//! `Context`: owns the I/O threads and the inproc namespace; sockets are made from it.

use std::sync::Arc;

use rustzmq_transport::{Ctx, SocketBase};

use crate::error::{Error, Result};
use crate::socket::Socket;
use crate::types::SocketType;

struct ContextInner {
    ctx: Ctx,
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        // The last handle (user clones and sockets alike) terminates, as zmq_ctx_term.
        self.ctx.terminate();
    }
}

/// A ZeroMQ context. Cheap to clone; clones share one context. Every socket keeps a clone, so
/// the context ends (waiting for lingering messages) when the last handle and socket are gone.
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl Context {
    /// A new context (ZMQ_IO_THREADS = 1). Threads start with the first socket.
    pub fn new() -> Context {
        Context { inner: Arc::new(ContextInner { ctx: Ctx::new() }) }
    }

    /// ZMQ_IO_THREADS.
    pub fn get_io_threads(&self) -> Result<i32> {
        Ok(i32::try_from(self.inner.ctx.io_threads()).unwrap_or(i32::MAX))
    }

    /// Sets ZMQ_IO_THREADS (before the first socket is created). Negative values are EINVAL.
    pub fn set_io_threads(&self, value: i32) -> Result<()> {
        let count = usize::try_from(value).map_err(|_| Error::EINVAL)?;
        self.inner.ctx.set_io_threads(count).map_err(Error::from)
    }

    /// ZMQ_MAX_SOCKETS: how many sockets the context allows at once (libzmq's default, 1023).
    /// An extra over the `zmq` crate 0.10, which exposes only the I/O thread count.
    pub fn get_max_sockets(&self) -> Result<i32> {
        Ok(i32::try_from(self.inner.ctx.max_sockets()).unwrap_or(i32::MAX))
    }

    /// Sets ZMQ_MAX_SOCKETS (`zmq_ctx_set`); values below 1 are EINVAL. Sockets already open
    /// stay open. An extra over the `zmq` crate 0.10.
    pub fn set_max_sockets(&self, value: i32) -> Result<()> {
        let count = usize::try_from(value).map_err(|_| Error::EINVAL)?;
        self.inner.ctx.set_max_sockets(count).map_err(Error::from)
    }

    /// Creates a socket of the given type.
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        if self.inner.ctx.is_terminating() {
            return Err(Error::EFAULT);
        }
        let kind = socket_type.kind();
        let pattern = rustzmq_patterns::for_kind(kind).ok_or(Error::ENOTSUP)?;
        let base = SocketBase::new(&self.inner.ctx, kind, pattern).map_err(Error::from)?;
        Ok(Socket::new(base, self.clone()))
    }

    /// Terminates the context now, even with other clones alive: blocking calls on its
    /// sockets in other threads fail with ETERM, and this waits until every socket is closed.
    pub fn destroy(&mut self) -> Result<()> {
        self.inner.ctx.terminate();
        Ok(())
    }
}

impl std::panic::UnwindSafe for Context {}
impl std::panic::RefUnwindSafe for Context {}
