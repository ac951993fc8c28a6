//! Mailboxes: how I/O threads and peers talk to a socket, and how sockets talk to an I/O
//! thread. A socket's mailbox is a channel plus a [`Signaler`] (an fd `poll()` can wait on);
//! an I/O thread's is a channel plus a `mio::Waker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::pipe::{Notify, Pipe, PipeId};
use crate::signaler::Signaler;

/// What a socket learns about a newly attached pipe's peer.
#[derive(Debug, Clone, Default)]
pub struct PeerInfo {
    /// The peer's routing id (its Identity property, or the one set by CONNECT_ROUTING_ID).
    pub routing_id: bytes::Bytes,
    /// The endpoint the connection belongs to (for unbind/disconnect bookkeeping).
    pub endpoint: String,
}

/// Commands a socket receives.
pub enum SocketCommand {
    /// Something changed on one of the socket's pipes.
    PipeEvent(PipeId),
    /// A new pipe to a peer: a connection completed its handshake, or an inproc peer connected.
    Attach(Box<(Pipe, PeerInfo)>),
    /// A connection behind an existing pipe was re-established (after a reconnect).
    Hiccup(PipeId),
    /// The context is terminating: blocked and future calls fail with ETERM.
    Stop,
}

impl std::fmt::Debug for SocketCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketCommand::PipeEvent(id) => write!(f, "PipeEvent({id})"),
            SocketCommand::Attach(attach) => write!(f, "Attach({})", attach.0.id()),
            SocketCommand::Hiccup(id) => write!(f, "Hiccup({id})"),
            SocketCommand::Stop => f.write_str("Stop"),
        }
    }
}

/// The sending side of a socket's mailbox, shared by everything that talks to the socket.
#[derive(Debug)]
pub struct SocketMailbox {
    tx: Sender<SocketCommand>,
    signaler: Signaler,
}

impl SocketMailbox {
    /// A new mailbox and its receiving side.
    pub fn new() -> std::io::Result<(Arc<SocketMailbox>, Receiver<SocketCommand>)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        Ok((Arc::new(SocketMailbox { tx, signaler: Signaler::new()? }), rx))
    }

    /// Queues a command and wakes the socket.
    pub fn send(&self, command: SocketCommand) {
        // The socket may be gone (its receiver dropped): then nobody cares.
        if self.tx.send(command).is_ok() {
            self.signaler.signal();
        }
    }

    /// The signaler the socket waits on.
    pub fn signaler(&self) -> &Signaler {
        &self.signaler
    }
}

impl Notify for SocketMailbox {
    fn pipe_event(&self, id: PipeId) {
        self.send(SocketCommand::PipeEvent(id));
    }
}

/// A [`Notify`] whose target is not known yet (an inproc connect before the bind). Events
/// before the target is set are dropped: the target checks every pipe when it is attached.
#[derive(Default)]
pub struct DeferredNotify {
    target: std::sync::OnceLock<Arc<dyn Notify>>,
}

impl DeferredNotify {
    /// Sets the target once.
    pub fn set(&self, target: Arc<dyn Notify>) {
        let _ = self.target.set(target);
    }
}

impl Notify for DeferredNotify {
    fn pipe_event(&self, id: PipeId) {
        if let Some(target) = self.target.get() {
            target.pipe_event(id);
        }
    }
}

/// The sending side of an I/O thread's mailbox.
pub struct IoMailbox<C> {
    tx: Sender<C>,
    waker: mio::Waker,
    /// Set by senders, cleared by the I/O thread before it drains: one wake per batch.
    woken: AtomicBool,
    wrap_pipe_event: fn(PipeId) -> C,
}

impl<C> std::fmt::Debug for IoMailbox<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoMailbox").finish_non_exhaustive()
    }
}

impl<C: Send> IoMailbox<C> {
    /// A mailbox that wakes `waker`'s poll.
    pub fn new(waker: mio::Waker, wrap_pipe_event: fn(PipeId) -> C) -> (Arc<IoMailbox<C>>, Receiver<C>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Arc::new(IoMailbox { tx, waker, woken: AtomicBool::new(false), wrap_pipe_event }), rx)
    }

    /// Queues a command and wakes the I/O thread if it may be asleep.
    pub fn send(&self, command: C) {
        if self.tx.send(command).is_ok() && !self.woken.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }

    /// Called by the I/O thread before draining its channel.
    pub fn clear_woken(&self) {
        self.woken.store(false, Ordering::Release);
    }
}

impl<C: Send> Notify for IoMailbox<C> {
    fn pipe_event(&self, id: PipeId) {
        self.send((self.wrap_pipe_event)(id));
    }
}
