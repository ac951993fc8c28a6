//! Request-reply interoperability with the real libzmq 4.3 (the `zmq` crate, renamed
//! `libzmq`): REQ↔REP, DEALER↔ROUTER, DEALER↔REP and REQ↔ROUTER, one side rustzmq and the
//! other libzmq, over tcp and ipc, with either side binding. Also: routing ids set by either
//! implementation and seen by the other's ROUTER, generated ids, REQ_CORRELATE across
//! implementations, PROBE_ROUTER, ROUTER_MANDATORY, and REQ → ROUTER → proxy → DEALER → REP
//! chains mixing both implementations. Every receive has a timeout.

mod common;

use std::time::{Duration, Instant};

use common::{fresh_endpoint, Lib, RemoveIpcFile, Transport};

/// Receive and send timeout of every socket, in milliseconds.
const TIMEOUT_MS: i32 = 5000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Req,
    Rep,
    Dealer,
    Router,
}

/// Why a non-blocking send failed.
#[derive(Debug, PartialEq, Eq)]
enum SendError {
    HostUnreachable,
    Again,
    Other(String),
}

/// What the tests do with a socket of either implementation.
trait Peer: Send {
    fn bind(&self, endpoint: &str) -> String;
    fn connect(&self, endpoint: &str);
    fn send(&self, parts: &[&[u8]]);
    /// Sends without waiting.
    fn try_send(&self, parts: &[&[u8]]) -> Result<(), SendError>;
    /// Receives a multipart message, failing the test on a timeout.
    fn recv(&self) -> Vec<Vec<u8>>;
    fn readable_within(&self, ms: i64) -> bool;
    fn set_identity(&self, id: &[u8]);
    fn set_probe_router(&self);
    fn set_router_mandatory(&self);
    fn set_req_correlate(&self);
}

macro_rules! impl_peer {
    ($krate:ident, $make:ident) => {
        impl Peer for $krate::Socket {
            fn bind(&self, endpoint: &str) -> String {
                $krate::Socket::bind(self, endpoint).unwrap();
                self.get_last_endpoint().unwrap().unwrap()
            }
            fn connect(&self, endpoint: &str) {
                $krate::Socket::connect(self, endpoint).unwrap();
            }
            fn send(&self, parts: &[&[u8]]) {
                self.send_multipart(parts.iter().copied(), 0)
                    .unwrap_or_else(|e| panic!("{} send: {e}", stringify!($krate)));
            }
            fn try_send(&self, parts: &[&[u8]]) -> Result<(), SendError> {
                self.send_multipart(parts.iter().copied(), $krate::DONTWAIT).map_err(|e| match e {
                    $krate::Error::EHOSTUNREACH => SendError::HostUnreachable,
                    $krate::Error::EAGAIN => SendError::Again,
                    other => SendError::Other(other.to_string()),
                })
            }
            fn recv(&self) -> Vec<Vec<u8>> {
                self.recv_multipart(0).unwrap_or_else(|e| panic!("{} recv: {e}", stringify!($krate)))
            }
            fn readable_within(&self, ms: i64) -> bool {
                self.poll($krate::POLLIN, ms).unwrap() == 1
            }
            fn set_identity(&self, id: &[u8]) {
                $krate::Socket::set_identity(self, id).unwrap();
            }
            fn set_probe_router(&self) {
                $krate::Socket::set_probe_router(self, true).unwrap();
            }
            fn set_router_mandatory(&self) {
                $krate::Socket::set_router_mandatory(self, true).unwrap();
            }
            fn set_req_correlate(&self) {
                $krate::Socket::set_req_correlate(self, true).unwrap();
            }
        }

        fn $make(ctx: &$krate::Context, kind: Kind) -> $krate::Socket {
            let socket_type = match kind {
                Kind::Req => $krate::REQ,
                Kind::Rep => $krate::REP,
                Kind::Dealer => $krate::DEALER,
                Kind::Router => $krate::ROUTER,
            };
            let socket = ctx.socket(socket_type).unwrap();
            socket.set_linger(0).unwrap();
            socket.set_rcvtimeo(TIMEOUT_MS).unwrap();
            socket.set_sndtimeo(TIMEOUT_MS).unwrap();
            socket
        }
    };
}

impl_peer!(rustzmq, make_rust);
impl_peer!(libzmq, make_zmq);

/// A socket with its own context (which ends when the socket is dropped).
fn socket(lib: Lib, kind: Kind) -> Box<dyn Peer> {
    match lib {
        Lib::Rust => Box::new(make_rust(&rustzmq::Context::new(), kind)),
        Lib::Zmq => Box::new(make_zmq(&libzmq::Context::new(), kind)),
    }
}

fn parts(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|p| p.to_vec()).collect()
}

/// Two connected sockets: `(binder, connecter)`; the guard removes an ipc file.
fn connected(
    transport: Transport,
    binder: (Lib, Kind),
    connecter: (Lib, Kind),
    setup: impl Fn(&dyn Peer, Kind),
) -> (Box<dyn Peer>, Box<dyn Peer>, RemoveIpcFile) {
    let bound = socket(binder.0, binder.1);
    setup(bound.as_ref(), binder.1);
    let endpoint = bound.bind(&fresh_endpoint(transport, "reqrep"));
    let connecting = socket(connecter.0, connecter.1);
    setup(connecting.as_ref(), connecter.1);
    connecting.connect(&endpoint);
    (bound, connecting, RemoveIpcFile(endpoint))
}

/// Lockstep requests and replies, single-part, multipart and empty.
fn req_rep_case(transport: Transport, binder: (Lib, Kind), connecter: (Lib, Kind)) {
    let (a, b, _cleanup) = connected(transport, binder, connecter, |_, _| {});
    let (req, rep) = if binder.1 == Kind::Req { (a, b) } else { (b, a) };
    for i in 0..50u32 {
        req.send(&[format!("request {i}").as_bytes()]);
        assert_eq!(rep.recv(), vec![format!("request {i}").into_bytes()]);
        rep.send(&[format!("reply {i}").as_bytes()]);
        assert_eq!(req.recv(), vec![format!("reply {i}").into_bytes()]);
    }
    req.send(&[b"a", b"", b"c"]);
    assert_eq!(rep.recv(), parts(&[b"a", b"", b"c"]));
    rep.send(&[b"x", b"y"]);
    assert_eq!(req.recv(), parts(&[b"x", b"y"]));
    req.send(&[b""]);
    assert_eq!(rep.recv(), parts(&[b""]));
    rep.send(&[&vec![7u8; 100_000]]);
    assert_eq!(req.recv(), vec![vec![7u8; 100_000]]);
}

/// A DEALER with an identity (or none) and a ROUTER: the ROUTER sees the identity (or a
/// generated 5-byte id) and routes replies by it.
fn dealer_router_case(transport: Transport, binder: (Lib, Kind), connecter: (Lib, Kind)) {
    for identity in [Some(&b"dealer-\x01"[..]), None] {
        let (a, b, _cleanup) = connected(transport, binder, connecter, |peer, kind| {
            if let (Kind::Dealer, Some(id)) = (kind, identity) {
                peer.set_identity(id);
            }
        });
        let (dealer, router) = if binder.1 == Kind::Dealer { (a, b) } else { (b, a) };
        dealer.send(&[b"hello", b"", b"world"]);
        let message = router.recv();
        match identity {
            Some(id) => assert_eq!(message[0], id),
            None => {
                assert_eq!(message[0].len(), 5, "generated id {:?}", message[0]);
                assert_eq!(message[0][0], 0, "generated id {:?}", message[0]);
            }
        }
        assert_eq!(message[1..], parts(&[b"hello", b"", b"world"]));
        let id = message[0].clone();
        for i in 0..100u32 {
            router.send(&[&id, &i.to_le_bytes(), b"tail"]);
        }
        for i in 0..100u32 {
            assert_eq!(dealer.recv(), vec![i.to_le_bytes().to_vec(), b"tail".to_vec()]);
        }
        // Unknown ids are dropped silently.
        router.send(&[b"nobody", b"lost"]);
        router.send(&[&id, b"last"]);
        assert_eq!(dealer.recv(), parts(&[b"last"]));
    }
}

/// A DEALER speaking to a REP supplies the envelope itself.
fn dealer_rep_case(transport: Transport, binder: (Lib, Kind), connecter: (Lib, Kind)) {
    let (a, b, _cleanup) = connected(transport, binder, connecter, |_, _| {});
    let (dealer, rep) = if binder.1 == Kind::Dealer { (a, b) } else { (b, a) };
    dealer.send(&[b"no delimiter: dropped by REP"]);
    dealer.send(&[b"hop", b"", b"request", b"2"]);
    assert_eq!(rep.recv(), parts(&[b"request", b"2"]));
    rep.send(&[b"reply"]);
    assert_eq!(dealer.recv(), parts(&[b"hop", b"", b"reply"]));
    for i in 0..20u32 {
        dealer.send(&[b"", &i.to_le_bytes()]);
        assert_eq!(rep.recv(), vec![i.to_le_bytes().to_vec()]);
        rep.send(&[&i.to_be_bytes()]);
        assert_eq!(dealer.recv(), vec![Vec::new(), i.to_be_bytes().to_vec()]);
    }
}

/// A ROUTER serving a REQ sees [id, "", body] and answers with the same envelope; a rustzmq
/// REQ drops replies without the delimiter (libzmq's REQ session closes the connection on
/// one, so its REQ gets well-formed replies only).
fn req_router_case(transport: Transport, binder: (Lib, Kind), connecter: (Lib, Kind)) {
    let req_lib = if binder.1 == Kind::Req { binder.0 } else { connecter.0 };
    let (a, b, _cleanup) = connected(transport, binder, connecter, |peer, kind| {
        if kind == Kind::Req {
            peer.set_identity(b"requester");
        }
    });
    let (req, router) = if binder.1 == Kind::Req { (a, b) } else { (b, a) };
    for i in 0..20u32 {
        req.send(&[&i.to_le_bytes(), b"more"]);
        let message = router.recv();
        assert_eq!(message, vec![b"requester".to_vec(), Vec::new(), i.to_le_bytes().to_vec(), b"more".to_vec()]);
        if req_lib == Lib::Rust {
            router.send(&[b"requester", b"malformed: no delimiter"]);
        }
        router.send(&[b"requester", b"", b"reply", &i.to_le_bytes()]);
        assert_eq!(req.recv(), vec![b"reply".to_vec(), i.to_le_bytes().to_vec()]);
    }
}

/// Generates one test per transport and direction: `name: case, (binder), (connecter);`.
macro_rules! cases {
    ($($name:ident: $case:ident, $transport:ident, ($bl:ident, $bk:ident), ($cl:ident, $ck:ident);)*) => {$(
        #[test]
        fn $name() {
            $case(Transport::$transport, (Lib::$bl, Kind::$bk), (Lib::$cl, Kind::$ck));
        }
    )*};
}

cases! {
    rust_req_tcp_rust_binds: req_rep_case, Tcp, (Rust, Req), (Zmq, Rep);
    rust_req_tcp_libzmq_binds: req_rep_case, Tcp, (Zmq, Rep), (Rust, Req);
    rust_req_ipc_rust_binds: req_rep_case, Ipc, (Rust, Req), (Zmq, Rep);
    rust_req_ipc_libzmq_binds: req_rep_case, Ipc, (Zmq, Rep), (Rust, Req);
    rust_rep_tcp_rust_binds: req_rep_case, Tcp, (Rust, Rep), (Zmq, Req);
    rust_rep_tcp_libzmq_binds: req_rep_case, Tcp, (Zmq, Req), (Rust, Rep);
    rust_rep_ipc_rust_binds: req_rep_case, Ipc, (Rust, Rep), (Zmq, Req);
    rust_rep_ipc_libzmq_binds: req_rep_case, Ipc, (Zmq, Req), (Rust, Rep);

    rust_dealer_tcp_rust_binds: dealer_router_case, Tcp, (Rust, Dealer), (Zmq, Router);
    rust_dealer_tcp_libzmq_binds: dealer_router_case, Tcp, (Zmq, Router), (Rust, Dealer);
    rust_dealer_ipc_rust_binds: dealer_router_case, Ipc, (Rust, Dealer), (Zmq, Router);
    rust_dealer_ipc_libzmq_binds: dealer_router_case, Ipc, (Zmq, Router), (Rust, Dealer);
    rust_router_tcp_rust_binds: dealer_router_case, Tcp, (Rust, Router), (Zmq, Dealer);
    rust_router_tcp_libzmq_binds: dealer_router_case, Tcp, (Zmq, Dealer), (Rust, Router);
    rust_router_ipc_rust_binds: dealer_router_case, Ipc, (Rust, Router), (Zmq, Dealer);
    rust_router_ipc_libzmq_binds: dealer_router_case, Ipc, (Zmq, Dealer), (Rust, Router);

    rust_dealer_to_rep_tcp_rust_binds: dealer_rep_case, Tcp, (Rust, Dealer), (Zmq, Rep);
    rust_dealer_to_rep_tcp_libzmq_binds: dealer_rep_case, Tcp, (Zmq, Rep), (Rust, Dealer);
    rust_dealer_to_rep_ipc_rust_binds: dealer_rep_case, Ipc, (Rust, Dealer), (Zmq, Rep);
    rust_dealer_to_rep_ipc_libzmq_binds: dealer_rep_case, Ipc, (Zmq, Rep), (Rust, Dealer);
    rust_rep_from_dealer_tcp_rust_binds: dealer_rep_case, Tcp, (Rust, Rep), (Zmq, Dealer);
    rust_rep_from_dealer_tcp_libzmq_binds: dealer_rep_case, Tcp, (Zmq, Dealer), (Rust, Rep);
    rust_rep_from_dealer_ipc_rust_binds: dealer_rep_case, Ipc, (Rust, Rep), (Zmq, Dealer);
    rust_rep_from_dealer_ipc_libzmq_binds: dealer_rep_case, Ipc, (Zmq, Dealer), (Rust, Rep);

    rust_req_to_router_tcp_rust_binds: req_router_case, Tcp, (Rust, Req), (Zmq, Router);
    rust_req_to_router_tcp_libzmq_binds: req_router_case, Tcp, (Zmq, Router), (Rust, Req);
    rust_req_to_router_ipc_rust_binds: req_router_case, Ipc, (Rust, Req), (Zmq, Router);
    rust_req_to_router_ipc_libzmq_binds: req_router_case, Ipc, (Zmq, Router), (Rust, Req);
    rust_router_from_req_tcp_rust_binds: req_router_case, Tcp, (Rust, Router), (Zmq, Req);
    rust_router_from_req_tcp_libzmq_binds: req_router_case, Tcp, (Zmq, Req), (Rust, Router);
    rust_router_from_req_ipc_rust_binds: req_router_case, Ipc, (Rust, Router), (Zmq, Req);
    rust_router_from_req_ipc_libzmq_binds: req_router_case, Ipc, (Zmq, Req), (Rust, Router);
}

/// REQ_CORRELATE's request-id frame passes through the other implementation's REP as part
/// of the envelope and is matched on the way back.
#[test]
fn correlated_requests_across_implementations() {
    for (req_lib, rep_lib) in [(Lib::Rust, Lib::Zmq), (Lib::Zmq, Lib::Rust)] {
        let (rep, req, _cleanup) =
            connected(Transport::Tcp, (rep_lib, Kind::Rep), (req_lib, Kind::Req), |peer, kind| {
                if kind == Kind::Req {
                    peer.set_req_correlate();
                }
            });
        for i in 0..10u32 {
            req.send(&[&i.to_le_bytes()]);
            assert_eq!(rep.recv(), vec![i.to_le_bytes().to_vec()]);
            rep.send(&[b"ok", &i.to_le_bytes()]);
            assert_eq!(req.recv(), vec![b"ok".to_vec(), i.to_le_bytes().to_vec()], "{req_lib:?} REQ");
        }
    }
}

/// PROBE_ROUTER: a probing DEALER or ROUTER of one implementation, connecting to the other's
/// ROUTER, announces itself with an empty message, even while the prober sits idle.
#[test]
fn probes_reach_the_other_implementation() {
    for (prober_lib, prober_kind, server_lib) in [
        (Lib::Rust, Kind::Dealer, Lib::Zmq),
        (Lib::Rust, Kind::Router, Lib::Zmq),
        (Lib::Zmq, Kind::Dealer, Lib::Rust),
        (Lib::Zmq, Kind::Router, Lib::Rust),
    ] {
        let what = format!("{prober_lib:?} {prober_kind:?} probing");
        let server = socket(server_lib, Kind::Router);
        let endpoint = server.bind(&fresh_endpoint(Transport::Tcp, "reqrep"));
        let prober = socket(prober_lib, prober_kind);
        prober.set_identity(b"prober");
        prober.set_probe_router();
        prober.connect(&endpoint);
        assert_eq!(server.recv(), parts(&[b"prober", b""]), "{what}");
        server.send(&[b"prober", b"welcome"]);
        let reply = prober.recv();
        match prober_kind {
            Kind::Router => {
                assert_eq!(reply.len(), 2, "{what}");
                assert_eq!(reply[1], b"welcome", "{what}");
            }
            _ => assert_eq!(reply, parts(&[b"welcome"]), "{what}"),
        }
    }
}

/// ROUTER_MANDATORY against the other implementation: unknown ids fail with EHOSTUNREACH;
/// once the peer's handshake is done, its id routes.
#[test]
fn mandatory_routing_across_implementations() {
    for (router_lib, dealer_lib) in [(Lib::Rust, Lib::Zmq), (Lib::Zmq, Lib::Rust)] {
        let router = socket(router_lib, Kind::Router);
        router.set_router_mandatory();
        let endpoint = router.bind(&fresh_endpoint(Transport::Tcp, "reqrep"));
        assert_eq!(router.try_send(&[b"dealer", b"x"]), Err(SendError::HostUnreachable), "{router_lib:?}");
        let dealer = socket(dealer_lib, Kind::Dealer);
        dealer.set_identity(b"dealer");
        dealer.connect(&endpoint);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match router.try_send(&[b"dealer", b"routed"]) {
                Ok(()) => break,
                Err(SendError::HostUnreachable) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(error) => panic!("{router_lib:?} ROUTER: {error:?}"),
            }
        }
        assert_eq!(dealer.recv(), parts(&[b"routed"]));
    }
}

/// libzmq REQ clients → rustzmq ROUTER/DEALER proxy → libzmq REP workers: multi-hop
/// envelopes built by one implementation and unwrapped by the other.
#[test]
fn libzmq_clients_and_workers_through_a_rustzmq_broker() {
    let mut rctx = rustzmq::Context::new();
    let frontend = make_rust(&rctx, Kind::Router);
    let backend = make_rust(&rctx, Kind::Dealer);
    frontend.set_rcvtimeo(-1).unwrap();
    backend.set_rcvtimeo(-1).unwrap();
    let front = Peer::bind(&frontend, "tcp://127.0.0.1:*");
    let back = Peer::bind(&backend, "tcp://127.0.0.1:*");
    let broker = std::thread::spawn(move || {
        let result = rustzmq::proxy(&frontend, &backend);
        drop(frontend);
        drop(backend);
        result
    });
    let zctx = libzmq::Context::new();
    chain_traffic(
        (0..3).map(|_| Box::new(make_zmq(&zctx, Kind::Req)) as Box<dyn Peer>).collect(),
        (0..2).map(|_| Box::new(make_zmq(&zctx, Kind::Rep)) as Box<dyn Peer>).collect(),
        &front,
        &back,
    );
    rctx.destroy().unwrap();
    assert_eq!(broker.join().unwrap(), Err(rustzmq::Error::ETERM));
}

/// rustzmq REQ clients → libzmq ROUTER/DEALER proxy → rustzmq REP workers.
#[test]
fn rustzmq_clients_and_workers_through_a_libzmq_broker() {
    let mut zctx = libzmq::Context::new();
    let frontend = make_zmq(&zctx, Kind::Router);
    let backend = make_zmq(&zctx, Kind::Dealer);
    frontend.set_rcvtimeo(-1).unwrap();
    backend.set_rcvtimeo(-1).unwrap();
    let front = Peer::bind(&frontend, "tcp://127.0.0.1:*");
    let back = Peer::bind(&backend, "tcp://127.0.0.1:*");
    let broker = std::thread::spawn(move || {
        let result = libzmq::proxy(&frontend, &backend);
        drop(frontend);
        drop(backend);
        result
    });
    let rctx = rustzmq::Context::new();
    chain_traffic(
        (0..3).map(|_| Box::new(make_rust(&rctx, Kind::Req)) as Box<dyn Peer>).collect(),
        (0..2).map(|_| Box::new(make_rust(&rctx, Kind::Rep)) as Box<dyn Peer>).collect(),
        &front,
        &back,
    );
    zctx.destroy().unwrap();
    assert_eq!(broker.join().unwrap(), Err(libzmq::Error::ETERM));
}

/// Connects clients to `front` and workers to `back`, runs rounds of requests (each worker
/// echoes with a suffix), then drops every client and worker.
fn chain_traffic(clients: Vec<Box<dyn Peer>>, workers: Vec<Box<dyn Peer>>, front: &str, back: &str) {
    for client in &clients {
        client.connect(front);
    }
    for worker in &workers {
        worker.connect(back);
    }
    for round in 0..5u8 {
        for (i, client) in clients.iter().enumerate() {
            client.send(&[&[i as u8, round], b"payload"]);
        }
        let mut answered = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while answered < clients.len() {
            assert!(Instant::now() < deadline, "requests did not reach the workers");
            for worker in &workers {
                if worker.readable_within(10) {
                    let request = worker.recv();
                    assert_eq!(request.len(), 2);
                    worker.send(&[&request[0], &request[1], b"done"]);
                    answered += 1;
                }
            }
        }
        for (i, client) in clients.iter().enumerate() {
            assert_eq!(client.recv(), vec![vec![i as u8, round], b"payload".to_vec(), b"done".to_vec()]);
        }
    }
}
