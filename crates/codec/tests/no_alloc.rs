//! Steady-state decoding and encoding allocate nothing per frame (counted by a global
//! allocator wrapper; this test binary holds only this test so no other thread allocates).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use rustzmq_codec::{Decoder, Encoder, Frame, Limits};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

#[test]
fn decoding_and_encoding_do_not_allocate_per_frame() {
    const FRAMES: usize = 10_000;
    let body = Bytes::from(vec![7u8; 64]);

    // Encoder: after one warm-up round the batch storage is reused.
    let mut encoder = Encoder::new();
    let mut wire = Vec::with_capacity(FRAMES * 66);
    for round in 0..3 {
        let before = allocations();
        for _ in 0..FRAMES {
            encoder.encode_message_frame(&body, false);
        }
        if round == 2 {
            wire.extend(encoder.chunks().flatten().copied());
        }
        let pending = encoder.pending();
        encoder.advance(pending);
        if round > 0 {
            assert_eq!(allocations() - before, 0, "encoder allocated in steady state (round {round})");
        }
    }

    // Decoder: at most one allocation for the whole buffer (the shared reference count
    // `bytes` creates the first time a buffer is split), none per frame.
    let mut buf = BytesMut::from(&wire[..]);
    let mut decoder = Decoder::new(Limits::default());
    let before = allocations();
    let mut frames = 0;
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        assert!(matches!(frame, Frame::Message { ref body, more: false } if body.len() == 64));
        frames += 1;
    }
    let used = allocations() - before;
    assert_eq!(frames, FRAMES);
    assert!(used <= 1, "decoder made {used} allocations for {FRAMES} frames");
}
