//! Hostile input on a bound tcp socket: each attack gets its connection closed, and the
//! socket keeps serving well-behaved peers. Every wait is bounded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rustzmq as zmq;
use rustzmq_codec::{Command, Encoder, Greeting, Mechanism, Metadata};

fn greeting(mechanism: Mechanism) -> Vec<u8> {
    Greeting::new(mechanism, false).encode().to_vec()
}

/// A valid NULL greeting and READY announcing `socket_type`.
fn handshake_as(socket_type: &'static str) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.encode_raw(&greeting(Mechanism::NULL));
    let mut metadata = Metadata::new();
    metadata.insert(&b"Socket-Type"[..], socket_type.as_bytes()).unwrap();
    encoder.encode_command(&Command::Ready(metadata));
    encoder.chunks().flatten().copied().collect()
}

/// Sends `attack`, then reads until the server closes the connection; returns what the
/// server sent. Fails if the connection is still open after `limit`.
fn expect_closed(address: &str, attack: &[u8], limit: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(attack).unwrap();
    let deadline = Instant::now() + limit;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "connection still open after {limit:?} (attack of {} bytes: {:02x?}...)",
            attack.len(),
            &attack[..attack.len().min(16)]
        );
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return received,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
}

fn assert_still_serving(ctx: &zmq::Context, pull: &zmq::Socket, endpoint: &str) {
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_linger(0).unwrap();
    push.connect(endpoint).unwrap();
    push.send("still here", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"still here");
}

#[test]
fn hostile_peers_are_disconnected_and_others_still_served() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.set_handshake_ivl(300).unwrap();
    pull.set_maxmsgsize(1 << 20).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();
    let address = endpoint.trim_start_matches("tcp://").to_owned();
    let limit = Duration::from_secs(5);

    // Not ZMTP at all.
    expect_closed(&address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", limit);
    assert_still_serving(&ctx, &pull, &endpoint);

    // A wrong signature (last byte with its low bit clear).
    let mut wrong = greeting(Mechanism::NULL);
    wrong[9] = 0x7E;
    expect_closed(&address, &wrong, limit);

    // A ZMTP 2.0 greeting (revision 1, socket type PUSH).
    expect_closed(&address, &[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x08], limit);

    // Another security mechanism.
    expect_closed(&address, &greeting(Mechanism::PLAIN), limit);

    // An incompatible socket type: the server explains with an ERROR command.
    let reply = expect_closed(&address, &handshake_as("PUB"), limit);
    assert!(reply.windows(5).any(|w| w == b"ERROR"), "no ERROR command in {reply:02x?}");

    // A frame announcing 2^60 bytes, over MAXMSGSIZE.
    let mut huge = handshake_as("PUSH");
    huge.push(0x02);
    huge.extend_from_slice(&(1u64 << 60).to_be_bytes());
    expect_closed(&address, &huge, limit);

    // Reserved flag bits.
    let mut reserved = handshake_as("PUSH");
    reserved.extend_from_slice(&[0x80, 0x00]);
    expect_closed(&address, &reserved, limit);

    // Half a greeting, then silence: closed after HANDSHAKE_IVL.
    let start = Instant::now();
    expect_closed(&address, &greeting(Mechanism::NULL)[..20], limit);
    assert!(start.elapsed() >= Duration::from_millis(250), "closed before the handshake interval");

    assert_still_serving(&ctx, &pull, &endpoint);
}

#[test]
fn unlimited_maxmsgsize_waits_for_a_huge_frame_without_allocating_for_it() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();
    let mut attacker = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    let mut huge = handshake_as("PUSH");
    huge.push(0x02);
    huge.extend_from_slice(&(1u64 << 60).to_be_bytes());
    huge.extend_from_slice(&[0u8; 1000]);
    attacker.write_all(&huge).unwrap();
    // The claim costs nothing: the connection waits for bytes that never come, and the
    // socket keeps serving others.
    assert_still_serving(&ctx, &pull, &endpoint);
    drop(attacker);
}
