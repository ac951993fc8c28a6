//! The security mechanisms (NULL, PLAIN, CURVE; client or server) fed arbitrary sequences of
//! commands: the honest peer's next command, that command mutated or truncated, raw bytes,
//! ZAP replies, and (once ready) MESSAGE commands, fresh, tampered or replayed.
//!
//! Invariants: nothing panics; the first error is sticky (status Failed, `error()` returns it,
//! every later call fails with it, `next_command` yields at most one final ERROR); a message
//! the honest peer boxes opens to what it boxed.
#![no_main]

use std::convert::Infallible;

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rand_core::{TryCryptoRng, TryRng};
use rustzmq_codec::Command;
use rustzmq_security::{
    Config, CurveKeyPair, CurveSecretKey, Mechanism, MechanismError, MechanismState, Security, SocketProperties,
    Status, ZapConfig, ZapStatus,
};

/// Deterministic key material, so that a crash reproduces.
struct CountingRng(u8);

impl TryRng for CountingRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            *byte = self.0;
            self.0 = self.0.wrapping_add(1);
        }
        Ok(())
    }
}

impl TryCryptoRng for CountingRng {}

#[derive(Debug, Arbitrary)]
enum Op {
    /// The honest peer's next command, as it is.
    Genuine,
    /// The honest peer's next command with one byte changed.
    Mutated { position: u16, xor: u8 },
    /// The honest peer's next command cut short.
    Truncated { len: u16 },
    /// Arbitrary bytes as a command body.
    Raw(Vec<u8>),
    /// An answer to the victim's ZAP request.
    Zap { status: u8, right_id: bool },
    /// A MESSAGE from the honest peer (when both are ready), possibly tampered or replayed.
    Message { flags: u8, body: Vec<u8>, tamper: Option<u16>, replay: bool },
}

#[derive(Debug, Arbitrary)]
struct Input {
    mechanism: u8,
    victim_is_server: bool,
    zap_handler: bool,
    zap_domain: bool,
    ops: Vec<Op>,
}

fn body(command: &Command) -> Vec<u8> {
    let mut out = Vec::new();
    command.encode_body(&mut out);
    out
}

fn build(input: &Input) -> (MechanismState, MechanismState) {
    let server_secret = CurveSecretKey::from_bytes([42; 32]);
    let (client, server) = match input.mechanism % 3 {
        0 => (Security::Null, Security::Null),
        1 => (
            Security::PlainClient { username: Bytes::from_static(b"user"), password: Bytes::from_static(b"pw") },
            Security::PlainServer,
        ),
        _ => (
            Security::CurveClient {
                keypair: CurveKeyPair::from_secret(CurveSecretKey::from_bytes([7; 32])),
                server_key: server_secret.public_key(),
            },
            Security::CurveServer { secret_key: server_secret },
        ),
    };
    let zap = ZapConfig {
        domain: if input.zap_domain { Bytes::from_static(b"d") } else { Bytes::new() },
        address: Bytes::from_static(b"127.0.0.1"),
        handler_present: input.zap_handler,
        enforce_domain: false,
    };
    let config =
        |security, socket_type| Config { properties: SocketProperties::new(socket_type), zap: zap.clone(), security };
    let client = MechanismState::with_rng(config(client, "DEALER"), &mut CountingRng(1)).unwrap();
    let server = MechanismState::with_rng(config(server, "ROUTER"), &mut CountingRng(2)).unwrap();
    (client, server)
}

/// Checks stickiness after a call that returned `result`.
fn check(victim: &mut MechanismState, first_error: &mut Option<MechanismError>, result: Result<(), MechanismError>) {
    match (&first_error, result) {
        (Some(first), Err(error)) => assert_eq!(first, &error, "errors are sticky"),
        (Some(_), Ok(())) => panic!("a failed mechanism accepted input"),
        (None, Err(error)) => *first_error = Some(error),
        (None, Ok(())) => {}
    }
    if let Some(first) = first_error {
        assert_eq!(victim.status(), Status::Failed);
        assert_eq!(victim.error(), Some(&*first));
    }
}

fuzz_target!(|input: Input| {
    let (client, server) = build(&input);
    let (mut victim, mut peer) = if input.victim_is_server { (server, client) } else { (client, server) };
    let mut first_error: Option<MechanismError> = None;
    let mut final_commands = 0;
    let mut last_message: Option<Command> = None;
    for op in input.ops.iter().take(64) {
        // The victim's output goes to the honest peer, whose ZAP requests are granted.
        while let Some(command) = victim.next_command() {
            if first_error.is_some() {
                final_commands += 1;
                assert!(final_commands <= 1, "at most one final ERROR after failing");
                assert!(matches!(command, Command::Error { .. }));
            }
            let _ = peer.process_command_body(&Bytes::from(body(&command)));
        }
        if let Some(request) = peer.zap_request() {
            let _ = peer.process_zap_reply(&request.reply(ZapStatus::Success, "", ""));
        }
        let genuine = peer.next_command();
        let result = match op {
            Op::Genuine => match &genuine {
                Some(command) => victim.process_command_body(&Bytes::from(body(command))),
                None => continue,
            },
            Op::Mutated { position, xor } => match &genuine {
                Some(command) => {
                    let mut raw = body(command);
                    let len = raw.len();
                    raw[usize::from(*position) % len] ^= xor;
                    victim.process_command_body(&Bytes::from(raw))
                }
                None => continue,
            },
            Op::Truncated { len } => match &genuine {
                Some(command) => {
                    let raw = body(command);
                    let cut = usize::from(*len) % raw.len().max(1);
                    victim.process_command_body(&Bytes::copy_from_slice(&raw[..cut]))
                }
                None => continue,
            },
            Op::Raw(raw) => victim.process_command_body(&Bytes::copy_from_slice(raw)),
            Op::Zap { status, right_id } => {
                let Some(request) = victim.zap_request() else { continue };
                let status = [
                    ZapStatus::Success,
                    ZapStatus::TemporaryError,
                    ZapStatus::AuthenticationFailure,
                    ZapStatus::InternalError,
                ][usize::from(*status % 4)];
                let mut reply = request.reply(status, "", "user");
                if !right_id {
                    reply.request_id = Bytes::from_static(b"other");
                }
                victim.process_zap_reply(&reply)
            }
            Op::Message { flags, body, tamper, replay } => {
                if !victim.encrypts() || victim.status() != Status::Ready || peer.status() != Status::Ready {
                    continue;
                }
                let replayed = *replay && last_message.is_some();
                let command = match (&last_message, replayed) {
                    (Some(old), true) => old.clone(),
                    _ => peer.encode_message(*flags, body).unwrap(),
                };
                last_message = Some(command.clone());
                let Command::Message(data) = &command else { unreachable!() };
                let mut data = data.to_vec();
                if let Some(position) = tamper {
                    let len = data.len();
                    data[usize::from(*position) % len] ^= 0x80;
                }
                let tampered = tamper.is_some();
                match victim.decode_message(&Command::Message(Bytes::from(data))) {
                    Ok((got_flags, got)) => {
                        assert!(!tampered && !replayed, "a tampered or replayed MESSAGE opened");
                        assert_eq!(got_flags, flags & 0x03);
                        assert_eq!(&got[..], &body[..]);
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            }
        };
        check(&mut victim, &mut first_error, result);
        // Once failed, any further input fails the same way.
        if let Some(first) = &first_error {
            assert_eq!(victim.process_command_body(&Bytes::from_static(b"\x05READY")).as_ref(), Err(first));
        }
    }
});
