//! `remote_lat <connect-to> <message-size> <roundtrip-count>`: libzmq's `perf/remote_lat` on the
//! `zmq` crate's API. A REQ socket connects to `local_lat`, sends a message of `message-size`
//! bytes and waits for it to come back, `roundtrip-count` times, then prints libzmq's average
//! latency (half the mean round trip) and the 50th, 99th and 99.9th percentiles of the round
//! trip.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use rustzmq_benches::{
    args, fail, number, print_implementation, print_lat_header, print_latency, print_settings, round_trips,
};

fn main() {
    let args = args("remote_lat <connect-to> <message-size> <roundtrip-count>", 3);
    let connect_to = &args[0];
    let size = number(&args[1], "message size");
    let roundtrips = number(&args[2], "roundtrip count");
    print_implementation(zmq::version());

    let ctx = zmq::Context::new();
    let socket = ctx.socket(zmq::REQ).unwrap_or_else(|e| fail("zmq_socket", e));
    socket.connect(connect_to).unwrap_or_else(|e| fail("zmq_connect", e));
    print_settings!(ctx, socket);

    let (elapsed, mut samples) = round_trips(&socket, size, roundtrips);

    print_lat_header(size, roundtrips);
    print_latency(elapsed, &mut samples);
    drop(socket);
    drop(ctx);
}
