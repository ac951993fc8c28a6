//! Errors of the mechanisms and of ZAP, with the libzmq monitor event each one maps to.

use core::fmt;

use bytes::Bytes;
use rustzmq_codec::MetadataError;

use crate::zap::{ZapError, ZapStatus};

/// The security commands an error can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandKind {
    /// HELLO (PLAIN, CURVE).
    Hello,
    /// WELCOME (PLAIN, CURVE).
    Welcome,
    /// INITIATE (PLAIN, CURVE).
    Initiate,
    /// READY (all mechanisms).
    Ready,
    /// ERROR (all mechanisms).
    Error,
    /// MESSAGE (CURVE traffic).
    Message,
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CommandKind::Hello => "HELLO",
            CommandKind::Welcome => "WELCOME",
            CommandKind::Initiate => "INITIATE",
            CommandKind::Ready => "READY",
            CommandKind::Error => "ERROR",
            CommandKind::Message => "MESSAGE",
        })
    }
}

/// Why a handshake (or CURVE traffic) failed. Once a mechanism has failed it stays failed:
/// every later call returns the same error, and the connection must be closed (after sending
/// the final ERROR command, if [`crate::Mechanism::next_command`] still yields one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MechanismError {
    /// A command this side does not expect now (wrong name, or right name in the wrong state).
    #[error("unexpected command {name:?}")]
    UnexpectedCommand {
        /// The command's name.
        name: Bytes,
    },
    /// A command frame too short for its own name.
    #[error("malformed command frame")]
    MalformedFrame,
    /// A command whose data does not have the mechanism's layout (size, fields).
    #[error("malformed {0} command")]
    Malformed(CommandKind),
    /// A CURVE HELLO with a version other than 1.0.
    #[error("unsupported CurveZMQ version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version the client sent.
        major: u8,
        /// Minor version the client sent.
        minor: u8,
    },
    /// A box of this command does not open (wrong key, tampered data), or a peer key of small
    /// order.
    #[error("cannot open the {0} box (wrong key or tampered data)")]
    Cryptographic(CommandKind),
    /// A CURVE cookie or vouch that opens but does not hold the keys of this handshake.
    #[error("CURVE key exchange mismatch (cookie or vouch)")]
    KeyExchange,
    /// The peer's metadata is malformed.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(#[from] MetadataError),
    /// A CURVE MESSAGE whose nonce is not above the last one received (a replay).
    #[error("CURVE nonce {nonce} not above the last one received ({last})")]
    InvalidSequence {
        /// The nonce of the refused message.
        nonce: u64,
        /// The highest nonce received so far.
        last: u64,
    },
    /// The peer sent ERROR: it refuses the connection.
    #[error("peer refused the handshake: {reason:?}")]
    PeerError {
        /// The peer's reason (libzmq sends the ZAP status code, e.g. `"400"`).
        reason: Bytes,
    },
    /// The ZAP handler refused the peer (300: temporary, no ERROR sent; 400, 500: ERROR sent).
    #[error("ZAP handler refused the peer with status {}", .0.code())]
    ZapDenied(ZapStatus),
    /// Authentication is required but no ZAP handler is available.
    #[error("ZAP required but no ZAP handler is bound")]
    NoZapHandler,
    /// The ZAP reply is malformed.
    #[error("malformed ZAP reply: {0}")]
    ZapReply(#[from] ZapError),
    /// The ZAP reply answers another request.
    #[error("ZAP reply with the wrong request id")]
    ZapRequestId,
    /// A ZAP reply arrived while none was expected.
    #[error("ZAP reply not expected")]
    UnexpectedZapReply,
    /// A configuration the mechanism cannot use (for example a PLAIN username over 255 bytes
    /// or a CURVE server key of small order).
    #[error("invalid mechanism configuration: {0}")]
    InvalidConfig(&'static str),
    /// Message encoding or decoding asked of a mechanism that is not ready.
    #[error("the handshake is not complete")]
    NotReady,
    /// Message encoding or decoding asked of a mechanism that does not encrypt (NULL, PLAIN).
    #[error("this mechanism does not encrypt messages")]
    NotEncrypting,
    /// The 64-bit CURVE nonce counter is exhausted (after 2^64 - 1 messages).
    #[error("CURVE nonce counter exhausted")]
    NonceExhausted,
    /// The random number generator failed.
    #[error("random number generator failed")]
    Random,
}

/// How libzmq reports a failed handshake to a socket monitor; see
/// [`MechanismError::monitor_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL` with this `ZMQ_PROTOCOL_ERROR_*` value.
    Protocol(u32),
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_AUTH` with this ZAP status code (300, 400, 500).
    Auth(u16),
    /// `ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL` (libzmq passes `EFAULT` when no ZAP handler).
    NoDetail,
}

/// `ZMQ_PROTOCOL_ERROR_*` values of libzmq 4.3's `zmq.h`.
pub mod protocol_error {
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`.
    pub const ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
    pub const ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`.
    pub const ZMTP_INVALID_SEQUENCE: u32 = 0x1000_0002;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE`.
    pub const ZMTP_KEY_EXCHANGE: u32 = 0x1000_0003;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`.
    pub const ZMTP_MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE`.
    pub const ZMTP_MALFORMED_COMMAND_MESSAGE: u32 = 0x1000_0012;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO`.
    pub const ZMTP_MALFORMED_COMMAND_HELLO: u32 = 0x1000_0013;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE`.
    pub const ZMTP_MALFORMED_COMMAND_INITIATE: u32 = 0x1000_0014;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR`.
    pub const ZMTP_MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY`.
    pub const ZMTP_MALFORMED_COMMAND_READY: u32 = 0x1000_0016;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME`.
    pub const ZMTP_MALFORMED_COMMAND_WELCOME: u32 = 0x1000_0017;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA`.
    pub const ZMTP_INVALID_METADATA: u32 = 0x1000_0018;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
    pub const ZMTP_CRYPTOGRAPHIC: u32 = 0x1100_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`.
    pub const ZMTP_MECHANISM_MISMATCH: u32 = 0x1100_0002;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED`.
    pub const ZAP_UNSPECIFIED: u32 = 0x2000_0000;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY`.
    pub const ZAP_MALFORMED_REPLY: u32 = 0x2000_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID`.
    pub const ZAP_BAD_REQUEST_ID: u32 = 0x2000_0002;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION`.
    pub const ZAP_BAD_VERSION: u32 = 0x2000_0003;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE`.
    pub const ZAP_INVALID_STATUS_CODE: u32 = 0x2000_0004;
    /// `ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA`.
    pub const ZAP_INVALID_METADATA: u32 = 0x2000_0005;
}

impl MechanismError {
    /// The monitor event libzmq 4.3 emits for this failure, if it emits one. Misuse of the API
    /// (`NotReady`, `InvalidConfig`...) and an ERROR whose reason is not a ZAP status code map
    /// to `None`.
    pub fn monitor_event(&self) -> Option<HandshakeFailure> {
        use protocol_error::*;
        use HandshakeFailure::{Auth, NoDetail, Protocol};
        Some(match self {
            MechanismError::UnexpectedCommand { .. } => Protocol(ZMTP_UNEXPECTED_COMMAND),
            MechanismError::MalformedFrame => Protocol(ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
            MechanismError::Malformed(kind) => Protocol(match kind {
                CommandKind::Hello => ZMTP_MALFORMED_COMMAND_HELLO,
                CommandKind::Welcome => ZMTP_MALFORMED_COMMAND_WELCOME,
                CommandKind::Initiate => ZMTP_MALFORMED_COMMAND_INITIATE,
                CommandKind::Ready => ZMTP_MALFORMED_COMMAND_READY,
                CommandKind::Error => ZMTP_MALFORMED_COMMAND_ERROR,
                CommandKind::Message => ZMTP_MALFORMED_COMMAND_MESSAGE,
            }),
            MechanismError::UnsupportedVersion { .. } => Protocol(ZMTP_MALFORMED_COMMAND_HELLO),
            MechanismError::Cryptographic(_) => Protocol(ZMTP_CRYPTOGRAPHIC),
            MechanismError::KeyExchange => Protocol(ZMTP_KEY_EXCHANGE),
            MechanismError::InvalidMetadata(_) => Protocol(ZMTP_INVALID_METADATA),
            MechanismError::InvalidSequence { .. } => Protocol(ZMTP_INVALID_SEQUENCE),
            MechanismError::PeerError { reason } => return zap_code(reason).map(Auth),
            MechanismError::ZapDenied(status) => Auth(status.code()),
            MechanismError::NoZapHandler => NoDetail,
            MechanismError::ZapReply(error) => Protocol(match error {
                ZapError::Delimiter => ZAP_UNSPECIFIED,
                ZapError::Version => ZAP_BAD_VERSION,
                ZapError::StatusCode => ZAP_INVALID_STATUS_CODE,
                ZapError::Metadata(_) => ZAP_INVALID_METADATA,
                _ => ZAP_MALFORMED_REPLY,
            }),
            MechanismError::ZapRequestId => Protocol(ZAP_BAD_REQUEST_ID),
            _ => return None,
        })
    }
}

/// The ZAP status code an ERROR reason carries (`"300"`, `"400"`, `"500"`), as libzmq reads it.
fn zap_code(reason: &[u8]) -> Option<u16> {
    match reason {
        [digit @ b'3'..=b'5', b'0', b'0'] => Some(u16::from(digit - b'0') * 100),
        _ => None,
    }
}

/// Where a mechanism is in its handshake; see [`crate::Mechanism::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Commands remain to be exchanged (or a ZAP reply to be received).
    Handshaking,
    /// The handshake is complete: messages may flow, the peer's metadata is known.
    Ready,
    /// The handshake failed; [`crate::Mechanism::error`] says why. Send the final ERROR
    /// command if [`crate::Mechanism::next_command`] yields one, then close.
    Failed,
}

/// The first error a state machine met, kept: once failed, it stays failed and every later
/// call reports the same error.
#[derive(Debug, Default)]
pub(crate) struct StickyError(Option<MechanismError>);

impl StickyError {
    /// Records `error` unless an earlier one is recorded, and returns the recorded one.
    pub(crate) fn fail(&mut self, error: MechanismError) -> MechanismError {
        self.0.get_or_insert(error).clone()
    }

    /// `Err` with the recorded error, if any.
    pub(crate) fn check(&self) -> Result<(), MechanismError> {
        match &self.0 {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// The recorded error, if any.
    pub(crate) fn get(&self) -> Option<&MechanismError> {
        self.0.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reasons_map_to_auth_events_like_libzmq() {
        let peer = |r: &'static [u8]| MechanismError::PeerError { reason: Bytes::from_static(r) }.monitor_event();
        assert_eq!(peer(b"400"), Some(HandshakeFailure::Auth(400)));
        assert_eq!(peer(b"300"), Some(HandshakeFailure::Auth(300)));
        assert_eq!(peer(b"200"), None);
        assert_eq!(peer(b"Invalid socket type"), None);
        assert_eq!(
            MechanismError::Cryptographic(CommandKind::Welcome).monitor_event(),
            Some(HandshakeFailure::Protocol(protocol_error::ZMTP_CRYPTOGRAPHIC))
        );
        assert_eq!(MechanismError::NotReady.monitor_event(), None);
    }

    #[test]
    fn the_first_error_sticks() {
        let mut sticky = StickyError::default();
        assert_eq!(sticky.check(), Ok(()));
        assert_eq!(sticky.get(), None);
        assert_eq!(sticky.fail(MechanismError::NoZapHandler), MechanismError::NoZapHandler);
        assert_eq!(
            sticky.fail(MechanismError::NonceExhausted),
            MechanismError::NoZapHandler,
            "a later error is not kept"
        );
        assert_eq!(sticky.check(), Err(MechanismError::NoZapHandler));
        assert_eq!(sticky.get(), Some(&MechanismError::NoZapHandler));
    }
}
