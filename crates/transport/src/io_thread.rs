//! An I/O thread: one `mio::Poll` loop owning listeners and sessions.
//!
//! The loop, top to bottom: wait for readiness or the next timer; handle each ready object;
//! drain the mailbox (commands from sockets and pipe events); fire due timers; leave when
//! told to stop and no session is still lingering.
//!
//! A *listener* accepts connections and makes a session for each. A *session* owns the
//! pipe to its socket and, while connected, an [`Engine`]; a session made by `connect`
//! outlives its connections and reconnects with RECONNECT_IVL backoff.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::engine::{Engine, EngineError};
use crate::mailbox::{events, CommandReceiver, IoMailbox, PeerInfo, SocketCommand, SocketMailbox};
use crate::net::{self, IpcAddress};
use crate::options::{Options, SocketKind};
use crate::pipe::{next_pipe_id, pipe_pair, Notify, Pipe, PipeId};
use crate::spin::{spin_limit, SpinSlot, SPINNERS};
use crate::stream::Stream;
use rustzmq_security::{HandshakeFailure, ZapRequest};

/// The inproc name a ZAP handler binds (RFC 27: `inproc://zeromq.zap.01`).
const ZAP_HANDLER_NAME: &str = "zeromq.zap.01";

/// Takes a complete ZAP reply off the session's ZAP pipe, if one has arrived.
fn read_zap_reply(session: &mut Session) -> Option<Vec<bytes::Bytes>> {
    let pipe = session.zap.as_mut()?;
    while let Some(msg) = pipe.read() {
        let more = msg.more();
        session.zap_frames.push(msg.into_bytes());
        if !more {
            return Some(std::mem::take(&mut session.zap_frames));
        }
    }
    None
}

const WAKER: Token = Token(usize::MAX);

/// Commands an I/O thread receives.
pub enum IoCommand {
    /// Something changed on a pipe owned by one of our sessions.
    PipeEvent(PipeId),
    /// Start accepting on a bound listener.
    AddListener(Box<ListenerSpec>),
    /// Start a connecting session.
    AddSession(Box<SessionSpec>),
    /// Close a listener (unbind or socket close) and the connections it accepted; the
    /// sender, if any, is told once the port or path is free again.
    CloseListener(u64, Option<crossbeam_channel::Sender<()>>),
    /// Close a connecting session (disconnect); the sender, if any, is told once it is gone
    /// (its pipe's closure is then already in the socket's mailbox).
    CloseSession(u64, Option<crossbeam_channel::Sender<()>>),
    /// A socket is closing: its sessions finish sending within `linger` ms (-1 = forever).
    SocketClosing {
        /// The socket.
        socket_id: u64,
        /// ZMQ_LINGER at close time.
        linger: i32,
    },
    /// Stop once every session has finished lingering.
    Stop,
}

/// What a listener needs.
pub struct ListenerSpec {
    /// Identifies the listener for [`IoCommand::CloseListener`].
    pub id: u64,
    /// The bound socket.
    pub listener: ListenerSocket,
    /// The owning socket.
    pub socket: Arc<SocketMailbox>,
    /// The owning socket's id.
    pub socket_id: u64,
    /// Options at bind time.
    pub options: Options,
    /// The endpoint as reported by ZMQ_LAST_ENDPOINT.
    pub endpoint: String,
}

/// A bound listening socket.
pub enum ListenerSocket {
    /// TCP.
    Tcp(mio::net::TcpListener),
    /// ipc, with the file to remove on close (and whether it is a wildcard's private dir).
    Unix(mio::net::UnixListener, Option<(PathBuf, bool)>),
}

/// Where a connecting session connects to.
#[derive(Debug, Clone)]
pub enum ConnectAddress {
    /// TCP.
    Tcp(SocketAddr),
    /// ipc.
    Ipc(IpcAddress),
}

/// What a connecting session needs.
pub struct SessionSpec {
    /// Identifies the session for [`IoCommand::CloseSession`].
    pub id: u64,
    /// The peer's address.
    pub address: ConnectAddress,
    /// The owning socket.
    pub socket: Arc<SocketMailbox>,
    /// The owning socket's id.
    pub socket_id: u64,
    /// Options at connect time.
    pub options: Options,
    /// The endpoint string.
    pub endpoint: String,
    /// The session's end of a pipe the socket already holds (not with ZMQ_IMMEDIATE).
    pub pipe: Option<Pipe>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Reconnect,
    Handshake,
    Linger,
    /// Time to send a PING (every HEARTBEAT_IVL).
    Heartbeat,
    /// A PING got no traffic back within HEARTBEAT_TIMEOUT.
    HeartbeatTimeout,
    /// The peer's TTL passed without traffic.
    HeartbeatTtl,
    /// A TCP connect took longer than ZMQ_CONNECT_TIMEOUT.
    ConnectTimeout,
}

/// The handle a context keeps to one I/O thread.
pub struct IoThreadHandle {
    mailbox: Arc<IoMailbox<IoCommand>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for IoThreadHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoThreadHandle").finish_non_exhaustive()
    }
}

impl IoThreadHandle {
    /// Starts an I/O thread.
    pub(crate) fn spawn(index: usize, ctx: std::sync::Weak<crate::ctx::CtxInner>) -> io::Result<IoThreadHandle> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        let (mailbox, rx) = IoMailbox::new(waker, IoCommand::PipeEvent);
        let thread_mailbox = Arc::clone(&mailbox);
        let thread = std::thread::Builder::new().name(format!("rustzmq-io-{index}")).spawn(move || {
            IoThread::new(poll, thread_mailbox, rx, ctx).run();
        })?;
        Ok(IoThreadHandle { mailbox, thread: Some(thread) })
    }

    /// The mailbox, which is also the [`Notify`] for pipes owned by this thread's sessions.
    pub fn mailbox(&self) -> &Arc<IoMailbox<IoCommand>> {
        &self.mailbox
    }

    /// Sends a command.
    pub fn send(&self, command: IoCommand) {
        self.mailbox.send(command);
    }

    /// Asks the thread to stop once its sessions have lingered, and waits for it.
    pub fn stop_and_join(&mut self) {
        self.mailbox.send(IoCommand::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Listener {
    socket: ListenerSocket,
    owner: Arc<SocketMailbox>,
    socket_id: u64,
    options: Options,
    endpoint: String,
}

struct Session {
    owner: Arc<SocketMailbox>,
    socket_id: u64,
    options: Options,
    endpoint: String,
    /// Where to reconnect to; `None` for sessions of accepted connections.
    address: Option<ConnectAddress>,
    /// The listener that accepted this connection.
    listener_id: Option<u64>,
    pipe: Option<Pipe>,
    engine: Option<Engine>,
    /// A TCP connect in progress.
    connecting: Option<mio::net::TcpStream>,
    reconnect_ivl: Duration,
    /// The socket has closed: finish sending, then end.
    socket_closed: bool,
    /// Handshakes completed so far (more than one: a reconnection).
    handshakes: u32,
    /// The pipe to the ZAP handler while a request is out, and the reply frames so far.
    zap: Option<Pipe>,
    zap_frames: Vec<bytes::Bytes>,
    /// `Engine::frames_received` when the last PING was sent / the peer's TTL was armed.
    ping_mark: u64,
    ttl_mark: u64,
    /// The socket made the pipe at connect time (it outlives connections); otherwise the
    /// session makes one per connection.
    pipe_given: bool,
    timer_generation: u64,
}

impl Session {
    fn new(
        owner: Arc<SocketMailbox>,
        socket_id: u64,
        options: Options,
        endpoint: String,
        address: Option<ConnectAddress>,
        listener_id: Option<u64>,
        pipe: Option<Pipe>,
    ) -> Session {
        let reconnect_ivl = Duration::from_millis(u64::try_from(options.reconnect_ivl).unwrap_or(0));
        let pipe_given = pipe.is_some();
        Session {
            owner,
            socket_id,
            options,
            endpoint,
            address,
            listener_id,
            pipe,
            engine: None,
            connecting: None,
            reconnect_ivl,
            socket_closed: false,
            handshakes: 0,
            zap: None,
            zap_frames: Vec::new(),
            ping_mark: 0,
            ttl_mark: 0,
            pipe_given,
            timer_generation: 0,
        }
    }
}

enum Object {
    Listener(Box<Listener>),
    Session(Box<Session>),
}

struct IoThread {
    poll: Poll,
    mailbox: Arc<IoMailbox<IoCommand>>,
    rx: CommandReceiver<IoCommand>,
    objects: HashMap<usize, Object>,
    /// Ids given by sockets (listener and session ids) to our tokens.
    by_id: HashMap<u64, usize>,
    /// Which session owns which pipe.
    pipes: HashMap<PipeId, usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u64, TimerKind)>>,
    next_token: usize,
    stopping: bool,
    /// Frames the engines received in this round of the loop (see [`REPLY_WAIT`]).
    frames_in_round: u64,
    /// The context, for the inproc registry (ZAP handlers live at `inproc://zeromq.zap.01`).
    ctx: std::sync::Weak<crate::ctx::CtxInner>,
}

/// How long an I/O thread that has just handed a socket a request waits for the answer
/// before sleeping in poll ([`IoThread::await_reply`]). On the 2-vCPU dev VM, where waking a
/// thread on the other CPU costs 25-29 us, tcp REQ/REP round trips went from 77-86 to 35 us
/// (p50); in the first experiment a wait of 50 us was no better than none, as both I/O
/// threads then kept the two CPUs from the applications (the spin slot now prevents that).
const REPLY_WAIT: Duration = Duration::from_micros(20);

/// At most this many frames received in a round make it a request-like round worth
/// [`REPLY_WAIT`]: a stream delivers far more per round, and must not pay for the wait
/// (tcp 16 B lost 7-18 % when every round waited).
const REPLY_WAIT_FRAMES: u64 = 8;

/// Whether a socket of this kind may answer what it receives on the same connection (the
/// rounds worth [`REPLY_WAIT`]). PULL, SUB, XSUB, PUSH, PUB and XPUB do not: a stream of
/// large messages to a PULL delivers only a few frames per round and would wait in vain.
fn answers(kind: SocketKind) -> bool {
    matches!(
        kind,
        SocketKind::Req
            | SocketKind::Rep
            | SocketKind::Dealer
            | SocketKind::Router
            | SocketKind::Pair
            | SocketKind::Stream
    )
}

/// Why a session should be removed after an event.
enum Outcome {
    Keep,
    Remove,
}

impl IoThread {
    fn new(
        poll: Poll,
        mailbox: Arc<IoMailbox<IoCommand>>,
        rx: CommandReceiver<IoCommand>,
        ctx: std::sync::Weak<crate::ctx::CtxInner>,
    ) -> IoThread {
        IoThread {
            poll,
            mailbox,
            rx,
            objects: HashMap::new(),
            by_id: HashMap::new(),
            pipes: HashMap::new(),
            timers: BinaryHeap::new(),
            next_token: 0,
            stopping: false,
            frames_in_round: 0,
            ctx,
        }
    }

    /// The socket bound as the ZAP handler, if any.
    fn zap_handler(&self) -> Option<Arc<SocketMailbox>> {
        let ctx = self.ctx.upgrade()?;
        let registry = ctx.inproc.lock();
        registry.bound.get(ZAP_HANDLER_NAME).map(|binding| Arc::clone(&binding.mailbox))
    }

    /// Sends a ZAP request to the handler over a new inproc pipe (as libzmq's session does);
    /// the reply comes back on that pipe.
    fn deliver_zap(&mut self, token: usize, request: ZapRequest) {
        let Some(handler) = self.zap_handler() else {
            let error = EngineError::Mechanism(rustzmq_security::MechanismError::NoZapHandler);
            self.engine_failed(token, Some(&error));
            return;
        };
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
        let id = next_pipe_id();
        let io_notify: Arc<dyn Notify> = self.mailbox.clone();
        let handler_notify: Arc<dyn Notify> = handler.clone();
        let (mut ours, theirs) = pipe_pair(id, io_notify, handler_notify, 0, 0);
        let frames = request.to_frames();
        let last = frames.len().saturating_sub(1);
        for (index, frame) in frames.into_iter().enumerate() {
            let mut msg = crate::Msg::from_bytes(frame);
            msg.set_more(index < last);
            let _ = ours.write(msg);
        }
        ours.flush();
        // Nothing to read yet: this marks our end asleep, so the reply's flush wakes us.
        let _ = ours.check_read();
        handler.send(SocketCommand::Attach(Box::new((theirs, PeerInfo::default()))));
        self.pipes.insert(id, token);
        session.zap = Some(ours);
    }

    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let mut timeout = self.timers.peek().map(|Reverse((at, ..))| at.saturating_duration_since(Instant::now()));
            if (1..=REPLY_WAIT_FRAMES).contains(&std::mem::take(&mut self.frames_in_round)) && self.await_reply() {
                timeout = Some(Duration::ZERO);
            }
            if let Err(error) = self.poll.poll(&mut events, timeout) {
                if error.kind() != io::ErrorKind::Interrupted {
                    break;
                }
            }
            for event in events.iter() {
                let token = event.token();
                if token == WAKER {
                    continue;
                }
                let closing = event.is_read_closed() || event.is_error();
                self.on_ready(token.0, event.is_readable() || closing, event.is_writable(), closing);
            }
            self.drain_mailbox();
            self.fire_timers();
            if self.stopping && !self.objects.values().any(|o| matches!(o, Object::Session(_))) {
                break;
            }
        }
        // Whatever is left (listeners of sockets that never closed) is dropped here.
        for (_, object) in self.objects.drain() {
            if let Object::Listener(listener) = object {
                close_listener(*listener);
            }
        }
    }

    /// After a round that handed a socket a few frames (a request, most likely), looks at the
    /// mailbox for up to [`REPLY_WAIT`] before sleeping in poll: an application that answers
    /// at once reaches this thread without either side paying a wake-up (the senders skip
    /// the waker's write meanwhile). Returns whether a command arrived.
    fn await_reply(&mut self) -> bool {
        if !self.rx.is_empty() {
            return true;
        }
        // A spinner must leave a CPU to the application it waits for (none on one CPU).
        let Some(_slot) = SpinSlot::claim(&SPINNERS, spin_limit()) else { return false };
        self.mailbox.hold_wakeups();
        let start = Instant::now();
        let mut arrived = false;
        'wait: while start.elapsed() < REPLY_WAIT {
            for _ in 0..32 {
                if !self.rx.is_empty() {
                    arrived = true;
                    break 'wait;
                }
                std::hint::spin_loop();
            }
        }
        // From here senders wake us again; anything that came in between is seen below.
        self.mailbox.release_wakeups();
        arrived || !self.rx.is_empty()
    }

    fn token(&mut self) -> usize {
        self.next_token += 1;
        self.next_token
    }

    fn drain_mailbox(&mut self) {
        self.mailbox.clear_woken();
        while let Some(command) = self.rx.try_recv() {
            match command {
                IoCommand::PipeEvent(id) => {
                    if let Some(&token) = self.pipes.get(&id) {
                        self.drive_session(token);
                    }
                }
                IoCommand::AddListener(spec) => self.add_listener(*spec),
                IoCommand::AddSession(spec) => self.add_session(*spec),
                IoCommand::CloseListener(id, done) => {
                    if let Some(token) = self.by_id.remove(&id) {
                        if let Some(Object::Listener(mut listener)) = self.objects.remove(&token) {
                            let _ = self.poll.registry().deregister(listener_source(&mut listener.socket));
                            close_listener(*listener);
                        }
                        let accepted: Vec<usize> = self
                            .objects
                            .iter()
                            .filter_map(|(t, o)| match o {
                                // Unbind ends the listener's connections at once; when the
                                // socket is closing they linger instead (SocketClosing came
                                // first), so queued messages still go out.
                                Object::Session(s) if s.listener_id == Some(id) && !s.socket_closed => Some(*t),
                                _ => None,
                            })
                            .collect();
                        for token in accepted {
                            self.remove_session(token);
                        }
                    }
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                }
                IoCommand::CloseSession(id, done) => {
                    if let Some(token) = self.by_id.remove(&id) {
                        self.remove_session(token);
                    }
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                }
                IoCommand::SocketClosing { socket_id, linger } => self.socket_closing(socket_id, linger),
                IoCommand::Stop => self.stopping = true,
            }
        }
    }

    fn add_listener(&mut self, spec: ListenerSpec) {
        let token = self.token();
        let mut listener = Listener {
            socket: spec.listener,
            owner: spec.socket,
            socket_id: spec.socket_id,
            options: spec.options,
            endpoint: spec.endpoint,
        };
        if self
            .poll
            .registry()
            .register(listener_source(&mut listener.socket), Token(token), Interest::READABLE)
            .is_ok()
        {
            self.by_id.insert(spec.id, token);
            self.objects.insert(token, Object::Listener(Box::new(listener)));
            self.accept(token);
        }
    }

    fn add_session(&mut self, spec: SessionSpec) {
        let token = self.token();
        let session =
            Session::new(spec.socket, spec.socket_id, spec.options, spec.endpoint, Some(spec.address), None, spec.pipe);
        if let Some(pipe) = &session.pipe {
            self.pipes.insert(pipe.id(), token);
        }
        self.by_id.insert(spec.id, token);
        self.objects.insert(token, Object::Session(Box::new(session)));
        self.start_connect(token);
    }

    fn on_ready(&mut self, token: usize, readable: bool, writable: bool, closing: bool) {
        match self.objects.get_mut(&token) {
            Some(Object::Listener(_)) => self.accept(token),
            Some(Object::Session(session)) => {
                if let Some(engine) = session.engine.as_mut() {
                    engine.on_ready(readable, writable, closing);
                    self.drive_session(token);
                } else if session.connecting.is_some() {
                    self.finish_connect(token);
                }
            }
            None => {}
        }
    }

    fn accept(&mut self, token: usize) {
        loop {
            let Some(Object::Listener(listener)) = self.objects.get_mut(&token) else { return };
            let accepted = match &mut listener.socket {
                ListenerSocket::Tcp(l) => l.accept().map(|(s, _)| {
                    let _ = net::tune_tcp_stream(&s, &listener.options);
                    Stream::Tcp(s)
                }),
                ListenerSocket::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
            };
            let stream = match accepted {
                Ok(stream) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    listener.owner.event(
                        events::ACCEPT_FAILED,
                        e.raw_os_error().unwrap_or(0) as u32,
                        &listener.endpoint,
                    );
                    // Readiness is edge-triggered: giving up here would strand every other
                    // connection already queued. A connection the client reset before we took
                    // it (ECONNABORTED, EPROTO...) concerns only itself: go on. Out of fds or
                    // memory: re-arm the listener so the queue is retried.
                    if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)) {
                        let _ = self.poll.registry().reregister(
                            listener_source(&mut listener.socket),
                            Token(token),
                            Interest::READABLE,
                        );
                        return;
                    }
                    continue;
                }
            };
            let listener_id = self.by_id.iter().find(|(_, t)| **t == token).map(|(id, _)| *id);
            listener.owner.event(events::ACCEPTED, stream.raw_fd() as u32, &listener.endpoint);
            let session = Session::new(
                Arc::clone(&listener.owner),
                listener.socket_id,
                listener.options.clone(),
                listener.endpoint.clone(),
                None,
                listener_id,
                None,
            );
            let session_token = self.token();
            self.objects.insert(session_token, Object::Session(Box::new(session)));
            self.start_engine(session_token, stream);
        }
    }

    fn start_connect(&mut self, token: usize) {
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
        let Some(address) = session.address.clone() else { return };
        match address {
            ConnectAddress::Tcp(address) => match net::tcp_connect(&address, &session.options) {
                Ok(mut stream) => {
                    if self.poll.registry().register(&mut stream, Token(token), Interest::WRITABLE).is_ok() {
                        session.owner.event(events::CONNECT_DELAYED, libc::EINPROGRESS as u32, &session.endpoint);
                        session.connecting = Some(stream);
                        if let Some(limit) = Options::timeout(session.options.connect_timeout).filter(|t| !t.is_zero())
                        {
                            self.add_timer(token, limit, TimerKind::ConnectTimeout);
                        }
                    } else {
                        self.schedule_reconnect(token);
                    }
                }
                Err(_) => self.schedule_reconnect(token),
            },
            ConnectAddress::Ipc(path) => match net::ipc_connect(&path) {
                Ok(stream) => {
                    let stream = Stream::Unix(stream);
                    session.owner.event(events::CONNECTED, stream.raw_fd() as u32, &session.endpoint);
                    self.start_engine(token, stream)
                }
                Err(_) => self.schedule_reconnect(token),
            },
        }
    }

    fn finish_connect(&mut self, token: usize) {
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
        let Some(mut stream) = session.connecting.take() else { return };
        let connected = match (stream.take_error(), stream.peer_addr()) {
            (Ok(None), Ok(_)) => true,
            // A spurious wake-up: the connect is still in progress, keep waiting for it.
            (Ok(None), Err(e)) if e.kind() == io::ErrorKind::NotConnected => {
                session.connecting = Some(stream);
                return;
            }
            _ => false,
        };
        let _ = self.poll.registry().deregister(&mut stream);
        if connected {
            use std::os::fd::AsRawFd;
            session.owner.event(events::CONNECTED, stream.as_raw_fd() as u32, &session.endpoint);
            let _ = net::tune_tcp_stream(&stream, &session.options);
            // A successful connection resets the backoff.
            session.reconnect_ivl = Duration::from_millis(u64::try_from(session.options.reconnect_ivl).unwrap_or(0));
            self.start_engine(token, Stream::Tcp(stream));
        } else {
            self.schedule_reconnect(token);
        }
    }

    fn start_engine(&mut self, token: usize, stream: Stream) {
        let zap_present = {
            let ctx = self.ctx.upgrade();
            ctx.is_some_and(|ctx| ctx.inproc.lock().bound.contains_key(ZAP_HANDLER_NAME))
        };
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
        let mut engine = Engine::new(stream, &session.options, zap_present);
        if self
            .poll
            .registry()
            .register(engine.source(), Token(token), Interest::READABLE | Interest::WRITABLE)
            .is_err()
        {
            self.engine_failed(token, None);
            return;
        }
        session.engine = Some(engine);
        if let Some(timeout) = Options::timeout(session.options.handshake_ivl).filter(|t| !t.is_zero()) {
            self.add_timer(token, timeout, TimerKind::Handshake);
        }
        self.drive_session(token);
    }

    /// Lets the session's engine do all it can, and deals with the outcome.
    fn drive_session(&mut self, token: usize) {
        let mut new_frames = 0;
        let mut heartbeat_after = None;
        let mut peer_ttl = None;
        let mut zap_request = None;
        let outcome = {
            let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
            let zap_result = match (read_zap_reply(session), session.engine.as_mut()) {
                (Some(frames), Some(engine)) => {
                    if let Some(pipe) = session.zap.take() {
                        self.pipes.remove(&pipe.id());
                    }
                    engine.zap_reply(&frames)
                }
                _ => Ok(()),
            };
            if let Err(error) = zap_result {
                self.engine_failed(token, Some(&error));
                return;
            }
            match session.engine.as_mut() {
                Some(engine) => match engine.with_conflate(session.owner.conflate()).drive(session.pipe.as_mut()) {
                    Ok(handshake_done) => {
                        if answers(session.options.kind) {
                            new_frames = engine.take_new_frames();
                        }
                        zap_request = engine.take_zap_request();
                        peer_ttl = engine.take_peer_ttl();
                        if peer_ttl.is_some() {
                            session.ttl_mark = engine.frames_received();
                        }
                        let mut result = Ok(());
                        if handshake_done {
                            session.owner.event(events::HANDSHAKE_SUCCEEDED, 0, &session.endpoint);
                            heartbeat_after = Options::timeout(session.options.heartbeat_ivl).filter(|t| !t.is_zero());
                            let mut peer = PeerInfo {
                                routing_id: engine.peer_routing_id(),
                                endpoint: session.endpoint.clone(),
                                probed: false,
                            };
                            session.handshakes += 1;
                            if let (Some(pipe), true) = (&session.pipe, session.handshakes > 1) {
                                // A reconnection behind a pipe the socket already has.
                                session.owner.send(SocketCommand::Hiccup(pipe.id()));
                            }
                            if session.pipe.is_none() {
                                let id = next_pipe_id();
                                let io_notify: Arc<dyn Notify> = self.mailbox.clone();
                                let socket_notify: Arc<dyn Notify> = session.owner.clone();
                                let (mut ours, mut theirs) = pipe_pair(
                                    id,
                                    io_notify,
                                    socket_notify,
                                    session.options.inbound_hwm(),
                                    Options::hwm(session.options.sndhwm),
                                );
                                // ZMQ_PROBE_ROUTER: the socket may be idle, but in libzmq the
                                // probe leaves as soon as the connection is up.
                                if session.options.probe_router && theirs.write(crate::Msg::new()).is_ok() {
                                    theirs.flush();
                                    peer.probed = true;
                                }
                                // Let buffered traffic flow before the socket even looks.
                                // (Its errors, like a bad frame right after READY, count too.)
                                result = engine.drive(Some(&mut ours)).map(|_| ());
                                // What that traffic asked for (a PING's TTL right after READY)
                                // is armed now, not at some later event.
                                if let Some(ttl) = engine.take_peer_ttl() {
                                    peer_ttl = Some(ttl);
                                    session.ttl_mark = engine.frames_received();
                                }
                                zap_request = zap_request.or_else(|| engine.take_zap_request());
                                session.pipe = Some(ours);
                                self.pipes.insert(id, token);
                                session.owner.send(SocketCommand::Attach(Box::new((theirs, peer))));
                            }
                        }
                        result
                    }
                    Err(error) => Err(error),
                },
                None => Ok(()),
            }
        };
        self.frames_in_round += new_frames;
        if let Some(request) = zap_request {
            self.deliver_zap(token, request);
        }
        if let Some(interval) = heartbeat_after {
            self.add_timer(token, interval, TimerKind::Heartbeat);
        }
        if let Some(ttl) = peer_ttl {
            self.add_timer(token, ttl, TimerKind::HeartbeatTtl);
        }
        match outcome {
            Ok(()) => {
                if let Outcome::Remove = self.check_session_done(token) {
                    self.remove_session(token);
                }
            }
            Err(error) => self.engine_failed(token, Some(&error)),
        }
    }

    /// A session is done when the socket let go of its pipe and everything queued has been
    /// written (the socket closed, or the socket type dropped this peer), or when the socket
    /// closed before a pipe existed.
    fn check_session_done(&mut self, token: usize) -> Outcome {
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return Outcome::Keep };
        let flushed = session.engine.as_ref().is_none_or(|e| e.is_flushed());
        let released = match session.pipe.as_mut() {
            Some(pipe) => pipe.is_peer_gone(),
            None => session.socket_closed,
        };
        if released && flushed {
            Outcome::Remove
        } else {
            Outcome::Keep
        }
    }

    /// A connection ended: reports it to the monitor, then reconnects or ends the session.
    /// `error` is `None` for a handshake timeout.
    fn engine_failed(&mut self, token: usize, error: Option<&EngineError>) {
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
        if let Some(pipe) = session.zap.take() {
            self.pipes.remove(&pipe.id());
            session.zap_frames.clear();
        }
        if let Some(mut engine) = session.engine.take() {
            let _ = self.poll.registry().deregister(engine.source());
            let fd = engine.fd() as u32;
            if !engine.is_active() {
                let (event, value) = handshake_failure(error);
                session.owner.event(event, value, &session.endpoint);
            }
            if engine.is_raw() {
                // STREAM: an empty message announces the disconnection (as libzmq's raw engine).
                if let Some(pipe) = session.pipe.as_mut() {
                    if pipe.write(crate::Msg::new()).is_ok() {
                        pipe.flush();
                    }
                }
            }
            session.owner.event(events::DISCONNECTED, fd, &session.endpoint);
        }
        session.timer_generation += 1;
        let reconnect = session.address.is_some() && session.options.reconnect_ivl >= 0 && !session.socket_closed;
        if reconnect {
            if session.options.immediate || !session.pipe_given {
                if let Some(pipe) = session.pipe.take() {
                    self.pipes.remove(&pipe.id());
                }
            } else if let Some(pipe) = session.pipe.as_mut() {
                clean_pipe(pipe);
            }
            self.schedule_reconnect(token);
        } else {
            self.remove_session(token);
        }
    }

    fn schedule_reconnect(&mut self, token: usize) {
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
        if session.options.reconnect_ivl < 0 {
            return;
        }
        let delay = session.reconnect_ivl;
        let max = Duration::from_millis(u64::try_from(session.options.reconnect_ivl_max).unwrap_or(0));
        if max > delay {
            session.reconnect_ivl = (delay * 2).min(max);
        }
        session.owner.event(events::CONNECT_RETRIED, delay.as_millis() as u32, &session.endpoint);
        self.add_timer(token, delay, TimerKind::Reconnect);
    }

    fn add_timer(&mut self, token: usize, after: Duration, kind: TimerKind) {
        let Some(Object::Session(session)) = self.objects.get(&token) else { return };
        self.timers.push(Reverse((Instant::now() + after, token, session.timer_generation, kind)));
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, token, generation, kind))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(Object::Session(session)) = self.objects.get(&token) else { continue };
            match kind {
                TimerKind::Linger => self.remove_session(token),
                _ if session.timer_generation != generation => {}
                TimerKind::Reconnect => {
                    if session.engine.is_none() && session.connecting.is_none() {
                        self.start_connect(token);
                    }
                }
                TimerKind::Handshake => {
                    if session.engine.as_ref().is_some_and(|e| !e.is_active()) {
                        self.engine_failed(token, None);
                    }
                }
                TimerKind::Heartbeat => self.send_heartbeat(token),
                TimerKind::ConnectTimeout => {
                    if let Some(Object::Session(session)) = self.objects.get_mut(&token) {
                        if let Some(mut stream) = session.connecting.take() {
                            let _ = self.poll.registry().deregister(&mut stream);
                            session.timer_generation += 1;
                            self.schedule_reconnect(token);
                        }
                    }
                }
                TimerKind::HeartbeatTimeout => {
                    if session.engine.as_ref().is_some_and(|e| e.frames_received() == session.ping_mark) {
                        self.engine_failed(token, None);
                    }
                }
                TimerKind::HeartbeatTtl => {
                    if session.engine.as_ref().is_some_and(|e| e.frames_received() == session.ttl_mark) {
                        self.engine_failed(token, None);
                    }
                }
            }
        }
    }

    /// Sends a PING, expects traffic within HEARTBEAT_TIMEOUT, and schedules the next PING.
    fn send_heartbeat(&mut self, token: usize) {
        let Some(Object::Session(session)) = self.objects.get_mut(&token) else { return };
        let Some(engine) = session.engine.as_mut() else { return };
        session.ping_mark = engine.frames_received();
        engine.queue_ping(u32::try_from(session.options.heartbeat_ttl).unwrap_or(0));
        let interval = Options::timeout(session.options.heartbeat_ivl).unwrap_or_default();
        let timeout = match session.options.heartbeat_timeout {
            -1 => interval,
            ms => Options::timeout(ms).unwrap_or(interval),
        };
        self.add_timer(token, timeout, TimerKind::HeartbeatTimeout);
        self.add_timer(token, interval, TimerKind::Heartbeat);
        self.drive_session(token);
    }

    fn socket_closing(&mut self, socket_id: u64, linger: i32) {
        let tokens: Vec<usize> = self
            .objects
            .iter()
            .filter_map(|(t, o)| match o {
                Object::Session(s) if s.socket_id == socket_id => Some(*t),
                _ => None,
            })
            .collect();
        for token in tokens {
            let Some(Object::Session(session)) = self.objects.get_mut(&token) else { continue };
            session.socket_closed = true;
            match linger {
                0 => self.remove_session(token),
                ms if ms > 0 => {
                    self.timers.push(Reverse((
                        Instant::now() + Duration::from_millis(ms as u64),
                        token,
                        0,
                        TimerKind::Linger,
                    )));
                    self.drive_session(token);
                }
                _ => self.drive_session(token),
            }
        }
    }

    fn remove_session(&mut self, token: usize) {
        if let Some(Object::Session(mut session)) = self.objects.remove(&token) {
            if let Some(mut engine) = session.engine.take() {
                let _ = self.poll.registry().deregister(engine.source());
            }
            if let Some(mut stream) = session.connecting.take() {
                let _ = self.poll.registry().deregister(&mut stream);
            }
            if let Some(pipe) = session.pipe.take() {
                self.pipes.remove(&pipe.id());
            }
            self.by_id.retain(|_, t| *t != token);
        }
    }
}

/// libzmq's `session_base_t::clean_pipes`, for a session that keeps its pipe across a broken
/// connection: drops the frames of a message half-received from the old connection and the
/// rest of a message half-sent to it, so that the next connection starts on a message
/// boundary in both directions.
fn clean_pipe(pipe: &mut Pipe) {
    pipe.rollback();
    pipe.flush();
    // A message is published whole, so its remaining frames are all there to read.
    while pipe.is_reading_more() && pipe.read().is_some() {}
}

fn listener_source(socket: &mut ListenerSocket) -> &mut dyn mio::event::Source {
    match socket {
        ListenerSocket::Tcp(l) => l,
        ListenerSocket::Unix(l, _) => l,
    }
}

fn close_listener(listener: Listener) {
    use std::os::fd::AsRawFd;
    let fd = match &listener.socket {
        ListenerSocket::Tcp(l) => l.as_raw_fd(),
        ListenerSocket::Unix(l, _) => l.as_raw_fd(),
    };
    listener.owner.event(events::CLOSED, fd as u32, &listener.endpoint);
    if let ListenerSocket::Unix(l, Some((path, wildcard))) = listener.socket {
        drop(l);
        net::ipc_cleanup(&path, wildcard);
    }
}

/// libzmq's protocol error codes (ZMQ_PROTOCOL_ERROR_*) used in monitor events.
pub mod protocol_error {
    /// Unspecified ZMTP error.
    pub const ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
    /// A command that was not expected now.
    pub const ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
    /// A malformed command.
    pub const ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
    /// The peer's ERROR command.
    pub const ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
    /// Invalid metadata (an incompatible Socket-Type, for instance).
    pub const ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
    /// The peer uses another security mechanism.
    pub const ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
}

/// The monitor event for a handshake that failed with `error` (`None`: timed out).
fn handshake_failure(error: Option<&EngineError>) -> (u16, u32) {
    use protocol_error::*;
    let code = match error {
        None | Some(EngineError::Io(_)) => {
            let errno = match error {
                Some(EngineError::Io(e)) => e.raw_os_error().unwrap_or(0) as u32,
                _ => libc::ETIMEDOUT as u32,
            };
            return (events::HANDSHAKE_FAILED_NO_DETAIL, errno);
        }
        Some(EngineError::PeerError(reason)) => {
            // libzmq reports a 3-digit ERROR reason as a ZAP status (authentication failure).
            if let Some(status) = std::str::from_utf8(reason).ok().filter(|r| r.len() == 3).and_then(|r| r.parse().ok())
            {
                return (events::HANDSHAKE_FAILED_AUTH, status);
            }
            ZMTP_MALFORMED_COMMAND_ERROR
        }
        Some(EngineError::Protocol("expected READY")) => ZMTP_UNEXPECTED_COMMAND,
        Some(EngineError::Protocol(_) | EngineError::LegacyPeer) => ZMTP_UNSPECIFIED,
        Some(EngineError::Decode(rustzmq_codec::DecodeError::Command(_))) => ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        Some(EngineError::Decode(_)) => ZMTP_UNSPECIFIED,
        Some(EngineError::MechanismMismatch) => ZMTP_MECHANISM_MISMATCH,
        Some(EngineError::IncompatibleSocketType) => ZMTP_INVALID_METADATA,
        Some(EngineError::Mechanism(error)) => match error.monitor_event() {
            Some(HandshakeFailure::Protocol(code)) => code,
            Some(HandshakeFailure::Auth(status)) => return (events::HANDSHAKE_FAILED_AUTH, u32::from(status)),
            Some(HandshakeFailure::NoDetail) | None => {
                return (events::HANDSHAKE_FAILED_NO_DETAIL, libc::EFAULT as u32);
            }
        },
    };
    (events::HANDSHAKE_FAILED_PROTOCOL, code)
}
