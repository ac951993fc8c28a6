//! Heartbeats against libzmq: each side's PINGs are answered by the other, so a heartbeating
//! connection stays up with no application traffic, in both directions.

/// The heartbeating side (`$hb`) connects a PUSH with HEARTBEAT_IVL 50 ms to a PULL of the
/// other implementation (`$peer`), watches its own monitor for DISCONNECTED for 0.6 s (a dozen
/// intervals), then checks that messages still flow.
macro_rules! heartbeat_case {
    ($name:ident, $hb:ident, $peer:ident) => {
        #[test]
        fn $name() {
            let hb_ctx = $hb::Context::new();
            let peer_ctx = $peer::Context::new();
            let pull = peer_ctx.socket($peer::PULL).unwrap();
            pull.set_rcvtimeo(5000).unwrap();
            pull.bind("tcp://127.0.0.1:*").unwrap();
            let endpoint = pull.get_last_endpoint().unwrap().unwrap();
            let push = hb_ctx.socket($hb::PUSH).unwrap();
            push.set_linger(0).unwrap();
            push.set_heartbeat_ivl(50).unwrap();
            push.set_heartbeat_timeout(200).unwrap();
            push.monitor("inproc://heartbeat", 0x0200 /* DISCONNECTED */).unwrap();
            let monitor = hb_ctx.socket($hb::PAIR).unwrap();
            monitor.connect("inproc://heartbeat").unwrap();
            push.connect(&endpoint).unwrap();
            push.send("before", 0).unwrap();
            assert_eq!(pull.recv_bytes(0).unwrap(), b"before");
            monitor.set_rcvtimeo(600).unwrap();
            assert!(monitor.recv_bytes(0).is_err(), "the heartbeating connection was dropped");
            push.send("after", 0).unwrap();
            assert_eq!(pull.recv_bytes(0).unwrap(), b"after");
        }
    };
}

heartbeat_case!(rustzmq_pings_libzmq, rustzmq, libzmq);
heartbeat_case!(libzmq_pings_rustzmq, libzmq, rustzmq);
