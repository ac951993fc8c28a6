//! The incremental greeting decoder over arbitrary bytes and chunking.
//!
//! Invariants: it never consumes more than offered or stores more than 64 bytes; chunking
//! does not change the sequence of decisions; a complete greeting re-encodes to a greeting
//! that parses to the same value.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rustzmq_codec::{Greeting, GreetingDecoder, GreetingError, GreetingProgress};

#[derive(Debug, Arbitrary)]
struct Input {
    cuts: Vec<u8>,
    wire: Vec<u8>,
}

fn run(wire: &[u8], cuts: &[u8]) -> (Vec<GreetingProgress>, Option<GreetingError>, usize) {
    let mut decoder = GreetingDecoder::new();
    let mut points: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (wire.len() + 1)).collect();
    points.push(wire.len());
    points.sort_unstable();
    let mut seen = Vec::new();
    let (mut start, mut consumed) = (0, 0);
    for end in points {
        let mut piece = &wire[start..end];
        start = end;
        loop {
            match decoder.feed(piece) {
                Ok((used, progress)) => {
                    assert!(used <= piece.len());
                    assert!(decoder.received().len() <= 64);
                    consumed += used;
                    piece = &piece[used..];
                    match progress {
                        GreetingProgress::NeedMore => {
                            assert!(piece.is_empty());
                            break;
                        }
                        GreetingProgress::Signature | GreetingProgress::Revision(_) => seen.push(progress),
                        terminal => {
                            seen.push(terminal);
                            assert_eq!(decoder.feed(piece), Ok((0, terminal)));
                            return (seen, None, consumed);
                        }
                    }
                }
                // How much of the failing piece was looked at is not part of the contract.
                Err(error) => return (seen, Some(error), 0),
            }
        }
    }
    (seen, None, consumed)
}

fuzz_target!(|input: Input| {
    let whole = run(&input.wire, &[]);
    let chunked = run(&input.wire, &input.cuts);
    assert_eq!(whole, chunked, "chunking changed the outcome");
    if let Some(GreetingProgress::Complete(greeting)) = whole.0.last() {
        assert_eq!(whole.2, 64);
        assert_eq!(Greeting::parse(&greeting.encode()), Ok(*greeting));
    }
});
