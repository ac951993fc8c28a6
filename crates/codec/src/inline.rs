//! [`InlineBody`]: a small frame body stored by value.
//!
//! Most ZeroMQ traffic is small messages. Handing each one out as a slice of a shared
//! reference-counted buffer costs an atomic increment where it is decoded and an atomic
//! decrement where it is dropped, usually on another thread, so the counter's cache line
//! travels between cores for every message; building one from user data costs a heap
//! allocation. A body of at most [`INLINE_CAPACITY`] bytes is cheaper copied into a fixed
//! array that travels with the frame (libzmq's "very small message" does the same for up to
//! 33 bytes). The decoder produces them when asked to ([`Decoder::set_inline_bodies`]).
//!
//! [`Decoder::set_inline_bodies`]: crate::Decoder::set_inline_bodies

use core::fmt;

/// The largest body an [`InlineBody`] holds.
pub const INLINE_CAPACITY: usize = 64;

/// A frame body of at most [`INLINE_CAPACITY`] bytes, stored in place (no heap, `Copy`).
#[derive(Clone, Copy)]
pub struct InlineBody {
    len: u8,
    bytes: [u8; INLINE_CAPACITY],
}

impl InlineBody {
    /// An empty body.
    pub const EMPTY: InlineBody = InlineBody { len: 0, bytes: [0; INLINE_CAPACITY] };

    /// A copy of `data`, or `None` if it is longer than [`INLINE_CAPACITY`].
    #[inline]
    pub fn new(data: &[u8]) -> Option<InlineBody> {
        let mut body = InlineBody::zeroed(data.len())?;
        body.as_mut_slice().copy_from_slice(data);
        Some(body)
    }

    /// The first `len` bytes of `data`, or `None` if `len` is over [`INLINE_CAPACITY`] or
    /// `data` is shorter. When `data` has at least [`INLINE_CAPACITY`] bytes the copy is of
    /// fixed size (a few vector moves rather than a call to `memcpy`).
    #[inline]
    pub fn from_prefix(data: &[u8], len: usize) -> Option<InlineBody> {
        if len > INLINE_CAPACITY || len > data.len() {
            return None;
        }
        let mut body = InlineBody::EMPTY;
        match data.first_chunk::<INLINE_CAPACITY>() {
            Some(chunk) => body.bytes = *chunk,
            None => body.bytes[..len].copy_from_slice(&data[..len]),
        }
        // INLINE_CAPACITY fits in a u8, so the cast cannot truncate.
        body.len = len as u8;
        Some(body)
    }

    /// `len` zero bytes, or `None` if `len` is over [`INLINE_CAPACITY`].
    #[inline]
    pub fn zeroed(len: usize) -> Option<InlineBody> {
        if len > INLINE_CAPACITY {
            return None;
        }
        // INLINE_CAPACITY fits in a u8, so the cast cannot truncate.
        Some(InlineBody { len: len as u8, ..InlineBody::EMPTY })
    }

    /// The body's bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The body's bytes, writable (the length is fixed).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.bytes[..usize::from(self.len)]
    }

    /// The whole inline buffer: the body, then [`INLINE_CAPACITY`] minus its length bytes
    /// of no meaning (zeros, or whatever followed the body where it was copied from). For
    /// fixed-size copies that are cut back to [`len`](Self::len) afterwards.
    #[inline]
    pub fn buffer(&self) -> &[u8; INLINE_CAPACITY] {
        &self.bytes
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the body is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for InlineBody {
    fn default() -> InlineBody {
        InlineBody::EMPTY
    }
}

impl PartialEq for InlineBody {
    fn eq(&self, other: &InlineBody) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for InlineBody {}

impl fmt::Debug for InlineBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_up_to_capacity_and_compares_by_content() {
        let full = [7u8; INLINE_CAPACITY];
        assert_eq!(InlineBody::new(&full).unwrap().as_slice(), &full[..]);
        assert!(InlineBody::new(&[0; INLINE_CAPACITY + 1]).is_none());
        assert!(InlineBody::zeroed(INLINE_CAPACITY + 1).is_none());
        let mut a = InlineBody::zeroed(3).unwrap();
        a.as_mut_slice().copy_from_slice(b"abc");
        assert_eq!(a, InlineBody::new(b"abc").unwrap());
        assert_ne!(a, InlineBody::new(b"ab").unwrap());
        assert!(InlineBody::default().is_empty());
        assert_eq!(a.len(), 3);
        let long = [9u8; 100];
        assert_eq!(InlineBody::from_prefix(&long, 5).unwrap().as_slice(), &long[..5]);
        assert_eq!(InlineBody::from_prefix(b"abc", 2).unwrap().as_slice(), b"ab");
        assert!(InlineBody::from_prefix(b"abc", 4).is_none());
        assert!(InlineBody::from_prefix(&long, INLINE_CAPACITY + 1).is_none());
    }
}
