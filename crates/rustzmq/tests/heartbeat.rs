//! ZMTP 3.1 heartbeats: PINGs every HEARTBEAT_IVL, a silent peer dropped after
//! HEARTBEAT_TIMEOUT or after the TTL its own PING asked for, and PONGs answered.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustzmq as zmq;
use rustzmq_codec::{Command, Encoder, Greeting, Mechanism, Metadata};

/// Connects a raw ZMTP peer that completes the NULL handshake as a PUSH.
fn raw_push_peer(endpoint: &str, extra: Option<Command>) -> TcpStream {
    let mut stream = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    let mut encoder = Encoder::new();
    encoder.encode_raw(&Greeting::new(Mechanism::NULL, false).encode());
    let mut metadata = Metadata::new();
    metadata.insert(&b"Socket-Type"[..], &b"PUSH"[..]).unwrap();
    encoder.encode_command(&Command::Ready(metadata));
    if let Some(command) = extra {
        encoder.encode_command(&command);
    }
    for chunk in encoder.chunks() {
        stream.write_all(chunk).unwrap();
    }
    stream
}

/// Reads until the server closes; returns how long that took and what it sent.
fn wait_closed(stream: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    stream.set_read_timeout(Some(limit)).unwrap();
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (start.elapsed(), received),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (start.elapsed(), received),
            Err(e) => panic!("connection not closed within {limit:?}: {e}"),
        }
        assert!(start.elapsed() < limit, "connection not closed within {limit:?}");
    }
}

#[test]
fn silent_peer_is_dropped_after_the_heartbeat_timeout() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_heartbeat_ivl(100).unwrap();
    pull.set_heartbeat_timeout(300).unwrap();
    pull.set_heartbeat_ttl(1000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();
    let mut peer = raw_push_peer(&endpoint, None);
    let (after, received) = wait_closed(&mut peer, Duration::from_secs(5));
    assert!(after >= Duration::from_millis(300), "dropped before the timeout: {after:?}");
    assert!(received.windows(5).any(|w| w == b"\x04PING"), "the server sent PINGs");
    // The TTL (1000 ms = 10 deciseconds) travels in the PING.
    let at = received.windows(5).position(|w| w == b"\x04PING").unwrap();
    assert_eq!(&received[at + 5..at + 7], &[0, 10]);
}

#[test]
fn peer_ttl_is_honoured() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();
    // The peer asks to be dropped after 0.3 s of silence, then says nothing more.
    let ping = Command::Ping { ttl: 3, context: bytes::Bytes::from_static(b"ctx") };
    let mut peer = raw_push_peer(&endpoint, Some(ping));
    let (after, received) = wait_closed(&mut peer, Duration::from_secs(5));
    assert!(after >= Duration::from_millis(250), "dropped before the TTL: {after:?}");
    assert!(received.windows(8).any(|w| w == b"\x04PONGctx"), "PONG echoes the context");
}

#[test]
fn heartbeating_peers_stay_connected_and_messages_flow() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_heartbeat_ivl(50).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_heartbeat_ivl(50).unwrap();
    push.connect(&pull.get_last_endpoint().unwrap().unwrap()).unwrap();
    push.monitor("inproc://hb-push", zmq::SocketEvent::DISCONNECTED as i32).unwrap();
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.connect("inproc://hb-push").unwrap();
    push.send("first", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"first");
    // Several heartbeat intervals with no application traffic: no disconnection.
    monitor.set_rcvtimeo(500).unwrap();
    assert_eq!(monitor.recv_bytes(0), Err(zmq::Error::EAGAIN), "a heartbeating peer was dropped");
    push.send("second", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"second");
}
