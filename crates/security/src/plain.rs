//! The PLAIN mechanism ([RFC 24]): a username and a password in clear, checked by the
//! server's ZAP handler.
//!
//! ```text
//! C: HELLO    = username-length username password-length password   (lengths: one byte)
//! S: WELCOME  = (no data)                                            after ZAP said 200
//! C: INITIATE = metadata
//! S: READY    = metadata
//! S: ERROR    = reason (libzmq: the ZAP status code "400" or "500")
//! ```
//!
//! [RFC 24]: https://rfc.zeromq.org/spec/24/

use alloc::vec;

use bytes::{BufMut, Bytes, BytesMut};
use rustzmq_codec::{Command, Metadata};

use crate::error::{CommandKind, MechanismError};
use crate::mechanism::{impl_mechanism, Core, Incoming, SocketProperties};
use crate::zap::{ZapConfig, ZapDecision, ZapPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    SendHello,
    ExpectWelcome,
    SendInitiate,
    ExpectReady,
    Ready,
}

/// The client side of PLAIN (ZMQ_PLAIN_USERNAME, ZMQ_PLAIN_PASSWORD).
pub struct PlainClient {
    core: Core,
    metadata: Metadata,
    username: Bytes,
    password: Bytes,
    state: ClientState,
}

impl PlainClient {
    const MECHANISM: rustzmq_codec::Mechanism = rustzmq_codec::Mechanism::PLAIN;
    const AS_SERVER: bool = false;

    /// A PLAIN client sending these credentials (each at most 255 bytes).
    pub fn new(
        properties: SocketProperties,
        username: impl Into<Bytes>,
        password: impl Into<Bytes>,
    ) -> Result<PlainClient, MechanismError> {
        let (username, password) = (username.into(), password.into());
        if username.len() > 255 || password.len() > 255 {
            return Err(MechanismError::InvalidConfig("PLAIN username and password are at most 255 bytes"));
        }
        Ok(PlainClient {
            metadata: properties.metadata()?,
            core: Core::new(ZapConfig::default(), properties.routing_id),
            username,
            password,
            state: ClientState::SendHello,
        })
    }

    fn produce(&mut self) -> Option<Command> {
        match self.state {
            ClientState::SendHello => {
                self.state = ClientState::ExpectWelcome;
                let mut data = BytesMut::with_capacity(2 + self.username.len() + self.password.len());
                // Both lengths were checked by `new`.
                data.put_u8(self.username.len() as u8);
                data.put_slice(&self.username);
                data.put_u8(self.password.len() as u8);
                data.put_slice(&self.password);
                Some(Command::Hello(data.freeze()))
            }
            ClientState::SendInitiate => {
                self.state = ClientState::ExpectReady;
                let mut data = BytesMut::with_capacity(self.metadata.encoded_len());
                self.metadata.encode(&mut data);
                Some(Command::Initiate(data.freeze()))
            }
            _ => None,
        }
    }

    fn consume(&mut self, command: Incoming) -> Result<(), MechanismError> {
        match self.state {
            ClientState::ExpectWelcome if command.is(b"WELCOME") => {
                if !command.data.is_empty() {
                    return Err(MechanismError::Malformed(CommandKind::Welcome));
                }
                self.state = ClientState::SendInitiate;
                Ok(())
            }
            ClientState::ExpectReady if command.is(b"READY") => {
                self.core.set_peer_metadata(&command.data)?;
                self.state = ClientState::Ready;
                Ok(())
            }
            ClientState::ExpectWelcome | ClientState::ExpectReady if command.is(b"ERROR") => {
                Err(command.error_reason())
            }
            _ => Err(command.unexpected()),
        }
    }

    fn ready(&self) -> bool {
        self.state == ClientState::Ready
    }

    fn zap_accepted(&mut self) {}
}

impl_mechanism!(PlainClient);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    ExpectHello,
    AwaitZap,
    SendWelcome,
    ExpectInitiate,
    SendReady,
    Ready,
}

/// The server side of PLAIN (ZMQ_PLAIN_SERVER). Every HELLO goes to the ZAP handler, which
/// libzmq 4.3 requires: without one ([`ZapConfig::handler_present`] false) the handshake fails
/// with [`MechanismError::NoZapHandler`] and no ERROR.
pub struct PlainServer {
    core: Core,
    metadata: Metadata,
    state: ServerState,
}

impl PlainServer {
    const MECHANISM: rustzmq_codec::Mechanism = rustzmq_codec::Mechanism::PLAIN;
    const AS_SERVER: bool = true;

    /// A PLAIN server announcing `properties`, asking ZAP as `zap` says.
    pub fn new(properties: SocketProperties, zap: ZapConfig) -> Result<PlainServer, MechanismError> {
        Ok(PlainServer {
            metadata: properties.metadata()?,
            core: Core::new(zap, properties.routing_id),
            state: ServerState::ExpectHello,
        })
    }

    fn produce(&mut self) -> Option<Command> {
        match self.state {
            ServerState::SendWelcome => {
                self.state = ServerState::ExpectInitiate;
                Some(Command::Welcome(Bytes::new()))
            }
            ServerState::SendReady => {
                self.state = ServerState::Ready;
                Some(Command::Ready(self.metadata.clone()))
            }
            _ => None,
        }
    }

    fn consume(&mut self, command: Incoming) -> Result<(), MechanismError> {
        match self.state {
            ServerState::ExpectHello if command.is(b"HELLO") => {
                let (username, password) = parse_hello(&command.data)?;
                if self.core.zap.decide(ZapPolicy::Plain) != ZapDecision::Ask {
                    return Err(MechanismError::NoZapHandler);
                }
                self.core.ask_zap(b"PLAIN", vec![username, password]);
                self.state = ServerState::AwaitZap;
                Ok(())
            }
            ServerState::ExpectInitiate if command.is(b"INITIATE") => {
                self.core.set_peer_metadata(&command.data)?;
                self.state = ServerState::SendReady;
                Ok(())
            }
            _ => Err(command.unexpected()),
        }
    }

    fn ready(&self) -> bool {
        self.state == ServerState::Ready
    }

    fn zap_accepted(&mut self) {
        self.state = ServerState::SendWelcome;
    }
}

impl_mechanism!(PlainServer);

/// Splits HELLO data into username and password; the password must end the command exactly.
fn parse_hello(data: &Bytes) -> Result<(Bytes, Bytes), MechanismError> {
    let malformed = MechanismError::Malformed(CommandKind::Hello);
    let username_len = usize::from(*data.first().ok_or(malformed.clone())?);
    let password_pos = 1 + username_len;
    let password_len = usize::from(*data.get(password_pos).ok_or(malformed.clone())?);
    if data.len() != password_pos + 1 + password_len {
        return Err(malformed);
    }
    Ok((data.slice(1..password_pos), data.slice(password_pos + 1..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_layout() {
        let mut client = PlainClient::new(SocketProperties::new("DEALER"), "admin", "secret").unwrap();
        let hello = client.produce().unwrap();
        assert_eq!(hello, Command::Hello(Bytes::from_static(b"\x05admin\x06secret")));
        let mut body = alloc::vec::Vec::new();
        hello.encode_body(&mut body);
        assert_eq!(body, b"\x05HELLO\x05admin\x06secret");
    }

    #[test]
    fn hello_parsing_is_exact() {
        assert_eq!(
            parse_hello(&Bytes::from_static(b"\x01a\x02bc")).unwrap(),
            (Bytes::from_static(b"a"), Bytes::from_static(b"bc"))
        );
        assert_eq!(parse_hello(&Bytes::from_static(b"\x00\x00")).unwrap(), (Bytes::new(), Bytes::new()));
        for bad in [&b""[..], b"\x01", b"\x01a", b"\x01a\x02b", b"\x01a\x02bcd", b"\x05ab\x00"] {
            assert_eq!(
                parse_hello(&Bytes::copy_from_slice(bad)),
                Err(MechanismError::Malformed(CommandKind::Hello)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn credentials_over_255_bytes_are_refused() {
        let long = Bytes::from(alloc::vec![b'x'; 256]);
        assert!(PlainClient::new(SocketProperties::new("PAIR"), long.clone(), "").is_err());
        assert!(PlainClient::new(SocketProperties::new("PAIR"), "", long).is_err());
    }
}
