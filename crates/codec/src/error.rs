//! Typed errors. Each names what was wrong with the input so that the engine can close the
//! connection with the right monitor event (libzmq's protocol error codes are mapped above
//! this crate).

/// A greeting that cannot be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GreetingError {
    /// The mechanism field holds a character outside the RFC's set, is empty, or has a
    /// non-NUL byte after its NUL padding began.
    #[error("invalid mechanism name in greeting")]
    InvalidMechanism,
    /// A full ZMTP 3.x greeting was expected but the signature is not `FF ... 7F`.
    #[error("invalid greeting signature")]
    InvalidSignature,
    /// A full ZMTP 3.x greeting was expected but the major version is below 3.
    #[error("unsupported ZMTP version {0}")]
    UnsupportedVersion(u8),
}

/// Malformed metadata (a property list in READY, INITIATE or the CURVE/PLAIN handshakes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The input ended inside a property.
    #[error("truncated metadata property")]
    Truncated,
    /// A property name is empty or holds a character outside `A-Z a-z 0-9 - _ . +`.
    #[error("invalid metadata property name")]
    InvalidName,
    /// A property name is longer than 255 bytes (encoding only).
    #[error("metadata property name longer than 255 bytes")]
    NameTooLong,
    /// A property value is longer than `u32::MAX` bytes (encoding only).
    #[error("metadata property value longer than 4 GiB")]
    ValueTooLong,
}

/// A command frame whose body does not follow the RFC's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command frame is empty or its name length runs past the frame.
    #[error("truncated command name")]
    TruncatedName,
    /// The command name is empty or holds a non-alphabetic character.
    #[error("invalid command name")]
    InvalidName,
    /// An ERROR command whose reason length does not match its body.
    #[error("malformed ERROR command")]
    MalformedError,
    /// A PING command shorter than its 2-byte TTL or with a context over 16 bytes.
    #[error("malformed PING command")]
    MalformedPing,
    /// A PONG command with a context over 16 bytes.
    #[error("malformed PONG command")]
    MalformedPong,
    /// A READY command whose metadata is malformed.
    #[error("malformed READY metadata: {0}")]
    Metadata(#[from] MetadataError),
}

/// An error that ends decoding of a ZMTP stream. The connection must be closed after one:
/// the decoder does not resynchronise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Flag bits that the frame format reserves were set (ZMTP 3.x: bits 3-7; 2.0: bits 2-7).
    #[error("reserved frame flag bits set: {0:#04x}")]
    ReservedFlags(u8),
    /// A command frame with the MORE flag: commands are always single frames.
    #[error("command frame with MORE flag")]
    CommandWithMore,
    /// A command frame arrived while a multipart message was incomplete.
    #[error("command frame inside a multipart message")]
    CommandInsideMessage,
    /// A frame announced a size above the configured limit (libzmq's MAXMSGSIZE).
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// The size the peer announced.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A multipart message grew past the configured total size.
    #[error("message of at least {size} bytes exceeds the limit of {limit}")]
    MessageTooLarge {
        /// The total the message would reach with this frame.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// A multipart message has more frames than the configured limit.
    #[error("message has more than {limit} frames")]
    TooManyFrames {
        /// The configured limit.
        limit: u32,
    },
    /// A ZMTP 1.0 frame with a length of zero (its length counts the flags byte).
    #[error("ZMTP 1.0 frame with zero length")]
    ZeroLengthV1Frame,
    /// A command frame whose body is malformed.
    #[error("malformed command: {0}")]
    Command(#[from] CommandError),
}
