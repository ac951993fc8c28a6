//! Multi-threaded stress tests of the `ypipe` SPSC queue: ordering, exactly-once delivery,
//! the reader-asleep/wake-up protocol (a lost or spurious wake-up fails the test), and drops
//! of heap items across threads.
//!
//! `YPIPE_STRESS_ITEMS` overrides the item count (e.g. smaller under valgrind).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use rustzmq_transport::ypipe::{ypipe, YReader, YWriter, CHUNK_SIZE};

/// How long a sleeping reader waits for its wake-up before declaring it lost.
const WAKE_TIMEOUT: Duration = Duration::from_secs(5);

fn stress_items(default: u64) -> u64 {
    std::env::var("YPIPE_STRESS_ITEMS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// xorshift64*: a small deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Statistics of one run.
struct Run {
    elapsed: Duration,
    wakes: u64,
}

/// Shape of a stress run.
#[derive(Clone, Copy)]
struct Params {
    /// Items to send.
    count: u64,
    /// PRNG seed.
    seed: u64,
    /// Batches are mostly up to `max_batch / 4 + 1` items, sometimes up to `4 * max_batch`.
    max_batch: u64,
    /// Whether the writer often waits for the reader to drain the queue before a batch.
    lockstep: bool,
}

/// Writer thread: `count` items made by `make(i)` in batches of random sizes (sometimes
/// followed by items that are written then rolled back with `unwrite`), flushing after each
/// batch and "waking" the reader through `wake` whenever flush returns false.
fn writer_loop<T: Send>(
    mut w: YWriter<T>,
    params: Params,
    lockstep: Option<&AtomicU64>,
    wake: Sender<()>,
    make: impl Fn(u64) -> T,
    junk: impl Fn() -> T,
) -> u64 {
    let Params { count, seed, max_batch, .. } = params;
    let mut rng = Rng(seed);
    let mut i = 0;
    let mut wakes = 0;
    while i < count {
        // Mostly small batches, sometimes several chunks' worth.
        let batch = match rng.below(8) {
            0 => 1 + rng.below(4 * max_batch),
            _ => 1 + rng.below(max_batch / 4 + 1),
        }
        .min(count - i);
        for _ in 0..batch {
            w.write(make(i));
            i += 1;
        }
        if rng.below(16) == 0 {
            // An incomplete message rolled back before the flush.
            let undo = 1 + rng.below(CHUNK_SIZE as u64 + 10);
            for _ in 0..undo {
                w.write(junk());
            }
            for _ in 0..undo {
                assert!(w.unwrite().is_some());
            }
        }
        if !w.flush() {
            wakes += 1;
            wake.send(()).expect("reader gone");
        }
        if rng.below(64) == 0 {
            thread::yield_now();
        }
        if let Some(progress) = lockstep {
            // Half the time, let the reader drain everything, so that it goes to sleep right
            // when the next flush comes.
            if rng.below(2) == 0 {
                while progress.load(Ordering::Relaxed) < i {
                    thread::yield_now();
                }
            }
        }
    }
    wakes
}

/// Reader thread: reads `count` items, checking each with `check(i, item)`. When the queue
/// is empty (check_read returned false, so the reader is marked asleep) it waits for exactly
/// one wake-up (polling a little, then blocking), after which an item must be readable.
fn reader_loop<T: Send>(
    mut r: YReader<T>,
    count: u64,
    progress: &AtomicU64,
    wake: Receiver<()>,
    check: impl Fn(u64, T),
) -> u64 {
    let mut sleeps = 0;
    let mut i = 0;
    while i < count {
        if !r.check_read() {
            sleeps += 1;
            let polled = (0..100).any(|k| {
                if k < 20 {
                    std::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
                wake.try_recv().is_ok()
            });
            if !polled && wake.recv_timeout(WAKE_TIMEOUT).is_err() {
                panic!("lost wake-up: reader asleep at item {i} of {count}, no wake-up within {WAKE_TIMEOUT:?}");
            }
            assert!(r.check_read(), "woken at item {i} but nothing to read: spurious wake-up");
        }
        let item = r.read().expect("check_read said an item is available");
        check(i, item);
        i += 1;
        progress.store(i, Ordering::Relaxed);
    }
    sleeps
}

fn run_stress<T: Send + 'static>(
    params: Params,
    make: impl Fn(u64) -> T + Send + 'static,
    junk: impl Fn() -> T + Send + 'static,
    check: impl Fn(u64, T) + Send + 'static,
) -> Run {
    let count = params.count;
    let (w, r) = ypipe::<T>();
    let (wake_tx, wake_rx) = crossbeam_channel::unbounded();
    let wake_rx2 = wake_rx.clone();
    let start = Instant::now();
    let progress = Arc::new(AtomicU64::new(0));
    let progress_r = Arc::clone(&progress);
    let reader = thread::spawn(move || reader_loop(r, count, &progress_r, wake_rx2, check));
    let writer =
        thread::spawn(move || writer_loop(w, params, params.lockstep.then_some(&*progress), wake_tx, make, junk));
    let wakes = writer.join().expect("writer panicked");
    let sleeps = reader.join().expect("reader panicked");
    let elapsed = start.elapsed();
    assert!(wake_rx.try_recv().is_err(), "a wake-up was sent that no sleep needed");
    assert_eq!(wakes, sleeps, "one wake-up per sleep");
    Run { elapsed, wakes }
}

#[test]
fn stress_u64_in_order_exactly_once() {
    let count = stress_items(5_000_000);
    let run = run_stress(
        Params { count, seed: 0x9e37_79b9_7f4a_7c15, max_batch: CHUNK_SIZE as u64, lockstep: false },
        |i| i,
        || u64::MAX,
        |i, v| {
            if v != i {
                panic!("expected {i}, got {v}");
            }
        },
    );
    eprintln!(
        "ypipe two-thread stress: {count} u64 in {:?} = {:.1} ns/msg, {} reader wake-ups",
        run.elapsed,
        run.elapsed.as_nanos() as f64 / count as f64,
        run.wakes
    );
}

/// Tiny batches, and the writer often waits for the reader to drain the queue before its
/// next batch: the reader goes to sleep all the time, its asleep CAS racing the writer's
/// flush CAS.
#[test]
fn stress_asleep_race() {
    let count = stress_items(5_000_000) / 10;
    let run = run_stress(
        Params { count, seed: 0x0123_4567_89ab_cdef, max_batch: 4, lockstep: true },
        |i| i,
        || u64::MAX,
        |i, v| {
            if v != i {
                panic!("expected {i}, got {v}");
            }
        },
    );
    eprintln!(
        "ypipe asleep race: {count} u64 in {:?} = {:.1} ns/msg, {} reader wake-ups",
        run.elapsed,
        run.elapsed.as_nanos() as f64 / count as f64,
        run.wakes
    );
}

/// Counts live heap items, to check that every one is dropped exactly once.
struct Counted {
    value: Box<u64>,
    live: Arc<AtomicUsize>,
}

impl Counted {
    fn new(value: u64, live: &Arc<AtomicUsize>) -> Counted {
        live.fetch_add(1, Ordering::Relaxed);
        Counted { value: Box::new(value), live: Arc::clone(live) }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

#[test]
fn stress_heap_items_across_threads() {
    let count = stress_items(5_000_000) / 10;
    let live = Arc::new(AtomicUsize::new(0));
    let (live_w, live_j) = (Arc::clone(&live), Arc::clone(&live));
    run_stress(
        Params { count, seed: 0x1234_5678_9abc_def1, max_batch: CHUNK_SIZE as u64, lockstep: false },
        move |i| (Counted::new(i, &live_w), i.to_string()),
        move || (Counted::new(u64::MAX, &live_j), String::from("junk")),
        |i, (c, s): (Counted, String)| {
            assert_eq!(*c.value, i);
            assert_eq!(s, i.to_string());
        },
    );
    assert_eq!(live.load(Ordering::Relaxed), 0, "every item dropped exactly once");
}

/// The reader stops (and drops its end) part-way while the writer keeps writing; whatever
/// is left in the queue is dropped when the last end goes.
#[test]
fn reader_dropped_mid_stream() {
    for (seed, stop_at) in [(1u64, 0u64), (2, 1), (3, 1_000), (4, 33_333), (5, 100_000)] {
        let live = Arc::new(AtomicUsize::new(0));
        let (w, mut r) = ypipe::<Counted>();
        let live_w = Arc::clone(&live);
        let writer = thread::spawn(move || {
            let mut w = w;
            let mut rng = Rng(seed);
            let mut i = 0;
            while !w.is_reader_closed() && i < 1_000_000 {
                for _ in 0..1 + rng.below(300) {
                    w.write(Counted::new(i, &live_w));
                    i += 1;
                }
                w.flush();
                // Leave some unflushed items at the end.
                if w.is_reader_closed() {
                    w.write(Counted::new(i, &live_w));
                }
            }
            i
        });
        let mut i = 0;
        while i < stop_at {
            match r.read() {
                Some(c) => {
                    assert_eq!(*c.value, i);
                    i += 1;
                }
                None => thread::yield_now(),
            }
        }
        drop(r);
        writer.join().expect("writer panicked");
        assert_eq!(live.load(Ordering::Relaxed), 0, "stop_at={stop_at}");
    }
}

/// The writer drops its end while the reader is reading: everything flushed arrives, then
/// `is_writer_closed` reports the end.
#[test]
fn writer_dropped_mid_stream() {
    let live = Arc::new(AtomicUsize::new(0));
    let (w, mut r) = ypipe::<Counted>();
    let live_w = Arc::clone(&live);
    let writer = thread::spawn(move || {
        let mut w = w;
        let mut rng = Rng(7);
        let mut i = 0;
        while i < 200_000 {
            for _ in 0..1 + rng.below(300) {
                w.write(Counted::new(i, &live_w));
                i += 1;
            }
            w.flush();
        }
        // Unflushed items at drop: dropped by the writer, never seen by the reader.
        for _ in 0..CHUNK_SIZE + 1 {
            w.write(Counted::new(u64::MAX, &live_w));
        }
        i
    });
    let mut i = 0;
    loop {
        match r.read() {
            Some(c) => {
                assert_eq!(*c.value, i);
                i += 1;
            }
            None if r.is_writer_closed() => {
                // Everything flushed before the close is visible now.
                match r.read() {
                    Some(c) => {
                        assert_eq!(*c.value, i);
                        i += 1;
                    }
                    None => break,
                }
            }
            None => thread::yield_now(),
        }
    }
    let written = writer.join().expect("writer panicked");
    assert_eq!(i, written);
    drop(r);
    assert_eq!(live.load(Ordering::Relaxed), 0);
}

/// Single-threaded micro-measurement: write + flush every 64 + read.
#[test]
fn single_thread_throughput() {
    let count = stress_items(5_000_000);
    let (mut w, mut r) = ypipe::<u64>();
    let start = Instant::now();
    let mut sum = 0u64;
    let mut i = 0;
    while i < count {
        for _ in 0..64 {
            w.write(i);
            i += 1;
        }
        w.flush();
        while let Some(v) = r.read() {
            sum = sum.wrapping_add(v);
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, (0..i).sum::<u64>());
    eprintln!(
        "ypipe single-thread write+flush(64)+read: {i} u64 in {elapsed:?} = {:.2} ns/msg",
        elapsed.as_nanos() as f64 / i as f64
    );
}
