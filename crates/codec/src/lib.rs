//! # rustzmq-codec: the ZMTP wire format, sans I/O
//!
//! This crate is the lowest layer of rustzmq. It turns bytes into ZMTP greetings, frames and
//! commands and back, and does nothing else: no sockets, no clock, no threads, no `std`
//! (only `core` and `alloc`). Every byte a peer sends meets this code first, so it is written
//! to be exact to the RFCs ([23/ZMTP 3.0], [37/ZMTP 3.1]) and to survive hostile input:
//! it never panics on input, never loops without progress and never allocates by a peer's
//! claim — a length is checked against the configured [`Limits`] before anything depends on it.
//!
//! Above it, `rustzmq-security` parses the bodies of the mechanism commands (HELLO, WELCOME,
//! INITIATE, MESSAGE) and `rustzmq-transport`'s stream engine drives a [`Decoder`] and an
//! [`Encoder`] over a socket. Other runtimes can use it on its own: a ZMTP dissector, an
//! embedded peer, a test harness.
//!
//! ## Pieces
//!
//! - [`greeting`]: the 64-byte greeting, parsed whole or incrementally so that ZMTP 1.0/2.0
//!   peers are recognised after the 10-byte signature and the revision byte.
//! - [`frame`]: frame header layout and [`FrameFormat`] (ZMTP 3.x, 2.0 and 1.0 framing).
//! - [`command`]: typed commands (READY, ERROR, SUBSCRIBE, CANCEL, PING, PONG) and the
//!   security commands as named opaque bodies.
//! - [`metadata`]: property lists carried by READY and the security handshakes.
//! - [`subscription`]: subscribe/cancel in the ZMTP 3.1 command form and the 3.0 message form.
//! - [`inline`]: [`InlineBody`], small bodies stored by value instead of shared.
//! - [`Decoder`]: a streaming, zero-copy decoder over a [`bytes::BytesMut`] read buffer.
//! - [`Encoder`]: batches many frames into one buffer and keeps large bodies as separate
//!   chunks for vectored writes.
//!
//! ## Example
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use rustzmq_codec::{Decoder, Encoder, Frame, Limits};
//!
//! // Encode a two-frame message into one batch.
//! let mut encoder = Encoder::new();
//! encoder.encode_message_frame(&Bytes::from_static(b"hello"), true);
//! encoder.encode_message_frame(&Bytes::from_static(b"world"), false);
//! let wire: Vec<u8> = encoder.chunks().flatten().copied().collect();
//!
//! // Decode it back, fed one byte at a time as a slow network might.
//! let mut decoder = Decoder::new(Limits::default());
//! let mut read_buf = BytesMut::new();
//! let mut frames = Vec::new();
//! for byte in wire {
//!     read_buf.extend_from_slice(&[byte]);
//!     while let Some(frame) = decoder.decode(&mut read_buf)? {
//!         frames.push(frame);
//!     }
//! }
//! assert_eq!(
//!     frames,
//!     [
//!         Frame::Message { body: Bytes::from_static(b"hello"), more: true },
//!         Frame::Message { body: Bytes::from_static(b"world"), more: false },
//!     ]
//! );
//! # Ok::<(), rustzmq_codec::DecodeError>(())
//! ```
//!
//! [23/ZMTP 3.0]: https://rfc.zeromq.org/spec/23/
//! [37/ZMTP 3.1]: https://rfc.zeromq.org/spec/37/

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod command;
mod decoder;
mod encoder;
mod error;
pub mod frame;
pub mod greeting;
pub mod inline;
pub mod metadata;
pub mod subscription;

pub use command::Command;
pub use decoder::{next_packed_frame, packed_frame_header, Decoder, Frame, Limits, PackedFrameHeader};
pub use encoder::{Encoder, DEFAULT_COPY_LIMIT};
pub use error::{CommandError, DecodeError, GreetingError, MetadataError};
pub use frame::FrameFormat;
pub use greeting::{Greeting, GreetingDecoder, GreetingProgress, Mechanism, Version};
pub use inline::{InlineBody, INLINE_CAPACITY};
pub use metadata::Metadata;
pub use subscription::Subscription;
