//! Command parsing over arbitrary command frame bodies.
//!
//! Invariants: a parsed command is valid and round-trips; except for ERROR (which, like
//! libzmq, tolerates bytes after its reason) it re-encodes to exactly the input.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use rustzmq_codec::Command;

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);
    if let Ok(command) = Command::parse(&input) {
        assert!(command.validate().is_ok());
        let mut out = Vec::with_capacity(command.body_len());
        command.encode_body(&mut out);
        assert_eq!(out.len(), command.body_len());
        assert_eq!(Command::parse(&Bytes::from(out.clone())), Ok(command.clone()));
        if !matches!(command, Command::Error { .. }) {
            assert_eq!(out, data);
        }
    }
});
