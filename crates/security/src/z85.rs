//! Z85 (ZeroMQ [RFC 32]): binary data as printable ASCII, four bytes to five characters.
//!
//! Each four-byte group is read as a big-endian `u32` and written as five base-85 digits,
//! most significant first, from the alphabet
//! `0-9 a-z A-Z . - : + = ^ ! / * ? & < > ( ) [ ] { } @ % $ #`. CURVE keys travel in Z85 as 40
//! characters (`ZMQ_CURVE_*KEY` options, `zmq_curve_keypair`).
//!
//! Like libzmq 4.3 ([`zmq_z85_decode`]), decoding refuses a length that is not a multiple of 5, a
//! character outside the alphabet and a group whose value does not fit in 32 bits (`"#####"`).
//!
//! ```
//! use rustzmq_security::z85;
//!
//! // The test vector of RFC 32.
//! let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
//! assert_eq!(z85::encode(&data)?, "HelloWorld");
//! assert_eq!(z85::decode("HelloWorld")?, data);
//! # Ok::<(), rustzmq_security::Z85Error>(())
//! ```
//!
//! [RFC 32]: https://rfc.zeromq.org/spec/32/
//! [`zmq_z85_decode`]: http://api.zeromq.org/4-3:zmq-z85-decode

use alloc::string::String;
use alloc::vec::Vec;

/// The Z85 alphabet: digit value → character.
const ALPHABET: &[u8; 85] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Character → digit value; `0xFF` for characters outside the alphabet (all non-ASCII too).
const DIGITS: [u8; 256] = {
    let mut table = [0xFF_u8; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Why Z85 encoding or decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// Encoding: the input length is not a multiple of 4.
    #[error("Z85 encoding needs a length that is a multiple of 4, got {0}")]
    EncodeLength(usize),
    /// Decoding: the input length is not a multiple of 5.
    #[error("Z85 text must have a length that is a multiple of 5, got {0}")]
    DecodeLength(usize),
    /// Decoding: the byte at this offset is not a Z85 character.
    #[error("invalid Z85 character at offset {0}")]
    InvalidCharacter(usize),
    /// Decoding: the five-character group starting at this offset exceeds `u32::MAX`.
    #[error("Z85 group at offset {0} does not fit in 32 bits")]
    Overflow(usize),
    /// Decoding into a fixed-size buffer: the text does not decode to that many bytes.
    #[error("Z85 text decodes to {actual} bytes, {expected} expected")]
    WrongSize {
        /// Bytes the caller's buffer holds.
        expected: usize,
        /// Bytes the text decodes to.
        actual: usize,
    },
}

/// Length of the Z85 text for `len` bytes of input (`len` a multiple of 4).
pub const fn encoded_len(len: usize) -> usize {
    len / 4 * 5
}

/// Length of the data that `len` characters of Z85 text decode to (`len` a multiple of 5).
pub const fn decoded_len(len: usize) -> usize {
    len / 5 * 4
}

/// Encodes `data`, whose length must be a multiple of 4.
pub fn encode(data: &[u8]) -> Result<String, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::EncodeLength(data.len()));
    }
    let mut out = String::with_capacity(encoded_len(data.len()));
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([group[0], group[1], group[2], group[3]]);
        let mut digits = [0u8; 5];
        for digit in digits.iter_mut().rev() {
            *digit = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        // Every alphabet character is ASCII.
        out.extend(digits.iter().map(|&c| char::from(c)));
    }
    Ok(out)
}

/// Decodes Z85 text (as `&str`, `&[u8]` or anything byte-like) whose length is a multiple of 5.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, Z85Error> {
    let text = text.as_ref();
    if text.len() % 5 != 0 {
        return Err(Z85Error::DecodeLength(text.len()));
    }
    let mut out = Vec::with_capacity(decoded_len(text.len()));
    for (index, group) in text.chunks_exact(5).enumerate() {
        out.extend_from_slice(&decode_group(group, index * 5)?.to_be_bytes());
    }
    Ok(out)
}

/// Decodes Z85 text into a buffer of exactly the decoded size (for example a 32-byte key from
/// 40 characters).
pub fn decode_into(text: impl AsRef<[u8]>, out: &mut [u8]) -> Result<(), Z85Error> {
    let text = text.as_ref();
    if text.len() % 5 != 0 {
        return Err(Z85Error::DecodeLength(text.len()));
    }
    if decoded_len(text.len()) != out.len() {
        return Err(Z85Error::WrongSize { expected: out.len(), actual: decoded_len(text.len()) });
    }
    for (index, (group, chunk)) in text.chunks_exact(5).zip(out.chunks_exact_mut(4)).enumerate() {
        chunk.copy_from_slice(&decode_group(group, index * 5)?.to_be_bytes());
    }
    Ok(())
}

fn decode_group(group: &[u8], offset: usize) -> Result<u32, Z85Error> {
    let mut value: u64 = 0;
    for (i, &c) in group.iter().enumerate() {
        let digit = DIGITS[usize::from(c)];
        if digit == 0xFF {
            return Err(Z85Error::InvalidCharacter(offset + i));
        }
        value = value * 85 + u64::from(digit);
    }
    // 85^5 - 1 < 2^33, so five digits never overflow the u64.
    u32::try_from(value).map_err(|_| Z85Error::Overflow(offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn rfc_32_test_vector() {
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&data).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), data);
        let mut fixed = [0u8; 8];
        decode_into("HelloWorld", &mut fixed).unwrap();
        assert_eq!(fixed, data);
    }

    #[test]
    fn extremes() {
        assert_eq!(encode(&[]).unwrap(), "");
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
        assert_eq!(encode(&[0, 0, 0, 0]).unwrap(), "00000");
        assert_eq!(encode(&[0xFF; 4]).unwrap(), "%nSc0");
        assert_eq!(decode("%nSc0").unwrap(), vec![0xFF; 4]);
        assert_eq!(decode("%nSc1"), Err(Z85Error::Overflow(0)));
        assert_eq!(decode("00000#####"), Err(Z85Error::Overflow(5)));
    }

    #[test]
    fn errors() {
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::EncodeLength(3)));
        assert_eq!(decode("abcd"), Err(Z85Error::DecodeLength(4)));
        assert_eq!(decode("0000 "), Err(Z85Error::InvalidCharacter(4)));
        assert_eq!(decode("00\"00"), Err(Z85Error::InvalidCharacter(2)));
        assert_eq!(decode([b'0', b'0', 0xC3, 0xA9, b'0']), Err(Z85Error::InvalidCharacter(2)));
        let mut key = [0u8; 32];
        assert_eq!(decode_into("HelloWorld", &mut key), Err(Z85Error::WrongSize { expected: 32, actual: 8 }));
    }

    #[test]
    fn every_character_round_trips() {
        // One group per digit value in each position.
        for (i, &c) in ALPHABET.iter().enumerate() {
            let text = [b'0', b'0', b'0', b'0', c];
            let value = decode(text).unwrap();
            assert_eq!(u32::from_be_bytes(value[..].try_into().unwrap()), i as u32);
            assert_eq!(encode(&value).unwrap().as_bytes(), text);
        }
    }
}
