//! Helpers shared by the integration tests: a deterministic random number generator and a
//! driver that shuttles commands between two mechanisms in memory.

#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};
use rustzmq_codec::Command;
use rustzmq_security::{Mechanism, MechanismError, Status, ZapReply, ZapRequest};

/// Bytes `start, start + 1, ...` (wrapping): predictable key material for tests only.
pub struct CountingRng(pub u8);

impl TryRng for CountingRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            *byte = self.0;
            self.0 = self.0.wrapping_add(1);
        }
        Ok(())
    }
}

// Not cryptographically secure: a test fixture standing in for the OS generator.
impl TryCryptoRng for CountingRng {}

/// A small xorshift generator for deterministic "random" test data.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A ZAP handler for tests: answers each request with `decide(request)`.
pub type ZapHandler<'a> = &'a mut dyn FnMut(&ZapRequest) -> ZapReply;

/// Every command and the final outcome of a handshake run in memory.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Commands from the client to the server.
    pub client_sent: Vec<Command>,
    /// Commands from the server to the client.
    pub server_sent: Vec<Command>,
    /// ZAP requests the server made.
    pub zap_requests: Vec<ZapRequest>,
    pub client_error: Option<MechanismError>,
    pub server_error: Option<MechanismError>,
}

/// Runs a handshake until neither side makes progress. Commands go through their wire form
/// (encoded, then handed over as raw bodies) so that what is tested is what a peer would see.
pub fn run(client: &mut dyn Mechanism, server: &mut dyn Mechanism, mut zap: Option<ZapHandler<'_>>) -> Transcript {
    let mut transcript = Transcript::default();
    for _ in 0..16 {
        let mut progress = false;
        while let Some(command) = client.next_command() {
            progress = true;
            transcript.client_sent.push(command.clone());
            if let Err(error) = server.process_command_body(&body(&command)) {
                transcript.server_error.get_or_insert(error);
            }
        }
        if let Some(request) = server.zap_request() {
            progress = true;
            transcript.zap_requests.push(request.clone());
            if let Some(handler) = zap.as_mut() {
                if let Err(error) = server.process_zap_reply(&handler(&request)) {
                    transcript.server_error.get_or_insert(error);
                }
            }
        }
        while let Some(command) = server.next_command() {
            progress = true;
            transcript.server_sent.push(command.clone());
            if let Err(error) = client.process_command_body(&body(&command)) {
                transcript.client_error.get_or_insert(error);
            }
        }
        let done = |m: &dyn Mechanism| m.status() != Status::Handshaking;
        if !progress || (done(client) && done(server)) {
            break;
        }
    }
    transcript
}

/// The wire form of a command's frame body.
pub fn body(command: &Command) -> bytes::Bytes {
    let mut out = Vec::with_capacity(command.body_len());
    command.encode_body(&mut out);
    bytes::Bytes::from(out)
}
