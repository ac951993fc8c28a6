//! CURVE keys: X25519 public and secret keys as raw 32 bytes or 40 Z85 characters.
//!
//! Secret keys are wiped from memory when dropped ([`zeroize`]) and never printed by `Debug`.
//! Keys compare in constant time ([`subtle`]).

use core::fmt;
use core::str::FromStr;

use alloc::string::String;
use rand_core::TryCryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::z85::{self, Z85Error};

/// Bytes of a CURVE public or secret key.
pub const KEY_LEN: usize = 32;
/// Characters of a CURVE key in Z85.
pub const KEY_Z85_LEN: usize = 40;

/// Why a key could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Raw key material that is not 32 bytes long, or Z85 text that is not 40 characters.
    #[error("a CURVE key is 32 bytes or 40 Z85 characters, got {0}")]
    Length(usize),
    /// The Z85 text is invalid.
    #[error("invalid Z85 key: {0}")]
    Z85(#[from] Z85Error),
    /// The random number generator failed.
    #[error("random number generator failed")]
    Random,
}

fn key_from_text(text: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    if text.len() != KEY_Z85_LEN {
        return Err(KeyError::Length(text.len()));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    z85::decode_into(text, &mut key[..])?;
    Ok(key)
}

fn key_from_slice(bytes: &[u8]) -> Result<[u8; KEY_LEN], KeyError> {
    bytes.try_into().map_err(|_| KeyError::Length(bytes.len()))
}

fn to_z85(key: &[u8; KEY_LEN]) -> String {
    // 32 is a multiple of 4.
    z85::encode(key).unwrap_or_default()
}

/// A CURVE (X25519) public key: a server's long-term key `S`, a client's `C`.
#[derive(Clone, Copy)]
pub struct CurvePublicKey([u8; KEY_LEN]);

impl CurvePublicKey {
    /// The key from its 32 bytes.
    pub const fn from_bytes(bytes: [u8; KEY_LEN]) -> CurvePublicKey {
        CurvePublicKey(bytes)
    }

    /// The key from a slice that must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<CurvePublicKey, KeyError> {
        key_from_slice(bytes).map(CurvePublicKey)
    }

    /// The key from its 40-character Z85 form.
    pub fn from_z85(text: impl AsRef<[u8]>) -> Result<CurvePublicKey, KeyError> {
        key_from_text(text.as_ref()).map(|key| CurvePublicKey(*key))
    }

    /// The 32 bytes of the key.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The 40-character Z85 form of the key.
    pub fn to_z85(&self) -> String {
        to_z85(&self.0)
    }
}

impl ConstantTimeEq for CurvePublicKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for CurvePublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for CurvePublicKey {}

impl fmt::Debug for CurvePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CurvePublicKey({})", self.to_z85())
    }
}

impl fmt::Display for CurvePublicKey {
    /// The Z85 form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_z85())
    }
}

impl FromStr for CurvePublicKey {
    type Err = KeyError;

    /// Parses the Z85 form.
    fn from_str(text: &str) -> Result<CurvePublicKey, KeyError> {
        CurvePublicKey::from_z85(text)
    }
}

impl From<[u8; KEY_LEN]> for CurvePublicKey {
    fn from(bytes: [u8; KEY_LEN]) -> CurvePublicKey {
        CurvePublicKey(bytes)
    }
}

/// A CURVE (X25519) secret key: a server's long-term `s`, a client's `c`.
///
/// Wiped on drop, redacted in `Debug`, compared in constant time.
#[derive(Clone)]
pub struct CurveSecretKey(Zeroizing<[u8; KEY_LEN]>);

impl CurveSecretKey {
    /// The key from its 32 bytes (any 32 bytes are a valid X25519 secret key).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> CurveSecretKey {
        CurveSecretKey(Zeroizing::new(bytes))
    }

    /// The key from a slice that must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<CurveSecretKey, KeyError> {
        let mut key = key_from_slice(bytes)?;
        let secret = CurveSecretKey::from_bytes(key);
        key.zeroize();
        Ok(secret)
    }

    /// The key from its 40-character Z85 form.
    pub fn from_z85(text: impl AsRef<[u8]>) -> Result<CurveSecretKey, KeyError> {
        key_from_text(text.as_ref()).map(CurveSecretKey)
    }

    /// Draws a fresh key from `rng`.
    pub fn generate_with<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<CurveSecretKey, KeyError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.try_fill_bytes(&mut key[..]).map_err(|_| KeyError::Random)?;
        Ok(CurveSecretKey(key))
    }

    /// The matching public key (X25519 of the base point, libzmq's `zmq_curve_public`).
    pub fn public_key(&self) -> CurvePublicKey {
        CurvePublicKey(x25519_dalek::x25519(*self.0, x25519_dalek::X25519_BASEPOINT_BYTES))
    }

    /// The 32 bytes of the key. Handle with care.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The 40-character Z85 form of the key, wiped when dropped.
    pub fn to_z85(&self) -> Zeroizing<String> {
        Zeroizing::new(to_z85(&self.0))
    }
}

impl ConstantTimeEq for CurveSecretKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&*other.0)
    }
}

impl PartialEq for CurveSecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for CurveSecretKey {}

impl fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CurveSecretKey(<redacted>)")
    }
}

impl From<[u8; KEY_LEN]> for CurveSecretKey {
    fn from(bytes: [u8; KEY_LEN]) -> CurveSecretKey {
        CurveSecretKey::from_bytes(bytes)
    }
}

/// A CURVE key pair: a long-term identity of a client or a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurveKeyPair {
    public: CurvePublicKey,
    secret: CurveSecretKey,
}

impl CurveKeyPair {
    /// A fresh key pair from the operating system's random number generator
    /// (libzmq's `zmq_curve_keypair`).
    #[cfg(feature = "os-rng")]
    #[cfg_attr(docsrs, doc(cfg(feature = "os-rng")))]
    pub fn generate() -> Result<CurveKeyPair, KeyError> {
        CurveKeyPair::generate_with(&mut getrandom::SysRng)
    }

    /// A fresh key pair from `rng`.
    pub fn generate_with<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<CurveKeyPair, KeyError> {
        Ok(CurveKeyPair::from_secret(CurveSecretKey::generate_with(rng)?))
    }

    /// The pair of `secret` and the public key derived from it.
    pub fn from_secret(secret: CurveSecretKey) -> CurveKeyPair {
        CurveKeyPair { public: secret.public_key(), secret }
    }

    /// The public half.
    pub fn public(&self) -> &CurvePublicKey {
        &self.public
    }

    /// The secret half.
    pub fn secret(&self) -> &CurveSecretKey {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    // The example keys of libzmq's zmq_curve(7) manual page (also used by its test suite).
    const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
    const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
    const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

    #[test]
    fn public_keys_derive_from_the_manual_page_secrets() {
        for (public, secret_text) in [(CLIENT_PUBLIC, CLIENT_SECRET), (SERVER_PUBLIC, SERVER_SECRET)] {
            let secret = CurveSecretKey::from_z85(secret_text).unwrap();
            assert_eq!(secret.public_key(), CurvePublicKey::from_z85(public).unwrap());
            assert_eq!(secret.public_key().to_z85(), public);
            assert_eq!(CurveKeyPair::from_secret(secret.clone()).public().to_string(), public);
            assert_eq!(secret.to_z85().as_str(), secret_text);
        }
    }

    #[test]
    fn lengths_and_z85_errors() {
        assert_eq!(CurvePublicKey::from_slice(&[0; 31]), Err(KeyError::Length(31)));
        assert_eq!(CurveSecretKey::from_slice(&[0; 33]), Err(KeyError::Length(33)));
        assert_eq!(CurvePublicKey::from_z85("HelloWorld"), Err(KeyError::Length(10)));
        let bad = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hI\"";
        assert_eq!(CurvePublicKey::from_z85(bad), Err(KeyError::Z85(Z85Error::InvalidCharacter(39))));
        assert!("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7".parse::<CurvePublicKey>().is_ok());
    }

    #[test]
    fn secret_keys_are_redacted() {
        let secret = CurveSecretKey::from_z85(SERVER_SECRET).unwrap();
        let text = alloc::format!("{secret:?} {:?}", CurveKeyPair::from_secret(secret.clone()));
        assert!(!text.contains(SERVER_SECRET), "{text}");
        assert!(text.contains("redacted"));
    }

    #[cfg(feature = "os-rng")]
    #[test]
    fn generated_pairs_are_consistent_and_distinct() {
        let a = CurveKeyPair::generate().unwrap();
        let b = CurveKeyPair::generate().unwrap();
        assert_eq!(a.secret().public_key(), *a.public());
        assert_ne!(a.public(), b.public());
        assert_ne!(a.secret(), b.secret());
    }
}
