//! ZAP, the ZeroMQ Authentication Protocol ([RFC 27]), as frames in and out.
//!
//! A server-side mechanism (and NULL when a ZAP domain is set) asks the application's ZAP
//! handler whether to accept a peer. Sans I/O, the mechanism emits a [`ZapRequest`]; whoever
//! owns the ZAP socket (the engine: libzmq's handler is a socket bound at
//! [`ZAP_ENDPOINT`]) sends its [`ZapRequest::to_frames`], reads the reply frames, and hands
//! the mechanism a [`ZapReply::from_frames`].
//!
//! # Frames, as libzmq writes them
//!
//! libzmq talks to the handler over a pipe whose other end is the handler's REP (or ROUTER)
//! socket, so its request starts with the empty delimiter frame of a REQ envelope:
//!
//! | # | request | reply |
//! | --- | --- | --- |
//! | 0 | empty delimiter | empty delimiter |
//! | 1 | version `"1.0"` | version `"1.0"` |
//! | 2 | request id (libzmq: `"1"`) | request id |
//! | 3 | domain (ZMQ_ZAP_DOMAIN) | status code `"200"`, `"300"`, `"400"`, `"500"` |
//! | 4 | address (the peer's IP address) | status text |
//! | 5 | identity (the local socket's ZMQ_ROUTING_ID) | user id |
//! | 6 | mechanism `"NULL"`, `"PLAIN"`, `"CURVE"` | metadata (ZMTP property list) |
//! | 7.. | credentials: none (NULL); username, password (PLAIN); the client's 32-byte long-term public key (CURVE) | |
//!
//! [`ZapRequest::to_frames`] and [`ZapReply::to_frames`] produce exactly these frames, delimiter
//! included. A handler on a REP socket sees and sends them without the delimiter (REP strips
//! and adds it): `from_frames` accepts both forms, and `&frames[1..]` is what a REP handler sends.
//!
//! # When libzmq 4.3 asks ZAP
//!
//! [`ZapConfig`] carries the inputs of libzmq's decision (`ZMQ_ZAP_DOMAIN`,
//! `ZMQ_ZAP_ENFORCE_DOMAIN`, whether a handler is bound):
//!
//! - **NULL**: only with a non-empty domain. No handler: refused if `enforce_domain`, else
//!   accepted without ZAP.
//! - **PLAIN server**: always; no handler means the handshake fails (libzmq 4.3 refuses PLAIN
//!   without ZAP, since there is nothing to check the password against).
//! - **CURVE server**: when the domain is non-empty or `enforce_domain` is off. No handler:
//!   accepted (encryption without authentication, the "Stonehouse" pattern) unless
//!   `enforce_domain`, then refused.
//!
//! Status 200 lets the handshake go on; 300 fails it silently; 400 and 500 make the server send
//! ERROR with the status code as the reason, then fail.
//!
//! [RFC 27]: https://rfc.zeromq.org/spec/27/

use alloc::vec;
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};
use rustzmq_codec::{Metadata, MetadataError};

/// The endpoint a ZAP handler binds (a REP or ROUTER socket, in the same context).
pub const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";
/// The only ZAP version there is.
pub const ZAP_VERSION: &[u8] = b"1.0";
/// The request id libzmq sends (and requires back); rustzmq's mechanisms send it too.
pub const LIBZMQ_REQUEST_ID: &[u8] = b"1";

/// Why ZAP frames could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZapError {
    /// Not the number of frames the message needs.
    #[error("wrong number of ZAP frames: {0}")]
    FrameCount(usize),
    /// The first of seven reply frames is not the empty delimiter.
    #[error("ZAP reply without an empty delimiter frame")]
    Delimiter,
    /// The version frame is not `"1.0"`.
    #[error("ZAP version is not 1.0")]
    Version,
    /// The status code is not one of `200`, `300`, `400`, `500`.
    #[error("invalid ZAP status code")]
    StatusCode,
    /// The metadata frame is not a valid property list.
    #[error("invalid ZAP metadata: {0}")]
    Metadata(#[from] MetadataError),
}

/// A ZAP status code (RFC 27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZapStatus {
    /// 200: the peer is accepted.
    Success,
    /// 300: temporary error; the connection is dropped without an ERROR command.
    TemporaryError,
    /// 400: authentication failure; the server sends ERROR "400".
    AuthenticationFailure,
    /// 500: internal error in the handler; the server sends ERROR "500".
    InternalError,
}

impl ZapStatus {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            ZapStatus::Success => 200,
            ZapStatus::TemporaryError => 300,
            ZapStatus::AuthenticationFailure => 400,
            ZapStatus::InternalError => 500,
        }
    }

    /// The three ASCII digits of the status frame.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            ZapStatus::Success => b"200",
            ZapStatus::TemporaryError => b"300",
            ZapStatus::AuthenticationFailure => b"400",
            ZapStatus::InternalError => b"500",
        }
    }

    /// Parses a status frame: exactly one of `200`, `300`, `400`, `500` (as libzmq checks).
    pub fn from_bytes(frame: &[u8]) -> Result<ZapStatus, ZapError> {
        match frame {
            b"200" => Ok(ZapStatus::Success),
            b"300" => Ok(ZapStatus::TemporaryError),
            b"400" => Ok(ZapStatus::AuthenticationFailure),
            b"500" => Ok(ZapStatus::InternalError),
            _ => Err(ZapError::StatusCode),
        }
    }
}

/// Strips the empty delimiter frame if the frames start with one.
fn strip_delimiter(frames: &[Bytes]) -> &[Bytes] {
    match frames.split_first() {
        Some((first, rest)) if first.is_empty() => rest,
        _ => frames,
    }
}

/// A ZAP request (RFC 27): what the mechanism asks the handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// Always `"1.0"`.
    pub version: Bytes,
    /// Echoed in the reply (libzmq: `"1"`).
    pub request_id: Bytes,
    /// The server socket's ZAP domain (ZMQ_ZAP_DOMAIN), possibly empty.
    pub domain: Bytes,
    /// The peer's address (libzmq: its IP address, without the port).
    pub address: Bytes,
    /// The local socket's routing id (ZMQ_ROUTING_ID), possibly empty.
    pub identity: Bytes,
    /// `"NULL"`, `"PLAIN"` or `"CURVE"`.
    pub mechanism: Bytes,
    /// The mechanism's credentials: none, username and password, or the client's public key.
    pub credentials: Vec<Bytes>,
}

impl ZapRequest {
    /// The request's frames, starting with the empty delimiter, exactly as libzmq writes them
    /// to its ZAP pipe (all but the last with MORE).
    pub fn to_frames(&self) -> Vec<Bytes> {
        let mut frames = vec![
            Bytes::new(),
            self.version.clone(),
            self.request_id.clone(),
            self.domain.clone(),
            self.address.clone(),
            self.identity.clone(),
            self.mechanism.clone(),
        ];
        frames.extend(self.credentials.iter().cloned());
        frames
    }

    /// Parses a request, as a handler receives it: with the empty delimiter first (ROUTER or a
    /// raw pipe) or without (REP). Credentials are whatever frames follow the mechanism.
    pub fn from_frames(frames: &[Bytes]) -> Result<ZapRequest, ZapError> {
        let frames = strip_delimiter(frames);
        if frames.len() < 6 {
            return Err(ZapError::FrameCount(frames.len()));
        }
        if frames[0] != ZAP_VERSION {
            return Err(ZapError::Version);
        }
        Ok(ZapRequest {
            version: frames[0].clone(),
            request_id: frames[1].clone(),
            domain: frames[2].clone(),
            address: frames[3].clone(),
            identity: frames[4].clone(),
            mechanism: frames[5].clone(),
            credentials: frames[6..].to_vec(),
        })
    }

    /// A reply to this request (same version and request id).
    pub fn reply(&self, status: ZapStatus, status_text: impl Into<Bytes>, user_id: impl Into<Bytes>) -> ZapReply {
        ZapReply {
            version: Bytes::from_static(ZAP_VERSION),
            request_id: self.request_id.clone(),
            status,
            status_text: status_text.into(),
            user_id: user_id.into(),
            metadata: Metadata::new(),
        }
    }
}

/// A ZAP reply (RFC 27): the handler's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapReply {
    /// Always `"1.0"`.
    pub version: Bytes,
    /// The request id of the request answered.
    pub request_id: Bytes,
    /// The verdict.
    pub status: ZapStatus,
    /// Human-readable text (libzmq ignores it).
    pub status_text: Bytes,
    /// The authenticated user (libzmq exposes it as the `User-Id` message property).
    pub user_id: Bytes,
    /// Properties the handler attaches to the connection (visible on every message).
    pub metadata: Metadata,
}

impl ZapReply {
    /// The reply's seven frames, starting with the empty delimiter (what travels back on
    /// libzmq's ZAP pipe; a REP handler sends `&frames[1..]`).
    pub fn to_frames(&self) -> Vec<Bytes> {
        let mut metadata = BytesMut::with_capacity(self.metadata.encoded_len());
        self.metadata.encode(&mut metadata);
        vec![
            Bytes::new(),
            self.version.clone(),
            self.request_id.clone(),
            Bytes::from_static(self.status.as_bytes()),
            self.status_text.clone(),
            self.user_id.clone(),
            metadata.freeze(),
        ]
    }

    /// Parses a reply: seven frames starting with the empty delimiter (libzmq requires
    /// exactly that), or the six frames without it that a REQ-side reader sees. Checks what
    /// libzmq checks: version `"1.0"`, a valid status code, valid metadata. The request id is
    /// checked by the mechanism that sent the request.
    pub fn from_frames(frames: &[Bytes]) -> Result<ZapReply, ZapError> {
        let frames = match frames.len() {
            7 if !frames[0].is_empty() => return Err(ZapError::Delimiter),
            7 => &frames[1..],
            6 => frames,
            n => return Err(ZapError::FrameCount(n)),
        };
        if frames[0] != ZAP_VERSION {
            return Err(ZapError::Version);
        }
        Ok(ZapReply {
            version: frames[0].clone(),
            request_id: frames[1].clone(),
            status: ZapStatus::from_bytes(&frames[2])?,
            status_text: frames[3].clone(),
            user_id: frames[4].clone(),
            metadata: Metadata::parse(&frames[5])?,
        })
    }
}

/// What a server-side mechanism needs to know to ask ZAP, as libzmq's socket options and
/// session tell it. See the [module documentation](self) for the decision libzmq makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZapConfig {
    /// ZMQ_ZAP_DOMAIN; empty by default.
    pub domain: Bytes,
    /// The peer's address for the request's address frame (libzmq: the IP address, no port).
    pub address: Bytes,
    /// Whether a ZAP handler is bound at [`ZAP_ENDPOINT`] when the handshake needs it.
    pub handler_present: bool,
    /// ZMQ_ZAP_ENFORCE_DOMAIN (libzmq 4.3; off by default).
    pub enforce_domain: bool,
}

/// The mechanisms' ZAP policies (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZapPolicy {
    Null,
    Plain,
    Curve,
}

/// What to do about ZAP for one handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZapDecision {
    /// Go on without asking.
    Skip,
    /// Send a request and wait for the reply.
    Ask,
    /// Fail the handshake (ZAP needed, no handler).
    Refuse,
}

impl ZapConfig {
    pub(crate) fn decide(&self, policy: ZapPolicy) -> ZapDecision {
        let with_handler = |otherwise| if self.handler_present { ZapDecision::Ask } else { otherwise };
        match policy {
            ZapPolicy::Null if self.domain.is_empty() => ZapDecision::Skip,
            ZapPolicy::Null => with_handler(if self.enforce_domain { ZapDecision::Refuse } else { ZapDecision::Skip }),
            ZapPolicy::Plain => with_handler(ZapDecision::Refuse),
            ZapPolicy::Curve if self.domain.is_empty() && self.enforce_domain => ZapDecision::Skip,
            ZapPolicy::Curve => with_handler(if self.enforce_domain { ZapDecision::Refuse } else { ZapDecision::Skip }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ZapRequest {
        ZapRequest {
            version: Bytes::from_static(b"1.0"),
            request_id: Bytes::from_static(b"1"),
            domain: Bytes::from_static(b"global"),
            address: Bytes::from_static(b"127.0.0.1"),
            identity: Bytes::new(),
            mechanism: Bytes::from_static(b"PLAIN"),
            credentials: vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")],
        }
    }

    #[test]
    fn request_frames_match_libzmq_layout() {
        let frames = request().to_frames();
        let expected: [&[u8]; 9] = [b"", b"1.0", b"1", b"global", b"127.0.0.1", b"", b"PLAIN", b"admin", b"secret"];
        assert_eq!(frames, expected);
        assert_eq!(ZapRequest::from_frames(&frames).unwrap(), request());
        assert_eq!(ZapRequest::from_frames(&frames[1..]).unwrap(), request(), "as a REP handler sees it");
        assert_eq!(ZapRequest::from_frames(&frames[..6]), Err(ZapError::FrameCount(5)));
        let mut null = request();
        null.mechanism = Bytes::from_static(b"NULL");
        null.credentials.clear();
        assert_eq!(null.to_frames().len(), 7);
        assert_eq!(ZapRequest::from_frames(&null.to_frames()).unwrap(), null);
    }

    #[test]
    fn reply_frames_round_trip_and_are_checked() {
        let mut reply = request().reply(ZapStatus::Success, "OK", "admin");
        reply.metadata.insert(&b"Hello"[..], &b"World"[..]).unwrap();
        let frames = reply.to_frames();
        assert_eq!(frames.len(), 7);
        assert!(frames[0].is_empty());
        assert_eq!(frames[3], &b"200"[..]);
        assert_eq!(frames[6], &b"\x05Hello\x00\x00\x00\x05World"[..]);
        assert_eq!(ZapReply::from_frames(&frames).unwrap(), reply);
        assert_eq!(ZapReply::from_frames(&frames[1..]).unwrap(), reply);

        let mut bad = frames.clone();
        bad[0] = Bytes::from_static(b"x");
        assert_eq!(ZapReply::from_frames(&bad), Err(ZapError::Delimiter));
        let mut bad = frames.clone();
        bad[1] = Bytes::from_static(b"2.0");
        assert_eq!(ZapReply::from_frames(&bad), Err(ZapError::Version));
        for code in [&b"201"[..], b"600", b"20", b"2000", b""] {
            let mut bad = frames.clone();
            bad[3] = Bytes::copy_from_slice(code);
            assert_eq!(ZapReply::from_frames(&bad), Err(ZapError::StatusCode));
        }
        let mut bad = frames.clone();
        bad[6] = Bytes::from_static(b"\x05Hel");
        assert_eq!(ZapReply::from_frames(&bad), Err(ZapError::Metadata(MetadataError::Truncated)));
        assert_eq!(ZapReply::from_frames(&frames[..5]), Err(ZapError::FrameCount(5)));
    }

    #[test]
    fn libzmq_decision_table() {
        use ZapDecision::*;
        let config = |domain: &'static [u8], handler_present, enforce_domain| ZapConfig {
            domain: Bytes::from_static(domain),
            address: Bytes::new(),
            handler_present,
            enforce_domain,
        };
        // (domain, handler, enforce) -> NULL, PLAIN, CURVE
        let table: [(&[u8], bool, bool, [ZapDecision; 3]); 8] = [
            (b"", false, false, [Skip, Refuse, Skip]),
            (b"", true, false, [Skip, Ask, Ask]),
            (b"", false, true, [Skip, Refuse, Skip]),
            (b"", true, true, [Skip, Ask, Skip]),
            (b"d", false, false, [Skip, Refuse, Skip]),
            (b"d", true, false, [Ask, Ask, Ask]),
            (b"d", false, true, [Refuse, Refuse, Refuse]),
            (b"d", true, true, [Ask, Ask, Ask]),
        ];
        for (domain, handler, enforce, expected) in table {
            let c = config(domain, handler, enforce);
            let got = [c.decide(ZapPolicy::Null), c.decide(ZapPolicy::Plain), c.decide(ZapPolicy::Curve)];
            assert_eq!(got, expected, "domain {domain:?} handler {handler} enforce {enforce}");
        }
    }
}
