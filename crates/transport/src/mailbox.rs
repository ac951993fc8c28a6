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
    /// ZMQ_PROBE_ROUTER's empty message is already in the pipe (written by the I/O thread
    /// that made the pipe, so that it leaves at once even while the socket is idle).
    pub probed: bool,
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

/// libzmq's socket monitor events (ZMQ_EVENT_*).
pub mod events {
    /// A connection to a peer was established (value: fd).
    pub const CONNECTED: u16 = 0x0001;
    /// A connect is in progress (value: errno, EINPROGRESS).
    pub const CONNECT_DELAYED: u16 = 0x0002;
    /// A reconnect is scheduled (value: the interval in ms).
    pub const CONNECT_RETRIED: u16 = 0x0004;
    /// The socket listens (value: fd).
    pub const LISTENING: u16 = 0x0008;
    /// A bind failed (value: errno).
    pub const BIND_FAILED: u16 = 0x0010;
    /// A connection was accepted (value: fd).
    pub const ACCEPTED: u16 = 0x0020;
    /// An accept failed (value: errno).
    pub const ACCEPT_FAILED: u16 = 0x0040;
    /// A listener was closed (value: fd).
    pub const CLOSED: u16 = 0x0080;
    /// Closing failed (value: errno).
    pub const CLOSE_FAILED: u16 = 0x0100;
    /// A connection ended (value: fd).
    pub const DISCONNECTED: u16 = 0x0200;
    /// The monitor stopped.
    pub const MONITOR_STOPPED: u16 = 0x0400;
    /// The handshake failed without a protocol reason (value: errno).
    pub const HANDSHAKE_FAILED_NO_DETAIL: u16 = 0x0800;
    /// The handshake completed (value: 0).
    pub const HANDSHAKE_SUCCEEDED: u16 = 0x1000;
    /// The handshake failed on a protocol error (value: a ZMQ_PROTOCOL_ERROR_* code).
    pub const HANDSHAKE_FAILED_PROTOCOL: u16 = 0x2000;
    /// The handshake failed on authentication (value: the ZAP status code).
    pub const HANDSHAKE_FAILED_AUTH: u16 = 0x4000;
}

/// Where a monitored socket's events go: a PAIR socket bound to the monitor endpoint.
struct Monitor {
    socket: crate::SocketBase,
    mask: u16,
}

/// The sending side of a socket's mailbox, shared by everything that talks to the socket.
pub struct SocketMailbox {
    tx: Sender<SocketCommand>,
    signaler: Signaler,
    /// libzmq emits monitor events straight from the I/O threads; so do we, under this lock
    /// (taken only when an event happens, never per message).
    monitor: parking_lot::Mutex<Option<Monitor>>,
    /// ZMQ_CONFLATE as the socket has it now (sessions read it; it may be set after bind).
    conflate: AtomicBool,
}

impl std::fmt::Debug for SocketMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketMailbox").finish_non_exhaustive()
    }
}

impl SocketMailbox {
    /// A new mailbox and its receiving side.
    pub fn new() -> std::io::Result<(Arc<SocketMailbox>, Receiver<SocketCommand>)> {
        let (tx, rx) = crossbeam_channel::unbounded();
        Ok((
            Arc::new(SocketMailbox {
                tx,
                signaler: Signaler::new()?,
                monitor: parking_lot::Mutex::new(None),
                conflate: AtomicBool::new(false),
            }),
            rx,
        ))
    }

    /// Starts sending the events in `mask` to `socket` (a PAIR bound to the monitor
    /// endpoint), replacing any previous monitor (which gets MONITOR_STOPPED).
    pub(crate) fn set_monitor(&self, socket: Option<crate::SocketBase>, mask: u16) {
        let previous = std::mem::replace(&mut *self.monitor.lock(), socket.map(|socket| Monitor { socket, mask }));
        if let Some(mut previous) = previous {
            send_event(&mut previous, events::MONITOR_STOPPED, 0, "");
        }
    }

    /// Whether the socket conflates its inbound messages.
    pub fn conflate(&self) -> bool {
        self.conflate.load(Ordering::Relaxed)
    }

    /// Sets ZMQ_CONFLATE for the socket's sessions.
    pub fn set_conflate(&self, conflate: bool) {
        self.conflate.store(conflate, Ordering::Relaxed);
    }

    /// Reports a monitor event, if a monitor wants it.
    pub fn event(&self, event: u16, value: u32, endpoint: &str) {
        let mut guard = self.monitor.lock();
        if let Some(monitor) = guard.as_mut() {
            if monitor.mask & event != 0 {
                send_event(monitor, event, value, endpoint);
            }
        }
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

/// libzmq 4.3's wire form: frame 1 = event (u16) + value (u32), native byte order; frame 2 =
/// the endpoint. Sent without blocking: a monitor nobody reads drops events at its HWM.
fn send_event(monitor: &mut Monitor, event: u16, value: u32, endpoint: &str) {
    let mut head = [0u8; 6];
    head[..2].copy_from_slice(&event.to_ne_bytes());
    head[2..].copy_from_slice(&value.to_ne_bytes());
    let mut first = crate::Msg::from_bytes(bytes::Bytes::copy_from_slice(&head));
    first.set_more(true);
    if monitor.socket.send(first, crate::DONTWAIT | crate::SNDMORE).is_ok() {
        let second = crate::Msg::from_bytes(bytes::Bytes::copy_from_slice(endpoint.as_bytes()));
        let _ = monitor.socket.send(second, crate::DONTWAIT);
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
