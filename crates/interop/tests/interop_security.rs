//! PLAIN, CURVE and ZAP against libzmq 4.3 (Debian's build, which has CURVE), through
//! sockets, in both directions: each implementation as server and as client, a ZAP handler
//! in the server's context, correct and wrong credentials.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Starts a ZAP handler (REP at inproc://zeromq.zap.01) in `$zmq`'s context `$ctx` that
/// accepts PLAIN admin/secret and every CURVE client, with User-Id "admin"/"curve".
macro_rules! zap_handler {
    ($zmq:ident, $ctx:expr) => {{
        let handler = $ctx.socket($zmq::REP).unwrap();
        handler.bind("inproc://zeromq.zap.01").unwrap();
        handler.set_rcvtimeo(50).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Acquire) {
                let Ok(request) = handler.recv_multipart(0) else { continue };
                let (status, user): (&[u8], &[u8]) = match request[5].as_slice() {
                    b"PLAIN" if request[6] == b"admin" && request[7] == b"secret" => (b"200", b"admin"),
                    b"CURVE" => (b"200", b"curve"),
                    _ => (b"400", b""),
                };
                let reply: Vec<&[u8]> = vec![b"1.0", &request[1], status, b"", user, b""];
                handler.send_multipart(reply, 0).unwrap();
            }
        });
        (stop, thread)
    }};
}

/// Server `$srv` (PULL) against client `$cli` (PUSH): PLAIN accepted and refused, CURVE with
/// the right key and with a wrong one. Accepted peers deliver; refused ones deliver nothing.
macro_rules! security_case {
    ($name:ident, $srv:ident, $cli:ident) => {
        #[test]
        fn $name() {
            let server_ctx = $srv::Context::new();
            let client_ctx = $cli::Context::new();
            let (stop, zap) = zap_handler!($srv, server_ctx);
            let connect = |configure: &dyn Fn(&$cli::Socket), endpoint: &str| {
                let client = client_ctx.socket($cli::PUSH).unwrap();
                client.set_linger(0).unwrap();
                configure(&client);
                client.connect(endpoint).unwrap();
                client.send("hello", 0).unwrap();
                client
            };

            // PLAIN.
            let server = server_ctx.socket($srv::PULL).unwrap();
            server.set_rcvtimeo(5000).unwrap();
            server.set_plain_server(true).unwrap();
            server.bind("tcp://127.0.0.1:*").unwrap();
            let endpoint = server.get_last_endpoint().unwrap().unwrap();
            let good = connect(
                &|c| {
                    c.set_plain_username(Some("admin")).unwrap();
                    c.set_plain_password(Some("secret")).unwrap();
                },
                &endpoint,
            );
            let mut msg = server.recv_msg(0).unwrap();
            assert_eq!(&msg[..], b"hello");
            assert_eq!(msg.gets("User-Id"), Some("admin"));
            let bad = connect(
                &|c| {
                    c.set_plain_username(Some("admin")).unwrap();
                    c.set_plain_password(Some("guess")).unwrap();
                },
                &endpoint,
            );
            server.set_rcvtimeo(300).unwrap();
            assert!(server.recv_bytes(0).is_err(), "a refused PLAIN client got through");
            drop((good, bad, server));

            // CURVE.
            let server_keys = $srv::CurveKeyPair::new().unwrap();
            let client_keys = $cli::CurveKeyPair::new().unwrap();
            let server = server_ctx.socket($srv::PULL).unwrap();
            server.set_rcvtimeo(5000).unwrap();
            server.set_curve_server(true).unwrap();
            server.set_curve_secretkey(&server_keys.secret_key).unwrap();
            server.bind("tcp://127.0.0.1:*").unwrap();
            let endpoint = server.get_last_endpoint().unwrap().unwrap();
            let with_key = |server_key: [u8; 32]| {
                move |c: &$cli::Socket| {
                    c.set_curve_serverkey(&server_key).unwrap();
                    c.set_curve_publickey(&client_keys.public_key).unwrap();
                    c.set_curve_secretkey(&client_keys.secret_key).unwrap();
                }
            };
            let good = connect(&with_key(server_keys.public_key), &endpoint);
            let mut msg = server.recv_msg(0).unwrap();
            assert_eq!(&msg[..], b"hello");
            assert_eq!(msg.gets("User-Id"), Some("curve"));
            // A long exchange checks the nonces and the boxing of every frame.
            for i in 0..1000u32 {
                good.send_multipart([&i.to_be_bytes()[..], &vec![7u8; (i as usize * 37) % 5000][..]], 0).unwrap();
            }
            for i in 0..1000u32 {
                assert_eq!(server.recv_bytes(0).unwrap(), i.to_be_bytes());
                assert_eq!(server.recv_bytes(0).unwrap().len(), (i as usize * 37) % 5000);
            }
            let wrong = $cli::CurveKeyPair::new().unwrap();
            let bad = connect(&with_key(wrong.public_key), &endpoint);
            server.set_rcvtimeo(300).unwrap();
            assert!(server.recv_bytes(0).is_err(), "a CURVE client with a wrong server key got through");
            drop((good, bad, server));
            stop.store(true, Ordering::Release);
            zap.join().unwrap();
        }
    };
}

security_case!(rustzmq_server_libzmq_client, rustzmq, libzmq);
security_case!(libzmq_server_rustzmq_client, libzmq, rustzmq);
