//! Commands (RFC 23 §"Commands", RFC 37).
//!
//! A command frame's body is a length-prefixed name followed by command data:
//!
//! ```text
//! command-body = command-name command-data
//! command-name = OCTET 1*255command-name-char   ; command-name-char = ALPHA
//! ```
//!
//! The connection commands are typed here. The security commands (HELLO, WELCOME,
//! INITIATE, MESSAGE) keep their data opaque: `rustzmq-security` parses it. Unknown commands
//! are kept by name so the engine can decide (libzmq ignores some, fails on others).

use bytes::{BufMut, Bytes};

use crate::error::CommandError;
use crate::metadata::Metadata;

/// Most bytes of context a PING or PONG may carry (RFC 37).
pub const MAX_PING_CONTEXT: usize = 16;

/// A ZMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// READY: ends the NULL and PLAIN handshakes, carrying metadata (Socket-Type, Identity...).
    Ready(Metadata),
    /// ERROR: the peer refuses the connection; the reason is at most 255 bytes.
    Error {
        /// Human-readable reason (libzmq sends e.g. "Invalid socket type").
        reason: Bytes,
    },
    /// SUBSCRIBE (ZMTP 3.1): the subscription prefix.
    Subscribe(Bytes),
    /// CANCEL (ZMTP 3.1): the subscription prefix to drop.
    Cancel(Bytes),
    /// PING (ZMTP 3.1): heartbeat.
    Ping {
        /// Time-to-live in tenths of a second the sender asks the receiver to apply.
        ttl: u16,
        /// Up to 16 bytes the receiver echoes in its PONG.
        context: Bytes,
    },
    /// PONG (ZMTP 3.1): answer to PING with its context.
    Pong {
        /// The context of the PING being answered.
        context: Bytes,
    },
    /// HELLO (PLAIN, CURVE): opaque mechanism data.
    Hello(Bytes),
    /// WELCOME (PLAIN, CURVE): opaque mechanism data.
    Welcome(Bytes),
    /// INITIATE (PLAIN, CURVE): opaque mechanism data.
    Initiate(Bytes),
    /// MESSAGE (CURVE traffic): opaque boxed frame.
    Message(Bytes),
    /// Any other command, by name.
    Other {
        /// The command name (1..=255 ASCII letters).
        name: Bytes,
        /// The command data.
        data: Bytes,
    },
}

impl Command {
    /// The command's name as sent on the wire.
    pub fn name(&self) -> &[u8] {
        match self {
            Command::Ready(_) => b"READY",
            Command::Error { .. } => b"ERROR",
            Command::Subscribe(_) => b"SUBSCRIBE",
            Command::Cancel(_) => b"CANCEL",
            Command::Ping { .. } => b"PING",
            Command::Pong { .. } => b"PONG",
            Command::Hello(_) => b"HELLO",
            Command::Welcome(_) => b"WELCOME",
            Command::Initiate(_) => b"INITIATE",
            Command::Message(_) => b"MESSAGE",
            Command::Other { name, .. } => name,
        }
    }

    /// For commands whose data is one opaque byte string, that string; the encoder can then
    /// send a large one without copying it.
    pub fn opaque_data(&self) -> Option<&Bytes> {
        match self {
            Command::Subscribe(data)
            | Command::Cancel(data)
            | Command::Hello(data)
            | Command::Welcome(data)
            | Command::Initiate(data)
            | Command::Message(data)
            | Command::Other { data, .. } => Some(data),
            Command::Ready(_) | Command::Error { .. } | Command::Ping { .. } | Command::Pong { .. } => None,
        }
    }

    /// Length of the command data (after the name).
    pub fn data_len(&self) -> usize {
        match self {
            Command::Ready(metadata) => metadata.encoded_len(),
            Command::Error { reason } => 1 + reason.len(),
            Command::Ping { context, .. } => 2 + context.len(),
            Command::Pong { context } => context.len(),
            other => other.opaque_data().map_or(0, Bytes::len),
        }
    }

    /// Length of the whole command frame body: name length byte, name and data.
    pub fn body_len(&self) -> usize {
        1 + self.name().len() + self.data_len()
    }

    /// Checks what the wire form cannot carry: a name that is not 1..=255 letters, an ERROR
    /// reason over 255 bytes, a PING/PONG context over 16 bytes.
    pub fn validate(&self) -> Result<(), CommandError> {
        if !is_valid_name(self.name()) {
            return Err(CommandError::InvalidName);
        }
        match self {
            Command::Error { reason } if reason.len() > 255 => Err(CommandError::MalformedError),
            Command::Ping { context, .. } if context.len() > MAX_PING_CONTEXT => Err(CommandError::MalformedPing),
            Command::Pong { context } if context.len() > MAX_PING_CONTEXT => Err(CommandError::MalformedPong),
            _ => Ok(()),
        }
    }

    /// Writes the name length, the name and then the data except for what
    /// [`Command::opaque_data`] returns, which the caller appends (or sends separately).
    pub(crate) fn encode_prefix(&self, out: &mut impl BufMut) {
        let name = self.name();
        out.put_u8(name.len() as u8);
        out.put_slice(name);
        match self {
            Command::Ready(metadata) => metadata.encode(out),
            Command::Error { reason } => {
                out.put_u8(reason.len() as u8);
                out.put_slice(reason);
            }
            Command::Ping { ttl, context } => {
                out.put_u16(*ttl);
                out.put_slice(context);
            }
            Command::Pong { context } => out.put_slice(context),
            _ => {}
        }
    }

    /// Appends the whole command frame body (not the frame header) to `out`.
    /// Call [`Command::validate`] first for commands built from untrusted values.
    pub fn encode_body(&self, out: &mut impl BufMut) {
        self.encode_prefix(out);
        if let Some(data) = self.opaque_data() {
            out.put_slice(data);
        }
    }

    /// Parses a command frame body. Data is sliced from `body` without copying.
    pub fn parse(body: &Bytes) -> Result<Command, CommandError> {
        let name_len = usize::from(*body.first().ok_or(CommandError::TruncatedName)?);
        if 1 + name_len > body.len() {
            return Err(CommandError::TruncatedName);
        }
        let name = &body[1..1 + name_len];
        if !is_valid_name(name) {
            return Err(CommandError::InvalidName);
        }
        let data = body.slice(1 + name_len..);
        Ok(match name {
            b"READY" => Command::Ready(Metadata::parse(&data)?),
            b"ERROR" => {
                // libzmq accepts trailing bytes after the reason; so do we.
                let reason_len = usize::from(*data.first().ok_or(CommandError::MalformedError)?);
                if reason_len > data.len() - 1 {
                    return Err(CommandError::MalformedError);
                }
                Command::Error { reason: data.slice(1..1 + reason_len) }
            }
            b"SUBSCRIBE" => Command::Subscribe(data),
            b"CANCEL" => Command::Cancel(data),
            b"PING" => {
                if data.len() < 2 || data.len() - 2 > MAX_PING_CONTEXT {
                    return Err(CommandError::MalformedPing);
                }
                Command::Ping { ttl: u16::from_be_bytes([data[0], data[1]]), context: data.slice(2..) }
            }
            b"PONG" => {
                if data.len() > MAX_PING_CONTEXT {
                    return Err(CommandError::MalformedPong);
                }
                Command::Pong { context: data }
            }
            b"HELLO" => Command::Hello(data),
            b"WELCOME" => Command::Welcome(data),
            b"INITIATE" => Command::Initiate(data),
            b"MESSAGE" => Command::Message(data),
            _ => Command::Other { name: body.slice(1..1 + name_len), data },
        })
    }
}

fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= 255 && name.iter().all(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    fn body(cmd: &Command) -> Vec<u8> {
        let mut out = Vec::new();
        cmd.encode_body(&mut out);
        assert_eq!(out.len(), cmd.body_len());
        out
    }

    #[test]
    fn ready_with_socket_type_is_byte_exact() {
        let mut md = Metadata::new();
        md.insert(&b"Socket-Type"[..], &b"PAIR"[..]).unwrap();
        let cmd = Command::Ready(md);
        let wire = body(&cmd);
        assert_eq!(&wire[..6], b"\x05READY");
        assert_eq!(&wire[6..], b"\x0bSocket-Type\x00\x00\x00\x04PAIR");
        assert_eq!(Command::parse(&Bytes::from(wire)).unwrap(), cmd);
    }

    #[test]
    fn ping_and_pong_layout() {
        let ping = Command::Ping { ttl: 300, context: Bytes::from_static(b"ctx") };
        assert_eq!(body(&ping), b"\x04PING\x01\x2cctx");
        let pong = Command::Pong { context: Bytes::from_static(b"ctx") };
        assert_eq!(body(&pong), b"\x04PONGctx");
        assert_eq!(Command::parse(&Bytes::from_static(b"\x04PING\x00")), Err(CommandError::MalformedPing));
        assert_eq!(
            Command::parse(&Bytes::from_static(b"\x04PING\x00\x01aaaaaaaaaaaaaaaaa")),
            Err(CommandError::MalformedPing),
            "17 bytes of context"
        );
        assert!(Command::parse(&Bytes::from_static(b"\x04PING\x00\x01aaaaaaaaaaaaaaaa")).is_ok());
    }

    #[test]
    fn error_layout_and_truncation() {
        let cmd = Command::Error { reason: Bytes::from_static(b"Invalid socket type") };
        let wire = body(&cmd);
        assert_eq!(&wire[..7], b"\x05ERROR\x13");
        assert_eq!(Command::parse(&Bytes::from(wire)).unwrap(), cmd);
        assert_eq!(Command::parse(&Bytes::from_static(b"\x05ERROR")), Err(CommandError::MalformedError));
        assert_eq!(Command::parse(&Bytes::from_static(b"\x05ERROR\x05abc")), Err(CommandError::MalformedError));
    }

    #[test]
    fn subscribe_and_cancel_carry_the_topic() {
        assert_eq!(body(&Command::Subscribe(Bytes::from_static(b"topic"))), b"\x09SUBSCRIBEtopic");
        assert_eq!(body(&Command::Cancel(Bytes::new())), b"\x06CANCEL");
    }

    #[test]
    fn names_are_validated() {
        assert_eq!(Command::parse(&Bytes::new()), Err(CommandError::TruncatedName));
        assert_eq!(Command::parse(&Bytes::from_static(b"\x00")), Err(CommandError::InvalidName));
        assert_eq!(Command::parse(&Bytes::from_static(b"\x05READ")), Err(CommandError::TruncatedName));
        assert_eq!(Command::parse(&Bytes::from_static(b"\x04RE4D")), Err(CommandError::InvalidName));
        let other = Command::parse(&Bytes::from_static(b"\x03FOOdata")).unwrap();
        assert_eq!(other, Command::Other { name: Bytes::from_static(b"FOO"), data: Bytes::from_static(b"data") });
        assert!(Command::Other { name: Bytes::from_static(b"X1"), data: Bytes::new() }.validate().is_err());
    }

    #[test]
    fn security_commands_are_opaque() {
        for (cmd, name) in [
            (Command::Hello(Bytes::from_static(b"\x01\x00")), &b"HELLO"[..]),
            (Command::Welcome(Bytes::from_static(b"w")), b"WELCOME"),
            (Command::Initiate(Bytes::from_static(b"i")), b"INITIATE"),
            (Command::Message(Bytes::from_static(b"m")), b"MESSAGE"),
        ] {
            assert_eq!(cmd.name(), name);
            let wire = Bytes::from(body(&cmd));
            assert_eq!(Command::parse(&wire).unwrap(), cmd);
        }
    }
}
