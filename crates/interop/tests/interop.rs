//! Interoperability with the real libzmq (the system's libzmq 4.3 through the `zmq` crate,
//! renamed `libzmq` here; `.cargo/config.toml` links it instead of a bundled build).
//!
//! Every case pairs one rustzmq socket with one libzmq socket: PAIR and PUSH/PULL, over tcp
//! and ipc, with either side binding and, for PUSH/PULL, either side pushing. Each data case
//! sends a 3-frame message, an empty message, a 1 MiB message and a stream of 100,000 small
//! messages with sequence numbers; the reconnect cases restart a bound libzmq socket on the
//! same address and check that the connected rustzmq socket carries traffic again. Two more
//! cases cut a connection in the middle of a multipart message, which a real libzmq peer
//! cannot be made to do on cue, with a raw-wire peer speaking ZMTP 3.0 as libzmq does. Every
//! receive has a timeout, so a bug fails a test instead of hanging it.

mod common;

use std::time::{Duration, Instant};

use common::{fresh_endpoint, Lib, RemoveIpcFile, Transport};

/// Receive and send timeout of every socket, in milliseconds.
const TIMEOUT_MS: i32 = 5000;
/// Messages in the sequence-number stream.
const STREAM_LEN: u64 = 100_000;
/// Size of the large message.
const LARGE: usize = 1 << 20;
/// How long a reconnection may take.
const RECONNECT_DEADLINE: Duration = Duration::from_secs(10);

/// The socket types under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pair,
    Push,
    Pull,
}

/// The operations the tests need, over both implementations (their APIs are the same).
trait Peer: Send {
    /// Binds; `Err` carries the error text (a restarted listener may find the address busy).
    fn try_bind(&self, endpoint: &str) -> Result<(), String>;
    /// The resolved endpoint of the last bind.
    fn last_endpoint(&self) -> String;
    fn connect(&self, endpoint: &str);
    /// Sends a multipart message; `false` when it times out.
    fn try_send(&self, parts: &[&[u8]]) -> bool;
    /// Receives a multipart message; `None` when it times out.
    fn try_recv(&self) -> Option<Vec<Vec<u8>>>;
    /// Sets both the receive and the send timeout.
    fn set_timeouts(&self, ms: i32);
}

/// Implements [`Peer`] for the `Socket` of a crate with the `zmq` 0.10 API.
macro_rules! impl_peer {
    ($krate:ident) => {
        impl Peer for $krate::Socket {
            fn try_bind(&self, endpoint: &str) -> Result<(), String> {
                self.bind(endpoint).map_err(|e| e.to_string())
            }
            fn last_endpoint(&self) -> String {
                self.get_last_endpoint().unwrap().unwrap()
            }
            fn connect(&self, endpoint: &str) {
                $krate::Socket::connect(self, endpoint).unwrap();
            }
            fn try_send(&self, parts: &[&[u8]]) -> bool {
                match self.send_multipart(parts.iter().copied(), 0) {
                    Ok(()) => true,
                    Err($krate::Error::EAGAIN) => false,
                    Err(e) => panic!("{} send: {e}", stringify!($krate)),
                }
            }
            fn try_recv(&self) -> Option<Vec<Vec<u8>>> {
                match self.recv_multipart(0) {
                    Ok(parts) => Some(parts),
                    Err($krate::Error::EAGAIN) => None,
                    Err(e) => panic!("{} recv: {e}", stringify!($krate)),
                }
            }
            fn set_timeouts(&self, ms: i32) {
                self.set_rcvtimeo(ms).unwrap();
                self.set_sndtimeo(ms).unwrap();
            }
        }

        impl Socket for $krate::Socket {
            fn create(kind: Kind) -> Box<dyn Peer> {
                let socket_type = match kind {
                    Kind::Pair => $krate::PAIR,
                    Kind::Push => $krate::PUSH,
                    Kind::Pull => $krate::PULL,
                };
                // The socket keeps its own context, which ends when the socket is dropped.
                let socket = $krate::Context::new().socket(socket_type).unwrap();
                socket.set_linger(0).unwrap();
                socket.set_timeouts(TIMEOUT_MS);
                Box::new(socket)
            }
        }
    };
}

/// Creates sockets of one implementation.
trait Socket {
    fn create(kind: Kind) -> Box<dyn Peer>;
}

impl_peer!(rustzmq);
impl_peer!(libzmq);

fn socket(lib: Lib, kind: Kind) -> Box<dyn Peer> {
    match lib {
        Lib::Rust => <rustzmq::Socket as Socket>::create(kind),
        Lib::Zmq => <libzmq::Socket as Socket>::create(kind),
    }
}

/// Sends, failing the test on a timeout.
fn send(peer: &dyn Peer, parts: &[&[u8]]) {
    assert!(peer.try_send(parts), "send timed out");
}

/// Receives, failing the test on a timeout.
fn recv(peer: &dyn Peer) -> Vec<Vec<u8>> {
    peer.try_recv().expect("recv timed out")
}

/// Binds on a fresh address of the transport and returns the endpoint to connect to.
fn bind_fresh(peer: &dyn Peer, transport: Transport) -> String {
    peer.try_bind(&fresh_endpoint(transport, "data")).unwrap();
    peer.last_endpoint()
}

fn large_message() -> Vec<u8> {
    (0..LARGE).map(|i| (i % 251) as u8).collect()
}

fn stream_message(seq: u64) -> Vec<u8> {
    let mut message = seq.to_le_bytes().to_vec();
    message.extend_from_slice(b"small");
    message
}

/// Sends the whole data sequence from `sender` (on its own thread, so that high-water marks
/// are reached and lifted) and checks it arrives at `receiver` whole and in order. Returns the
/// sockets for further use.
fn exchange(sender: Box<dyn Peer>, receiver: Box<dyn Peer>) -> (Box<dyn Peer>, Box<dyn Peer>) {
    let middle = vec![b'm'; 20_000];
    let sending = std::thread::spawn(move || {
        let middle = vec![b'm'; 20_000];
        send(sender.as_ref(), &[b"first", &middle, b"third"]);
        send(sender.as_ref(), &[b""]);
        send(sender.as_ref(), &[&large_message()]);
        for seq in 0..STREAM_LEN {
            send(sender.as_ref(), &[&stream_message(seq)]);
        }
        sender
    });
    assert_eq!(recv(receiver.as_ref()), vec![b"first".to_vec(), middle, b"third".to_vec()]);
    assert_eq!(recv(receiver.as_ref()), vec![Vec::<u8>::new()]);
    let large = recv(receiver.as_ref());
    assert_eq!(large.len(), 1);
    assert!(large[0] == large_message(), "1 MiB message corrupted");
    for seq in 0..STREAM_LEN {
        let parts = recv(receiver.as_ref());
        assert_eq!(parts, vec![stream_message(seq)], "stream message {seq}");
    }
    let sender = sending.join().expect("sender thread failed");
    (sender, receiver)
}

/// One data case: `binder` binds, `connecter` connects; a PAIR exchanges both ways, otherwise
/// the PUSH sends to the PULL.
fn data_case(transport: Transport, binder: (Lib, Kind), connecter: (Lib, Kind)) {
    let bound = socket(binder.0, binder.1);
    let endpoint = bind_fresh(bound.as_ref(), transport);
    let _cleanup = RemoveIpcFile(endpoint.clone());
    let connected = socket(connecter.0, connecter.1);
    connected.connect(&endpoint);
    if binder.1 == Kind::Pair {
        let (bound, connected) = exchange(bound, connected);
        exchange(connected, bound);
    } else if binder.1 == Kind::Push {
        exchange(bound, connected);
    } else {
        exchange(connected, bound);
    }
}

/// Generates the data cases: `name: transport, (binder), (connecter);`.
macro_rules! data_cases {
    ($($name:ident: $transport:ident, ($bl:ident, $bk:ident), ($cl:ident, $ck:ident);)*) => {$(
        #[test]
        fn $name() {
            data_case(Transport::$transport, (Lib::$bl, Kind::$bk), (Lib::$cl, Kind::$ck));
        }
    )*};
}

data_cases! {
    pair_tcp_rust_binds: Tcp, (Rust, Pair), (Zmq, Pair);
    pair_tcp_libzmq_binds: Tcp, (Zmq, Pair), (Rust, Pair);
    pair_ipc_rust_binds: Ipc, (Rust, Pair), (Zmq, Pair);
    pair_ipc_libzmq_binds: Ipc, (Zmq, Pair), (Rust, Pair);
    rust_push_tcp_rust_binds: Tcp, (Rust, Push), (Zmq, Pull);
    rust_push_tcp_libzmq_binds: Tcp, (Zmq, Pull), (Rust, Push);
    rust_push_ipc_rust_binds: Ipc, (Rust, Push), (Zmq, Pull);
    rust_push_ipc_libzmq_binds: Ipc, (Zmq, Pull), (Rust, Push);
    libzmq_push_tcp_rust_binds: Tcp, (Rust, Pull), (Zmq, Push);
    libzmq_push_tcp_libzmq_binds: Tcp, (Zmq, Push), (Rust, Pull);
    libzmq_push_ipc_rust_binds: Ipc, (Rust, Pull), (Zmq, Push);
    libzmq_push_ipc_libzmq_binds: Ipc, (Zmq, Push), (Rust, Pull);
}

/// Binds a new libzmq socket on `endpoint`, retrying while the address is still busy.
fn rebind(kind: Kind, endpoint: &str) -> Box<dyn Peer> {
    let deadline = Instant::now() + RECONNECT_DEADLINE;
    loop {
        let peer = socket(Lib::Zmq, kind);
        match peer.try_bind(endpoint) {
            Ok(()) => return peer,
            Err(error) if Instant::now() < deadline => {
                eprintln!("rebind {endpoint}: {error}, retrying");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("rebind {endpoint}: {error}"),
        }
    }
}

/// Waits until a message sent by `sender` reaches `receiver` over the (re)connection:
/// probes are sent until one arrives (ones sent into the dying connection may be lost).
fn await_path(sender: &dyn Peer, receiver: &dyn Peer) {
    let deadline = Instant::now() + RECONNECT_DEADLINE;
    receiver.set_timeouts(100);
    sender.set_timeouts(100);
    let mut arrived = false;
    while !arrived {
        assert!(Instant::now() < deadline, "no message got through after the restart");
        if sender.try_send(&[b"probe"]) {
            arrived = receiver.try_recv().is_some();
        }
    }
    receiver.set_timeouts(TIMEOUT_MS);
    sender.set_timeouts(TIMEOUT_MS);
}

/// Sends a short numbered stream and checks it arrives whole, skipping stray probes.
fn short_stream(sender: &dyn Peer, receiver: &dyn Peer) {
    for seq in 0..1000 {
        send(sender, &[&stream_message(seq)]);
    }
    let mut seq = 0;
    while seq < 1000 {
        let parts = recv(receiver);
        if parts != [b"probe"] {
            assert_eq!(parts, vec![stream_message(seq)]);
            seq += 1;
        }
    }
}

/// Checks traffic in each direction the socket types allow.
fn check_flow(rust: &dyn Peer, rust_kind: Kind, zmq: &dyn Peer) {
    if rust_kind != Kind::Pull {
        await_path(rust, zmq);
        short_stream(rust, zmq);
    }
    if rust_kind != Kind::Push {
        await_path(zmq, rust);
        short_stream(zmq, rust);
    }
}

/// A libzmq socket bound on a fixed address restarts twice; the connected rustzmq socket
/// reconnects each time and traffic flows again.
fn reconnect_case(transport: Transport, zmq_kind: Kind, rust_kind: Kind) {
    let mut zmq = socket(Lib::Zmq, zmq_kind);
    let endpoint = bind_fresh(zmq.as_ref(), transport);
    let _cleanup = RemoveIpcFile(endpoint.clone());
    let rust = socket(Lib::Rust, rust_kind);
    rust.connect(&endpoint);
    check_flow(rust.as_ref(), rust_kind, zmq.as_ref());
    for _ in 0..2 {
        // Dropping the socket terminates its context: the listener is closed when it returns.
        drop(zmq);
        zmq = rebind(zmq_kind, &endpoint);
        check_flow(rust.as_ref(), rust_kind, zmq.as_ref());
    }
}

/// Generates the reconnect cases: `name: transport, libzmq kind, rustzmq kind;`.
macro_rules! reconnect_cases {
    ($($name:ident: $transport:ident, $zk:ident, $rk:ident;)*) => {$(
        #[test]
        fn $name() {
            reconnect_case(Transport::$transport, Kind::$zk, Kind::$rk);
        }
    )*};
}

reconnect_cases! {
    reconnect_pair_tcp: Tcp, Pair, Pair;
    reconnect_pair_ipc: Ipc, Pair, Pair;
    reconnect_rust_push_tcp: Tcp, Pull, Push;
    reconnect_rust_push_ipc: Ipc, Pull, Push;
    reconnect_rust_pull_tcp: Tcp, Push, Pull;
    reconnect_rust_pull_ipc: Ipc, Push, Pull;
}

#[test]
fn libzmq_is_4_3_with_curve() {
    let (major, minor, _) = libzmq::version();
    assert_eq!((major, minor), (4, 3));
    assert_eq!(libzmq::has("curve"), Some(true));
}

/// A raw-wire ZMTP 3.0 peer (NULL mechanism) for cuts a real libzmq peer cannot be made to do
/// on cue: it accepts, handshakes as libzmq does, then the test writes and reads frames.
struct WirePeer {
    listener: std::net::TcpListener,
}

impl WirePeer {
    fn new() -> WirePeer {
        WirePeer { listener: std::net::TcpListener::bind("127.0.0.1:0").unwrap() }
    }

    fn endpoint(&self) -> String {
        format!("tcp://{}", self.listener.local_addr().unwrap())
    }

    /// Accepts one connection and completes the handshake as a `kind` socket.
    fn accept(&self, kind: &str) -> std::net::TcpStream {
        use std::io::{Read, Write};
        let (mut stream, _) = self.listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(TIMEOUT_MS as u64))).unwrap();
        let mut greeting = [0u8; 64];
        greeting[0] = 0xFF;
        greeting[9] = 0x7F;
        greeting[10] = 3;
        greeting[12..16].copy_from_slice(b"NULL");
        stream.write_all(&greeting).unwrap();
        let mut ready = vec![5u8];
        ready.extend_from_slice(b"READY");
        ready.push(11);
        ready.extend_from_slice(b"Socket-Type");
        ready.extend_from_slice(&(kind.len() as u32).to_be_bytes());
        ready.extend_from_slice(kind.as_bytes());
        stream.write_all(&[0x04, ready.len() as u8]).unwrap();
        stream.write_all(&ready).unwrap();
        // The peer's greeting, then its READY command (short header).
        stream.read_exact(&mut greeting).unwrap();
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).unwrap();
        assert_eq!(header[0], 0x04, "expected a short command");
        let mut body = vec![0u8; usize::from(header[1])];
        stream.read_exact(&mut body).unwrap();
        stream
    }
}

/// Reads one message frame header (long or short): the MORE flag and the body size.
fn read_frame_header(stream: &mut std::net::TcpStream) -> (bool, usize) {
    use std::io::Read;
    let mut flags = [0u8; 1];
    stream.read_exact(&mut flags).unwrap();
    assert_eq!(flags[0] & 0x04, 0, "unexpected command");
    let len = if flags[0] & 0x02 != 0 {
        let mut size = [0u8; 8];
        stream.read_exact(&mut size).unwrap();
        usize::try_from(u64::from_be_bytes(size)).unwrap()
    } else {
        let mut size = [0u8; 1];
        stream.read_exact(&mut size).unwrap();
        usize::from(size[0])
    };
    (flags[0] & 0x01 != 0, len)
}

/// Reads one message frame: the MORE flag and the body.
fn read_frame(stream: &mut std::net::TcpStream) -> (bool, Vec<u8>) {
    use std::io::Read;
    let (more, len) = read_frame_header(stream);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).unwrap();
    (more, body)
}

/// A peer that dies after the first frame of a multipart message: after the reconnection,
/// the rustzmq PULL must not glue that orphan frame to the next message (libzmq's
/// `session_base_t::clean_pipes` rolls it back).
#[test]
fn reconnect_drops_half_received_message() {
    use std::io::Write;
    let peer = WirePeer::new();
    let rust = socket(Lib::Rust, Kind::Pull);
    rust.connect(&peer.endpoint());
    let mut first = peer.accept("PUSH");
    first.write_all(&[0x01, 6]).unwrap();
    first.write_all(b"orphan").unwrap();
    first.shutdown(std::net::Shutdown::Write).unwrap();
    let mut second = peer.accept("PUSH");
    second.write_all(&[0x00, 5]).unwrap();
    second.write_all(b"whole").unwrap();
    assert_eq!(recv(rust.as_ref()), vec![b"whole".to_vec()]);
    drop(first);
}

/// The connection breaks while a rustzmq PUSH is in the middle of sending a multipart
/// message: the new connection must not start with the rest of that message.
#[test]
fn reconnect_drops_half_sent_message() {
    let peer = WirePeer::new();
    let rust = socket(Lib::Rust, Kind::Push);
    rust.connect(&peer.endpoint());
    let mut first = peer.accept("PULL");
    // Far more than the socket buffers hold: the engine stops inside the message.
    let big = vec![b'b'; 32 << 20];
    send(rust.as_ref(), &[b"head", &big, b"tail"]);
    send(rust.as_ref(), &[b"next"]);
    // Once the head is here the engine holds the big frame; the tail waits in the pipe.
    assert_eq!(read_frame_header(&mut first), (true, 4));
    drop(first);
    let mut second = peer.accept("PULL");
    let (more, body) = read_frame(&mut second);
    assert_eq!((more, body.as_slice()), (false, &b"next"[..]), "the new connection starts mid-message");
}
