//! PUB/SUB and XPUB/XSUB between rustzmq sockets over inproc, tcp and ipc: prefix matching,
//! subscription counting, slow subscribers at their HWM, the XPUB options, an XSUB/XPUB proxy,
//! INVERT_MATCHING, and subscriptions re-sent after a reconnection.
//!
//! Subscriptions travel asynchronously, so a subscriber is synchronised as zguide does it: the
//! publisher sends a probe until the subscriber receives one (bounded by a deadline), and the
//! probes that were still in flight are skipped afterwards. Every receive has a timeout.

extern crate rustzmq as zmq;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustzmq_transport::options::sockopt;
use rustzmq_transport::{Ctx, Errno, Msg, SocketBase, SocketKind};

/// Receive timeout of every socket.
const TIMEOUT_MS: i32 = 5000;
/// How long a subscription (or a reconnection) may take to take effect.
const DEADLINE: Duration = Duration::from_secs(10);
/// Probes end with this; receivers skip them.
const PROBE_SUFFIX: &[u8] = b"\x00probe";

fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let socket = ctx.socket(kind).unwrap();
    socket.set_rcvtimeo(TIMEOUT_MS).unwrap();
    socket.set_sndtimeo(TIMEOUT_MS).unwrap();
    socket.set_linger(0).unwrap();
    socket
}

fn probe(topic: &[u8]) -> Vec<u8> {
    [topic, PROBE_SUFFIX].concat()
}

/// Sends probes on `topic` until `subscriber` receives one: the subscription has arrived.
fn sync(publisher: &zmq::Socket, subscriber: &zmq::Socket, topic: &[u8]) {
    let deadline = Instant::now() + DEADLINE;
    subscriber.set_rcvtimeo(20).unwrap();
    loop {
        publisher.send(probe(topic), zmq::DONTWAIT).unwrap();
        match subscriber.recv_bytes(0) {
            Ok(message) if message.ends_with(PROBE_SUFFIX) => break,
            Ok(message) => panic!("unexpected {message:?} while synchronising"),
            Err(zmq::Error::EAGAIN) => assert!(Instant::now() < deadline, "subscription never arrived"),
            Err(e) => panic!("{e}"),
        }
    }
    subscriber.set_rcvtimeo(TIMEOUT_MS).unwrap();
}

/// The next message that is not a probe, all its frames.
fn recv(subscriber: &zmq::Socket) -> Vec<Vec<u8>> {
    loop {
        let parts = subscriber.recv_multipart(0).expect("receive timed out");
        if !(parts.len() == 1 && parts[0].ends_with(PROBE_SUFFIX)) {
            return parts;
        }
    }
}

fn recv_one(subscriber: &zmq::Socket) -> Vec<u8> {
    let mut parts = recv(subscriber);
    assert_eq!(parts.len(), 1, "{parts:?}");
    parts.remove(0)
}

/// Binds `bind` on one socket and connects the other to the resolved endpoint.
fn link(binder: &zmq::Socket, connecter: &zmq::Socket, bind: &str) {
    binder.bind(bind).unwrap();
    connecter.connect(&binder.get_last_endpoint().unwrap().unwrap()).unwrap();
}

fn endpoints(name: &str) -> [String; 3] {
    [format!("inproc://pubsub-{name}"), "tcp://127.0.0.1:*".to_owned(), "ipc://*".to_owned()]
}

#[test]
fn prefix_matching_and_the_empty_prefix() {
    for (i, bind) in endpoints("prefix").iter().enumerate() {
        let ctx = zmq::Context::new();
        let publisher = socket(&ctx, zmq::PUB);
        let weather = socket(&ctx, zmq::SUB);
        let everything = socket(&ctx, zmq::SUB);
        // Publisher binds for inproc and tcp, subscribers bind for ipc: both directions.
        if i < 2 {
            link(&publisher, &weather, bind);
            everything.connect(&publisher.get_last_endpoint().unwrap().unwrap()).unwrap();
        } else {
            link(&weather, &publisher, bind);
            link(&everything, &publisher, bind);
        }
        weather.set_subscribe(b"weather.").unwrap();
        weather.set_subscribe(b"sport").unwrap();
        everything.set_subscribe(b"").unwrap();
        sync(&publisher, &weather, b"weather.");
        sync(&publisher, &weather, b"sport");
        sync(&publisher, &everything, b"");
        let sent: [&[u8]; 7] = [b"weather.paris", b"news", b"sport.tennis", b"weather", b"sportsman", b"", b"\x01x"];
        for message in sent {
            publisher.send(message, 0).unwrap();
        }
        publisher.send_multipart(["sport.head", "body", "tail"], 0).unwrap();
        publisher.send("weather.end", 0).unwrap();
        assert_eq!(recv_one(&weather), b"weather.paris");
        assert_eq!(recv_one(&weather), b"sport.tennis");
        assert_eq!(recv_one(&weather), b"sportsman");
        assert_eq!(recv(&weather), [&b"sport.head"[..], b"body", b"tail"], "multipart whole");
        assert_eq!(recv_one(&weather), b"weather.end");
        for message in sent {
            assert_eq!(recv_one(&everything), message, "{bind}");
        }
        assert_eq!(recv(&everything).len(), 3);
        assert_eq!(recv_one(&everything), b"weather.end");
    }
}

#[test]
fn unsubscribe_needs_as_many_cancels_as_subscribes() {
    for bind in endpoints("counts") {
        let ctx = zmq::Context::new();
        let xpub = socket(&ctx, zmq::XPUB);
        let sub = socket(&ctx, zmq::SUB);
        link(&xpub, &sub, &bind);
        sub.set_subscribe(b"a").unwrap();
        sub.set_subscribe(b"a").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01a", "XPUB reports a new prefix once");
        sub.set_unsubscribe(b"a").unwrap();
        sub.set_subscribe(b"marker").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01marker", "the first cancel stays in the SUB");
        sync(&xpub, &sub, b"a");
        sub.set_unsubscribe(b"a").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00a", "{bind}");
        xpub.send("a1", 0).unwrap();
        xpub.send("marker1", 0).unwrap();
        assert_eq!(recv_one(&sub), b"marker1");
    }
}

#[test]
fn slow_subscriber_drops_at_hwm_and_nobody_waits() {
    // inproc: the publisher and the fast subscriber take turns, so the fast one gets all.
    let ctx = zmq::Context::new();
    let publisher = socket(&ctx, zmq::PUB);
    publisher.set_sndhwm(10).unwrap();
    publisher.bind("inproc://pubsub-slow").unwrap();
    let fast = socket(&ctx, zmq::SUB);
    let slow = socket(&ctx, zmq::SUB);
    for sub in [&fast, &slow] {
        sub.set_rcvhwm(10).unwrap();
        sub.connect("inproc://pubsub-slow").unwrap();
        sub.set_subscribe(b"").unwrap();
        sync(&publisher, sub, b"");
    }
    // inproc delivers at once: empty both of the probes still queued.
    for sub in [&fast, &slow] {
        sub.set_rcvtimeo(0).unwrap();
        while sub.recv_bytes(0).is_ok() {}
    }
    fast.set_rcvtimeo(TIMEOUT_MS).unwrap();
    const COUNT: u32 = 10_000;
    for i in 0..COUNT {
        publisher.send(&i.to_be_bytes()[..], zmq::DONTWAIT).expect("PUB never blocks nor refuses");
        let got = recv_one(&fast);
        assert_eq!(got, i.to_be_bytes());
    }
    let mut slow_got = Vec::new();
    while let Ok(message) = slow.recv_bytes(0) {
        slow_got.push(message);
    }
    // SNDHWM + RCVHWM (less the credit of probes read but not yet returned), in order;
    // the rest was dropped for it alone.
    assert!((10..=20).contains(&slow_got.len()), "{}", slow_got.len());
    for (i, message) in slow_got.iter().enumerate() {
        assert_eq!(message[..], (i as u32).to_be_bytes());
    }
    // Having read, the slow one gets new messages again.
    slow.set_rcvtimeo(TIMEOUT_MS).unwrap();
    publisher.send("again", 0).unwrap();
    assert_eq!(recv_one(&slow), b"again");
    assert_eq!(recv_one(&fast), b"again");
}

#[test]
fn slow_tcp_subscriber_does_not_hold_back_the_others() {
    let ctx = zmq::Context::new();
    let publisher = socket(&ctx, zmq::PUB);
    publisher.set_sndhwm(100).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = publisher.get_last_endpoint().unwrap().unwrap();
    let slow = socket(&ctx, zmq::SUB);
    slow.set_rcvhwm(100).unwrap();
    slow.connect(&endpoint).unwrap();
    slow.set_subscribe(b"").unwrap();
    sync(&publisher, &slow, b"");
    let fast = socket(&ctx, zmq::SUB);
    fast.connect(&endpoint).unwrap();
    fast.set_subscribe(b"").unwrap();
    sync(&publisher, &fast, b"");
    // The fast subscriber reads in its own thread and reports its progress.
    const COUNT: u32 = 50_000;
    let progress = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&progress);
    let reader = std::thread::spawn(move || {
        let mut next = 0u32;
        while next < COUNT {
            let message = recv_one(&fast);
            let value = u32::from_be_bytes(message[..4].try_into().unwrap());
            assert_eq!(value, next, "the fast subscriber loses nothing");
            next += 1;
            seen.store(next as usize, Ordering::Release);
        }
    });
    // Pace on the fast one only (it must not overflow its own HWM); the slow one never reads.
    let deadline = Instant::now() + Duration::from_secs(60);
    let payload = [0u8; 1000];
    for i in 0..COUNT {
        while (i as usize).saturating_sub(progress.load(Ordering::Acquire)) > 50 {
            assert!(Instant::now() < deadline, "fast subscriber stalled at {i}");
            std::thread::yield_now();
        }
        let message = [&i.to_be_bytes()[..], &payload[..]].concat();
        publisher.send(message, zmq::DONTWAIT).expect("PUB never blocks nor refuses");
    }
    reader.join().unwrap();
    // What the slow one holds is bounded by HWMs and kernel buffers, far from everything.
    slow.set_rcvtimeo(100).unwrap();
    let mut slow_count = 0;
    while slow.recv_bytes(0).is_ok() {
        slow_count += 1;
    }
    assert!(slow_count < COUNT as usize / 2, "slow subscriber got {slow_count}");
}

#[test]
fn xpub_verbose_and_welcome_message() {
    for bind in endpoints("verbose") {
        let ctx = zmq::Context::new();
        let xpub = socket(&ctx, zmq::XPUB);
        xpub.set_xpub_verbose(true).unwrap();
        xpub.set_xpub_welcome_msg(Some("welcome")).unwrap();
        xpub.bind(&bind).unwrap();
        let endpoint = xpub.get_last_endpoint().unwrap().unwrap();
        let a = socket(&ctx, zmq::SUB);
        let b = socket(&ctx, zmq::SUB);
        for sub in [&a, &b] {
            sub.set_subscribe(b"welcome").unwrap();
            sub.connect(&endpoint).unwrap();
            // The XPUB writes the welcome when it attaches the new pipe, which it does (as
            // libzmq) when it handles its commands: in this recv.
            assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01welcome", "verbose: each subscriber's");
            assert_eq!(sub.recv_bytes(0).unwrap(), b"welcome", "{bind}");
        }
        // Verbose passes duplicate subscribes, not unsubscribes of a prefix still held.
        a.set_unsubscribe(b"welcome").unwrap();
        a.set_subscribe(b"x").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01x");
        b.set_unsubscribe(b"welcome").unwrap();
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00welcome");
        // A subscriber that goes away cancels what only it held.
        drop(a);
        assert_eq!(xpub.recv_bytes(0).unwrap_or_else(|e| panic!("{bind}: {e}")), b"\x00x");
        assert_eq!(xpub.get_events().unwrap(), zmq::POLLOUT);
    }
}

#[test]
fn option_errors_and_defaults_as_libzmq() {
    let ctx = zmq::Context::new();
    let publisher = ctx.socket(zmq::PUB).unwrap();
    let sub = ctx.socket(zmq::SUB).unwrap();
    let xsub = ctx.socket(zmq::XSUB).unwrap();
    let xpub = ctx.socket(zmq::XPUB).unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    assert_eq!(sub.get_linger().unwrap(), 0);
    assert_eq!(xsub.get_linger().unwrap(), 0);
    assert_eq!(publisher.get_linger().unwrap(), -1);
    assert_eq!(publisher.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::ENOTSUP));
    assert_eq!(sub.send("x", zmq::DONTWAIT), Err(zmq::Error::ENOTSUP));
    assert_eq!(xsub.set_subscribe(b"x"), Err(zmq::Error::EINVAL));
    assert_eq!(xpub.set_subscribe(b"x"), Err(zmq::Error::EINVAL), "XPUB without XPUB_MANUAL");
    assert_eq!(push.set_subscribe(b"x"), Err(zmq::Error::EINVAL));
    assert_eq!(push.set_unsubscribe(b"x"), Err(zmq::Error::EINVAL));
    assert_eq!(sub.set_xpub_verbose(true), Err(zmq::Error::EINVAL));
    assert_eq!(push.set_xpub_welcome_msg(Some("w")), Err(zmq::Error::EINVAL));
    publisher.set_xpub_verbose(true).unwrap();
    publisher.set_xpub_welcome_msg(None).unwrap();
    assert_eq!(publisher.get_events().unwrap(), zmq::POLLOUT);
    assert_eq!(sub.get_events().unwrap(), zmq::PollEvents::empty());
    assert_eq!(xsub.get_events().unwrap(), zmq::POLLOUT);
    // Sending to nobody is fine.
    publisher.send("into the void", zmq::DONTWAIT).unwrap();
    xsub.send("\x01topic", zmq::DONTWAIT).unwrap();
}

#[test]
fn proxy_between_xsub_and_xpub() {
    let ctx = zmq::Context::new();
    let publisher = socket(&ctx, zmq::PUB);
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let upstream = publisher.get_last_endpoint().unwrap().unwrap();
    let mut proxy_ctx = zmq::Context::new();
    let frontend = proxy_ctx.socket(zmq::XSUB).unwrap();
    frontend.connect(&upstream).unwrap();
    let backend = proxy_ctx.socket(zmq::XPUB).unwrap();
    backend.bind("tcp://127.0.0.1:*").unwrap();
    let downstream = backend.get_last_endpoint().unwrap().unwrap();
    let proxy = std::thread::spawn(move || zmq::proxy(&frontend, &backend));
    let a = socket(&ctx, zmq::SUB);
    let b = socket(&ctx, zmq::XSUB);
    a.connect(&downstream).unwrap();
    b.connect(&downstream).unwrap();
    a.set_subscribe(b"a.").unwrap();
    b.send("\x01b.", 0).unwrap();
    sync(&publisher, &a, b"a.");
    sync(&publisher, &b, b"b.");
    for message in ["a.1", "b.1", "c.1", "a.2"] {
        publisher.send(message, 0).unwrap();
    }
    publisher.send_multipart(["b.2", "more"], 0).unwrap();
    assert_eq!(recv_one(&a), b"a.1");
    assert_eq!(recv_one(&a), b"a.2");
    // XSUB does not filter: what b gets was filtered upstream, by the publisher.
    assert_eq!(recv_one(&b), b"b.1");
    assert_eq!(recv(&b), [&b"b.2"[..], b"more"]);
    // A cancel travels up too: once the publisher has it, "b." stops there (b's XSUB does not
    // filter, so this shows the publisher's filtering). Each round sends "b.after" then
    // "m.tick": a tick right after the previous tick means "b.after" was not sent.
    b.send("\x01m.", 0).unwrap();
    sync(&publisher, &b, b"m.");
    b.send("\x00b.", 0).unwrap();
    let deadline = Instant::now() + DEADLINE;
    let mut last_was_tick = false;
    'wait: loop {
        assert!(Instant::now() < deadline, "cancel never reached the publisher");
        publisher.send("b.after", 0).unwrap();
        publisher.send("m.tick", 0).unwrap();
        loop {
            let message = recv_one(&b);
            if message == b"m.tick" {
                if last_was_tick {
                    break 'wait;
                }
                last_was_tick = true;
                break;
            }
            assert_eq!(message, b"b.after");
            last_was_tick = false;
        }
    }
    // Destroying the proxy's context ends it with ETERM.
    proxy_ctx.destroy().unwrap();
    assert_eq!(proxy.join().unwrap(), Err(zmq::Error::ETERM));
}

/// A socket built directly on the transport, for the options the `zmq` 0.10 API lacks
/// (XPUB_MANUAL, XPUB_NODROP, INVERT_MATCHING).
struct Raw(SocketBase);

impl Raw {
    fn new(ctx: &Ctx, kind: SocketKind) -> Raw {
        let mut base = SocketBase::new(ctx, kind, rustzmq_patterns::for_kind(kind).unwrap()).unwrap();
        base.options.rcvtimeo = TIMEOUT_MS;
        base.options.sndtimeo = TIMEOUT_MS;
        base.options.linger = 0;
        Raw(base)
    }

    fn set(&mut self, option: i32, value: &[u8]) {
        self.0.pattern_mut().set_sockopt(option, value).unwrap();
    }

    fn on(&mut self, option: i32) {
        self.set(option, &1i32.to_ne_bytes());
    }

    fn send(&mut self, data: &[u8], flags: i32) -> Result<(), Errno> {
        self.0.send(Msg::from_bytes(Bytes::copy_from_slice(data)), flags)
    }

    fn recv(&mut self) -> Vec<u8> {
        self.0.recv(0).expect("receive timed out").data().to_vec()
    }

    fn endpoint(&self) -> String {
        self.0.last_endpoint().to_owned()
    }
}

#[test]
fn xpub_manual_and_nodrop_over_tcp() {
    let ctx = Ctx::new();
    {
        let mut xpub = Raw::new(&ctx, SocketKind::Xpub);
        xpub.on(sockopt::XPUB_MANUAL);
        xpub.on(sockopt::XPUB_NODROP);
        xpub.0.options.sndhwm = 5;
        xpub.0.bind("tcp://127.0.0.1:*").unwrap();
        let mut sub = Raw::new(&ctx, SocketKind::Sub);
        sub.0.options.rcvhwm = 5;
        sub.0.connect(&xpub.endpoint()).unwrap();
        sub.set(sockopt::SUBSCRIBE, b"ask");
        assert_eq!(xpub.recv(), b"\x01ask");
        // Manual: nothing is subscribed until the application says what.
        xpub.set(sockopt::SUBSCRIBE, b"");
        let deadline = Instant::now() + DEADLINE;
        sub.0.options.rcvtimeo = 20;
        loop {
            xpub.send(b"ask?probe", 0).unwrap();
            if sub.0.recv(0).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline);
        }
        // Drain the probes (the SUB filters on "ask").
        sub.0.options.rcvtimeo = 100;
        while sub.0.recv(0).is_ok() {}
        // NODROP: a full pipe refuses instead of dropping; a blocking send waits for room.
        let numbered = |i: u32| [&b"ask"[..], &i.to_be_bytes(), &[0u8; 1024]].concat();
        let mut sent = 0u32;
        while xpub.send(&numbered(sent), rustzmq_transport::DONTWAIT).is_ok() {
            sent += 1;
            assert!(sent < 1_000_000, "never refused");
        }
        assert_eq!(xpub.send(b"x", rustzmq_transport::DONTWAIT), Err(Errno::EAGAIN));
        sub.0.options.rcvtimeo = TIMEOUT_MS;
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            for _ in 0..=sent {
                got.push(sub.recv());
            }
            got
        });
        xpub.send(b"ask.last", 0).expect("blocking send waits for room");
        let got = reader.join().unwrap();
        for (i, message) in got[..sent as usize].iter().enumerate() {
            assert_eq!(message[..], numbered(i as u32), "nothing dropped");
        }
        assert_eq!(got[sent as usize], b"ask.last");
    }
    ctx.terminate();
}

#[test]
fn invert_matching_over_tcp() {
    let ctx = Ctx::new();
    {
        let mut publisher = Raw::new(&ctx, SocketKind::Pub);
        publisher.on(sockopt::INVERT_MATCHING);
        publisher.0.bind("tcp://127.0.0.1:*").unwrap();
        // XSUB does not filter: it shows what the publisher sends.
        let mut xsub = Raw::new(&ctx, SocketKind::Xsub);
        xsub.0.connect(&publisher.endpoint()).unwrap();
        xsub.send(b"\x01noise", 0).unwrap();
        let mut sub = Raw::new(&ctx, SocketKind::Sub);
        sub.on(sockopt::INVERT_MATCHING);
        sub.0.connect(&publisher.endpoint()).unwrap();
        sub.set(sockopt::SUBSCRIBE, b"noise");
        // Inverted, a pipe without subscriptions gets everything: "noise" reaches the XSUB
        // until its subscription arrives. Each round sends "noise" then "signal": a signal
        // right after the previous one means the publisher dropped "noise" for it.
        let deadline = Instant::now() + DEADLINE;
        let mut last_was_signal = false;
        xsub.0.options.rcvtimeo = 50;
        'wait: loop {
            assert!(Instant::now() < deadline, "subscription never arrived");
            publisher.send(b"noise", 0).unwrap();
            publisher.send(b"signal", 0).unwrap();
            loop {
                // Nothing yet: not connected yet (what was sent before is lost).
                let Ok(message) = xsub.0.recv(0) else { continue 'wait };
                let message = message.data().to_vec();
                if message == b"signal" {
                    if last_was_signal {
                        break 'wait;
                    }
                    last_was_signal = true;
                    break;
                }
                assert_eq!(message, b"noise");
                last_was_signal = false;
            }
        }
        xsub.0.options.rcvtimeo = TIMEOUT_MS;
        publisher.send(b"noise.1", 0).unwrap();
        publisher.send(b"music", 0).unwrap();
        assert_eq!(xsub.recv(), b"music");
        // The SUB filters (inverted) too, whether or not its subscription arrived.
        let mut next = sub.recv();
        while next == b"signal" {
            next = sub.recv();
        }
        assert_eq!(next, b"music");
    }
    ctx.terminate();
}

/// Restarts the bound side on the same address: the connected side's subscriptions must be
/// sent again (libzmq's hiccup), and the restarted publisher filters with them.
#[test]
fn subscriptions_are_resent_after_reconnect() {
    for transport in ["tcp", "ipc"] {
        let ctx = zmq::Context::new();
        let first = socket(&ctx, zmq::PUB);
        let bind = match transport {
            "tcp" => "tcp://127.0.0.1:*".to_owned(),
            _ => format!("ipc:///tmp/rustzmq-pubsub-reconnect-{}", std::process::id()),
        };
        first.bind(&bind).unwrap();
        let endpoint = first.get_last_endpoint().unwrap().unwrap();
        // XSUB does not filter: what it receives shows what the publisher sends.
        let xsub = socket(&ctx, zmq::XSUB);
        xsub.connect(&endpoint).unwrap();
        xsub.send("\x01r", 0).unwrap();
        sync(&first, &xsub, b"r");
        drop(first);
        let second = socket(&ctx, zmq::PUB);
        let deadline = Instant::now() + DEADLINE;
        while second.bind(&endpoint).is_err() {
            assert!(Instant::now() < deadline, "address never free");
            std::thread::sleep(Duration::from_millis(10));
        }
        xsub.set_rcvtimeo(20).unwrap();
        loop {
            second.send("z.filtered", 0).unwrap();
            second.send("r.after", 0).unwrap();
            match xsub.recv_bytes(0) {
                Ok(message) if message == b"r.after" => break,
                // Left from the first publisher.
                Ok(message) if message.ends_with(PROBE_SUFFIX) => {}
                Ok(message) => panic!("the restarted publisher sent {message:?}: it did not filter"),
                Err(_) => assert!(Instant::now() < deadline, "subscription not re-sent ({transport})"),
            }
        }
    }
}

/// The same with the subscriber bound and the publisher connecting and restarting: the new
/// connection is a new pipe, which gets all subscriptions.
#[test]
fn restarted_connecting_publisher_gets_subscriptions() {
    let ctx = zmq::Context::new();
    let sub = socket(&ctx, zmq::SUB);
    sub.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = sub.get_last_endpoint().unwrap().unwrap();
    sub.set_subscribe(b"k").unwrap();
    for round in 0..3 {
        let publisher = socket(&ctx, zmq::PUB);
        publisher.connect(&endpoint).unwrap();
        sync(&publisher, &sub, b"k");
        publisher.send(format!("k{round}").as_str(), 0).unwrap();
        assert_eq!(recv_one(&sub), format!("k{round}").as_bytes());
    }
}

#[test]
fn many_subscriptions_on_one_connection() {
    let ctx = zmq::Context::new();
    let xpub = socket(&ctx, zmq::XPUB);
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let sub = socket(&ctx, zmq::SUB);
    sub.set_sndhwm(0).unwrap();
    for i in 0..5000 {
        sub.set_subscribe(format!("t{i:05}").as_bytes()).unwrap();
    }
    sub.connect(&xpub.get_last_endpoint().unwrap().unwrap()).unwrap();
    for i in 0..5000 {
        assert_eq!(xpub.recv_bytes(0).unwrap(), format!("\x01t{i:05}").as_bytes());
    }
    for i in (0..5000).step_by(997) {
        xpub.send(format!("t{i:05}.x").as_str(), 0).unwrap();
        xpub.send("u.none", 0).unwrap();
    }
    for i in (0..5000).step_by(997) {
        assert_eq!(recv_one(&sub), format!("t{i:05}.x").as_bytes());
    }
}

/// A hand-written ZMTP peer: checks the wire form of subscriptions in both directions.
mod wire {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use bytes::{Bytes, BytesMut};
    use rustzmq_codec::{Command, Decoder, Encoder, Frame, Greeting, Limits, Mechanism, Metadata, Version};

    pub(super) struct Peer {
        stream: TcpStream,
        decoder: Decoder,
        buf: BytesMut,
    }

    impl Peer {
        /// Accepts one connection and does the NULL handshake as `socket_type` offering `version`.
        pub(super) fn accept(listener: &TcpListener, version: Version, socket_type: &'static str) -> Peer {
            let (stream, _) = listener.accept().unwrap();
            Peer::handshake(stream, version, socket_type)
        }

        pub(super) fn connect(address: &str, version: Version, socket_type: &'static str) -> Peer {
            Peer::handshake(TcpStream::connect(address).unwrap(), version, socket_type)
        }

        fn handshake(mut stream: TcpStream, version: Version, socket_type: &'static str) -> Peer {
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut greeting = Greeting::new(Mechanism::NULL, false);
            greeting.version = version;
            stream.write_all(&greeting.encode()).unwrap();
            let mut theirs = [0u8; 64];
            stream.read_exact(&mut theirs).unwrap();
            let mut metadata = Metadata::new();
            metadata.insert(Bytes::from_static(b"Socket-Type"), Bytes::from_static(socket_type.as_bytes())).unwrap();
            let mut peer = Peer { stream, decoder: Decoder::new(Limits::default()), buf: BytesMut::new() };
            peer.send_command(&Command::Ready(metadata));
            assert!(matches!(peer.next(), Frame::Command(Command::Ready(_))));
            peer
        }

        pub(super) fn send_command(&mut self, command: &Command) {
            let mut encoder = Encoder::new();
            encoder.encode_command(command);
            self.flush(encoder);
        }

        pub(super) fn send_message(&mut self, body: &'static [u8]) {
            let mut encoder = Encoder::new();
            encoder.encode_message_frame(&Bytes::from_static(body), false);
            self.flush(encoder);
        }

        fn flush(&mut self, encoder: Encoder) {
            for chunk in encoder.chunks() {
                self.stream.write_all(chunk).unwrap();
            }
        }

        /// The next frame (a timeout fails the test).
        pub(super) fn next(&mut self) -> Frame {
            loop {
                if let Some(frame) = self.decoder.decode(&mut self.buf).unwrap() {
                    return frame;
                }
                let mut chunk = [0u8; 4096];
                let n = self.stream.read(&mut chunk).expect("peer read timed out");
                assert!(n > 0, "connection closed");
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

#[test]
fn subscriptions_on_the_wire_follow_the_version() {
    use rustzmq_codec::{Command, Frame, Version};
    let sub_frame = |version| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ctx = zmq::Context::new();
        let sub = socket(&ctx, zmq::SUB);
        sub.set_subscribe(b"abc").unwrap();
        sub.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
        let mut peer = wire::Peer::accept(&listener, version, "PUB");
        let subscribe = peer.next();
        sub.set_unsubscribe(b"abc").unwrap();
        (subscribe, peer.next())
    };
    // ZMTP 3.1 (what libzmq 4.3 sends too): commands.
    let (subscribe, cancel) = sub_frame(Version::V3_1);
    assert_eq!(subscribe, Frame::Command(Command::Subscribe(Bytes::from_static(b"abc"))));
    assert_eq!(cancel, Frame::Command(Command::Cancel(Bytes::from_static(b"abc"))));
    // ZMTP 3.0: messages.
    let (subscribe, cancel) = sub_frame(Version::V3_0);
    assert_eq!(subscribe, Frame::Message { body: Bytes::from_static(b"\x01abc"), more: false });
    assert_eq!(cancel, Frame::Message { body: Bytes::from_static(b"\x00abc"), more: false });

    // Into an XPUB, both forms read as messages; the XPUB then publishes to the peer.
    for version in [Version::V3_1, Version::V3_0] {
        let ctx = zmq::Context::new();
        let xpub = socket(&ctx, zmq::XPUB);
        xpub.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = xpub.get_last_endpoint().unwrap().unwrap();
        let mut peer = wire::Peer::connect(endpoint.trim_start_matches("tcp://"), version, "SUB");
        if version == Version::V3_1 {
            peer.send_command(&Command::Subscribe(Bytes::from_static(b"t")));
        }
        peer.send_message(b"\x01u");
        peer.send_message(b"\x02upstream");
        if version == Version::V3_1 {
            assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01t");
        }
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01u");
        assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x02upstream");
        xpub.send("v", 0).unwrap();
        xpub.send("u1", 0).unwrap();
        assert_eq!(peer.next(), Frame::Message { body: Bytes::from_static(b"u1"), more: false });
        if version == Version::V3_1 {
            peer.send_command(&Command::Cancel(Bytes::from_static(b"t")));
            assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00t");
        }
    }
}
