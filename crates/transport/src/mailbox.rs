//! Mailboxes: how I/O threads and peers talk to a socket, and how sockets talk to an I/O
//! thread. A socket's mailbox is a [`CommandQueue`] plus a [`Signaler`] (an fd `poll()` can
//! wait on); an I/O thread's is a command queue plus a `mio::Waker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

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

/// Room for pipe events in a socket's queue: a socket rarely has more than a few pipes
/// signalling at once (a pipe signals again only after its reader has seen it empty).
const SOCKET_EVENT_SLOTS: usize = 64;

/// Room for pipe events in an I/O thread's queue (it serves every session of its sockets).
const IO_THREAD_EVENT_SLOTS: usize = 512;

/// The sending side of a mailbox's queue. Pipe events ("look at pipe N again"), nearly all of
/// a stream's commands once its reader keeps running dry, go through a preallocated ring, so
/// delivering one allocates nothing (an unbounded crossbeam channel allocates a block per 31
/// commands). Every other command, and an event that finds the ring full, goes through an
/// unbounded list. Events only ask for a pipe's state to be looked at again, so one that
/// overflows into the list, out of order with the ring, means the same thing.
pub struct CommandQueue<C> {
    events: Sender<PipeId>,
    commands: Sender<C>,
    /// Turns an overflowing event into a command for the list.
    wrap_pipe_event: fn(PipeId) -> C,
}

/// The receiving side of a [`CommandQueue`].
pub struct CommandReceiver<C> {
    events: Receiver<PipeId>,
    commands: Receiver<C>,
    wrap_pipe_event: fn(PipeId) -> C,
}

impl<C> std::fmt::Debug for CommandReceiver<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandReceiver").finish_non_exhaustive()
    }
}

/// A queue whose ring holds `event_slots` pipe events; `wrap_pipe_event` turns a ring entry
/// into the receiver's command type.
fn command_queue<C>(event_slots: usize, wrap_pipe_event: fn(PipeId) -> C) -> (CommandQueue<C>, CommandReceiver<C>) {
    let (events_tx, events) = crossbeam_channel::bounded(event_slots);
    let (commands_tx, commands) = crossbeam_channel::unbounded();
    (
        CommandQueue { events: events_tx, commands: commands_tx, wrap_pipe_event },
        CommandReceiver { events, commands, wrap_pipe_event },
    )
}

impl<C> CommandQueue<C> {
    /// Queues a command. `false` if the receiver is gone.
    fn send(&self, command: C) -> bool {
        self.commands.send(command).is_ok()
    }

    /// Queues a pipe event, in the ring when it has room. `false` if the receiver is gone.
    fn send_pipe_event(&self, id: PipeId) -> bool {
        match self.events.try_send(id) {
            Ok(()) => true,
            Err(TrySendError::Full(id)) => self.send((self.wrap_pipe_event)(id)),
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

impl<C> CommandReceiver<C> {
    /// Whether no command is waiting.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty() && self.events.is_empty()
    }

    /// The next command, if any. Other commands come before ring events: a new pipe's Attach
    /// is then handled before the events its first messages raised (which a socket that does
    /// not know the pipe yet would ignore; attaching looks at the pipe anyway).
    pub fn try_recv(&self) -> Option<C> {
        self.commands.try_recv().ok().or_else(|| self.events.try_recv().ok().map(self.wrap_pipe_event))
    }
}

/// The sending side of a socket's mailbox, shared by everything that talks to the socket.
pub struct SocketMailbox {
    queue: CommandQueue<SocketCommand>,
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
    pub fn new() -> std::io::Result<(Arc<SocketMailbox>, CommandReceiver<SocketCommand>)> {
        let (queue, rx) = command_queue(SOCKET_EVENT_SLOTS, SocketCommand::PipeEvent);
        Ok((
            Arc::new(SocketMailbox {
                queue,
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
        if self.queue.send(command) {
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
        if self.queue.send_pipe_event(id) {
            self.signaler.signal();
        }
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
    queue: CommandQueue<C>,
    waker: mio::Waker,
    /// Set by senders, cleared by the I/O thread before it drains: one wake per batch.
    woken: AtomicBool,
}

impl<C> std::fmt::Debug for IoMailbox<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoMailbox").finish_non_exhaustive()
    }
}

impl<C: Send> IoMailbox<C> {
    /// A mailbox that wakes `waker`'s poll.
    pub fn new(waker: mio::Waker, wrap_pipe_event: fn(PipeId) -> C) -> (Arc<IoMailbox<C>>, CommandReceiver<C>) {
        let (queue, rx) = command_queue(IO_THREAD_EVENT_SLOTS, wrap_pipe_event);
        (Arc::new(IoMailbox { queue, waker, woken: AtomicBool::new(false) }), rx)
    }

    /// Queues a command and wakes the I/O thread if it may be asleep.
    pub fn send(&self, command: C) {
        if self.queue.send(command) {
            self.wake();
        }
    }

    fn wake(&self) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }

    /// Senders skip the wake-up until [`release_wakeups`](Self::release_wakeups): the I/O
    /// thread is looking at its queue itself.
    pub fn hold_wakeups(&self) {
        self.woken.store(true, Ordering::SeqCst);
    }

    /// Ends [`hold_wakeups`](Self::hold_wakeups); the caller must look at the queue again
    /// before sleeping.
    pub fn release_wakeups(&self) {
        self.woken.swap(false, Ordering::SeqCst);
    }

    /// Called by the I/O thread before draining its channel.
    ///
    /// A read-modify-write, not a store: a sender that queued a command and then found
    /// `woken` still raised skips its wake-up, so the drain after this must see that command.
    /// Reading the sender's swap (acquire) makes its queueing visible to the drain; a plain
    /// store could be overtaken by the drain's loads (x86 lets loads pass an earlier store),
    /// and the command would sit unseen while this thread slept.
    pub fn clear_woken(&self) {
        self.woken.swap(false, Ordering::AcqRel);
    }
}

impl<C: Send> Notify for IoMailbox<C> {
    fn pipe_event(&self, id: PipeId) {
        if self.queue.send_pipe_event(id) {
            self.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Command {
        Event(PipeId),
        Other(u32),
    }

    #[test]
    fn events_beyond_the_ring_overflow_and_other_commands_come_first() {
        let (queue, rx) = command_queue(4, Command::Event);
        for id in 0..6 {
            assert!(queue.send_pipe_event(id));
        }
        assert!(queue.send(Command::Other(7)));
        let received: Vec<Command> = std::iter::from_fn(|| rx.try_recv()).collect();
        // The list (two overflowing events, then the command) before the ring's four.
        let expected = [Command::Event(4), Command::Event(5), Command::Other(7)]
            .into_iter()
            .chain((0..4).map(Command::Event))
            .collect::<Vec<_>>();
        assert_eq!(received, expected);
        // The ring is reusable once drained.
        assert!(queue.send_pipe_event(9));
        assert_eq!(rx.try_recv(), Some(Command::Event(9)));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn held_wakeups_skip_the_waker_and_released_ones_do_not() {
        let mut poll = mio::Poll::new().unwrap();
        let waker = mio::Waker::new(poll.registry(), mio::Token(0)).unwrap();
        let (mailbox, rx) = IoMailbox::new(waker, Command::Event);
        let mut events = mio::Events::with_capacity(4);
        let woke = |poll: &mut mio::Poll, events: &mut mio::Events| {
            poll.poll(events, Some(std::time::Duration::ZERO)).unwrap();
            !events.is_empty()
        };
        assert!(rx.is_empty());
        // The I/O thread looks at its queue itself: a command costs the sender no wake-up.
        mailbox.hold_wakeups();
        mailbox.pipe_event(1);
        assert!(!woke(&mut poll, &mut events), "held: the waker was not written");
        mailbox.release_wakeups();
        assert!(!rx.is_empty(), "what came while held is in the queue, for the check after release");
        assert_eq!(rx.try_recv(), Some(Command::Event(1)));
        // Released: the next command wakes the poll again.
        mailbox.send(Command::Other(2));
        assert!(woke(&mut poll, &mut events), "released: the waker was written");
        mailbox.clear_woken();
        assert_eq!(rx.try_recv(), Some(Command::Other(2)));
    }

    #[test]
    fn sending_to_a_dropped_receiver_reports_it() {
        let (queue, rx) = command_queue(2, Command::Event);
        drop(rx);
        assert!(!queue.send_pipe_event(1));
        assert!(!queue.send(Command::Other(1)));
    }

    /// Producers on several threads, many events overflowing the ring into the list, the
    /// consumer sleeping on the signaler between drains (reset before draining, as a socket
    /// does): every event arrives exactly once, and the consumer is never left asleep while
    /// events are still to come (the bounded wait fails the test).
    #[test]
    fn concurrent_events_all_arrive_once_and_wake_the_reader() {
        const PRODUCERS: u64 = 4;
        const EACH: u64 = 20_000;
        let (mailbox, rx) = SocketMailbox::new().unwrap();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let mailbox = Arc::clone(&mailbox);
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        mailbox.pipe_event(p * EACH + i);
                        if i % 1000 == 0 {
                            mailbox.send(SocketCommand::Hiccup(u64::MAX));
                        }
                    }
                })
            })
            .collect();
        let mut seen = vec![false; (PRODUCERS * EACH) as usize];
        let mut received = 0;
        while received < PRODUCERS * EACH {
            let woken = mailbox.signaler().wait(Some(std::time::Duration::from_secs(5))).unwrap();
            assert!(woken, "asleep with {} events still to come", PRODUCERS * EACH - received);
            mailbox.signaler().reset();
            while let Some(command) = rx.try_recv() {
                if let SocketCommand::PipeEvent(id) = command {
                    assert!(!std::mem::replace(&mut seen[id as usize], true), "event {id} twice");
                    received += 1;
                }
            }
        }
        for producer in producers {
            producer.join().unwrap();
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn an_event_that_overflows_the_ring_signals_too() {
        let (mailbox, rx) = SocketMailbox::new().unwrap();
        for id in 0..SOCKET_EVENT_SLOTS as PipeId {
            mailbox.pipe_event(id);
        }
        // The socket saw the signal but has not drained yet.
        mailbox.signaler().reset();
        mailbox.pipe_event(1000);
        assert!(mailbox.signaler().is_signalled(), "the overflowing event woke the socket");
        assert_eq!(std::iter::from_fn(|| rx.try_recv()).count(), SOCKET_EVENT_SLOTS + 1);
    }

    #[test]
    fn a_pipe_event_signals_the_socket_once() {
        let (mailbox, rx) = SocketMailbox::new().unwrap();
        mailbox.pipe_event(3);
        mailbox.pipe_event(4);
        assert!(mailbox.signaler().is_signalled());
        mailbox.signaler().reset();
        let ids: Vec<PipeId> = std::iter::from_fn(|| match rx.try_recv() {
            Some(SocketCommand::PipeEvent(id)) => Some(id),
            _ => None,
        })
        .collect();
        assert_eq!(ids, [3, 4]);
        assert!(!mailbox.signaler().is_signalled());
    }
}
