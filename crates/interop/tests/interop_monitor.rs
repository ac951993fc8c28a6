//! The socket monitor compared with libzmq's: the same connect / handshake / disconnect cycle
//! is run once with libzmq sockets and once with rustzmq sockets, and the event sequences the
//! two monitors report must be the same.

/// Runs the cycle with one implementation and returns (server events, client events) as raw
/// event numbers. Written once as a macro because the two APIs have the same shape.
macro_rules! monitor_cycle {
    ($name:ident, $zmq:ident) => {
        fn $name() -> (Vec<u16>, Vec<u16>) {
            let ctx = $zmq::Context::new();
            let monitor = |socket: &$zmq::Socket, name: &str| {
                let endpoint = format!("inproc://{name}");
                socket.monitor(&endpoint, 0xFFFF).unwrap();
                let pair = ctx.socket($zmq::PAIR).unwrap();
                pair.set_rcvtimeo(5000).unwrap();
                pair.connect(&endpoint).unwrap();
                pair
            };
            // Reads events until `last`; every event has two frames.
            let until = |monitor: &$zmq::Socket, last: u16| {
                let mut seen = Vec::new();
                loop {
                    let head = monitor.recv_bytes(0).expect("event in time");
                    let _endpoint = monitor.recv_bytes(0).unwrap();
                    let event = u16::from_ne_bytes([head[0], head[1]]);
                    seen.push(event);
                    if event == last {
                        return seen;
                    }
                }
            };
            const HANDSHAKE_SUCCEEDED: u16 = 0x1000;
            const CONNECT_RETRIED: u16 = 0x0004;
            const MONITOR_STOPPED: u16 = 0x0400;

            let server = ctx.socket($zmq::PULL).unwrap();
            let server_events = monitor(&server, "server");
            server.bind("tcp://127.0.0.1:*").unwrap();
            let endpoint = server.get_last_endpoint().unwrap().unwrap();
            let client = ctx.socket($zmq::PUSH).unwrap();
            client.set_linger(0).unwrap();
            let client_events = monitor(&client, "client");
            client.connect(&endpoint).unwrap();
            let mut server_seen = until(&server_events, HANDSHAKE_SUCCEEDED);
            let mut client_seen = until(&client_events, HANDSHAKE_SUCCEEDED);
            drop(server);
            server_seen.extend(until(&server_events, MONITOR_STOPPED));
            client_seen.extend(until(&client_events, CONNECT_RETRIED));
            (server_seen, client_seen)
        }
    };
}

monitor_cycle!(with_libzmq, libzmq);
monitor_cycle!(with_rustzmq, rustzmq);

#[test]
fn monitor_events_match_libzmq_for_one_connection_cycle() {
    let reference = with_libzmq();
    let ours = with_rustzmq();
    assert_eq!(ours.0, reference.0, "server events (libzmq: {:x?})", reference.0);
    assert_eq!(ours.1, reference.1, "client events (libzmq: {:x?})", reference.1);
}
