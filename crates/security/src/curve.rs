//! The CURVE mechanism: CurveZMQ ([RFC 26]) as libzmq 4.3 speaks it over ZMTP.
//!
//! Keys: the server's long-term pair (S, s), the client's long-term pair (C, c), and a fresh
//! short-term pair per connection on each side (C', c') and (S', s'). `Box[X](A->B)` is NaCl's
//! `crypto_box` of X from A's secret key to B's public key; on the wire it is the 16-byte
//! Poly1305 tag followed by the ciphertext. Nonces are a 16- or 8-byte prefix followed by an
//! 8-byte big-endian counter ("short nonce") or 16 random bytes.
//!
//! Command data (after the command name), with its size:
//!
//! ```text
//! HELLO     194  version 1.0 (2) | 72 zero bytes of anti-amplification padding
//!                | C' (32) | short nonce (8) | Box[64 zero bytes](C'->S)       "CurveZMQHELLO---"
//! WELCOME   160  nonce (16) | Box[S' (32) + cookie (96)](S->C')                 "WELCOME-"
//!                cookie = nonce (16) | SecretBox[C' (32) + s' (32)](cookie key)  "COOKIE--"
//! INITIATE 248+  cookie (96) | short nonce (8)
//!                | Box[C (32) + vouch nonce (16) + vouch (80) + metadata](C'->S') "CurveZMQINITIATE"
//!                vouch = Box[C' (32) + S (32)](C->S')                            "VOUCH---"
//! READY     24+  short nonce (8) | Box[metadata](S'->C')                         "CurveZMQREADY---"
//! MESSAGE   25+  short nonce (8) | Box[flags (1) + frame](C'->S' or S'->C')      "CurveZMQMESSAGEC"/"S"
//! ERROR          reason (plain text; libzmq: the ZAP status code)
//! ```
//!
//! Short nonces count from 1 on each side: the client's HELLO is 1 and its INITIATE 2, the
//! server's READY is 1; every MESSAGE takes the next value. A MESSAGE whose nonce is not above
//! the last one received (READY for the client, INITIATE for the server) is refused. Inside a
//! MESSAGE box the flags byte carries MORE (1) and COMMAND (2), as libzmq's
//! `curve_mechanism_base` does (RFC 26 defines only MORE).
//!
//! **Framing of MESSAGE.** libzmq 4.3 sends each MESSAGE as an *ordinary* frame with MORE and
//! COMMAND clear (the LONG flag as the size needs), whose body is the command body
//! `"\x07MESSAGE" + data`; it would take a COMMAND-flagged MESSAGE for an unknown command and
//! drop it, and a MORE flag on the frame would leak into the message. So an engine writes the
//! body of [`encode_message`](crate::Mechanism::encode_message)'s command as a plain frame without flags, and parses a
//! received frame's body with [`Command::parse`] before [`decode_message`](crate::Mechanism::decode_message)
//! (`tests/libzmq_interop.rs` does exactly that against libzmq). The frame-body methods do both
//! steps at once and are what an engine should use for traffic:
//! [`encode_message_body`](crate::Mechanism::encode_message_body) seals straight into the body
//! to send, and [`decode_message_body`](crate::Mechanism::decode_message_body) opens a received
//! body, in place when the frame owns its buffer; no allocation per message in steady state.
//!
//! **Cryptography.** X25519 is `x25519-dalek`'s; the box key is computed once per connection
//! (`crypto_box_beforenm`) and kept for every message. XSalsa20-Poly1305 and HSalsa20 are
//! RustCrypto's `crypto_secretbox`, sealing and opening in place (`secretbox.rs`).
//!
//! Like libzmq, the server makes a fresh cookie key for every connection and keeps C' and s' to
//! check the cookie it gets back. Stricter than libzmq: the server checks that the vouch holds
//! its own S as well as C' (RFC 26 asks for both; libzmq's client always sends S), and a
//! client refuses every command but WELCOME, ERROR and READY in their turn (libzmq's client
//! dispatches on the name alone).
//!
//! [RFC 26]: https://rfc.zeromq.org/spec/26/

use alloc::vec::Vec;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use rand_core::TryCryptoRng;
use rustzmq_codec::{Command, Metadata};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::crypto::{self, BoxKey, TAG_LEN};
use crate::error::{CommandKind, MechanismError, StickyError};
use crate::keys::{CurveKeyPair, CurvePublicKey, CurveSecretKey, KEY_LEN};
use crate::mechanism::{impl_mechanism, Core, Incoming, SocketProperties, MESSAGE_FLAGS_MASK};
use crate::zap::{ZapConfig, ZapDecision, ZapPolicy};

const HELLO_NONCE: &[u8; 16] = b"CurveZMQHELLO---";
const WELCOME_NONCE: &[u8; 8] = b"WELCOME-";
const COOKIE_NONCE: &[u8; 8] = b"COOKIE--";
const INITIATE_NONCE: &[u8; 16] = b"CurveZMQINITIATE";
const VOUCH_NONCE: &[u8; 8] = b"VOUCH---";
const READY_NONCE: &[u8; 16] = b"CurveZMQREADY---";
const MESSAGE_NONCE_CLIENT: &[u8; 16] = b"CurveZMQMESSAGEC";
const MESSAGE_NONCE_SERVER: &[u8; 16] = b"CurveZMQMESSAGES";

/// Size of HELLO data.
pub const HELLO_LEN: usize = 194;
/// Size of WELCOME data.
pub const WELCOME_LEN: usize = 160;
/// Smallest INITIATE data (no metadata).
pub const INITIATE_MIN_LEN: usize = 248;
/// Smallest READY data (no metadata).
pub const READY_MIN_LEN: usize = 24;
/// Smallest MESSAGE data (an empty frame).
pub const MESSAGE_MIN_LEN: usize = 8 + TAG_LEN + 1;

const COOKIE_LEN: usize = 96;
const SHORT_NONCE_LEN: usize = 8;

fn short_nonce(data: &[u8]) -> u64 {
    let mut bytes = [0u8; SHORT_NONCE_LEN];
    bytes.copy_from_slice(&data[..SHORT_NONCE_LEN]);
    u64::from_be_bytes(bytes)
}

fn random<R: TryCryptoRng + ?Sized, const N: usize>(rng: &mut R) -> Result<[u8; N], MechanismError> {
    let mut bytes = [0u8; N];
    crypto::fill(rng, &mut bytes).map_err(|_| MechanismError::Random)?;
    Ok(bytes)
}

fn encode_metadata(metadata: &Metadata) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(metadata.encoded_len()));
    metadata.encode(&mut *out);
    out
}

/// The start of a MESSAGE command body: the name's length and the name.
const MESSAGE_PREFIX: &[u8; 8] = b"\x07MESSAGE";
/// What a MESSAGE command body holds before the box's content: name, short nonce, tag and
/// the flags byte.
const MESSAGE_OVERHEAD: usize = MESSAGE_PREFIX.len() + MESSAGE_MIN_LEN;
/// Capacity the codec's own buffers are given when they must grow (many small boxes share
/// one allocation).
const BUFFER_CHUNK: usize = 64 * 1024;

/// Boxes and opens CURVE MESSAGE commands once the handshake is done: the precomputed key of
/// the two short-term key pairs (`crypto_box_beforenm`, computed once per connection), this
/// side's nonce counter and the last nonce received.
///
/// Obtained from a ready [`CurveClient`] or [`CurveServer`] with `into_message_codec`, for an
/// engine that wants to drop the handshake state; the mechanisms' own `encode_message` and
/// `decode_message` use one too. Errors are sticky.
///
/// For traffic, [`CurveMessageCodec::encode_body_into`] (or
/// [`CurveMessageCodec::encode_body`]) and [`CurveMessageCodec::decode_body`] work on whole
/// frame bodies: each box is sealed where it will be sent from and opened in place when the
/// received frame is not shared (into a buffer the codec reuses otherwise), with no
/// allocation per message in steady state.
pub struct CurveMessageCodec {
    key: BoxKey,
    encode_prefix: &'static [u8; 16],
    decode_prefix: &'static [u8; 16],
    next_nonce: u64,
    peer_nonce: u64,
    failed: StickyError,
    /// Boxes sealed by `encode_body` and `encode_data`, split off as they are returned.
    sealed: BytesMut,
    /// Contents opened by `decode_data` and from shared frames, split off likewise.
    opened: BytesMut,
}

impl CurveMessageCodec {
    fn new(key: BoxKey, client: bool, next_nonce: u64, peer_nonce: u64) -> CurveMessageCodec {
        let (encode_prefix, decode_prefix) = if client {
            (MESSAGE_NONCE_CLIENT, MESSAGE_NONCE_SERVER)
        } else {
            (MESSAGE_NONCE_SERVER, MESSAGE_NONCE_CLIENT)
        };
        CurveMessageCodec {
            key,
            encode_prefix,
            decode_prefix,
            next_nonce,
            peer_nonce,
            failed: StickyError::default(),
            sealed: BytesMut::new(),
            opened: BytesMut::new(),
        }
    }

    /// Boxes one frame: `flags` holds [`crate::MESSAGE_MORE`] and/or [`crate::MESSAGE_COMMAND`]
    /// (other bits are dropped, as libzmq drops them). Returns the MESSAGE command.
    pub fn encode(&mut self, flags: u8, body: &[u8]) -> Result<Command, MechanismError> {
        self.encode_data(flags, body).map(Command::Message)
    }

    /// Like [`CurveMessageCodec::encode`], returning the MESSAGE command's data only.
    pub fn encode_data(&mut self, flags: u8, body: &[u8]) -> Result<Bytes, MechanismError> {
        let mut sealed = core::mem::take(&mut self.sealed);
        reserve(&mut sealed, MESSAGE_MIN_LEN + body.len());
        let result = self.seal_into(flags, body, &mut sealed);
        let data = sealed.split().freeze();
        self.sealed = sealed;
        result.map(|()| data)
    }

    /// Boxes one frame and appends the whole MESSAGE command *body* to `out`: `"\x07MESSAGE"`,
    /// the short nonce, the tag, then the sealed flags and frame. That is what goes on the wire
    /// as the body of an ordinary frame with MORE and COMMAND clear (see the module docs). The
    /// frame is copied once, into `out`, and encrypted there.
    pub fn encode_body_into(&mut self, flags: u8, body: &[u8], out: &mut BytesMut) -> Result<(), MechanismError> {
        self.failed.check()?;
        out.reserve(MESSAGE_OVERHEAD + body.len());
        out.put_slice(MESSAGE_PREFIX);
        self.seal_into(flags, body, out)
    }

    /// Like [`CurveMessageCodec::encode_body_into`], into a buffer the codec keeps: the body
    /// returned shares it, and its space is reused once the body is dropped.
    pub fn encode_body(&mut self, flags: u8, body: &[u8]) -> Result<Bytes, MechanismError> {
        let mut sealed = core::mem::take(&mut self.sealed);
        reserve(&mut sealed, MESSAGE_OVERHEAD + body.len());
        let result = self.encode_body_into(flags, body, &mut sealed);
        let data = sealed.split().freeze();
        self.sealed = sealed;
        result.map(|()| data)
    }

    /// Boxes a ZMTP command (PING, PONG, SUBSCRIBE...) as [`CurveMessageCodec::encode_body`]
    /// boxes a frame, with the [`crate::MESSAGE_COMMAND`] flag: the command body is encoded
    /// straight into the box.
    pub fn encode_command_body(&mut self, command: &Command) -> Result<Bytes, MechanismError> {
        self.failed.check()?;
        let mut sealed = core::mem::take(&mut self.sealed);
        reserve(&mut sealed, MESSAGE_OVERHEAD + command.body_len());
        let start = sealed.len();
        sealed.put_slice(MESSAGE_PREFIX);
        let result = self.take_nonce().map(|nonce| {
            sealed.put_u64(nonce);
            sealed.put_bytes(0, TAG_LEN);
            sealed.put_u8(crate::MESSAGE_COMMAND);
            command.encode_body(&mut sealed);
            let full_nonce = crypto::nonce(self.encode_prefix, &nonce.to_be_bytes());
            self.key.seal_in_place(&full_nonce, &mut sealed[start + MESSAGE_PREFIX.len() + SHORT_NONCE_LEN..]);
        });
        let data = sealed.split().freeze();
        self.sealed = sealed;
        result.map(|()| data)
    }

    /// Appends the MESSAGE data (nonce, tag, sealed flags and frame) to `out`, which has room.
    fn seal_into(&mut self, flags: u8, body: &[u8], out: &mut BytesMut) -> Result<(), MechanismError> {
        let nonce = self.take_nonce()?;
        out.put_u64(nonce);
        let start = out.len();
        out.put_bytes(0, TAG_LEN);
        out.put_u8(flags & MESSAGE_FLAGS_MASK);
        out.put_slice(body);
        let full_nonce = crypto::nonce(self.encode_prefix, &nonce.to_be_bytes());
        self.key.seal_in_place(&full_nonce, &mut out[start..]);
        Ok(())
    }

    /// The next short nonce, once.
    fn take_nonce(&mut self) -> Result<u64, MechanismError> {
        self.failed.check()?;
        let nonce = self.next_nonce;
        if nonce == u64::MAX {
            return Err(self.failed.fail(MechanismError::NonceExhausted));
        }
        self.next_nonce += 1;
        Ok(nonce)
    }

    /// Opens a MESSAGE command: returns the frame's flags and body.
    pub fn decode(&mut self, command: &Command) -> Result<(u8, Bytes), MechanismError> {
        match command {
            Command::Message(data) => self.decode_data(data),
            other => {
                Err(self.failed.fail(MechanismError::UnexpectedCommand { name: Bytes::copy_from_slice(other.name()) }))
            }
        }
    }

    /// Opens the data of a MESSAGE command.
    pub fn decode_data(&mut self, data: &[u8]) -> Result<(u8, Bytes), MechanismError> {
        let (nonce, full_nonce) = self.check_data(data)?;
        let ciphertext = &data[SHORT_NONCE_LEN + TAG_LEN..];
        let tag = &data[SHORT_NONCE_LEN..SHORT_NONCE_LEN + TAG_LEN];
        let mut opened = core::mem::take(&mut self.opened);
        reserve(&mut opened, ciphertext.len());
        opened.resize(ciphertext.len(), 0);
        let authentic = self.key.open_into(&full_nonce, tag, ciphertext, &mut opened).is_some();
        let plaintext = opened.split().freeze();
        self.opened = opened;
        self.accept(nonce, authentic, plaintext)
    }

    /// Opens a received frame whose body is a MESSAGE command (`"\x07MESSAGE"` and its data),
    /// as libzmq sends them: returns the frame's flags and content. The box is opened in place
    /// when `body` is its buffer's only reference (the content then shares it), and otherwise
    /// into a buffer the codec reuses. A frame that is not a MESSAGE is refused.
    pub fn decode_body(&mut self, body: Bytes) -> Result<(u8, Bytes), MechanismError> {
        self.failed.check()?;
        if !body.starts_with(MESSAGE_PREFIX) {
            let error = match Incoming::from_body(&body) {
                Ok(incoming) => incoming.unexpected(),
                Err(error) => error,
            };
            return Err(self.failed.fail(error));
        }
        match body.try_into_mut() {
            Ok(mut body) => {
                let (nonce, full_nonce) = self.check_data(&body[MESSAGE_PREFIX.len()..])?;
                let (tag, ciphertext) = body[MESSAGE_PREFIX.len() + SHORT_NONCE_LEN..].split_at_mut(TAG_LEN);
                let authentic = self.key.open_in_place(&full_nonce, tag, ciphertext).is_some();
                let mut plaintext = body.freeze();
                plaintext.advance(MESSAGE_PREFIX.len() + SHORT_NONCE_LEN + TAG_LEN);
                self.accept(nonce, authentic, plaintext)
            }
            Err(body) => self.decode_data(&body[MESSAGE_PREFIX.len()..]),
        }
    }

    /// Checks MESSAGE data before it is opened: returns its short and full nonces.
    fn check_data(&mut self, data: &[u8]) -> Result<(u64, [u8; crypto::NONCE_LEN]), MechanismError> {
        self.failed.check()?;
        if data.len() < MESSAGE_MIN_LEN {
            return Err(self.failed.fail(MechanismError::Malformed(CommandKind::Message)));
        }
        let nonce = short_nonce(data);
        if nonce <= self.peer_nonce {
            return Err(self.failed.fail(MechanismError::InvalidSequence { nonce, last: self.peer_nonce }));
        }
        Ok((nonce, crypto::nonce(self.decode_prefix, &data[..SHORT_NONCE_LEN])))
    }

    /// After opening: on success the nonce is the last one received and the content is split
    /// from the flags byte.
    fn accept(&mut self, nonce: u64, authentic: bool, mut plaintext: Bytes) -> Result<(u8, Bytes), MechanismError> {
        if !authentic {
            return Err(self.failed.fail(MechanismError::Cryptographic(CommandKind::Message)));
        }
        self.peer_nonce = nonce;
        let flags = plaintext[0] & MESSAGE_FLAGS_MASK;
        plaintext.advance(1);
        Ok((flags, plaintext))
    }

    /// The short nonce the next encoded message will carry.
    pub fn next_nonce(&self) -> u64 {
        self.next_nonce
    }

    /// The highest short nonce received.
    pub fn peer_nonce(&self) -> u64 {
        self.peer_nonce
    }
}

/// Makes room for `len` more bytes in one of the codec's buffers: its space is reused when
/// every box split from it is gone, and it grows a chunk at a time otherwise.
fn reserve(buf: &mut BytesMut, len: usize) {
    if buf.capacity() - buf.len() < len {
        buf.reserve(len.max(BUFFER_CHUNK));
    }
}

/// Runs `f` on the codec of a ready mechanism; a failure (a replay, a forged box, nonces
/// exhausted) fails the mechanism too.
pub(crate) fn with_codec<T>(
    core: &mut Core,
    codec: &mut Option<CurveMessageCodec>,
    f: impl FnOnce(&mut CurveMessageCodec) -> Result<T, MechanismError>,
) -> Result<T, MechanismError> {
    core.failed.check()?;
    let codec = codec.as_mut().ok_or(MechanismError::NotReady)?;
    f(codec).map_err(|error| core.failed.fail(error))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    SendHello,
    ExpectWelcome,
    SendInitiate,
    ExpectReady,
    Ready,
}

/// The client side of CURVE (ZMQ_CURVE_SERVERKEY, ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY).
pub struct CurveClient {
    core: Core,
    state: ClientState,
    metadata: Metadata,
    keypair: CurveKeyPair,
    server_key: CurvePublicKey,
    short_secret: CurveSecretKey,
    short_public: CurvePublicKey,
    vouch_nonce: [u8; 16],
    /// Box key of (c', S): HELLO and WELCOME.
    hello_key: BoxKey,
    /// What WELCOME brought: S' and the cookie.
    server_short: Option<CurvePublicKey>,
    cookie: [u8; COOKIE_LEN],
    /// Box key of (c', S'): INITIATE, READY and the messages.
    session_key: Option<BoxKey>,
    next_nonce: u64,
    codec: Option<CurveMessageCodec>,
}

impl CurveClient {
    const MECHANISM: rustzmq_codec::Mechanism = rustzmq_codec::Mechanism::CURVE;
    const AS_SERVER: bool = false;

    /// A CURVE client with its long-term key pair, expecting the server's long-term public
    /// key, its short-term key pair and nonces drawn from the operating system.
    #[cfg(feature = "os-rng")]
    #[cfg_attr(docsrs, doc(cfg(feature = "os-rng")))]
    pub fn new(
        properties: SocketProperties,
        keypair: CurveKeyPair,
        server_key: CurvePublicKey,
    ) -> Result<CurveClient, MechanismError> {
        CurveClient::with_rng(properties, keypair, server_key, &mut getrandom::SysRng)
    }

    /// Like `new`, with randomness from `rng` (drawn here, all of it: the short-term key and
    /// the vouch nonce).
    pub fn with_rng<R: TryCryptoRng + ?Sized>(
        properties: SocketProperties,
        keypair: CurveKeyPair,
        server_key: CurvePublicKey,
        rng: &mut R,
    ) -> Result<CurveClient, MechanismError> {
        let short_secret = CurveSecretKey::from_bytes(random::<R, KEY_LEN>(rng)?);
        let vouch_nonce = random::<R, 16>(rng)?;
        let hello_key = BoxKey::precompute(server_key.as_bytes(), short_secret.as_bytes())
            .ok_or(MechanismError::InvalidConfig("CURVE server key of small order"))?;
        Ok(CurveClient {
            metadata: properties.metadata()?,
            core: Core::new(ZapConfig::default(), properties.routing_id),
            state: ClientState::SendHello,
            keypair,
            server_key,
            short_public: short_secret.public_key(),
            short_secret,
            vouch_nonce,
            hello_key,
            server_short: None,
            cookie: [0; COOKIE_LEN],
            session_key: None,
            next_nonce: 1,
            codec: None,
        })
    }

    /// This connection's short-term public key C'.
    pub fn short_term_public_key(&self) -> &CurvePublicKey {
        &self.short_public
    }

    /// The message codec, once ready, for an engine that drops the handshake state.
    pub fn into_message_codec(self) -> Option<CurveMessageCodec> {
        self.codec
    }

    fn take_nonce(&mut self) -> u64 {
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        nonce
    }

    fn produce(&mut self) -> Option<Command> {
        match self.state {
            ClientState::SendHello => {
                self.state = ClientState::ExpectWelcome;
                Some(Command::Hello(self.hello()))
            }
            ClientState::SendInitiate => {
                self.state = ClientState::ExpectReady;
                match self.initiate() {
                    Ok(data) => Some(Command::Initiate(data)),
                    Err(error) => {
                        self.core.failed.fail(error);
                        None
                    }
                }
            }
            _ => None,
        }
    }

    fn hello(&mut self) -> Bytes {
        let nonce = self.take_nonce().to_be_bytes();
        let mut data = Vec::with_capacity(HELLO_LEN);
        data.extend_from_slice(&[1, 0]);
        data.resize(2 + 72, 0);
        data.extend_from_slice(self.short_public.as_bytes());
        data.extend_from_slice(&nonce);
        self.hello_key.seal_into(&crypto::nonce(HELLO_NONCE, &nonce), &[0; 64], &mut data);
        debug_assert_eq!(data.len(), HELLO_LEN);
        Bytes::from(data)
    }

    fn initiate(&mut self) -> Result<Bytes, MechanismError> {
        let (Some(server_short), Some(session_key)) = (&self.server_short, &self.session_key) else {
            return Err(MechanismError::NotReady);
        };
        // vouch = Box[C' + S](C->S')
        let vouch_key = BoxKey::precompute(server_short.as_bytes(), self.keypair.secret().as_bytes())
            .ok_or(MechanismError::Cryptographic(CommandKind::Welcome))?;
        let mut vouch_plaintext = [0u8; 64];
        vouch_plaintext[..32].copy_from_slice(self.short_public.as_bytes());
        vouch_plaintext[32..].copy_from_slice(self.server_key.as_bytes());
        let mut plaintext = Zeroizing::new(Vec::with_capacity(128 + self.metadata.encoded_len()));
        plaintext.extend_from_slice(self.keypair.public().as_bytes());
        plaintext.extend_from_slice(&self.vouch_nonce);
        vouch_key.seal_into(&crypto::nonce(VOUCH_NONCE, &self.vouch_nonce), &vouch_plaintext, &mut plaintext);
        plaintext.extend_from_slice(&encode_metadata(&self.metadata));

        // Not take_nonce(): `session_key` still borrows self.
        let nonce = self.next_nonce.to_be_bytes();
        let mut data = Vec::with_capacity(COOKIE_LEN + SHORT_NONCE_LEN + TAG_LEN + plaintext.len());
        data.extend_from_slice(&self.cookie);
        data.extend_from_slice(&nonce);
        session_key.seal_into(&crypto::nonce(INITIATE_NONCE, &nonce), &plaintext, &mut data);
        self.next_nonce += 1;
        Ok(Bytes::from(data))
    }

    fn consume(&mut self, command: Incoming) -> Result<(), MechanismError> {
        match self.state {
            ClientState::ExpectWelcome if command.is(b"WELCOME") => self.welcome(&command.data),
            ClientState::ExpectReady if command.is(b"READY") => self.ready_command(&command.data),
            ClientState::ExpectWelcome | ClientState::ExpectReady if command.is(b"ERROR") => {
                Err(command.error_reason())
            }
            _ => Err(command.unexpected()),
        }
    }

    fn welcome(&mut self, data: &[u8]) -> Result<(), MechanismError> {
        if data.len() != WELCOME_LEN {
            return Err(MechanismError::Malformed(CommandKind::Welcome));
        }
        let plaintext = self
            .hello_key
            .open(&crypto::nonce(WELCOME_NONCE, &data[..16]), &data[16..])
            .ok_or(MechanismError::Cryptographic(CommandKind::Welcome))?;
        let server_short = CurvePublicKey::from_slice(&plaintext[..32]).map_err(|_| MechanismError::KeyExchange)?;
        let session_key = BoxKey::precompute(server_short.as_bytes(), self.short_secret.as_bytes())
            .ok_or(MechanismError::Cryptographic(CommandKind::Welcome))?;
        self.cookie.copy_from_slice(&plaintext[32..32 + COOKIE_LEN]);
        self.server_short = Some(server_short);
        self.session_key = Some(session_key);
        self.state = ClientState::SendInitiate;
        Ok(())
    }

    fn ready_command(&mut self, data: &[u8]) -> Result<(), MechanismError> {
        if data.len() < READY_MIN_LEN {
            return Err(MechanismError::Malformed(CommandKind::Ready));
        }
        let session_key = self.session_key.as_ref().ok_or(MechanismError::NotReady)?;
        let plaintext = session_key
            .open(&crypto::nonce(READY_NONCE, &data[..SHORT_NONCE_LEN]), &data[SHORT_NONCE_LEN..])
            .ok_or(MechanismError::Cryptographic(CommandKind::Ready))?;
        self.core.peer_metadata = Some(Metadata::parse(&Bytes::copy_from_slice(&plaintext))?);
        let Some(key) = self.session_key.take() else { return Err(MechanismError::NotReady) };
        self.codec = Some(CurveMessageCodec::new(key, true, self.next_nonce, short_nonce(data)));
        self.state = ClientState::Ready;
        Ok(())
    }

    fn ready(&self) -> bool {
        self.state == ClientState::Ready
    }

    fn zap_accepted(&mut self) {}
}

impl_mechanism!(CurveClient, encrypts: true);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    ExpectHello,
    SendWelcome,
    ExpectInitiate,
    AwaitZap,
    SendReady,
    Ready,
}

/// The server side of CURVE (ZMQ_CURVE_SERVER with ZMQ_CURVE_SECRETKEY).
///
/// ZAP is asked with the client's long-term public key as the credential, after INITIATE;
/// see [`crate::zap`] for when (libzmq accepts clients without a handler unless
/// ZMQ_ZAP_ENFORCE_DOMAIN says otherwise).
pub struct CurveServer {
    core: Core,
    state: ServerState,
    metadata: Metadata,
    secret: CurveSecretKey,
    public: CurvePublicKey,
    short_secret: CurveSecretKey,
    short_public: CurvePublicKey,
    cookie_key: Zeroizing<[u8; KEY_LEN]>,
    cookie_nonce: [u8; 16],
    welcome_nonce: [u8; 16],
    /// What HELLO brought: C' and the box key of (s, C').
    client_short: Option<CurvePublicKey>,
    hello_key: Option<BoxKey>,
    /// The client's long-term key C, from INITIATE.
    client_key: Option<CurvePublicKey>,
    /// Box key of (s', C'): INITIATE, READY and the messages.
    session_key: Option<BoxKey>,
    peer_nonce: u64,
    codec: Option<CurveMessageCodec>,
}

impl CurveServer {
    const MECHANISM: rustzmq_codec::Mechanism = rustzmq_codec::Mechanism::CURVE;
    const AS_SERVER: bool = true;

    /// A CURVE server with its long-term secret key; its short-term key pair, cookie key and
    /// nonces are drawn from the operating system.
    #[cfg(feature = "os-rng")]
    #[cfg_attr(docsrs, doc(cfg(feature = "os-rng")))]
    pub fn new(
        properties: SocketProperties,
        secret: CurveSecretKey,
        zap: ZapConfig,
    ) -> Result<CurveServer, MechanismError> {
        CurveServer::with_rng(properties, secret, zap, &mut getrandom::SysRng)
    }

    /// Like `new`, with randomness from `rng` (drawn here, all of it: the short-term key, the
    /// cookie key and the WELCOME and cookie nonces).
    pub fn with_rng<R: TryCryptoRng + ?Sized>(
        properties: SocketProperties,
        secret: CurveSecretKey,
        zap: ZapConfig,
        rng: &mut R,
    ) -> Result<CurveServer, MechanismError> {
        let short_secret = CurveSecretKey::from_bytes(random::<R, KEY_LEN>(rng)?);
        let cookie_key = Zeroizing::new(random::<R, KEY_LEN>(rng)?);
        let cookie_nonce = random::<R, 16>(rng)?;
        let welcome_nonce = random::<R, 16>(rng)?;
        Ok(CurveServer {
            metadata: properties.metadata()?,
            core: Core::new(zap, properties.routing_id),
            state: ServerState::ExpectHello,
            public: secret.public_key(),
            secret,
            short_public: short_secret.public_key(),
            short_secret,
            cookie_key,
            cookie_nonce,
            welcome_nonce,
            client_short: None,
            hello_key: None,
            client_key: None,
            session_key: None,
            peer_nonce: 0,
            codec: None,
        })
    }

    /// The client's long-term public key C, once INITIATE has been verified (what ZAP
    /// authenticates).
    pub fn client_key(&self) -> Option<&CurvePublicKey> {
        self.client_key.as_ref()
    }

    /// The message codec, once ready, for an engine that drops the handshake state.
    pub fn into_message_codec(self) -> Option<CurveMessageCodec> {
        self.codec
    }

    fn produce(&mut self) -> Option<Command> {
        let result = match self.state {
            ServerState::SendWelcome => self.welcome().map(Command::Welcome),
            ServerState::SendReady => self.ready_command(),
            _ => return None,
        };
        match result {
            Ok(command) => Some(command),
            Err(error) => {
                self.core.failed.fail(error);
                None
            }
        }
    }

    fn welcome(&mut self) -> Result<Bytes, MechanismError> {
        let (Some(client_short), Some(hello_key)) = (&self.client_short, self.hello_key.take()) else {
            return Err(MechanismError::NotReady);
        };
        // cookie = nonce + SecretBox[C' + s'](cookie key)
        let mut cookie_plaintext = Zeroizing::new([0u8; 64]);
        cookie_plaintext[..32].copy_from_slice(client_short.as_bytes());
        cookie_plaintext[32..].copy_from_slice(self.short_secret.as_bytes());
        let mut plaintext = Zeroizing::new(Vec::with_capacity(128));
        plaintext.extend_from_slice(self.short_public.as_bytes());
        plaintext.extend_from_slice(&self.cookie_nonce);
        BoxKey::secret(&self.cookie_key).seal_into(
            &crypto::nonce(COOKIE_NONCE, &self.cookie_nonce),
            &*cookie_plaintext,
            &mut plaintext,
        );
        let mut data = Vec::with_capacity(WELCOME_LEN);
        data.extend_from_slice(&self.welcome_nonce);
        hello_key.seal_into(&crypto::nonce(WELCOME_NONCE, &self.welcome_nonce), &plaintext, &mut data);
        debug_assert_eq!(data.len(), WELCOME_LEN);
        self.state = ServerState::ExpectInitiate;
        Ok(Bytes::from(data))
    }

    fn ready_command(&mut self) -> Result<Command, MechanismError> {
        let key = self.session_key.take().ok_or(MechanismError::NotReady)?;
        let nonce = 1u64.to_be_bytes();
        let mut data = Vec::with_capacity(SHORT_NONCE_LEN + TAG_LEN + self.metadata.encoded_len());
        data.extend_from_slice(&nonce);
        key.seal_into(&crypto::nonce(READY_NONCE, &nonce), &encode_metadata(&self.metadata), &mut data);
        self.codec = Some(CurveMessageCodec::new(key, false, 2, self.peer_nonce));
        self.state = ServerState::Ready;
        // A CURVE READY carries a box, not metadata: it goes out as a command with opaque data.
        Ok(Command::Other { name: Bytes::from_static(b"READY"), data: Bytes::from(data) })
    }

    fn consume(&mut self, command: Incoming) -> Result<(), MechanismError> {
        match self.state {
            ServerState::ExpectHello if command.is(b"HELLO") => self.hello(&command.data),
            ServerState::ExpectInitiate if command.is(b"INITIATE") => self.initiate(&command.data),
            _ => Err(command.unexpected()),
        }
    }

    fn hello(&mut self, data: &[u8]) -> Result<(), MechanismError> {
        if data.len() != HELLO_LEN {
            return Err(MechanismError::Malformed(CommandKind::Hello));
        }
        if data[..2] != [1, 0] {
            return Err(MechanismError::UnsupportedVersion { major: data[0], minor: data[1] });
        }
        let client_short = CurvePublicKey::from_slice(&data[74..106]).map_err(|_| MechanismError::KeyExchange)?;
        let nonce = &data[106..114];
        let hello_key = BoxKey::precompute(client_short.as_bytes(), self.secret.as_bytes())
            .ok_or(MechanismError::Cryptographic(CommandKind::Hello))?;
        hello_key
            .open(&crypto::nonce(HELLO_NONCE, nonce), &data[114..])
            .ok_or(MechanismError::Cryptographic(CommandKind::Hello))?;
        self.peer_nonce = short_nonce(nonce);
        self.client_short = Some(client_short);
        self.hello_key = Some(hello_key);
        self.state = ServerState::SendWelcome;
        Ok(())
    }

    fn initiate(&mut self, data: &[u8]) -> Result<(), MechanismError> {
        if data.len() < INITIATE_MIN_LEN {
            return Err(MechanismError::Malformed(CommandKind::Initiate));
        }
        let client_short = self.client_short.ok_or(MechanismError::NotReady)?;

        // The cookie must be ours: C' and s' of this connection.
        let cookie = BoxKey::secret(&self.cookie_key)
            .open(&crypto::nonce(COOKIE_NONCE, &data[..16]), &data[16..COOKIE_LEN])
            .ok_or(MechanismError::Cryptographic(CommandKind::Initiate))?;
        let cookie_ok =
            cookie[..32].ct_eq(client_short.as_bytes()) & cookie[32..64].ct_eq(self.short_secret.as_bytes());
        if !bool::from(cookie_ok) {
            return Err(MechanismError::Cryptographic(CommandKind::Initiate));
        }

        let nonce = &data[COOKIE_LEN..COOKIE_LEN + SHORT_NONCE_LEN];
        let session_key = BoxKey::precompute(client_short.as_bytes(), self.short_secret.as_bytes())
            .ok_or(MechanismError::Cryptographic(CommandKind::Initiate))?;
        let plaintext = session_key
            .open(&crypto::nonce(INITIATE_NONCE, nonce), &data[COOKIE_LEN + SHORT_NONCE_LEN..])
            .ok_or(MechanismError::Cryptographic(CommandKind::Initiate))?;

        // The vouch: Box[C' + S](C->S'), proving the holder of C made C'.
        let client_key = CurvePublicKey::from_slice(&plaintext[..32]).map_err(|_| MechanismError::KeyExchange)?;
        let vouch_key = BoxKey::precompute(client_key.as_bytes(), self.short_secret.as_bytes())
            .ok_or(MechanismError::Cryptographic(CommandKind::Initiate))?;
        let vouch = vouch_key
            .open(&crypto::nonce(VOUCH_NONCE, &plaintext[32..48]), &plaintext[48..128])
            .ok_or(MechanismError::Cryptographic(CommandKind::Initiate))?;
        let vouch_ok = vouch[..32].ct_eq(client_short.as_bytes()) & vouch[32..].ct_eq(self.public.as_bytes());
        if !bool::from(vouch_ok) {
            return Err(MechanismError::KeyExchange);
        }

        self.core.peer_metadata = Some(Metadata::parse(&Bytes::copy_from_slice(&plaintext[128..]))?);
        self.peer_nonce = short_nonce(nonce);
        self.session_key = Some(session_key);
        self.client_key = Some(client_key);
        self.state = match self.core.zap.decide(ZapPolicy::Curve) {
            ZapDecision::Skip => ServerState::SendReady,
            ZapDecision::Refuse => return Err(MechanismError::NoZapHandler),
            ZapDecision::Ask => {
                self.core.ask_zap(b"CURVE", alloc::vec![Bytes::copy_from_slice(client_key.as_bytes())]);
                ServerState::AwaitZap
            }
        };
        Ok(())
    }

    fn ready(&self) -> bool {
        self.state == ServerState::Ready
    }

    fn zap_accepted(&mut self) {
        self.state = ServerState::SendReady;
    }
}

impl_mechanism!(CurveServer, encrypts: true);
