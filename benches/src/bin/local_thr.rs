//! `local_thr <bind-to> <message-size> <message-count> [<curve>]`: libzmq's `perf/local_thr` on
//! the `zmq` crate's API. A PULL socket binds, receives `message-count` messages of
//! `message-size` bytes (sent by `remote_thr`) and prints the throughput, timed from the first
//! message to the last.
//!
//! With a fourth argument other than `0`, the PULL socket is a CURVE server with a fixed secret
//! key (the server key pair of the zmq_curve(7) man page, which libzmq's tests use too), and
//! `remote_thr` must be given the same argument. The tool then prints `security: curve`.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::time::Instant;

use rustzmq_benches::{
    args_between, fail, number, print_implementation, print_settings, print_thr_header, print_throughput, wrong_size,
};

/// The CURVE server's secret key (Z85), from the zmq_curve(7) man page. Its public key,
/// `rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7`, is in `remote_thr`.
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

fn main() {
    let args = args_between("local_thr <bind-to> <message-size> <message-count> [<curve>]", 3, 4);
    let bind_to = &args[0];
    let size = number(&args[1], "message size");
    let count = number(&args[2], "message count");
    if count == 0 {
        fail("arguments", "message count must be at least 1");
    }
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::PULL).unwrap_or_else(|e| fail("zmq_socket", e));
    let curve = args.get(3).is_some_and(|a| a != "0");
    if curve {
        let secret = zmq::z85_decode(SERVER_SECRET).unwrap_or_else(|e| fail("zmq_z85_decode", e));
        socket.set_curve_server(true).unwrap_or_else(|e| fail("zmq_setsockopt", e));
        socket.set_curve_secretkey(&secret).unwrap_or_else(|e| fail("zmq_setsockopt", e));
        println!("security: curve");
    }
    socket.bind(bind_to).unwrap_or_else(|e| fail("zmq_bind", e));
    print_settings!(ctx, socket);

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

    print_thr_header(size, count);
    print_throughput(size, count, elapsed);
    drop(socket);
    drop(ctx);
}
