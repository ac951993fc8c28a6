//! The socket core (libzmq's `socket_base_t`): endpoints, the mailbox, blocking and timeouts,
//! and the [`Pattern`] that routes messages over the socket's pipes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ctx::{next_id, Ctx, InprocBinding, PendingInproc};
use crate::endpoint::{self, Endpoint, IpcPath};
use crate::error::{Errno, ZResult};
use crate::io_thread::{ConnectAddress, IoCommand, ListenerSocket, ListenerSpec, SessionSpec};
use crate::mailbox::{CommandReceiver, DeferredNotify, PeerInfo, SocketCommand, SocketMailbox};
use crate::msg::Msg;
use crate::net::{self, IpcAddress};
use crate::options::{Options, SocketKind};
use crate::pipe::{next_pipe_id, pipe_pair, Notify, Pipe, PipeId};
use crate::spin::{spin_limit, SpinSlot, SPINNERS};

/// ZMQ_DONTWAIT.
pub const DONTWAIT: i32 = 1;
/// ZMQ_SNDMORE.
pub const SNDMORE: i32 = 2;

/// A socket type's routing logic over its pipes (implemented in `rustzmq-patterns`).
pub trait Pattern: Send {
    /// A pipe to a new peer.
    fn attach(&mut self, pipe: Pipe, peer: &PeerInfo);
    /// Pipe `id` may have changed state: readable, writable, or its peer gone (then the
    /// pattern drops it once everything it sent has been read).
    fn pipe_event(&mut self, id: PipeId);
    /// Routes one frame. `Err(EAGAIN)` hands the frame back when it cannot go now.
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)>;
    /// [`send`](Self::send) taking the frame out of `msg` (left empty) once sent; on error
    /// `msg` is untouched. The default goes through `send`; a pattern overrides it to write
    /// the frame into its pipe without moving it through each layer's arguments and return
    /// values (single-thread PUSH->PULL probe: send path 27 -> 17 ns per message).
    fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        match self.send(std::mem::take(msg)) {
            Ok(()) => Ok(()),
            Err((error, back)) => {
                *msg = back;
                Err(error)
            }
        }
    }
    /// Takes the next frame. `Err(EAGAIN)` when none is available now.
    fn recv(&mut self) -> ZResult<Msg>;
    /// [`recv`](Self::recv) into `out` (replacing what it held). On error `out` is untouched,
    /// or empty if frames that were then skipped (SUB filtering) passed through it: libzmq
    /// too leaves the message empty after EAGAIN. The default goes through `recv`; a pattern
    /// overrides it to read the frame from its pipe straight into `out` (receive path 35-48
    /// -> 20 ns per message in that probe).
    fn recv_into(&mut self, out: &mut Msg) -> ZResult<()> {
        *out = self.recv()?;
        Ok(())
    }
    /// Whether `recv` would succeed now (ZMQ_POLLIN).
    fn has_in(&mut self) -> bool;
    /// Whether `send` would succeed now (ZMQ_POLLOUT).
    fn has_out(&mut self) -> bool;
    /// Whether the socket type can send at all (false: `send` fails with ENOTSUP).
    fn can_send(&self) -> bool {
        true
    }
    /// Whether the socket type can receive at all (false: `recv` fails with ENOTSUP).
    fn can_recv(&self) -> bool {
        true
    }
    /// A socket-type option, as `zmq_setsockopt` takes it: libzmq's option number (see
    /// [`crate::options::sockopt`]) and the value's bytes (integers and booleans as a native
    /// `i32`). EINVAL for options the type does not have.
    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        let _ = (option, value);
        Err(Errno::EINVAL)
    }
    /// Reads a socket-type option (same encoding). EINVAL for options the type does not have.
    fn get_sockopt(&self, option: i32) -> ZResult<Vec<u8>> {
        let _ = option;
        Err(Errno::EINVAL)
    }
    /// The connection behind pipe `id` was lost and re-established (libzmq's "hiccup"):
    /// state the peer kept per connection (subscriptions, for instance) must be sent again.
    fn hiccuped(&mut self, id: PipeId) {
        let _ = id;
    }
    /// Whether pipes must carry the peer's routing id when attached (ROUTER): then `connect`
    /// creates the pipe when the handshake completes, as with ZMQ_IMMEDIATE.
    fn needs_peer_routing_id(&self) -> bool {
        false
    }
}

enum Bound {
    Listener { io: usize, id: u64 },
    Inproc(String),
}

enum Connected {
    Session { io: usize, id: u64 },
    Inproc,
}

/// A socket's core. Used by one thread at a time (`Send`, not `Sync`).
pub struct SocketBase {
    ctx: Ctx,
    id: u64,
    mailbox: Arc<SocketMailbox>,
    rx: CommandReceiver<SocketCommand>,
    pattern: Box<dyn Pattern>,
    /// The socket's options; the facade validates and writes them.
    pub options: Options,
    last_endpoint: String,
    binds: Vec<(String, Bound)>,
    connects: Vec<(String, Connected)>,
    /// The context is terminating.
    stopped: bool,
    /// Blocking waits left to go before one spins again (see [`SocketBase::wait`]).
    spin_skip: u32,
    /// How many waits the next failed spin skips (doubles per failure, reset by a success).
    spin_backoff: u32,
}

/// How long a blocking send or receive polls its wake-up flag before it sleeps in `poll(2)`.
/// A sleep and the wake-up after it cost 10-25 us each on the 2-vCPU development VM (an inproc
/// REQ/REP round trip took 46 us, two such wake-ups); a peer that answers within this window
/// costs no sleep and no wake-up.
const SPIN_WINDOW: Duration = Duration::from_micros(30);

/// The most waits a socket sleeps through without spinning after its spins went unanswered.
const MAX_SPIN_BACKOFF: u32 = 256;

/// How many times a wait retries for a spin slot before it sleeps (a few microseconds).
const SPIN_CLAIM_TRIES: u32 = 2048;

/// What [`SocketBase::claim_spin_slot`] got.
enum Claim {
    /// A slot: spin.
    Slot(SpinSlot<'static>),
    /// The signal came while trying.
    Signalled,
    /// Every slot stayed taken: sleep.
    Busy,
}

impl std::fmt::Debug for SocketBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketBase").field("id", &self.id).field("kind", &self.options.kind).finish_non_exhaustive()
    }
}

impl SocketBase {
    /// Creates a socket of `kind` in `ctx` with the given routing logic.
    pub fn new(ctx: &Ctx, kind: SocketKind, pattern: Box<dyn Pattern>) -> ZResult<SocketBase> {
        let (mailbox, rx) = SocketMailbox::new().map_err(|e| Errno::from_io(&e))?;
        let id = next_id();
        ctx.register_socket(id, Arc::clone(&mailbox))?;
        Ok(SocketBase {
            ctx: ctx.clone(),
            id,
            mailbox,
            rx,
            pattern,
            options: Options::new(kind),
            last_endpoint: String::new(),
            binds: Vec::new(),
            connects: Vec::new(),
            stopped: false,
            spin_skip: 0,
            spin_backoff: 0,
        })
    }

    /// ZMQ_LAST_ENDPOINT.
    pub fn last_endpoint(&self) -> &str {
        &self.last_endpoint
    }

    /// The fd that becomes readable when the socket may have work (ZMQ_FD; `poll()` waits on
    /// it too). From the first call on, every signal makes it readable (see [`Signaler`]).
    ///
    /// [`Signaler`]: crate::signaler::Signaler
    pub fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        let signaler = self.mailbox.signaler();
        signaler.expose();
        signaler.as_raw_fd()
    }

    /// The pattern, for socket-type specific operations.
    pub fn pattern_mut(&mut self) -> &mut dyn Pattern {
        self.pattern.as_mut()
    }

    /// Handles every queued command. Returns ETERM once the context is terminating.
    pub fn process_commands(&mut self) -> ZResult<()> {
        if self.mailbox.signaler().is_signalled() {
            self.mailbox.signaler().reset();
            while let Some(command) = self.rx.try_recv() {
                match command {
                    SocketCommand::PipeEvent(id) => self.pattern.pipe_event(id),
                    SocketCommand::Attach(attach) => {
                        let (pipe, peer) = *attach;
                        self.pattern.attach(pipe, &peer)
                    }
                    SocketCommand::Hiccup(id) => self.pattern.hiccuped(id),
                    SocketCommand::Stop => self.stopped = true,
                }
            }
        }
        if self.stopped {
            Err(Errno::ETERM)
        } else {
            Ok(())
        }
    }

    /// Waits for a command until `deadline` (`None`: forever). `Err(EAGAIN)` on timeout.
    fn wait(&mut self, deadline: Option<Instant>) -> ZResult<()> {
        let timeout = match deadline {
            Some(at) => {
                let now = Instant::now();
                if now >= at {
                    return Err(Errno::EAGAIN);
                }
                Some(at - now)
            }
            None => None,
        };
        let signaler = self.mailbox.signaler();
        // Adaptive: a spin that was answered in time (a peer thread replying at once, a
        // stream that just ran dry) is tried again at the next wait; one that was not makes
        // the next 1, 2, 4 ... MAX_SPIN_BACKOFF waits sleep at once. An idle socket, or one
        // whose answers come through the I/O thread slower than the window, thus spins on
        // fewer than 1 % of its waits.
        // As many threads as the limit allows spin at a time; the others sleep, without
        // counting that as a failed spin.
        if self.spin_skip > 0 {
            self.spin_skip -= 1;
        } else {
            match Self::claim_spin_slot(signaler) {
                Claim::Signalled => return Ok(()),
                Claim::Slot(_slot) => {
                    if Self::spin_until_signalled(signaler, deadline) {
                        self.spin_backoff = 0;
                        return Ok(());
                    }
                    self.spin_backoff = (self.spin_backoff * 2).clamp(1, MAX_SPIN_BACKOFF);
                    self.spin_skip = self.spin_backoff;
                }
                Claim::Busy => {}
            }
        }
        match signaler.wait(timeout) {
            Ok(_) => Ok(()),
            Err(_) => Err(Errno::EINTR),
        }
    }

    /// A spin slot, retried for a moment: in a ping-pong between two threads the peer that
    /// just answered usually still holds the only slot (CPUs - 1 on two CPUs) for the few
    /// hundred nanoseconds until its own spin notices the signal and ends. Giving up at once
    /// made such waits sleep: once signalling stopped costing the answering thread a system
    /// call, an inproc REQ/REP round trip went from one context switch per 80 round trips
    /// to one per round trip (average latency 0.93 -> 4.5 us) until this retry.
    fn claim_spin_slot(signaler: &crate::signaler::Signaler) -> Claim {
        let limit = spin_limit();
        for _ in 0..SPIN_CLAIM_TRIES {
            // Read before trying: a failed claim is two read-modify-writes on the counter
            // line that the spinning thread must write to release its slot.
            if SPINNERS.load(Ordering::Relaxed) < limit {
                if let Some(slot) = SpinSlot::claim(&SPINNERS, limit) {
                    return Claim::Slot(slot);
                }
            }
            if signaler.is_signalled() {
                return Claim::Signalled;
            }
            std::hint::spin_loop();
        }
        Claim::Busy
    }

    /// Polls the signaler's flag for up to [`SPIN_WINDOW`] (and not past `deadline`). Returns
    /// whether it was signalled. The flag is in memory: no system call while spinning.
    fn spin_until_signalled(signaler: &crate::signaler::Signaler, deadline: Option<Instant>) -> bool {
        let started = Instant::now();
        let until = deadline.map_or(started + SPIN_WINDOW, |at| at.min(started + SPIN_WINDOW));
        loop {
            // Read the clock every few hundred iterations only.
            for _ in 0..256 {
                if signaler.is_signalled() {
                    return true;
                }
                std::hint::spin_loop();
            }
            if Instant::now() >= until {
                return false;
            }
        }
    }

    fn deadline(timeout_ms: i32) -> Option<Instant> {
        Options::timeout(timeout_ms).map(|t| Instant::now() + t)
    }

    /// zmq_msg_send: sends one frame (`SNDMORE` in `flags` marks more to follow).
    pub fn send(&mut self, mut msg: Msg, flags: i32) -> ZResult<()> {
        self.send_from(&mut msg, flags)
    }

    /// [`send`](Self::send) taking the frame out of `msg` (left empty) once sent; on error
    /// the frame stays in `msg` (zmq_msg_send's contract). The frame goes from where the
    /// caller keeps it straight into the pipe (see [`Pattern::send_from`]).
    pub fn send_from(&mut self, msg: &mut Msg, flags: i32) -> ZResult<()> {
        self.process_commands()?;
        if !self.pattern.can_send() {
            return Err(Errno::ENOTSUP);
        }
        msg.set_more(flags & SNDMORE != 0);
        // The clock is read only once the socket has to wait (not per message, as libzmq).
        let mut deadline = None;
        loop {
            match self.pattern.send_from(msg) {
                Ok(()) => return Ok(()),
                Err(Errno::EAGAIN) => {
                    if flags & DONTWAIT != 0 || self.options.sndtimeo == 0 {
                        return Err(Errno::EAGAIN);
                    }
                    let sndtimeo = self.options.sndtimeo;
                    self.wait(*deadline.get_or_insert_with(|| Self::deadline(sndtimeo)))?;
                    self.process_commands()?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// zmq_msg_recv: receives one frame.
    pub fn recv(&mut self, flags: i32) -> ZResult<Msg> {
        let mut msg = Msg::new();
        self.recv_into(&mut msg, flags)?;
        Ok(msg)
    }

    /// [`recv`](Self::recv) into `out`, which is replaced; on error `out` is untouched or
    /// empty (see [`Pattern::recv_into`]). The frame goes straight to where the caller keeps it.
    pub fn recv_into(&mut self, out: &mut Msg, flags: i32) -> ZResult<()> {
        self.process_commands()?;
        if !self.pattern.can_recv() {
            return Err(Errno::ENOTSUP);
        }
        let mut deadline = None;
        loop {
            match self.pattern.recv_into(out) {
                Ok(()) => {
                    if self.options.conflate {
                        self.skip_to_newest(out);
                    }
                    return Ok(());
                }
                Err(Errno::EAGAIN) => {
                    if flags & DONTWAIT != 0 || self.options.rcvtimeo == 0 {
                        return Err(Errno::EAGAIN);
                    }
                    let rcvtimeo = self.options.rcvtimeo;
                    self.wait(*deadline.get_or_insert_with(|| Self::deadline(rcvtimeo)))?;
                    self.process_commands()?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// ZMQ_CONFLATE: skips to the newest message already queued (libzmq keeps only the last
    /// one; conflated sockets carry single-frame messages). Bounded, so that a sender faster
    /// than this loop cannot keep the call from returning.
    fn skip_to_newest(&mut self, msg: &mut Msg) {
        const MAX_SKIPPED: usize = 64;
        for _ in 0..MAX_SKIPPED {
            if !self.pattern.has_in() || self.pattern.recv_into(msg).is_err() {
                break;
            }
        }
    }

    /// ZMQ_EVENTS: (pollin, pollout). What a caller asks once the fd (ZMQ_FD, `zmq::poll`)
    /// was readable: readiness no signal accounts for is cleared first, so that the next
    /// poll on the fd sleeps (see [`Signaler::clear_exposed_fd`]).
    ///
    /// [`Signaler::clear_exposed_fd`]: crate::signaler::Signaler::clear_exposed_fd
    pub fn events(&mut self) -> ZResult<(bool, bool)> {
        self.mailbox.signaler().clear_exposed_fd();
        self.process_commands()?;
        Ok((self.pattern.has_in(), self.pattern.has_out()))
    }

    /// zmq_socket_monitor: sends the events in `mask` to a PAIR socket bound at `endpoint`
    /// (`inproc://` only), made by the caller with the PAIR routing logic. `None` stops.
    pub fn monitor(&mut self, monitor: Option<(SocketBase, &str)>, mask: u16) -> ZResult<()> {
        match monitor {
            None => self.mailbox.set_monitor(None, 0),
            Some((mut socket, endpoint)) => {
                if !endpoint.starts_with("inproc://") {
                    return Err(Errno::EPROTONOSUPPORT);
                }
                socket.options.linger = 0;
                socket.bind(endpoint)?;
                self.mailbox.set_monitor(Some(socket), mask);
            }
        }
        Ok(())
    }

    /// Sets ZMQ_CONFLATE, for this socket and the sessions already running.
    pub fn set_conflate(&mut self, conflate: bool) {
        self.options.conflate = conflate;
        self.mailbox.set_conflate(conflate);
    }

    /// The context this socket belongs to.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// zmq_bind.
    pub fn bind(&mut self, endpoint_str: &str) -> ZResult<()> {
        self.process_commands()?;
        let result = self.bind_inner(endpoint_str);
        if let Err(error) = result {
            if !endpoint_str.starts_with("inproc://") {
                self.mailbox.event(crate::mailbox::events::BIND_FAILED, error.errno_value(), endpoint_str);
            }
        }
        result
    }

    fn bind_inner(&mut self, endpoint_str: &str) -> ZResult<()> {
        match endpoint::parse_bind(endpoint_str)? {
            Endpoint::Tcp(address) => {
                let listener = net::tcp_listen(&address, &self.options).map_err(|e| Errno::from_io(&e))?;
                let local = listener.local_addr().map_err(|e| Errno::from_io(&e))?;
                let reported = endpoint::format_tcp(&local);
                self.add_listener(ListenerSocket::Tcp(listener), reported, endpoint_str);
                Ok(())
            }
            Endpoint::Ipc(path) => {
                let (address, file, wildcard) = match path {
                    IpcPath::File(path) => (IpcAddress::File(path.clone()), Some(path), false),
                    IpcPath::Abstract(name) => (IpcAddress::Abstract(name), None, false),
                    IpcPath::Wildcard => {
                        let path = net::ipc_wildcard_path().map_err(|e| Errno::from_io(&e))?;
                        (IpcAddress::File(path.clone()), Some(path), true)
                    }
                };
                let listener = net::ipc_listen(&address).map_err(|e| Errno::from_io(&e))?;
                let reported = match &address {
                    IpcAddress::File(path) => format!("ipc://{}", path.display()),
                    IpcAddress::Abstract(name) => format!("ipc://@{}", String::from_utf8_lossy(name)),
                };
                let cleanup = file.map(|path| (path, wildcard));
                self.add_listener(ListenerSocket::Unix(listener, cleanup), reported, endpoint_str);
                Ok(())
            }
            Endpoint::Inproc(name) => self.bind_inproc(name, endpoint_str),
        }
    }

    fn add_listener(&mut self, listener: ListenerSocket, reported: String, requested: &str) {
        use std::os::fd::AsRawFd;
        let fd = match &listener {
            ListenerSocket::Tcp(l) => l.as_raw_fd(),
            ListenerSocket::Unix(l, _) => l.as_raw_fd(),
        };
        self.mailbox.event(crate::mailbox::events::LISTENING, fd as u32, &reported);
        let id = next_id();
        let spec = ListenerSpec {
            id,
            listener,
            socket: Arc::clone(&self.mailbox),
            socket_id: self.id,
            options: self.options.clone(),
            endpoint: reported.clone(),
        };
        let io = self.ctx.with_io_thread(|index, thread| {
            thread.send(IoCommand::AddListener(Box::new(spec)));
            index
        });
        // Both the requested and the resolved form can be unbound, as in libzmq.
        self.binds.push((reported.clone(), Bound::Listener { io, id }));
        if requested != reported {
            self.binds.push((requested.to_owned(), Bound::Listener { io, id }));
        }
        self.last_endpoint = reported;
    }

    fn bind_inproc(&mut self, name: String, endpoint_str: &str) -> ZResult<()> {
        let pending = {
            let mut registry = self.ctx.inner.inproc.lock();
            if registry.bound.contains_key(&name) {
                return Err(Errno::EADDRINUSE);
            }
            registry.bound.insert(
                name.clone(),
                InprocBinding {
                    mailbox: Arc::clone(&self.mailbox),
                    socket_id: self.id,
                    sndhwm: self.options.sndhwm,
                    rcvhwm: if self.options.conflate { 0 } else { self.options.rcvhwm },
                    routing_id: self.options.routing_id.clone(),
                },
            );
            registry.pending.remove(&name).unwrap_or_default()
        };
        for PendingInproc { pipe, notify, peer, .. } in pending {
            let own: Arc<dyn Notify> = self.mailbox.clone();
            notify.set(own);
            self.pattern.attach(pipe, &peer);
        }
        self.binds.push((endpoint_str.to_owned(), Bound::Inproc(name)));
        self.last_endpoint = endpoint_str.to_owned();
        Ok(())
    }

    /// zmq_connect.
    pub fn connect(&mut self, endpoint_str: &str) -> ZResult<()> {
        self.process_commands()?;
        let address = match endpoint::parse_connect(endpoint_str)? {
            // No SOCKS client: going around a configured proxy would be worse than failing.
            Endpoint::Tcp(_) if !self.options.socks_proxy.is_empty() => return Err(Errno::ENOTSUP),
            Endpoint::Tcp(address) => ConnectAddress::Tcp(address),
            Endpoint::Ipc(IpcPath::File(path)) => ConnectAddress::Ipc(IpcAddress::File(path)),
            Endpoint::Ipc(IpcPath::Abstract(name)) => ConnectAddress::Ipc(IpcAddress::Abstract(name)),
            Endpoint::Ipc(IpcPath::Wildcard) => return Err(Errno::EINVAL),
            Endpoint::Inproc(name) => return self.connect_inproc(name, endpoint_str),
        };
        let id = next_id();
        let own: Arc<dyn Notify> = self.mailbox.clone();
        let (io, pipe) = self.ctx.with_io_thread(|index, thread| {
            let mut socket_end = None;
            let mut session_end = None;
            if !self.options.immediate && !self.pattern.needs_peer_routing_id() {
                let io_notify: Arc<dyn Notify> = thread.mailbox().clone();
                let (ours, theirs) = pipe_pair(
                    next_pipe_id(),
                    own,
                    io_notify,
                    Options::hwm(self.options.sndhwm),
                    self.options.inbound_hwm(),
                );
                socket_end = Some(ours);
                session_end = Some(theirs);
            }
            thread.send(IoCommand::AddSession(Box::new(SessionSpec {
                id,
                address,
                socket: Arc::clone(&self.mailbox),
                socket_id: self.id,
                options: self.options.clone(),
                endpoint: endpoint_str.to_owned(),
                pipe: session_end,
            })));
            (index, socket_end)
        });
        if let Some(pipe) = pipe {
            self.pattern.attach(
                pipe,
                &PeerInfo { routing_id: bytes::Bytes::new(), endpoint: endpoint_str.to_owned(), probed: false },
            );
        }
        self.connects.push((endpoint_str.to_owned(), Connected::Session { io, id }));
        self.last_endpoint = endpoint_str.to_owned();
        Ok(())
    }

    fn connect_inproc(&mut self, name: String, endpoint_str: &str) -> ZResult<()> {
        let own: Arc<dyn Notify> = self.mailbox.clone();
        let my_info =
            PeerInfo { routing_id: self.options.routing_id.clone(), endpoint: endpoint_str.to_owned(), probed: false };
        let mut registry = self.ctx.inner.inproc.lock();
        let id = next_pipe_id();
        if let Some(binding) = registry.bound.get(&name) {
            let theirs_notify: Arc<dyn Notify> = binding.mailbox.clone();
            let (ours, theirs) = pipe_pair(
                id,
                own,
                theirs_notify,
                sum_hwm(self.options.sndhwm, binding.rcvhwm),
                sum_hwm(binding.sndhwm, self.options.rcvhwm),
            );
            let their_info =
                PeerInfo { routing_id: binding.routing_id.clone(), endpoint: endpoint_str.to_owned(), probed: false };
            binding.mailbox.send(SocketCommand::Attach(Box::new((theirs, my_info))));
            let _ = binding.socket_id;
            drop(registry);
            self.pattern.attach(ours, &their_info);
        } else {
            let deferred = Arc::new(DeferredNotify::default());
            let deferred_notify: Arc<dyn Notify> = deferred.clone();
            let (ours, theirs) = pipe_pair(
                id,
                own,
                deferred_notify,
                sum_hwm(self.options.sndhwm, self.options.rcvhwm),
                sum_hwm(self.options.sndhwm, self.options.rcvhwm),
            );
            registry.pending.entry(name).or_default().push(PendingInproc {
                pipe: theirs,
                notify: deferred,
                peer: my_info,
                connecter_id: self.id,
            });
            drop(registry);
            self.pattern.attach(
                ours,
                &PeerInfo { routing_id: bytes::Bytes::new(), endpoint: endpoint_str.to_owned(), probed: false },
            );
        }
        self.connects.push((endpoint_str.to_owned(), Connected::Inproc));
        self.last_endpoint = endpoint_str.to_owned();
        Ok(())
    }

    /// zmq_unbind.
    pub fn unbind(&mut self, endpoint_str: &str) -> ZResult<()> {
        self.process_commands()?;
        let position = self.binds.iter().position(|(e, _)| e == endpoint_str).ok_or(Errno::ENOENT)?;
        let (_, bound) = self.binds.remove(position);
        match bound {
            Bound::Listener { io, id } => {
                self.binds.retain(|(_, b)| !matches!(b, Bound::Listener { id: other, .. } if *other == id));
                self.close_listener(io, id);
            }
            Bound::Inproc(name) => {
                self.ctx.inner.inproc.lock().bound.remove(&name);
            }
        }
        Ok(())
    }

    /// zmq_disconnect.
    pub fn disconnect(&mut self, endpoint_str: &str) -> ZResult<()> {
        self.process_commands()?;
        let position = self.connects.iter().position(|(e, _)| e == endpoint_str).ok_or(Errno::ENOENT)?;
        let (_, connected) = self.connects.remove(position);
        if let Connected::Session { io, id } = connected {
            // As libzmq, the endpoint's pipe is gone when disconnect returns: wait (briefly)
            // for the session to close, then handle its pipe's closure.
            let (done_tx, done_rx) = crossbeam_channel::bounded(1);
            self.ctx.send_to_io_thread(io, IoCommand::CloseSession(id, Some(done_tx)));
            let _ = done_rx.recv_timeout(Duration::from_secs(1));
            let _ = self.process_commands();
        }
        Ok(())
    }
}

impl SocketBase {
    /// Closes a listener on its I/O thread and waits (briefly) until the address is free, so
    /// that a bind right after unbind or close succeeds.
    fn close_listener(&self, io: usize, id: u64) {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        self.ctx.send_to_io_thread(io, IoCommand::CloseListener(id, Some(done_tx)));
        let _ = done_rx.recv_timeout(Duration::from_secs(1));
    }
}

fn sum_hwm(a: i32, b: i32) -> u64 {
    if a <= 0 || b <= 0 {
        0
    } else {
        Options::hwm(a) + Options::hwm(b)
    }
}

impl Drop for SocketBase {
    fn drop(&mut self) {
        // Sessions learn the linger before they see the pipes close.
        let linger = self.options.linger;
        let socket_id = self.id;
        self.ctx.broadcast_io(|| IoCommand::SocketClosing { socket_id, linger });
        for (_, bound) in std::mem::take(&mut self.binds) {
            match bound {
                Bound::Listener { io, id } => self.close_listener(io, id),
                Bound::Inproc(name) => {
                    let mut registry = self.ctx.inner.inproc.lock();
                    if registry.bound.get(&name).is_some_and(|b| b.socket_id == socket_id) {
                        registry.bound.remove(&name);
                    }
                }
            }
        }
        {
            let mut registry = self.ctx.inner.inproc.lock();
            for list in registry.pending.values_mut() {
                list.retain(|p| p.connecter_id != socket_id);
            }
        }
        // Dropping the pattern drops the pipes: peers read what was flushed, then see the end.
        self.pattern = Box::new(Closed);
        self.mailbox.set_monitor(None, 0);
        self.ctx.unregister_socket(self.id);
    }
}

/// The pattern left in a socket being dropped.
struct Closed;

impl Pattern for Closed {
    fn attach(&mut self, _pipe: Pipe, _peer: &PeerInfo) {}
    fn pipe_event(&mut self, _id: PipeId) {}
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        Err((Errno::ENOTSOCK, msg))
    }
    fn recv(&mut self) -> ZResult<Msg> {
        Err(Errno::ENOTSOCK)
    }
    fn has_in(&mut self) -> bool {
        false
    }
    fn has_out(&mut self) -> bool {
        false
    }
}

/// A blocking wait helper for `poll()`: waits on many sockets' fds and raw fds at once.
pub fn poll_fds(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> ZResult<usize> {
    let ms = timeout.map_or(-1, |t| i32::try_from(t.as_millis()).unwrap_or(i32::MAX));
    // SAFETY: `fds` is a valid mutable slice of pollfd structures of the given length.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let error = std::io::Error::last_os_error();
        return Err(if error.kind() == std::io::ErrorKind::Interrupted { Errno::EINTR } else { Errno::EFAULT });
    }
    Ok(rc as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signaler::Signaler;

    /// A pattern with no peers: every receive would block.
    struct Idle;

    impl Pattern for Idle {
        fn attach(&mut self, _pipe: Pipe, _peer: &PeerInfo) {}
        fn pipe_event(&mut self, _id: PipeId) {}
        fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
            Err((Errno::EAGAIN, msg))
        }
        fn recv(&mut self) -> ZResult<Msg> {
            Err(Errno::EAGAIN)
        }
        fn has_in(&mut self) -> bool {
            false
        }
        fn has_out(&mut self) -> bool {
            false
        }
    }

    #[test]
    fn a_spin_ends_when_signalled_or_at_the_window_or_deadline() {
        let signaler = Signaler::new().unwrap();
        let past = Some(Instant::now());
        assert!(!SocketBase::spin_until_signalled(&signaler, past), "deadline already passed");
        let started = Instant::now();
        assert!(!SocketBase::spin_until_signalled(&signaler, None));
        assert!(started.elapsed() >= SPIN_WINDOW, "gave up before the window ended");
        signaler.signal();
        assert!(SocketBase::spin_until_signalled(&signaler, past), "a pending signal is seen at once");
    }

    #[test]
    fn unanswered_spins_back_off_exponentially() {
        let ctx = Ctx::new();
        let mut socket = SocketBase::new(&ctx, SocketKind::Pull, Box::new(Idle)).unwrap();
        socket.options.rcvtimeo = 1;
        // Waits: spin (fails, skip 1), sleep, spin (fails, skip 2), sleep, sleep, spin (skip 4).
        let mut backoffs = Vec::new();
        for _ in 0..6 {
            assert_eq!(socket.recv(0).unwrap_err(), Errno::EAGAIN);
            backoffs.push(socket.spin_backoff);
        }
        assert_eq!(backoffs, [1, 1, 2, 2, 2, 4]);
        // 1 + 2 + ... + 256 skipped waits and a spin before each doubling.
        for _ in 0..600 {
            let _ = socket.recv(0);
        }
        assert_eq!(socket.spin_backoff, MAX_SPIN_BACKOFF, "an idle socket nearly never spins");
        // A spin that is answered resets the backoff.
        socket.spin_skip = 0;
        socket.mailbox.signaler().signal();
        socket.wait(None).unwrap();
        assert_eq!(socket.spin_backoff, 0);
        drop(socket);
        ctx.terminate();
    }
}
