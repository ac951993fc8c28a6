//! `Socket`: the `zmq` 0.10 socket API over `rustzmq_transport::SocketBase`.

use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::os::raw::c_void;

use bytes::Bytes;
use rustzmq_transport::options::MechanismKind;
use rustzmq_transport::{Errno, Options, SocketBase, SocketKind};

use crate::context::Context;
use crate::error::{Error, Result};
use crate::message::Message;
use crate::poll::PollItem;
use crate::sendable::Sendable;
use crate::types::{Mechanism, PollEvents, SocketType};

impl From<Errno> for Error {
    fn from(errno: Errno) -> Error {
        match errno {
            Errno::EACCES => Error::EACCES,
            Errno::EADDRINUSE => Error::EADDRINUSE,
            Errno::EAGAIN => Error::EAGAIN,
            Errno::EBUSY => Error::EBUSY,
            Errno::ECONNREFUSED => Error::ECONNREFUSED,
            Errno::EFAULT => Error::EFAULT,
            Errno::EINTR => Error::EINTR,
            Errno::EHOSTUNREACH => Error::EHOSTUNREACH,
            Errno::EINPROGRESS => Error::EINPROGRESS,
            Errno::EINVAL => Error::EINVAL,
            Errno::EMFILE => Error::EMFILE,
            Errno::EMSGSIZE => Error::EMSGSIZE,
            Errno::ENAMETOOLONG => Error::ENAMETOOLONG,
            Errno::ENODEV => Error::ENODEV,
            Errno::ENOENT => Error::ENOENT,
            Errno::ENOMEM => Error::ENOMEM,
            Errno::ENOTCONN => Error::ENOTCONN,
            Errno::ENOTSOCK => Error::ENOTSOCK,
            Errno::EPROTO => Error::EPROTO,
            Errno::EPROTONOSUPPORT => Error::EPROTONOSUPPORT,
            Errno::ENOTSUP => Error::ENOTSUP,
            Errno::ENOBUFS => Error::ENOBUFS,
            Errno::ENETDOWN => Error::ENETDOWN,
            Errno::EADDRNOTAVAIL => Error::EADDRNOTAVAIL,
            Errno::EFSM => Error::EFSM,
            Errno::ENOCOMPATPROTO => Error::ENOCOMPATPROTO,
            Errno::ETERM => Error::ETERM,
            Errno::EMTHREAD => Error::EMTHREAD,
        }
    }
}

impl SocketType {
    pub(crate) fn kind(self) -> SocketKind {
        match self {
            SocketType::PAIR => SocketKind::Pair,
            SocketType::PUB => SocketKind::Pub,
            SocketType::SUB => SocketKind::Sub,
            SocketType::REQ => SocketKind::Req,
            SocketType::REP => SocketKind::Rep,
            SocketType::DEALER => SocketKind::Dealer,
            SocketType::ROUTER => SocketKind::Router,
            SocketType::PULL => SocketKind::Pull,
            SocketType::PUSH => SocketKind::Push,
            SocketType::XPUB => SocketKind::Xpub,
            SocketType::XSUB => SocketKind::Xsub,
            SocketType::STREAM => SocketKind::Stream,
        }
    }
}

/// The socket's state behind the opaque pointer `into_raw` hands out.
struct SocketInner {
    base: RefCell<SocketBase>,
    rcvmore: Cell<bool>,
    affinity: Cell<u64>,
    socket_type: SocketType,
}

/// A ZeroMQ socket. `Send` (it may move between threads) but not `Sync` (one thread at a
/// time), like libzmq's sockets.
pub struct Socket {
    inner: Box<SocketInner>,
    context: Option<Context>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").field("type", &self.inner.socket_type).finish_non_exhaustive()
    }
}

/// A string option's value as the `zmq` crate returns it.
fn text(value: &Bytes) -> std::result::Result<String, Vec<u8>> {
    String::from_utf8(value.to_vec()).map_err(|e| e.into_bytes())
}

/// A CURVE key option: 32 raw bytes, or 40 Z85 characters (41 with a trailing NUL), as libzmq
/// takes it.
fn curve_key(value: &[u8]) -> Result<[u8; 32]> {
    let value = value.strip_suffix(&[0]).filter(|v| v.len() == 40).unwrap_or(value);
    match value.len() {
        32 => Ok(value.try_into().map_err(|_| Error::EINVAL)?),
        40 => {
            let mut key = [0u8; 32];
            rustzmq_security::z85::decode_into(value, &mut key).map_err(|_| Error::EINVAL)?;
            Ok(key)
        }
        _ => Err(Error::EINVAL),
    }
}

fn check_nul(text: &str) {
    // The zmq crate builds a CString and panics on an interior NUL; so do we.
    assert!(!text.as_bytes().contains(&0), "endpoint contains a NUL byte");
}

/// Generates an integer option accessor pair over `Options` with a validity check.
macro_rules! int_option {
    ($(#[$doc:meta])* $get:ident, $set:ident, $field:ident, $ty:ty, $valid:expr) => {
        $(#[$doc])*
        pub fn $get(&self) -> Result<$ty> {
            Ok(self.base().options.$field)
        }
        $(#[$doc])*
        pub fn $set(&self, value: $ty) -> Result<()> {
            let valid: fn($ty) -> bool = $valid;
            if !valid(value) {
                return Err(Error::EINVAL);
            }
            self.base_mut().options.$field = value;
            Ok(())
        }
    };
}

/// Generates a pair for an option this build does not have at all (like a libzmq built
/// without CURVE or GSSAPI): both fail with EINVAL, as libzmq does.
macro_rules! absent_option {
    ($(#[$doc:meta])* $get:ident -> $gty:ty, $set:ident($sty:ty)) => {
        $(#[$doc])*
        pub fn $get(&self) -> Result<$gty> {
            Err(Error::EINVAL)
        }
        $(#[$doc])*
        pub fn $set(&self, _value: $sty) -> Result<()> {
            Err(Error::EINVAL)
        }
    };
}

impl Socket {
    pub(crate) fn new(base: SocketBase, context: Context) -> Socket {
        let socket_type = SocketType::from_raw(base.options.kind as i32);
        Socket {
            inner: Box::new(SocketInner {
                base: RefCell::new(base),
                rcvmore: Cell::new(false),
                affinity: Cell::new(0),
                socket_type,
            }),
            context: Some(context),
        }
    }

    fn base(&self) -> std::cell::Ref<'_, SocketBase> {
        self.inner.base.borrow()
    }

    fn base_mut(&self) -> std::cell::RefMut<'_, SocketBase> {
        self.inner.base.borrow_mut()
    }

    /// Gives up ownership, returning an opaque pointer for [`Socket::from_raw`]. The
    /// socket's reference to its context is released.
    pub fn into_raw(self) -> *mut c_void {
        let mut this = std::mem::ManuallyDrop::new(self);
        drop(this.context.take());
        // SAFETY: `this` is never used or dropped again, so moving the box out of it leaves
        // exactly one owner of the allocation.
        let inner = unsafe { std::ptr::read(&this.inner) };
        Box::into_raw(inner).cast()
    }

    /// Takes ownership of a pointer from [`Socket::into_raw`]. The socket holds no context.
    ///
    /// # Safety
    /// `sock` must come from `Socket::into_raw` and not have been used by `from_raw` before.
    pub unsafe fn from_raw(sock: *mut c_void) -> Socket {
        // SAFETY: the caller guarantees `sock` is a pointer `into_raw` made from a Box, not yet
        // reclaimed.
        let inner = unsafe { Box::from_raw(sock.cast::<SocketInner>()) };
        Socket { inner, context: None }
    }

    /// The same opaque pointer `into_raw` would return, without giving up ownership.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        (&mut *self.inner as *mut SocketInner).cast()
    }

    /// Accepts connections on an endpoint (`tcp://`, `ipc://`, `inproc://`).
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        check_nul(endpoint);
        self.base_mut().bind(endpoint).map_err(Error::from)
    }

    /// Stops accepting on an endpoint and closes the connections it accepted.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        check_nul(endpoint);
        self.base_mut().unbind(endpoint).map_err(Error::from)
    }

    /// Connects to an endpoint (asynchronously; reconnects as needed).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        check_nul(endpoint);
        self.base_mut().connect(endpoint).map_err(Error::from)
    }

    /// Stops connecting to an endpoint.
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        check_nul(endpoint);
        self.base_mut().disconnect(endpoint).map_err(Error::from)
    }

    /// Starts a socket monitor: events in the `events` mask (`SocketEvent::ALL as i32` for
    /// all) go to a PAIR socket bound at `monitor_endpoint` (`inproc://` only), two frames
    /// each as libzmq 4.3 sends them.
    pub fn monitor(&self, monitor_endpoint: &str, events: i32) -> Result<()> {
        check_nul(monitor_endpoint);
        if !monitor_endpoint.starts_with("inproc://") {
            return Err(Error::EPROTONOSUPPORT);
        }
        let ctx = self.base().ctx().clone();
        let pattern = rustzmq_patterns::for_kind(SocketKind::Pair).ok_or(Error::ENOTSUP)?;
        let pair = SocketBase::new(&ctx, SocketKind::Pair, pattern).map_err(Error::from)?;
        self.base_mut().monitor(Some((pair, monitor_endpoint)), events as u16).map_err(Error::from)
    }

    /// Sends one frame; `flags` may hold [`DONTWAIT`](crate::DONTWAIT) and
    /// [`SNDMORE`](crate::SNDMORE).
    pub fn send<T>(&self, data: T, flags: i32) -> Result<()>
    where
        T: Sendable,
    {
        data.send(self, flags)
    }

    pub(crate) fn send_message(&self, msg: Message, flags: i32) -> Result<()> {
        let mut msg = msg.into_msg();
        self.base_mut().send_from(&mut msg, flags).map_err(Error::from)
    }

    /// Sends a message.
    #[deprecated(since = "0.9.0", note = "Use `send` instead")]
    pub fn send_msg(&self, msg: Message, flags: i32) -> Result<()> {
        self.send(msg, flags)
    }

    /// Sends a string.
    #[deprecated(since = "0.9.0", note = "Use `send` instead")]
    pub fn send_str(&self, data: &str, flags: i32) -> Result<()> {
        self.send(data, flags)
    }

    /// Sends a multipart message: SNDMORE is added to every part but the last.
    pub fn send_multipart<I, T>(&self, iter: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<Message>,
    {
        let mut iter = iter.into_iter().peekable();
        while let Some(part) = iter.next() {
            let more = if iter.peek().is_some() { crate::SNDMORE } else { 0 };
            self.send_message(part.into(), flags | more)?;
        }
        Ok(())
    }

    /// Receives one frame into `msg`.
    pub fn recv(&self, msg: &mut Message, flags: i32) -> Result<()> {
        let received = msg.msg_mut();
        self.base_mut().recv_into(received, flags).map_err(Error::from)?;
        self.inner.rcvmore.set(received.more());
        Ok(())
    }

    /// Receives one frame into `bytes`, returning the frame's full length (which may exceed
    /// `bytes.len()`; the rest is dropped).
    pub fn recv_into(&self, bytes: &mut [u8], flags: i32) -> Result<usize> {
        let received = self.base_mut().recv(flags).map_err(Error::from)?;
        self.inner.rcvmore.set(received.more());
        let n = received.len().min(bytes.len());
        bytes[..n].copy_from_slice(&received.data()[..n]);
        Ok(received.len())
    }

    /// Receives one frame as a new message.
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        let mut msg = Message::new();
        self.recv(&mut msg, flags)?;
        Ok(msg)
    }

    /// Receives one frame as bytes.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        let received = self.base_mut().recv(flags).map_err(Error::from)?;
        self.inner.rcvmore.set(received.more());
        Ok(received.data().to_vec())
    }

    /// Receives one frame as a string; `Err(bytes)` inside when it is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        self.recv_bytes(flags).map(|bytes| String::from_utf8(bytes).map_err(|e| e.into_bytes()))
    }

    /// Receives every frame of a multipart message.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        let mut parts = vec![self.recv_bytes(flags)?];
        while self.inner.rcvmore.get() {
            parts.push(self.recv_bytes(flags)?);
        }
        Ok(parts)
    }

    /// A poll item for this socket.
    pub fn as_poll_item(&self, events: PollEvents) -> PollItem<'_> {
        PollItem::from_socket(self, events)
    }

    /// Polls this socket alone; returns 1 if one of `events` is ready, else 0.
    pub fn poll(&self, events: PollEvents, timeout_ms: i64) -> Result<i32> {
        crate::poll(&mut [self.as_poll_item(events)], timeout_ms)
    }

    pub(crate) fn signal_fd(&self) -> RawFd {
        self.base().fd()
    }

    /// (POLLIN, POLLOUT) now, after handling pending commands.
    pub(crate) fn pending_events(&self) -> Result<(bool, bool)> {
        self.base_mut().events().map_err(Error::from)
    }

    // ----- options -----

    /// ZMQ_IPV6.
    pub fn is_ipv6(&self) -> Result<bool> {
        Ok(self.base().options.ipv6)
    }
    /// ZMQ_IPV6.
    pub fn set_ipv6(&self, value: bool) -> Result<()> {
        self.base_mut().options.ipv6 = value;
        Ok(())
    }
    /// ZMQ_IMMEDIATE.
    pub fn is_immediate(&self) -> Result<bool> {
        Ok(self.base().options.immediate)
    }
    /// ZMQ_IMMEDIATE.
    pub fn set_immediate(&self, value: bool) -> Result<()> {
        self.base_mut().options.immediate = value;
        Ok(())
    }

    /// ZMQ_PLAIN_SERVER: whether this socket is a PLAIN server.
    pub fn is_plain_server(&self) -> Result<bool> {
        let base = self.base();
        Ok(base.options.mechanism == MechanismKind::Plain && base.options.as_server)
    }
    /// ZMQ_PLAIN_SERVER: true makes the socket a PLAIN server (false goes back to NULL), for
    /// later connections.
    pub fn set_plain_server(&self, value: bool) -> Result<()> {
        let mut base = self.base_mut();
        base.options.as_server = value;
        base.options.mechanism = if value { MechanismKind::Plain } else { MechanismKind::Null };
        Ok(())
    }
    /// ZMQ_CONFLATE.
    pub fn is_conflate(&self) -> Result<bool> {
        Ok(self.base().options.conflate)
    }
    /// ZMQ_CONFLATE: inbound connections never block their senders and a receive returns the
    /// newest queued message (single-frame messages; outbound messages are not conflated yet,
    /// see docs/compat.md). Takes effect on existing connections too.
    pub fn set_conflate(&self, value: bool) -> Result<()> {
        self.base_mut().set_conflate(value);
        Ok(())
    }

    /// ZMQ_PROBE_ROUTER is write-only in libzmq: the getter always fails with EINVAL.
    pub fn is_probe_router(&self) -> Result<bool> {
        Err(Error::EINVAL)
    }
    /// ZMQ_PROBE_ROUTER (ROUTER, DEALER, REQ, REP): an empty message to each new peer.
    pub fn set_probe_router(&self, value: bool) -> Result<()> {
        let mut base = self.base_mut();
        base.pattern_mut()
            .set_sockopt(rustzmq_transport::options::sockopt::PROBE_ROUTER, &i32::from(value).to_ne_bytes())
            .map_err(Error::from)?;
        // Pipes the I/O thread makes (a connecting ROUTER's) get the probe from it.
        base.options.probe_router = value;
        Ok(())
    }
    /// ZMQ_ROUTER_MANDATORY is write-only: EINVAL.
    pub fn is_router_mandatory(&self) -> Result<bool> {
        Err(Error::EINVAL)
    }
    /// ZMQ_ROUTER_MANDATORY (ROUTER, REP): unroutable messages fail (EHOSTUNREACH, or
    /// EAGAIN for a peer at its high-water mark) instead of being dropped.
    pub fn set_router_mandatory(&self, value: bool) -> Result<()> {
        self.base_mut()
            .pattern_mut()
            .set_sockopt(rustzmq_transport::options::sockopt::ROUTER_MANDATORY, &i32::from(value).to_ne_bytes())
            .map_err(Error::from)
    }
    /// ZMQ_ROUTER_HANDOVER is write-only: EINVAL.
    pub fn is_router_handover(&self) -> Result<bool> {
        Err(Error::EINVAL)
    }
    /// ZMQ_ROUTER_HANDOVER (ROUTER, REP): a new peer with a routing id in use takes it over.
    pub fn set_router_handover(&self, value: bool) -> Result<()> {
        self.base_mut()
            .pattern_mut()
            .set_sockopt(rustzmq_transport::options::sockopt::ROUTER_HANDOVER, &i32::from(value).to_ne_bytes())
            .map_err(Error::from)
    }

    /// ZMQ_CURVE_SERVER: whether this socket is a CURVE server.
    pub fn is_curve_server(&self) -> Result<bool> {
        let base = self.base();
        Ok(base.options.mechanism == MechanismKind::Curve && base.options.as_server)
    }
    /// ZMQ_CURVE_SERVER: selects CURVE with this socket as server (or client), for later
    /// connections. A server also needs ZMQ_CURVE_SECRETKEY.
    pub fn set_curve_server(&self, value: bool) -> Result<()> {
        let mut base = self.base_mut();
        base.options.as_server = value;
        base.options.mechanism = MechanismKind::Curve;
        Ok(())
    }
    absent_option!(
        /// ZMQ_GSSAPI_SERVER: no GSSAPI.
        is_gssapi_server -> bool, set_gssapi_server(bool)
    );
    absent_option!(
        /// ZMQ_GSSAPI_PLAINTEXT: no GSSAPI.
        is_gssapi_plaintext -> bool, set_gssapi_plaintext(bool)
    );

    /// ZMQ_REQ_RELAXED (REQ only): a new request may be sent before the reply arrived.
    pub fn set_req_relaxed(&self, value: bool) -> Result<()> {
        self.base_mut()
            .pattern_mut()
            .set_sockopt(rustzmq_transport::options::sockopt::REQ_RELAXED, &i32::from(value).to_ne_bytes())
            .map_err(Error::from)
    }
    /// ZMQ_REQ_CORRELATE (REQ only): requests carry an id that the reply must match.
    pub fn set_req_correlate(&self, value: bool) -> Result<()> {
        self.base_mut()
            .pattern_mut()
            .set_sockopt(rustzmq_transport::options::sockopt::REQ_CORRELATE, &i32::from(value).to_ne_bytes())
            .map_err(Error::from)
    }

    /// ZMQ_TYPE.
    pub fn get_socket_type(&self) -> Result<SocketType> {
        Ok(self.inner.socket_type)
    }

    /// ZMQ_RCVMORE: whether the last frame received has more frames after it.
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(self.inner.rcvmore.get())
    }

    int_option!(
        /// ZMQ_MAXMSGSIZE (bytes, -1 = no limit).
        get_maxmsgsize, set_maxmsgsize, maxmsgsize, i64, |v| v >= -1
    );
    int_option!(
        /// ZMQ_SNDHWM (messages, 0 = no limit).
        get_sndhwm, set_sndhwm, sndhwm, i32, |v| v >= 0
    );
    int_option!(
        /// ZMQ_RCVHWM (messages, 0 = no limit).
        get_rcvhwm, set_rcvhwm, rcvhwm, i32, |v| v >= 0
    );

    /// ZMQ_AFFINITY (stored; rustzmq assigns I/O threads round robin).
    pub fn get_affinity(&self) -> Result<u64> {
        Ok(self.inner.affinity.get())
    }
    /// ZMQ_AFFINITY.
    pub fn set_affinity(&self, value: u64) -> Result<()> {
        self.inner.affinity.set(value);
        Ok(())
    }

    int_option!(
        /// ZMQ_RATE (stored, as libzmq does without a multicast transport).
        get_rate, set_rate, rate, i32, |v| v > 0
    );
    int_option!(
        /// ZMQ_RECOVERY_IVL (stored, as libzmq does without a multicast transport).
        get_recovery_ivl, set_recovery_ivl, recovery_ivl, i32, |v| v >= 0
    );

    int_option!(
        /// ZMQ_SNDBUF (bytes, -1 = OS default), applied to new connections.
        get_sndbuf, set_sndbuf, sndbuf, i32, |v| v >= -1
    );
    int_option!(
        /// ZMQ_RCVBUF (bytes, -1 = OS default), applied to new connections.
        get_rcvbuf, set_rcvbuf, rcvbuf, i32, |v| v >= -1
    );
    int_option!(
        /// ZMQ_TOS, applied to new TCP connections.
        get_tos, set_tos, tos, i32, |v| v >= 0
    );
    int_option!(
        /// ZMQ_LINGER (ms, -1 = forever).
        get_linger, set_linger, linger, i32, |v| v >= -1
    );
    int_option!(
        /// ZMQ_RECONNECT_IVL (ms, -1 = never reconnect).
        get_reconnect_ivl, set_reconnect_ivl, reconnect_ivl, i32, |v| v >= -1
    );
    int_option!(
        /// ZMQ_RECONNECT_IVL_MAX (ms, 0 = no backoff).
        get_reconnect_ivl_max, set_reconnect_ivl_max, reconnect_ivl_max, i32, |v| v >= 0
    );
    int_option!(
        /// ZMQ_BACKLOG, applied to later binds.
        get_backlog, set_backlog, backlog, i32, |v| v >= 0
    );

    /// ZMQ_FD: becomes readable (edge-triggered) when [`Socket::get_events`] may have changed.
    pub fn get_fd(&self) -> Result<RawFd> {
        Ok(self.signal_fd())
    }

    /// ZMQ_EVENTS: POLLIN and/or POLLOUT as the socket stands now.
    pub fn get_events(&self) -> Result<PollEvents> {
        let (pollin, pollout) = self.pending_events()?;
        let mut events = PollEvents::empty();
        if pollin {
            events |= PollEvents::POLLIN;
        }
        if pollout {
            events |= PollEvents::POLLOUT;
        }
        Ok(events)
    }

    int_option!(
        /// ZMQ_MULTICAST_HOPS (stored, as libzmq does without a multicast transport).
        get_multicast_hops, set_multicast_hops, multicast_hops, i32, |v| v > 0
    );

    int_option!(
        /// ZMQ_RCVTIMEO (ms, -1 = forever); expiry fails with EAGAIN.
        get_rcvtimeo, set_rcvtimeo, rcvtimeo, i32, |v| v >= -1
    );
    int_option!(
        /// ZMQ_SNDTIMEO (ms, -1 = forever); expiry fails with EAGAIN.
        get_sndtimeo, set_sndtimeo, sndtimeo, i32, |v| v >= -1
    );
    int_option!(
        /// ZMQ_TCP_KEEPALIVE (-1 OS default, 0 off, 1 on).
        get_tcp_keepalive, set_tcp_keepalive, tcp_keepalive, i32, |v| (-1..=1).contains(&v)
    );
    int_option!(
        /// ZMQ_TCP_KEEPALIVE_CNT.
        get_tcp_keepalive_cnt, set_tcp_keepalive_cnt, tcp_keepalive_cnt, i32, |v| v == -1 || v > 0
    );
    int_option!(
        /// ZMQ_TCP_KEEPALIVE_IDLE (s).
        get_tcp_keepalive_idle, set_tcp_keepalive_idle, tcp_keepalive_idle, i32, |v| v == -1 || v > 0
    );
    int_option!(
        /// ZMQ_TCP_KEEPALIVE_INTVL (s).
        get_tcp_keepalive_intvl, set_tcp_keepalive_intvl, tcp_keepalive_intvl, i32, |v| v == -1 || v > 0
    );
    int_option!(
        /// ZMQ_HANDSHAKE_IVL (ms, 0 = no limit).
        get_handshake_ivl, set_handshake_ivl, handshake_ivl, i32, |v| v >= 0
    );

    /// ZMQ_ROUTING_ID (formerly ZMQ_IDENTITY).
    pub fn get_identity(&self) -> Result<Vec<u8>> {
        Ok(self.base().options.routing_id.to_vec())
    }
    /// ZMQ_ROUTING_ID: 1 to 255 bytes.
    pub fn set_identity(&self, value: &[u8]) -> Result<()> {
        if value.is_empty() || value.len() > 255 {
            return Err(Error::EINVAL);
        }
        self.base_mut().options.routing_id = Bytes::copy_from_slice(value);
        Ok(())
    }

    /// ZMQ_SUBSCRIBE: SUB, and XPUB with XPUB_MANUAL (for the pipe of the subscription
    /// received last).
    pub fn set_subscribe(&self, value: &[u8]) -> Result<()> {
        // SUB, and XPUB with XPUB_MANUAL; EINVAL for the others, as in libzmq.
        let option = rustzmq_transport::options::sockopt::SUBSCRIBE;
        self.base_mut().pattern_mut().set_sockopt(option, value).map_err(Error::from)
    }
    /// ZMQ_UNSUBSCRIBE: SUB, and XPUB with XPUB_MANUAL.
    pub fn set_unsubscribe(&self, value: &[u8]) -> Result<()> {
        let option = rustzmq_transport::options::sockopt::UNSUBSCRIBE;
        self.base_mut().pattern_mut().set_sockopt(option, value).map_err(Error::from)
    }

    int_option!(
        /// ZMQ_HEARTBEAT_IVL (ms between PINGs, 0 = none), for later connections.
        get_heartbeat_ivl, set_heartbeat_ivl, heartbeat_ivl, i32, |v| v >= 0
    );
    int_option!(
        /// ZMQ_HEARTBEAT_TTL (ms the peer may stay silent, sent in our PINGs; tenths of a
        /// second on the wire).
        get_heartbeat_ttl, set_heartbeat_ttl, heartbeat_ttl, i32, |v| (0..=6_553_599).contains(&v)
    );
    int_option!(
        /// ZMQ_HEARTBEAT_TIMEOUT (ms to wait for traffic after a PING, -1 = the interval).
        get_heartbeat_timeout, set_heartbeat_timeout, heartbeat_timeout, i32, |v| v >= -1
    );
    int_option!(
        /// ZMQ_CONNECT_TIMEOUT (ms a TCP connect may take, 0 = the OS's), for later connects.
        get_connect_timeout, set_connect_timeout, connect_timeout, i32, |v| v >= 0
    );

    /// ZMQ_SOCKS_PROXY (not built yet: always empty).
    pub fn get_socks_proxy(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(text(&self.base().options.socks_proxy))
    }
    /// ZMQ_SOCKS_PROXY (`None` clears it). rustzmq has no SOCKS client yet: while a proxy is
    /// set, tcp connects fail with ENOTSUP rather than bypass it.
    pub fn set_socks_proxy(&self, value: Option<&str>) -> Result<()> {
        self.base_mut().options.socks_proxy = Bytes::copy_from_slice(value.unwrap_or("").as_bytes());
        Ok(())
    }

    /// ZMQ_MECHANISM.
    pub fn get_mechanism(&self) -> Result<Mechanism> {
        Ok(match self.base().options.mechanism {
            MechanismKind::Null => Mechanism::ZMQ_NULL,
            MechanismKind::Plain => Mechanism::ZMQ_PLAIN,
            MechanismKind::Curve => Mechanism::ZMQ_CURVE,
        })
    }

    /// ZMQ_PLAIN_USERNAME.
    pub fn get_plain_username(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(text(&self.base().options.plain_username))
    }
    /// ZMQ_PLAIN_USERNAME: `Some` makes the socket a PLAIN client, `None` goes back to NULL.
    pub fn set_plain_username(&self, value: Option<&str>) -> Result<()> {
        self.set_plain_credential(value, |options, v| options.plain_username = v)
    }
    /// ZMQ_PLAIN_PASSWORD.
    pub fn get_plain_password(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(text(&self.base().options.plain_password))
    }
    /// ZMQ_PLAIN_PASSWORD: `Some` makes the socket a PLAIN client, `None` goes back to NULL.
    pub fn set_plain_password(&self, value: Option<&str>) -> Result<()> {
        self.set_plain_credential(value, |options, v| options.plain_password = v)
    }

    fn set_plain_credential(&self, value: Option<&str>, store: fn(&mut Options, Bytes)) -> Result<()> {
        let mut base = self.base_mut();
        match value {
            Some(v) if v.len() > 255 => return Err(Error::EINVAL),
            Some(v) => {
                store(&mut base.options, Bytes::copy_from_slice(v.as_bytes()));
                base.options.mechanism = MechanismKind::Plain;
                base.options.as_server = false;
            }
            None => {
                store(&mut base.options, Bytes::new());
                base.options.mechanism = MechanismKind::Null;
            }
        }
        Ok(())
    }

    /// ZMQ_ZAP_DOMAIN.
    pub fn get_zap_domain(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(text(&self.base().options.zap_domain))
    }
    /// ZMQ_ZAP_DOMAIN (at most 255 bytes).
    pub fn set_zap_domain(&self, value: &str) -> Result<()> {
        if value.len() > 255 {
            return Err(Error::EINVAL);
        }
        self.base_mut().options.zap_domain = Bytes::copy_from_slice(value.as_bytes());
        Ok(())
    }

    /// ZMQ_LAST_ENDPOINT: the endpoint last bound or connected, with wildcards resolved.
    pub fn get_last_endpoint(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.base().last_endpoint().to_owned()))
    }

    /// ZMQ_CURVE_PUBLICKEY (32 raw bytes; zeros until set).
    pub fn get_curve_publickey(&self) -> Result<Vec<u8>> {
        Ok(self.base().options.curve_public_key.unwrap_or_default().to_vec())
    }
    /// ZMQ_CURVE_PUBLICKEY: 32 raw bytes or 40 Z85 characters; selects CURVE.
    pub fn set_curve_publickey(&self, value: &[u8]) -> Result<()> {
        let key = curve_key(value)?;
        let mut base = self.base_mut();
        base.options.curve_public_key = Some(key);
        base.options.mechanism = MechanismKind::Curve;
        Ok(())
    }
    /// ZMQ_CURVE_SECRETKEY (32 raw bytes; zeros until set).
    pub fn get_curve_secretkey(&self) -> Result<Vec<u8>> {
        Ok(self.base().options.curve_secret_key.unwrap_or_default().to_vec())
    }
    /// ZMQ_CURVE_SECRETKEY: 32 raw bytes or 40 Z85 characters; selects CURVE.
    pub fn set_curve_secretkey(&self, value: &[u8]) -> Result<()> {
        let key = curve_key(value)?;
        let mut base = self.base_mut();
        base.options.curve_secret_key = Some(key);
        base.options.mechanism = MechanismKind::Curve;
        Ok(())
    }
    /// ZMQ_CURVE_SERVERKEY (32 raw bytes; zeros until set).
    pub fn get_curve_serverkey(&self) -> Result<Vec<u8>> {
        Ok(self.base().options.curve_server_key.unwrap_or_default().to_vec())
    }
    /// ZMQ_CURVE_SERVERKEY: 32 raw bytes or 40 Z85 characters; makes the socket a CURVE
    /// client of the server with that public key.
    pub fn set_curve_serverkey(&self, value: &[u8]) -> Result<()> {
        let key = curve_key(value)?;
        let mut base = self.base_mut();
        base.options.curve_server_key = Some(key);
        base.options.mechanism = MechanismKind::Curve;
        base.options.as_server = false;
        Ok(())
    }
    absent_option!(
        /// ZMQ_GSSAPI_PRINCIPAL: no GSSAPI.
        get_gssapi_principal -> std::result::Result<String, Vec<u8>>, set_gssapi_principal(&str)
    );
    absent_option!(
        /// ZMQ_GSSAPI_SERVICE_PRINCIPAL: no GSSAPI.
        get_gssapi_service_principal -> std::result::Result<String, Vec<u8>>, set_gssapi_service_principal(&str)
    );

    /// ZMQ_XPUB_WELCOME_MSG (PUB and XPUB): sent to each new subscriber.
    pub fn set_xpub_welcome_msg(&self, value: Option<&str>) -> Result<()> {
        // `None` (or "") removes the welcome message.
        let option = rustzmq_transport::options::sockopt::XPUB_WELCOME_MSG;
        let value = value.map_or(&[][..], str::as_bytes);
        self.base_mut().pattern_mut().set_sockopt(option, value).map_err(Error::from)
    }
    /// ZMQ_XPUB_VERBOSE (PUB and XPUB): pass every subscription, duplicates too.
    pub fn set_xpub_verbose(&self, value: bool) -> Result<()> {
        let option = rustzmq_transport::options::sockopt::XPUB_VERBOSE;
        let value = i32::from(value).to_ne_bytes();
        self.base_mut().pattern_mut().set_sockopt(option, &value).map_err(Error::from)
    }
}

impl std::os::fd::AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.signal_fd()
    }
}

// The `zmq` crate's Socket and Context can be used inside `catch_unwind`; a panic cannot leave
// a socket in a state that breaks memory safety, only with a half-sent message, as in libzmq.
impl std::panic::UnwindSafe for Socket {}
impl std::panic::RefUnwindSafe for Socket {}
