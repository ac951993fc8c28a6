//! `inproc_thr <message-size> <message-count>`: libzmq's `perf/inproc_thr` on the `zmq` crate's
//! API. A PULL socket binds `inproc://thr_test`; a thread of the same process connects a PUSH
//! socket and sends `message-count` messages of `message-size` bytes (a new message each time);
//! the throughput is timed from the first message received to the last.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::thread;
use std::time::Instant;

use rustzmq_benches::{
    args, fail, number, print_implementation, print_settings, print_thr_header, print_throughput, wrong_size,
};

fn main() {
    let args = args("inproc_thr <message-size> <message-count>", 2);
    let size = number(&args[0], "message size");
    let count = number(&args[1], "message count");
    if count == 0 {
        fail("arguments", "message count must be at least 1");
    }
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PULL).unwrap_or_else(|e| fail("zmq_socket", e));
    socket.bind("inproc://thr_test").unwrap_or_else(|e| fail("zmq_bind", e));
    print_settings!(ctx, socket);

    let worker_ctx = ctx.clone();
    let worker = thread::spawn(move || {
        let push = worker_ctx.socket(zmq::PUSH).unwrap_or_else(|e| fail("zmq_socket", e));
        push.connect("inproc://thr_test").unwrap_or_else(|e| fail("zmq_connect", e));
        for _ in 0..count {
            push.send(zmq::Message::with_size(size), 0).unwrap_or_else(|e| fail("zmq_sendmsg", e));
        }
    });

    print_thr_header(size, count);
    let mut msg = zmq::Message::new();
    socket.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
    if msg.len() != size {
        wrong_size(msg.len(), size);
    }
    let watch = Instant::now();
    for _ in 1..count {
        socket.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
        if msg.len() != size {
            wrong_size(msg.len(), size);
        }
    }
    let elapsed = watch.elapsed();
    worker.join().unwrap_or_else(|_| fail("worker thread", "panicked"));

    print_throughput(size, count, elapsed);
    drop(socket);
    drop(ctx);
}
