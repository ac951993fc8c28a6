//! Metadata parsing over arbitrary bytes.
//!
//! Invariant: whatever parses re-encodes to exactly the input (the format has one encoding).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rustzmq_codec::Metadata;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    if let Ok(metadata) = Metadata::parse(&input) {
        assert_eq!(metadata.encoded_len(), data.len());
        let mut out = Vec::with_capacity(data.len());
        metadata.encode(&mut out);
        assert_eq!(out, data);
        for (name, _) in metadata.iter() {
            assert!(rustzmq_codec::metadata::is_valid_name(name));
        }
    }
});
