//! XSalsa20-Poly1305 (NaCl's `crypto_secretbox`) and HSalsa20, written for CURVE's traffic:
//! one pass over the data, encrypting or decrypting and authenticating as it goes, in place
//! or from one buffer into another, with no allocation.
//!
//! Salsa20 as Bernstein specifies it (20 rounds, 64-bit block counter); XSalsa20 derives a
//! subkey with HSalsa20 from the key and the first 16 nonce bytes and runs Salsa20 under it
//! with the last 8. The secretbox takes the first 32 keystream bytes as a one-time Poly1305
//! key and encrypts the message with the keystream that follows; the tag authenticates the
//! ciphertext.
//!
//! Everything is safe, portable Rust. Four Salsa20 blocks are computed side by side in
//! `[u32; 4]` lanes, a form the compiler turns into the SSE2 instructions every x86-64 has
//! (and into NEON on aarch64), without any build flag. Poly1305 works on three 64-bit limbs
//! (44 + 44 + 42 bits) with 128-bit products, and takes two blocks per step (the second
//! multiplied by r, the running sum by r²) so that the two multiplications overlap.

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// Size of a key.
pub(crate) const KEY_LEN: usize = 32;
/// Size of an XSalsa20 nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// Size of a Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

/// "expand 32-byte k", as four little-endian words.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

fn load32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn load64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

/// The Salsa20 input block: constants, key, nonce (`words[6..8]`) and counter or, for
/// HSalsa20, 16 nonce bytes (`words[6..10]`).
fn input_block(key: &[u8; KEY_LEN], middle: [u32; 4]) -> [u32; 16] {
    let k = |i: usize| load32(&key[4 * i..]);
    [
        SIGMA[0],
        k(0),
        k(1),
        k(2),
        k(3),
        SIGMA[1],
        middle[0],
        middle[1],
        middle[2],
        middle[3],
        SIGMA[2],
        k(4),
        k(5),
        k(6),
        k(7),
        SIGMA[3],
    ]
}

/// One quarter round on words `a, b, c, d` of `x` (any lane type with the three operations).
macro_rules! quarter_round {
    ($x:ident, $add:ident, $xor_rotl:ident, $a:literal, $b:literal, $c:literal, $d:literal) => {
        $x[$b] = $xor_rotl($x[$b], $add($x[$a], $x[$d]), 7);
        $x[$c] = $xor_rotl($x[$c], $add($x[$b], $x[$a]), 9);
        $x[$d] = $xor_rotl($x[$d], $add($x[$c], $x[$b]), 13);
        $x[$a] = $xor_rotl($x[$a], $add($x[$d], $x[$c]), 18);
    };
}

/// Ten double rounds on `x`.
macro_rules! twenty_rounds {
    ($x:ident, $add:ident, $xor_rotl:ident) => {
        for _ in 0..10 {
            double_round!($x, $add, $xor_rotl);
        }
    };
}

/// A double round (a column round, then a row round) on `x`.
macro_rules! double_round {
    ($x:ident, $add:ident, $xor_rotl:ident) => {{
        quarter_round!($x, $add, $xor_rotl, 0, 4, 8, 12);
        quarter_round!($x, $add, $xor_rotl, 5, 9, 13, 1);
        quarter_round!($x, $add, $xor_rotl, 10, 14, 2, 6);
        quarter_round!($x, $add, $xor_rotl, 15, 3, 7, 11);
        quarter_round!($x, $add, $xor_rotl, 0, 1, 2, 3);
        quarter_round!($x, $add, $xor_rotl, 5, 6, 7, 4);
        quarter_round!($x, $add, $xor_rotl, 10, 11, 8, 9);
        quarter_round!($x, $add, $xor_rotl, 15, 12, 13, 14);
    }};
}

#[inline(always)]
fn add1(a: u32, b: u32) -> u32 {
    a.wrapping_add(b)
}

#[inline(always)]
fn xor_rotl1(a: u32, b: u32, n: u32) -> u32 {
    a ^ b.rotate_left(n)
}

/// Four lanes, one per block: SSE2 on x86-64 (always there), NEON on aarch64, plain arrays
/// elsewhere.
type Lanes = wide::u32x4;

#[inline(always)]
fn add4(a: Lanes, b: Lanes) -> Lanes {
    a + b
}

#[inline(always)]
fn xor_rotl4(a: Lanes, b: Lanes, n: u32) -> Lanes {
    a ^ (b << n) ^ (b >> (32 - n))
}

/// HSalsa20: 32 bytes derived from `key` and a 16-byte input (XSalsa20's subkey, NaCl's
/// `crypto_box_beforenm` with a zero input).
pub(crate) fn hsalsa20(key: &[u8; KEY_LEN], input: &[u8; 16]) -> [u8; KEY_LEN] {
    let mut x = input_block(key, [load32(input), load32(&input[4..]), load32(&input[8..]), load32(&input[12..])]);
    twenty_rounds!(x, add1, xor_rotl1);
    let mut out = [0u8; KEY_LEN];
    for (chunk, i) in out.chunks_exact_mut(4).zip([0, 5, 10, 15, 6, 7, 8, 9]) {
        chunk.copy_from_slice(&x[i].to_le_bytes());
    }
    x.zeroize();
    out
}

/// A Salsa20 keystream: its input block, whose counter says which block comes next.
struct Salsa20 {
    input: [u32; 16],
}

impl Salsa20 {
    /// Salsa20 under `key` with an 8-byte nonce, from block 0.
    fn new(key: &[u8; KEY_LEN], nonce: &[u8]) -> Salsa20 {
        Salsa20 { input: input_block(key, [load32(nonce), load32(&nonce[4..]), 0, 0]) }
    }

    fn counter(&self) -> u64 {
        u64::from(self.input[8]) | (u64::from(self.input[9]) << 32)
    }

    fn set_counter(&mut self, counter: u64) {
        self.input[8] = counter as u32;
        self.input[9] = (counter >> 32) as u32;
    }

    /// The next block of keystream, into `out` (64 bytes).
    fn block(&mut self, out: &mut [u8]) {
        let mut x = self.input;
        twenty_rounds!(x, add1, xor_rotl1);
        for ((chunk, word), input) in out.chunks_exact_mut(4).zip(x).zip(self.input) {
            chunk.copy_from_slice(&word.wrapping_add(input).to_le_bytes());
        }
        x.zeroize();
        self.set_counter(self.counter().wrapping_add(1));
    }

    /// The next blocks of keystream into `out`, enough for `needed` bytes if that takes less
    /// than four blocks, four blocks otherwise; returns how many bytes it wrote. One or two
    /// blocks are computed alone (a short message's), more four at a time. `mac` absorbs
    /// `mac_data` meanwhile (see [`Salsa20::blocks4`]).
    fn fill(&mut self, out: &mut [u8; 256], needed: usize, mac: &mut Poly1305, mac_data: &[u8]) -> usize {
        mac.update(if needed > 128 { &[] } else { mac_data });
        match needed {
            0..=64 => {
                self.block(&mut out[..64]);
                64
            }
            65..=128 => {
                let (first, second) = out[..128].split_at_mut(64);
                self.block(first);
                self.block(second);
                128
            }
            _ => {
                self.blocks4(out, mac, mac_data);
                256
            }
        }
    }

    /// The next four blocks of keystream, computed side by side, while `mac` absorbs
    /// `mac_data` (up to 320 bytes; a multiple of 16 unless it ends the message). The MAC's
    /// scalar multiplications are interleaved with the rounds' vector instructions, so that the
    /// processor runs both at once.
    fn blocks4(&mut self, out: &mut [u8; 256], mac: &mut Poly1305, mac_data: &[u8]) {
        let counter = self.counter();
        let mut input = [Lanes::splat(0); 16];
        for (lanes, word) in input.iter_mut().zip(self.input) {
            *lanes = Lanes::splat(word);
        }
        let counters: [u64; 4] = core::array::from_fn(|lane| counter.wrapping_add(lane as u64));
        input[8] = Lanes::new(counters.map(|c| c as u32));
        input[9] = Lanes::new(counters.map(|c| (c >> 32) as u32));
        let powers = if mac_data.len() >= 64 { Some(mac.powers()) } else { None };
        let mut quads = mac_data.chunks_exact(64);
        let mut x = input;
        for round in 0..10 {
            double_round!(x, add4, xor_rotl4);
            if let (1 | 3 | 5 | 7 | 9, Some(powers)) = (round, &powers) {
                if let Some(quad) = quads.next() {
                    mac.quad(quad, powers);
                }
            }
        }
        for (word, start) in x.iter_mut().zip(input) {
            *word += start;
        }
        // Word w of block b is lane b of x[w]: transpose four words at a time.
        for group in 0..4 {
            let rows = Lanes::transpose([x[4 * group], x[4 * group + 1], x[4 * group + 2], x[4 * group + 3]]);
            for (block, row) in rows.iter().enumerate() {
                let at = 64 * block + 16 * group;
                for (chunk, word) in out[at..at + 16].chunks_exact_mut(4).zip(row.to_array()) {
                    chunk.copy_from_slice(&word.to_le_bytes());
                }
            }
        }
        self.set_counter(counter.wrapping_add(4));
        if let Some(powers) = &powers {
            for quad in &mut quads {
                mac.quad(quad, powers);
            }
        }
        mac.update(quads.remainder());
    }
}

impl Drop for Salsa20 {
    fn drop(&mut self) {
        self.input.zeroize();
    }
}

const MASK44: u64 = (1 << 44) - 1;
const MASK42: u64 = (1 << 42) - 1;
/// The 2^128 bit of a full block, in the top limb.
const HIGH_BIT: u64 = 1 << 40;

/// A multiplier mod 2^130 − 5 in limbs of 44, 44 and 42 bits, with its upper limbs times 20
/// ready: a product term at 2^132 or above wraps around as 2^130 ≡ 5, times 4 · 5 = 20.
#[derive(Clone, Copy)]
struct Multiplier {
    limbs: [u64; 3],
    limb1_20: u64,
    limb2_20: u64,
}

impl Multiplier {
    fn new(limbs: [u64; 3]) -> Multiplier {
        Multiplier { limbs, limb1_20: limbs[1] * 20, limb2_20: limbs[2] * 20 }
    }

    /// a · self mod 2^130 − 5, not carried (each limb a sum of three products).
    #[inline(always)]
    fn mul(&self, a: [u64; 3]) -> [u128; 3] {
        let [a0, a1, a2] = a.map(u128::from);
        let [b0, b1, b2] = self.limbs.map(u128::from);
        let (b1_20, b2_20) = (u128::from(self.limb1_20), u128::from(self.limb2_20));
        [a0 * b0 + a1 * b2_20 + a2 * b1_20, a0 * b1 + a1 * b0 + a2 * b2_20, a0 * b2 + a1 * b1 + a2 * b0]
    }
}

/// Carries a product back into limbs of 44, 44 and 42 bits (the middle one may keep a few
/// bits more).
#[inline(always)]
fn carry(d: [u128; 3]) -> [u64; 3] {
    let [d0, mut d1, mut d2] = d;
    let h0 = (d0 as u64) & MASK44;
    d1 += d0 >> 44;
    let h1 = (d1 as u64) & MASK44;
    d2 += d1 >> 44;
    let h2 = (d2 as u64) & MASK42;
    let h0 = h0 + ((d2 >> 42) as u64) * 5;
    [h0 & MASK44, h1 + (h0 >> 44), h2]
}

#[inline(always)]
fn sum(a: [u128; 3], b: [u128; 3]) -> [u128; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// Splits 16 little-endian bytes into 44-, 44- and 42-bit limbs, adding `high_bit` on top.
#[inline(always)]
fn limbs(bytes: &[u8], high_bit: u64) -> [u64; 3] {
    let lo = load64(bytes);
    let hi = load64(&bytes[8..]);
    [lo & MASK44, ((lo >> 44) | (hi << 20)) & MASK44, (hi >> 24) | high_bit]
}

/// Poly1305, one-time authenticator: h = (h + block) · r mod 2^130 − 5 over the 16-byte
/// blocks, then tag = h + s mod 2^128.
struct Poly1305 {
    /// r, clamped.
    r: Multiplier,
    /// r², r³ and r⁴, computed for the first run of four blocks: four blocks then take one
    /// step, h' = (h + m1) · r⁴ + m2 · r³ + m3 · r² + m4 · r, whose products are independent.
    powers: Option<[Multiplier; 3]>,
    /// s, the key's second half.
    s: [u64; 2],
    /// The accumulator.
    h: [u64; 3],
}

impl Poly1305 {
    fn new(key: &[u8]) -> Poly1305 {
        let lo = load64(key) & 0x0fff_fffc_0fff_ffff;
        let hi = load64(&key[8..]) & 0x0fff_fffc_0fff_fffc;
        let r = Multiplier::new([lo & MASK44, ((lo >> 44) | (hi << 20)) & MASK44, hi >> 24]);
        Poly1305 { r, powers: None, s: [load64(&key[16..]), load64(&key[24..])], h: [0; 3] }
    }

    fn powers(&mut self) -> [Multiplier; 3] {
        let r = self.r;
        *self.powers.get_or_insert_with(|| {
            let r2 = carry(r.mul(r.limbs));
            let r3 = carry(r.mul(r2));
            let r4 = carry(r.mul(r3));
            [Multiplier::new(r2), Multiplier::new(r3), Multiplier::new(r4)]
        })
    }

    /// Absorbs `data`: its full blocks, then a trailing partial block padded as the last one
    /// (so only the final call may pass a length that is not a multiple of 16).
    fn update(&mut self, data: &[u8]) {
        // Four blocks a step once there are enough of them to pay for the powers (three
        // multiplications), one at a time otherwise and for the rest.
        let mut rest = data;
        if data.len() >= 128 || self.powers.is_some() {
            let powers = self.powers();
            let mut quads = data.chunks_exact(64);
            for quad in &mut quads {
                self.quad(quad, &powers);
            }
            rest = quads.remainder();
        }
        let mut blocks = rest.chunks_exact(16);
        for block in &mut blocks {
            self.block(limbs(block, HIGH_BIT));
        }
        let last = blocks.remainder();
        if !last.is_empty() {
            let mut padded = [0u8; 16];
            padded[..last.len()].copy_from_slice(last);
            padded[last.len()] = 1;
            self.block(limbs(&padded, 0));
        }
    }

    /// Four full blocks (64 bytes) in one step, given `self.powers()`.
    #[inline(always)]
    fn quad(&mut self, quad: &[u8], [r2, r3, r4]: &[Multiplier; 3]) {
        let [m0, m1, m2] = limbs(quad, HIGH_BIT);
        let h = [self.h[0] + m0, self.h[1] + m1, self.h[2] + m2];
        let a = sum(r4.mul(h), r3.mul(limbs(&quad[16..], HIGH_BIT)));
        let b = sum(r2.mul(limbs(&quad[32..], HIGH_BIT)), self.r.mul(limbs(&quad[48..], HIGH_BIT)));
        self.h = carry(sum(a, b));
    }

    fn block(&mut self, m: [u64; 3]) {
        let h = [self.h[0] + m[0], self.h[1] + m[1], self.h[2] + m[2]];
        self.h = carry(self.r.mul(h));
    }

    fn finish(mut self) -> [u8; TAG_LEN] {
        // Carry fully, then subtract p = 2^130 − 5 if h ≥ p (in constant time).
        let [mut h0, mut h1, mut h2] = self.h;
        for _ in 0..2 {
            h2 += h1 >> 44;
            h1 &= MASK44;
            h0 += (h2 >> 42) * 5;
            h2 &= MASK42;
            h1 += h0 >> 44;
            h0 &= MASK44;
        }
        let g0 = h0 + 5;
        let g1 = h1 + (g0 >> 44);
        let g2 = (h2 + (g1 >> 44)).wrapping_sub(1 << 42);
        // g2's top bit is set when h < p: keep h then.
        let take_g = (g2 >> 63).wrapping_sub(1);
        h0 = (h0 & !take_g) | (g0 & MASK44 & take_g);
        h1 = (h1 & !take_g) | (g1 & MASK44 & take_g);
        h2 = (h2 & !take_g) | (g2 & MASK42 & take_g);
        // + s mod 2^128
        let [s0, s1] = self.s;
        h0 += s0 & MASK44;
        h1 += (((s0 >> 44) | (s1 << 20)) & MASK44) + (h0 >> 44);
        h2 += (s1 >> 24) + (h1 >> 44);
        let lo = (h0 & MASK44) | (h1 << 44);
        let hi = ((h1 & MASK44) >> 20) | (h2 << 24);
        let mut tag = [0u8; TAG_LEN];
        tag[..8].copy_from_slice(&lo.to_le_bytes());
        tag[8..].copy_from_slice(&hi.to_le_bytes());
        self.h = [0; 3];
        tag
    }
}

impl Multiplier {
    fn wipe(&mut self) {
        self.limbs.zeroize();
        self.limb1_20.zeroize();
        self.limb2_20.zeroize();
    }
}

impl Drop for Poly1305 {
    fn drop(&mut self) {
        self.r.wipe();
        if let Some(powers) = &mut self.powers {
            powers.iter_mut().for_each(Multiplier::wipe);
        }
        self.s.zeroize();
        self.h.zeroize();
    }
}

fn xor_in_place(buf: &mut [u8], keystream: &[u8]) {
    for (byte, key) in buf.iter_mut().zip(keystream) {
        *byte ^= key;
    }
}

fn xor_into(out: &mut [u8], input: &[u8], keystream: &[u8]) {
    for ((out, byte), key) in out.iter_mut().zip(input).zip(keystream) {
        *out = byte ^ key;
    }
}

/// Which way data goes through [`run`].
enum Direction<'a> {
    /// Encrypt `buf` in place, then authenticate the ciphertext.
    SealInPlace,
    /// Authenticate `buf`, then decrypt it in place.
    OpenInPlace,
    /// Authenticate the ciphertext `from`, and decrypt it into `buf`.
    OpenFrom(&'a [u8]),
}

/// The XSalsa20 keystream for `nonce` applied to the data as `direction` says, with the
/// Poly1305 tag of the ciphertext. Works through the data 256 bytes at a time, so each piece
/// is encrypted and authenticated while in cache.
fn run(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN], buf: &mut [u8], direction: Direction<'_>) -> [u8; TAG_LEN] {
    let mut head = [0u8; 16];
    head.copy_from_slice(&nonce[..16]);
    let mut subkey = hsalsa20(key, &head);
    let mut stream = Salsa20::new(&subkey, &nonce[16..]);
    subkey.zeroize();
    let mut keystream = [0u8; 256];
    // Block 0 starts with the Poly1305 key; the data's keystream follows it.
    let mut block0 = [0u8; 64];
    stream.block(&mut block0);
    let mut mac = Poly1305::new(&block0[..32]);
    keystream[..64].copy_from_slice(&block0);
    block0.zeroize();
    let (mut available, mut used) = (64, 32);
    let len = buf.len();
    // The ciphertext is authenticated while the next keystream is computed: for sealing, what
    // was encrypted so far; for opening, the piece about to be decrypted. `maced` bytes are in.
    let mut maced = 0;
    let mut done = 0;
    while done < len {
        if used == available {
            let left = len - done;
            let next = done + left.min(256);
            let mac_data = match direction {
                Direction::SealInPlace => &buf[maced..done],
                Direction::OpenInPlace => &buf[maced..next],
                Direction::OpenFrom(from) => &from[maced..next],
            };
            let end = maced + mac_data.len();
            available = stream.fill(&mut keystream, left, &mut mac, mac_data);
            maced = end;
            used = 0;
        }
        let n = (available - used).min(len - done);
        let key_piece = &keystream[used..used + n];
        match direction {
            Direction::SealInPlace => xor_in_place(&mut buf[done..done + n], key_piece),
            Direction::OpenInPlace => {
                if maced < done + n {
                    mac.update(&buf[maced..done + n]);
                    maced = done + n;
                }
                xor_in_place(&mut buf[done..done + n], key_piece);
            }
            Direction::OpenFrom(from) => {
                if maced < done + n {
                    mac.update(&from[maced..done + n]);
                    maced = done + n;
                }
                xor_into(&mut buf[done..done + n], &from[done..done + n], key_piece);
            }
        }
        used += n;
        done += n;
    }
    if let Direction::SealInPlace = direction {
        mac.update(&buf[maced..]);
    }
    keystream.zeroize();
    mac.finish()
}

/// An XSalsa20-Poly1305 key (a `crypto_box_beforenm` result or a secretbox key), wiped when
/// dropped.
pub(crate) struct SecretBox {
    key: [u8; KEY_LEN],
}

impl SecretBox {
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> SecretBox {
        SecretBox { key: *key }
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) -> [u8; TAG_LEN] {
        run(&self.key, nonce, buf, Direction::SealInPlace)
    }

    /// Decrypts `buf` in place if `tag` authenticates it; otherwise wipes it and returns
    /// `None`.
    pub(crate) fn open_in_place(&self, nonce: &[u8; NONCE_LEN], tag: &[u8], buf: &mut [u8]) -> Option<()> {
        let expected = run(&self.key, nonce, buf, Direction::OpenInPlace);
        Self::verify(&expected, tag, buf)
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
        let expected = run(&self.key, nonce, out, Direction::OpenFrom(ciphertext));
        Self::verify(&expected, tag, out)
    }

    fn verify(expected: &[u8; TAG_LEN], tag: &[u8], plaintext: &mut [u8]) -> Option<()> {
        if bool::from(expected[..].ct_eq(tag)) {
            Some(())
        } else {
            plaintext.zeroize();
            None
        }
    }
}

impl Drop for SecretBox {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use crypto_secretbox::aead::generic_array::GenericArray;
    use crypto_secretbox::{AeadInPlace, Kdf, KeyInit, XSalsa20Poly1305};
    use proptest::prelude::*;

    fn reference_seal(key: &[u8; 32], nonce: &[u8; 24], data: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let cipher = XSalsa20Poly1305::new(GenericArray::from_slice(key));
        let mut buf = data.to_vec();
        let tag = cipher.encrypt_in_place_detached(GenericArray::from_slice(nonce), &[], &mut buf).unwrap();
        (buf, tag.into())
    }

    #[test]
    fn hsalsa20_matches_the_reference() {
        let key = [0x4b; 32];
        let input = [0x17; 16];
        let reference =
            <XSalsa20Poly1305 as Kdf>::kdf(GenericArray::from_slice(&key), GenericArray::from_slice(&input));
        assert_eq!(hsalsa20(&key, &input)[..], reference[..]);
    }

    /// Poly1305 on RFC 8439's test vector (section 2.5.2).
    #[test]
    fn poly1305_rfc8439_vector() {
        let key = [
            0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5, 0x06, 0xa8, 0x01, 0x03,
            0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf, 0x41, 0x49, 0xf5, 0x1b,
        ];
        let mut mac = Poly1305::new(&key);
        mac.update(b"Cryptographic Forum Research Group");
        assert_eq!(
            mac.finish(),
            [0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6, 0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01, 0x27, 0xa9]
        );
    }

    /// Accumulators at and around 2^130 − 5 must reduce fully.
    #[test]
    fn poly1305_final_reduction_edges() {
        let mut one = [0u8; 32];
        one[0] = 1;
        for key in [[0xff; 32], [0u8; 32], one] {
            for data in [vec![0xff; 16], vec![0xff; 64], vec![0xfb; 48], vec![0; 32], vec![0xff; 17], vec![0xff; 300]] {
                let mut mac = Poly1305::new(&key);
                mac.update(&data);
                assert_eq!(mac.finish(), bignum::reference_mac(&key, &data), "key {key:?} data {data:?}");
            }
        }
    }

    /// A Poly1305 to check ours against: schoolbook arithmetic on 32-bit limbs.
    mod bignum {
        use alloc::vec::Vec;

        /// Poly1305 by schoolbook arithmetic on 32-bit limbs of a 130-bit number.
        pub(super) fn reference_mac(key: &[u8; 32], data: &[u8]) -> [u8; 16] {
            let mut r = [0u8; 16];
            r.copy_from_slice(&key[..16]);
            for i in [3, 7, 11, 15] {
                r[i] &= 15;
            }
            for i in [4, 8, 12] {
                r[i] &= 252;
            }
            let r = big(&r);
            let p = {
                // 2^130 - 5
                let mut p = Vec::from([0xfffffffbu64, 0xffffffff, 0xffffffff, 0xffffffff, 3]);
                p.resize(10, 0);
                p
            };
            let mut h = alloc::vec![0u64; 10];
            for block in data.chunks(16) {
                let mut m = block.to_vec();
                m.push(1);
                m.resize(17, 0);
                let m = big(&m);
                h = add(&h, &m);
                h = modp(&mul(&h, &r), &p);
            }
            let s = big(&key[16..]);
            let t = add(&h, &s);
            let mut out = [0u8; 16];
            for i in 0..4 {
                out[4 * i..4 * i + 4].copy_from_slice(&(t[i] as u32).to_le_bytes());
            }
            out
        }

        fn big(bytes: &[u8]) -> Vec<u64> {
            let mut limbs = alloc::vec![0u64; 10];
            for (i, byte) in bytes.iter().enumerate() {
                limbs[i / 4] |= u64::from(*byte) << (8 * (i % 4));
            }
            limbs
        }

        fn normalize(mut x: Vec<u64>) -> Vec<u64> {
            let mut carry = 0;
            for limb in x.iter_mut() {
                let v = *limb + carry;
                *limb = v & 0xffff_ffff;
                carry = v >> 32;
            }
            x
        }

        fn add(a: &[u64], b: &[u64]) -> Vec<u64> {
            normalize(a.iter().zip(b).map(|(x, y)| x + y).collect())
        }

        fn mul(a: &[u64], b: &[u64]) -> Vec<u64> {
            let mut out = alloc::vec![0u64; 10];
            for i in 0..5 {
                for j in 0..5 {
                    let v = a[i] * b[j];
                    out[i + j] += v & 0xffff_ffff;
                    out[i + j + 1] += v >> 32;
                }
                out = normalize(out);
            }
            out
        }

        fn ge(a: &[u64], b: &[u64]) -> bool {
            for i in (0..a.len()).rev() {
                if a[i] != b[i] {
                    return a[i] > b[i];
                }
            }
            true
        }

        fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
            let mut out = alloc::vec![0u64; a.len()];
            let mut borrow = 0i64;
            for i in 0..a.len() {
                let v = a[i] as i64 - b[i] as i64 - borrow;
                if v < 0 {
                    out[i] = (v + (1 << 32)) as u64;
                    borrow = 1;
                } else {
                    out[i] = v as u64;
                    borrow = 0;
                }
            }
            out
        }

        fn modp(x: &[u64], p: &[u64]) -> Vec<u64> {
            // Fold 2^130 multiples: x = lo + hi * 2^130 ≡ lo + 5 hi, until below 2^131, then subtract.
            let mut x = x.to_vec();
            loop {
                let hi_nonzero = x[4] >> 2 != 0 || x[5..].iter().any(|&l| l != 0);
                if !hi_nonzero {
                    break;
                }
                let mut lo = x.clone();
                lo[4] &= 3;
                for l in lo[5..].iter_mut() {
                    *l = 0;
                }
                // hi = x >> 130
                let mut hi = alloc::vec![0u64; 10];
                for i in 0..6 {
                    let a = x[i + 4] >> 2;
                    let b = if i + 5 < 10 { (x[i + 5] & 3) << 30 } else { 0 };
                    hi[i] = a | b;
                }
                let five_hi = normalize(hi.iter().map(|l| l * 5).collect());
                x = add(&lo, &five_hi);
            }
            while ge(&x, p) {
                x = sub(&x, p);
            }
            x
        }
    }

    #[test]
    fn sizes_around_block_edges_match_the_reference() {
        let key = [0x5a; 32];
        for len in (0..=600).chain([4095, 4096, 4097, 65536, 65537]) {
            let nonce = [len as u8; 24];
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let (ciphertext, tag) = reference_seal(&key, &nonce, &data);
            let sealer = SecretBox::new(&key);
            let mut buf = data.clone();
            assert_eq!(sealer.seal_in_place(&nonce, &mut buf), tag, "len {len}");
            assert_eq!(buf, ciphertext, "len {len}");
            sealer.open_in_place(&nonce, &tag, &mut buf).unwrap();
            assert_eq!(buf, data, "len {len}");
            let mut out = vec![0u8; len];
            sealer.open_into(&nonce, &tag, &ciphertext, &mut out).unwrap();
            assert_eq!(out, data, "len {len}");
        }
    }

    #[test]
    fn forgeries_are_refused_and_wiped() {
        let sealer = SecretBox::new(&[9; 32]);
        let nonce = [3; 24];
        let mut buf = b"attack at dawn".to_vec();
        let mut tag = sealer.seal_in_place(&nonce, &mut buf);
        let ciphertext = buf.clone();
        tag[0] ^= 1;
        assert!(sealer.open_in_place(&nonce, &tag, &mut buf).is_none());
        assert!(buf.iter().all(|&b| b == 0));
        let mut out = vec![1u8; ciphertext.len()];
        assert!(sealer.open_into(&nonce, &tag, &ciphertext, &mut out).is_none());
        assert!(out.iter().all(|&b| b == 0));
    }

    proptest! {
        #[test]
        fn matches_the_reference(key in any::<[u8; 32]>(), nonce in any::<[u8; 24]>(), data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let (ciphertext, tag) = reference_seal(&key, &nonce, &data);
            let sealer = SecretBox::new(&key);
            let mut buf = data.clone();
            prop_assert_eq!(sealer.seal_in_place(&nonce, &mut buf), tag);
            prop_assert_eq!(&buf, &ciphertext);
            let mut out = vec![0u8; data.len()];
            prop_assert!(sealer.open_into(&nonce, &tag, &ciphertext, &mut out).is_some());
            prop_assert_eq!(&out, &data);
            prop_assert!(sealer.open_in_place(&nonce, &tag, &mut buf).is_some());
            prop_assert_eq!(&buf, &data);
        }

        #[test]
        fn poly1305_matches_bignum(key in any::<[u8; 32]>(), data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut mac = Poly1305::new(&key);
            mac.update(&data);
            prop_assert_eq!(mac.finish(), bignum::reference_mac(&key, &data));
        }
    }
}
