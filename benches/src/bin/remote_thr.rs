//! `remote_thr <connect-to> <message-size> <message-count> [<curve>]`: libzmq's `perf/remote_thr`
//! on the `zmq` crate's API. A PUSH socket connects and sends `message-count` messages of
//! `message-size` bytes, a new message each time (`Message::with_size`, as libzmq's
//! `zmq_msg_init_size`), then closes and waits for them to be delivered (default linger).
//!
//! With a fourth argument other than `0`, the PUSH socket is a CURVE client with a fixed key
//! pair and the server's public key (the key pairs of the zmq_curve(7) man page, which libzmq's
//! tests use too), for `local_thr` given the same argument. The tool then prints
//! `security: curve`.
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

use rustzmq_benches::{args_between, fail, number, print_implementation, print_settings};

/// The CURVE server's public key (Z85), from the zmq_curve(7) man page; `local_thr` holds the
/// matching secret key.
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
/// The client's public key (Z85), from the zmq_curve(7) man page.
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
/// The client's secret key (Z85), from the zmq_curve(7) man page.
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

fn main() {
    let args = args_between("remote_thr <connect-to> <message-size> <message-count> [<curve>]", 3, 4);
    let connect_to = &args[0];
    let size = number(&args[1], "message size");
    let count = number(&args[2], "message count");
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PUSH).unwrap_or_else(|e| fail("zmq_socket", e));
    if args.get(3).is_some_and(|a| a != "0") {
        let key = |z85| zmq::z85_decode(z85).unwrap_or_else(|e| fail("zmq_z85_decode", e));
        socket.set_curve_serverkey(&key(SERVER_PUBLIC)).unwrap_or_else(|e| fail("zmq_setsockopt", e));
        socket.set_curve_publickey(&key(CLIENT_PUBLIC)).unwrap_or_else(|e| fail("zmq_setsockopt", e));
        socket.set_curve_secretkey(&key(CLIENT_SECRET)).unwrap_or_else(|e| fail("zmq_setsockopt", e));
        println!("security: curve");
    }
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
