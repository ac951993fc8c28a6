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
mod dealer_router;
mod dist;
mod fair_queue;
mod load_balancer;
mod pair;
mod push_pull;
mod req_rep;
mod routing_id;
mod slots;
mod stream;
#[cfg(test)]
mod test_pipes;
mod trie;
mod xpub;
mod xsub;

pub use dealer_router::{Dealer, DealerCore, Router, RouterCore};
pub use dist::{Distributor, PipeKey};
pub use fair_queue::FairQueue;
pub use load_balancer::LoadBalancer;
pub use pair::Pair;
pub use push_pull::{Pull, Push};
pub use req_rep::{Rep, Req};
pub use routing_id::RoutingIdGenerator;
use rustzmq_transport::{Pattern, SocketKind};
pub use stream::StreamSocket;
pub use trie::{MultiTrie, RmResult, Trie};
pub use xpub::{Pub, XPub};
pub use xsub::{Sub, XSub};

/// The routing logic for a socket type, or `None` for types not implemented yet.
pub fn for_kind(kind: SocketKind) -> Option<Box<dyn Pattern>> {
    match kind {
        SocketKind::Pair => Some(Box::new(Pair::default())),
        SocketKind::Push => Some(Box::new(Push::default())),
        SocketKind::Pull => Some(Box::new(Pull::default())),
        SocketKind::Req => Some(Box::new(Req::default())),
        SocketKind::Rep => Some(Box::new(Rep::default())),
        SocketKind::Dealer => Some(Box::new(Dealer::default())),
        SocketKind::Router => Some(Box::new(Router::default())),
        SocketKind::Stream => Some(Box::new(StreamSocket::default())),
        SocketKind::Pub => Some(Box::new(Pub::default())),
        SocketKind::Sub => Some(Box::new(Sub::default())),
        SocketKind::Xpub => Some(Box::new(XPub::default())),
        SocketKind::Xsub => Some(Box::new(XSub::default())),
    }
}
