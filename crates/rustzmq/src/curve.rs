//! [`CurveKeyPair`]: a CurveZMQ key pair, as in the `zmq` crate 0.10.
//!
//! The keys are stored as **raw 32-byte binary** values (not Z85 text). CURVE is not available
//! yet (`has("curve")` is false), so [`CurveKeyPair::new`] fails with `ENOTSUP`, exactly what
//! the `zmq` crate 0.10 does when its libzmq is built without libsodium.

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
    /// Generates a new key pair.
    ///
    /// Fails with [`Error::ENOTSUP`] while the library has no CURVE support (see `has("curve")`).
    pub fn new() -> Result<CurveKeyPair> {
        Err(Error::ENOTSUP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_is_not_supported_yet() {
        assert_eq!(CurveKeyPair::new().unwrap_err(), Error::ENOTSUP);
        assert_eq!(crate::has("curve"), Some(false));
    }

    #[test]
    fn fields_are_public_and_raw() {
        let pair = CurveKeyPair { public_key: [1; 32], secret_key: [2; 32] };
        assert_eq!(pair.public_key.len(), 32);
        assert_eq!(pair.secret_key[0], 2);
        assert!(format!("{pair:?}").starts_with("CurveKeyPair { public_key: [1, 1"));
    }
}
