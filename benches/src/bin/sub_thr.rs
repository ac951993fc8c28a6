//! `sub_thr <connect-to> <sync-connect-to> <message-size> <message-count> <subscribers>`: the
//! measuring half of the PUB/SUB fan-out throughput test (see `pub_thr` for the protocol).
//!
//! One context (one I/O thread) holds `subscribers` SUB sockets, each subscribed to everything
//! and connected to `connect-to`, and each served by its own thread with a PUSH socket connected
//! to `sync-connect-to`. A subscriber says `ready` on its first HELLO, ignores further HELLOs,
//! counts the DATA messages (checking their size), and on the first END says `done` and stops.
//!
//! The clock runs from the first DATA message any subscriber received to the last END any
//! subscriber received (all threads share the process's monotonic clock), and
//! `mean throughput` is the number of DATA messages delivered, summed over the subscribers,
//! divided by that interval. PUB drops a subscriber's messages while its pipe is full, so the
//! delivered count can be less than `subscribers × message-count`; the tool prints it
//! (`delivered: ...`) and each subscriber's share.
//!
//! A subscriber that receives nothing for 10 s (receive timeout) fails the run (exit status 1).
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::thread;
use std::time::Instant;

use rustzmq_benches::{args, fail, number, print_implementation, print_settings, print_throughput, wrong_size};

/// First byte of a slow-joiner probe (see `pub_thr`).
const HELLO: u8 = b'H';
/// First byte of a measured message.
const DATA: u8 = b'D';
/// First byte of the end marker.
const END: u8 = b'E';
/// Receive timeout of every subscriber, in milliseconds.
const RECV_TIMEOUT_MS: i32 = 10_000;

/// What one subscriber saw.
struct Seen {
    delivered: usize,
    first: Option<Instant>,
    end: Instant,
}

fn main() {
    let args = args("sub_thr <connect-to> <sync-connect-to> <message-size> <message-count> <subscribers>", 5);
    let (connect_to, sync_connect_to) = (args[0].clone(), args[1].clone());
    let size = number(&args[2], "message size");
    let count = number(&args[3], "message count");
    let subscribers = number(&args[4], "subscribers");
    if size == 0 || count == 0 || subscribers == 0 {
        fail("arguments", "message size, message count and subscribers must be at least 1");
    }
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let mut sockets = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let sub = ctx.socket(zmq::SUB).unwrap_or_else(|e| fail("zmq_socket", e));
        sub.set_rcvtimeo(RECV_TIMEOUT_MS).unwrap_or_else(|e| fail("zmq_setsockopt", e));
        sub.set_subscribe(b"").unwrap_or_else(|e| fail("zmq_setsockopt", e));
        sub.connect(&connect_to).unwrap_or_else(|e| fail("zmq_connect", e));
        let sync = ctx.socket(zmq::PUSH).unwrap_or_else(|e| fail("zmq_socket", e));
        sync.set_linger(1000).unwrap_or_else(|e| fail("zmq_setsockopt", e));
        sync.connect(&sync_connect_to).unwrap_or_else(|e| fail("zmq_connect", e));
        sockets.push((sub, sync));
    }
    print_settings!(ctx, sockets[0].0);

    let threads: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(index, (sub, sync))| thread::spawn(move || subscribe(index, &sub, &sync, size)))
        .collect();
    let seen: Vec<Seen> =
        threads.into_iter().map(|t| t.join().unwrap_or_else(|_| fail("subscriber thread", "panicked"))).collect();

    let delivered: usize = seen.iter().map(|s| s.delivered).sum();
    let first = seen.iter().filter_map(|s| s.first).min();
    let end = seen.iter().map(|s| s.end).max();
    let (Some(first), Some(end)) = (first, end) else {
        fail("subscribers", "no DATA message was delivered");
    };
    let published = count * subscribers;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("subscribers: {subscribers}");
    for (index, s) in seen.iter().enumerate() {
        println!("subscriber {index}: {} delivered ({:.1} %)", s.delivered, percent(s.delivered, count));
    }
    println!("delivered: {delivered} of {published} ({:.1} %)", percent(delivered, published));
    print_throughput(size, delivered, end.saturating_duration_since(first));
}

/// One subscriber's loop: returns what it saw once it has received an END.
fn subscribe(index: usize, sub: &zmq::Socket, sync: &zmq::Socket, size: usize) -> Seen {
    let mut msg = zmq::Message::new();
    let mut ready = false;
    let mut delivered = 0;
    let mut first = None;
    loop {
        if let Err(e) = sub.recv(&mut msg, 0) {
            let what = if e == zmq::Error::EAGAIN { "nothing received for 10 s".to_owned() } else { e.to_string() };
            fail(&format!("subscriber {index}: zmq_recvmsg"), format!("{what} ({delivered} DATA messages so far)"));
        }
        match msg.first() {
            Some(&DATA) => {
                if first.is_none() {
                    first = Some(Instant::now());
                }
                if msg.len() != size {
                    wrong_size(msg.len(), size);
                }
                delivered += 1;
            }
            Some(&HELLO) => {
                if !ready {
                    sync.send(&b"ready"[..], 0).unwrap_or_else(|e| fail("zmq_send", e));
                    ready = true;
                }
            }
            Some(&END) => {
                let end = Instant::now();
                sync.send(&b"done"[..], 0).unwrap_or_else(|e| fail("zmq_send", e));
                return Seen { delivered, first, end };
            }
            _ => fail(&format!("subscriber {index}"), "unexpected message"),
        }
    }
}

/// `part` of `whole` in per cent.
fn percent(part: usize, whole: usize) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}
