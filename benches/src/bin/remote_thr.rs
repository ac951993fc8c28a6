//! `remote_thr <connect-to> <message-size> <message-count>`: libzmq's `perf/remote_thr` on the
//! `zmq` crate's API. A PUSH socket connects and sends `message-count` messages of
//! `message-size` bytes, a new message each time (`Message::with_size`, as libzmq's
//! `zmq_msg_init_size`), then closes and waits for them to be delivered (default linger).
//!
//! Unlike libzmq's tool it stays connected for a second after the last send, as `local_lat`
//! does before closing: libzmq 4.3.4's PULL side drops the tail of the stream when the sender
//! disconnects while the receiver is still catching up (seen over ipc with 16-byte messages:
//! the last 100 to 2,000 of 200,000 messages never arrive, with libzmq's own receiver), which
//! would leave `local_thr` waiting for ever. The pause is outside the measured interval.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::time::Duration;

use rustzmq_benches::{args, fail, number, print_implementation, print_settings};

fn main() {
    let args = args("remote_thr <connect-to> <message-size> <message-count>", 3);
    let connect_to = &args[0];
    let size = number(&args[1], "message size");
    let count = number(&args[2], "message count");
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PUSH).unwrap_or_else(|e| fail("zmq_socket", e));
    socket.connect(connect_to).unwrap_or_else(|e| fail("zmq_connect", e));
    print_settings!(ctx, socket);

    for _ in 0..count {
        socket.send(zmq::Message::with_size(size), 0).unwrap_or_else(|e| fail("zmq_sendmsg", e));
    }

    // See the module documentation: give the receiver time to drain before disconnecting.
    std::thread::sleep(Duration::from_secs(1));

    // Closing the socket and then the context waits until every message has left (the
    // default linger is infinite), as zmq_close + zmq_ctx_term do in libzmq's tool.
    drop(socket);
    drop(ctx);
}
