//! The NULL mechanism (RFC 23): both sides send READY with their metadata; no roles, no
//! cryptography. With a ZAP domain set, libzmq asks the handler (mechanism `"NULL"`, no
//! credentials) before sending its READY.

use rustzmq_codec::{Command, Metadata};

use crate::error::MechanismError;
use crate::mechanism::{impl_mechanism, Core, Incoming, SocketProperties};
use crate::zap::{ZapConfig, ZapDecision, ZapPolicy};

/// The NULL handshake of one side.
///
/// ```
/// use rustzmq_security::{Mechanism, NullMechanism, SocketProperties, Status, ZapConfig};
///
/// let mut a = NullMechanism::new(SocketProperties::new("PUSH"), ZapConfig::default())?;
/// let mut b = NullMechanism::new(SocketProperties::new("PULL"), ZapConfig::default())?;
/// let ready_a = a.next_command().unwrap();
/// let ready_b = b.next_command().unwrap();
/// a.process_command(&ready_b)?;
/// b.process_command(&ready_a)?;
/// assert_eq!(a.status(), Status::Ready);
/// assert_eq!(a.peer_metadata().unwrap().get("Socket-Type").unwrap(), &b"PULL"[..]);
/// # Ok::<(), rustzmq_security::MechanismError>(())
/// ```
pub struct NullMechanism {
    core: Core,
    metadata: Metadata,
    ready_sent: bool,
}

impl NullMechanism {
    const MECHANISM: rustzmq_codec::Mechanism = rustzmq_codec::Mechanism::NULL;
    const AS_SERVER: bool = false;

    /// A NULL handshake announcing `properties`. With a ZAP domain and a handler it first asks
    /// ZAP ([`crate::Mechanism::zap_request`]); with a domain, no handler and
    /// `enforce_domain` it fails at once ([`MechanismError::NoZapHandler`]).
    pub fn new(properties: SocketProperties, zap: ZapConfig) -> Result<NullMechanism, MechanismError> {
        let metadata = properties.metadata()?;
        let decision = zap.decide(ZapPolicy::Null);
        let mut core = Core::new(zap, properties.routing_id);
        match decision {
            ZapDecision::Skip => {}
            ZapDecision::Ask => core.ask_zap(b"NULL", alloc::vec::Vec::new()),
            ZapDecision::Refuse => {
                core.failed.fail(MechanismError::NoZapHandler);
            }
        }
        Ok(NullMechanism { core, metadata, ready_sent: false })
    }

    fn produce(&mut self) -> Option<Command> {
        if self.ready_sent || self.core.zap_awaiting.is_some() {
            return None;
        }
        self.ready_sent = true;
        Some(Command::Ready(self.metadata.clone()))
    }

    fn consume(&mut self, command: Incoming) -> Result<(), MechanismError> {
        if command.is(b"READY") && self.core.peer_metadata.is_none() {
            self.core.set_peer_metadata(&command.data)
        } else if command.is(b"ERROR") && self.core.peer_metadata.is_none() {
            Err(command.error_reason())
        } else {
            Err(command.unexpected())
        }
    }

    fn ready(&self) -> bool {
        self.ready_sent && self.core.peer_metadata.is_some()
    }

    fn zap_accepted(&mut self) {}
}

impl_mechanism!(NullMechanism);
