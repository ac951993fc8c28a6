//! NaCl's `crypto_box` and `crypto_secretbox` as CurveZMQ uses them: X25519 from
//! `x25519-dalek`, XSalsa20-Poly1305 and HSalsa20 from RustCrypto's `crypto_secretbox` (through
//! [`crate::secretbox`]).
//!
//! `crypto_box_beforenm(pk, sk)` is HSalsa20 (zero nonce) of the X25519 shared secret; the box
//! is then XSalsa20-Poly1305 under that key. On the wire a box is the 16-byte Poly1305 tag
//! followed by the ciphertext (NaCl's output with its 16 leading zero bytes dropped, as libzmq
//! sends it). The X25519 step has libsodium's semantics: the scalar is clamped (not reduced)
//! and a shared secret of all zeros (a peer key of small order) is refused, as
//! `crypto_box_beforenm` refuses it.

use alloc::vec::Vec;

use rand_core::TryCryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::KEY_LEN;
use crate::secretbox::{self, SecretBox};

/// Size of the Poly1305 tag that starts every box.
pub(crate) const TAG_LEN: usize = secretbox::TAG_LEN;
/// Size of a full nonce.
pub(crate) const NONCE_LEN: usize = secretbox::NONCE_LEN;

/// A precomputed box key (`crypto_box_beforenm`) or a secretbox key: XSalsa20-Poly1305.
/// The key is wiped when dropped.
pub(crate) struct BoxKey(SecretBox);

impl BoxKey {
    /// `crypto_box_beforenm(their_public, our_secret)`; `None` if the shared secret is all
    /// zeros.
    pub(crate) fn precompute(their_public: &[u8; KEY_LEN], our_secret: &[u8; KEY_LEN]) -> Option<BoxKey> {
        let secret = x25519_dalek::StaticSecret::from(*our_secret);
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*their_public));
        if !shared.was_contributory() {
            return None;
        }
        let mut key = secretbox::hsalsa20(shared.as_bytes(), &[0; 16]);
        let boxed = BoxKey(SecretBox::new(&key));
        key.zeroize();
        Some(boxed)
    }

    /// A secretbox key (the CURVE server's cookie key).
    pub(crate) fn secret(key: &[u8; KEY_LEN]) -> BoxKey {
        BoxKey(SecretBox::new(key))
    }

    /// Appends the box of `plaintext` (tag, then ciphertext) to `out`.
    pub(crate) fn seal_into(&self, nonce: &[u8; NONCE_LEN], plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + TAG_LEN, 0);
        out.extend_from_slice(plaintext);
        self.seal_in_place(nonce, &mut out[start..]);
    }

    /// Encrypts `buf[TAG_LEN..]` in place and writes the tag into `buf[..TAG_LEN]`.
    pub(crate) fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) {
        let (tag_out, text) = buf.split_at_mut(TAG_LEN);
        tag_out.copy_from_slice(&self.0.seal_in_place(nonce, text));
    }

    /// Opens a box (tag, then ciphertext); `None` if it is shorter than a tag or does not
    /// authenticate. The plaintext is wiped when dropped.
    pub(crate) fn open(&self, nonce: &[u8; NONCE_LEN], boxed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if boxed.len() < TAG_LEN {
            return None;
        }
        let (tag, ciphertext) = boxed.split_at(TAG_LEN);
        let mut plaintext = Zeroizing::new(alloc::vec![0; ciphertext.len()]);
        self.0.open_into(nonce, tag, ciphertext, &mut plaintext)?;
        Some(plaintext)
    }

    /// Decrypts `buf` in place if `tag` authenticates it; otherwise wipes `buf`.
    pub(crate) fn open_in_place(&self, nonce: &[u8; NONCE_LEN], tag: &[u8], buf: &mut [u8]) -> Option<()> {
        self.0.open_in_place(nonce, tag, buf)
    }

    /// Decrypts `ciphertext` into `out` (of the same length) if `tag` authenticates it;
    /// otherwise wipes `out`.
    pub(crate) fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        tag: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        self.0.open_into(nonce, tag, ciphertext, out)
    }
}

/// A full nonce: `prefix` followed by `tail`.
pub(crate) fn nonce(prefix: &[u8], tail: &[u8]) -> [u8; NONCE_LEN] {
    debug_assert_eq!(prefix.len() + tail.len(), NONCE_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..prefix.len()].copy_from_slice(prefix);
    nonce[prefix.len()..].copy_from_slice(tail);
    nonce
}

/// Fills `buf` from `rng`.
pub(crate) fn fill<R: TryCryptoRng + ?Sized>(rng: &mut R, buf: &mut [u8]) -> Result<(), ()> {
    rng.try_fill_bytes(buf).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::CurveSecretKey;

    #[test]
    fn both_sides_derive_the_same_box_key() {
        let a = CurveSecretKey::from_bytes([1; 32]);
        let b = CurveSecretKey::from_bytes([2; 32]);
        let ab = BoxKey::precompute(a.public_key().as_bytes(), b.as_bytes()).unwrap();
        let ba = BoxKey::precompute(b.public_key().as_bytes(), a.as_bytes()).unwrap();
        let n = nonce(b"CurveZMQMESSAGEC", &7u64.to_be_bytes());
        let mut boxed = Vec::new();
        ab.seal_into(&n, b"hello", &mut boxed);
        assert_eq!(boxed.len(), TAG_LEN + 5);
        assert_eq!(&ba.open(&n, &boxed).unwrap()[..], b"hello");
        boxed[3] ^= 1;
        assert!(ba.open(&n, &boxed).is_none());
        assert!(ba.open(&n, &boxed[..15]).is_none());
    }

    #[test]
    fn small_order_peer_keys_are_refused() {
        let ours = [7u8; 32];
        // The identity and the point of order 2 (u = 0, u = 1 in little-endian).
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(BoxKey::precompute(&[0; 32], &ours).is_none());
        assert!(BoxKey::precompute(&one, &ours).is_none());
    }
}
