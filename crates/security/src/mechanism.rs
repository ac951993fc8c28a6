//! The interface every mechanism implements, the local properties a handshake announces, and
//! the plumbing the mechanisms share.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};
use rustzmq_codec::{Command, Metadata};

use crate::error::{CommandKind, MechanismError, Status, StickyError};
use crate::zap::{ZapConfig, ZapReply, ZapRequest, ZapStatus, LIBZMQ_REQUEST_ID, ZAP_VERSION};

/// Flag inside a CURVE MESSAGE box: more frames of this message follow (libzmq's `msg_t::more`).
pub const MESSAGE_MORE: u8 = 0x01;
/// Flag inside a CURVE MESSAGE box: the frame is a ZMTP command (PING, PONG, SUBSCRIBE...)
/// sent after the handshake (libzmq's `msg_t::command`).
pub const MESSAGE_COMMAND: u8 = 0x02;
/// The flags a CURVE MESSAGE box carries; libzmq masks the others away, and so do we.
pub const MESSAGE_FLAGS_MASK: u8 = MESSAGE_MORE | MESSAGE_COMMAND;

/// One side of a connection's security handshake, sans I/O.
///
/// Drive it like this: send the greeting with [`Mechanism::mechanism`] and
/// [`Mechanism::as_server`]; then send every command [`Mechanism::next_command`] yields, feed every
/// command frame the peer sends to [`Mechanism::process_command`] (or, to keep a CURVE READY
/// intact, its raw body to [`Mechanism::process_command_body`]), send every
/// [`Mechanism::zap_request`] to the ZAP handler and feed its reply to
/// [`Mechanism::process_zap_reply`], until [`Mechanism::status`] is [`Status::Ready`] (or
/// [`Status::Failed`]). After each input, call `next_command` until it yields `None`.
///
/// Errors are sticky: after the first one every call fails the same way. A failed mechanism
/// may still yield one final ERROR command (a ZAP refusal with status 400 or 500): send it,
/// then close the connection.
///
/// Once ready, CURVE boxes every frame: [`Mechanism::encode_message`] and
/// [`Mechanism::decode_message`]; NULL and PLAIN leave frames as they are
/// ([`Mechanism::encrypts`] is false).
///
/// Implemented by [`crate::NullMechanism`], [`crate::PlainClient`], [`crate::PlainServer`],
/// [`crate::CurveClient`], [`crate::CurveServer`], and by [`crate::MechanismState`], the enum an
/// engine keeps when the mechanism is chosen at run time.
///
/// The name clashes with [`rustzmq_codec::Mechanism`] (the greeting's mechanism *name*); import
/// one of them under another name, or this trait as `Mechanism as _`.
pub trait Mechanism {
    /// The mechanism name for the greeting.
    fn mechanism(&self) -> rustzmq_codec::Mechanism;

    /// The greeting's as-server bit as RFC 23 defines it: true for PLAIN and CURVE servers.
    /// (libzmq 4.3.4 sends 0 there whatever its role and ignores the peer's bit.)
    fn as_server(&self) -> bool;

    /// The next command to send, if any is due now.
    fn next_command(&mut self) -> Option<Command>;

    /// Consumes one command from the peer.
    fn process_command(&mut self, command: &Command) -> Result<(), MechanismError>;

    /// Consumes one command from the peer given as its raw frame body (name length, name,
    /// data). Two commands need this form, since a decoder that parses command bodies
    /// rejects them: a CURVE READY (a box, not metadata), and libzmq 4.3's PLAIN ERROR,
    /// whose first bytes are 0x5E `"RROR"` (its C source spells `"\x05ERROR"`, and the hex
    /// escape swallows the E), read here as the ERROR it means.
    fn process_command_body(&mut self, body: &Bytes) -> Result<(), MechanismError>;

    /// Where the handshake is.
    fn status(&self) -> Status;

    /// Why the handshake failed, once it has.
    fn error(&self) -> Option<&MechanismError>;

    /// The peer's metadata (Socket-Type, Identity, application properties), as soon as its
    /// READY (NULL, CURVE client, PLAIN client) or INITIATE (PLAIN and CURVE servers) is in.
    /// Checking Socket-Type compatibility is the engine's job (ERROR "Invalid socket type").
    fn peer_metadata(&self) -> Option<&Metadata>;

    /// Takes the ZAP request the handler must answer, once, when there is one.
    fn zap_request(&mut self) -> Option<ZapRequest>;

    /// Whether a ZAP request was made and its reply has not been processed yet.
    fn awaiting_zap_reply(&self) -> bool;

    /// Consumes the ZAP handler's reply. Status 200 lets the handshake go on; any other is an
    /// error (after which `next_command` yields ERROR for 400 and 500).
    fn process_zap_reply(&mut self, reply: &ZapReply) -> Result<(), MechanismError>;

    /// Parses the ZAP handler's reply frames ([`ZapReply::from_frames`]) and consumes the
    /// reply; malformed frames fail the handshake ([`MechanismError::ZapReply`]).
    fn process_zap_reply_frames(&mut self, frames: &[Bytes]) -> Result<(), MechanismError>;

    /// The accepted ZAP reply, if ZAP was asked: its user id (libzmq's `User-Id` message
    /// property) and metadata belong to the connection.
    fn zap_reply(&self) -> Option<&ZapReply>;

    /// Whether messages must go through [`Mechanism::encode_message`] and
    /// [`Mechanism::decode_message`] (CURVE).
    fn encrypts(&self) -> bool;

    /// Boxes one frame for sending (CURVE, once ready): `flags` is [`MESSAGE_MORE`] and/or
    /// [`MESSAGE_COMMAND`]. Returns the MESSAGE command that replaces the frame; like libzmq,
    /// send its body as an ordinary frame with MORE and COMMAND clear (see [`crate::curve`]).
    fn encode_message(&mut self, flags: u8, body: &[u8]) -> Result<Command, MechanismError>;

    /// Opens a MESSAGE command from the peer (CURVE, once ready; libzmq sends it as an
    /// ordinary frame: parse that frame's body with [`Command::parse`]). Returns the frame's
    /// flags and body. A nonce not above the previous one (a replay) is refused.
    fn decode_message(&mut self, command: &Command) -> Result<(u8, Bytes), MechanismError>;

    /// Boxes one frame straight into the body of the frame that replaces it (CURVE, once
    /// ready): the MESSAGE command body (`"\x07MESSAGE"` and the data) that
    /// [`Mechanism::encode_message`]'s command encodes to, without building the command. Send
    /// it as an ordinary frame with MORE and COMMAND clear. CURVE seals it in a buffer it
    /// reuses ([`crate::CurveMessageCodec::encode_body`]): no allocation per frame.
    fn encode_message_body(&mut self, flags: u8, body: &[u8]) -> Result<Bytes, MechanismError> {
        let command = self.encode_message(flags, body)?;
        let mut out = BytesMut::with_capacity(command.body_len());
        command.encode_body(&mut out);
        Ok(out.freeze())
    }

    /// Boxes a ZMTP command sent after the handshake (PING, PONG, SUBSCRIBE...) the way
    /// [`Mechanism::encode_message_body`] boxes a frame, flagged [`MESSAGE_COMMAND`].
    fn encode_command_body(&mut self, command: &Command) -> Result<Bytes, MechanismError> {
        let mut body = BytesMut::with_capacity(command.body_len());
        command.encode_body(&mut body);
        self.encode_message_body(MESSAGE_COMMAND, &body)
    }

    /// Opens a received frame whose body is a MESSAGE command, as libzmq sends them (CURVE,
    /// once ready): returns the flags inside the box and the content. Same checks as
    /// [`Mechanism::decode_message`] without parsing a [`Command`] first; CURVE opens the box
    /// in place when `body` is the only reference to its buffer.
    fn decode_message_body(&mut self, body: Bytes) -> Result<(u8, Bytes), MechanismError> {
        let command = Command::parse(&body).map_err(|_| MechanismError::MalformedFrame)?;
        self.decode_message(&command)
    }
}

/// What the local socket announces in its READY or INITIATE metadata, and the identity frame
/// of its ZAP requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketProperties {
    /// The socket type name: `"PAIR"`, `"DEALER"`, ... (`Socket-Type`).
    pub socket_type: Bytes,
    /// ZMQ_ROUTING_ID: sent as `Identity` by REQ, DEALER and ROUTER (as libzmq does), and as
    /// the identity frame of ZAP requests by every server.
    pub routing_id: Bytes,
    /// Application metadata (ZMQ_METADATA, `X-` properties), sent after the standard ones.
    pub app_metadata: Metadata,
}

impl SocketProperties {
    /// Properties of a socket of this type, with no routing id and no application metadata.
    pub fn new(socket_type: &str) -> SocketProperties {
        SocketProperties {
            socket_type: Bytes::copy_from_slice(socket_type.as_bytes()),
            routing_id: Bytes::new(),
            app_metadata: Metadata::new(),
        }
    }

    /// Sets the routing id.
    pub fn with_routing_id(mut self, routing_id: impl Into<Bytes>) -> SocketProperties {
        self.routing_id = routing_id.into();
        self
    }

    /// Sets the application metadata.
    pub fn with_app_metadata(mut self, metadata: Metadata) -> SocketProperties {
        self.app_metadata = metadata;
        self
    }

    /// Whether this socket type sends `Identity` (REQ, DEALER, ROUTER, as in libzmq).
    pub fn sends_identity(&self) -> bool {
        matches!(&self.socket_type[..], b"REQ" | b"DEALER" | b"ROUTER")
    }

    /// The metadata as libzmq lays it out: `Socket-Type`, `Identity` (REQ, DEALER, ROUTER),
    /// then the application properties.
    pub fn metadata(&self) -> Result<Metadata, MechanismError> {
        let mut metadata = Metadata::new();
        metadata.insert(Bytes::from_static(b"Socket-Type"), self.socket_type.clone())?;
        if self.sends_identity() {
            metadata.insert(Bytes::from_static(b"Identity"), self.routing_id.clone())?;
        }
        for (name, value) in self.app_metadata.iter() {
            metadata.insert(name.clone(), value.clone())?;
        }
        Ok(metadata)
    }
}

/// A command split into name and data, however it arrived.
pub(crate) struct Incoming {
    pub(crate) name: Bytes,
    pub(crate) data: Bytes,
}

impl Incoming {
    /// Splits a raw command body (libzmq's `check_basic_command_structure`: the body must hold
    /// more than its name length byte says).
    pub(crate) fn from_body(body: &Bytes) -> Result<Incoming, MechanismError> {
        // libzmq 4.3's PLAIN server spells its ERROR prefix "\x05ERROR" in C, where the hex
        // escape swallows the E: it sends 0x5E "RROR" (and its PLAIN client expects exactly
        // that). Read it as the ERROR it means.
        if let Some(data) = body.strip_prefix(b"^RROR") {
            return Ok(Incoming { name: Bytes::from_static(b"ERROR"), data: Bytes::copy_from_slice(data) });
        }
        let name_len = usize::from(*body.first().ok_or(MechanismError::MalformedFrame)?);
        if body.len() <= 1 || body.len() <= name_len {
            return Err(MechanismError::MalformedFrame);
        }
        Ok(Incoming { name: body.slice(1..1 + name_len), data: body.slice(1 + name_len..) })
    }

    /// Re-encodes a parsed command into name and data.
    pub(crate) fn from_command(command: &Command) -> Incoming {
        let name = Bytes::copy_from_slice(command.name());
        let data = match command.opaque_data() {
            Some(data) => data.clone(),
            None => {
                let mut body = BytesMut::with_capacity(command.body_len());
                command.encode_body(&mut body);
                body.freeze().slice(1 + name.len()..)
            }
        };
        Incoming { name, data }
    }

    pub(crate) fn is(&self, name: &[u8]) -> bool {
        self.name == name
    }

    pub(crate) fn unexpected(&self) -> MechanismError {
        MechanismError::UnexpectedCommand { name: self.name.clone() }
    }

    /// The reason of an ERROR command (libzmq tolerates bytes after it).
    pub(crate) fn error_reason(&self) -> MechanismError {
        match self.data.first() {
            Some(&len) if usize::from(len) < self.data.len() => {
                MechanismError::PeerError { reason: self.data.slice(1..1 + usize::from(len)) }
            }
            _ => MechanismError::Malformed(CommandKind::Error),
        }
    }
}

/// State every mechanism has: the sticky error, a final ERROR to send, the peer's metadata
/// and the ZAP exchange.
pub(crate) struct Core {
    pub(crate) failed: StickyError,
    pub(crate) final_error: Option<Command>,
    pub(crate) peer_metadata: Option<Metadata>,
    pub(crate) zap: ZapConfig,
    pub(crate) zap_pending: Option<ZapRequest>,
    pub(crate) zap_awaiting: Option<Bytes>,
    pub(crate) zap_reply: Option<ZapReply>,
    pub(crate) routing_id: Bytes,
}

impl Core {
    pub(crate) fn new(zap: ZapConfig, routing_id: Bytes) -> Core {
        Core {
            failed: StickyError::default(),
            final_error: None,
            peer_metadata: None,
            zap,
            zap_pending: None,
            zap_awaiting: None,
            zap_reply: None,
            routing_id,
        }
    }

    /// Queues a ZAP request for the handler.
    pub(crate) fn ask_zap(&mut self, mechanism: &'static [u8], credentials: Vec<Bytes>) {
        let request = ZapRequest {
            version: Bytes::from_static(ZAP_VERSION),
            request_id: Bytes::from_static(LIBZMQ_REQUEST_ID),
            domain: self.zap.domain.clone(),
            address: self.zap.address.clone(),
            identity: self.routing_id.clone(),
            mechanism: Bytes::from_static(mechanism),
            credentials,
        };
        self.zap_awaiting = Some(request.request_id.clone());
        self.zap_pending = Some(request);
    }

    /// Checks a ZAP reply. `Ok` only for status 200; for 400 and 500 queues the ERROR libzmq
    /// sends (the status code as reason); every failure is recorded.
    pub(crate) fn accept_zap_reply(&mut self, reply: &ZapReply) -> Result<(), MechanismError> {
        self.failed.check()?;
        let Some(request_id) = self.zap_awaiting.take() else {
            return Err(self.failed.fail(MechanismError::UnexpectedZapReply));
        };
        self.zap_pending = None;
        if reply.request_id != request_id {
            return Err(self.failed.fail(MechanismError::ZapRequestId));
        }
        match reply.status {
            ZapStatus::Success => {
                self.zap_reply = Some(reply.clone());
                Ok(())
            }
            ZapStatus::TemporaryError => Err(self.failed.fail(MechanismError::ZapDenied(reply.status))),
            status => {
                self.final_error = Some(Command::Error { reason: Bytes::from_static(status.as_bytes()) });
                Err(self.failed.fail(MechanismError::ZapDenied(status)))
            }
        }
    }

    pub(crate) fn set_peer_metadata(&mut self, data: &Bytes) -> Result<(), MechanismError> {
        self.peer_metadata = Some(Metadata::parse(data)?);
        Ok(())
    }
}

/// Implements [`Mechanism`] for a type with a `core: Core` field and these inherent items:
/// `produce(&mut self) -> Option<Command>`,
/// `consume(&mut self, Incoming) -> Result<(), MechanismError>`, `ready(&self) -> bool`,
/// `zap_accepted(&mut self)`, and the constants `MECHANISM` and `AS_SERVER`; plus, for
/// encrypting mechanisms (`encrypts: true`), the field `codec` (an
/// `Option<CurveMessageCodec>`, set once ready).
macro_rules! impl_mechanism {
    ($ty:ty) => {
        impl_mechanism!(@impl $ty, false, {
            fn encode_message(
                &mut self,
                _flags: u8,
                _body: &[u8],
            ) -> Result<rustzmq_codec::Command, $crate::MechanismError> {
                Err($crate::MechanismError::NotEncrypting)
            }

            fn decode_message(
                &mut self,
                _command: &rustzmq_codec::Command,
            ) -> Result<(u8, bytes::Bytes), $crate::MechanismError> {
                Err($crate::MechanismError::NotEncrypting)
            }
        });
    };
    ($ty:ty, encrypts: true) => {
        impl_mechanism!(@impl $ty, true, {
            fn encode_message(
                &mut self,
                flags: u8,
                body: &[u8],
            ) -> Result<rustzmq_codec::Command, $crate::MechanismError> {
                $crate::curve::with_codec(&mut self.core, &mut self.codec, |codec| codec.encode(flags, body))
            }

            fn decode_message(
                &mut self,
                command: &rustzmq_codec::Command,
            ) -> Result<(u8, bytes::Bytes), $crate::MechanismError> {
                $crate::curve::with_codec(&mut self.core, &mut self.codec, |codec| codec.decode(command))
            }

            fn encode_message_body(&mut self, flags: u8, body: &[u8]) -> Result<bytes::Bytes, $crate::MechanismError> {
                $crate::curve::with_codec(&mut self.core, &mut self.codec, |codec| codec.encode_body(flags, body))
            }

            fn encode_command_body(
                &mut self,
                command: &rustzmq_codec::Command,
            ) -> Result<bytes::Bytes, $crate::MechanismError> {
                $crate::curve::with_codec(&mut self.core, &mut self.codec, |codec| codec.encode_command_body(command))
            }

            fn decode_message_body(
                &mut self,
                body: bytes::Bytes,
            ) -> Result<(u8, bytes::Bytes), $crate::MechanismError> {
                $crate::curve::with_codec(&mut self.core, &mut self.codec, |codec| codec.decode_body(body))
            }
        });
    };
    (@impl $ty:ty, $encrypts:expr, { $($messages:tt)* }) => {
        impl $crate::Mechanism for $ty {
            fn mechanism(&self) -> rustzmq_codec::Mechanism {
                Self::MECHANISM
            }

            fn as_server(&self) -> bool {
                Self::AS_SERVER
            }

            fn next_command(&mut self) -> Option<rustzmq_codec::Command> {
                if self.core.failed.get().is_some() {
                    return self.core.final_error.take();
                }
                self.produce()
            }

            fn process_command(&mut self, command: &rustzmq_codec::Command) -> Result<(), $crate::MechanismError> {
                self.core.failed.check()?;
                let incoming = $crate::mechanism::Incoming::from_command(command);
                self.consume(incoming).map_err(|error| self.core.failed.fail(error))
            }

            fn process_command_body(&mut self, body: &bytes::Bytes) -> Result<(), $crate::MechanismError> {
                self.core.failed.check()?;
                match $crate::mechanism::Incoming::from_body(body) {
                    Ok(incoming) => self.consume(incoming).map_err(|error| self.core.failed.fail(error)),
                    Err(error) => Err(self.core.failed.fail(error)),
                }
            }

            fn status(&self) -> $crate::Status {
                if self.core.failed.get().is_some() {
                    $crate::Status::Failed
                } else if self.ready() {
                    $crate::Status::Ready
                } else {
                    $crate::Status::Handshaking
                }
            }

            fn error(&self) -> Option<&$crate::MechanismError> {
                self.core.failed.get()
            }

            fn peer_metadata(&self) -> Option<&rustzmq_codec::Metadata> {
                self.core.peer_metadata.as_ref()
            }

            fn zap_request(&mut self) -> Option<$crate::ZapRequest> {
                self.core.zap_pending.take()
            }

            fn awaiting_zap_reply(&self) -> bool {
                self.core.zap_awaiting.is_some()
            }

            fn process_zap_reply(&mut self, reply: &$crate::ZapReply) -> Result<(), $crate::MechanismError> {
                self.core.accept_zap_reply(reply)?;
                self.zap_accepted();
                Ok(())
            }

            fn process_zap_reply_frames(&mut self, frames: &[bytes::Bytes]) -> Result<(), $crate::MechanismError> {
                self.core.failed.check()?;
                match $crate::ZapReply::from_frames(frames) {
                    Ok(reply) => self.process_zap_reply(&reply),
                    Err(error) => Err(self.core.failed.fail(error.into())),
                }
            }

            fn zap_reply(&self) -> Option<&$crate::ZapReply> {
                self.core.zap_reply.as_ref()
            }

            fn encrypts(&self) -> bool {
                $encrypts
            }

            $($messages)*
        }
    };
}

pub(crate) use impl_mechanism;
