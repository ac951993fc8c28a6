//! # rustzmq: ZeroMQ in pure Rust
//!
//! The facade crate: the API of the `zmq` crate 0.10 (Context, Socket, Message, Error, poll,
//! proxy, socket options, z85, CurveKeyPair), so that `zmq = { package = "rustzmq", ... }` in
//! a Cargo.toml keeps a program building and behaving the same, without a C library.

mod context;
mod curve;
mod error;
mod message;
mod poll;
mod proxy;
mod sendable;
mod socket;
mod types;
mod z85;

pub use crate::context::Context;
pub use crate::curve::CurveKeyPair;
pub use crate::error::{Error, Result};
pub use crate::message::Message;
pub use crate::poll::{poll, PollItem};
pub use crate::proxy::{proxy, proxy_steerable, proxy_steerable_with_capture, proxy_with_capture};
pub use crate::sendable::Sendable;
pub use crate::socket::Socket;
pub use crate::types::{
    has, version, Mechanism, PollEvents, SocketEvent, SocketType, DONTWAIT, POLLERR, POLLIN, POLLOUT, SNDMORE,
};
pub use crate::z85::{z85_decode, z85_encode, DecodeError, EncodeError};
pub use crate::SocketType::*;
