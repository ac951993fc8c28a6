//! Benchmarks for rustzmq: criterion benches live in `benches/`, perf tools in `src/bin/`.
//!
//! # Perf tools
//!
//! The binaries in `src/bin/` are libzmq's perf programs (`perf/*.cpp`) rewritten against the
//! `zmq` crate's API, with libzmq's command lines and output lines, so that they pair across
//! implementations (rustzmq's `local_thr` with libzmq's `remote_thr`):
//!
//! ```text
//! local_thr  <bind-to>    <message-size> <message-count>     PULL, binds, measures
//! remote_thr <connect-to> <message-size> <message-count>     PUSH, connects, sends
//! local_lat  <bind-to>    <message-size> <roundtrip-count>   REP, binds, echoes
//! remote_lat <connect-to> <message-size> <roundtrip-count>   REQ, connects, measures
//! inproc_thr <message-size> <message-count>                  PUSH thread -> PULL, one process
//! inproc_lat <message-size> <roundtrip-count>                REQ <-> REP thread, one process
//! ceiling_thr <tcp|ipc> <message-size> <message-count>       the same ZMTP stream on std sockets
//! ceiling_lat <tcp|ipc> <message-size> <roundtrip-count> [spin]  the round trips on std sockets
//! ```
//!
//! One source builds against either implementation: by default the tools use rustzmq; built
//! with `--features libzmq` they use the real libzmq through the `zmq` crate 0.10. Each tool
//! first prints which implementation it was built with (`implementation: ...`) and the settings
//! in effect once the socket is bound or connected (`settings: ...`), then libzmq's lines. The latency tools also print the 50th,
//! 99th and 99.9th percentiles of the round trip, which libzmq's do not.
//!
//! `cargo xtask bench --compare` builds both variants and runs them side by side.
//!
//! This library holds what the tools share: argument parsing, error exits, the output lines,
//! and the std-socket connection of the two ceiling tools.

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::fmt::Display;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process;
use std::time::{Duration, Instant};

/// The implementation the perf tools of this build use: `"libzmq"` with the `libzmq` feature,
/// `"rustzmq"` without it.
pub const IMPLEMENTATION: &str = if cfg!(feature = "libzmq") { "libzmq" } else { "rustzmq" };

/// One end of a std stream socket, for the ceiling tools.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// The two ends of a connected loopback stream for `transport` (`tcp`: TCP on 127.0.0.1 with
/// TCP_NODELAY; `ipc`: a Unix socket in the temporary directory, its file removed once
/// connected), both non-blocking when `nonblocking` is set: the connecting end first, the
/// accepted one second. Exits on any failure, or on another transport.
pub fn stream_pair(transport: &str, nonblocking: bool) -> (Box<dyn Stream>, Box<dyn Stream>) {
    match transport {
        "tcp" => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| fail("bind", e));
            let address = listener.local_addr().unwrap_or_else(|e| fail("local_addr", e));
            // The listener's backlog completes the connection before it is accepted.
            let connected = TcpStream::connect(address).unwrap_or_else(|e| fail("connect", e));
            let (accepted, _) = listener.accept().unwrap_or_else(|e| fail("accept", e));
            let prepare = |stream: TcpStream| -> Box<dyn Stream> {
                stream.set_nodelay(true).unwrap_or_else(|e| fail("TCP_NODELAY", e));
                stream.set_nonblocking(nonblocking).unwrap_or_else(|e| fail("set_nonblocking", e));
                Box::new(stream)
            };
            (prepare(connected), prepare(accepted))
        }
        "ipc" => {
            let path = std::env::temp_dir().join(format!("rustzmq-ceiling-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path).unwrap_or_else(|e| fail("bind", e));
            let connected = UnixStream::connect(&path).unwrap_or_else(|e| fail("connect", e));
            let (accepted, _) = listener.accept().unwrap_or_else(|e| fail("accept", e));
            let _ = std::fs::remove_file(&path);
            let prepare = |stream: UnixStream| -> Box<dyn Stream> {
                stream.set_nonblocking(nonblocking).unwrap_or_else(|e| fail("set_nonblocking", e));
                Box::new(stream)
            };
            (prepare(connected), prepare(accepted))
        }
        other => fail("arguments", format!("unknown transport {other:?} (tcp or ipc)")),
    }
}

/// Returns the `expected` command-line arguments (program name excluded), or prints `usage`
/// to stdout and exits with status 1, as libzmq's perf tools do.
pub fn args(usage: &str, expected: usize) -> Vec<String> {
    args_between(usage, expected, expected)
}

/// Returns the command-line arguments (program name excluded) when there are `min` to `max` of
/// them (the last ones optional), or prints `usage` to stdout and exits with status 1.
pub fn args_between(usage: &str, min: usize, max: usize) -> Vec<String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(min..=max).contains(&args.len()) {
        println!("usage: {usage}");
        process::exit(1);
    }
    args
}

/// Parses a non-negative count or size (`_` and `,` allowed as separators), or exits with the
/// reason.
pub fn number(value: &str, what: &str) -> usize {
    match value.replace(['_', ','], "").parse() {
        Ok(n) => n,
        Err(_) => {
            println!("invalid {what}: {value:?}");
            process::exit(1);
        }
    }
}

/// Prints `error in <what>: <error>` (libzmq's wording) and exits with status 1.
pub fn fail(what: &str, error: impl Display) -> ! {
    println!("error in {what}: {error}");
    process::exit(1);
}

/// Prints `message of incorrect size received` (libzmq's wording) and exits with status 1.
pub fn wrong_size(got: usize, expected: usize) -> ! {
    println!("message of incorrect size received ({got} bytes, expected {expected})");
    process::exit(1);
}

/// Prints the `implementation:` line, given `zmq::version()` of the implementation in use.
pub fn print_implementation(version: (i32, i32, i32)) {
    let (major, minor, patch) = version;
    if cfg!(feature = "libzmq") {
        println!("implementation: libzmq {major}.{minor}.{patch} (through the zmq crate 0.10)");
    } else {
        println!("implementation: rustzmq {} (zmq API {major}.{minor}.{patch})", env!("CARGO_PKG_VERSION"));
    }
}

/// Prints the `settings:` line of a context and one of its sockets: I/O threads, high-water
/// marks and kernel buffer sizes, so that runs of both implementations can be checked to use
/// the same ones. Works with either implementation (the macro expands where it is used).
///
/// The tools print it once their socket is bound or connected: `cargo xtask bench --compare`
/// waits for this line from the binding side before it starts the connecting side.
#[macro_export]
macro_rules! print_settings {
    ($ctx:expr, $socket:expr) => {{
        let io_threads = $ctx.get_io_threads().unwrap_or_else(|e| $crate::fail("zmq_ctx_get", e));
        let sndhwm = $socket.get_sndhwm().unwrap_or_else(|e| $crate::fail("zmq_getsockopt", e));
        let rcvhwm = $socket.get_rcvhwm().unwrap_or_else(|e| $crate::fail("zmq_getsockopt", e));
        let sndbuf = $socket.get_sndbuf().unwrap_or_else(|e| $crate::fail("zmq_getsockopt", e));
        let rcvbuf = $socket.get_rcvbuf().unwrap_or_else(|e| $crate::fail("zmq_getsockopt", e));
        println!("settings: io_threads={io_threads} sndhwm={sndhwm} rcvhwm={rcvhwm} sndbuf={sndbuf} rcvbuf={rcvbuf}");
    }};
}

/// Prints libzmq's `message size` and `message count` lines.
pub fn print_thr_header(size: usize, count: usize) {
    println!("message size: {size} [B]");
    println!("message count: {count}");
}

/// Prints libzmq's two `mean throughput` lines for `count` messages received in `elapsed`
/// (libzmq's formula: the clock runs from the first message to the last, and the rate divides
/// the whole count by it).
pub fn print_throughput(size: usize, count: usize, elapsed: Duration) {
    let micros = (elapsed.as_secs_f64() * 1e6).max(1.0);
    let throughput = count as f64 / micros * 1e6;
    let megabits = throughput * size as f64 * 8.0 / 1e6;
    println!("mean throughput: {} [msg/s]", throughput as u64);
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// Prints libzmq's `message size` and `roundtrip count` lines.
pub fn print_lat_header(size: usize, roundtrips: usize) {
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
}

/// Prints libzmq's `average latency` line (half the mean round trip, as libzmq computes it)
/// and the round-trip percentiles of `round_trips_ns` (one entry per round trip, sorted here).
pub fn print_latency(elapsed: Duration, round_trips_ns: &mut [u64]) {
    let count = round_trips_ns.len().max(1);
    let latency = elapsed.as_secs_f64() * 1e6 / (count as f64 * 2.0);
    println!("average latency: {latency:.3} [us]");
    round_trips_ns.sort_unstable();
    for (name, p) in [("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9)] {
        println!("round-trip {name}: {:.3} [us]", percentile(round_trips_ns, p) as f64 / 1e3);
    }
}

/// The latency tools' measured loop: sends a message of `size` bytes on the REQ `socket` and
/// receives the reply, `roundtrips` times, exiting on an error or a reply of another size.
/// Returns the time from the first send to the last reply and the duration of each round trip
/// in nanoseconds.
pub fn round_trips(socket: &zmq::Socket, size: usize, roundtrips: usize) -> (Duration, Vec<u64>) {
    let mut msg = zmq::Message::with_size(size);
    let mut samples = Vec::with_capacity(roundtrips);
    let watch = Instant::now();
    let mut last = watch;
    for _ in 0..roundtrips {
        let request = std::mem::replace(&mut msg, zmq::Message::new());
        socket.send(request, 0).unwrap_or_else(|e| fail("zmq_sendmsg", e));
        socket.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
        if msg.len() != size {
            wrong_size(msg.len(), size);
        }
        let now = Instant::now();
        samples.push(nanos(now - last));
        last = now;
    }
    (last - watch, samples)
}

/// The `p`-th percentile (nearest rank, `p` in steps of 0.1) of `sorted`, or 0 when it is empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    // In integer per-mille, so that 99.9 % of 1,000 is rank 999 (not 1,000 by rounding).
    let per_mille = (p * 10.0).round().clamp(0.0, 1000.0) as usize;
    let rank = (per_mille * sorted.len()).div_ceil(1000);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Nanoseconds in `d`, saturating.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&v, 50.0), 500);
        assert_eq!(percentile(&v, 99.0), 990);
        assert_eq!(percentile(&v, 99.9), 999);
        assert_eq!(percentile(&v, 100.0), 1000);
        assert_eq!(percentile(&[7], 99.9), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
