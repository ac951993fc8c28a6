//! The ZMTP greeting (RFC 23 §"The Greeting").
//!
//! Layout of the 64 bytes a ZMTP 3.x peer sends first:
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 1 | `0xFF` |
//! | 1 | 8 | padding (not significant) |
//! | 9 | 1 | `0x7F` |
//! | 10 | 1 | major version (3) |
//! | 11 | 1 | minor version (0 or 1) |
//! | 12 | 20 | mechanism name, NUL-padded |
//! | 32 | 1 | as-server (0 or 1) |
//! | 33 | 31 | filler (zeros) |
//!
//! libzmq sends its greeting in three steps — the 10-byte signature, then the major version
//! once the peer's signature shows it is versioned, then the rest once the peer's revision is
//! known — so that ZMTP 1.0 and 2.0 peers can be spoken down to. [`GreetingDecoder`] reports
//! those same decision points.

use crate::error::GreetingError;

/// Size of a complete ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;
/// Size of the signature (`FF`, 8 bytes of padding, `7F`).
pub const SIGNATURE_LEN: usize = 10;
/// Offset of the major version (the "revision" in ZMTP 2.0 terms).
pub const REVISION_POS: usize = 10;
/// Size of a ZMTP 1.0/2.0 versioned greeting: signature, revision, socket type.
pub const LEGACY_GREETING_LEN: usize = 12;

/// The revision byte of a versioned ZMTP 1.0 peer.
pub const REVISION_ZMTP_1_0: u8 = 0;
/// The revision byte of a ZMTP 2.0 peer.
pub const REVISION_ZMTP_2_0: u8 = 1;

const MECHANISM_POS: usize = 12;
const MECHANISM_LEN: usize = 20;
const AS_SERVER_POS: usize = 32;

/// A ZMTP protocol version as carried in the greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version: 3 for ZMTP 3.x.
    pub major: u8,
    /// Minor version: 0 for ZMTP 3.0, 1 for ZMTP 3.1.
    pub minor: u8,
}

impl Version {
    /// ZMTP 3.0 (RFC 23).
    pub const V3_0: Version = Version { major: 3, minor: 0 };
    /// ZMTP 3.1 (RFC 37): adds SUBSCRIBE/CANCEL and PING/PONG commands.
    pub const V3_1: Version = Version { major: 3, minor: 1 };

    /// The version both sides speak when we offer `self` and the peer offers `peer`: the
    /// lower of the two (RFC 23: a peer with a higher version downgrades to the lower).
    pub fn negotiate(self, peer: Version) -> Version {
        core::cmp::min(self, peer)
    }

    /// True when subscriptions travel as SUBSCRIBE/CANCEL commands (ZMTP 3.1 and later)
    /// rather than as messages starting with `0x01`/`0x00` (ZMTP 3.0).
    pub fn has_subscription_commands(self) -> bool {
        self >= Version::V3_1
    }

    /// True when the peer understands PING/PONG heartbeats (ZMTP 3.1 and later).
    pub fn has_heartbeats(self) -> bool {
        self >= Version::V3_1
    }
}

/// A security mechanism name: 1 to 20 characters of `A-Z 0-9 - _ . +`, NUL-padded on the
/// wire (RFC 23 `mechanism`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mechanism {
    field: [u8; MECHANISM_LEN],
}

impl Mechanism {
    /// The NULL mechanism (RFC 23).
    pub const NULL: Mechanism = Mechanism::from_static(b"NULL");
    /// The PLAIN mechanism (RFC 24).
    pub const PLAIN: Mechanism = Mechanism::from_static(b"PLAIN");
    /// The CURVE mechanism (RFC 26).
    pub const CURVE: Mechanism = Mechanism::from_static(b"CURVE");
    /// The GSSAPI mechanism (RFC 38); recognised, not implemented by rustzmq.
    pub const GSSAPI: Mechanism = Mechanism::from_static(b"GSSAPI");

    const fn from_static(name: &[u8]) -> Mechanism {
        let mut field = [0u8; MECHANISM_LEN];
        let mut i = 0;
        while i < name.len() {
            field[i] = name[i];
            i += 1;
        }
        Mechanism { field }
    }

    /// Builds a mechanism from its name (without padding).
    pub fn new(name: &[u8]) -> Result<Mechanism, GreetingError> {
        if name.is_empty() || name.len() > MECHANISM_LEN || !name.iter().all(|&c| is_mechanism_char(c)) {
            return Err(GreetingError::InvalidMechanism);
        }
        let mut field = [0u8; MECHANISM_LEN];
        field[..name.len()].copy_from_slice(name);
        Ok(Mechanism { field })
    }

    /// Parses the 20-byte greeting field: a non-empty name followed only by NUL bytes.
    pub fn from_field(field: &[u8; MECHANISM_LEN]) -> Result<Mechanism, GreetingError> {
        let len = field.iter().position(|&c| c == 0).unwrap_or(MECHANISM_LEN);
        if field[len..].iter().any(|&c| c != 0) {
            return Err(GreetingError::InvalidMechanism);
        }
        Mechanism::new(&field[..len])
    }

    /// The name without its NUL padding.
    pub fn name(&self) -> &[u8] {
        let len = self.field.iter().position(|&c| c == 0).unwrap_or(MECHANISM_LEN);
        &self.field[..len]
    }

    /// The 20-byte NUL-padded field as sent in the greeting.
    pub fn field(&self) -> &[u8; MECHANISM_LEN] {
        &self.field
    }
}

impl core::fmt::Debug for Mechanism {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Names are validated ASCII, so this never loses information.
        f.write_str(core::str::from_utf8(self.name()).unwrap_or("?"))
    }
}

fn is_mechanism_char(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, b'-' | b'_' | b'.' | b'+')
}

/// A complete ZMTP 3.x greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// The version the sender offers.
    pub version: Version,
    /// The security mechanism the sender uses.
    pub mechanism: Mechanism,
    /// Whether the sender is the server of the mechanism (PLAIN and CURVE have roles).
    pub as_server: bool,
}

impl Greeting {
    /// A ZMTP 3.1 greeting, as rustzmq sends it.
    pub fn new(mechanism: Mechanism, as_server: bool) -> Greeting {
        Greeting { version: Version::V3_1, mechanism, as_server }
    }

    /// The 64 bytes of this greeting. Send `[..SIGNATURE_LEN]`, then `[REVISION_POS]`, then
    /// the rest, to interoperate with ZMTP 1.0/2.0 detection as libzmq does.
    pub fn encode(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xFF;
        out[SIGNATURE_LEN - 1] = 0x7F;
        out[REVISION_POS] = self.version.major;
        out[REVISION_POS + 1] = self.version.minor;
        out[MECHANISM_POS..MECHANISM_POS + MECHANISM_LEN].copy_from_slice(self.mechanism.field());
        out[AS_SERVER_POS] = u8::from(self.as_server);
        out
    }

    /// Parses a complete 64-byte ZMTP 3.x greeting.
    ///
    /// Like libzmq, the padding and filler are not checked and any non-zero as-server byte
    /// counts as "server". The signature's first and last bytes, a major version of at least
    /// 3 and the mechanism name are checked.
    pub fn parse(bytes: &[u8; GREETING_LEN]) -> Result<Greeting, GreetingError> {
        if bytes[0] != 0xFF || bytes[SIGNATURE_LEN - 1] & 1 == 0 {
            return Err(GreetingError::InvalidSignature);
        }
        let major = bytes[REVISION_POS];
        if major < 3 {
            return Err(GreetingError::UnsupportedVersion(major));
        }
        let mut field = [0u8; MECHANISM_LEN];
        field.copy_from_slice(&bytes[MECHANISM_POS..MECHANISM_POS + MECHANISM_LEN]);
        Ok(Greeting {
            version: Version { major, minor: bytes[REVISION_POS + 1] },
            mechanism: Mechanism::from_field(&field)?,
            as_server: bytes[AS_SERVER_POS] != 0,
        })
    }
}

/// What the peer's greeting has shown so far. See [`GreetingDecoder::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreetingProgress {
    /// All input was consumed; more bytes are needed.
    NeedMore,
    /// The peer has no signature: it speaks unversioned ZMTP 1.0 and the bytes received so far
    /// ([`GreetingDecoder::received`]) are the start of its first frame. Terminal.
    Unversioned,
    /// A valid signature arrived. libzmq answers by sending its major version byte.
    Signature,
    /// The peer's revision (major version) byte arrived. libzmq answers by sending the rest
    /// of its greeting (for revisions below 3, just its socket-type byte).
    Revision(u8),
    /// A ZMTP 1.0 (revision 0) or 2.0 (revision 1) versioned greeting is complete. Terminal.
    Legacy {
        /// [`REVISION_ZMTP_1_0`] or [`REVISION_ZMTP_2_0`].
        revision: u8,
        /// The peer's socket type in ZMTP 2.0 numbering.
        socket_type: u8,
    },
    /// A ZMTP 3.x greeting is complete. Terminal.
    Complete(Greeting),
}

/// Parses a peer's greeting incrementally, stopping at each point where the engine must act.
///
/// ```
/// use rustzmq_codec::{Greeting, GreetingDecoder, GreetingProgress, Mechanism};
///
/// let wire = Greeting::new(Mechanism::NULL, false).encode();
/// let mut decoder = GreetingDecoder::new();
/// let mut input = &wire[..];
/// let mut seen = Vec::new();
/// loop {
///     let (used, progress) = decoder.feed(input)?;
///     input = &input[used..];
///     seen.push(progress);
///     if let GreetingProgress::Complete(greeting) = progress {
///         assert_eq!(greeting.mechanism, Mechanism::NULL);
///         break;
///     }
/// }
/// assert_eq!(seen[..2], [GreetingProgress::Signature, GreetingProgress::Revision(3)]);
/// # Ok::<(), rustzmq_codec::GreetingError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GreetingDecoder {
    buf: [u8; GREETING_LEN],
    len: usize,
    done: Option<Result<GreetingProgress, GreetingError>>,
}

impl Default for GreetingDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl GreetingDecoder {
    /// A decoder that has seen nothing yet.
    pub fn new() -> GreetingDecoder {
        GreetingDecoder { buf: [0; GREETING_LEN], len: 0, done: None }
    }

    /// The bytes consumed so far.
    pub fn received(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Consumes bytes from `input` up to the next decision point and says what is known.
    /// Returns how many bytes were consumed; the rest of `input` belongs to later calls (or,
    /// after a terminal progress, to the frame decoder). Once a terminal progress or an error
    /// has been returned, later calls return it again and consume nothing.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, GreetingProgress), GreetingError> {
        if let Some(done) = self.done {
            return done.map(|progress| (0, progress));
        }
        let mut used = 0;
        while used < input.len() {
            let target = self.next_decision_point();
            let take = core::cmp::min(target - self.len, input.len() - used);
            self.buf[self.len..self.len + take].copy_from_slice(&input[used..used + take]);
            self.len += take;
            used += take;
            if self.len < target {
                break;
            }
            if let Some(result) = self.decide() {
                if !matches!(result, Ok(GreetingProgress::Signature | GreetingProgress::Revision(_))) {
                    self.done = Some(result);
                }
                return result.map(|progress| (used, progress));
            }
        }
        Ok((used, GreetingProgress::NeedMore))
    }

    /// How many bytes must have been received before the next decision can be made.
    fn next_decision_point(&self) -> usize {
        match self.len {
            0 => 1,
            1..SIGNATURE_LEN => SIGNATURE_LEN,
            SIGNATURE_LEN => REVISION_POS + 1,
            _ if self.buf[REVISION_POS] < 3 => LEGACY_GREETING_LEN,
            _ => GREETING_LEN,
        }
    }

    /// Called when `len` reaches a decision point; `None` means "keep reading".
    fn decide(&self) -> Option<Result<GreetingProgress, GreetingError>> {
        match self.len {
            1 if self.buf[0] != 0xFF => Some(Ok(GreetingProgress::Unversioned)),
            1 => None,
            SIGNATURE_LEN if self.buf[SIGNATURE_LEN - 1] & 1 == 0 => Some(Ok(GreetingProgress::Unversioned)),
            SIGNATURE_LEN => Some(Ok(GreetingProgress::Signature)),
            11 => Some(Ok(GreetingProgress::Revision(self.buf[REVISION_POS]))),
            LEGACY_GREETING_LEN if self.buf[REVISION_POS] < 3 => Some(Ok(GreetingProgress::Legacy {
                revision: self.buf[REVISION_POS],
                socket_type: self.buf[REVISION_POS + 1],
            })),
            _ => {
                let mut whole = [0u8; GREETING_LEN];
                whole.copy_from_slice(&self.buf);
                Some(Greeting::parse(&whole).map(GreetingProgress::Complete))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    #[test]
    fn null_greeting_is_byte_exact() {
        let wire = Greeting::new(Mechanism::NULL, false).encode();
        let mut expected = [0u8; 64];
        expected[0] = 0xFF;
        expected[9] = 0x7F;
        expected[10] = 3;
        expected[11] = 1;
        expected[12..16].copy_from_slice(b"NULL");
        assert_eq!(wire, expected);
        assert_eq!(Greeting::parse(&wire).unwrap(), Greeting::new(Mechanism::NULL, false));
    }

    #[test]
    fn curve_server_flag_round_trips() {
        let greeting = Greeting { version: Version::V3_0, mechanism: Mechanism::CURVE, as_server: true };
        let wire = greeting.encode();
        assert_eq!(wire[32], 1);
        assert_eq!(&wire[12..17], b"CURVE");
        assert_eq!(Greeting::parse(&wire).unwrap(), greeting);
    }

    #[test]
    fn mechanism_validation() {
        assert!(Mechanism::new(b"").is_err());
        assert!(Mechanism::new(b"null").is_err(), "lower case is outside the RFC's set");
        assert!(Mechanism::new(b"X-MY.MECH_1+").is_ok());
        assert!(Mechanism::new(&[b'A'; 21]).is_err());
        let mut field = [0u8; 20];
        field[..4].copy_from_slice(b"NULL");
        field[10] = b'X';
        assert_eq!(Mechanism::from_field(&field), Err(GreetingError::InvalidMechanism));
        assert_eq!(Mechanism::from_field(&[b'Z'; 20]).unwrap().name(), &[b'Z'; 20]);
        assert_eq!(Mechanism::from_field(&[0; 20]), Err(GreetingError::InvalidMechanism));
    }

    #[test]
    fn parse_rejects_bad_signature_and_old_versions() {
        let mut wire = Greeting::new(Mechanism::NULL, false).encode();
        wire[9] = 0x7E;
        assert_eq!(Greeting::parse(&wire), Err(GreetingError::InvalidSignature));
        let mut wire = Greeting::new(Mechanism::NULL, false).encode();
        wire[10] = 2;
        assert_eq!(Greeting::parse(&wire), Err(GreetingError::UnsupportedVersion(2)));
    }

    #[test]
    fn padding_and_filler_are_not_significant() {
        let mut wire = Greeting::new(Mechanism::PLAIN, false).encode();
        wire[1..9].copy_from_slice(&[0xAA; 8]);
        wire[33..].copy_from_slice(&[0x55; 31]);
        assert_eq!(Greeting::parse(&wire).unwrap().mechanism, Mechanism::PLAIN);
    }

    fn feed_all(input: &[u8]) -> (Vec<GreetingProgress>, usize) {
        let mut decoder = GreetingDecoder::new();
        let mut seen = Vec::new();
        let mut pos = 0;
        loop {
            let (used, progress) = decoder.feed(&input[pos..]).unwrap();
            pos += used;
            seen.push(progress);
            if !matches!(progress, GreetingProgress::Signature | GreetingProgress::Revision(_)) {
                return (seen, pos);
            }
        }
    }

    #[test]
    fn decoder_reports_each_decision_point() {
        let mut wire = Greeting::new(Mechanism::NULL, true).encode().to_vec();
        wire.extend_from_slice(b"trailing frame bytes");
        let (seen, used) = feed_all(&wire);
        assert_eq!(
            seen,
            [
                GreetingProgress::Signature,
                GreetingProgress::Revision(3),
                GreetingProgress::Complete(Greeting::new(Mechanism::NULL, true)),
            ]
        );
        assert_eq!(used, 64, "bytes after the greeting are left for the frame decoder");
    }

    #[test]
    fn unversioned_peer_detected_on_first_byte() {
        // A ZMTP 1.0 peer starts with its identity frame: length 1, flags 0.
        let (seen, used) = feed_all(&[0x01, 0x00]);
        assert_eq!(seen, [GreetingProgress::Unversioned]);
        assert_eq!(used, 1);
    }

    #[test]
    fn unversioned_peer_with_long_length_detected_at_byte_ten() {
        // 0xFF then an 8-byte length then flags with the low bit clear.
        let mut frame = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00];
        frame.push(b'x');
        let (seen, used) = feed_all(&frame);
        assert_eq!(seen, [GreetingProgress::Unversioned]);
        assert_eq!(used, 10);
    }

    #[test]
    fn zmtp2_peer_is_legacy() {
        let mut wire = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, REVISION_ZMTP_2_0, 0x05];
        wire.extend_from_slice(&[0, 0]);
        let (seen, used) = feed_all(&wire);
        assert_eq!(
            seen,
            [
                GreetingProgress::Signature,
                GreetingProgress::Revision(1),
                GreetingProgress::Legacy { revision: 1, socket_type: 5 },
            ]
        );
        assert_eq!(used, 12);
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let wire = Greeting::new(Mechanism::CURVE, false).encode();
        let mut decoder = GreetingDecoder::new();
        let mut last = GreetingProgress::NeedMore;
        for (i, byte) in wire.iter().enumerate() {
            let (used, progress) = decoder.feed(core::slice::from_ref(byte)).unwrap();
            assert_eq!(used, 1);
            match i {
                9 => assert_eq!(progress, GreetingProgress::Signature),
                10 => assert_eq!(progress, GreetingProgress::Revision(3)),
                63 => last = progress,
                _ => assert_eq!(progress, GreetingProgress::NeedMore),
            }
        }
        assert_eq!(last, GreetingProgress::Complete(Greeting::new(Mechanism::CURVE, false)));
        assert_eq!(decoder.feed(b"more").unwrap(), (0, last), "terminal progress repeats");
    }

    #[test]
    fn bad_mechanism_is_an_error_and_sticks() {
        let mut wire = Greeting::new(Mechanism::NULL, false).encode();
        wire[12] = b'n';
        let mut decoder = GreetingDecoder::new();
        let mut result = Ok((0, GreetingProgress::NeedMore));
        let mut pos = 0;
        while pos < wire.len() {
            result = decoder.feed(&wire[pos..]);
            match result {
                Ok((used, _)) => pos += used,
                Err(_) => break,
            }
        }
        assert_eq!(result, Err(GreetingError::InvalidMechanism));
        assert_eq!(decoder.feed(&[]), Err(GreetingError::InvalidMechanism));
    }

    #[test]
    fn version_negotiation() {
        assert_eq!(Version::V3_1.negotiate(Version::V3_0), Version::V3_0);
        assert_eq!(Version::V3_1.negotiate(Version { major: 4, minor: 0 }), Version::V3_1);
        assert!(!Version::V3_0.has_subscription_commands());
        assert!(Version::V3_1.has_heartbeats());
    }
}
