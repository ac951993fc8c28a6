//! Z85 over arbitrary input.
//!
//! Invariants: decoding never panics; whatever decodes re-encodes to the same text; encoding
//! any whole number of 4-byte groups decodes back to the data; a 40-character key that
//! decodes round-trips through the key types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustzmq_security::{z85, CurvePublicKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = z85::decode(data) {
        assert_eq!(decoded.len(), data.len() / 5 * 4);
        assert_eq!(z85::encode(&decoded).unwrap().as_bytes(), data);
    }
    let whole = &data[..data.len() / 4 * 4];
    let text = z85::encode(whole).unwrap();
    assert_eq!(z85::decode(&text).unwrap(), whole);
    if data.len() == 40 {
        if let Ok(key) = CurvePublicKey::from_z85(data) {
            assert_eq!(key.to_z85().as_bytes(), data);
        }
    }
});
