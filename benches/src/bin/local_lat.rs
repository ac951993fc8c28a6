//! `local_lat <bind-to> <message-size> <roundtrip-count>`: libzmq's `perf/local_lat` on the `zmq`
//! crate's API. A REP socket binds and echoes `roundtrip-count` messages of `message-size` bytes
//! back to `remote_lat`, which measures.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::time::Duration;

use rustzmq_benches::{args, fail, number, print_implementation, print_settings, wrong_size};

fn main() {
    let args = args("local_lat <bind-to> <message-size> <roundtrip-count>", 3);
    let bind_to = &args[0];
    let size = number(&args[1], "message size");
    let roundtrips = number(&args[2], "roundtrip count");
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::REP).unwrap_or_else(|e| fail("zmq_socket", e));
    socket.bind(bind_to).unwrap_or_else(|e| fail("zmq_bind", e));
    print_settings!(ctx, socket);

    // As zmq_recvmsg + zmq_sendmsg on one zmq_msg_t: the received message goes back as it is.
    let mut msg = zmq::Message::new();
    for _ in 0..roundtrips {
        socket.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
        if msg.len() != size {
            wrong_size(msg.len(), size);
        }
        let reply = std::mem::replace(&mut msg, zmq::Message::new());
        socket.send(reply, 0).unwrap_or_else(|e| fail("zmq_sendmsg", e));
    }

    // libzmq's tool sleeps a second before closing, so the last reply surely leaves.
    std::thread::sleep(Duration::from_secs(1));
    drop(socket);
    drop(ctx);
}
