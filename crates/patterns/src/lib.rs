//! # rustzmq-patterns: socket types as routing logic
//!
//! Each ZeroMQ socket type is a [`Pattern`]: it decides which pipe a sent message goes to and
//! which pipe the next received message comes from, and nothing else. Sockets, threads and
//! the network live in `rustzmq-transport`; the patterns only see pipes, so they can be
//! tested with in-memory pipe pairs.
//!
//! The building blocks are libzmq's: [`LoadBalancer`] (round robin over peers with room
//! under their high-water mark) and [`FairQueue`] (round robin over peers with messages).

#![forbid(unsafe_code)]

mod active_set;
mod fair_queue;
mod load_balancer;
mod pair;
mod push_pull;

pub use fair_queue::FairQueue;
pub use load_balancer::LoadBalancer;
pub use pair::Pair;
pub use push_pull::{Pull, Push};
use rustzmq_transport::{Pattern, SocketKind};

/// The routing logic for a socket type, or `None` for types not implemented yet.
pub fn for_kind(kind: SocketKind) -> Option<Box<dyn Pattern>> {
    match kind {
        SocketKind::Pair => Some(Box::new(Pair::default())),
        SocketKind::Push => Some(Box::new(Push::default())),
        SocketKind::Pull => Some(Box::new(Pull::default())),
        _ => None,
    }
}
