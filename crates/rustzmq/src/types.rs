//! The small vocabulary types and free functions of the `zmq` crate 0.10: [`SocketType`],
//! [`SocketEvent`], [`Mechanism`], [`PollEvents`] with [`POLLIN`]/[`POLLOUT`]/[`POLLERR`], the
//! [`DONTWAIT`]/[`SNDMORE`] flags, [`version`] and [`has`].
//!
//! The enums are closed on purpose (user code matches on them exhaustively) and their
//! discriminants are libzmq's numbers, so `zmq::REQ as i32 == 3` and
//! `SocketEvent::ALL as i32 == 0xFFFF` hold as with the `zmq` crate.

#![forbid(unsafe_code)]
// The names are libzmq's constants, kept for source compatibility.
#![allow(non_camel_case_types, clippy::upper_case_acronyms)]

/// The libzmq version this library behaves as (and reports through [`version`]): the one the
/// `zmq` crate 0.10 always builds (`zmq-sys 0.12`, zeromq-src 0.2.6).
const VERSION: (i32, i32, i32) = (4, 3, 4);

/// The flag that makes a send or receive call non-blocking (`ZMQ_DONTWAIT`): the call fails
/// with `EAGAIN` instead of waiting.
pub static DONTWAIT: i32 = 1;

/// The flag telling a send call that more frames of the same message follow (`ZMQ_SNDMORE`).
pub static SNDMORE: i32 = 2;

/// The type of a socket, chosen when it is created with `Context::socket`.
///
/// The discriminants are libzmq's numbers (`REQ as i32 == 3`). The variants are also exported
/// at the crate root (`zmq::REQ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketType {
    /// Exclusive pair (`ZMQ_PAIR`).
    PAIR = 0,
    /// Publisher (`ZMQ_PUB`).
    PUB = 1,
    /// Subscriber (`ZMQ_SUB`).
    SUB = 2,
    /// Request (`ZMQ_REQ`).
    REQ = 3,
    /// Reply (`ZMQ_REP`).
    REP = 4,
    /// Asynchronous request/reply (`ZMQ_DEALER`).
    DEALER = 5,
    /// Addressed routing (`ZMQ_ROUTER`).
    ROUTER = 6,
    /// Pipeline receiver (`ZMQ_PULL`).
    PULL = 7,
    /// Pipeline sender (`ZMQ_PUSH`).
    PUSH = 8,
    /// Publisher that also receives subscriptions (`ZMQ_XPUB`).
    XPUB = 9,
    /// Subscriber that sends subscriptions as messages (`ZMQ_XSUB`).
    XSUB = 10,
    /// Raw TCP stream (`ZMQ_STREAM`).
    STREAM = 11,
}

impl SocketType {
    /// Every type, in libzmq's order.
    #[allow(dead_code)] // used by tests and socket.rs
    pub(crate) const ALL: [SocketType; 12] = [
        SocketType::PAIR,
        SocketType::PUB,
        SocketType::SUB,
        SocketType::REQ,
        SocketType::REP,
        SocketType::DEALER,
        SocketType::ROUTER,
        SocketType::PULL,
        SocketType::PUSH,
        SocketType::XPUB,
        SocketType::XSUB,
        SocketType::STREAM,
    ];

    /// libzmq's number for the type (`ZMQ_TYPE`).
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn to_raw(self) -> i32 {
        self as i32
    }

    /// The type for a libzmq number.
    ///
    /// # Panics
    ///
    /// On a number that is not a socket type, like the `zmq` crate.
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn from_raw(raw: i32) -> SocketType {
        match usize::try_from(raw).ok().and_then(|i| SocketType::ALL.get(i)) {
            Some(&t) => t,
            None => panic!("socket type is out of range!"),
        }
    }
}

/// A socket monitor event (`ZMQ_EVENT_*`), as read from the first frame of a monitor message.
///
/// The discriminants are libzmq's bit values, so `SocketEvent::ALL as i32` is the usual mask
/// for `Socket::monitor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketEvent {
    /// A connection to a peer was established.
    CONNECTED = 0x0001,
    /// A connect is pending (asynchronous).
    CONNECT_DELAYED = 0x0002,
    /// A reconnect was scheduled.
    CONNECT_RETRIED = 0x0004,
    /// The socket is bound and listening.
    LISTENING = 0x0008,
    /// A bind failed.
    BIND_FAILED = 0x0010,
    /// A connection from a peer was accepted.
    ACCEPTED = 0x0020,
    /// Accepting a connection failed.
    ACCEPT_FAILED = 0x0040,
    /// A connection's (or listener's) descriptor was closed.
    CLOSED = 0x0080,
    /// Closing a descriptor failed.
    CLOSE_FAILED = 0x0100,
    /// A session was broken.
    DISCONNECTED = 0x0200,
    /// The monitor was stopped (the last event sent).
    MONITOR_STOPPED = 0x0400,
    /// A handshake failed, without more detail.
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800,
    /// A handshake succeeded.
    HANDSHAKE_SUCCEEDED = 0x1000,
    /// A handshake failed because of a protocol error.
    HANDSHAKE_FAILED_PROTOCOL = 0x2000,
    /// A handshake failed because authentication was refused.
    HANDSHAKE_FAILED_AUTH = 0x4000,
    /// Every event (a mask for `Socket::monitor`).
    ALL = 0xFFFF,
}

impl SocketEvent {
    /// libzmq's value of the event.
    pub fn to_raw(self) -> u16 {
        self as u16
    }

    /// The event for a libzmq value.
    ///
    /// # Panics
    ///
    /// On a value that is not one of the variants (a combination of bits included), like the
    /// `zmq` crate.
    pub fn from_raw(raw: u16) -> SocketEvent {
        match raw {
            0x0001 => SocketEvent::CONNECTED,
            0x0002 => SocketEvent::CONNECT_DELAYED,
            0x0004 => SocketEvent::CONNECT_RETRIED,
            0x0008 => SocketEvent::LISTENING,
            0x0010 => SocketEvent::BIND_FAILED,
            0x0020 => SocketEvent::ACCEPTED,
            0x0040 => SocketEvent::ACCEPT_FAILED,
            0x0080 => SocketEvent::CLOSED,
            0x0100 => SocketEvent::CLOSE_FAILED,
            0x0200 => SocketEvent::DISCONNECTED,
            0x0400 => SocketEvent::MONITOR_STOPPED,
            0x0800 => SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
            0x1000 => SocketEvent::HANDSHAKE_SUCCEEDED,
            0x2000 => SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
            0x4000 => SocketEvent::HANDSHAKE_FAILED_AUTH,
            0xFFFF => SocketEvent::ALL,
            _ => panic!("unknown event type {raw}"),
        }
    }
}

/// A security mechanism (`ZMQ_MECHANISM`), as reported by `Socket::get_mechanism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    /// No security (`ZMQ_NULL`).
    ZMQ_NULL = 0,
    /// Clear-text user name and password (`ZMQ_PLAIN`).
    ZMQ_PLAIN = 1,
    /// CurveZMQ encryption and authentication (`ZMQ_CURVE`).
    ZMQ_CURVE = 2,
    /// Kerberos (`ZMQ_GSSAPI`).
    ZMQ_GSSAPI = 3,
}

impl Mechanism {
    /// libzmq's number for the mechanism.
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn to_raw(self) -> i32 {
        self as i32
    }

    /// The mechanism for a libzmq number.
    ///
    /// # Panics
    ///
    /// On a number that is not a mechanism, like the `zmq` crate.
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn from_raw(raw: i32) -> Mechanism {
        match raw {
            0 => Mechanism::ZMQ_NULL,
            1 => Mechanism::ZMQ_PLAIN,
            2 => Mechanism::ZMQ_CURVE,
            3 => Mechanism::ZMQ_GSSAPI,
            _ => panic!("Mechanism is out of range!"),
        }
    }
}

bitflags::bitflags! {
    /// Type representing pending socket events.
    pub struct PollEvents: i16 {
        /// For `poll()`, specifies to signal when a message/some data
        /// can be read from a socket.
        const POLLIN = 1;
        /// For `poll()`, specifies to signal when a message/some data
        /// can be written to a socket.
        const POLLOUT = 2;
        /// For `poll()`, specifies to signal when an error condition
        /// is present on a socket. This only applies to non-0MQ
        /// sockets.
        const POLLERR = 4;
    }
}

/// For `poll()`, specifies to signal when a message/some data can be read from a socket.
pub const POLLIN: PollEvents = PollEvents::POLLIN;

/// For `poll()`, specifies to signal when a message/some data can be written to a socket.
pub const POLLOUT: PollEvents = PollEvents::POLLOUT;

/// For `poll()`, specifies to signal when an error condition is present on a socket. This only
/// applies to non-0MQ sockets.
pub const POLLERR: PollEvents = PollEvents::POLLERR;

/// The libzmq version this library is compatible with, as `(major, minor, patch)`.
///
/// rustzmq speaks ZMTP and behaves like libzmq 4.3 (monitor events included), and reports the
/// version the `zmq` crate 0.10 is always built with: 4.3.4.
pub fn version() -> (i32, i32, i32) {
    VERSION
}

/// Whether the library supports a capability (`zmq_has`): `"ipc"`, `"pgm"`, `"tipc"`,
/// `"norm"`, `"curve"`, `"gssapi"`, `"draft"`...
///
/// Always `Some`: an unknown name gives `Some(false)`.
///
/// # Panics
///
/// If `capability` contains a NUL byte, like the `zmq` crate (which makes a C string of it).
pub fn has(capability: &str) -> Option<bool> {
    assert!(
        !capability.as_bytes().contains(&0),
        "called `Result::unwrap()` on an `Err` value: a capability name containing a NUL byte"
    );
    let supported = match capability {
        "ipc" => cfg!(unix),
        "curve" => true,
        // GSSAPI, the multicast transports, TIPC, VMCI and the draft API are not provided
        // (libzmq's zmq_has does not know "plain": PLAIN is always there).
        "gssapi" | "pgm" | "tipc" | "norm" | "vmci" | "draft" => false,
        _ => false,
    };
    Some(supported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_types_round_trip() {
        for (i, t) in SocketType::ALL.into_iter().enumerate() {
            assert_eq!(t as i32, i as i32);
            assert_eq!(t.to_raw(), i as i32);
            assert_eq!(SocketType::from_raw(t.to_raw()), t);
        }
        assert_eq!(SocketType::REQ as i32, 3);
        assert_eq!(SocketType::STREAM.to_raw(), 11);
        assert_eq!(format!("{:?}", SocketType::DEALER), "DEALER");
    }

    #[test]
    #[should_panic(expected = "socket type is out of range!")]
    fn socket_type_from_raw_panics() {
        let _ = SocketType::from_raw(12);
    }

    #[test]
    #[should_panic(expected = "socket type is out of range!")]
    fn socket_type_from_negative_raw_panics() {
        let _ = SocketType::from_raw(-1);
    }

    #[test]
    fn socket_events_round_trip() {
        let all = [
            (SocketEvent::CONNECTED, 0x0001),
            (SocketEvent::CONNECT_DELAYED, 0x0002),
            (SocketEvent::CONNECT_RETRIED, 0x0004),
            (SocketEvent::LISTENING, 0x0008),
            (SocketEvent::BIND_FAILED, 0x0010),
            (SocketEvent::ACCEPTED, 0x0020),
            (SocketEvent::ACCEPT_FAILED, 0x0040),
            (SocketEvent::CLOSED, 0x0080),
            (SocketEvent::CLOSE_FAILED, 0x0100),
            (SocketEvent::DISCONNECTED, 0x0200),
            (SocketEvent::MONITOR_STOPPED, 0x0400),
            (SocketEvent::HANDSHAKE_FAILED_NO_DETAIL, 0x0800),
            (SocketEvent::HANDSHAKE_SUCCEEDED, 0x1000),
            (SocketEvent::HANDSHAKE_FAILED_PROTOCOL, 0x2000),
            (SocketEvent::HANDSHAKE_FAILED_AUTH, 0x4000),
            (SocketEvent::ALL, 0xFFFF),
        ];
        for (e, raw) in all {
            assert_eq!(e.to_raw(), raw);
            assert_eq!(e as i32, i32::from(raw));
            assert_eq!(SocketEvent::from_raw(raw), e);
        }
    }

    #[test]
    #[should_panic(expected = "unknown event type 3")]
    fn socket_event_from_raw_panics() {
        let _ = SocketEvent::from_raw(3);
    }

    #[test]
    fn mechanisms_round_trip() {
        for (i, m) in [Mechanism::ZMQ_NULL, Mechanism::ZMQ_PLAIN, Mechanism::ZMQ_CURVE, Mechanism::ZMQ_GSSAPI]
            .into_iter()
            .enumerate()
        {
            assert_eq!(m.to_raw(), i as i32);
            assert_eq!(Mechanism::from_raw(i as i32), m);
        }
    }

    #[test]
    #[should_panic(expected = "Mechanism is out of range!")]
    fn mechanism_from_raw_panics() {
        let _ = Mechanism::from_raw(4);
    }

    #[test]
    fn poll_events_are_bitflags_1() {
        assert_eq!(POLLIN.bits(), 1);
        assert_eq!(POLLOUT.bits(), 2);
        assert_eq!(POLLERR.bits(), 4);
        assert_eq!(PollEvents::all().bits(), 7);
        assert!((POLLIN | POLLOUT).contains(POLLIN));
        assert!((POLLIN | POLLOUT).intersects(POLLOUT | POLLERR));
        assert!(!POLLIN.intersects(POLLOUT));
        assert_eq!(PollEvents::from_bits(8), None);
        assert_eq!(PollEvents::from_bits_truncate(0x0F), PollEvents::all());
        assert_eq!(format!("{POLLIN:?}"), "POLLIN");
        assert_eq!(format!("{:?}", POLLIN | POLLOUT), "POLLIN | POLLOUT");
        assert_eq!(format!("{:?}", PollEvents::empty()), "(empty)");
        let mut e = PollEvents::empty();
        e.insert(POLLERR);
        e |= POLLIN;
        assert_eq!(e - POLLERR, POLLIN);
        assert_eq!(!POLLIN, POLLOUT | POLLERR);
        let set: std::collections::HashSet<PollEvents> = [POLLIN, POLLIN].into_iter().collect();
        assert_eq!(set.len(), 1);
        let events = POLLIN;
        #[allow(trivial_casts)]
        let same = events as PollEvents;
        assert_eq!(same, POLLIN);
    }

    #[test]
    fn flags_version_and_has() {
        assert_eq!(DONTWAIT | SNDMORE, 3);
        let (major, minor, _) = version();
        assert_eq!((major, minor), (4, 3));
        assert_eq!(has("ipc"), Some(cfg!(unix)));
        assert_eq!(has("curve"), Some(true));
        for cap in ["plain", "gssapi", "pgm", "tipc", "norm", "draft", "vmci", "", "nonsense"] {
            assert_eq!(has(cap), Some(false), "{cap}");
        }
    }

    #[test]
    #[should_panic]
    fn has_panics_on_nul() {
        let _ = has("ip\0c");
    }
}
