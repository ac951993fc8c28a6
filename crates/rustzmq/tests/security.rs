//! PLAIN and CURVE between rustzmq sockets, with a ZAP handler bound at
//! `inproc://zeromq.zap.01` (RFC 27): accepted peers exchange messages carrying the User-Id
//! the handler chose; refused peers get nothing through and the monitor says why.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use rustzmq as zmq;

mod common;
use common::monitor_of;

/// A ZAP handler (REP at the well-known endpoint) that accepts PLAIN user "admin" with
/// password "secret" and every CURVE client, naming the user in the reply's User-Id.
struct ZapHandler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Vec<Vec<u8>>>>>,
}

impl ZapHandler {
    fn start(ctx: &zmq::Context) -> ZapHandler {
        let handler = ctx.socket(zmq::REP).unwrap();
        handler.bind("inproc://zeromq.zap.01").unwrap();
        handler.set_rcvtimeo(50).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut requests = Vec::new();
            while !flag.load(Ordering::Acquire) {
                let Ok(request) = handler.recv_multipart(0) else { continue };
                // version, request id, domain, address, identity, mechanism, credentials...
                let (status, user) = match request[5].as_slice() {
                    b"PLAIN" if request[6] == b"admin" && request[7] == b"secret" => ("200", "admin"),
                    b"CURVE" => ("200", "curve-client"),
                    _ => ("400", ""),
                };
                let reply: Vec<&[u8]> = vec![b"1.0", &request[1], status.as_bytes(), b"", user.as_bytes(), b""];
                handler.send_multipart(reply, 0).unwrap();
                requests.push(request);
            }
            requests
        });
        ZapHandler { stop, thread: Some(thread) }
    }

    fn stop(mut self) -> Vec<Vec<Vec<u8>>> {
        self.stop.store(true, Ordering::Release);
        self.thread.take().unwrap().join().unwrap()
    }
}

fn pair(ctx: &zmq::Context) -> (zmq::Socket, zmq::Socket) {
    let server = ctx.socket(zmq::PULL).unwrap();
    let client = ctx.socket(zmq::PUSH).unwrap();
    server.set_rcvtimeo(5000).unwrap();
    client.set_linger(0).unwrap();
    (server, client)
}

/// Reads monitor events until a handshake outcome; returns (event, value).
fn handshake_outcome(monitor: &zmq::Socket) -> (zmq::SocketEvent, u32) {
    loop {
        let head = monitor.recv_bytes(0).expect("a monitor event in time");
        monitor.recv_bytes(0).unwrap();
        let event = zmq::SocketEvent::from_raw(u16::from_ne_bytes([head[0], head[1]]));
        let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
        if matches!(
            event,
            zmq::SocketEvent::HANDSHAKE_SUCCEEDED
                | zmq::SocketEvent::HANDSHAKE_FAILED_AUTH
                | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL
                | zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL
        ) {
            return (event, value);
        }
    }
}

#[test]
fn plain_accepted_with_user_id_and_refused_with_400() {
    let ctx = zmq::Context::new();
    let zap = ZapHandler::start(&ctx);
    let (server, client) = pair(&ctx);
    server.set_plain_server(true).unwrap();
    assert_eq!(server.get_mechanism().unwrap(), zmq::Mechanism::ZMQ_PLAIN);
    server.set_zap_domain("test").unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();

    client.set_plain_username(Some("admin")).unwrap();
    client.set_plain_password(Some("secret")).unwrap();
    client.connect(&endpoint).unwrap();
    client.send("authenticated", 0).unwrap();
    let mut msg = server.recv_msg(0).unwrap();
    assert_eq!(&msg[..], b"authenticated");
    assert_eq!(msg.gets("User-Id"), Some("admin"));
    assert_eq!(msg.gets("Socket-Type"), Some("PUSH"));

    let intruder = ctx.socket(zmq::PUSH).unwrap();
    intruder.set_linger(0).unwrap();
    intruder.set_plain_username(Some("admin")).unwrap();
    intruder.set_plain_password(Some("wrong")).unwrap();
    let monitor = monitor_of(&ctx, &intruder, "intruder");
    intruder.connect(&endpoint).unwrap();
    assert_eq!(handshake_outcome(&monitor), (zmq::SocketEvent::HANDSHAKE_FAILED_AUTH, 400));
    intruder.send("should not arrive", zmq::DONTWAIT).unwrap();
    server.set_rcvtimeo(200).unwrap();
    assert_eq!(server.recv_bytes(0), Err(zmq::Error::EAGAIN));

    drop((client, intruder, monitor, server));
    let requests = zap.stop();
    assert!(requests.len() >= 2);
    assert_eq!(requests[0][0], b"1.0");
    assert_eq!(requests[0][2], b"test", "the ZAP domain");
    assert_eq!(requests[0][5], b"PLAIN");
}

#[test]
fn curve_with_right_and_wrong_server_keys() {
    let ctx = zmq::Context::new();
    let zap = ZapHandler::start(&ctx);
    let server_keys = zmq::CurveKeyPair::new().unwrap();
    let client_keys = zmq::CurveKeyPair::new().unwrap();
    let (server, client) = pair(&ctx);
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_keys.secret_key).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();

    // Keys may be given as 40 Z85 characters too.
    let z85_server_key = zmq::z85_encode(&server_keys.public_key).unwrap();
    client.set_curve_serverkey(z85_server_key.as_bytes()).unwrap();
    client.set_curve_publickey(&client_keys.public_key).unwrap();
    client.set_curve_secretkey(&client_keys.secret_key).unwrap();
    assert_eq!(client.get_curve_serverkey().unwrap(), server_keys.public_key);
    client.connect(&endpoint).unwrap();
    for i in 0..100u32 {
        client.send_multipart([&i.to_be_bytes()[..], &[0u8; 1000][..]], 0).unwrap();
    }
    for i in 0..100u32 {
        let mut msg = server.recv_msg(0).unwrap();
        assert_eq!(&msg[..], i.to_be_bytes());
        assert_eq!(msg.gets("User-Id"), Some("curve-client"));
        assert_eq!(server.recv_bytes(0).unwrap().len(), 1000);
    }

    let impostor = ctx.socket(zmq::PUSH).unwrap();
    impostor.set_linger(0).unwrap();
    let wrong = zmq::CurveKeyPair::new().unwrap();
    impostor.set_curve_serverkey(&wrong.public_key).unwrap();
    impostor.set_curve_publickey(&client_keys.public_key).unwrap();
    impostor.set_curve_secretkey(&client_keys.secret_key).unwrap();
    let monitor = monitor_of(&ctx, &impostor, "impostor");
    impostor.connect(&endpoint).unwrap();
    let (event, _) = handshake_outcome(&monitor);
    assert_ne!(event, zmq::SocketEvent::HANDSHAKE_SUCCEEDED);
    impostor.send("should not arrive", zmq::DONTWAIT).unwrap();
    server.set_rcvtimeo(200).unwrap();
    assert_eq!(server.recv_bytes(0), Err(zmq::Error::EAGAIN));
    drop((client, impostor, monitor, server));
    zap.stop();
}

#[test]
fn plain_without_a_zap_handler_is_refused_as_libzmq_does() {
    let ctx = zmq::Context::new();
    let (server, client) = pair(&ctx);
    server.set_plain_server(true).unwrap();
    let monitor = monitor_of(&ctx, &server, "no-zap");
    server.bind("tcp://127.0.0.1:*").unwrap();
    client.set_plain_username(Some("admin")).unwrap();
    client.set_plain_password(Some("secret")).unwrap();
    client.connect(&server.get_last_endpoint().unwrap().unwrap()).unwrap();
    let (event, _) = handshake_outcome(&monitor);
    assert_eq!(event, zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL);
}
