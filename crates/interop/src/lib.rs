//! Interoperability checks of rustzmq against the real libzmq. The tests (`tests/interop.rs`)
//! run every pattern rustzmq has in both directions over tcp and ipc; the example
//! `compare_libzmq` measures both on the same workload in one run. This crate has no API of
//! its own: it exists so that only it links libzmq.
