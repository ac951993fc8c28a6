//! `alloc_count [--count N] [--warmup N] [--sizes S,S,..] [--transports T,T,..] [--modes M,M,..]
//! [--trace N]`: heap allocations per message in steady-state streaming, rustzmq only.
//!
//! For every transport (tcp, ipc, inproc), message size (16 B, 64 B, 1 KiB, 64 KiB by default)
//! and way of building messages (`with_size`: `Message::with_size(n)` then `send(msg, 0)`;
//! `slice`: `send(&buf[..], 0)`), a PUSH thread streams messages to a PULL that receives them
//! with `recv(&mut msg, 0)` into one reused `Message`, as a user would: after `--warmup` messages
//! (100,000 by default) the allocations of the whole process (every thread, rustzmq's I/O thread
//! included) are counted by a wrapping `#[global_allocator]` while the PULL receives `--count`
//! more (1,000,000 by default; 64 KiB messages: a fiftieth of both). One `row:` line per
//! combination gives the allocations and bytes per message.
//!
//! `--trace N` records the backtraces of the first N allocations in each measured window and
//! prints them grouped by call stack (frames inside the allocator and std's backtrace code
//! left out), to find where allocations come from.
//!
//! Always built against rustzmq: libzmq allocates with C `malloc`, which a Rust global allocator
//! does not see, so the `libzmq` feature changes nothing here.

mod counting;

use std::collections::BTreeMap;

use counting::{stream, take_traces, CountingAlloc, SendMode, Transport};
use rustzmq_benches::{fail, number};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Default messages in the measured window.
const DEFAULT_COUNT: u64 = 1_000_000;
/// Default messages before the window.
const DEFAULT_WARMUP: u64 = 100_000;
/// Messages at least this large are streamed 50 times fewer (64 KiB × 1,000,000 would take
/// about a minute on loopback).
const LARGE: usize = 16 * 1024;

/// Options from the command line.
struct Options {
    count: u64,
    warmup: u64,
    sizes: Vec<usize>,
    transports: Vec<Transport>,
    modes: Vec<SendMode>,
    trace: usize,
}

fn usage() -> ! {
    println!(
        "usage: alloc_count [--count N] [--warmup N] [--sizes S,S,..] [--transports tcp,ipc,inproc] \
         [--modes with_size,slice] [--trace N]"
    );
    std::process::exit(1);
}

fn parse_options() -> Options {
    let mut options = Options {
        count: DEFAULT_COUNT,
        warmup: DEFAULT_WARMUP,
        sizes: vec![16, 64, 1024, 65536],
        transports: Transport::ALL.to_vec(),
        modes: SendMode::ALL.to_vec(),
        trace: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--count" => options.count = number(&value, "count") as u64,
            "--warmup" => options.warmup = number(&value, "warm-up count") as u64,
            "--trace" => options.trace = number(&value, "trace count"),
            "--sizes" => options.sizes = value.split(',').map(|s| number(s, "size")).collect(),
            "--transports" => {
                options.transports = value
                    .split(',')
                    .map(|name| {
                        Transport::ALL
                            .into_iter()
                            .find(|t| t.name() == name)
                            .unwrap_or_else(|| fail("arguments", format!("unknown transport {name:?}")))
                    })
                    .collect();
            }
            "--modes" => {
                options.modes = value
                    .split(',')
                    .map(|name| {
                        SendMode::ALL
                            .into_iter()
                            .find(|m| m.name() == name)
                            .unwrap_or_else(|| fail("arguments", format!("unknown mode {name:?}")))
                    })
                    .collect();
            }
            _ => usage(),
        }
    }
    if options.count == 0 {
        fail("arguments", "count must be at least 1");
    }
    options
}

fn main() {
    let options = parse_options();
    let (major, minor, patch) = rustzmq::version();
    println!(
        "implementation: rustzmq {} (zmq API {major}.{minor}.{patch}); allocations of the whole process",
        env!("CARGO_PKG_VERSION")
    );
    println!("settings: io_threads=1 sndhwm=1000 rcvhwm=1000 (defaults); recv into one reused Message");
    for &transport in &options.transports {
        for &size in &options.sizes {
            for &mode in &options.modes {
                let (warmup, count) = if size >= LARGE {
                    ((options.warmup / 50).max(1), (options.count / 50).max(1))
                } else {
                    (options.warmup, options.count)
                };
                let result = stream(transport, size, mode, warmup, count, options.trace)
                    .unwrap_or_else(|e| fail(&format!("{} {size} B {}", transport.name(), mode.name()), e));
                println!(
                    "row: transport={} size={size} send={} warmup={warmup} messages={} allocations={} bytes={} \
                     allocations_per_message={:.6} bytes_per_message={:.2} msg_per_s={:.0}",
                    transport.name(),
                    mode.name(),
                    result.messages,
                    result.allocations,
                    result.bytes,
                    result.allocations_per_message(),
                    result.bytes_per_message(),
                    result.messages as f64 / result.elapsed.as_secs_f64().max(1e-9),
                );
                if options.trace > 0 {
                    print_traces(&format!("{} {size} B {}", transport.name(), mode.name()));
                }
            }
        }
    }
}

/// Prints the recorded backtraces grouped by identical call stacks, most frequent first.
fn print_traces(row: &str) {
    let traces = take_traces();
    let mut groups: BTreeMap<String, (usize, Vec<usize>)> = BTreeMap::new();
    for (size, trace) in &traces {
        let entry = groups.entry(trim_backtrace(&trace.to_string())).or_default();
        entry.0 += 1;
        entry.1.push(*size);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|group| std::cmp::Reverse(group.1 .0));
    println!("traces: {row}: {} allocations recorded, {} distinct call stacks", traces.len(), groups.len());
    for (stack, (hits, mut sizes)) in groups {
        sizes.sort_unstable();
        sizes.dedup();
        println!("--- {hits} allocation(s), sizes {sizes:?} B:");
        println!("{stack}");
    }
}

/// The frames of a resolved backtrace from the first one outside the counting allocator and
/// Rust's `alloc` library, down to (not including) the thread's entry in std.
fn trim_backtrace(text: &str) -> String {
    // Each frame is a symbol line (`  N: path::symbol`, or just a name for an inlined frame),
    // followed by its `at file:line` line.
    let mut frames: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(location) = trimmed.strip_prefix("at ") {
            if let Some(last) = frames.last_mut() {
                last.1 = location.to_owned();
            }
        } else {
            let symbol = match trimmed.split_once(": ") {
                Some((n, symbol)) if n.chars().all(|c| c.is_ascii_digit()) => symbol,
                _ => trimmed,
            };
            frames.push((symbol.to_owned(), String::new()));
        }
    }
    let allocator = |location: &str| {
        location.contains("alloc_count/")
            || location.contains("/library/alloc/")
            || location.contains("/library/std/src/backtrace")
    };
    let entry = |location: &str| {
        location.contains("/library/std/src/sys/backtrace.rs")
            || location.contains("/library/std/src/rt.rs")
            || location.contains("/library/std/src/thread/")
    };
    let mut out = Vec::new();
    for (symbol, location) in frames.iter().skip_while(|(_, location)| allocator(location) || location.is_empty()) {
        if entry(location) {
            break;
        }
        out.push(format!("    {symbol}  ({location})"));
    }
    out.join("\n")
}
