//! Byte compatibility with libzmq 4.3: our state machines against the real libzmq (Debian's
//! libzmq through the `zmq` crate) over TCP on loopback, in both roles, for CURVE, PLAIN and
//! NULL. The ZMTP greeting and framing are done by hand with `rustzmq-codec`; the handshake
//! and, for CURVE, every message go through this crate. Every socket has timeouts, so a
//! failure ends the test instead of hanging it.

mod common;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use common::CountingRng;
use rustzmq_codec::frame::{COMMAND, LONG, MORE};
use rustzmq_codec::{Command, Encoder, Greeting};
use rustzmq_security::{
    CurveClient, CurveKeyPair, CurvePublicKey, CurveSecretKey, CurveServer, Mechanism, MechanismError, NullMechanism,
    PlainClient, PlainServer, SocketProperties, Status, ZapConfig, ZapReply, ZapRequest, ZapStatus, MESSAGE_MORE,
};

const TIMEOUT: Duration = Duration::from_secs(5);
const TIMEOUT_MS: i32 = 5_000;

/// One end of a ZMTP connection, framed by hand.
struct Wire {
    stream: TcpStream,
}

impl Wire {
    /// Takes a connection and exchanges greetings on it for `mechanism`.
    fn open(stream: TcpStream, mechanism: &dyn Mechanism) -> Wire {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut wire = Wire { stream };
        wire.greet(mechanism);
        wire
    }

    /// Connects to `address` and exchanges greetings for `mechanism`.
    fn connect(address: &str, mechanism: &dyn Mechanism) -> Wire {
        Wire::open(TcpStream::connect(address).unwrap(), mechanism)
    }

    /// Sends our greeting, reads libzmq's, and checks it names the same mechanism.
    fn greet(&mut self, mechanism: &dyn Mechanism) {
        let ours = Greeting::new(mechanism.mechanism(), mechanism.as_server());
        self.stream.write_all(&ours.encode()).unwrap();
        let mut peer = [0u8; 64];
        self.stream.read_exact(&mut peer).unwrap();
        let peer = Greeting::parse(&peer).unwrap();
        assert_eq!(peer.mechanism, mechanism.mechanism());
        // libzmq 4.3.4 sends 0 in the as-server byte even from a PLAIN or CURVE server (and
        // ignores the byte it receives).
        assert!(!peer.as_server);
    }

    fn send_command(&mut self, command: &Command) {
        let mut encoder = Encoder::new();
        assert!(encoder.encode_command(command));
        self.flush(&mut encoder);
    }

    fn send_frames(&mut self, frames: &[&[u8]]) {
        let mut encoder = Encoder::new();
        for (i, frame) in frames.iter().enumerate() {
            encoder.encode_message_frame_from_slice(frame, i + 1 < frames.len());
        }
        self.flush(&mut encoder);
    }

    fn flush(&mut self, encoder: &mut Encoder) {
        for chunk in encoder.chunks() {
            self.stream.write_all(chunk).unwrap();
        }
        let pending = encoder.pending();
        encoder.advance(pending);
    }

    /// Reads one frame: its flags and body (command bodies are left raw on purpose: a CURVE
    /// READY is not metadata).
    fn read_frame(&mut self) -> io::Result<(u8, Bytes)> {
        let mut flags = [0u8; 1];
        self.stream.read_exact(&mut flags)?;
        let len = if flags[0] & LONG != 0 {
            let mut len = [0u8; 8];
            self.stream.read_exact(&mut len)?;
            u64::from_be_bytes(len) as usize
        } else {
            let mut len = [0u8; 1];
            self.stream.read_exact(&mut len)?;
            usize::from(len[0])
        };
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body)?;
        Ok((flags[0], Bytes::from(body)))
    }

    /// Runs the handshake against libzmq: sends what the mechanism yields, feeds it libzmq's
    /// commands, answers its ZAP requests with `zap`.
    fn handshake(
        &mut self,
        mechanism: &mut dyn Mechanism,
        mut zap: impl FnMut(&ZapRequest) -> ZapReply,
    ) -> Result<(), MechanismError> {
        loop {
            while let Some(command) = mechanism.next_command() {
                self.send_command(&command);
            }
            match mechanism.status() {
                Status::Ready => return Ok(()),
                Status::Failed => return Err(mechanism.error().unwrap().clone()),
                Status::Handshaking => {}
            }
            if let Some(request) = mechanism.zap_request() {
                mechanism.process_zap_reply(&zap(&request))?;
                continue;
            }
            let (flags, body) = self.read_frame().expect("libzmq closed the connection during the handshake");
            assert_eq!(flags & COMMAND, COMMAND, "a command during the handshake");
            mechanism.process_command_body(&body)?;
        }
    }

    /// Sends a multipart message boxed by a CURVE mechanism. Like libzmq, each MESSAGE goes
    /// out as an ordinary frame with no flags (libzmq 4.3 would take a COMMAND-flagged frame
    /// for a command, and a MORE flag outside the box would leak into the message).
    fn send_boxed(&mut self, mechanism: &mut dyn Mechanism, frames: &[&[u8]]) {
        for (i, frame) in frames.iter().enumerate() {
            let flags = if i + 1 < frames.len() { MESSAGE_MORE } else { 0 };
            let command = mechanism.encode_message(flags, frame).unwrap();
            self.send_frames(&[&common::body(&command)]);
        }
    }

    /// Receives a multipart message boxed by libzmq.
    fn recv_boxed(&mut self, mechanism: &mut dyn Mechanism) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        loop {
            let (flags, body) = self.read_frame().unwrap();
            assert_eq!(
                flags & (MORE | COMMAND),
                0,
                "libzmq sends each MESSAGE as an ordinary frame, MORE and COMMAND clear"
            );
            let command = Command::parse(&body).unwrap();
            let (message_flags, frame) = mechanism.decode_message(&command).unwrap();
            frames.push(frame.to_vec());
            if message_flags & MESSAGE_MORE == 0 {
                return frames;
            }
        }
    }

    /// Receives a plain multipart message (NULL, PLAIN).
    fn recv_frames(&mut self) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        loop {
            let (flags, body) = self.read_frame().unwrap();
            assert_eq!(flags & COMMAND, 0);
            frames.push(body.to_vec());
            if flags & MORE == 0 {
                return frames;
            }
        }
    }
}

fn context_socket(ctx: &libzmq::Context, kind: libzmq::SocketType) -> libzmq::Socket {
    let socket = ctx.socket(kind).unwrap();
    socket.set_rcvtimeo(TIMEOUT_MS).unwrap();
    socket.set_sndtimeo(TIMEOUT_MS).unwrap();
    socket.set_linger(0).unwrap();
    socket
}

/// Binds a libzmq socket on a free loopback port and returns its address.
fn bind(socket: &libzmq::Socket) -> String {
    socket.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = socket.get_last_endpoint().unwrap().unwrap();
    endpoint.trim_start_matches("tcp://").to_string()
}

/// A ZAP handler in libzmq's context answering one request with `status` and user id "alice";
/// returns the request frames it saw (and keeps its socket alive until joined).
/// Answers one ZAP request with `status`. The join handle gives back the request and the
/// handler's socket, which the test keeps until its handshake (which needs the reply) is done.
fn zap_handler(ctx: &libzmq::Context, status: &'static [u8]) -> thread::JoinHandle<(Vec<Vec<u8>>, libzmq::Socket)> {
    let handler = context_socket(ctx, libzmq::REP);
    handler.bind(rustzmq_security::zap::ZAP_ENDPOINT).unwrap();
    thread::spawn(move || {
        let request = handler.recv_multipart(0).expect("no ZAP request");
        let reply: [&[u8]; 6] = [b"1.0", &request[1], status, b"status text", b"alice", b""];
        handler.send_multipart(reply, 0).unwrap();
        (request, handler)
    })
}

fn keys(secret: &str) -> CurveKeyPair {
    CurveKeyPair::from_secret(CurveSecretKey::from_z85(secret).unwrap())
}

// The example keys of libzmq's zmq_curve(7) manual page.
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

#[test]
fn libzmq_agrees_on_key_derivation() {
    let pair = libzmq::CurveKeyPair::new().unwrap();
    let secret = CurveSecretKey::from_slice(&pair.secret_key).unwrap();
    assert_eq!(secret.public_key(), CurvePublicKey::from_slice(&pair.public_key).unwrap());
    let z85 = libzmq::z85_encode(&pair.public_key).unwrap();
    assert_eq!(CurvePublicKey::from_z85(&z85).unwrap().as_bytes(), &pair.public_key[..]);
    assert_eq!(rustzmq_security::z85::encode(&pair.public_key).unwrap(), z85);
}

#[test]
fn curve_client_against_libzmq_server_with_zap() {
    let ctx = libzmq::Context::new();
    let zap = zap_handler(&ctx, b"200");
    let server_keys = keys(SERVER_SECRET);
    let server = context_socket(&ctx, libzmq::PAIR);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(server_keys.secret().as_bytes()).unwrap();
    server.set_zap_domain("test").unwrap();
    let address = bind(&server);

    let client_keys = keys(CLIENT_SECRET);
    let mut client = CurveClient::with_rng(
        SocketProperties::new("PAIR"),
        client_keys.clone(),
        *server_keys.public(),
        &mut CountingRng(7),
    )
    .unwrap();
    let mut wire = Wire::connect(&address, &client);
    wire.handshake(&mut client, |_| unreachable!("the client never asks ZAP")).unwrap();
    assert_eq!(client.peer_metadata().unwrap().get("Socket-Type").unwrap(), &b"PAIR"[..]);

    // libzmq's ZAP request for our client, frame by frame (REP stripped the delimiter).
    let (request, _handler) = zap.join().unwrap();
    let request = ZapRequest::from_frames(&request.into_iter().map(Bytes::from).collect::<Vec<_>>()).unwrap();
    assert_eq!(request.request_id, &b"1"[..]);
    assert_eq!(request.domain, &b"test"[..]);
    assert_eq!(request.address, &b"127.0.0.1"[..]);
    assert_eq!(request.mechanism, &b"CURVE"[..]);
    assert_eq!(request.credentials, [&client_keys.public().as_bytes()[..]]);

    // Our boxes open in libzmq (multipart, empty and large frames) ...
    let large = vec![0xA5u8; 100_000];
    wire.send_boxed(&mut client, &[b"hello", b"", &large]);
    let mut message = libzmq::Message::new();
    server.recv(&mut message, 0).unwrap();
    assert_eq!(&message[..], b"hello");
    assert_eq!(message.gets("User-Id"), Some("alice"), "ZAP user id reached the message");
    assert!(message.get_more());
    let rest = server.recv_multipart(0).unwrap();
    assert_eq!(rest, [vec![], large]);

    // ... and libzmq's open here, many of them, so nonces advance in step.
    for i in 0..200u32 {
        let frames = [format!("frame {i}").into_bytes(), vec![i as u8; (i as usize * 37) % 1_000]];
        server.send_multipart(&frames, 0).unwrap();
        assert_eq!(wire.recv_boxed(&mut client), frames);
        wire.send_boxed(&mut client, &[&frames[1], &frames[0]]);
        assert_eq!(server.recv_multipart(0).unwrap(), [frames[1].clone(), frames[0].clone()]);
    }
}

#[test]
fn curve_client_refused_by_libzmq_zap_gets_error_400() {
    let ctx = libzmq::Context::new();
    let zap = zap_handler(&ctx, b"400");
    let server_keys = keys(SERVER_SECRET);
    let server = context_socket(&ctx, libzmq::PAIR);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(server_keys.secret().as_bytes()).unwrap();
    let address = bind(&server);

    let mut client =
        CurveClient::new(SocketProperties::new("PAIR"), keys(CLIENT_SECRET), *server_keys.public()).unwrap();
    let mut wire = Wire::connect(&address, &client);
    let error = wire.handshake(&mut client, |_| unreachable!()).unwrap_err();
    assert_eq!(error, MechanismError::PeerError { reason: Bytes::from_static(b"400") });
    zap.join().unwrap();
}

#[test]
fn curve_client_with_wrong_server_key_is_dropped_by_libzmq() {
    let ctx = libzmq::Context::new();
    let server = context_socket(&ctx, libzmq::PAIR);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(keys(SERVER_SECRET).secret().as_bytes()).unwrap();
    let address = bind(&server);

    let wrong = keys(CLIENT_SECRET);
    let mut client = CurveClient::new(SocketProperties::new("PAIR"), keys(CLIENT_SECRET), *wrong.public()).unwrap();
    let mut wire = Wire::connect(&address, &client);
    wire.send_command(&client.next_command().unwrap());
    // libzmq cannot open our HELLO and closes the connection without a word.
    assert!(wire.read_frame().is_err());
}

#[test]
fn libzmq_curve_client_against_our_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server_keys = keys(SERVER_SECRET);
    let client_keys = CurveKeyPair::generate().unwrap();

    let ctx = libzmq::Context::new();
    let client = context_socket(&ctx, libzmq::DEALER);
    client.set_identity(b"libzmq-dealer").unwrap();
    client.set_curve_serverkey(server_keys.public().as_bytes()).unwrap();
    client.set_curve_publickey(client_keys.public().as_bytes()).unwrap();
    client.set_curve_secretkey(client_keys.secret().as_bytes()).unwrap();
    client.connect(&format!("tcp://{address}")).unwrap();

    let (stream, _) = listener.accept().unwrap();
    let zap = ZapConfig { address: Bytes::from_static(b"127.0.0.1"), handler_present: true, ..ZapConfig::default() };
    let mut server = CurveServer::new(SocketProperties::new("ROUTER"), server_keys.secret().clone(), zap).unwrap();
    let mut wire = Wire::open(stream, &server);
    let mut zap_requests = Vec::new();
    wire.handshake(&mut server, |request| {
        zap_requests.push(request.clone());
        request.reply(ZapStatus::Success, "OK", "libzmq-user")
    })
    .unwrap();
    assert_eq!(zap_requests[0].credentials, [&client_keys.public().as_bytes()[..]]);
    assert_eq!(server.client_key(), Some(client_keys.public()));
    let metadata = server.peer_metadata().unwrap();
    assert_eq!(metadata.get("Socket-Type").unwrap(), &b"DEALER"[..]);
    assert_eq!(metadata.get("Identity").unwrap(), &b"libzmq-dealer"[..]);

    client.send_multipart([&b"ping"[..], b"payload"], 0).unwrap();
    assert_eq!(wire.recv_boxed(&mut server), [b"ping".to_vec(), b"payload".to_vec()]);
    for i in 0..100u32 {
        let frame = vec![i as u8; i as usize * 11];
        wire.send_boxed(&mut server, &[b"reply", &frame]);
        assert_eq!(client.recv_multipart(0).unwrap(), [b"reply".to_vec(), frame.clone()]);
        client.send(&frame, 0).unwrap();
        assert_eq!(wire.recv_boxed(&mut server), [frame]);
    }
}

#[test]
fn plain_client_against_libzmq_server() {
    let ctx = libzmq::Context::new();
    let zap = zap_handler(&ctx, b"200");
    let server = context_socket(&ctx, libzmq::PAIR);
    server.set_plain_server(true).unwrap();
    let address = bind(&server);

    let mut client = PlainClient::new(SocketProperties::new("PAIR"), "admin", "secret").unwrap();
    let mut wire = Wire::connect(&address, &client);
    wire.handshake(&mut client, |_| unreachable!()).unwrap();
    let (request, _handler) = zap.join().unwrap();
    assert_eq!(request[5], b"PLAIN");
    assert_eq!(&request[6..], [b"admin".to_vec(), b"secret".to_vec()]);

    wire.send_frames(&[b"hello", b"world"]);
    assert_eq!(server.recv_multipart(0).unwrap(), [b"hello".to_vec(), b"world".to_vec()]);
    server.send_multipart([&b"a"[..], b"b"], 0).unwrap();
    assert_eq!(wire.recv_frames(), [b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn plain_client_refused_by_libzmq_zap() {
    let ctx = libzmq::Context::new();
    let zap = zap_handler(&ctx, b"400");
    let server = context_socket(&ctx, libzmq::PAIR);
    server.set_plain_server(true).unwrap();
    let address = bind(&server);

    let mut client = PlainClient::new(SocketProperties::new("PAIR"), "admin", "wrong").unwrap();
    let mut wire = Wire::connect(&address, &client);
    let error = wire.handshake(&mut client, |_| unreachable!()).unwrap_err();
    assert_eq!(error, MechanismError::PeerError { reason: Bytes::from_static(b"400") });
    zap.join().unwrap();
}

#[test]
fn libzmq_plain_server_without_zap_handler_drops_the_client() {
    // The behaviour PlainServer copies: no ZAP handler, no PLAIN (libzmq 4.3).
    let ctx = libzmq::Context::new();
    let server = context_socket(&ctx, libzmq::PAIR);
    server.set_plain_server(true).unwrap();
    let address = bind(&server);

    let mut client = PlainClient::new(SocketProperties::new("PAIR"), "admin", "secret").unwrap();
    let mut wire = Wire::connect(&address, &client);
    wire.send_command(&client.next_command().unwrap());
    assert!(wire.read_frame().is_err(), "libzmq closes without WELCOME or ERROR");
}

#[test]
fn libzmq_curve_server_without_zap_handler_accepts() {
    // The behaviour CurveServer copies: no handler, no domain enforcement: accepted.
    let ctx = libzmq::Context::new();
    let server_keys = keys(SERVER_SECRET);
    let server = context_socket(&ctx, libzmq::PAIR);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(server_keys.secret().as_bytes()).unwrap();
    server.set_zap_domain("some-domain").unwrap();
    let address = bind(&server);

    let mut client =
        CurveClient::new(SocketProperties::new("PAIR"), CurveKeyPair::generate().unwrap(), *server_keys.public())
            .unwrap();
    let mut wire = Wire::connect(&address, &client);
    wire.handshake(&mut client, |_| unreachable!()).unwrap();
    wire.send_boxed(&mut client, &[b"stonehouse"]);
    assert_eq!(server.recv_bytes(0).unwrap(), b"stonehouse");
}

#[test]
fn libzmq_plain_client_against_our_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let ctx = libzmq::Context::new();
    let client = context_socket(&ctx, libzmq::PUSH);
    client.set_plain_username(Some("admin")).unwrap();
    client.set_plain_password(Some("secret")).unwrap();
    client.connect(&format!("tcp://{address}")).unwrap();

    let (stream, _) = listener.accept().unwrap();
    let zap = ZapConfig { handler_present: true, ..ZapConfig::default() };
    let mut server = PlainServer::new(SocketProperties::new("PULL"), zap).unwrap();
    let mut wire = Wire::open(stream, &server);
    wire.handshake(&mut server, |request| {
        assert_eq!(request.credentials, [&b"admin"[..], b"secret"]);
        request.reply(ZapStatus::Success, "OK", "admin")
    })
    .unwrap();
    assert_eq!(server.peer_metadata().unwrap().get("Socket-Type").unwrap(), &b"PUSH"[..]);
    client.send_multipart([&b"x"[..], b"y"], 0).unwrap();
    assert_eq!(wire.recv_frames(), [b"x".to_vec(), b"y".to_vec()]);
}

#[test]
fn null_both_ways() {
    // Our NULL client against libzmq.
    let ctx = libzmq::Context::new();
    let server = context_socket(&ctx, libzmq::PULL);
    let address = bind(&server);
    let mut ours = NullMechanism::new(SocketProperties::new("PUSH"), ZapConfig::default()).unwrap();
    let mut wire = Wire::connect(&address, &ours);
    wire.handshake(&mut ours, |_| unreachable!()).unwrap();
    assert_eq!(ours.peer_metadata().unwrap().get("Socket-Type").unwrap(), &b"PULL"[..]);
    wire.send_frames(&[b"null"]);
    assert_eq!(server.recv_bytes(0).unwrap(), b"null");

    // libzmq's NULL client against ours.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = context_socket(&ctx, libzmq::REQ);
    client.set_identity(b"req-1").unwrap();
    client.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (stream, _) = listener.accept().unwrap();
    let mut ours = NullMechanism::new(SocketProperties::new("REP"), ZapConfig::default()).unwrap();
    let mut wire = Wire::open(stream, &ours);
    wire.handshake(&mut ours, |_| unreachable!()).unwrap();
    assert_eq!(ours.peer_metadata().unwrap().get("Identity").unwrap(), &b"req-1"[..]);
    client.send("request", 0).unwrap();
    assert_eq!(wire.recv_frames(), [b"".to_vec(), b"request".to_vec()]);
}

#[test]
fn libzmq_plain_client_refused_by_our_server() {
    // We send the RFC's ERROR ("\x05ERROR" "\x03" "400"); libzmq 4.3's PLAIN client only knows
    // its own misspelt prefix (0x5E "RROR"), takes ours for an unexpected command and closes:
    // the connection ends either way.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = libzmq::Context::new();
    let client = context_socket(&ctx, libzmq::DEALER);
    client.set_plain_username(Some("admin")).unwrap();
    client.set_plain_password(Some("wrong")).unwrap();
    client.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();

    let (stream, _) = listener.accept().unwrap();
    let zap = ZapConfig { handler_present: true, ..ZapConfig::default() };
    let mut server = PlainServer::new(SocketProperties::new("ROUTER"), zap).unwrap();
    let mut wire = Wire::open(stream, &server);
    let error = wire
        .handshake(&mut server, |request| request.reply(ZapStatus::AuthenticationFailure, "wrong password", ""))
        .unwrap_err();
    assert_eq!(error, MechanismError::ZapDenied(ZapStatus::AuthenticationFailure));
    wire.send_command(&server.next_command().expect("the final ERROR"));
    assert!(wire.read_frame().is_err(), "libzmq closes the connection");
}
