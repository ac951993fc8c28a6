//! Helpers shared by the integration tests (each test file includes this with `mod common;`).

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use rustzmq as zmq;

/// Send and receive timeout of the sockets made by [`socket`], in milliseconds.
pub(crate) const TIMEOUT: i32 = 5000;

/// A socket of `kind` with send and receive timeouts of [`TIMEOUT`] and no linger.
pub(crate) fn socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let socket = ctx.socket(kind).unwrap();
    socket.set_rcvtimeo(TIMEOUT).unwrap();
    socket.set_sndtimeo(TIMEOUT).unwrap();
    socket.set_linger(0).unwrap();
    socket
}

/// Binds `socket` on a fresh address of `transport` and returns the endpoint to connect to.
pub(crate) fn bind(socket: &zmq::Socket, transport: &str, name: &str) -> String {
    let endpoint = match transport {
        "tcp" => "tcp://127.0.0.1:*".to_owned(),
        "ipc" => "ipc://*".to_owned(),
        _ => format!("inproc://{name}"),
    };
    socket.bind(&endpoint).unwrap();
    socket.get_last_endpoint().unwrap().unwrap()
}

/// Monitors every event of `socket` at `inproc://{name}` and returns the PAIR socket the
/// events arrive on (receive timeout 5 s).
pub(crate) fn monitor_of(ctx: &zmq::Context, socket: &zmq::Socket, name: &str) -> zmq::Socket {
    let endpoint = format!("inproc://{name}");
    socket.monitor(&endpoint, zmq::SocketEvent::ALL as i32).unwrap();
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.set_rcvtimeo(5000).unwrap();
    monitor.connect(&endpoint).unwrap();
    monitor
}
