//! Helpers shared by the interop test files (each file is its own crate and pulls this in with
//! `mod common;`).

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

/// A unique ipc endpoint under the temp dir (`tag` keeps files of different test crates apart).
pub(crate) fn ipc_endpoint(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("rustzmq-interop-{tag}-{}-{n}.ipc", std::process::id()));
    format!("ipc://{}", path.display())
}

/// Which implementation a socket comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lib {
    Rust,
    Zmq,
}

/// The transports the interop tests run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    Ipc,
}

/// A fresh endpoint to bind: a tcp wildcard port on loopback, or a unique ipc path.
pub(crate) fn fresh_endpoint(transport: Transport, tag: &str) -> String {
    match transport {
        Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
        Transport::Ipc => ipc_endpoint(tag),
    }
}

/// Removes an ipc endpoint's socket file when dropped (libzmq 4.3 leaves it behind).
pub(crate) struct RemoveIpcFile(pub(crate) String);

impl Drop for RemoveIpcFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.strip_prefix("ipc://") {
            let _ = std::fs::remove_file(path);
        }
    }
}
