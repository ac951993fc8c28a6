//! Reuse of the buffers that large received frames are read into.
//!
//! An engine reads the body of a large frame straight into a buffer of its own (no copy
//! after the kernel's). The socket's user frees it, on its own thread, whenever it is done
//! with the message. Freshly allocated, every such buffer costs a page fault and a page
//! clearing per 4 KiB on its first write: with 1 MiB messages queued up to the high-water mark,
//! the allocator trims and re-maps that memory all the time, and the faults cost more than
//! the kernel's copy (measured: 120 faults per 1 MiB message, local_thr at 0.32x libzmq).
//! A [`BodyPool`] keeps a few such buffers: a body handed out as [`Bytes`] returns its buffer
//! to the pool when the last reference to it is dropped, and the engine's next large frame
//! is read into memory that is already mapped.
//!
//! Bounded: a pool keeps returned buffers of at most [`MAX_POOLED_CAPACITY`] bytes while it
//! holds fewer than [`POOLED_BUFFERS`] of them or their capacities add up to at most
//! [`POOLED_BYTES`]; anything else is freed as usual. So a stream of 1 MiB messages keeps 4
//! buffers and one of 64 KiB messages 64: enough for the messages a reader typically has
//! queued, which would otherwise be fresh memory faulted in page by page (tcp 64 KiB, 4
//! buffers: 1.4-2.1 page faults per message and 16 % of the receiving I/O thread in the
//! fault path; 64 buffers: 0.12 faults, receiver CPU 18.5-20 -> 13.6-15.6 us per message).
//! A pool never holds more than the most its stream had in flight at once.
//!
//! Last in, first out: the buffer handed out next is the one returned last, still in cache
//! from the kernel's copy (a first-in-first-out queue of four 1 MiB buffers made the sender's
//! clearing of each new `Message::with_size` body 41 % of its CPU, against 10 % now and 19 %
//! in libzmq's sender, which glibc serves the same way). The free list is a short
//! mutex-guarded vector, taken once per large body (more than 8 KiB), never per small
//! message: an uncontended lock costs tens of nanoseconds against microseconds of copying.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

/// A pool keeps at least this many free buffers (of any pooled size).
pub const POOLED_BUFFERS: usize = 4;

/// Beyond [`POOLED_BUFFERS`], a pool keeps free buffers up to this many bytes of capacity.
pub const POOLED_BYTES: usize = 4 * 1024 * 1024;

/// The largest buffer a pool keeps.
pub const MAX_POOLED_CAPACITY: usize = 4 * 1024 * 1024;

/// Free buffers for large frame bodies (see the module documentation).
#[derive(Debug, Clone)]
pub struct BodyPool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    free: Mutex<FreeList>,
}

/// Free buffers, newest last, and the sum of their capacities.
#[derive(Debug, Default)]
struct FreeList {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

impl FreeList {
    fn pop(&mut self) -> Option<Vec<u8>> {
        let buffer = self.buffers.pop()?;
        self.bytes -= buffer.capacity();
        Some(buffer)
    }

    /// Keeps `buffer` if the bounds allow (see the module documentation).
    fn push(&mut self, buffer: Vec<u8>) {
        if self.buffers.len() < POOLED_BUFFERS || self.bytes + buffer.capacity() <= POOLED_BYTES {
            self.bytes += buffer.capacity();
            self.buffers.push(buffer);
        }
    }
}

impl Default for BodyPool {
    fn default() -> BodyPool {
        BodyPool::new()
    }
}

impl BodyPool {
    /// An empty pool.
    pub fn new() -> BodyPool {
        BodyPool { shared: Arc::new(Shared { free: Mutex::new(FreeList::default()) }) }
    }

    /// An empty buffer with room for at least `capacity` bytes: a pooled one when one fits
    /// (not more than twice as large), else a new allocation.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        while let Some(buffer) = self.shared.free.lock().pop() {
            if buffer.capacity() >= capacity && buffer.capacity() / 2 <= capacity {
                return buffer;
            }
            // A size this stream no longer uses: freed.
        }
        Vec::with_capacity(capacity)
    }

    /// `body` as shared bytes whose buffer comes back to this pool when the last reference
    /// is dropped.
    pub fn freeze(&self, body: Vec<u8>) -> Bytes {
        if body.capacity() > MAX_POOLED_CAPACITY {
            return Bytes::from(body);
        }
        Bytes::from_owner(PooledBody { body, pool: Arc::clone(&self.shared) })
    }

    /// Free buffers held now.
    pub fn pooled(&self) -> usize {
        self.shared.free.lock().buffers.len()
    }
}

/// A body owned by a [`Bytes`]; its buffer goes back to the pool on drop.
struct PooledBody {
    body: Vec<u8>,
    pool: Arc<Shared>,
}

impl AsRef<[u8]> for PooledBody {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        // A full pool frees it.
        self.pool.free.lock().push(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_when_the_last_reference_drops() {
        let pool = BodyPool::new();
        let mut body = pool.take(100_000);
        body.resize(100_000, 7);
        let ptr = body.as_ptr();
        let bytes = pool.freeze(body);
        let slice = bytes.slice(10..20);
        drop(bytes);
        assert_eq!(pool.pooled(), 0, "a slice still holds it");
        assert_eq!(slice[..], [7; 10]);
        drop(slice);
        assert_eq!(pool.pooled(), 1);
        let again = pool.take(90_000);
        assert_eq!(again.as_ptr(), ptr, "reused");
        assert!(again.is_empty());
    }

    #[test]
    fn the_buffer_returned_last_is_handed_out_first() {
        let pool = BodyPool::new();
        let first = pool.freeze(pool.take(100_000));
        let second = pool.freeze(pool.take(100_000));
        let second_ptr = second.as_ptr();
        drop(first);
        drop(second);
        let again = pool.take(100_000);
        assert_eq!(again.as_ptr(), second_ptr);
    }

    /// Returns `count` buffers of `capacity` bytes to `pool` at once.
    fn return_at_once(pool: &BodyPool, count: usize, capacity: usize) {
        let bodies: Vec<Bytes> = (0..count).map(|_| pool.freeze(pool.take(capacity))).collect();
        drop(bodies);
    }

    #[test]
    fn the_pool_is_bounded_by_bytes_beyond_a_few_buffers_and_skips_bad_fits() {
        let pool = BodyPool::new();
        return_at_once(&pool, 100, 64 * 1024);
        assert_eq!(pool.pooled(), POOLED_BYTES / (64 * 1024));
        // Far larger than needed: not handed out (and dropped on the way).
        assert!(pool.take(10).capacity() < 1000);
        assert!(pool.pooled() < POOLED_BYTES / (64 * 1024));

        let pool = BodyPool::new();
        return_at_once(&pool, 10, MAX_POOLED_CAPACITY);
        assert_eq!(pool.pooled(), POOLED_BUFFERS, "a few buffers whatever their size");
        // Too large to keep at all.
        let pool = BodyPool::new();
        drop(pool.freeze(Vec::with_capacity(MAX_POOLED_CAPACITY + 1)));
        assert_eq!(pool.pooled(), 0);
    }

    #[test]
    fn taking_a_buffer_frees_its_share_of_the_budget() {
        let pool = BodyPool::new();
        let per_budget = POOLED_BYTES / (256 * 1024);
        return_at_once(&pool, per_budget, 256 * 1024);
        assert_eq!(pool.pooled(), per_budget);
        let taken = pool.take(256 * 1024);
        assert_eq!(pool.pooled(), per_budget - 1);
        drop(pool.freeze(taken));
        assert_eq!(pool.pooled(), per_budget, "room again for the one taken");
    }
}
