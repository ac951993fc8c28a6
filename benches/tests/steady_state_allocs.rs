//! Steady-state streaming of small messages allocates (almost) nothing: after a warm-up, PUSH →
//! PULL over inproc and tcp with 16 B and 64 B messages (built with `Message::with_size` and
//! from a slice, received into one reused `Message`) must make fewer than 0.01 heap allocations
//! per message, counted over the whole process by a wrapping global allocator.
//!
//! What remains is amortized over many messages, not per message (traced at commit 1bdbf98 with
//! `cargo run --release -p rustzmq-benches --bin alloc_count -- --sizes 16,64 --trace 300`): a
//! pipe's queue allocates a 256-slot chunk when its one spare chunk is in use; the unbounded
//! crossbeam command channels allocate a block per 31 wake-up commands; over tcp and ipc the
//! engine allocates a new 64 KiB read buffer (plus a 40-byte shared header) per network read
//! while the previous one is still referenced by the messages handed to the pipe. Measured:
//! 0.0025-0.005 per message in a debug build, also with two busy loops competing for the CPUs.

// The counting allocator and the stream, shared with the `alloc_count` tool.
#[path = "../src/bin/alloc_count/counting.rs"]
#[allow(dead_code)]
mod counting;

use counting::{stream, CountingAlloc, SendMode, Transport};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Upper bound of allocations per message in steady state, for messages stored inline.
const LIMIT: f64 = 0.01;

// One test function: the counter is process-wide, so no other test may run at the same time.
#[test]
fn small_messages_do_not_allocate_in_steady_state() {
    let mut failures = Vec::new();
    for transport in [Transport::Inproc, Transport::Tcp] {
        for size in [16, 64] {
            for mode in SendMode::ALL {
                let result = stream(transport, size, mode, 50_000, 200_000, 0)
                    .unwrap_or_else(|e| panic!("{} {size} B {}: {e}", transport.name(), mode.name()));
                let per_message = result.allocations_per_message();
                println!(
                    "{} {size} B {}: {} allocations ({} bytes) for {} messages: {per_message:.5} per message",
                    transport.name(),
                    mode.name(),
                    result.allocations,
                    result.bytes,
                    result.messages
                );
                if per_message >= LIMIT {
                    failures.push(format!("{} {size} B {}: {per_message:.5}", transport.name(), mode.name()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "allocations per message at or above {LIMIT}: {failures:?}");
}
