//! XSalsa20-Poly1305 (NaCl's `crypto_secretbox`) and HSalsa20 as CURVE's traffic uses them,
//! from RustCrypto's `crypto_secretbox` (the design fixes the primitives to the RustCrypto
//! crates made for them: no cipher of our own). What this module adds is the shape CURVE
//! needs: sealing and opening in place, or from one buffer into another, with no allocation,
//! and a failed open wiping what it decrypted.

use crypto_secretbox::aead::generic_array::GenericArray;
use crypto_secretbox::{AeadInPlace, Kdf, KeyInit, XSalsa20Poly1305};

/// Size of a key.
pub(crate) const KEY_LEN: usize = 32;
/// Size of an XSalsa20 nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// Size of a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

/// HSalsa20 of `input` under `key` (NaCl's `crypto_core_hsalsa20` with the standard
/// constant): `crypto_box_beforenm` applies it to the X25519 shared secret.
pub(crate) fn hsalsa20(key: &[u8; KEY_LEN], input: &[u8; 16]) -> [u8; KEY_LEN] {
    let derived = <XSalsa20Poly1305 as Kdf>::kdf(GenericArray::from_slice(key), GenericArray::from_slice(input));
    derived.into()
}

/// An XSalsa20-Poly1305 key (a `crypto_box_beforenm` result or a secretbox key). RustCrypto's
/// cipher wipes it when dropped.
pub(crate) struct SecretBox {
    cipher: XSalsa20Poly1305,
}

impl SecretBox {
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> SecretBox {
        SecretBox { cipher: XSalsa20Poly1305::new(GenericArray::from_slice(key)) }
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) -> [u8; TAG_LEN] {
        // Without associated data this fails only for inputs above 256 GiB, which no frame
        // reaching here can be (MAXMSGSIZE is far below); the tag is then all zeros and the
        // peer refuses the box.
        self.cipher
            .encrypt_in_place_detached(GenericArray::from_slice(nonce), &[], buf)
            .map(Into::into)
            .unwrap_or_default()
    }

    /// Decrypts `buf` in place if `tag` authenticates it; otherwise wipes it and returns
    /// `None`.
    pub(crate) fn open_in_place(&self, nonce: &[u8; NONCE_LEN], tag: &[u8], buf: &mut [u8]) -> Option<()> {
        if tag.len() != TAG_LEN {
            buf.fill(0);
            return None;
        }
        match self.cipher.decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            &[],
            buf,
            GenericArray::from_slice(tag),
        ) {
            Ok(()) => Some(()),
            Err(_) => {
                // RustCrypto checks the tag before decrypting, so `buf` still holds the
                // ciphertext; it is wiped all the same, as the contract says.
                buf.fill(0);
                None
            }
        }
    }

    /// Decrypts `ciphertext` into `out` (of the same length) if `tag` authenticates it;
    /// otherwise wipes `out` and returns `None`.
    pub(crate) fn open_into(
        &self,
        nonce: &[u8; NONCE_LEN],
        tag: &[u8],
        ciphertext: &[u8],
        out: &mut [u8],
    ) -> Option<()> {
        debug_assert_eq!(ciphertext.len(), out.len());
        if ciphertext.len() != out.len() {
            out.fill(0);
            return None;
        }
        out.copy_from_slice(ciphertext);
        self.open_in_place(nonce, tag, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn seal_then_open_in_place_and_into() {
        let sealer = SecretBox::new(&[7; KEY_LEN]);
        let nonce = [3; NONCE_LEN];
        for len in [0usize, 1, 63, 64, 65, 1000, 70_000] {
            let plain: alloc::vec::Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut buf = plain.clone();
            let tag = sealer.seal_in_place(&nonce, &mut buf);
            assert!(len == 0 || buf != plain, "encrypted");
            let mut out = vec![0u8; len];
            assert_eq!(sealer.open_into(&nonce, &tag, &buf, &mut out), Some(()));
            assert_eq!(out, plain);
            assert_eq!(sealer.open_in_place(&nonce, &tag, &mut buf), Some(()));
            assert_eq!(buf, plain);
        }
    }

    #[test]
    fn a_forged_box_is_refused_and_wiped() {
        let sealer = SecretBox::new(&[7; KEY_LEN]);
        let nonce = [3; NONCE_LEN];
        let mut buf = vec![0x55u8; 100];
        let mut tag = sealer.seal_in_place(&nonce, &mut buf);
        tag[0] ^= 1;
        let mut out = vec![1u8; 100];
        assert_eq!(sealer.open_into(&nonce, &tag, &buf, &mut out), None);
        assert!(out.iter().all(|&b| b == 0));
        assert_eq!(sealer.open_in_place(&nonce, &tag[..15], &mut buf), None, "short tag");
        assert!(buf.iter().all(|&b| b == 0));
    }

    /// NaCl's published `crypto_box` test vector (Bernstein, "Cryptography in NaCl", §10):
    /// the HSalsa20 of the X25519 secret shared by Alice and Bob.
    #[test]
    fn hsalsa20_gives_nacl_first_key() {
        let shared = [
            0x4a, 0x5d, 0x9d, 0x5b, 0xa4, 0xce, 0x2d, 0xe1, 0x72, 0x8e, 0x3b, 0xf4, 0x80, 0x35, 0x0f, 0x25, 0xe0, 0x7e,
            0x21, 0xc9, 0x47, 0xd1, 0x9e, 0x33, 0x76, 0xf0, 0x9b, 0x3c, 0x1e, 0x16, 0x17, 0x42,
        ];
        let expected = [
            0x1b, 0x27, 0x55, 0x64, 0x73, 0xe9, 0x85, 0xd4, 0x62, 0xcd, 0x51, 0x19, 0x7a, 0x9a, 0x46, 0xc7, 0x60, 0x09,
            0x54, 0x9e, 0xac, 0x64, 0x74, 0xf2, 0x06, 0xc4, 0xee, 0x08, 0x44, 0xf6, 0x83, 0x89,
        ];
        assert_eq!(hsalsa20(&shared, &[0; 16]), expected);
    }
}
