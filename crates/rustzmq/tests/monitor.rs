//! The socket monitor: libzmq 4.3's events and wire format (two frames: 6 bytes of event
//! id + value in native byte order, then the endpoint).

use rustzmq as zmq;

mod common;
use common::monitor_of;

/// Reads one event: (event, value, endpoint).
fn next_event(monitor: &zmq::Socket) -> (zmq::SocketEvent, u32, String) {
    let head = monitor.recv_bytes(0).expect("monitor event in time");
    assert_eq!(head.len(), 6);
    assert!(monitor.get_rcvmore().unwrap(), "an event has two frames");
    let endpoint = monitor.recv_string(0).unwrap().unwrap();
    let event = zmq::SocketEvent::from_raw(u16::from_ne_bytes([head[0], head[1]]));
    (event, u32::from_ne_bytes([head[2], head[3], head[4], head[5]]), endpoint)
}

/// Reads events until `wanted` arrives, returning every event seen on the way.
fn events_until(monitor: &zmq::Socket, wanted: zmq::SocketEvent) -> Vec<zmq::SocketEvent> {
    let mut seen = Vec::new();
    loop {
        let (event, _, _) = next_event(monitor);
        seen.push(event);
        if event == wanted {
            return seen;
        }
    }
}

#[test]
fn connect_handshake_disconnect_cycle() {
    let ctx = zmq::Context::new();
    let server = ctx.socket(zmq::PULL).unwrap();
    let server_monitor = monitor_of(&ctx, &server, "server-events");
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();
    let (event, _, reported) = next_event(&server_monitor);
    assert_eq!((event, reported.as_str()), (zmq::SocketEvent::LISTENING, endpoint.as_str()));

    let client = ctx.socket(zmq::PUSH).unwrap();
    client.set_linger(0).unwrap();
    let client_monitor = monitor_of(&ctx, &client, "client-events");
    client.connect(&endpoint).unwrap();
    let seen = events_until(&client_monitor, zmq::SocketEvent::HANDSHAKE_SUCCEEDED);
    assert!(seen.contains(&zmq::SocketEvent::CONNECTED), "{seen:?}");
    assert_eq!(events_until(&server_monitor, zmq::SocketEvent::HANDSHAKE_SUCCEEDED)[0], zmq::SocketEvent::ACCEPTED);

    // The server goes away: its listener closes and its monitor stops (connections closed
    // by the socket itself are not "disconnected"); the client sees the disconnection and
    // schedules a reconnect.
    drop(server);
    assert_eq!(
        events_until(&server_monitor, zmq::SocketEvent::MONITOR_STOPPED),
        [zmq::SocketEvent::CLOSED, zmq::SocketEvent::MONITOR_STOPPED]
    );
    let seen = events_until(&client_monitor, zmq::SocketEvent::CONNECT_RETRIED);
    assert_eq!(seen[0], zmq::SocketEvent::DISCONNECTED, "{seen:?}");
}

#[test]
fn handshake_failures_are_reported_with_libzmq_codes() {
    let ctx = zmq::Context::new();
    let server = ctx.socket(zmq::PULL).unwrap();
    let monitor = monitor_of(&ctx, &server, "bad-peers");
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();
    let address = endpoint.trim_start_matches("tcp://").to_owned();

    // A peer of an incompatible type (PULL to PULL).
    let wrong = ctx.socket(zmq::PULL).unwrap();
    wrong.set_linger(0).unwrap();
    wrong.connect(&endpoint).unwrap();
    loop {
        let (event, value, _) = next_event(&monitor);
        if event == zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL {
            assert_eq!(value, 0x1000_0018, "ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA");
            break;
        }
        assert_ne!(event, zmq::SocketEvent::HANDSHAKE_SUCCEEDED);
    }
    drop(wrong);

    // Garbage: the handshake fails with a protocol error too.
    use std::io::Write;
    let mut raw = std::net::TcpStream::connect(&address).unwrap();
    raw.write_all(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1, b'X', b'!']).unwrap();
    raw.write_all(&[0; 50]).unwrap();
    loop {
        let (event, value, _) = next_event(&monitor);
        if event == zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL {
            assert_eq!(value, 0x1000_0000, "ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED");
            break;
        }
    }
}

#[test]
fn monitor_refuses_other_transports() {
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PAIR).unwrap();
    assert_eq!(socket.monitor("tcp://127.0.0.1:5555", 0xFFFF), Err(zmq::Error::EPROTONOSUPPORT));
}
