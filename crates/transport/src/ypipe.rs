//! `ypipe`: the lock-free single-producer/single-consumer queue under every rustzmq pipe.
//!
//! A port of libzmq's `ypipe_t`/`yqueue_t` semantics: an unbounded queue made of linked
//! chunks of [`CHUNK_SIZE`] slots, with *batched publication* (items written by
//! [`YWriter::write`] become visible to the reader only at [`YWriter::flush`], which
//! publishes the whole batch with one atomic compare-and-swap) and *reader-asleep detection*
//! (when [`YReader::check_read`] finds the queue empty it atomically marks the reader asleep,
//! and the writer's next flush returns `false`, telling the caller to wake the reader with
//! one syscall elsewhere). In steady state there is no lock, no syscall and no heap
//! allocation: the chunks the reader has emptied are handed back to the writer through
//! [`SPARE_CHUNKS`] `spares` slots.
//!
//! # State
//!
//! Items are numbered by a 64-bit sequence number `seq` (it never wraps). The writer owns
//! the *tail* (chunk, index in chunk, `tail_seq` = seq of the next write) and `flushed`
//! (everything below it is published); the reader owns the *head* (chunk, index, `head_seq`
//! = seq of the next read) and `readable` (everything below it is known to be published —
//! libzmq's prefetch, so reading already-published items touches no shared memory). The one
//! hot shared word is `c` ([`AtomicU64`], alone on its cache line):
//!
//! * `c == n` (n < `ASLEEP`): the writer has published every item with `seq < n`; `n` is
//!   always equal to the writer's `flushed`;
//! * `c == ASLEEP` (`u64::MAX`): the reader found the queue empty and is waiting to be woken.
//!
//! Only two transitions exist: the reader CASes `c` from `head_seq` (= "nothing beyond what
//! I've read") to `ASLEEP`; the writer CASes `c` from `flushed` to `tail_seq`, or, if that
//! fails because `c == ASLEEP`, stores `tail_seq` (the reader never modifies `c` while it is
//! `ASLEEP`, because its CAS expects a real sequence number). So `c ∈ {flushed, ASLEEP}` at
//! all times.
//!
//! # Memory ordering
//!
//! * **Publication.** The writer initializes slots, and links new chunks (`next` pointers),
//!   with plain/relaxed writes, then publishes with the *Release* CAS (or Release store) on
//!   `c` in `flush`. The reader's CAS on `c` in `check_read` uses *Acquire* (also on
//!   failure, which is where it reads a new flush point). It therefore happens-after every
//!   slot write and chunk link below the flush point it read, and it only ever reads slots
//!   with `seq < readable` and follows `next` of a chunk only to read such a slot.
//! * **Chunk recycling.** When the reader leaves a chunk it puts it into an empty `spares`
//!   slot with a *Release* `compare_exchange(null, chunk)`; the writer takes one with an
//!   *Acquire* `swap(null)`, so the reader's last accesses to the chunk (moving items out,
//!   reading `next`) happen-before the writer reuses it. Only the reader puts chunks in the
//!   slots (only into null ones) and only the writer takes them (swapping in null), so a chunk
//!   taken from a slot is exclusively the writer's and a slot never holds a chunk twice.
//! * **No lost wake-up.** Both the reader's `head_seq → ASLEEP` CAS and the writer's
//!   `flushed → tail_seq` CAS are read-modify-writes on `c`, hence totally ordered in `c`'s
//!   modification order, and each reads the value written immediately before it. If the
//!   writer's CAS comes first, `c` becomes `tail_seq != head_seq`, so the reader's CAS fails,
//!   reads the new flush point and `check_read` returns `true` (and the Acquire synchronizes
//!   with the Release CAS, so the items are visible). If the reader's CAS comes first, the
//!   writer's CAS reads `ASLEEP`, fails, and `flush` returns `false`, so the caller wakes the
//!   reader; the store of `tail_seq` precedes that wake-up, so the woken reader's next
//!   `check_read` (which happens-after the wake-up through the wake-up mechanism) reads the
//!   new flush point. Both cannot miss. Conversely `flush` returns `false` only when the
//!   reader did mark itself asleep, and only the first flush after that (it replaces
//!   `ASLEEP`), so there are no spurious wake-ups either.
//! * **Closing.** Each end sets its `*_closed` flag with Release when dropped, after its last
//!   operation; `is_*_closed` loads with Acquire. So when [`YReader::is_writer_closed`]
//!   returns `true`, a following `check_read` sees everything the writer flushed.
//! * **Teardown.** The writer's `Drop` drops its unflushed items itself (they are its own);
//!   the reader's `Drop` deposits its head position in the shared part (relaxed stores). The
//!   shared part is dropped by `Arc` after both ends, with `Arc`'s Release decrement /
//!   Acquire fence, so its `Drop` sees both ends' final state and drops exactly the slots in
//!   `[head_seq, c)` (or none if `c == ASLEEP`, which implies `head_seq == flushed`), then
//!   frees the chunk chain from the head chunk and the spare chunks.
//!
//! # Chunk lifetime
//!
//! Chunks are freed only by the reader (when it leaves a chunk and every slot was full)
//! and by the shared part's `Drop`. The reader leaves chunk `X` for `X.next` only to read an
//! item of `X.next`, i.e. once the writer has flushed past the end of `X`; after that the
//! writer never returns to `X` ([`YWriter::unwrite`] only steps back into a chunk that holds
//! an *unflushed* item). So the writer's tail chunk and the reader's head chunk are always
//! alive, and the chain `head → … → tail (→ chunks cached by unwrite)` is always linked.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Number of item slots per chunk (12 KiB chunks for a 48-byte [`Msg`](crate::Msg)).
pub const CHUNK_SIZE: usize = 256;

/// How many emptied chunks wait for reuse. Queue depth that swings by up to this many chunks
/// (1,024 messages: libzmq's default high-water mark) then costs no allocation at all.
pub const SPARE_CHUNKS: usize = 4;

/// Value of `c` when the reader is asleep. Never a real sequence number.
const ASLEEP: u64 = u64::MAX;

/// A block of `CHUNK_SIZE` slots. Every field is interior-mutable, so shared references to a
/// chunk may be held by both ends at once; which end may touch which slot is the protocol's
/// business (see the module documentation).
struct Chunk<T> {
    slots: [UnsafeCell<MaybeUninit<T>>; CHUNK_SIZE],
    /// The following chunk, or null. Written by the writer (relaxed; published through `c`),
    /// read by the reader when it moves on and by `Shared::drop`.
    next: AtomicPtr<Chunk<T>>,
    /// The preceding chunk; only ever used by the writer (for `unwrite`).
    prev: AtomicPtr<Chunk<T>>,
}

impl<T> Chunk<T> {
    fn alloc(prev: *mut Chunk<T>) -> *mut Chunk<T> {
        Box::into_raw(Box::new(Chunk {
            slots: [const { UnsafeCell::new(MaybeUninit::uninit()) }; CHUNK_SIZE],
            next: AtomicPtr::new(ptr::null_mut()),
            prev: AtomicPtr::new(prev),
        }))
    }

    /// Frees a chunk without dropping any slot.
    ///
    /// # Safety
    /// `chunk` comes from [`Chunk::alloc`], is not freed yet, and nobody uses it afterwards.
    unsafe fn free(chunk: *mut Chunk<T>) {
        // SAFETY: per this function's contract, `chunk` is a live `Box` allocation that we
        // now own exclusively. `MaybeUninit` slots are not dropped.
        drop(unsafe { Box::from_raw(chunk) });
    }
}

/// Aligns (and pads) the hot shared word on its own cache line pair, away from the
/// colder shared fields.
#[repr(align(128))]
struct CachePadded<T>(T);

/// The part shared by both ends.
struct Shared<T> {
    /// Flush point (`seq` one past the last published item) or `ASLEEP`.
    c: CachePadded<AtomicU64>,
    /// Recycled chunks, put by the reader, taken by the writer (null: empty slot).
    spares: [AtomicPtr<Chunk<T>>; SPARE_CHUNKS],
    writer_closed: AtomicBool,
    reader_closed: AtomicBool,
    /// The reader's position, deposited by `YReader::drop` for `Shared::drop`.
    head_chunk: AtomicPtr<Chunk<T>>,
    head_idx: AtomicUsize,
    head_seq: AtomicU64,
    /// `Shared` owns the `T`s left in the queue.
    _owns: PhantomData<T>,
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both ends are gone; `Arc`'s Acquire fence makes their final state visible.
        let first = *self.head_chunk.get_mut();
        let mut chunk = first;
        let mut idx = *self.head_idx.get_mut();
        let mut seq = *self.head_seq.get_mut();
        let c = *self.c.0.get_mut();
        let end = if c == ASLEEP { seq } else { c };
        debug_assert!(seq <= end);
        while seq != end {
            if idx == CHUNK_SIZE {
                // SAFETY: `chunk` is live (the chain from the head chunk is freed only below)
                // and we are the only user left.
                chunk = unsafe { (*chunk).next.load(Ordering::Relaxed) };
                idx = 0;
            }
            // SAFETY: `seq` is in `[head_seq, flush point)`: written and published by the
            // writer, not read by the reader, so the slot is initialized and is dropped here
            // exactly once. `chunk` is live and nobody else accesses it anymore.
            unsafe { (*(*chunk).slots[idx].get()).assume_init_drop() };
            idx += 1;
            seq += 1;
        }
        let mut chunk = first;
        while !chunk.is_null() {
            // SAFETY: `chunk` is live; we read its link before freeing it.
            let next = unsafe { (*chunk).next.load(Ordering::Relaxed) };
            // SAFETY: every chunk in the chain from the head chunk is a live allocation
            // reachable only from here (chunks the reader left are not in this chain, and the
            // spare chunk is never linked), so each one is freed exactly once.
            unsafe { Chunk::free(chunk) };
            chunk = next;
        }
        for spare in &mut self.spares {
            let spare = *spare.get_mut();
            if !spare.is_null() {
                // SAFETY: a spare chunk is a live allocation not linked in the chain.
                unsafe { Chunk::free(spare) };
            }
        }
    }
}

/// Creates a pipe: a lock-free single-producer/single-consumer unbounded queue.
///
/// ```
/// use rustzmq_transport::ypipe::ypipe;
///
/// let (mut w, mut r) = ypipe::<u32>();
/// assert!(!r.check_read()); // empty: the reader is now "asleep"
/// w.write(1);
/// w.write(2);
/// assert!(!r.check_read()); // not flushed yet
/// assert!(!w.flush()); // the reader was asleep: the caller must wake it
/// assert_eq!(r.read(), Some(1));
/// assert_eq!(r.read(), Some(2));
/// assert_eq!(r.read(), None);
/// ```
pub fn ypipe<T: Send>() -> (YWriter<T>, YReader<T>) {
    let chunk = Chunk::alloc(ptr::null_mut());
    let shared = Arc::new(Shared {
        c: CachePadded(AtomicU64::new(0)),
        spares: [const { AtomicPtr::new(ptr::null_mut()) }; SPARE_CHUNKS],
        writer_closed: AtomicBool::new(false),
        reader_closed: AtomicBool::new(false),
        head_chunk: AtomicPtr::new(chunk),
        head_idx: AtomicUsize::new(0),
        head_seq: AtomicU64::new(0),
        _owns: PhantomData,
    });
    let writer = YWriter { shared: Arc::clone(&shared), tail: chunk, tail_idx: 0, tail_seq: 0, flushed: 0 };
    let reader = YReader { shared, head: chunk, head_idx: 0, head_seq: 0, readable: 0 };
    (writer, reader)
}

/// The writing end of a [`ypipe`]. `Send` but not `Sync`, not `Clone`.
pub struct YWriter<T> {
    shared: Arc<Shared<T>>,
    /// Chunk of the next write; always live (see "Chunk lifetime" in the module docs).
    tail: *mut Chunk<T>,
    /// Index of the next write in `tail`, `0..=CHUNK_SIZE` (`CHUNK_SIZE`: move on first).
    tail_idx: usize,
    /// `seq` of the next write.
    tail_seq: u64,
    /// Every item with `seq < flushed` is published; `c ∈ {flushed, ASLEEP}`.
    flushed: u64,
}

// SAFETY: the writer moves `T`s into the queue (and back out with `unwrite`/`Drop`); they are
// taken out or dropped on another thread, which needs `T: Send` only. The raw pointers are to
// chunks this end may use from any thread (the protocol does not depend on thread identity).
// No `Sync` impl: a pipe end is meant to be owned by one thread at a time.
unsafe impl<T: Send> Send for YWriter<T> {}

impl<T> YWriter<T> {
    fn tail_chunk(&self) -> &Chunk<T> {
        // SAFETY: `tail` is live as long as this writer exists: the reader frees a chunk only
        // after leaving it, which requires an item of a later chunk to be flushed, and the
        // writer never returns to a chunk without unflushed items; `Shared::drop` needs this
        // writer's `Arc` gone. A shared reference is fine: all fields are interior-mutable.
        unsafe { &*self.tail }
    }

    /// Appends `item`. It is not visible to the reader until [`flush`](Self::flush).
    /// No atomic read-modify-write; allocates only when a new chunk is needed and the reader
    /// has not handed one back.
    pub fn write(&mut self, item: T) {
        if self.tail_idx == CHUNK_SIZE {
            self.next_chunk();
        }
        let slot = self.tail_chunk().slots[self.tail_idx].get();
        // SAFETY: the slot at `tail_seq` is unpublished (`tail_seq >= flushed`), so the reader
        // does not touch it, and it holds no value (never written, moved out by the reader
        // before its chunk was recycled, or moved out by `unwrite`): writing does not leak.
        unsafe { slot.write(MaybeUninit::new(item)) };
        self.tail_idx += 1;
        self.tail_seq += 1;
    }

    /// A recycled chunk, or null if there is none.
    fn take_spare(&self) -> *mut Chunk<T> {
        for spare in &self.shared.spares {
            if !spare.load(Ordering::Relaxed).is_null() {
                let chunk = spare.swap(ptr::null_mut(), Ordering::Acquire);
                if !chunk.is_null() {
                    return chunk;
                }
            }
        }
        ptr::null_mut()
    }

    #[cold]
    fn next_chunk(&mut self) {
        let tail = self.tail_chunk();
        let mut next = tail.next.load(Ordering::Relaxed);
        if next.is_null() {
            next = self.take_spare();
            if next.is_null() {
                next = Chunk::alloc(self.tail);
            } else {
                // SAFETY: a chunk taken from a `spares` slot is live and exclusively ours: the
                // reader left it (its accesses happen-before our Acquire swap) and only the
                // writer takes from the slots.
                let recycled = unsafe { &*next };
                recycled.next.store(ptr::null_mut(), Ordering::Relaxed);
                recycled.prev.store(self.tail, Ordering::Relaxed);
            }
            // Published to the reader by the flush that publishes the first item of `next`.
            tail.next.store(next, Ordering::Relaxed);
        }
        // Else `next` is a chunk we left by `unwrite`ing across a chunk boundary: reuse it.
        self.tail = next;
        self.tail_idx = 0;
    }

    /// Removes and returns the last written item that is not flushed yet (to roll back an
    /// incomplete multipart message); `None` if every written item has been flushed.
    pub fn unwrite(&mut self) -> Option<T> {
        if self.tail_seq == self.flushed {
            return None;
        }
        if self.tail_idx == 0 {
            // The item to take is the last one of the previous chunk, which is live because
            // it holds that unflushed item. The current chunk stays linked after it, for reuse.
            let prev = self.tail_chunk().prev.load(Ordering::Relaxed);
            debug_assert!(!prev.is_null());
            self.tail = prev;
            self.tail_idx = CHUNK_SIZE;
        }
        self.tail_idx -= 1;
        self.tail_seq -= 1;
        let slot = self.tail_chunk().slots[self.tail_idx].get();
        // SAFETY: this slot (`seq == tail_seq`, `>= flushed`) was initialized by `write` and
        // never published, so the reader never accessed it; we move the value out and the
        // position becomes unwritten again, so it is not read or dropped twice.
        Some(unsafe { slot.read().assume_init() })
    }

    /// Publishes every item written so far, with one atomic compare-and-swap (plus one store
    /// when the reader is asleep).
    ///
    /// Returns `false` iff the reader had gone to sleep (a [`YReader::check_read`] found the
    /// queue empty since the previous flush that published anything): the caller must then
    /// wake it. Returns `true` otherwise, including when there was nothing to flush.
    pub fn flush(&mut self) -> bool {
        if self.tail_seq == self.flushed {
            return true;
        }
        let c = &self.shared.c.0;
        let result = c.compare_exchange(self.flushed, self.tail_seq, Ordering::Release, Ordering::Relaxed);
        self.flushed = self.tail_seq;
        match result {
            Ok(_) => true,
            Err(actual) => {
                debug_assert_eq!(actual, ASLEEP);
                // The reader never modifies `c` while it is `ASLEEP`: a plain store suffices.
                c.store(self.tail_seq, Ordering::Release);
                false
            }
        }
    }

    /// Whether the [`YReader`] has been dropped.
    pub fn is_reader_closed(&self) -> bool {
        self.shared.reader_closed.load(Ordering::Acquire)
    }
}

impl<T> Drop for YWriter<T> {
    fn drop(&mut self) {
        // Unflushed items are the writer's own: drop them now. Flushed ones stay readable.
        while let Some(item) = self.unwrite() {
            drop(item);
        }
        self.shared.writer_closed.store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for YWriter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YWriter").field("written", &self.tail_seq).field("flushed", &self.flushed).finish()
    }
}

/// How a reader that finds its queue empty looks again before marking itself asleep: `looks`
/// loads of the flush point, each after `gap` spin-loop hints. Counted in iterations, not
/// time: no clock is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Loads of the flush point.
    pub looks: u32,
    /// Spin-loop hints before each load.
    pub gap: u32,
}

impl Patience {
    /// Marks itself asleep at once.
    pub const NONE: Patience = Patience { looks: 0, gap: 0 };
}

/// The reading end of a [`ypipe`]. `Send` but not `Sync`, not `Clone`.
pub struct YReader<T> {
    shared: Arc<Shared<T>>,
    /// Chunk of the next read; always live (see "Chunk lifetime" in the module docs).
    head: *mut Chunk<T>,
    /// Index of the next read in `head`, `0..=CHUNK_SIZE` (`CHUNK_SIZE`: move on first).
    head_idx: usize,
    /// `seq` of the next read.
    head_seq: u64,
    /// Items with `seq < readable` are known to be published (libzmq's prefetch).
    readable: u64,
}

// SAFETY: the reader moves `T`s created on the writer's thread out of the queue, and may drop
// the remaining ones (via `Shared`); that needs `T: Send` only. The raw pointers are to chunks
// this end may use from any thread. No `Sync` impl: a pipe end is owned by one thread at a time.
unsafe impl<T: Send> Send for YReader<T> {}

impl<T> YReader<T> {
    fn head_chunk(&self) -> &Chunk<T> {
        // SAFETY: `head` is live as long as this reader exists: only the reader itself frees
        // chunks it has left, and `Shared::drop` needs this reader's `Arc` gone. A shared
        // reference is fine: all fields are interior-mutable.
        unsafe { &*self.head }
    }

    /// Whether an item is available. If none is, atomically marks the reader asleep, so
    /// that the writer's next [`YWriter::flush`] returns `false` (the writer's side must then
    /// wake this reader). Race-free: if the writer flushes concurrently, either this returns
    /// `true` or that flush returns `false`.
    ///
    /// Touches shared memory only when the items known to be published are exhausted.
    pub fn check_read(&mut self) -> bool {
        if self.head_seq != self.readable {
            return true;
        }
        match self.shared.c.0.compare_exchange(self.head_seq, ASLEEP, Ordering::Acquire, Ordering::Acquire) {
            // Nothing new: now asleep.
            Ok(_) => false,
            // Already asleep, and the writer has not flushed since.
            Err(ASLEEP) => false,
            Err(flush_point) => {
                debug_assert!(flush_point > self.head_seq);
                self.readable = flush_point;
                true
            }
        }
    }

    /// [`check_read`](Self::check_read), but when nothing is readable it first looks at the
    /// flush point again as `patience` says, and marks itself asleep only if that finds
    /// nothing either. Catching a flush this way spares the writer its wake-up of the
    /// reader (a command and a signal) and the reader its wait.
    #[inline]
    pub fn check_read_patient(&mut self, patience: Patience) -> bool {
        if self.head_seq != self.readable {
            return true;
        }
        for _ in 0..patience.looks {
            for _ in 0..patience.gap {
                std::hint::spin_loop();
            }
            let flush_point = self.shared.c.0.load(Ordering::Acquire);
            if flush_point == ASLEEP {
                // An earlier `check_read` (a poll, ZMQ_EVENTS) marked us asleep and the writer
                // has not flushed since: nothing new, and it will wake us when it does.
                return false;
            }
            if flush_point != self.head_seq {
                debug_assert!(flush_point > self.head_seq);
                self.readable = flush_point;
                return true;
            }
        }
        self.check_read()
    }

    /// Takes the next item: [`check_read`](Self::check_read) (with its asleep marking) and
    /// pop.
    pub fn read(&mut self) -> Option<T> {
        self.read_patient(Patience::NONE)
    }

    /// [`read`](Self::read) through [`check_read_patient`](Self::check_read_patient).
    #[inline]
    pub fn read_patient(&mut self, patience: Patience) -> Option<T> {
        if !self.check_read_patient(patience) {
            return None;
        }
        if self.head_idx == CHUNK_SIZE {
            self.next_chunk();
        }
        let slot = self.head_chunk().slots[self.head_idx].get();
        // SAFETY: `head_seq < readable <= flush point`: the writer initialized this slot and
        // published it (our Acquire on `c` synchronizes with its Release flush) and never
        // touches it again until we recycle the chunk. We move the value out exactly once and
        // advance past it.
        let item = unsafe { slot.read().assume_init() };
        self.head_idx += 1;
        self.head_seq += 1;
        Some(item)
    }

    #[cold]
    fn next_chunk(&mut self) {
        // An item of the next chunk is published, so the link is too.
        let next = self.head_chunk().next.load(Ordering::Relaxed);
        debug_assert!(!next.is_null());
        let left = std::mem::replace(&mut self.head, next);
        self.head_idx = 0;
        // Release: our accesses to `left` happen-before the writer reuses it.
        for spare in &self.shared.spares {
            if spare.compare_exchange(ptr::null_mut(), left, Ordering::Release, Ordering::Relaxed).is_ok() {
                return;
            }
        }
        // Every slot is full: the writer has chunks enough.
        // SAFETY: `left` is the chunk we just left: live, no longer reachable by the writer
        // (it moved past it) nor by us, and put in no slot.
        unsafe { Chunk::free(left) };
    }

    /// Whether the [`YWriter`] has been dropped. Everything it flushed before stays readable
    /// (a `check_read` after this returned `true` sees all of it); its unflushed items were
    /// dropped.
    pub fn is_writer_closed(&self) -> bool {
        self.shared.writer_closed.load(Ordering::Acquire)
    }
}

impl<T> Drop for YReader<T> {
    fn drop(&mut self) {
        // Hand our position to `Shared::drop` (ordered by `Arc`'s release/acquire).
        self.shared.head_chunk.store(self.head, Ordering::Relaxed);
        self.shared.head_idx.store(self.head_idx, Ordering::Relaxed);
        self.shared.head_seq.store(self.head_seq, Ordering::Relaxed);
        self.shared.reader_closed.store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for YReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YReader").field("read", &self.head_seq).field("readable", &self.readable).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;
    use std::sync::atomic::AtomicU8;

    #[test]
    fn a_patient_reader_catches_a_flush_without_going_to_sleep() {
        let (mut w, mut r) = ypipe::<u64>();
        let brief = Patience { looks: 4, gap: 1 };
        assert!(!r.check_read_patient(brief), "nothing written: it gives up and sleeps");
        w.write(1);
        assert!(!w.flush(), "the writer sees the reader asleep");
        assert_eq!(r.read_patient(brief), Some(1));
        // The writer flushes while the reader looks again (the spin is counted in
        // iterations, not time, so a descheduled reader still waits for the flush).
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            w.write(2);
            let flushed = w.flush();
            (w, flushed)
        });
        assert_eq!(r.read_patient(Patience { looks: u32::MAX, gap: 1 }), Some(2));
        let (mut w, flushed) = writer.join().unwrap();
        assert!(flushed, "the reader never marked itself asleep");
        // Marked asleep by a plain check (a poll) before: patience sees the mark, not a flush
        // point, and reads nothing (taking it for one would read past the last item).
        assert!(!r.check_read());
        assert!(!r.check_read_patient(brief));
        assert_eq!(r.read_patient(brief), None);
        w.write(3);
        assert!(!w.flush(), "still asleep: the writer wakes it");
        assert_eq!(r.read_patient(brief), Some(3));
    }

    #[test]
    fn order_across_chunks() {
        let (mut w, mut r) = ypipe::<u64>();
        let mut next_read = 0u64;
        let mut next_write = 0u64;
        for round in 0..50u64 {
            for _ in 0..(round * 37 % 700) {
                w.write(next_write);
                next_write += 1;
            }
            w.flush();
            // Read only part of it sometimes.
            let take = if round % 3 == 0 { usize::MAX } else { 100 };
            for _ in 0..take {
                match r.read() {
                    Some(v) => {
                        assert_eq!(v, next_read);
                        next_read += 1;
                    }
                    None => break,
                }
            }
        }
        while let Some(v) = r.read() {
            assert_eq!(v, next_read);
            next_read += 1;
        }
        assert_eq!(next_read, next_write);
    }

    #[test]
    fn invisible_until_flush_and_flush_results() {
        let (mut w, mut r) = ypipe::<u32>();
        // Fresh pipe, reader awake: flush of something returns true.
        w.write(1);
        assert!(!r.check_read(), "unflushed item must be invisible");
        // That check_read put the reader asleep: the next flush must say so, once.
        assert!(!w.flush());
        assert!(w.flush(), "nothing to flush");
        w.write(2);
        assert!(w.flush(), "reader not asleep anymore");
        assert!(r.check_read());
        assert!(r.check_read());
        assert_eq!(r.read(), Some(1));
        assert_eq!(r.read(), Some(2));
        assert!(!r.check_read());
        assert!(!r.check_read(), "still asleep");
        assert_eq!(r.read(), None);
        assert!(w.flush(), "nothing to flush even though asleep");
        w.write(3);
        assert!(!w.flush());
        assert_eq!(r.read(), Some(3));

        // Reader that never found it empty: flushes return true.
        let (mut w, mut r) = ypipe::<u32>();
        w.write(1);
        assert!(w.flush());
        w.write(2);
        assert!(w.flush());
        assert_eq!(r.read(), Some(1));
        w.write(3);
        assert!(w.flush(), "reader still has items to read: not asleep");
        assert_eq!(r.read(), Some(2));
        assert_eq!(r.read(), Some(3));
        assert_eq!(r.read(), None);
        w.write(4);
        assert!(!w.flush());
    }

    #[test]
    fn unwrite() {
        let (mut w, mut r) = ypipe::<u32>();
        assert_eq!(w.unwrite(), None);
        w.write(1);
        w.write(2);
        w.write(3);
        w.flush();
        w.write(4);
        w.write(5);
        assert_eq!(w.unwrite(), Some(5));
        assert_eq!(w.unwrite(), Some(4));
        assert_eq!(w.unwrite(), None, "flushed items cannot be unwritten");
        w.write(6);
        w.flush();
        assert_eq!(w.unwrite(), None);
        let got: Vec<_> = std::iter::from_fn(|| r.read()).collect();
        assert_eq!(got, [1, 2, 3, 6]);
    }

    #[test]
    fn unwrite_across_chunk_boundaries() {
        let (mut w, mut r) = ypipe::<usize>();
        let mut expected = Vec::new();
        let mut next = 0;
        for round in 0..20 {
            let keep = round * 97 % (CHUNK_SIZE + 50);
            let undo = round * 331 % (3 * CHUNK_SIZE + 7);
            for _ in 0..keep {
                w.write(next);
                expected.push(next);
                next += 1;
            }
            for i in 0..undo {
                w.write(1_000_000 + i);
            }
            for i in (0..undo).rev() {
                assert_eq!(w.unwrite(), Some(1_000_000 + i));
            }
            if round % 2 == 0 {
                w.flush();
                assert_eq!(w.unwrite(), None);
            }
            if round % 5 == 0 {
                while r.read().is_some() {}
            }
        }
        w.flush();
        let rest: Vec<_> = std::iter::from_fn(|| r.read()).collect();
        drop((w, r));
        assert!(rest.iter().all(|&v| v < 1_000_000));
        assert!(rest.windows(2).all(|p| p[0] + 1 == p[1]));
        assert_eq!(rest.last(), expected.last());
        // Interleaved write/unwrite on a fresh pipe, checking order end to end.
        let (mut w, mut r) = ypipe::<usize>();
        for &v in &expected {
            w.write(v);
            w.write(usize::MAX);
            assert_eq!(w.unwrite(), Some(usize::MAX));
        }
        w.flush();
        let got: Vec<_> = std::iter::from_fn(|| r.read()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn closed_flags() {
        let (mut w, mut r) = ypipe::<String>();
        assert!(!w.is_reader_closed());
        assert!(!r.is_writer_closed());
        w.write("a".into());
        w.write("b".into());
        w.flush();
        w.write("unflushed".into());
        drop(w);
        assert!(r.is_writer_closed());
        assert_eq!(r.read().as_deref(), Some("a"));
        assert_eq!(r.read().as_deref(), Some("b"));
        assert_eq!(r.read(), None);

        let (mut w, r) = ypipe::<String>();
        drop(r);
        assert!(w.is_reader_closed());
        w.write("x".into());
        assert!(w.flush());
    }

    /// Records each drop of item `id` in `counts[id]`.
    struct Tracked {
        id: usize,
        counts: Arc<Vec<AtomicU8>>,
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.counts[self.id].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Writes `flushed` items and flushes, reads `read` of them (then optionally a failed
    /// `check_read` to put the reader asleep), writes `unflushed` more, then drops the ends in
    /// the given order (optionally flushing more after the reader is gone).
    fn drop_scenario(flushed: usize, read: usize, sleep: bool, unflushed: usize, reader_first: bool) {
        let total = flushed + unflushed + 10;
        let counts: Arc<Vec<AtomicU8>> = Arc::new((0..total).map(|_| AtomicU8::new(0)).collect());
        let item = |id| Tracked { id, counts: Arc::clone(&counts) };
        let (mut w, mut r) = ypipe::<Tracked>();
        for id in 0..flushed {
            w.write(item(id));
        }
        w.flush();
        for id in 0..read {
            let got = r.read().expect("flushed item");
            assert_eq!(got.id, id);
        }
        if sleep && read == flushed {
            assert!(!r.check_read());
        }
        for id in flushed..flushed + unflushed {
            w.write(item(id));
        }
        if reader_first {
            drop(r);
            // The writer may keep going after the reader is gone.
            for id in flushed + unflushed..total {
                w.write(item(id));
                if id % 4 == 0 {
                    w.flush();
                }
            }
            drop(w);
        } else {
            drop(w);
            drop(r);
        }
        for (id, count) in counts.iter().enumerate() {
            let expected = if reader_first || id < flushed + unflushed { 1 } else { 0 };
            assert_eq!(
                count.load(Ordering::Relaxed),
                expected,
                "item {id}: flushed={flushed} read={read} sleep={sleep} unflushed={unflushed} reader_first={reader_first}"
            );
        }
    }

    #[test]
    fn every_item_dropped_exactly_once() {
        let sizes = [0, 1, 2, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 5];
        for &flushed in &sizes {
            for &read in &sizes {
                if read > flushed {
                    continue;
                }
                for &unflushed in &[0, 1, CHUNK_SIZE, CHUNK_SIZE + 3] {
                    for sleep in [false, true] {
                        for reader_first in [false, true] {
                            drop_scenario(flushed, read, sleep, unflushed, reader_first);
                        }
                    }
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write,
        Unwrite,
        Flush,
        CheckRead,
        Read,
        WriteMany(usize),
        ReadMany(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Write),
            1 => Just(Op::Unwrite),
            2 => Just(Op::Flush),
            1 => Just(Op::CheckRead),
            3 => Just(Op::Read),
            1 => (1..3 * CHUNK_SIZE).prop_map(Op::WriteMany),
            1 => (1..3 * CHUNK_SIZE).prop_map(Op::ReadMany),
        ]
    }

    proptest! {
        /// Single-threaded model check against a `VecDeque` plus an "asleep" flag.
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 1..200)) {
            let (mut w, mut r) = ypipe::<u64>();
            let mut unflushed: Vec<u64> = Vec::new();
            let mut published: VecDeque<u64> = VecDeque::new();
            let mut asleep = false;
            let mut next = 0u64;
            let read_one = |r: &mut YReader<u64>, published: &mut VecDeque<u64>, asleep: &mut bool| {
                let expected = published.pop_front();
                if expected.is_none() {
                    *asleep = true;
                }
                prop_assert_eq!(r.read(), expected);
                Ok(())
            };
            for op in ops {
                match op {
                    Op::Write => { w.write(next); unflushed.push(next); next += 1; }
                    Op::WriteMany(n) => for _ in 0..n { w.write(next); unflushed.push(next); next += 1; },
                    Op::Unwrite => prop_assert_eq!(w.unwrite(), unflushed.pop()),
                    Op::Flush => {
                        let expected = if unflushed.is_empty() { true } else { !std::mem::take(&mut asleep) };
                        published.extend(unflushed.drain(..));
                        prop_assert_eq!(w.flush(), expected);
                    }
                    Op::CheckRead => {
                        let expected = !published.is_empty();
                        if !expected { asleep = true; }
                        prop_assert_eq!(r.check_read(), expected);
                    }
                    Op::Read => read_one(&mut r, &mut published, &mut asleep)?,
                    Op::ReadMany(n) => for _ in 0..n { read_one(&mut r, &mut published, &mut asleep)? },
                }
            }
        }
    }
}
