//! # rustzmq-transport: the engine room of rustzmq
//!
//! Everything between a socket's routing logic and the network: [`Msg`] (the frame that
//! travels), the lock-free pipes that carry messages between user threads and I/O threads,
//! the mio I/O threads with their mailboxes and timers, the tcp, ipc and inproc transports,
//! and the stream engine that speaks ZMTP over a connection (greeting, mechanism handshake,
//! traffic) using `rustzmq-codec`.
//!
//! The vocabulary is libzmq's: a *socket* owns *pipes*; on an *I/O thread*, a *listener*
//! accepts and a *connecter* connects, each connection gets a *session* (which outlives a
//! connection when reconnecting) driving a *stream engine*.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod body_pool;
mod ctx;
pub mod endpoint;
mod engine;
mod error;
pub mod io_thread;
pub mod mailbox;
mod msg;
pub mod net;
pub mod options;
pub mod pipe;
pub mod signaler;
mod socket_base;
mod spin;
mod stream;
#[doc(hidden)]
pub mod ypipe;

pub use ctx::{Ctx, DEFAULT_MAX_SOCKETS};
pub use engine::{Engine, EngineError};
pub use error::{Errno, ZResult};
pub use mailbox::PeerInfo;
pub use msg::Msg;
pub use options::{Options, SocketKind};
pub use pipe::{Pipe, PipeId, WriteError, WriteFailure};
pub use socket_base::{poll_fds, Pattern, SocketBase, DONTWAIT, SNDMORE};
pub use stream::Stream;
