//! The [`Sendable`] trait: what `Socket::send` accepts, as in the `zmq` crate 0.10.
//!
//! There is exactly one implementation, for every `T: Into<Message>`, and the trait is not
//! sealed: downstream crates may implement it (and `From<TheirType> for Message`) themselves.
//!
//! Needs `Socket::send_message(&self, msg: Message, flags: i32) -> Result<()>` (crate-internal),
//! which sends one frame with libzmq's `zmq_msg_send` semantics.

use crate::{Message, Result, Socket};

/// Something that can be sent as one message frame by [`Socket::send`](crate::Socket::send).
pub trait Sendable {
    /// Sends `self` on `socket` with the given flags (`DONTWAIT`, `SNDMORE`).
    fn send(self, socket: &Socket, flags: i32) -> Result<()>;
}

impl<T> Sendable for T
where
    T: Into<Message>,
{
    fn send(self, socket: &Socket, flags: i32) -> Result<()> {
        socket.send_message(self.into(), flags)
    }
}
