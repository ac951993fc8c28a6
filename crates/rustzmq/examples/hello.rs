//! rustzmq's first demo: ZeroMQ in pure Rust, through the API of the `zmq` crate.
//!
//! 1. A PULL socket binds to a free TCP port on loopback; a PUSH socket in another thread
//!    connects to it and says hello.
//! 2. The PUSH socket streams `count` messages of `size` bytes; the PULL socket counts them and
//!    the demo prints the throughput.
//! 3. Two PAIR sockets play ping-pong over TCP and the demo prints the mean round-trip time.
//!
//! Run: `cargo run --release -p rustzmq --example hello [message-count] [message-size]`
//! (defaults: 1,000,000 messages of 64 bytes).
//!
//! The code is plain `zmq` crate code: the `use rustzmq as zmq;` line is the only change needed
//! to run it on libzmq instead. Every send and receive gives up after 10 seconds, and any
//! failure ends the demo with a message and a non-zero exit code.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use rustzmq as zmq;

/// How long any send or receive may wait before the demo gives up (ZMQ_SNDTIMEO, ZMQ_RCVTIMEO).
const TIMEOUT_MS: i32 = 10_000;
/// The first message, sent before the stream.
const GREETING: &str = "Hello from rustzmq";
/// Round trips for the latency measurement.
const ROUND_TRIPS: usize = 10_000;
const USAGE: &str = "usage: hello [message-count (default 1000000)] [message-size in bytes (default 64)]";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hello: FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let (count, size) = parse_args()?;
    let ctx = zmq::Context::new();
    throughput(&ctx, count, size)?;
    latency(&ctx, ROUND_TRIPS)?;
    println!("\nAll done.");
    Ok(())
}

/// PUSH -> PULL over TCP: a greeting, then `count` messages of `size` bytes.
fn throughput(ctx: &zmq::Context, count: usize, size: usize) -> Result<()> {
    println!("== PUSH -> PULL over TCP: {} messages of {size} bytes ==", thousands(count as f64));

    let pull = ctx.socket(zmq::PULL).doing("creating the PULL socket")?;
    pull.set_rcvtimeo(TIMEOUT_MS).doing("setting the PULL receive timeout")?;
    pull.bind("tcp://127.0.0.1:*").doing("binding the PULL socket")?;
    let endpoint = last_endpoint(&pull)?;
    println!("PULL bound to {endpoint}");

    // The sender runs in its own thread, with its own handle on the same context.
    let sender_ctx = ctx.clone();
    let sender = thread::spawn(move || push_messages(&sender_ctx, &endpoint, count, size));

    let mut msg = zmq::Message::new();
    pull.recv(&mut msg, 0).doing("waiting for the first message")?;
    let text = msg.as_str().unwrap_or("<not UTF-8>");
    println!("PULL received the first message: {text:?}");
    if text != GREETING {
        return Err(format!("expected {GREETING:?} as the first message").into());
    }

    let start = Instant::now();
    for i in 0..count {
        pull.recv(&mut msg, 0).doing_with(|| format!("receiving message {} of {count}", i + 1))?;
        if msg.len() != size {
            return Err(format!("message {} has {} bytes, expected {size}", i + 1, msg.len()).into());
        }
    }
    let elapsed = start.elapsed();
    sender.join().map_err(|_| "the PUSH thread panicked")??;

    let seconds = elapsed.as_secs_f64();
    println!("PULL received {} messages in {seconds:.3} s", thousands(count as f64));
    println!(
        "throughput: {} msg/s, {:.1} MB/s",
        thousands(count as f64 / seconds),
        (count * size) as f64 / seconds / 1e6
    );
    Ok(())
}

/// The PUSH side: connects, greets, then streams the messages.
fn push_messages(ctx: &zmq::Context, endpoint: &str, count: usize, size: usize) -> Result<()> {
    let push = ctx.socket(zmq::PUSH).doing("creating the PUSH socket")?;
    push.set_sndtimeo(TIMEOUT_MS).doing("setting the PUSH send timeout")?;
    push.connect(endpoint).doing("connecting the PUSH socket")?;
    println!("PUSH connected to {endpoint} (from another thread)");

    push.send(GREETING, 0).doing("sending the first message")?;
    let payload = vec![b'x'; size];
    for i in 0..count {
        push.send(&payload[..], 0).doing_with(|| format!("sending message {} of {count}", i + 1))?;
    }
    Ok(())
}

/// PAIR ping-pong over TCP: this thread sends, an echo thread sends each message back.
fn latency(ctx: &zmq::Context, round_trips: usize) -> Result<()> {
    println!("\n== PAIR ping-pong over TCP: {} round trips ==", thousands(round_trips as f64));

    let ping = ctx.socket(zmq::PAIR).doing("creating the PAIR socket")?;
    ping.set_rcvtimeo(TIMEOUT_MS).doing("setting the PAIR receive timeout")?;
    ping.set_sndtimeo(TIMEOUT_MS).doing("setting the PAIR send timeout")?;
    ping.bind("tcp://127.0.0.1:*").doing("binding the PAIR socket")?;
    let endpoint = last_endpoint(&ping)?;
    println!("PAIR bound to {endpoint}");

    // One extra round trip first, to make sure the connection is up before the clock starts.
    let echo_ctx = ctx.clone();
    let echo = thread::spawn(move || echo_messages(&echo_ctx, &endpoint, round_trips + 1));

    let mut reply = zmq::Message::new();
    ping.send("ping", 0).doing("sending the first ping")?;
    ping.recv(&mut reply, 0).doing("waiting for the first pong")?;
    println!("PAIR got its first reply: {:?}", reply.as_str().unwrap_or("<not UTF-8>"));

    let start = Instant::now();
    for i in 0..round_trips {
        ping.send("ping", 0).doing_with(|| format!("sending ping {} of {round_trips}", i + 1))?;
        ping.recv(&mut reply, 0).doing_with(|| format!("waiting for pong {} of {round_trips}", i + 1))?;
        if &reply[..] != b"ping" {
            return Err(format!("round trip {} came back as {:?}", i + 1, &reply[..]).into());
        }
    }
    let elapsed = start.elapsed();
    echo.join().map_err(|_| "the echo thread panicked")??;

    let mean = elapsed / u32::try_from(round_trips).unwrap_or(u32::MAX).max(1);
    println!("{} round trips in {:.3} s", thousands(round_trips as f64), elapsed.as_secs_f64());
    println!("mean round-trip latency: {:.1} µs", micros(mean));
    Ok(())
}

/// The echo side of the ping-pong: connects and sends every message back, `count` times.
fn echo_messages(ctx: &zmq::Context, endpoint: &str, count: usize) -> Result<()> {
    let echo = ctx.socket(zmq::PAIR).doing("creating the echo PAIR socket")?;
    echo.set_rcvtimeo(TIMEOUT_MS).doing("setting the echo receive timeout")?;
    echo.set_sndtimeo(TIMEOUT_MS).doing("setting the echo send timeout")?;
    echo.connect(endpoint).doing("connecting the echo PAIR socket")?;
    println!("echo PAIR connected to {endpoint} (from another thread)");
    for i in 0..count {
        let msg = echo.recv_msg(0).doing_with(|| format!("echo: receiving message {} of {count}", i + 1))?;
        echo.send(msg, 0).doing_with(|| format!("echo: sending message {} of {count}", i + 1))?;
    }
    Ok(())
}

/// ZMQ_LAST_ENDPOINT: where a `tcp://127.0.0.1:*` bind actually landed.
fn last_endpoint(socket: &zmq::Socket) -> Result<String> {
    let endpoint = socket.get_last_endpoint().doing("reading the last endpoint")?;
    Ok(endpoint.map_err(|_| "the last endpoint is not UTF-8")?)
}

/// `hello [count] [size]`.
fn parse_args() -> Result<(usize, usize)> {
    let mut args = std::env::args().skip(1);
    let mut next = |what: &str, default: usize| -> Result<usize> {
        match args.next() {
            None => Ok(default),
            Some(arg) => arg.replace(['_', ','], "").parse().map_err(|_| format!("bad {what} {arg:?}\n{USAGE}").into()),
        }
    };
    let count = next("message count", 1_000_000)?;
    let size = next("message size", 64)?;
    if args.next().is_some() {
        return Err(USAGE.into());
    }
    Ok((count, size))
}

/// Adds what the demo was doing to a ZeroMQ error.
trait Doing<T> {
    fn doing(self, what: &str) -> Result<T>;
    fn doing_with(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Doing<T> for zmq::Result<T> {
    fn doing(self, what: &str) -> Result<T> {
        self.doing_with(|| what.to_owned())
    }

    fn doing_with(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|error| {
            let what = what();
            if error == zmq::Error::EAGAIN {
                format!("{what}: nothing happened for {} s (timed out: {error})", TIMEOUT_MS / 1000).into()
            } else {
                format!("{what}: {error}").into()
            }
        })
    }
}

/// 1234567.8 -> "1,234,568".
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
