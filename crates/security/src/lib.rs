//! # rustzmq-security: ZeroMQ security mechanisms, sans I/O
//!
//! After the ZMTP greeting, two ZeroMQ peers run a security handshake: NULL ([RFC 23]), PLAIN
//! ([RFC 24]) or CURVE ([RFC 26], CurveZMQ), the server side possibly asking the application's
//! ZAP handler ([RFC 27]) whether to let the peer in. With CURVE every frame afterwards travels
//! boxed in a MESSAGE command. This crate is that logic and nothing else: each mechanism is a
//! state machine that takes the peer's commands and gives the commands to send, as
//! [`rustzmq_codec::Command`] values — no sockets, no clock, no threads. Randomness (CURVE's
//! short-term keys, cookie key and nonces) is drawn when a mechanism is made, from the
//! operating system or from a generator the caller passes, so a handshake between two state
//! machines in memory is deterministic.
//!
//! ## How it fits
//!
//! `rustzmq-codec` frames the bytes; this crate gives the security commands their meaning;
//! `rustzmq-transport`'s stream engine moves commands between a socket and a [`Mechanism`],
//! carries [`ZapRequest`]s to the handler socket and back, and once [`Status::Ready`] passes
//! frames through [`Mechanism::encode_message`] / [`Mechanism::decode_message`] when the
//! mechanism [`Mechanism::encrypts`]. Other runtimes can use the crate on its own, for a CURVE
//! handshake over any transport.
//!
//! The wire formats follow the RFCs as libzmq 4.3 implements them (its choices are listed in
//! the module docs: [`curve`], [`zap`]); `tests/libzmq_interop.rs` runs these state machines
//! against the real libzmq over TCP to prove byte compatibility.
//!
//! ## Pieces
//!
//! - [`Mechanism`]: the interface; [`NullMechanism`], [`PlainClient`], [`PlainServer`],
//!   [`CurveClient`], [`CurveServer`] implement it, and [`MechanismState`] picks one from a
//!   [`Config`] at run time.
//! - [`CurveMessageCodec`]: CURVE MESSAGE boxing with strictly increasing nonces.
//! - [`zap`]: [`ZapRequest`] / [`ZapReply`] as frames, and libzmq's rules for when to ask.
//! - [`CurveKeyPair`], [`CurvePublicKey`], [`CurveSecretKey`]: keys from raw bytes or Z85,
//!   generation, public-from-secret; secrets wiped on drop, compared in constant time.
//! - [`z85`]: Z85 ([RFC 32]) encoding and decoding.
//!
//! ## Example: a CURVE handshake in memory, with ZAP
//!
//! ```
//! use rustzmq_security::{
//!     CurveClient, CurveKeyPair, CurveServer, Mechanism, SocketProperties, Status, ZapConfig,
//!     ZapStatus, MESSAGE_MORE,
//! };
//!
//! let server_keys = CurveKeyPair::generate()?;
//! let client_keys = CurveKeyPair::generate()?;
//! let zap = ZapConfig { handler_present: true, ..ZapConfig::default() };
//! let mut server = CurveServer::new(SocketProperties::new("ROUTER"), server_keys.secret().clone(), zap)?;
//! let mut client =
//!     CurveClient::new(SocketProperties::new("DEALER"), client_keys.clone(), *server_keys.public())?;
//!
//! // Shuttle commands until both sides are done; answer ZAP when asked.
//! while client.status() == Status::Handshaking || server.status() == Status::Handshaking {
//!     while let Some(command) = client.next_command() {
//!         server.process_command(&command)?;
//!     }
//!     if let Some(request) = server.zap_request() {
//!         // The credential of CURVE is the client's long-term public key.
//!         assert_eq!(request.credentials, [&client_keys.public().as_bytes()[..]]);
//!         server.process_zap_reply(&request.reply(ZapStatus::Success, "OK", "alice"))?;
//!     }
//!     while let Some(command) = server.next_command() {
//!         client.process_command(&command)?;
//!     }
//! }
//! assert_eq!(server.peer_metadata().unwrap().get("Socket-Type").unwrap(), &b"DEALER"[..]);
//! assert_eq!(server.zap_reply().unwrap().user_id, &b"alice"[..]);
//!
//! // Frames now travel boxed in MESSAGE commands.
//! let boxed = client.encode_message(MESSAGE_MORE, b"hello")?;
//! assert_eq!(server.decode_message(&boxed)?, (MESSAGE_MORE, bytes::Bytes::from_static(b"hello")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [RFC 23]: https://rfc.zeromq.org/spec/23/
//! [RFC 24]: https://rfc.zeromq.org/spec/24/
//! [RFC 26]: https://rfc.zeromq.org/spec/26/
//! [RFC 27]: https://rfc.zeromq.org/spec/27/
//! [RFC 32]: https://rfc.zeromq.org/spec/32/

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;

mod crypto;
pub mod curve;
mod error;
mod keys;
mod mechanism;
mod null;
mod plain;
mod secretbox;
mod state;
pub mod z85;
pub mod zap;

/// The random number generator traits of the `with_rng` constructors (rand_core 0.10).
pub use rand_core;

pub use curve::{CurveClient, CurveMessageCodec, CurveServer};
pub use error::{protocol_error, CommandKind, HandshakeFailure, MechanismError, Status};
pub use keys::{CurveKeyPair, CurvePublicKey, CurveSecretKey, KeyError, KEY_LEN, KEY_Z85_LEN};
pub use mechanism::{Mechanism, SocketProperties, MESSAGE_COMMAND, MESSAGE_FLAGS_MASK, MESSAGE_MORE};
pub use null::NullMechanism;
pub use plain::{PlainClient, PlainServer};
pub use state::{Config, MechanismState, Security};
pub use z85::Z85Error;
pub use zap::{ZapConfig, ZapError, ZapReply, ZapRequest, ZapStatus};
