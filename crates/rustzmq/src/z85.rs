//! Z85 (ZeroMQ RFC 32) encoding and decoding: [`z85_encode`] and [`z85_decode`], with the
//! error types and the quirks of the `zmq` crate 0.10.
//!
//! Quirks kept on purpose, because callers can see them:
//! - `z85_encode` wants a length that is a multiple of 4 and `z85_decode` a length (in bytes)
//!   that is a multiple of 5, otherwise `BadLength`; an embedded NUL makes `z85_decode` fail
//!   with `NulError`, checked after the length;
//! - an invalid input is **not** an error for `z85_decode`: the `zmq` crate ignores libzmq's
//!   failure and returns its output buffer, zero-filled from the first bad 5-character group
//!   on. Like libzmq 4.3, a group is bad when it holds a character outside the Z85 alphabet
//!   (any non-ASCII character included) or when its value does not fit in 32 bits (`"#####"`).

#![forbid(unsafe_code)]

use std::error;
use std::ffi::{CString, NulError};
use std::fmt;
use std::string::FromUtf8Error;

/// Why [`z85_encode`] failed.
#[derive(Debug)]
pub enum EncodeError {
    /// The input length is not a multiple of 4.
    BadLength,
    /// The encoded text was not UTF-8 (cannot happen: Z85 is ASCII).
    FromUtf8Error(FromUtf8Error),
}

impl From<FromUtf8Error> for EncodeError {
    fn from(err: FromUtf8Error) -> Self {
        EncodeError::FromUtf8Error(err)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BadLength => write!(f, "Invalid data length. Should be multiple of 4."),
            EncodeError::FromUtf8Error(e) => write!(f, "UTF8 conversion error: {e}"),
        }
    }
}

impl error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        match self {
            EncodeError::BadLength => None,
            EncodeError::FromUtf8Error(e) => Some(e),
        }
    }
}

/// Why [`z85_decode`] failed.
#[derive(Debug)]
pub enum DecodeError {
    /// The input length is not a multiple of 5.
    BadLength,
    /// The input contains a NUL byte.
    NulError(NulError),
}

impl From<NulError> for DecodeError {
    fn from(err: NulError) -> Self {
        DecodeError::NulError(err)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadLength => write!(f, "Invalid data length. Should be multiple of 5."),
            DecodeError::NulError(e) => write!(f, "Nul byte error: {e}"),
        }
    }
}

impl error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn error::Error + 'static)> {
        match self {
            DecodeError::BadLength => None,
            DecodeError::NulError(e) => Some(e),
        }
    }
}

/// Encodes binary data as Z85 text (RFC 32): 5 characters for every 4 bytes.
///
/// The length of `data` must be a multiple of 4, otherwise [`EncodeError::BadLength`]. An empty
/// input gives an empty string.
pub fn z85_encode(data: &[u8]) -> Result<String, EncodeError> {
    // The one Z85 implementation of the project is rustzmq-security's; only the error type
    // differs.
    rustzmq_security::z85::encode(data).map_err(|_| EncodeError::BadLength)
}

/// Decodes Z85 text (RFC 32) into binary data: 4 bytes for every 5 characters.
///
/// The length of `data` in bytes must be a multiple of 5, otherwise [`DecodeError::BadLength`];
/// a NUL byte gives [`DecodeError::NulError`]. Invalid text is not an error, as in the `zmq`
/// crate: the result has the full length, and every byte from the first invalid 5-character
/// group on is zero (see the module documentation).
pub fn z85_decode(data: &str) -> Result<Vec<u8>, DecodeError> {
    let input = data.as_bytes();
    if input.len() % 5 != 0 {
        return Err(DecodeError::BadLength);
    }
    if input.contains(&0) {
        // Only a CString can make a `NulError`; this is the error the zmq crate reports.
        return Err(CString::new(input).expect_err("the input holds a NUL byte").into());
    }
    let mut out = vec![0u8; input.len() / 5 * 4];
    for (group, dest) in input.chunks_exact(5).zip(out.chunks_exact_mut(4)) {
        if rustzmq_security::z85::decode_into(group, dest).is_err() {
            // The zmq crate's quirk: the rest stays zero-filled, and it is not an error.
            for byte in dest.iter_mut() {
                *byte = 0;
            }
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_BYTES: [u8; 8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];

    #[test]
    fn rfc32_test_vector() {
        assert_eq!(z85_encode(&RFC_BYTES).unwrap(), "HelloWorld");
        assert_eq!(z85_decode("HelloWorld").unwrap(), RFC_BYTES);
    }

    #[test]
    fn empty() {
        assert_eq!(z85_encode(&[]).unwrap(), "");
        assert_eq!(z85_decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn round_trip_a_curve_key() {
        // The key of the zmq crate's tests/z85.rs.
        let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        let bytes = z85_decode(key).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(z85_encode(&bytes).unwrap(), key);
    }

    #[test]
    fn all_byte_values_and_extremes() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(z85_decode(&z85_encode(&data).unwrap()).unwrap(), data);
        assert_eq!(z85_encode(&[0xFF; 4]).unwrap(), "%nSc0");
        assert_eq!(z85_decode("%nSc0").unwrap(), [0xFF; 4]);
        assert_eq!(z85_encode(&[0; 4]).unwrap(), "00000");
    }

    #[test]
    fn errors() {
        assert!(matches!(z85_decode("abcd"), Err(DecodeError::BadLength)));
        assert!(matches!(z85_decode("abc\0d"), Err(DecodeError::NulError(_))));
        // Length is checked first.
        assert!(matches!(z85_decode("a\0"), Err(DecodeError::BadLength)));
        assert!(matches!(z85_encode(&[0; 5]), Err(EncodeError::BadLength)));
        assert_eq!(EncodeError::BadLength.to_string(), "Invalid data length. Should be multiple of 4.");
        assert_eq!(DecodeError::BadLength.to_string(), "Invalid data length. Should be multiple of 5.");
        let nul = z85_decode("abc\0d").unwrap_err();
        assert!(nul.to_string().starts_with("Nul byte error: "), "{nul}");
        assert!(error::Error::source(&nul).is_some());
        let utf8 = EncodeError::from(String::from_utf8(vec![0xff]).unwrap_err());
        assert!(utf8.to_string().starts_with("UTF8 conversion error: "), "{utf8}");
        let _: Box<dyn error::Error + Send + Sync> = Box::new(DecodeError::BadLength);
    }

    #[test]
    fn invalid_text_gives_zeroes_from_the_bad_group_on() {
        assert_eq!(z85_decode("~~~~~").unwrap(), [0; 4]);
        // 84 * (85^4 + 85^3 + 85^2 + 85 + 1) = 85^5 - 1 overflows 32 bits.
        assert_eq!(z85_decode("#####").unwrap(), [0; 4]);
        assert_eq!(z85_decode("%nSc1").unwrap(), [0; 4]);
        let mut expected = RFC_BYTES.to_vec();
        expected.extend([0; 8]);
        assert_eq!(z85_decode("HelloWorld\"0000Hello").unwrap(), expected);
        // A space and non-ASCII characters (5 bytes: "é" is 2).
        assert_eq!(z85_decode("Hell ").unwrap(), [0; 4]);
        assert_eq!(z85_decode("éabc").unwrap(), [0; 4]);
    }

    #[test]
    fn hostile_strings_never_panic() {
        // A small xorshift generator: reproducible, no dependency.
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
        let pool: Vec<char> = alphabet.iter().map(|&c| c as char).chain([' ', '~', '\0', 'é', '€', '𝄞', '"']).collect();
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let s: String = (0..len)
                .map(|_| {
                    if next() % 4 == 0 {
                        char::from_u32((next() % 0x11_0000) as u32).unwrap_or('x')
                    } else {
                        pool[(next() % pool.len() as u64) as usize]
                    }
                })
                .collect();
            match z85_decode(&s) {
                Ok(out) => assert_eq!(out.len(), s.len() / 5 * 4),
                Err(DecodeError::BadLength) => assert_ne!(s.len() % 5, 0),
                Err(DecodeError::NulError(_)) => assert!(s.contains('\0')),
            }
            // Valid input round-trips.
            let bytes: Vec<u8> = (0..len / 4 * 4).map(|_| next() as u8).collect();
            assert_eq!(z85_decode(&z85_encode(&bytes).unwrap()).unwrap(), bytes);
        }
    }
}
