//! Codec throughput: decoding and encoding 8 B, 64 B, 1 KiB and 64 KiB message frames.
//!
//! `criterion_group!` generates undocumented public functions, hence the allow below.
#![allow(missing_docs)]
//!
//! Each benchmark handles a batch of frames totalling about 4 MiB (at least 1,000 frames),
//! reported both as frames/s (`*_frames` groups) and bytes/s (`*_bytes` groups).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rustzmq_codec::{Decoder, Encoder, Frame, Limits};

const SIZES: [usize; 4] = [8, 64, 1024, 64 * 1024];
const BATCH_BYTES: usize = 4 << 20;

fn frames_for(size: usize) -> usize {
    (BATCH_BYTES / size).clamp(1_000, 200_000)
}

fn encoded_stream(size: usize, count: usize) -> Vec<u8> {
    let body = Bytes::from(vec![0xA5u8; size]);
    let mut encoder = Encoder::new();
    for _ in 0..count {
        encoder.encode_message_frame(&body, false);
    }
    encoder.chunks().flatten().copied().collect()
}

fn decode_all(wire: BytesMut) -> usize {
    let mut buf = wire;
    let mut decoder = Decoder::new(Limits::default());
    let mut total = 0;
    while let Ok(Some(frame)) = decoder.decode(&mut buf) {
        if let Frame::Message { body, .. } = frame {
            total += body.len();
        }
    }
    total
}

fn bench_decode(c: &mut Criterion) {
    for (group_name, per_frame) in [("decode_frames", true), ("decode_bytes", false)] {
        let mut group = c.benchmark_group(group_name);
        for size in SIZES {
            let count = frames_for(size);
            let wire = encoded_stream(size, count);
            group.throughput(if per_frame {
                Throughput::Elements(count as u64)
            } else {
                Throughput::Bytes((size * count) as u64)
            });
            group.bench_with_input(BenchmarkId::from_parameter(size), &wire, |b, wire| {
                b.iter_batched(|| BytesMut::from(&wire[..]), |buf| black_box(decode_all(buf)), BatchSize::LargeInput)
            });
        }
        group.finish();
    }
}

fn bench_encode(c: &mut Criterion) {
    for (group_name, per_frame) in [("encode_frames", true), ("encode_bytes", false)] {
        let mut group = c.benchmark_group(group_name);
        for size in SIZES {
            let count = frames_for(size);
            let body = Bytes::from(vec![0x5Au8; size]);
            group.throughput(if per_frame {
                Throughput::Elements(count as u64)
            } else {
                Throughput::Bytes((size * count) as u64)
            });
            let mut encoder = Encoder::new();
            group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| {
                b.iter(|| {
                    for _ in 0..count {
                        encoder.encode_message_frame(body, false);
                    }
                    // Drain as a writer would, so the batch storage is reused.
                    let pending = encoder.pending();
                    encoder.advance(pending);
                    black_box(pending)
                })
            });
        }
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = bench_decode, bench_encode }
criterion_main!(benches);
