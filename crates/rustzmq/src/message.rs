//! [`Message`]: one 0MQ message frame, as in the `zmq` crate 0.10.
//!
//! A `Message` wraps the transport's [`Msg`] (the body, the MORE flag and the connection
//! metadata). A body of up to 64 bytes is stored in the message itself, so small messages are
//! built, sent and received without a heap allocation; a larger one is a buffer that moves
//! between threads without being copied. Reading goes through `Deref<Target = [u8]>`.
//! Writing through `DerefMut` never copies a buffer only this message holds (one built from a
//! `Vec`, a `Box<[u8]>`, `with_size`, or received from a frame nobody else holds) and copies a
//! shared one once.
//!
//! Like the `zmq` crate's `Message`, it is neither `Clone` nor `Default`, it compares equal to
//! other messages only (by content), and it prints like a byte slice.

#![deny(unsafe_code)]

use std::fmt;
use std::ops::{Deref, DerefMut};

use rustzmq_transport::Msg;

/// A 0MQ message frame.
///
/// Its bytes are reached through `Deref`/`DerefMut` to `[u8]` (`msg.len()`, `&msg[..]`,
/// `msg.to_vec()`...). Build one with [`Message::new`], [`Message::with_size`] or `From`
/// (`&[u8]`, `Vec<u8>`, `Box<[u8]>`, `&str`, `&String`, or a reference to any of the owned
/// ones). `Vec<u8>` and `Box<[u8]>` are taken over without copying (those of up to 64 bytes
/// are copied into the message and freed at once).
pub struct Message {
    msg: Msg,
}

impl Message {
    /// An empty message.
    // No `Default`: the zmq crate's `Message` has none (`Message::default()` must not compile
    // for users who rely on the same API surface).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Message {
        Message::from_msg(Msg::new())
    }

    /// A message of `len` zero bytes.
    ///
    /// # Safety
    ///
    /// None needed here: in the `zmq` crate this left the bytes uninitialized, which is why the
    /// function is `unsafe`. This implementation zero-fills them (it is the same as
    /// [`Message::with_size`]), so calling it is always sound; it stays `unsafe` only so that
    /// existing code keeps compiling unchanged.
    #[deprecated(since = "0.9.1", note = "This method has an unintuitive name, and should not be needed.")]
    #[allow(unsafe_code)]
    pub unsafe fn with_capacity_unallocated(len: usize) -> Message {
        Message::with_size(len)
    }

    /// A message of `len` bytes, all zero.
    pub fn with_size(len: usize) -> Message {
        Message::from_msg(Msg::zeroed(len))
    }

    /// A message of `len` bytes, all zero: the same as [`Message::with_size`].
    #[deprecated(
        since = "0.9.1",
        note = "This method has a name which does not match its semantics. Use `with_size` instead"
    )]
    pub fn with_capacity(len: usize) -> Message {
        Message::with_size(len)
    }

    /// A message holding a copy of `data`.
    #[deprecated(since = "0.9.1", note = "Use the `From` trait instead.")]
    pub fn from_slice(data: &[u8]) -> Message {
        Message::from(data)
    }

    /// The content as a string slice, or `None` if it is not valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self).ok()
    }

    /// Whether more frames of the same message follow this one (libzmq's `ZMQ_MORE` of a
    /// received frame).
    pub fn get_more(&self) -> bool {
        self.msg.more()
    }

    /// A metadata property of the connection the message was received on, such as
    /// `"Socket-Type"`, `"Routing-Id"` (or its old name `"Identity"`), `"Peer-Address"` or
    /// `"User-Id"`. Names compare case-insensitively.
    ///
    /// Returns `None` for a message built locally, for an unknown property, and for a value
    /// that is not valid UTF-8.
    ///
    /// # Panics
    ///
    /// If `property` contains a NUL byte, like the `zmq` crate (which makes a C string of it).
    pub fn gets<'a>(&'a mut self, property: &str) -> Option<&'a str> {
        assert!(
            !property.as_bytes().contains(&0),
            "called `Result::unwrap()` on an `Err` value: a property name containing a NUL byte"
        );
        let metadata = self.msg.metadata()?;
        let value = match metadata.get(property) {
            Some(value) => value,
            // libzmq's fallback for the deprecated name of the routing id.
            None if property == "Identity" => metadata.get("Routing-Id")?,
            None => return None,
        };
        std::str::from_utf8(value).ok()
    }

    /// Wraps a frame coming from a socket.
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn from_msg(msg: Msg) -> Message {
        Message { msg }
    }

    /// Unwraps the frame to send it.
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn into_msg(self) -> Msg {
        self.msg
    }

    /// The frame.
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn msg(&mut self) -> &Msg {
        &self.msg
    }

    /// Replaces the frame, as receiving into an existing message does.
    #[allow(dead_code)] // used by socket.rs
    pub(crate) fn set_msg(&mut self, msg: Msg) {
        self.msg = msg;
    }

    /// The frame, for receiving into in place.
    pub(crate) fn msg_mut(&mut self) -> &mut Msg {
        &mut self.msg
    }
}

impl Deref for Message {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.msg.data()
    }
}

impl DerefMut for Message {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.msg.data_mut()
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Message {}

/// Prints the bytes like a `[u8]` slice: `[102, 111, 111]`.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self[..], f)
    }
}

/// Copies the bytes.
impl<'a> From<&'a [u8]> for Message {
    fn from(data: &'a [u8]) -> Message {
        Message::from_msg(Msg::copy_from_slice(data))
    }
}

/// Takes the buffer over without copying (a small one is copied in place and freed).
impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::from_msg(Msg::from_vec(data))
    }
}

/// Takes the buffer over without copying (a small one is copied in place and freed).
impl From<Box<[u8]>> for Message {
    fn from(data: Box<[u8]>) -> Message {
        Message::from_msg(Msg::from_vec(data.into_vec()))
    }
}

/// Copies the string's bytes.
impl<'a> From<&'a str> for Message {
    fn from(data: &'a str) -> Message {
        Message::from(data.as_bytes())
    }
}

/// Copies the string's bytes.
impl<'a> From<&'a String> for Message {
    fn from(data: &'a String) -> Message {
        Message::from(data.as_bytes())
    }
}

/// Clones the value, then converts the clone: `Message::from(&vec)`, `socket.send(&vec, 0)`,
/// `send_multipart(&["a", "b"], 0)`...
impl<'a, T> From<&'a T> for Message
where
    T: Into<Message> + Clone,
{
    fn from(v: &'a T) -> Message {
        v.clone().into()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use rustzmq_codec::Metadata;

    use super::*;

    #[test]
    fn constructors() {
        assert!(Message::new().is_empty());
        let m = Message::with_size(5);
        assert_eq!(&m[..], &[0u8; 5]);
        #[allow(deprecated, unsafe_code)]
        {
            assert_eq!(&Message::with_capacity(3)[..], &[0u8; 3]);
            assert_eq!(&Message::from_slice(b"abc")[..], b"abc");
            // SAFETY: the implementation zero-fills, nothing to uphold.
            let m = unsafe { Message::with_capacity_unallocated(4) };
            assert_eq!(&m[..], &[0u8; 4]);
        }
        assert!(!Message::new().get_more());
    }

    #[test]
    fn conversions() {
        let v = vec![1u8, 2, 3];
        assert_eq!(Message::from(&v[..]), Message::from(v.clone()));
        assert_eq!(Message::from(&v), Message::from(v.clone()));
        assert_eq!(Message::from(v.clone().into_boxed_slice()), Message::from(&v));
        assert_eq!(&Message::from("foo")[..], b"foo");
        assert_eq!(&Message::from(&"foo".to_owned())[..], b"foo");
        assert_eq!(&Message::from(&"foo")[..], b"foo");
        assert_eq!(&Message::from(&&"foo")[..], b"foo");
        let b: Box<[u8]> = Box::new([]);
        assert!(Message::from(b).is_empty());
        assert_ne!(Message::from("a"), Message::from("b"));
        fn into_message<T: Into<Message>>(t: T) -> Message {
            t.into()
        }
        assert_eq!(into_message(Message::from("x")), Message::from("x"));
    }

    #[test]
    fn as_str_and_debug() {
        let m = Message::from("foo");
        assert_eq!(m.as_str(), Some("foo"));
        assert_eq!(format!("{m:?}"), "[102, 111, 111]");
        assert_eq!(Message::from(&[0xff_u8, 0xb7][..]).as_str(), None);
        assert_eq!(format!("{:?}", Message::new()), "[]");
        assert_eq!(Message::from("bäz").as_str(), Some("bäz"));
    }

    #[test]
    fn vec_and_box_are_not_copied() {
        // Over 64 bytes (smaller ones are stored in the message itself).
        let v = vec![7u8; 142];
        let p = v.as_ptr();
        let m = Message::from(v);
        assert_eq!(m.as_ptr(), p);
        let b: Box<[u8]> = vec![9u8; 142].into_boxed_slice();
        let p = b.as_ptr();
        let mut m = Message::from(b);
        assert_eq!(m.as_ptr(), p);
        // Still the same buffer after a mutable borrow and a freeze.
        m[0] = 1;
        assert_eq!(m.as_ptr(), p);
        let msg = m.into_msg();
        assert_eq!(msg.data().as_ptr(), p);
        assert_eq!(msg.data()[0], 1);
    }

    #[test]
    fn small_messages_are_stored_inline() {
        assert!(Message::with_size(64).msg.is_inline());
        assert!(Message::from(&[1u8; 64][..]).msg.is_inline());
        assert!(Message::from(vec![1u8; 64]).msg.is_inline());
        assert!(!Message::with_size(65).msg.is_inline());
        assert!(!Message::from(&[1u8; 65][..]).msg.is_inline());
    }

    #[test]
    fn deref_mut_is_zero_copy_when_unique() {
        let mut m = Message::with_size(16);
        let p = m.as_ptr();
        m[3] = 42;
        m.copy_from_slice(&[1; 16]);
        assert_eq!(m.as_ptr(), p);
        assert_eq!(&m[..], &[1; 16]);
        assert_eq!(m.msg().data().as_ptr(), p);
        // Mutating again after the freeze still does not copy.
        m[0] = 2;
        assert_eq!(m.as_ptr(), p);
        assert_eq!(m.into_msg().data()[..2], [2, 1]);
    }

    #[test]
    fn deref_mut_copies_a_shared_buffer() {
        let shared = Bytes::from(vec![5u8; 80]);
        let mut m = Message::from_msg(Msg::from_bytes(shared.clone()));
        assert_eq!(m.as_ptr(), shared.as_ptr());
        m[0] = 0;
        assert_ne!(m.as_ptr(), shared.as_ptr());
        assert_eq!(shared[0], 5);
        assert_eq!(m[..2], [0, 5]);
        // The empty (static) body too.
        let mut e = Message::new();
        assert!(e.deref_mut().is_empty());
        assert!(e.into_msg().is_empty());
    }

    #[test]
    fn frame_round_trip_keeps_more_and_metadata() {
        let mut meta = Metadata::new();
        meta.insert("Socket-Type", "DEALER").unwrap();
        meta.insert("Routing-Id", "abc").unwrap();
        meta.insert("User-Id", Bytes::from_static(b"\xff")).unwrap();
        let mut msg = Msg::from_bytes(Bytes::from_static(b"hi"));
        msg.set_more(true);
        msg.set_metadata(Some(Arc::new(meta)));
        let mut m = Message::from_msg(msg);
        assert!(m.get_more());
        assert_eq!(m.gets("Socket-Type"), Some("DEALER"));
        assert_eq!(m.gets("socket-type"), Some("DEALER"));
        assert_eq!(m.gets("Identity"), Some("abc"));
        assert_eq!(m.gets("User-Id"), None);
        assert_eq!(m.gets("Peer-Address"), None);
        m[0] = b'H';
        let back = m.into_msg();
        assert!(back.more());
        assert_eq!(back.data(), b"Hi");
        assert!(back.metadata().is_some());

        let mut local = Message::from("x");
        assert_eq!(local.gets("Socket-Type"), None);
        local.set_msg(Msg::from_bytes(Bytes::from_static(b"y")));
        assert_eq!(&local[..], b"y");
    }

    #[test]
    #[should_panic]
    fn gets_panics_on_nul() {
        let _ = Message::new().gets("a\0b");
    }

    #[test]
    fn auto_traits() {
        fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
        check::<Message>();
    }
}
