//! Publish-subscribe interoperability with the real libzmq 4.3 (the `zmq` crate, renamed
//! `libzmq`): PUB↔SUB and XPUB↔XSUB, one side rustzmq and the other libzmq, over tcp and ipc,
//! with either side binding. Subscriptions cross in both wire forms: libzmq's SUB sends ZMTP
//! 3.1 SUBSCRIBE/CANCEL commands and its XSUB forwards `0x01`/`0x00` messages; rustzmq's SUB
//! and XSUB send commands to a 3.1 peer. XSUB does not filter, so what it receives shows the
//! publisher's own filtering. Also: one publisher to several subscribers of both libraries,
//! and subscriptions re-sent when a publisher of the other library restarts.
//!
//! Late joiners are synchronised as zguide does it (the publisher sends probes until the
//! subscriber gets one, within a deadline); every receive has a timeout.

mod common;

use std::time::{Duration, Instant};

use common::{fresh_endpoint, Lib, RemoveIpcFile, Transport};

/// Receive and send timeout of every socket, in milliseconds.
const TIMEOUT_MS: i32 = 5000;
/// How long a subscription or a reconnection may take to take effect.
const DEADLINE: Duration = Duration::from_secs(10);
/// Probes end with this; receivers skip them.
const PROBE_SUFFIX: &[u8] = b"\x00probe";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pub,
    Sub,
    Xpub,
    Xsub,
}

/// The operations the tests need, over both implementations (their APIs are the same).
trait Peer: Send {
    fn try_bind(&self, endpoint: &str) -> Result<(), String>;
    fn last_endpoint(&self) -> String;
    fn connect(&self, endpoint: &str);
    fn subscribe(&self, topic: &[u8]);
    fn unsubscribe(&self, topic: &[u8]);
    fn set_xpub_verbose(&self);
    fn set_xpub_welcome_msg(&self, message: &str);
    /// Sends a multipart message (blocking, with the send timeout).
    fn send(&self, parts: &[&[u8]]);
    /// Sends one frame without blocking (PUB drops rather than block anyway).
    fn send_dontwait(&self, data: &[u8]);
    /// Receives a multipart message; `None` on timeout.
    fn try_recv(&self) -> Option<Vec<Vec<u8>>>;
    fn set_rcvtimeo(&self, ms: i32);
    /// Handles pending commands (ZMQ_EVENTS does), such as attaching a new connection.
    fn process_commands(&self);
}

/// Implements [`Peer`] for the `Socket` of a crate with the `zmq` 0.10 API.
macro_rules! impl_peer {
    ($krate:ident) => {
        impl Peer for $krate::Socket {
            fn try_bind(&self, endpoint: &str) -> Result<(), String> {
                self.bind(endpoint).map_err(|e| e.to_string())
            }
            fn last_endpoint(&self) -> String {
                self.get_last_endpoint().unwrap().unwrap()
            }
            fn connect(&self, endpoint: &str) {
                $krate::Socket::connect(self, endpoint).unwrap();
            }
            fn subscribe(&self, topic: &[u8]) {
                self.set_subscribe(topic).unwrap();
            }
            fn unsubscribe(&self, topic: &[u8]) {
                self.set_unsubscribe(topic).unwrap();
            }
            fn set_xpub_verbose(&self) {
                $krate::Socket::set_xpub_verbose(self, true).unwrap();
            }
            fn set_xpub_welcome_msg(&self, message: &str) {
                $krate::Socket::set_xpub_welcome_msg(self, Some(message)).unwrap();
            }
            fn send(&self, parts: &[&[u8]]) {
                self.send_multipart(parts.iter().copied(), 0)
                    .unwrap_or_else(|e| panic!("{} send: {e}", stringify!($krate)));
            }
            fn send_dontwait(&self, data: &[u8]) {
                $krate::Socket::send(self, data, $krate::DONTWAIT)
                    .unwrap_or_else(|e| panic!("{} send: {e}", stringify!($krate)));
            }
            fn try_recv(&self) -> Option<Vec<Vec<u8>>> {
                match self.recv_multipart(0) {
                    Ok(parts) => Some(parts),
                    Err($krate::Error::EAGAIN) => None,
                    Err(e) => panic!("{} recv: {e}", stringify!($krate)),
                }
            }
            fn set_rcvtimeo(&self, ms: i32) {
                $krate::Socket::set_rcvtimeo(self, ms).unwrap();
            }
            fn process_commands(&self) {
                self.get_events().unwrap();
            }
        }

        impl Create for $krate::Socket {
            fn create(kind: Kind) -> Box<dyn Peer> {
                let socket_type = match kind {
                    Kind::Pub => $krate::PUB,
                    Kind::Sub => $krate::SUB,
                    Kind::Xpub => $krate::XPUB,
                    Kind::Xsub => $krate::XSUB,
                };
                // The socket keeps its own context, which ends when the socket is dropped.
                let socket = $krate::Context::new().socket(socket_type).unwrap();
                socket.set_linger(0).unwrap();
                socket.set_rcvtimeo(TIMEOUT_MS).unwrap();
                socket.set_sndtimeo(TIMEOUT_MS).unwrap();
                Box::new(socket)
            }
        }
    };
}

/// Creates sockets of one implementation.
trait Create {
    fn create(kind: Kind) -> Box<dyn Peer>;
}

impl_peer!(rustzmq);
impl_peer!(libzmq);

fn socket(lib: Lib, kind: Kind) -> Box<dyn Peer> {
    match lib {
        Lib::Rust => <rustzmq::Socket as Create>::create(kind),
        Lib::Zmq => <libzmq::Socket as Create>::create(kind),
    }
}

/// Binds one side on a fresh address and connects the other; returns the resolved endpoint
/// (and the guard of its ipc file).
fn link(binder: &dyn Peer, connecter: &dyn Peer, transport: Transport) -> (String, RemoveIpcFile) {
    binder.try_bind(&fresh_endpoint(transport, "pubsub")).unwrap();
    let endpoint = binder.last_endpoint();
    connecter.connect(&endpoint);
    (endpoint.clone(), RemoveIpcFile(endpoint))
}

fn probe(topic: &[u8]) -> Vec<u8> {
    [topic, PROBE_SUFFIX].concat()
}

/// Sends probes on `topic` until `subscriber` receives one: the subscription has arrived.
fn sync(publisher: &dyn Peer, subscriber: &dyn Peer, topic: &[u8]) {
    let deadline = Instant::now() + DEADLINE;
    subscriber.set_rcvtimeo(20);
    loop {
        publisher.send_dontwait(&probe(topic));
        match subscriber.try_recv() {
            Some(parts) if parts.len() == 1 && parts[0].ends_with(PROBE_SUFFIX) => break,
            Some(parts) => panic!("unexpected {parts:?} while synchronising"),
            None => assert!(Instant::now() < deadline, "subscription to {topic:?} never arrived"),
        }
    }
    subscriber.set_rcvtimeo(TIMEOUT_MS);
}

/// The next message that is not a probe.
fn recv(subscriber: &dyn Peer) -> Vec<Vec<u8>> {
    loop {
        let parts = subscriber.try_recv().expect("receive timed out");
        if !(parts.len() == 1 && parts[0].ends_with(PROBE_SUFFIX)) {
            return parts;
        }
    }
}

/// What an XPUB receives next. A bound subscriber attaches a new connection (and sends it its
/// subscriptions) only when it handles its commands, in libzmq as in rustzmq: the subscribers
/// are made to do so while waiting.
fn xpub_recv(xpub: &dyn Peer, subscribers: &[&dyn Peer]) -> Vec<u8> {
    let deadline = Instant::now() + DEADLINE;
    xpub.set_rcvtimeo(20);
    loop {
        if let Some(mut parts) = xpub.try_recv() {
            xpub.set_rcvtimeo(TIMEOUT_MS);
            assert_eq!(parts.len(), 1, "{parts:?}");
            return parts.remove(0);
        }
        assert!(Instant::now() < deadline, "XPUB receive timed out");
        subscribers.iter().for_each(|s| s.process_commands());
    }
}

fn recv_one(subscriber: &dyn Peer) -> Vec<u8> {
    let mut parts = recv(subscriber);
    assert_eq!(parts.len(), 1, "{parts:?}");
    parts.remove(0)
}

/// Every combination: (publisher library, subscriber library, transport, publisher binds).
fn matrix() -> Vec<(Lib, Lib, Transport, bool)> {
    let mut cases = Vec::new();
    for (publisher, subscriber) in [(Lib::Rust, Lib::Zmq), (Lib::Zmq, Lib::Rust)] {
        for transport in [Transport::Tcp, Transport::Ipc] {
            for publisher_binds in [true, false] {
                cases.push((publisher, subscriber, transport, publisher_binds));
            }
        }
    }
    cases
}

#[test]
fn pub_sub_prefix_matching() {
    for (publisher_lib, subscriber_lib, transport, publisher_binds) in matrix() {
        let case = format!("PUB {publisher_lib:?} → SUB {subscriber_lib:?} {transport:?} pub binds {publisher_binds}");
        let publisher = socket(publisher_lib, Kind::Pub);
        let subscriber = socket(subscriber_lib, Kind::Sub);
        subscriber.subscribe(b"a.");
        let _guard = if publisher_binds {
            link(publisher.as_ref(), subscriber.as_ref(), transport)
        } else {
            link(subscriber.as_ref(), publisher.as_ref(), transport)
        };
        // One subscription before the connection, one after (both paths of the SUB).
        subscriber.subscribe(b"b.");
        sync(publisher.as_ref(), subscriber.as_ref(), b"b.");
        for message in [&b"a.1"[..], b"c.1", b"b.1", b"a", b"", b"\x01a."] {
            publisher.send(&[message]);
        }
        publisher.send(&[b"b.2", b"x", b""]);
        publisher.send(&[b"a.end"]);
        assert_eq!(recv_one(subscriber.as_ref()), b"a.1", "{case}");
        assert_eq!(recv_one(subscriber.as_ref()), b"b.1", "{case}");
        assert_eq!(recv(subscriber.as_ref()), [&b"b.2"[..], b"x", b""], "{case}");
        assert_eq!(recv_one(subscriber.as_ref()), b"a.end", "{case}");
        // The empty prefix: everything.
        subscriber.subscribe(b"");
        sync(publisher.as_ref(), subscriber.as_ref(), b"");
        publisher.send(&[b"c.2"]);
        assert_eq!(recv_one(subscriber.as_ref()), b"c.2", "{case}");
    }
}

#[test]
fn xpub_xsub_subscriptions_both_wire_forms() {
    for (publisher_lib, subscriber_lib, transport, publisher_binds) in matrix() {
        let case =
            format!("XPUB {publisher_lib:?} ↔ XSUB {subscriber_lib:?} {transport:?} xpub binds {publisher_binds}");
        let xpub = socket(publisher_lib, Kind::Xpub);
        xpub.set_xpub_verbose();
        xpub.set_xpub_welcome_msg("hi");
        let xsub = socket(subscriber_lib, Kind::Xsub);
        let _guard = if publisher_binds {
            link(xpub.as_ref(), xsub.as_ref(), transport)
        } else {
            link(xsub.as_ref(), xpub.as_ref(), transport)
        };
        let subs = [xsub.as_ref()];
        xsub.send(&[b"\x01a."]);
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x01a.", "{case}");
        // Connected now (a bound XSUB sends what it holds when it attaches the connection,
        // each prefix once): a duplicate goes up as it is.
        xsub.send(&[b"\x01a."]);
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x01a.", "{case}: verbose passes the duplicate");
        assert_eq!(recv_one(xsub.as_ref()), b"hi", "{case}: welcome message");
        // XSUB does not filter: the XPUB does.
        xpub.send(&[b"a.1"]);
        xpub.send(&[b"z.1"]);
        xpub.send(&[b"a.2", b"more"]);
        assert_eq!(recv_one(xsub.as_ref()), b"a.1", "{case}");
        assert_eq!(recv(xsub.as_ref()), [&b"a.2"[..], b"more"], "{case}");
        // Anything else goes upstream as it is.
        xsub.send(&[b"\x02hello"]);
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x02hello", "{case}");
        // Two subscriptions need two cancels; the first stays in the XSUB.
        xsub.send(&[b"\x00a."]);
        xsub.send(&[b"\x01m."]);
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x01m.", "{case}: first cancel not forwarded");
        xsub.send(&[b"\x00a."]);
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x00a.", "{case}");
        xpub.send(&[b"a.3"]);
        xpub.send(&[b"m.1"]);
        assert_eq!(recv_one(xsub.as_ref()), b"m.1", "{case}: cancelled at the XPUB");
        // A subscriber that goes away cancels what it held. (Not for a connecting XPUB: its
        // pipe, subscriptions included, outlives the connection, in libzmq as here.)
        drop(xsub);
        if publisher_binds {
            assert_eq!(xpub_recv(xpub.as_ref(), &[]), b"\x00m.", "{case}");
        }
    }
}

/// libzmq's SUB sends SUBSCRIBE/CANCEL commands, rustzmq's too: an XPUB of the other library
/// reports them as messages and counts them per subscriber.
#[test]
fn sub_to_xpub_commands() {
    for (publisher_lib, subscriber_lib, transport, publisher_binds) in matrix() {
        let case =
            format!("XPUB {publisher_lib:?} ↔ SUB {subscriber_lib:?} {transport:?} xpub binds {publisher_binds}");
        let xpub = socket(publisher_lib, Kind::Xpub);
        let first = socket(subscriber_lib, Kind::Sub);
        let second = socket(subscriber_lib, Kind::Sub);
        let (endpoint, _guard) = if publisher_binds {
            link(xpub.as_ref(), first.as_ref(), transport)
        } else {
            link(first.as_ref(), xpub.as_ref(), transport)
        };
        let _second_guard;
        if publisher_binds {
            second.connect(&endpoint);
        } else {
            second.try_bind(&fresh_endpoint(transport, "pubsub")).unwrap();
            xpub.connect(&second.last_endpoint());
            _second_guard = RemoveIpcFile(second.last_endpoint());
        }
        let subs = [first.as_ref(), second.as_ref()];
        first.subscribe(b"t");
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x01t", "{case}");
        second.subscribe(b"t");
        second.subscribe(b"u");
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x01u", "{case}: t was not new");
        first.unsubscribe(b"t");
        second.unsubscribe(b"u");
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x00u", "{case}: t is still held");
        second.unsubscribe(b"t");
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x00t", "{case}");
        second.subscribe(b"v");
        assert_eq!(xpub_recv(xpub.as_ref(), &subs), b"\x01v", "{case}");
        xpub.send(&[b"v.1"]);
        assert_eq!(recv_one(second.as_ref()), b"v.1", "{case}");
    }
}

/// One publisher, subscribers of both libraries with different subscriptions.
#[test]
fn fan_out_to_both_libraries() {
    for publisher_lib in [Lib::Rust, Lib::Zmq] {
        for transport in [Transport::Tcp, Transport::Ipc] {
            let publisher = socket(publisher_lib, Kind::Pub);
            publisher.try_bind(&fresh_endpoint(transport, "pubsub")).unwrap();
            let endpoint = publisher.last_endpoint();
            let _guard = RemoveIpcFile(endpoint.clone());
            let subscribers: Vec<(Box<dyn Peer>, &[u8])> = vec![
                (socket(Lib::Rust, Kind::Sub), b"r1."),
                (socket(Lib::Zmq, Kind::Sub), b"z1."),
                (socket(Lib::Zmq, Kind::Sub), b"z2."),
                (socket(Lib::Rust, Kind::Sub), b""),
            ];
            for (subscriber, topic) in &subscribers {
                subscriber.connect(&endpoint);
                subscriber.subscribe(topic);
                sync(publisher.as_ref(), subscriber.as_ref(), topic);
            }
            for topic in [&b"r1."[..], b"z1.", b"z2.", b"q."] {
                publisher.send(&[&[topic, b"data"].concat()]);
            }
            publisher.send(&[b"end"]);
            for (subscriber, topic) in &subscribers[..3] {
                assert_eq!(recv_one(subscriber.as_ref()), [topic, &b"data"[..]].concat(), "{publisher_lib:?}");
            }
            let all = &subscribers[3].0;
            for topic in [&b"r1."[..], b"z1.", b"z2.", b"q."] {
                assert_eq!(recv_one(all.as_ref()), [topic, &b"data"[..]].concat(), "{publisher_lib:?}");
            }
            assert_eq!(recv_one(all.as_ref()), b"end");
        }
    }
}

/// The bound publisher restarts on the same address: the connected subscriber of the other
/// library sends its subscriptions again (an XSUB, so that receiving nothing else shows the
/// new publisher filters), and a SUB receives again.
#[test]
fn subscriptions_resent_to_restarted_publisher() {
    for (publisher_lib, subscriber_lib) in [(Lib::Rust, Lib::Zmq), (Lib::Zmq, Lib::Rust)] {
        for transport in [Transport::Tcp, Transport::Ipc] {
            let case = format!("PUB {publisher_lib:?}, subscribers {subscriber_lib:?}, {transport:?}");
            let first = socket(publisher_lib, Kind::Pub);
            first.try_bind(&fresh_endpoint(transport, "pubsub")).unwrap();
            let endpoint = first.last_endpoint();
            let _guard = RemoveIpcFile(endpoint.clone());
            let xsub = socket(subscriber_lib, Kind::Xsub);
            let sub = socket(subscriber_lib, Kind::Sub);
            xsub.connect(&endpoint);
            sub.connect(&endpoint);
            xsub.send(&[b"\x01r"]);
            sub.subscribe(b"s");
            sync(first.as_ref(), xsub.as_ref(), b"r");
            sync(first.as_ref(), sub.as_ref(), b"s");
            drop(first);
            let second = socket(publisher_lib, Kind::Pub);
            let deadline = Instant::now() + DEADLINE;
            while let Err(e) = second.try_bind(&endpoint) {
                assert!(Instant::now() < deadline, "{case}: address never free: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
            for (subscriber, topic) in [(&xsub, &b"r"[..]), (&sub, b"s")] {
                subscriber.set_rcvtimeo(20);
                let expected = [topic, b".after"].concat();
                loop {
                    second.send_dontwait(b"z.filtered");
                    second.send_dontwait(&expected);
                    match subscriber.try_recv() {
                        Some(parts) if parts == [expected.clone()] => break,
                        // Left from the first publisher.
                        Some(parts) if parts.len() == 1 && parts[0].ends_with(PROBE_SUFFIX) => {}
                        Some(parts) => panic!("{case}: the restarted publisher sent {parts:?}"),
                        None => assert!(Instant::now() < deadline, "{case}: subscription not re-sent"),
                    }
                }
            }
        }
    }
}
