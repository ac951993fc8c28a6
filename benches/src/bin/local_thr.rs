//! `local_thr <bind-to> <message-size> <message-count>`: libzmq's `perf/local_thr` on the `zmq`
//! crate's API. A PULL socket binds, receives `message-count` messages of `message-size` bytes
//! (sent by `remote_thr`) and prints the throughput, timed from the first message to the last.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::time::Instant;

use rustzmq_benches::{args, fail, number, print_implementation, print_settings, print_thr_header, print_throughput};

fn main() {
    let args = args("local_thr <bind-to> <message-size> <message-count>", 3);
    let bind_to = &args[0];
    let size = number(&args[1], "message size");
    let count = number(&args[2], "message count");
    if count == 0 {
        fail("arguments", "message count must be at least 1");
    }
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PULL).unwrap_or_else(|e| fail("zmq_socket", e));
    socket.bind(bind_to).unwrap_or_else(|e| fail("zmq_bind", e));
    print_settings!(ctx, socket);

    let mut msg = zmq::Message::new();
    socket.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
    if msg.len() != size {
        rustzmq_benches::wrong_size(msg.len(), size);
    }
    let watch = Instant::now();
    for _ in 1..count {
        socket.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
        if msg.len() != size {
            rustzmq_benches::wrong_size(msg.len(), size);
        }
    }
    let elapsed = watch.elapsed();

    print_thr_header(size, count);
    print_throughput(size, count, elapsed);
    drop(socket);
    drop(ctx);
}
