//! `idle_conn_mem <connections> [<dealers-per-context>]`: resident memory per idle tcp connection.
//!
//! One process, one context with one I/O thread, default socket options: a ROUTER binds to
//! `tcp://127.0.0.1:*`, `connections` DEALER sockets connect to it, each DEALER sends one 1-byte
//! message and the ROUTER receives all of them (so every connection has finished its ZMTP
//! handshake and carried a message), then everything sits idle for a second. The resident set
//! (`VmRSS` of `/proc/self/status`) is read once the ROUTER is bound (before any DEALER exists)
//! and again after the idle second; the difference divided by `connections` is the memory per
//! connection. Both ends of every connection live in this process, so the figure covers the
//! DEALER socket, both sessions/engines and pipes, and the ROUTER's routing entry; kernel socket
//! buffers are kernel memory and not part of the resident set.
//!
//! The tool raises its soft `RLIMIT_NOFILE` to the hard limit and, built against libzmq, the
//! context's `ZMQ_MAX_SOCKETS` (libzmq's default is 1023) to the sockets it will hold. rustzmq
//! also stops at 1023 sockets per context (`ZMQ_MAX_SOCKETS`) and its `Context` has no way to
//! raise it; with `<dealers-per-context>` K, the ROUTER and the first K DEALERs share the first
//! context and every further K DEALERs get a context (one I/O thread each) of their own, the same
//! layout for both implementations. It also prints the file descriptors per connection (tcp
//! sockets at both ends plus each DEALER's wake-up fd), which is what bounds `connections` under
//! a fixed hard limit.
//!
//! Built against rustzmq by default, against libzmq with `--features libzmq`
//! (`cargo xtask bench --memory` runs both).

#[cfg(feature = "libzmq")]
use libzmq as zmq;
#[cfg(not(feature = "libzmq"))]
use rustzmq as zmq;

use std::time::{Duration, Instant};

use rustzmq_benches::{args_between, fail, number, print_implementation};

/// How long every connection stays idle before the second reading.
const SETTLE: Duration = Duration::from_secs(1);

fn main() {
    const USAGE: &str = "idle_conn_mem <connections> [<dealers-per-context>]";
    let args = args_between(USAGE, 1, 2);
    let connections = number(&args[0], "connections");
    let per_context = args.get(1).map_or(connections, |arg| number(arg, "dealers per context"));
    if connections == 0 || per_context == 0 {
        fail("arguments", "connections and dealers per context must be at least 1");
    }
    print_implementation(zmq::version());
    let (soft, hard) = raise_nofile_limit();
    println!("fd limit: {soft} (hard {hard})");

    // The ROUTER and the first `per_context` DEALERs share the first context.
    let ctx = Ctx::new(per_context + 1);
    let router = ctx.socket(zmq::ROUTER).unwrap_or_else(|e| fail("zmq_socket", e));
    router.bind("tcp://127.0.0.1:*").unwrap_or_else(|e| fail("zmq_bind", e));
    let endpoint = match router.get_last_endpoint().unwrap_or_else(|e| fail("zmq_getsockopt", e)) {
        Ok(endpoint) => endpoint,
        Err(raw) => fail("zmq_getsockopt", format!("endpoint is not UTF-8: {raw:?}")),
    };
    let contexts = connections.div_ceil(per_context);
    println!(
        "settings: io_threads={} sndhwm={} rcvhwm={} contexts={contexts} endpoint={endpoint}",
        ctx.io_threads(),
        router.get_sndhwm().unwrap_or_else(|e| fail("zmq_getsockopt", e)),
        router.get_rcvhwm().unwrap_or_else(|e| fail("zmq_getsockopt", e)),
    );
    // Let the I/O thread and the listener settle before the first reading.
    std::thread::sleep(Duration::from_millis(200));
    let rss_before = rss_kib();
    let fds_before = open_fds();

    let watch = Instant::now();
    // Declared before the sockets, so that they are closed first (libzmq's contexts wait for
    // their sockets).
    let mut extra_contexts = Vec::new();
    let mut dealers = Vec::with_capacity(connections);
    for made in 0..connections {
        let ctx = if made < per_context {
            &ctx
        } else {
            if made % per_context == 0 {
                extra_contexts.push(Ctx::new(per_context));
            }
            extra_contexts.last().unwrap_or(&ctx)
        };
        let dealer = ctx.socket(zmq::DEALER).unwrap_or_else(|e| {
            fail("zmq_socket", format!("{e} (after {made} DEALERs, with {} fds open)", open_fds()))
        });
        dealer.connect(&endpoint).unwrap_or_else(|e| fail("zmq_connect", e));
        dealers.push(dealer);
    }
    for dealer in &dealers {
        dealer.send(&b"x"[..], 0).unwrap_or_else(|e| fail("zmq_send", e));
    }
    let mut msg = zmq::Message::new();
    for _ in 0..connections {
        // Routing id, then the 1-byte body.
        router.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
        if !msg.get_more() {
            fail("zmq_recvmsg", "ROUTER message without a routing id frame");
        }
        router.recv(&mut msg, 0).unwrap_or_else(|e| fail("zmq_recvmsg", e));
        if &msg[..] != b"x" {
            fail("zmq_recvmsg", format!("unexpected body {:?}", &msg[..]));
        }
    }
    drop(msg);
    let connected = watch.elapsed();
    std::thread::sleep(SETTLE);
    let rss_after = rss_kib();
    let fds_after = open_fds();

    let per_connection = (rss_after as f64 - rss_before as f64) * 1024.0 / connections as f64;
    println!("connections: {connections}");
    println!("connected and handshaked in: {:.3} [s]", connected.as_secs_f64());
    println!("rss before: {rss_before} [KiB]");
    println!("rss after: {rss_after} [KiB]");
    println!("file descriptors per connection: {:.2}", (fds_after - fds_before) as f64 / connections as f64);
    println!("memory per connection: {} [B] (both ends in this process)", per_connection.round() as i64);

    drop(dealers);
    drop(router);
    drop(extra_contexts);
    drop(ctx);
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns both (soft as now in effect).
fn raise_nofile_limit() -> (u64, u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live local.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        fail("getrlimit", std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: setrlimit reads one `rlimit` through a pointer to a live local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            fail("setrlimit", std::io::Error::last_os_error());
        }
        limit = raised;
    }
    (limit.rlim_cur, limit.rlim_max)
}

/// `VmRSS` of this process in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_else(|e| fail("/proc/self/status", e));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| fail("/proc/self/status", "no VmRSS line"))
}

/// Number of open file descriptors of this process.
fn open_fds() -> i64 {
    let entries = std::fs::read_dir("/proc/self/fd").unwrap_or_else(|e| fail("/proc/self/fd", e));
    // The directory handle itself is one of the entries.
    entries.count() as i64 - 1
}

/// The context: the zmq crate's `Context` for rustzmq (which has no socket limit).
#[cfg(not(feature = "libzmq"))]
struct Ctx(zmq::Context);

#[cfg(not(feature = "libzmq"))]
impl Ctx {
    /// A default context; rustzmq has no ZMQ_MAX_SOCKETS to raise.
    fn new(_max_sockets: usize) -> Ctx {
        Ctx(zmq::Context::new())
    }

    /// ZMQ_IO_THREADS.
    fn io_threads(&self) -> i32 {
        self.0.get_io_threads().unwrap_or_else(|e| fail("zmq_ctx_get", e))
    }

    /// A new socket of `kind`.
    fn socket(&self, kind: zmq::SocketType) -> zmq::Result<zmq::Socket> {
        self.0.socket(kind)
    }
}

/// The context for libzmq: made with `zmq_ctx_new` so that `ZMQ_MAX_SOCKETS` can be set (the zmq
/// crate 0.10 has no setter for it); its sockets are handed to the zmq crate's `Socket`, which
/// closes them when dropped. Every socket must be dropped before the context.
#[cfg(feature = "libzmq")]
struct Ctx(*mut std::ffi::c_void);

#[cfg(feature = "libzmq")]
impl Ctx {
    /// A default context (one I/O thread) with `ZMQ_MAX_SOCKETS` raised to `max_sockets`.
    fn new(max_sockets: usize) -> Ctx {
        // SAFETY: zmq_ctx_new takes no arguments and returns a new context or null.
        let raw = unsafe { zmq_sys::zmq_ctx_new() };
        if raw.is_null() {
            fail("zmq_ctx_new", std::io::Error::last_os_error());
        }
        let ctx = Ctx(raw);
        let max = i32::try_from(max_sockets.max(zmq_sys::ZMQ_MAX_SOCKETS_DFLT as usize)).unwrap_or(i32::MAX);
        // SAFETY: `raw` is a live context; ZMQ_MAX_SOCKETS takes an int.
        if unsafe { zmq_sys::zmq_ctx_set(raw, zmq_sys::ZMQ_MAX_SOCKETS as i32, max) } != 0 {
            // SAFETY: zmq_errno reads the calling thread's errno.
            fail("zmq_ctx_set", zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() }));
        }
        ctx
    }

    /// ZMQ_IO_THREADS.
    fn io_threads(&self) -> i32 {
        // SAFETY: the context is live until `self` is dropped.
        unsafe { zmq_sys::zmq_ctx_get(self.0, zmq_sys::ZMQ_IO_THREADS as i32) }
    }

    /// A new socket of `kind` (DEALER or ROUTER).
    fn socket(&self, kind: zmq::SocketType) -> zmq::Result<zmq::Socket> {
        let raw_kind = match kind {
            zmq::DEALER => zmq_sys::ZMQ_DEALER,
            zmq::ROUTER => zmq_sys::ZMQ_ROUTER,
            other => fail("zmq_socket", format!("{other:?} is not used by this tool")),
        };
        // SAFETY: the context is live; zmq_socket returns a new socket or null.
        let sock = unsafe { zmq_sys::zmq_socket(self.0, raw_kind as i32) };
        if sock.is_null() {
            // SAFETY: zmq_errno reads the calling thread's errno.
            return Err(zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() }));
        }
        // SAFETY: `sock` is a new socket owned by nobody else; the returned Socket closes it.
        Ok(unsafe { zmq::Socket::from_raw(sock) })
    }
}

#[cfg(feature = "libzmq")]
impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: the context is live and all its sockets are closed (main drops them first);
        // it is not used again.
        while unsafe { zmq_sys::zmq_ctx_term(self.0) } != 0 {
            // SAFETY: zmq_errno reads the calling thread's errno.
            if unsafe { zmq_sys::zmq_errno() } != libc::EINTR {
                break;
            }
        }
    }
}
