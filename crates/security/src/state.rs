//! [`MechanismState`]: the mechanism of a connection chosen at run time from socket options.

use bytes::Bytes;
use rand_core::TryCryptoRng;
use rustzmq_codec::{Command, Metadata};

use crate::curve::{CurveClient, CurveServer};
use crate::error::{MechanismError, Status};
use crate::keys::{CurveKeyPair, CurvePublicKey, CurveSecretKey};
use crate::mechanism::{Mechanism, SocketProperties};
use crate::null::NullMechanism;
use crate::plain::{PlainClient, PlainServer};
use crate::zap::{ZapConfig, ZapReply, ZapRequest};

/// The security options of a socket, as libzmq's ZMQ_PLAIN_* and ZMQ_CURVE_* options set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// NULL (the default).
    Null,
    /// PLAIN client (ZMQ_PLAIN_USERNAME, ZMQ_PLAIN_PASSWORD).
    PlainClient {
        /// At most 255 bytes.
        username: Bytes,
        /// At most 255 bytes.
        password: Bytes,
    },
    /// PLAIN server (ZMQ_PLAIN_SERVER).
    PlainServer,
    /// CURVE client (ZMQ_CURVE_SERVERKEY with ZMQ_CURVE_PUBLICKEY and ZMQ_CURVE_SECRETKEY).
    CurveClient {
        /// The client's long-term key pair.
        keypair: CurveKeyPair,
        /// The server's long-term public key.
        server_key: CurvePublicKey,
    },
    /// CURVE server (ZMQ_CURVE_SERVER with ZMQ_CURVE_SECRETKEY).
    CurveServer {
        /// The server's long-term secret key.
        secret_key: CurveSecretKey,
    },
}

/// Everything a connection's mechanism is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// What the local socket announces.
    pub properties: SocketProperties,
    /// ZAP inputs (used by servers and, with a domain, by NULL).
    pub zap: ZapConfig,
    /// The mechanism and its credentials.
    pub security: Security,
}

/// One of the five mechanisms, chosen at run time: what an engine keeps for a connection.
/// Implements [`Mechanism`] by delegation. CURVE variants are boxed (they hold key material
/// and a few hundred bytes of state).
pub enum MechanismState {
    /// NULL.
    Null(NullMechanism),
    /// PLAIN, client side.
    PlainClient(PlainClient),
    /// PLAIN, server side.
    PlainServer(PlainServer),
    /// CURVE, client side.
    CurveClient(alloc::boxed::Box<CurveClient>),
    /// CURVE, server side.
    CurveServer(alloc::boxed::Box<CurveServer>),
}

impl MechanismState {
    /// The mechanism `config` asks for, with CURVE randomness from the operating system.
    #[cfg(feature = "os-rng")]
    #[cfg_attr(docsrs, doc(cfg(feature = "os-rng")))]
    pub fn new(config: Config) -> Result<MechanismState, MechanismError> {
        MechanismState::with_rng(config, &mut getrandom::SysRng)
    }

    /// The mechanism `config` asks for, with CURVE randomness from `rng`.
    pub fn with_rng<R: TryCryptoRng + ?Sized>(config: Config, rng: &mut R) -> Result<MechanismState, MechanismError> {
        let Config { properties, zap, security } = config;
        Ok(match security {
            Security::Null => MechanismState::Null(NullMechanism::new(properties, zap)?),
            Security::PlainClient { username, password } => {
                MechanismState::PlainClient(PlainClient::new(properties, username, password)?)
            }
            Security::PlainServer => MechanismState::PlainServer(PlainServer::new(properties, zap)?),
            Security::CurveClient { keypair, server_key } => MechanismState::CurveClient(alloc::boxed::Box::new(
                CurveClient::with_rng(properties, keypair, server_key, rng)?,
            )),
            Security::CurveServer { secret_key } => MechanismState::CurveServer(alloc::boxed::Box::new(
                CurveServer::with_rng(properties, secret_key, zap, rng)?,
            )),
        })
    }

    fn inner(&self) -> &dyn Mechanism {
        match self {
            MechanismState::Null(m) => m,
            MechanismState::PlainClient(m) => m,
            MechanismState::PlainServer(m) => m,
            MechanismState::CurveClient(m) => &**m,
            MechanismState::CurveServer(m) => &**m,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Mechanism {
        match self {
            MechanismState::Null(m) => m,
            MechanismState::PlainClient(m) => m,
            MechanismState::PlainServer(m) => m,
            MechanismState::CurveClient(m) => &mut **m,
            MechanismState::CurveServer(m) => &mut **m,
        }
    }
}

impl Mechanism for MechanismState {
    fn mechanism(&self) -> rustzmq_codec::Mechanism {
        self.inner().mechanism()
    }

    fn as_server(&self) -> bool {
        self.inner().as_server()
    }

    fn next_command(&mut self) -> Option<Command> {
        self.inner_mut().next_command()
    }

    fn process_command(&mut self, command: &Command) -> Result<(), MechanismError> {
        self.inner_mut().process_command(command)
    }

    fn process_command_body(&mut self, body: &Bytes) -> Result<(), MechanismError> {
        self.inner_mut().process_command_body(body)
    }

    fn status(&self) -> Status {
        self.inner().status()
    }

    fn error(&self) -> Option<&MechanismError> {
        self.inner().error()
    }

    fn peer_metadata(&self) -> Option<&Metadata> {
        self.inner().peer_metadata()
    }

    fn zap_request(&mut self) -> Option<ZapRequest> {
        self.inner_mut().zap_request()
    }

    fn awaiting_zap_reply(&self) -> bool {
        self.inner().awaiting_zap_reply()
    }

    fn process_zap_reply(&mut self, reply: &ZapReply) -> Result<(), MechanismError> {
        self.inner_mut().process_zap_reply(reply)
    }

    fn process_zap_reply_frames(&mut self, frames: &[Bytes]) -> Result<(), MechanismError> {
        self.inner_mut().process_zap_reply_frames(frames)
    }

    fn zap_reply(&self) -> Option<&ZapReply> {
        self.inner().zap_reply()
    }

    fn encrypts(&self) -> bool {
        self.inner().encrypts()
    }

    fn encode_message(&mut self, flags: u8, body: &[u8]) -> Result<Command, MechanismError> {
        self.inner_mut().encode_message(flags, body)
    }

    fn decode_message(&mut self, command: &Command) -> Result<(u8, Bytes), MechanismError> {
        self.inner_mut().decode_message(command)
    }

    fn encode_message_body(&mut self, flags: u8, body: &[u8]) -> Result<Bytes, MechanismError> {
        self.inner_mut().encode_message_body(flags, body)
    }

    fn encode_command_body(&mut self, command: &Command) -> Result<Bytes, MechanismError> {
        self.inner_mut().encode_command_body(command)
    }

    fn decode_message_body(&mut self, body: Bytes) -> Result<(u8, Bytes), MechanismError> {
        self.inner_mut().decode_message_body(body)
    }
}
