//! Behaviour a libzmq user relies on: timeouts, DONTWAIT, high-water marks, linger,
//! termination, endpoint errors, reconnection and poll. Every wait is bounded.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustzmq as zmq;

const LONG: i32 = 5000;

fn pull_bound(ctx: &zmq::Context, endpoint: &str) -> (zmq::Socket, String) {
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(LONG).unwrap();
    pull.bind(endpoint).unwrap();
    let bound = pull.get_last_endpoint().unwrap().unwrap();
    (pull, bound)
}

/// Runs `f` in a thread and fails the test if it does not finish within `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).expect("operation did not finish in time")
}

#[test]
fn rcvtimeo_and_sndtimeo_expire_with_eagain() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(50).unwrap();
    pull.bind("inproc://timeouts").unwrap();
    let start = Instant::now();
    assert_eq!(pull.recv_bytes(0), Err(zmq::Error::EAGAIN));
    assert!(start.elapsed() >= Duration::from_millis(50));

    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_sndtimeo(50).unwrap();
    assert_eq!(push.send("nobody", 0), Err(zmq::Error::EAGAIN), "no peer at all");
}

#[test]
fn dontwait_returns_eagain_at_once() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://dontwait").unwrap();
    let start = Instant::now();
    assert_eq!(pull.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
    let push = ctx.socket(zmq::PUSH).unwrap();
    assert_eq!(push.send("x", zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn push_blocks_at_hwm_and_resumes_when_the_peer_reads() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvhwm(10).unwrap();
    pull.set_rcvtimeo(LONG).unwrap();
    pull.bind("inproc://hwm").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_sndhwm(10).unwrap();
    push.connect("inproc://hwm").unwrap();
    let mut sent = 0;
    while push.send("m", zmq::DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 1000, "HWM not enforced");
    }
    // inproc: the pipe holds SNDHWM + RCVHWM messages, as in libzmq.
    assert_eq!(sent, 20);
    push.set_sndtimeo(50).unwrap();
    assert_eq!(push.send("m", 0), Err(zmq::Error::EAGAIN), "blocking send times out while full");
    for _ in 0..sent {
        pull.recv_bytes(0).unwrap();
    }
    push.set_sndtimeo(LONG).unwrap();
    push.send("after", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"after");
}

#[test]
fn default_linger_delivers_pending_messages_after_close() {
    let ctx = zmq::Context::new();
    let (pull, endpoint) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..1000u32 {
        push.send(&i.to_be_bytes()[..], 0).unwrap();
    }
    drop(push);
    for i in 0..1000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes());
    }
}

#[test]
fn linger_zero_drops_pending_messages_and_terminates_promptly() {
    within(Duration::from_secs(10), || {
        let ctx = zmq::Context::new();
        let push = ctx.socket(zmq::PUSH).unwrap();
        // Nobody listens there: the messages can never leave.
        push.connect("tcp://127.0.0.1:1").unwrap();
        for _ in 0..10 {
            push.send("stuck", zmq::DONTWAIT).unwrap();
        }
        push.set_linger(0).unwrap();
        drop(push);
        drop(ctx);
    });
}

#[test]
fn blocked_recv_returns_eterm_when_the_context_is_destroyed() {
    let mut ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://eterm").unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        started_tx.send(()).unwrap();
        let result = pull.recv_bytes(0);
        drop(pull);
        done_tx.send(result).unwrap();
    });
    started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    within(Duration::from_secs(10), move || ctx.destroy()).unwrap();
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)).unwrap(), Err(zmq::Error::ETERM));
}

#[test]
fn endpoint_errors_match_libzmq() {
    let ctx = zmq::Context::new();
    let a = ctx.socket(zmq::PULL).unwrap();
    let b = ctx.socket(zmq::PULL).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = a.get_last_endpoint().unwrap().unwrap();
    assert_eq!(b.bind(&endpoint), Err(zmq::Error::EADDRINUSE));
    a.bind("inproc://taken").unwrap();
    assert_eq!(b.bind("inproc://taken"), Err(zmq::Error::EADDRINUSE));
    assert_eq!(b.bind("tcp://127.0.0.1"), Err(zmq::Error::EINVAL));
    assert_eq!(b.connect("tcp://127.0.0.1:notaport"), Err(zmq::Error::EINVAL));
    assert_eq!(b.bind("foo://bar"), Err(zmq::Error::EPROTONOSUPPORT));
    assert_eq!(b.connect("foo://bar"), Err(zmq::Error::EPROTONOSUPPORT));
    assert_eq!(b.unbind("tcp://127.0.0.1:5"), Err(zmq::Error::ENOENT));
    assert_eq!(b.disconnect("tcp://127.0.0.1:5"), Err(zmq::Error::ENOENT));
    a.unbind(&endpoint).unwrap();
    b.bind(&endpoint).unwrap();
}

#[test]
fn push_reconnects_after_the_binder_restarts_on_the_same_port() {
    let ctx = zmq::Context::new();
    let (pull, endpoint) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_sndtimeo(LONG).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("before", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"before");
    drop(pull);

    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(100).unwrap();
    // The port may take a moment to be released by the closing listener.
    let deadline = Instant::now() + Duration::from_secs(10);
    while pull.bind(&endpoint).is_err() {
        assert!(Instant::now() < deadline, "could not re-bind {endpoint}");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Messages sent while the link was down may be lost, as with libzmq: keep sending until
    // one arrives over the new connection.
    loop {
        push.send("after", 0).unwrap();
        if let Ok(msg) = pull.recv_bytes(0) {
            assert_eq!(msg, b"after");
            break;
        }
        assert!(Instant::now() < deadline, "no reconnection");
    }
    // Extra copies of "after" may still be queued for a peer that is about to go away; with
    // the default infinite linger the context would wait for them forever, as libzmq's does.
    push.set_linger(0).unwrap();
    drop(pull);
}

/// ZMQ_FD as an event loop uses it: wait on the fd with poll(2) (not zmq::poll), then ask
/// ZMQ_EVENTS. The fd must become readable for a message that arrives while the owner never
/// calls into the socket.
#[test]
fn zmq_fd_wakes_an_external_poller() {
    let ctx = zmq::Context::new();
    let (pull, endpoint) = pull_bound(&ctx, "inproc://fd-poller");
    let fd = pull.get_fd().unwrap();
    assert!(!pull.get_events().unwrap().contains(zmq::POLLIN));
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("wake", 0).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "no POLLIN within 5 s");
        // SAFETY: one valid pollfd, count 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) };
        assert!(rc > 0, "ZMQ_FD never became readable");
        // Readiness is edge-like, as libzmq's: ask ZMQ_EVENTS, which may say "nothing yet".
        if pull.get_events().unwrap().contains(zmq::POLLIN) {
            break;
        }
    }
    assert_eq!(pull.recv_bytes(zmq::DONTWAIT).unwrap(), b"wake");
}

#[test]
fn poll_wakes_on_a_socket_and_on_a_raw_fd() {
    let ctx = zmq::Context::new();
    let (pull, endpoint) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let (mut pipe_reader, mut pipe_writer) = std::os::unix::net::UnixStream::pair().unwrap();
    use std::os::fd::AsRawFd;
    let fd = pipe_reader.as_raw_fd();

    {
        let mut items = [pull.as_poll_item(zmq::POLLIN), zmq::PollItem::from_fd(fd, zmq::POLLIN)];
        assert_eq!(zmq::poll(&mut items, 0).unwrap(), 0);
    }

    let push_ctx = ctx.clone();
    let sender = std::thread::spawn(move || {
        let push = push_ctx.socket(zmq::PUSH).unwrap();
        push.connect(&endpoint).unwrap();
        push.send("wake", 0).unwrap();
    });
    {
        let mut items = [pull.as_poll_item(zmq::POLLIN), zmq::PollItem::from_fd(fd, zmq::POLLIN)];
        assert_eq!(zmq::poll(&mut items, 5000).unwrap(), 1);
        assert!(items[0].is_readable());
        assert!(!items[1].is_readable());
    }
    sender.join().unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"wake");

    pipe_writer.write_all(b"x").unwrap();
    {
        let mut items = [pull.as_poll_item(zmq::POLLIN), zmq::PollItem::from_fd(fd, zmq::POLLIN)];
        assert_eq!(zmq::poll(&mut items, 5000).unwrap(), 1);
        assert!(items[1].is_readable());
        assert!(items[1].has_fd(fd));
    }
    let mut byte = [0u8; 1];
    std::io::Read::read(&mut pipe_reader, &mut byte).unwrap();
    assert_eq!(pull.poll(zmq::POLLIN, 0).unwrap(), 0);
}

#[test]
fn proxy_forwards_until_the_context_terminates() {
    let mut ctx = zmq::Context::new();
    let frontend = ctx.socket(zmq::PULL).unwrap();
    frontend.bind("inproc://front").unwrap();
    let backend = ctx.socket(zmq::PUSH).unwrap();
    backend.bind("inproc://back").unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = zmq::proxy(&frontend, &backend);
        drop((frontend, backend));
        done_tx.send(result).unwrap();
    });
    let input = ctx.socket(zmq::PUSH).unwrap();
    input.connect("inproc://front").unwrap();
    let output = ctx.socket(zmq::PULL).unwrap();
    output.set_rcvtimeo(LONG).unwrap();
    output.connect("inproc://back").unwrap();
    input.send_multipart(["through", "the proxy"], 0).unwrap();
    assert_eq!(output.recv_multipart(0).unwrap(), [b"through".to_vec(), b"the proxy".to_vec()]);
    drop((input, output));
    within(Duration::from_secs(10), move || ctx.destroy()).unwrap();
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)).unwrap(), Err(zmq::Error::ETERM));
}

#[test]
fn ipc_socket_file_is_removed_on_unbind_and_close() {
    let ctx = zmq::Context::new();
    let path = std::env::temp_dir().join(format!("rustzmq-behaviour-{}.ipc", std::process::id()));
    let endpoint = format!("ipc://{}", path.display());
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind(&endpoint).unwrap();
    assert!(path.exists());
    pull.unbind(&endpoint).unwrap();
    assert!(!path.exists(), "unbind leaves the socket file");
    pull.bind(&endpoint).unwrap();
    assert!(path.exists());
    drop(pull);
    assert!(!path.exists(), "close leaves the socket file");

    // The wildcard form binds a fresh path and reports it.
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("ipc://*").unwrap();
    let bound = pull.get_last_endpoint().unwrap().unwrap();
    let wildcard_path = std::path::PathBuf::from(bound.trim_start_matches("ipc://"));
    assert!(wildcard_path.exists());
    drop(pull);
    assert!(!wildcard_path.exists());
}

#[test]
fn ipc_bind_replaces_a_socket_file_left_behind() {
    // A server that crashed (or libzmq's local_thr, which exits without removing it) leaves
    // its socket file; libzmq 4.3 removes it before binding, so a restarted server binds.
    let path = std::env::temp_dir().join(format!("rustzmq-stale-{}.ipc", std::process::id()));
    let _ = std::fs::remove_file(&path);
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "std leaves the file of a dropped listener");
    let endpoint = format!("ipc://{}", path.display());

    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(LONG).unwrap();
    pull.bind(&endpoint).unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&endpoint).unwrap();
    push.send("through the new file", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"through the new file");
    drop(pull);
    assert!(!path.exists());
}

#[test]
fn inproc_connect_before_bind_and_names_are_per_context() {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect("inproc://later").unwrap();
    push.send("queued before bind", 0).unwrap();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(LONG).unwrap();
    pull.bind("inproc://later").unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"queued before bind");

    // Another context has its own namespace: the same name binds there too.
    let other = zmq::Context::new();
    let elsewhere = other.socket(zmq::PULL).unwrap();
    elsewhere.bind("inproc://later").unwrap();
    push.send("to the first context", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"to the first context");
    assert_eq!(elsewhere.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
}

#[test]
fn io_threads_option_and_traffic_over_several() {
    let ctx = zmq::Context::new();
    assert_eq!(ctx.get_io_threads().unwrap(), 1);
    assert_eq!(ctx.set_io_threads(-1), Err(zmq::Error::EINVAL));
    ctx.set_io_threads(3).unwrap();
    assert_eq!(ctx.get_io_threads().unwrap(), 3);
    let (pull, endpoint) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let pushes: Vec<zmq::Socket> = (0..4)
        .map(|_| {
            let push = ctx.socket(zmq::PUSH).unwrap();
            push.connect(&endpoint).unwrap();
            push
        })
        .collect();
    for (i, push) in pushes.iter().enumerate() {
        push.send(&[i as u8][..], 0).unwrap();
    }
    let mut seen: Vec<u8> = (0..4).map(|_| pull.recv_bytes(0).unwrap()[0]).collect();
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3]);
}

#[test]
fn pull_fair_queues_and_push_round_robins() {
    let ctx = zmq::Context::new();
    // Fair queueing: two pushers with many queued messages are read alternately.
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(LONG).unwrap();
    pull.bind("inproc://fq").unwrap();
    let a = ctx.socket(zmq::PUSH).unwrap();
    a.connect("inproc://fq").unwrap();
    let b = ctx.socket(zmq::PUSH).unwrap();
    b.connect("inproc://fq").unwrap();
    for _ in 0..10 {
        a.send("a", 0).unwrap();
        b.send("b", 0).unwrap();
    }
    let order: Vec<Vec<u8>> = (0..20).map(|_| pull.recv_bytes(0).unwrap()).collect();
    let from_a = order.iter().take(10).filter(|m| m.as_slice() == b"a").count();
    assert_eq!(from_a, 5, "the first ten messages alternate between peers: {order:?}");

    // Round robin: one pusher, two pullers get one message each in turn.
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.bind("inproc://lb").unwrap();
    let p1 = ctx.socket(zmq::PULL).unwrap();
    p1.connect("inproc://lb").unwrap();
    let p2 = ctx.socket(zmq::PULL).unwrap();
    p2.connect("inproc://lb").unwrap();
    push.set_sndtimeo(LONG).unwrap();
    for _ in 0..10 {
        push.send("x", 0).unwrap();
    }
    p1.set_rcvtimeo(LONG).unwrap();
    p2.set_rcvtimeo(LONG).unwrap();
    for _ in 0..5 {
        p1.recv_bytes(0).unwrap();
        p2.recv_bytes(0).unwrap();
    }
    assert_eq!(p1.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
}

#[test]
fn socket_is_send_not_sync_and_context_is_send_sync_clone() {
    fn send<T: Send>() {}
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    send::<zmq::Socket>();
    send_sync_clone::<zmq::Context>();
    // `Socket: !Sync` is checked by the compile-fail list in docs/compat.md (a RefCell inside).
}

#[test]
fn messages_are_zero_copy_across_inproc() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.bind("inproc://zero-copy").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect("inproc://zero-copy").unwrap();
    let data = vec![7u8; 1 << 20];
    let address = data.as_ptr();
    push.send(data, 0).unwrap();
    let msg = pull.recv_msg(0).unwrap();
    assert_eq!(msg.len(), 1 << 20);
    assert_eq!(msg.as_ptr(), address, "the buffer travelled without a copy");
}

#[test]
fn conflate_keeps_only_the_newest_message() {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    assert!(!pull.is_conflate().unwrap());
    pull.set_conflate(true).unwrap();
    pull.set_rcvtimeo(LONG).unwrap();
    pull.bind("inproc://conflate").unwrap();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect("inproc://conflate").unwrap();
    for i in 0..10 {
        push.send(format!("state {i}").as_str(), 0).unwrap();
    }
    assert_eq!(pull.recv_string(0).unwrap().unwrap(), "state 9");
    assert_eq!(pull.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::EAGAIN));
}

#[test]
fn a_bound_socket_closed_with_queued_messages_still_delivers_them() {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.set_sndhwm(0).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = push.get_last_endpoint().unwrap().unwrap();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(LONG).unwrap();
    pull.connect(&endpoint).unwrap();
    push.send("first", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"first");
    // Far more than the socket buffers hold, then close at once: the accepted connection
    // must linger until all of it is written (closing the listener must not cut it).
    let filler = [0u8; 1020];
    for i in 0..50_000u32 {
        push.send_multipart([&i.to_be_bytes()[..], &filler[..]], 0).unwrap();
    }
    drop(push);
    for i in 0..50_000u32 {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_be_bytes());
        assert_eq!(pull.recv_bytes(0).unwrap().len(), 1020);
    }
}

#[test]
fn disconnect_detaches_the_endpoint_at_once() {
    let ctx = zmq::Context::new();
    let (pull, endpoint) = pull_bound(&ctx, "tcp://127.0.0.1:*");
    for kind in [zmq::REQ, zmq::PUSH, zmq::DEALER] {
        let sender = ctx.socket(kind).unwrap();
        sender.set_linger(0).unwrap();
        sender.connect(&endpoint).unwrap();
        sender.disconnect(&endpoint).unwrap();
        assert_eq!(sender.send("foo", zmq::DONTWAIT), Err(zmq::Error::EAGAIN), "{kind:?}");
    }
    drop(pull);
}

#[test]
fn socks_proxy_is_stored_and_tcp_connects_refuse_to_bypass_it() {
    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PUSH).unwrap();
    socket.set_socks_proxy(Some("127.0.0.1:1080")).unwrap();
    assert_eq!(socket.get_socks_proxy().unwrap().unwrap(), "127.0.0.1:1080");
    assert_eq!(socket.connect("tcp://127.0.0.1:5555"), Err(zmq::Error::ENOTSUP));
    socket.set_socks_proxy(None).unwrap();
    assert_eq!(socket.get_socks_proxy().unwrap().unwrap(), "");
    socket.set_rate(200).unwrap();
    assert_eq!(socket.get_rate().unwrap(), 200);
}

#[test]
fn conflating_receiver_does_not_stall_a_fast_sender() {
    // The zmq crate's test_conflating_receiver: CONFLATE set after bind, a sender looping.
    within(Duration::from_secs(20), || {
        let ctx = zmq::Context::new();
        let receiver = ctx.socket(zmq::PULL).unwrap();
        receiver.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = receiver.get_last_endpoint().unwrap().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sender = {
            let stop = std::sync::Arc::clone(&stop);
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let sender = ctx.socket(zmq::PUSH).unwrap();
                sender.connect(&endpoint).unwrap();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    sender.send("bar", 0).expect("send failed");
                }
            })
        };
        receiver.set_conflate(true).unwrap();
        for _ in 0..100 {
            assert_eq!(receiver.recv_bytes(0).unwrap(), b"bar");
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        sender.join().unwrap();
    });
}

#[test]
fn max_sockets_is_enforced_and_settable() {
    let ctx = zmq::Context::new();
    assert_eq!(ctx.get_max_sockets(), Ok(1023), "libzmq's default");
    assert_eq!(ctx.set_max_sockets(0), Err(zmq::Error::EINVAL));
    assert_eq!(ctx.set_max_sockets(-1), Err(zmq::Error::EINVAL));
    ctx.set_max_sockets(2).unwrap();
    let a = ctx.socket(zmq::PUSH).unwrap();
    let _b = ctx.socket(zmq::PULL).unwrap();
    assert_eq!(ctx.socket(zmq::PAIR).err(), Some(zmq::Error::EMFILE));
    drop(a);
    ctx.socket(zmq::PAIR).unwrap();
    ctx.set_max_sockets(5000).unwrap();
    assert_eq!(ctx.get_max_sockets(), Ok(5000));
}
