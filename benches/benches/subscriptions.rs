//! Subscription matching and distribution on one PUB socket, at the pattern level (in-memory
//! pipes, no sockets or threads): the time of `send` for one message, which walks the
//! message's bytes down the subscription trie, marks the matching pipes and writes to them.
//!
//! `criterion_group!` generates undocumented public functions, hence the allow below.
#![allow(missing_docs)]
//!
//! 100 subscriber pipes share `N` distinct subscriptions (`topic.NNNNNN`, `N / 100` each), for
//! N = 100, 10,000 and 100,000. Messages either match exactly one subscription (one pipe gets
//! it) or none; the cost should not grow with N. A third case sends to 100 pipes subscribed to
//! everything (the empty prefix), for the cost of the fan-out itself. `trie_check` measures the
//! SUB side's own filter with the same subscriptions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rustzmq_patterns::{Pub, Trie};
use rustzmq_transport::pipe::{pipe_pair, Notify};
use rustzmq_transport::{Msg, Pattern, PeerInfo, Pipe, PipeId};

const PIPES: usize = 100;
const COUNTS: [usize; 3] = [100, 10_000, 100_000];
/// Messages sent between two drains of the subscribers' pipes.
const CHUNK: u64 = 10_000;

struct Quiet;
impl Notify for Quiet {
    fn pipe_event(&self, _id: PipeId) {}
}

fn topic(i: usize) -> Vec<u8> {
    format!("topic.{i:06}").into_bytes()
}

/// A PUB with `PIPES` subscribers sharing `count` distinct subscriptions (or, with `count`
/// 0, each subscribed to everything). Returns the subscribers' pipe ends.
fn publisher(count: usize) -> (Pub, Vec<Pipe>) {
    let mut publisher = Pub::new();
    let mut peers = Vec::new();
    for p in 0..PIPES {
        let id = p as PipeId + 1;
        let (ours, mut theirs) = pipe_pair(id, Arc::new(Quiet), Arc::new(Quiet), 0, 0);
        publisher.attach(ours, &PeerInfo::default());
        let prefixes: Vec<Vec<u8>> =
            if count == 0 { vec![Vec::new()] } else { (p..count).step_by(PIPES).map(topic).collect() };
        for prefix in prefixes {
            theirs.write(Msg::from_bytes(Bytes::from([&[1u8][..], &prefix].concat()))).unwrap();
        }
        theirs.flush();
        publisher.pipe_event(id);
        peers.push(theirs);
    }
    assert_eq!(publisher.subscriptions().len(), count.max(1));
    (publisher, peers)
}

/// Times `iters` sends of the messages (in turn), draining the subscribers between chunks.
fn run(publisher: &mut Pub, peers: &mut [Pipe], messages: &[Msg], iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut sent = 0u64;
    while sent < iters {
        let chunk = CHUNK.min(iters - sent);
        let start = Instant::now();
        for i in 0..chunk {
            let msg = messages[((sent + i) % messages.len() as u64) as usize].clone();
            publisher.send(msg).unwrap();
        }
        total += start.elapsed();
        sent += chunk;
        for peer in peers.iter_mut() {
            while peer.read().is_some() {}
        }
    }
    total
}

fn match_and_distribute(c: &mut Criterion) {
    let mut group = c.benchmark_group("pub_send");
    group.throughput(Throughput::Elements(1));
    for count in COUNTS {
        let (mut publisher, mut peers) = publisher(count);
        // Spread over the whole trie: each message hits one subscription, one pipe.
        let hits: Vec<Msg> = (0..1024)
            .map(|i| Msg::from_bytes(Bytes::from([topic(i * 7919 % count), b" payload".to_vec()].concat())))
            .collect();
        group.bench_function(BenchmarkId::new("match_one", count), |b| {
            b.iter_custom(|iters| run(&mut publisher, &mut peers, &hits, iters))
        });
        // Share a long prefix with every subscription, then differ.
        let misses: Vec<Msg> = (0..1024)
            .map(|i| Msg::from_bytes(Bytes::from(format!("topic.{:06}x payload", count + i).into_bytes())))
            .collect();
        group.bench_function(BenchmarkId::new("match_none", count), |b| {
            b.iter_custom(|iters| run(&mut publisher, &mut peers, &misses, iters))
        });
    }
    let (mut publisher, mut peers) = publisher(0);
    let any = [Msg::from_bytes(Bytes::from_static(b"topic.000001 payload"))];
    group.bench_function(BenchmarkId::new("fan_out_all", PIPES), |b| {
        b.iter_custom(|iters| run(&mut publisher, &mut peers, &any, iters))
    });
    group.finish();
}

fn trie_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("trie_check");
    group.throughput(Throughput::Elements(1));
    for count in COUNTS {
        let mut trie = Trie::new();
        (0..count).for_each(|i| {
            trie.add(&topic(i));
        });
        let hits: Vec<Vec<u8>> = (0..1024).map(|i| [topic(i * 7919 % count), b" payload".to_vec()].concat()).collect();
        let mut i = 0;
        group.bench_function(BenchmarkId::new("hit", count), |b| {
            b.iter(|| {
                i = (i + 1) % hits.len();
                black_box(trie.check(black_box(&hits[i])))
            })
        });
        let miss = format!("topic.{count:06}x").into_bytes();
        group.bench_function(BenchmarkId::new("miss", count), |b| b.iter(|| black_box(trie.check(black_box(&miss)))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = match_and_distribute, trie_check
}
criterion_main!(benches);
