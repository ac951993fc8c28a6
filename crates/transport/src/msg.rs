//! The message frame that travels through pipes, between sockets and engines.

use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use rustzmq_codec::{Frame, InlineBody, Metadata};

use crate::body_pool::{BodyPool, MAX_POOLED_CAPACITY};

/// Frames built with [`Msg::zeroed`] from this size on take their buffer from the send pool.
/// Smaller ones come from glibc's thread caches and bins, which serve them well; larger ones
/// were recycled heap memory that glibc had handed back to the kernel, faulted in again page
/// by page (tcp 64 KiB: 0.7-1.5 page faults per message sent, 0.4-0.5 pooled; from 128 KiB,
/// glibc maps memory for each allocation by default).
pub(crate) const SEND_POOL_MIN: usize = 32 * 1024;

/// The process's pool of large send buffers (bounded: see [`BodyPool`]).
fn send_pool() -> &'static BodyPool {
    static POOL: OnceLock<BodyPool> = OnceLock::new();
    POOL.get_or_init(BodyPool::new)
}

/// Where a frame's bytes live.
#[derive(Clone)]
enum Body {
    /// Small bodies, by value: no allocation and no shared reference count (see
    /// [`InlineBody`]).
    Inline(InlineBody),
    /// A shared, immutable buffer: zero-copy from the decoder or from user data.
    Shared(Bytes),
    /// A buffer this frame alone owns and may write to (after [`Msg::data_mut`] or
    /// [`Msg::zeroed`]).
    Unique(BytesMut),
    /// A large buffer from the process's send pool, which it returns to once sent (see
    /// [`Msg::zeroed`]).
    Pooled(Vec<u8>),
}

/// One frame of a message: a body (inline when small, else a shared or owned buffer), a MORE
/// flag, and the connection's metadata (peer address, Socket-Type, User-Id...) shared by every
/// frame received on that connection.
#[derive(Clone)]
pub struct Msg {
    body: Body,
    more: bool,
    metadata: Option<Arc<Metadata>>,
}

impl Default for Msg {
    fn default() -> Msg {
        Msg::new()
    }
}

impl Msg {
    /// An empty frame.
    pub fn new() -> Msg {
        Msg::from_inline(InlineBody::EMPTY)
    }

    /// A frame holding `data`, without copying it.
    pub fn from_bytes(data: Bytes) -> Msg {
        Msg { body: Body::Shared(data), more: false, metadata: None }
    }

    /// A frame holding a small body by value.
    #[inline]
    pub fn from_inline(body: InlineBody) -> Msg {
        Msg { body: Body::Inline(body), more: false, metadata: None }
    }

    /// The frame for a message frame the decoder produced (`None` for anything else): an
    /// inline body stays inline, a shared one stays shared.
    #[inline]
    pub fn from_frame(frame: Frame) -> Option<Msg> {
        let (body, more) = match frame {
            Frame::InlineMessage { body, more } => (Body::Inline(body), more),
            Frame::Message { body, more } => (Body::Shared(body), more),
            Frame::Command(_) | Frame::RawCommand(_) => return None,
        };
        Some(Msg { body, more, metadata: None })
    }

    /// A frame holding a copy of `data` (in place when it is small, so without allocating).
    pub fn copy_from_slice(data: &[u8]) -> Msg {
        match InlineBody::new(data) {
            Some(body) => Msg::from_inline(body),
            None => Msg::from_bytes(Bytes::copy_from_slice(data)),
        }
    }

    /// A frame holding `data`: a small vector is copied in place (and freed here, on the
    /// thread that allocated it), a larger one is taken over without copying.
    pub fn from_vec(data: Vec<u8>) -> Msg {
        match InlineBody::new(&data) {
            Some(body) => Msg::from_inline(body),
            None => Msg::from_bytes(Bytes::from(data)),
        }
    }

    /// A frame of `len` zero bytes, ready to be written through [`Msg::data_mut`].
    ///
    /// A large one (128 KiB to 4 MiB) reuses a buffer that an earlier frame
    /// returned once the I/O thread had written it: allocations that size are otherwise
    /// mapped and unmapped by the allocator every time, and the page faults, the clearing of
    /// fresh pages and the TLB shootdowns of each unmap cost more than writing the message
    /// (measured at 1 MiB: a third of the sending process's time).
    #[inline]
    pub fn zeroed(len: usize) -> Msg {
        match InlineBody::zeroed(len) {
            Some(body) => Msg::from_inline(body),
            None => Msg::zeroed_buffer(len),
        }
    }

    /// [`Msg::zeroed`] for bodies too large to be inline.
    #[cold]
    fn zeroed_buffer(len: usize) -> Msg {
        let body = if (SEND_POOL_MIN..=MAX_POOLED_CAPACITY).contains(&len) {
            let mut buffer = send_pool().take(len);
            buffer.resize(len, 0);
            Body::Pooled(buffer)
        } else {
            Body::Unique(BytesMut::zeroed(len))
        };
        Msg { body, more: false, metadata: None }
    }

    /// The body, if it is stored in place.
    #[inline]
    pub fn inline_body(&self) -> Option<&InlineBody> {
        match &self.body {
            Body::Inline(body) => Some(body),
            _ => None,
        }
    }

    /// The body.
    #[inline]
    pub fn data(&self) -> &[u8] {
        match &self.body {
            Body::Inline(body) => body.as_slice(),
            Body::Shared(bytes) => bytes,
            Body::Unique(bytes) => bytes,
            Body::Pooled(buffer) => buffer,
        }
    }

    /// The body, writable. A shared buffer is taken over without copying when this frame
    /// holds its only reference, and copied otherwise.
    pub fn data_mut(&mut self) -> &mut [u8] {
        if let Body::Shared(bytes) = &mut self.body {
            let bytes = std::mem::take(bytes);
            self.body = match InlineBody::new(&bytes) {
                Some(inline) => Body::Inline(inline),
                None => Body::Unique(bytes.try_into_mut().unwrap_or_else(|shared| BytesMut::from(&shared[..]))),
            };
        }
        match &mut self.body {
            Body::Inline(body) => body.as_mut_slice(),
            Body::Unique(bytes) => bytes,
            Body::Pooled(buffer) => buffer,
            Body::Shared(_) => unreachable!("converted above"),
        }
    }

    /// The body as a shared buffer: free for a shared or owned one, a copy for an inline one.
    pub fn into_bytes(self) -> Bytes {
        match self.body {
            Body::Inline(body) => Bytes::copy_from_slice(body.as_slice()),
            Body::Shared(bytes) => bytes,
            Body::Unique(bytes) => bytes.freeze(),
            Body::Pooled(buffer) => send_pool().freeze(buffer),
        }
    }

    /// Makes clones of this frame share its body instead of copying it: a body this frame
    /// owns and may write to becomes a shared buffer (no copy). Inline bodies stay inline
    /// (copying them is what a clone of them costs anyway).
    pub fn make_shareable(&mut self) {
        match &mut self.body {
            Body::Unique(bytes) => self.body = Body::Shared(std::mem::take(bytes).freeze()),
            Body::Pooled(buffer) => self.body = Body::Shared(send_pool().freeze(std::mem::take(buffer))),
            Body::Inline(_) | Body::Shared(_) => {}
        }
    }

    /// Body length.
    #[inline]
    pub fn len(&self) -> usize {
        self.data().len()
    }

    /// Whether the body is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.data().is_empty()
    }

    /// Whether the body is stored in place (no heap buffer behind it).
    pub fn is_inline(&self) -> bool {
        matches!(self.body, Body::Inline(_))
    }

    /// Whether more frames of the same message follow.
    #[inline]
    pub fn more(&self) -> bool {
        self.more
    }

    /// Sets the MORE flag.
    #[inline]
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

/// Frames are equal when their bodies, MORE flags and metadata are (however stored).
impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        self.data() == other.data() && self.more == other.more && self.metadata == other.metadata
    }
}

impl Eq for Msg {}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msg").field("data", &self.data()).field("more", &self.more).finish_non_exhaustive()
    }
}

impl From<Bytes> for Msg {
    fn from(data: Bytes) -> Msg {
        Msg::from_bytes(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustzmq_codec::INLINE_CAPACITY;

    #[test]
    fn small_bodies_are_inline_and_large_ones_shared() {
        let small = Msg::copy_from_slice(&[1; INLINE_CAPACITY]);
        assert!(small.is_inline());
        let large = Msg::copy_from_slice(&[1; INLINE_CAPACITY + 1]);
        assert!(!large.is_inline());
        assert!(Msg::from_vec(vec![2; 10]).is_inline());
        assert!(!Msg::from_vec(vec![2; 100]).is_inline());
        assert_eq!(Msg::from_vec(vec![2; 10]), Msg::from_bytes(Bytes::from(vec![2; 10])));
        assert_eq!(small.into_bytes(), Bytes::from(vec![1; INLINE_CAPACITY]));
    }

    #[test]
    fn large_zeroed_frames_reuse_sent_buffers_and_start_zeroed() {
        let mut first = Msg::zeroed(SEND_POOL_MIN);
        first.data_mut().fill(9);
        let ptr = first.data().as_ptr();
        let sent = first.into_bytes();
        assert_eq!(sent[0], 9);
        drop(sent);
        // Other tests may use the process-wide pool at the same time: look for ours among a few.
        let again: Vec<Msg> = (0..8).map(|_| Msg::zeroed(SEND_POOL_MIN)).collect();
        assert!(again.iter().all(|m| m.data().iter().all(|&b| b == 0)), "zeroed, whatever the buffer held");
        assert!(again.iter().any(|m| m.data().as_ptr() == ptr), "the sent buffer came back");
    }

    #[test]
    fn a_shareable_frame_clones_without_copying() {
        let mut msg = Msg::zeroed(1000);
        msg.data_mut()[0] = 1;
        msg.make_shareable();
        let copy = msg.clone();
        assert_eq!(copy.data().as_ptr(), msg.data().as_ptr());
        assert_eq!(copy.data()[0], 1);
    }

    #[test]
    fn data_mut_takes_over_a_unique_buffer_and_copies_a_shared_one() {
        let mut zeroed = Msg::zeroed(1000);
        zeroed.data_mut()[999] = 9;
        assert_eq!(zeroed.data()[999], 9);

        let shared = Bytes::from(vec![3u8; 200]);
        let mut msg = Msg::from_bytes(shared.clone());
        msg.data_mut()[0] = 4;
        assert_eq!(shared[0], 3, "another holder's bytes are never changed");
        assert_eq!(msg.data()[..2], [4, 3]);

        let unique = Bytes::from(vec![5u8; 200]);
        let ptr = unique.as_ptr();
        let mut msg = Msg::from_bytes(unique);
        assert_eq!(msg.data_mut().as_ptr(), ptr, "sole owner: no copy");
        let mut small = Msg::from_bytes(Bytes::from_static(b"abc"));
        small.data_mut()[0] = b'x';
        assert_eq!(small.data(), b"xbc");
    }
}
