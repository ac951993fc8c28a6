//! `pub_thr <bind-to> <sync-bind-to> <message-size> <message-count> <subscribers> [<sndhwm>]`:
//! the publishing half of the PUB/SUB fan-out throughput test (`sub_thr` is the other half;
//! libzmq has no such perf program, so the protocol is this project's own).
//!
//! `sndhwm`, when given, is set as the PUB socket's ZMQ_SNDHWM before it binds (0: no limit, so
//! nothing is dropped); it shows in the `settings:` line.
//!
//! A PUB socket binds `bind-to` and a PULL socket binds `sync-bind-to`, where each of `sub_thr`'s
//! subscribers reports back over a PUSH socket. Three phases:
//!
//! 1. Slow joiners: the publisher sends a one-byte HELLO message every millisecond until all
//!    `subscribers` have said `ready` (each does so on its first HELLO, so its subscription has
//!    reached the publisher by then). Nothing is measured before this point.
//! 2. It sends `message-count` DATA messages of `message-size` bytes as fast as it can (a new
//!    `Message::with_size` each time, its first byte the tag), and prints its own send rate.
//!    PUB drops a subscriber's messages while that subscriber's pipe is at its high-water mark,
//!    so not every subscriber need see every message (unless `sndhwm` is 0): `sub_thr` counts
//!    what arrived.
//! 3. It sends a one-byte END message every 100 µs (an END can be dropped like any message)
//!    until all subscribers have said `done`.
//!
//! Each waiting phase gives up after 30 s with an error (exit status 1), so a lost subscriber
//! cannot hang the run. PUB's linger is 0: when it closes, the subscribers have finished.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::thread;
use std::time::{Duration, Instant};

use rustzmq_benches::{args_between, fail, number, print_implementation, print_settings};

/// First byte of a slow-joiner probe.
const HELLO: u8 = b'H';
/// First byte of a measured message.
const DATA: u8 = b'D';
/// First byte of the end marker.
const END: u8 = b'E';
/// Longest wait for the subscribers in phases 1 and 3.
const PHASE_TIMEOUT: Duration = Duration::from_secs(30);

fn main() {
    let args =
        args_between("pub_thr <bind-to> <sync-bind-to> <message-size> <message-count> <subscribers> [<sndhwm>]", 5, 6);
    let (bind_to, sync_bind_to) = (&args[0], &args[1]);
    let size = number(&args[2], "message size");
    let count = number(&args[3], "message count");
    let subscribers = number(&args[4], "subscribers");
    if size == 0 || count == 0 || subscribers == 0 {
        fail("arguments", "message size, message count and subscribers must be at least 1");
    }
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let publisher = ctx.socket(zmq::PUB).unwrap_or_else(|e| fail("zmq_socket", e));
    publisher.set_linger(0).unwrap_or_else(|e| fail("zmq_setsockopt", e));
    if let Some(hwm) = args.get(5) {
        let hwm = i32::try_from(number(hwm, "sndhwm")).unwrap_or_else(|e| fail("arguments", e));
        publisher.set_sndhwm(hwm).unwrap_or_else(|e| fail("zmq_setsockopt", e));
    }
    publisher.bind(bind_to).unwrap_or_else(|e| fail("zmq_bind", e));
    let sync = ctx.socket(zmq::PULL).unwrap_or_else(|e| fail("zmq_socket", e));
    sync.bind(sync_bind_to).unwrap_or_else(|e| fail("zmq_bind", e));
    print_settings!(ctx, publisher);

    // Phase 1: probe until every subscriber is known to receive.
    let deadline = Instant::now() + PHASE_TIMEOUT;
    let mut ready = 0;
    while ready < subscribers {
        publisher.send(&[HELLO][..], 0).unwrap_or_else(|e| fail("zmq_send", e));
        ready += replies(&sync, b"ready");
        if Instant::now() > deadline {
            fail("waiting for the subscribers", format!("{ready} of {subscribers} ready after 30 s"));
        }
        thread::sleep(Duration::from_millis(1));
    }

    // Phase 2: the measured stream.
    let watch = Instant::now();
    for _ in 0..count {
        let mut msg = zmq::Message::with_size(size);
        msg[0] = DATA;
        publisher.send(msg, 0).unwrap_or_else(|e| fail("zmq_sendmsg", e));
    }
    let elapsed = watch.elapsed();

    // Phase 3: the end marker, until every subscriber has seen it.
    let deadline = Instant::now() + PHASE_TIMEOUT;
    let mut done = 0;
    while done < subscribers {
        publisher.send(&[END][..], 0).unwrap_or_else(|e| fail("zmq_send", e));
        done += replies(&sync, b"done");
        if Instant::now() > deadline {
            fail("waiting for the subscribers", format!("{done} of {subscribers} saw the end after 30 s"));
        }
        thread::sleep(Duration::from_micros(100));
    }

    let rate = count as f64 / elapsed.as_secs_f64().max(1e-6);
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("subscribers: {subscribers}");
    println!("publisher send rate: {} [msg/s]", rate as u64);
    drop(publisher);
    drop(sync);
    drop(ctx);
}

/// Reads every message waiting on `sync` and returns how many were `expected`.
fn replies(sync: &zmq::Socket, expected: &[u8]) -> usize {
    let mut seen = 0;
    loop {
        match sync.recv_bytes(zmq::DONTWAIT) {
            Ok(reply) => seen += usize::from(reply == expected),
            Err(zmq::Error::EAGAIN) => return seen,
            Err(e) => fail("zmq_recv", e),
        }
    }
}
