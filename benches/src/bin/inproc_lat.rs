//! `inproc_lat <message-size> <roundtrip-count>`: libzmq's `perf/inproc_lat` on the `zmq` crate's
//! API. A REQ socket binds `inproc://lat_test`; a thread of the same process connects a REP
//! socket and echoes. Prints libzmq's average latency (half the mean round trip) and the 50th,
//! 99th and 99.9th percentiles of the round trip.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::thread;

use rustzmq_benches::{
    args, fail, number, print_implementation, print_lat_header, print_latency, print_settings, round_trips,
};

fn main() {
    let args = args("inproc_lat <message-size> <roundtrip-count>", 2);
    let size = number(&args[0], "message size");
    let roundtrips = number(&args[1], "roundtrip count");
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::REQ).unwrap_or_else(|e| fail("zmq_socket", e));
    socket.bind("inproc://lat_test").unwrap_or_else(|e| fail("zmq_bind", e));
    print_settings!(ctx, socket);

    let worker_ctx = ctx.clone();
    let worker = thread::spawn(move || {
        let rep = worker_ctx.socket(zmq::REP).unwrap_or_else(|e| fail("zmq_socket", e));
        rep.connect("inproc://lat_test").unwrap_or_else(|e| fail("zmq_connect", e));
        let mut msg = zmq::Message::new();
        for _ in 0..roundtrips {
            rep.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
            let reply = std::mem::replace(&mut msg, zmq::Message::new());
            rep.send(reply, 0).unwrap_or_else(|e| fail("zmq_sendmsg", e));
        }
    });

    print_lat_header(size, roundtrips);
    let (elapsed, mut samples) = round_trips(&socket, size, roundtrips);
    worker.join().unwrap_or_else(|_| fail("worker thread", "panicked"));

    print_latency(elapsed, &mut samples);
    drop(socket);
    drop(ctx);
}
