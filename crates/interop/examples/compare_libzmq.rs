//! rustzmq against libzmq, side by side, on the same workload: PUSH -> PULL over TCP on
//! loopback, `count` messages of `size` bytes, in the style of libzmq's `local_thr`/`remote_thr`
//! (the clock starts at the first message received and stops at the last).
//!
//! The runs alternate, rustzmq then libzmq, three times each (A B A B A B), so that a machine
//! that speeds up or slows down during the measurement affects both alike. Both sides use
//! identical settings: default HWM (1000 send, 1000 receive), one I/O thread, a fresh context
//! per run, 10-second send/receive timeouts, and the same send/receive calls.
//!
//! libzmq is reached through the `zmq` crate, a dev-dependency renamed `libzmq`, linked to the
//! system libzmq (see `.cargo/config.toml`).
//!
//! Run: `cargo run --release -p rustzmq-interop --example compare_libzmq [message-count] [message-size]`
//! (defaults: 2,000,000 messages of 64 bytes).

use std::process::ExitCode;
use std::thread;
use std::time::Instant;

/// How long any send or receive may wait before a run gives up.
const TIMEOUT_MS: i32 = 10_000;
/// Runs per implementation.
const RUNS: usize = 3;
const USAGE: &str =
    "usage: compare_libzmq [message-count (default 2000000, at least 2)] [message-size (default 64)] [curve]";

/// The same workload for an implementation of the `zmq` crate's API: `$zmq` is the crate
/// (`rustzmq` or `libzmq`), both used through identical source code.
macro_rules! push_pull_workload {
    ($module:ident, $zmq:ident) => {
        mod $module {
            use super::*;

            /// One run: returns messages per second (and the HWMs in effect, to show they match).
            pub(crate) fn run(count: usize, size: usize, curve: bool) -> Result<(f64, String), String> {
                let ctx = ::$zmq::Context::new();
                let pull = ctx.socket(::$zmq::PULL).map_err(|e| format!("PULL socket: {e}"))?;
                // With CURVE, every message is boxed by the sender and opened by the receiver.
                let keys = if curve {
                    let server = ::$zmq::CurveKeyPair::new().map_err(|e| format!("server keys: {e}"))?;
                    let client = ::$zmq::CurveKeyPair::new().map_err(|e| format!("client keys: {e}"))?;
                    pull.set_curve_server(true).map_err(|e| format!("curve server: {e}"))?;
                    pull.set_curve_secretkey(&server.secret_key).map_err(|e| format!("server key: {e}"))?;
                    Some((server.public_key, client.public_key, client.secret_key))
                } else {
                    None
                };
                pull.set_rcvtimeo(TIMEOUT_MS).map_err(|e| format!("PULL rcvtimeo: {e}"))?;
                pull.bind("tcp://127.0.0.1:*").map_err(|e| format!("PULL bind: {e}"))?;
                let endpoint = pull
                    .get_last_endpoint()
                    .map_err(|e| format!("PULL last endpoint: {e}"))?
                    .map_err(|_| "last endpoint not UTF-8".to_owned())?;

                let sender_ctx = ctx.clone();
                let sender = thread::spawn(move || -> Result<String, String> {
                    let push = sender_ctx.socket(::$zmq::PUSH).map_err(|e| format!("PUSH socket: {e}"))?;
                    push.set_sndtimeo(TIMEOUT_MS).map_err(|e| format!("PUSH sndtimeo: {e}"))?;
                    if let Some((server_public, public, secret)) = keys {
                        push.set_curve_serverkey(&server_public).map_err(|e| format!("server key: {e}"))?;
                        push.set_curve_publickey(&public).map_err(|e| format!("client key: {e}"))?;
                        push.set_curve_secretkey(&secret).map_err(|e| format!("client key: {e}"))?;
                    }
                    push.connect(&endpoint).map_err(|e| format!("PUSH connect: {e}"))?;
                    let hwm = push.get_sndhwm().map_err(|e| format!("PUSH sndhwm: {e}"))?;
                    let payload = vec![b'x'; size];
                    for i in 0..count {
                        push.send(&payload[..], 0).map_err(|e| format!("PUSH send {} of {count}: {e}", i + 1))?;
                    }
                    Ok(format!("SNDHWM {hwm}"))
                });

                let mut msg = ::$zmq::Message::new();
                pull.recv(&mut msg, 0).map_err(|e| format!("PULL recv 1 of {count}: {e}"))?;
                let start = Instant::now();
                for i in 1..count {
                    pull.recv(&mut msg, 0).map_err(|e| format!("PULL recv {} of {count}: {e}", i + 1))?;
                    if msg.len() != size {
                        return Err(format!("message {} has {} bytes, expected {size}", i + 1, msg.len()));
                    }
                }
                let seconds = start.elapsed().as_secs_f64();
                let sndhwm = sender.join().map_err(|_| "PUSH thread panicked".to_owned())??;
                let rcvhwm = pull.get_rcvhwm().map_err(|e| format!("PULL rcvhwm: {e}"))?;
                Ok(((count - 1) as f64 / seconds, format!("{sndhwm}, RCVHWM {rcvhwm}")))
            }
        }
    };
}

push_pull_workload!(on_rustzmq, rustzmq);
push_pull_workload!(on_libzmq, libzmq);

fn main() -> ExitCode {
    match compare() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("compare_libzmq: FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

fn compare() -> Result<(), String> {
    let (count, size) = parse_args()?;
    let curve = std::env::args().nth(3).is_some_and(|a| a == "curve");
    let (major, minor, patch) = libzmq::version();
    println!(
        "PUSH -> PULL over tcp://127.0.0.1{}, {} messages of {size} bytes, {RUNS} runs each, alternating",
        if curve { " with CURVE" } else { "" },
        thousands(count as f64)
    );
    println!("libzmq {major}.{minor}.{patch} (system library) vs rustzmq {}", env!("CARGO_PKG_VERSION"));

    let mut rust_rates = Vec::with_capacity(RUNS);
    let mut c_rates = Vec::with_capacity(RUNS);
    for round in 1..=RUNS {
        let (rate, hwm) = on_rustzmq::run(count, size, curve).map_err(|e| format!("rustzmq run {round}: {e}"))?;
        report(round, "rustzmq", rate, size, &hwm);
        rust_rates.push(rate);
        let (rate, hwm) = on_libzmq::run(count, size, curve).map_err(|e| format!("libzmq run {round}: {e}"))?;
        report(round, "libzmq", rate, size, &hwm);
        c_rates.push(rate);
    }

    let (rust, c) = (median(&mut rust_rates), median(&mut c_rates));
    println!("median rustzmq: {:>12} msg/s", thousands(rust));
    println!("median libzmq:  {:>12} msg/s", thousands(c));
    println!("ratio rustzmq/libzmq: {:.2}", rust / c);
    Ok(())
}

fn report(round: usize, name: &str, rate: f64, size: usize, hwm: &str) {
    println!("run {round} {name:<8} {:>12} msg/s {:>8.1} MB/s  ({hwm})", thousands(rate), rate * size as f64 / 1e6);
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// `compare_libzmq [count] [size]`.
fn parse_args() -> Result<(usize, usize), String> {
    let mut args = std::env::args().skip(1);
    let mut next = |what: &str, default: usize| -> Result<usize, String> {
        match args.next() {
            None => Ok(default),
            Some(arg) => arg.replace(['_', ','], "").parse().map_err(|_| format!("bad {what} {arg:?}\n{USAGE}")),
        }
    };
    let count = next("message count", 2_000_000)?;
    let size = next("message size", 64)?;
    if count < 2 || args.next().is_some_and(|extra| extra != "curve") {
        return Err(USAGE.to_owned());
    }
    Ok((count, size))
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
