//! The message frame that travels through pipes, between sockets and engines.

use std::sync::Arc;

use bytes::Bytes;
use rustzmq_codec::Metadata;

/// One frame of a message: a `Bytes` body (cheap to clone, zero-copy from the decoder), a
/// MORE flag, and the connection's metadata (peer address, Socket-Type, User-Id...) shared by
/// every frame received on that connection.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Msg {
    data: Bytes,
    more: bool,
    metadata: Option<Arc<Metadata>>,
}

impl Msg {
    /// An empty frame.
    pub fn new() -> Msg {
        Msg::default()
    }

    /// A frame holding `data`.
    pub fn from_bytes(data: Bytes) -> Msg {
        Msg { data, more: false, metadata: None }
    }

    /// The body.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Replaces the body.
    pub fn set_data(&mut self, data: Bytes) {
        self.data = data;
    }

    /// Takes the body out, leaving the frame empty.
    pub fn take_data(&mut self) -> Bytes {
        std::mem::take(&mut self.data)
    }

    /// Consumes the frame, returning its body.
    pub fn into_bytes(self) -> Bytes {
        self.data
    }

    /// Body length.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.more
    }

    /// Sets the MORE flag.
    pub fn set_more(&mut self, more: bool) {
        self.more = more;
    }

    /// The metadata of the connection the frame arrived on, if any.
    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        self.metadata.as_ref()
    }

    /// Attaches connection metadata.
    pub fn set_metadata(&mut self, metadata: Option<Arc<Metadata>>) {
        self.metadata = metadata;
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msg").field("data", &self.data).field("more", &self.more).finish_non_exhaustive()
    }
}

impl From<Bytes> for Msg {
    fn from(data: Bytes) -> Msg {
        Msg::from_bytes(data)
    }
}
