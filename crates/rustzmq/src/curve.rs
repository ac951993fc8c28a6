//! [`CurveKeyPair`]: a CurveZMQ key pair, as in the `zmq` crate 0.10. The keys are stored as
//! **raw 32-byte binary** values (not Z85 text); `z85_encode` gives the text form.

#![forbid(unsafe_code)]

use crate::{Error, Result};

/// A CurveZMQ key pair (raw 32-byte keys).
#[derive(Debug)]
pub struct CurveKeyPair {
    /// The public key (32 raw bytes).
    pub public_key: [u8; 32],
    /// The secret key (32 raw bytes).
    pub secret_key: [u8; 32],
}

impl CurveKeyPair {
    /// Generates a new key pair from the operating system's randomness.
    pub fn new() -> Result<CurveKeyPair> {
        let pair = rustzmq_security::CurveKeyPair::generate().map_err(|_| Error::EFAULT)?;
        Ok(CurveKeyPair { public_key: *pair.public().as_bytes(), secret_key: *pair.secret().as_bytes() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_generates_a_matching_pair() {
        let pair = CurveKeyPair::new().unwrap();
        let secret = rustzmq_security::CurveSecretKey::from_bytes(pair.secret_key);
        assert_eq!(secret.public_key().as_bytes(), &pair.public_key);
        assert_ne!(CurveKeyPair::new().unwrap().public_key, pair.public_key);
        assert_eq!(crate::has("curve"), Some(true));
    }

    #[test]
    fn fields_are_public_and_raw() {
        let pair = CurveKeyPair { public_key: [1; 32], secret_key: [2; 32] };
        assert_eq!(pair.public_key.len(), 32);
        assert_eq!(pair.secret_key[0], 2);
        assert!(format!("{pair:?}").starts_with("CurveKeyPair { public_key: [1, 1"));
    }
}
