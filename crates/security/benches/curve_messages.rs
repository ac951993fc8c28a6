//! CURVE traffic: sealing and opening 64 B and 64 KiB frames with a ready connection's
//! codec (`encode_body` / `decode_body`, what the engine calls per frame), next to the bare
//! RustCrypto XSalsa20-Poly1305 (`crypto_secretbox`, which the codec uses) on the same sizes:
//! the difference is the codec's own cost (framing, nonces, buffers).
//!
//! `criterion_group!` generates undocumented public functions, hence the allow below.
#![allow(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crypto_secretbox::aead::generic_array::GenericArray;
use crypto_secretbox::{AeadInPlace, KeyInit, XSalsa20Poly1305};
use rustzmq_security::{
    CurveClient, CurveKeyPair, CurveMessageCodec, CurveSecretKey, CurveServer, Mechanism, SocketProperties, Status,
    ZapConfig,
};

const SIZES: [usize; 2] = [64, 64 * 1024];

/// A client and a server codec after a complete handshake.
fn codecs() -> (CurveMessageCodec, CurveMessageCodec) {
    let server_secret = CurveSecretKey::from_bytes([3; 32]);
    let client_keys = CurveKeyPair::from_secret(CurveSecretKey::from_bytes([5; 32]));
    let mut client = CurveClient::new(SocketProperties::new("PUSH"), client_keys, server_secret.public_key()).unwrap();
    let mut server = CurveServer::new(SocketProperties::new("PULL"), server_secret, ZapConfig::default()).unwrap();
    while client.status() != Status::Ready || server.status() != Status::Ready {
        while let Some(command) = client.next_command() {
            server.process_command(&command).unwrap();
        }
        while let Some(command) = server.next_command() {
            let mut body = bytes::BytesMut::new();
            command.encode_body(&mut body);
            client.process_command_body(&body.freeze()).unwrap();
        }
    }
    (client.into_message_codec().unwrap(), server.into_message_codec().unwrap())
}

fn seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("curve_seal");
    for size in SIZES {
        let payload = vec![0xA5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        let (mut client, _) = codecs();
        group.bench_with_input(BenchmarkId::new("encode_body", size), &payload, |b, payload| {
            b.iter(|| black_box(client.encode_body(0, payload).unwrap()))
        });
        let cipher = XSalsa20Poly1305::new(GenericArray::from_slice(&[9; 32]));
        let mut buf = payload.clone();
        let mut nonce = 0u64;
        group.bench_with_input(BenchmarkId::new("rustcrypto_in_place", size), &size, |b, _| {
            b.iter(|| {
                nonce += 1;
                let mut full = [0u8; 24];
                full[16..].copy_from_slice(&nonce.to_be_bytes());
                black_box(cipher.encrypt_in_place_detached(GenericArray::from_slice(&full), &[], &mut buf).unwrap())
            })
        });
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("curve_open");
    for size in SIZES {
        let payload = vec![0xA5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        // Each iteration opens a fresh box (nonces must rise): seal a batch ahead of time.
        for (name, shared) in [("decode_body_in_place", false), ("decode_body_shared", true)] {
            let (mut client, mut server) = codecs();
            group.bench_with_input(BenchmarkId::new(name, size), &payload, |b, payload| {
                b.iter_batched(
                    || {
                        let body = Bytes::from(client.encode_body(0, payload).unwrap().to_vec());
                        let keep = shared.then(|| body.clone());
                        (body, keep)
                    },
                    |(body, keep)| {
                        black_box(server.decode_body(body).unwrap());
                        keep
                    },
                    criterion::BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = seal, open
}
criterion_main!(benches);
