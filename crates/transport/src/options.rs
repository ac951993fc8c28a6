//! Socket options as the engine needs them, with libzmq 4.3's defaults. The facade validates
//! and stores them; sessions and engines copy what they need when a connection starts.

use std::time::Duration;

use bytes::Bytes;

/// libzmq socket type numbers (ZMQ_PAIR = 0 ... ZMQ_STREAM = 11).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKind {
    Pair = 0,
    Pub = 1,
    Sub = 2,
    Req = 3,
    Rep = 4,
    Dealer = 5,
    Router = 6,
    Pull = 7,
    Push = 8,
    Xpub = 9,
    Xsub = 10,
    Stream = 11,
}

impl SocketKind {
    /// The name sent in the Socket-Type metadata property.
    pub fn name(self) -> &'static str {
        match self {
            SocketKind::Pair => "PAIR",
            SocketKind::Pub => "PUB",
            SocketKind::Sub => "SUB",
            SocketKind::Req => "REQ",
            SocketKind::Rep => "REP",
            SocketKind::Dealer => "DEALER",
            SocketKind::Router => "ROUTER",
            SocketKind::Pull => "PULL",
            SocketKind::Push => "PUSH",
            SocketKind::Xpub => "XPUB",
            SocketKind::Xsub => "XSUB",
            SocketKind::Stream => "STREAM",
        }
    }

    /// Parses a Socket-Type property value.
    pub fn from_name(name: &[u8]) -> Option<SocketKind> {
        Some(match name {
            b"PAIR" => SocketKind::Pair,
            b"PUB" => SocketKind::Pub,
            b"SUB" => SocketKind::Sub,
            b"REQ" => SocketKind::Req,
            b"REP" => SocketKind::Rep,
            b"DEALER" => SocketKind::Dealer,
            b"ROUTER" => SocketKind::Router,
            b"PULL" => SocketKind::Pull,
            b"PUSH" => SocketKind::Push,
            b"XPUB" => SocketKind::Xpub,
            b"XSUB" => SocketKind::Xsub,
            b"STREAM" => SocketKind::Stream,
            _ => return None,
        })
    }

    /// Whether a peer of type `peer` may connect to us (RFC 23's compatibility table, as
    /// libzmq's `mechanism_t::check_socket_type` applies it).
    pub fn is_compatible_with(self, peer: SocketKind) -> bool {
        use SocketKind::*;
        match self {
            Pair => peer == Pair,
            Pub | Xpub => matches!(peer, Sub | Xsub),
            Sub | Xsub => matches!(peer, Pub | Xpub),
            Req => matches!(peer, Rep | Router),
            Rep => matches!(peer, Req | Dealer),
            Dealer => matches!(peer, Rep | Dealer | Router),
            Router => matches!(peer, Req | Dealer | Router),
            Pull => peer == Push,
            Push => peer == Pull,
            Stream => false,
        }
    }
}

/// The options the engine layer uses. Field names follow libzmq's ZMQ_* options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The socket's type.
    pub kind: SocketKind,
    /// ZMQ_SNDHWM (messages; 0 = no limit).
    pub sndhwm: i32,
    /// ZMQ_RCVHWM.
    pub rcvhwm: i32,
    /// ZMQ_LINGER in ms (-1 = forever).
    pub linger: i32,
    /// ZMQ_RCVTIMEO in ms (-1 = forever).
    pub rcvtimeo: i32,
    /// ZMQ_SNDTIMEO in ms (-1 = forever).
    pub sndtimeo: i32,
    /// ZMQ_RECONNECT_IVL in ms (-1 = no reconnection).
    pub reconnect_ivl: i32,
    /// ZMQ_RECONNECT_IVL_MAX in ms (0 = no backoff).
    pub reconnect_ivl_max: i32,
    /// ZMQ_BACKLOG.
    pub backlog: i32,
    /// ZMQ_MAXMSGSIZE in bytes (-1 = no limit).
    pub maxmsgsize: i64,
    /// ZMQ_SNDBUF (-1 = OS default).
    pub sndbuf: i32,
    /// ZMQ_RCVBUF (-1 = OS default).
    pub rcvbuf: i32,
    /// ZMQ_IMMEDIATE: queue only to completed connections.
    pub immediate: bool,
    /// ZMQ_IPV6.
    pub ipv6: bool,
    /// ZMQ_TCP_KEEPALIVE (-1 = OS default, 0 = off, 1 = on).
    pub tcp_keepalive: i32,
    /// ZMQ_TCP_KEEPALIVE_CNT.
    pub tcp_keepalive_cnt: i32,
    /// ZMQ_TCP_KEEPALIVE_IDLE (s).
    pub tcp_keepalive_idle: i32,
    /// ZMQ_TCP_KEEPALIVE_INTVL (s).
    pub tcp_keepalive_intvl: i32,
    /// ZMQ_HANDSHAKE_IVL in ms (0 = no limit).
    pub handshake_ivl: i32,
    /// ZMQ_ROUTING_ID (a.k.a. identity) sent in READY.
    pub routing_id: Bytes,
    /// ZMQ_TOS.
    pub tos: i32,
    /// ZMQ_PROBE_ROUTER, for pipes the I/O thread makes (the socket type keeps it too).
    pub probe_router: bool,
    /// ZMQ_HEARTBEAT_IVL in ms (0 = no heartbeats).
    pub heartbeat_ivl: i32,
    /// ZMQ_HEARTBEAT_TTL in ms, sent in our PINGs (0 = none).
    pub heartbeat_ttl: i32,
    /// ZMQ_HEARTBEAT_TIMEOUT in ms (-1 = the heartbeat interval).
    pub heartbeat_timeout: i32,
    /// ZMQ_MECHANISM, as the security options set it.
    pub mechanism: MechanismKind,
    /// ZMQ_PLAIN_SERVER / ZMQ_CURVE_SERVER: this side is the mechanism's server.
    pub as_server: bool,
    /// ZMQ_PLAIN_USERNAME.
    pub plain_username: Bytes,
    /// ZMQ_PLAIN_PASSWORD.
    pub plain_password: Bytes,
    /// ZMQ_CURVE_PUBLICKEY (32 raw bytes).
    pub curve_public_key: Option<[u8; 32]>,
    /// ZMQ_CURVE_SECRETKEY (32 raw bytes).
    pub curve_secret_key: Option<[u8; 32]>,
    /// ZMQ_CURVE_SERVERKEY (32 raw bytes).
    pub curve_server_key: Option<[u8; 32]>,
    /// ZMQ_ZAP_DOMAIN.
    pub zap_domain: Bytes,
    /// ZMQ_CONNECT_TIMEOUT in ms for a TCP connect (0 = the OS's).
    pub connect_timeout: i32,
    /// ZMQ_CONFLATE: keep only the newest inbound message.
    pub conflate: bool,
    /// ZMQ_RATE (stored: no multicast transport).
    pub rate: i32,
    /// ZMQ_RECOVERY_IVL (stored: no multicast transport).
    pub recovery_ivl: i32,
    /// ZMQ_MULTICAST_HOPS (stored: no multicast transport).
    pub multicast_hops: i32,
    /// ZMQ_SOCKS_PROXY (empty: none). rustzmq has no SOCKS client: tcp connects fail while set.
    pub socks_proxy: Bytes,
}

/// The security mechanism a socket uses (ZMQ_MECHANISM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MechanismKind {
    /// ZMQ_NULL.
    #[default]
    Null,
    /// ZMQ_PLAIN.
    Plain,
    /// ZMQ_CURVE.
    Curve,
}

impl Options {
    /// libzmq 4.3's defaults for a socket of `kind`.
    pub fn new(kind: SocketKind) -> Options {
        Options {
            kind,
            sndhwm: 1000,
            rcvhwm: 1000,
            // libzmq's SUB and XSUB do not wait for queued subscriptions at close.
            linger: if matches!(kind, SocketKind::Sub | SocketKind::Xsub) { 0 } else { -1 },
            rcvtimeo: -1,
            sndtimeo: -1,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            backlog: 100,
            maxmsgsize: -1,
            sndbuf: -1,
            rcvbuf: -1,
            immediate: false,
            ipv6: false,
            tcp_keepalive: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            handshake_ivl: 30_000,
            routing_id: Bytes::new(),
            tos: 0,
            probe_router: false,
            heartbeat_ivl: 0,
            heartbeat_ttl: 0,
            heartbeat_timeout: -1,
            mechanism: MechanismKind::Null,
            as_server: false,
            plain_username: Bytes::new(),
            plain_password: Bytes::new(),
            curve_public_key: None,
            curve_secret_key: None,
            curve_server_key: None,
            zap_domain: Bytes::new(),
            connect_timeout: 0,
            conflate: false,
            rate: 100,
            recovery_ivl: 10_000,
            multicast_hops: 1,
            socks_proxy: Bytes::new(),
        }
    }

    /// A timeout option in ms as a `Duration` (`None` = forever).
    pub fn timeout(ms: i32) -> Option<Duration> {
        u64::try_from(ms).ok().map(Duration::from_millis)
    }

    /// The high-water mark as a pipe limit (0 = none).
    pub fn hwm(value: i32) -> u64 {
        u64::try_from(value).unwrap_or(0)
    }

    /// The limit of the pipe carrying messages to this socket: RCVHWM, or none with
    /// ZMQ_CONFLATE (libzmq's conflating pipe never blocks its writer; the socket keeps the
    /// newest message).
    pub fn inbound_hwm(&self) -> u64 {
        if self.conflate {
            0
        } else {
            Options::hwm(self.rcvhwm)
        }
    }
}

/// libzmq's option numbers for the socket-type options passed to
/// [`Pattern::set_sockopt`](crate::Pattern::set_sockopt).
pub mod sockopt {
    /// ZMQ_SUBSCRIBE.
    pub const SUBSCRIBE: i32 = 6;
    /// ZMQ_UNSUBSCRIBE.
    pub const UNSUBSCRIBE: i32 = 7;
    /// ZMQ_ROUTER_MANDATORY.
    pub const ROUTER_MANDATORY: i32 = 33;
    /// ZMQ_XPUB_VERBOSE.
    pub const XPUB_VERBOSE: i32 = 40;
    /// ZMQ_PROBE_ROUTER.
    pub const PROBE_ROUTER: i32 = 51;
    /// ZMQ_REQ_CORRELATE.
    pub const REQ_CORRELATE: i32 = 52;
    /// ZMQ_REQ_RELAXED.
    pub const REQ_RELAXED: i32 = 53;
    /// ZMQ_CONFLATE.
    pub const CONFLATE: i32 = 54;
    /// ZMQ_ROUTER_HANDOVER.
    pub const ROUTER_HANDOVER: i32 = 56;
    /// ZMQ_CONNECT_ROUTING_ID.
    pub const CONNECT_ROUTING_ID: i32 = 61;
    /// ZMQ_XPUB_NODROP.
    pub const XPUB_NODROP: i32 = 69;
    /// ZMQ_XPUB_MANUAL.
    pub const XPUB_MANUAL: i32 = 71;
    /// ZMQ_XPUB_WELCOME_MSG.
    pub const XPUB_WELCOME_MSG: i32 = 72;
    /// ZMQ_STREAM_NOTIFY.
    pub const STREAM_NOTIFY: i32 = 73;
    /// ZMQ_INVERT_MATCHING.
    pub const INVERT_MATCHING: i32 = 74;
    /// ZMQ_XPUB_VERBOSER.
    pub const XPUB_VERBOSER: i32 = 78;
}
