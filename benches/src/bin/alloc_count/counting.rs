//! A counting global allocator and a PUSH → PULL stream on rustzmq whose steady state it measures.
//!
//! Shared by the `alloc_count` tool and by `benches/tests/steady_state_allocs.rs` (included there
//! with `#[path]`): the crate that includes it must install [`CountingAlloc`] as its
//! `#[global_allocator]`.
//!
//! Every allocation of the process is counted, whatever thread makes it (the application
//! threads and rustzmq's I/O thread alike): `alloc`, `alloc_zeroed` and `realloc` each count as
//! one allocation and add their (new) size to the bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use rustzmq as zmq;

/// Wraps [`System`], counting allocation calls and bytes.
pub(crate) struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// While set, allocations record a backtrace (up to [`TRACES_LEFT`] of them).
static TRACING: AtomicBool = AtomicBool::new(false);
/// How many more backtraces to record while [`TRACING`].
static TRACES_LEFT: AtomicUsize = AtomicUsize::new(0);
/// The backtraces recorded: size of the allocation, unresolved backtrace.
static TRACES: Mutex<Vec<(usize, Backtrace)>> = Mutex::new(Vec::new());

thread_local! {
    /// Set while this thread records a backtrace: its own allocations are neither counted nor
    /// traced.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

impl CountingAlloc {
    /// Counts one allocation of `size` bytes (and records its backtrace when tracing).
    fn count(size: usize) {
        let in_hook = IN_HOOK.try_with(Cell::get).unwrap_or(true);
        if in_hook {
            return;
        }
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
        if TRACING.load(Ordering::Relaxed)
            && TRACES_LEFT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
        {
            let _ = IN_HOOK.try_with(|h| h.set(true));
            let trace = Backtrace::force_capture();
            if let Ok(mut traces) = TRACES.lock() {
                traces.push((size, trace));
            }
            let _ = IN_HOOK.try_with(|h| h.set(false));
        }
    }
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// the counting touches only atomics, a const-initialized thread-local flag and (when tracing,
// with the flag set so that it does not recurse) a mutex-protected Vec.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::count(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot {
    /// Allocation calls so far.
    pub(crate) allocations: u64,
    /// Bytes requested so far.
    pub(crate) bytes: u64,
}

/// The counters now.
pub(crate) fn snapshot() -> Snapshot {
    Snapshot { allocations: ALLOCATIONS.load(Ordering::Relaxed), bytes: BYTES.load(Ordering::Relaxed) }
}

/// The transports a stream can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// `tcp://127.0.0.1:<free port>`.
    Tcp,
    /// `ipc://` in the temporary directory.
    Ipc,
    /// `inproc://`.
    Inproc,
}

impl Transport {
    /// All of them, in table order.
    pub(crate) const ALL: [Transport; 3] = [Transport::Tcp, Transport::Ipc, Transport::Inproc];

    /// `tcp`, `ipc` or `inproc`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Ipc => "ipc",
            Transport::Inproc => "inproc",
        }
    }
}

/// How the sender builds each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendMode {
    /// `Message::with_size(n)`, first byte written, `send(msg, 0)`.
    WithSize,
    /// `send(&buf[..], 0)` from one reused buffer (the message is a copy of the slice).
    Slice,
}

impl SendMode {
    /// Both, in table order.
    pub(crate) const ALL: [SendMode; 2] = [SendMode::WithSize, SendMode::Slice];

    /// `with_size` or `slice`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SendMode::WithSize => "with_size",
            SendMode::Slice => "slice",
        }
    }
}

/// What one stream measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamResult {
    /// Messages in the measured window.
    pub(crate) messages: u64,
    /// Allocation calls in the window (all threads).
    pub(crate) allocations: u64,
    /// Bytes requested in the window (all threads).
    pub(crate) bytes: u64,
    /// Length of the window.
    pub(crate) elapsed: Duration,
}

impl StreamResult {
    /// Allocation calls per message.
    pub(crate) fn allocations_per_message(&self) -> f64 {
        self.allocations as f64 / self.messages.max(1) as f64
    }

    /// Bytes allocated per message.
    pub(crate) fn bytes_per_message(&self) -> f64 {
        self.bytes as f64 / self.messages.max(1) as f64
    }
}

/// Distinguishes the endpoints of streams made by one process.
static STREAM_SEQ: AtomicUsize = AtomicUsize::new(0);

/// Streams `warmup + count` messages of `size` bytes PUSH → PULL over `transport` (one context
/// with the default options, the PUSH in a thread of its own) and counts the allocations of the
/// whole process while the PULL receives the last `count` of them. With `trace` > 0, the first
/// `trace` allocations of that window also record a backtrace (see [`take_traces`]).
pub(crate) fn stream(
    transport: Transport,
    size: usize,
    mode: SendMode,
    warmup: u64,
    count: u64,
    trace: usize,
) -> Result<StreamResult, String> {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).map_err(|e| format!("zmq_socket: {e}"))?;
    let seq = STREAM_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut ipc_path = None;
    let endpoint = match transport {
        Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
        Transport::Ipc => {
            let path = std::env::temp_dir().join(format!("rustzmq-alloc-{}-{seq}.ipc", std::process::id()));
            let endpoint = format!("ipc://{}", path.display());
            ipc_path = Some(path);
            endpoint
        }
        Transport::Inproc => format!("inproc://alloc-count-{seq}"),
    };
    pull.bind(&endpoint).map_err(|e| format!("zmq_bind {endpoint}: {e}"))?;
    let endpoint = match transport {
        Transport::Tcp => pull
            .get_last_endpoint()
            .map_err(|e| format!("zmq_getsockopt: {e}"))?
            .map_err(|_| "endpoint is not UTF-8".to_owned())?,
        _ => endpoint,
    };

    let total = warmup + count;
    let sender_ctx = ctx.clone();
    let sender = thread::spawn(move || -> Result<(), String> {
        let push = sender_ctx.socket(zmq::PUSH).map_err(|e| format!("zmq_socket: {e}"))?;
        push.connect(&endpoint).map_err(|e| format!("zmq_connect {endpoint}: {e}"))?;
        let buf = vec![7u8; size];
        for i in 0..total {
            match mode {
                SendMode::WithSize => {
                    let mut msg = zmq::Message::with_size(size);
                    if let Some(first) = msg.first_mut() {
                        *first = i as u8;
                    }
                    push.send(msg, 0)
                }
                SendMode::Slice => push.send(&buf[..], 0),
            }
            .map_err(|e| format!("zmq_send: {e}"))?;
        }
        Ok(())
    });

    let mut msg = zmq::Message::new();
    let mut receive = |n: u64| -> Result<(), String> {
        for _ in 0..n {
            pull.recv(&mut msg, 0).map_err(|e| format!("zmq_recvmsg: {e}"))?;
            if msg.len() != size {
                return Err(format!("message of {} bytes, expected {size}", msg.len()));
            }
        }
        Ok(())
    };
    let outcome = receive(warmup).and_then(|()| {
        if trace > 0 {
            TRACES_LEFT.store(trace, Ordering::Relaxed);
            TRACING.store(true, Ordering::Relaxed);
        }
        let before = snapshot();
        let watch = Instant::now();
        let received = receive(count);
        let elapsed = watch.elapsed();
        let after = snapshot();
        TRACING.store(false, Ordering::Relaxed);
        received.map(|()| StreamResult {
            messages: count,
            allocations: after.allocations - before.allocations,
            bytes: after.bytes - before.bytes,
            elapsed,
        })
    });
    drop(msg);
    drop(pull);
    let mut ctx = ctx;
    if outcome.is_err() {
        // Unblock the sender (its send fails with ETERM) before waiting for it.
        let _ = ctx.destroy();
    }
    let sent = sender.join().map_err(|_| "the sender thread panicked".to_owned())?;
    drop(ctx);
    if let Some(path) = ipc_path {
        let _ = std::fs::remove_file(path);
    }
    let result = outcome?;
    sent?;
    Ok(result)
}

/// The backtraces recorded since the last call, with the size of each allocation.
pub(crate) fn take_traces() -> Vec<(usize, Backtrace)> {
    TRACES.lock().map(|mut traces| std::mem::take(&mut *traces)).unwrap_or_default()
}
