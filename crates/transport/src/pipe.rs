//! Pipes: the lock-free connection between a socket (user thread) and a session (I/O thread),
//! or between two sockets for inproc.
//!
//! A [`Pipe`] is one end of a bidirectional pair, like libzmq's `pipe_t`: it reads from one
//! [`ypipe`](crate::ypipe) and writes into another. Frames are written one by one but published
//! only at message boundaries, so the reader sees whole multipart messages or nothing.
//!
//! ## Wake-up protocol
//! The reader goes to sleep when it finds its queue empty (the ypipe remembers that
//! atomically); the writer's next flush reports it and the writer calls the reader's
//! [`Notify`] with the pipe's id: one command and one syscall per sleep, none per message
//! while the reader keeps up.
//!
//! ## Packed runs
//! An engine receiving a stream of small messages does not turn each into a [`Msg`]: it hands
//! the pipe whole runs of still-encoded messages ([`Pipe::write_packed`], checked by
//! [`Decoder::scan_messages`](rustzmq_codec::Decoder::scan_messages)), one item per run, and
//! [`Pipe::read`] takes the run apart where the messages are consumed. The I/O thread then
//! does one pipe write per read from the network instead of one per message, and the
//! message bodies are copied once, by the thread that will use them. Readers see the same
//! frames either way; a run counts as its number of messages against the high-water mark.
//!
//! ## High-water mark and credit
//! A writer may have at most `hwm` messages outstanding (written and not yet read; 0 means
//! no limit). The reader publishes how many messages it has read in batches of `lwm`
//! (libzmq's low-water mark) through an atomic counter; the writer caches that counter and
//! re-reads it only when its cached view says the pipe is full. A writer that finds the pipe
//! full raises `writer_waiting`; the reader, at its next credit publication, sees the flag and
//! notifies the writer. Both sides re-check after raising or publishing (sequentially
//! consistent operations), so a wake-up cannot be lost.
//!
//! Large messages (128 KiB and more) also return credit every [`CREDIT_BYTES`] bytes read,
//! whichever comes first. With 1 MiB messages and the default high-water mark, credit every `lwm` = 500
//! messages made the writer's side free 500 MiB of bodies at once and then allocate 500 MiB
//! of fresh ones: page faults and clearing for every 4 KiB, more CPU than the kernel's copy
//! (measured on the sender: 113-132 faults per 1 MiB message). Credit per few MiB lets the
//! writer take the buffers the reader's side has just released (the body pools) instead.
//! The high-water mark still counts messages, as libzmq's does; only the granularity of its
//! bookkeeping changes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use rustzmq_codec::{packed_frame_header, InlineBody, Metadata};

use crate::msg::Msg;
use crate::ypipe::{ypipe, Patience, YReader, YWriter};

/// What travels through a pipe's queue.
enum Item {
    /// One frame.
    Frame(Msg),
    /// Whole messages still ZMTP-encoded (see "Packed runs" above).
    Packed(Packed),
}

/// A run of encoded messages and the metadata of the connection they arrived on.
struct Packed {
    frames: Bytes,
    metadata: Option<Arc<Metadata>>,
}

impl Packed {
    /// The next frame of the run, if any.
    #[inline]
    fn next_frame(&mut self) -> Option<Msg> {
        let Some(header) = packed_frame_header(&self.frames) else {
            self.frames.clear();
            return None;
        };
        let mut msg = match InlineBody::from_prefix(&self.frames[header.body_start..], header.len) {
            Some(body) => {
                self.frames.advance(header.body_start + header.len);
                Msg::from_inline(body)
            }
            None => {
                self.frames.advance(header.body_start);
                Msg::from_bytes(self.frames.split_to(header.len))
            }
        };
        msg.set_more(header.more);
        msg.set_metadata(self.metadata.clone());
        Some(msg)
    }
}

/// Identifies a pipe to the object that owns one of its ends (unique within a process).
pub type PipeId = u64;

/// Allocates a process-unique pipe id.
pub fn next_pipe_id() -> PipeId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Something that owns pipe ends and must be told when one of them changes state
/// (readable again, writable again, or its peer went away). The owner then re-checks that
/// pipe; a spurious notification is harmless.
pub trait Notify: Send + Sync {
    /// Pipe `id`, owned by `self`, may have changed state.
    fn pipe_event(&self, id: PipeId);
}

/// State shared by the two ends of one direction.
#[derive(Debug, Default)]
struct Credit {
    /// Messages the reader has read, published every `lwm` messages.
    msgs_read: AtomicU64,
    /// The writer found the pipe full and waits for credit.
    writer_waiting: AtomicBool,
}

/// Computes libzmq's low-water mark for a high-water mark: credit is returned every `lwm`
/// messages.
fn compute_lwm(hwm: u64) -> u64 {
    const MAX_WM_DELTA: u64 = 1024;
    if hwm == 0 {
        MAX_WM_DELTA
    } else if hwm > MAX_WM_DELTA * 2 {
        hwm - MAX_WM_DELTA
    } else {
        hwm.div_ceil(2)
    }
}

/// Bytes of message bodies read after which credit is returned even before `lwm` messages
/// (see the module documentation): two 1 MiB bodies, fewer than a body pool keeps.
pub const CREDIT_BYTES: usize = 2 * 1024 * 1024;

/// Bodies from this size on count towards [`CREDIT_BYTES`].
const CREDIT_BYTES_MIN_BODY: usize = 128 * 1024;

/// Why a write was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The pipe is at its high-water mark; the writer will be notified when it drains.
    Full(Msg),
    /// The reader is gone.
    Closed(Msg),
}

/// How a patient read ([`Pipe::read_patiently`]) looks again at an empty queue: four looks,
/// 32 spin-loop hints apart (0.8 us apart on the AMD EPYC dev VM, where a hint takes 25 ns).
/// A reader faster than its writer otherwise finds the queue empty after nearly every
/// message and goes to sleep, and the writer then pays a wake-up (a command and a signal)
/// per message, both threads contending for the flush word's cache line. Looking again a
/// little later lets several messages accumulate: inproc_thr 64 B 14 -> 17 M msg/s
/// (alternating, calm window) once sockets receive in place.
const STREAM_PATIENCE: Patience = Patience { looks: 4, gap: 32 };

/// Whole messages a reader must have read since it last found its queue empty before it is
/// patient: one woken for a single message (request-reply) sleeps at once, as before
/// (inproc_lat unchanged; with patience on every read it rose from 0.59 to 0.99 us).
const PATIENT_STREAK: u32 = 2;

/// Why [`Pipe::write_from`] wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFailure {
    /// The pipe is at its high-water mark; the writer will be notified when it drains.
    Full,
    /// The reader is gone.
    Closed,
}

/// One end of a bidirectional pipe.
pub struct Pipe {
    id: PipeId,
    inbound: YReader<Item>,
    outbound: YWriter<Item>,
    /// The packed run being read, if any.
    unpacking: Option<Packed>,
    /// Credit we grant to the peer's writer (our reading side).
    in_credit: Arc<Credit>,
    /// Credit the peer grants us (our writing side).
    out_credit: Arc<Credit>,
    /// Limit on our outstanding outbound messages (0 = none).
    out_hwm: u64,
    /// Our view of `out_credit.msgs_read`.
    peer_msgs_read: u64,
    msgs_written: u64,
    msgs_read: u64,
    in_lwm: u64,
    /// Messages left to read before the next credit publication (a countdown from
    /// `in_lwm`: no division per message).
    until_credit: u64,
    /// Bytes of large bodies (at least `CREDIT_BYTES_MIN_BODY`) read since the last
    /// credit publication. Smaller messages keep libzmq's `lwm` batches: earlier credit
    /// costs the writer more wake-ups (measured at 64 KiB: sender CPU +10-40 %).
    bytes_since_credit: usize,
    /// Whether we are in the middle of writing a multipart message.
    writing_more: bool,
    /// Frames of the incomplete message written so far (what a rollback removes).
    frames_in_progress: usize,
    /// Whether we are in the middle of reading a multipart message.
    reading_more: bool,
    /// How a patient read looks again at an empty queue ([`STREAM_PATIENCE`]).
    patience: Patience,
    /// Whole messages read since the queue was last found empty.
    read_streak: u32,
    /// Who owns the other end, and the id under which it knows this pipe.
    peer_notify: Arc<dyn Notify>,
    /// Tells the peer this end is gone. Declared last so that it is dropped last: by then both
    /// ypipe ends above are closed, so the peer's re-check sees the closure.
    _close_notice: CloseNotice,
}

/// Notifies the peer when dropped (see [`Pipe`]'s last field).
struct CloseNotice {
    notify: Arc<dyn Notify>,
    id: PipeId,
}

impl Drop for CloseNotice {
    fn drop(&mut self) {
        self.notify.pipe_event(self.id);
    }
}

impl std::fmt::Debug for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipe").field("id", &self.id).field("msgs_written", &self.msgs_written).finish_non_exhaustive()
    }
}

/// Creates both ends of a pipe.
///
/// `a_notify` owns end A, `b_notify` owns end B. `a_to_b_hwm` bounds the messages A may have
/// outstanding towards B (libzmq: the sender's SNDHWM plus, for inproc, the receiver's
/// RCVHWM); `b_to_a_hwm` the other direction. Both ends share one id.
pub fn pipe_pair(
    id: PipeId,
    a_notify: Arc<dyn Notify>,
    b_notify: Arc<dyn Notify>,
    a_to_b_hwm: u64,
    b_to_a_hwm: u64,
) -> (Pipe, Pipe) {
    let (ab_writer, ab_reader) = ypipe();
    let (ba_writer, ba_reader) = ypipe();
    let ab_credit = Arc::new(Credit::default());
    let ba_credit = Arc::new(Credit::default());
    let a = Pipe {
        id,
        inbound: ba_reader,
        outbound: ab_writer,
        unpacking: None,
        in_credit: Arc::clone(&ba_credit),
        out_credit: Arc::clone(&ab_credit),
        out_hwm: a_to_b_hwm,
        peer_msgs_read: 0,
        msgs_written: 0,
        msgs_read: 0,
        in_lwm: compute_lwm(b_to_a_hwm),
        until_credit: compute_lwm(b_to_a_hwm),
        bytes_since_credit: 0,
        writing_more: false,
        frames_in_progress: 0,
        reading_more: false,
        patience: STREAM_PATIENCE,
        read_streak: 0,
        _close_notice: CloseNotice { notify: Arc::clone(&b_notify), id },
        peer_notify: b_notify,
    };
    let b = Pipe {
        id,
        inbound: ab_reader,
        outbound: ba_writer,
        unpacking: None,
        in_credit: ab_credit,
        out_credit: ba_credit,
        out_hwm: b_to_a_hwm,
        peer_msgs_read: 0,
        msgs_written: 0,
        msgs_read: 0,
        in_lwm: compute_lwm(a_to_b_hwm),
        until_credit: compute_lwm(a_to_b_hwm),
        bytes_since_credit: 0,
        writing_more: false,
        frames_in_progress: 0,
        reading_more: false,
        patience: STREAM_PATIENCE,
        read_streak: 0,
        _close_notice: CloseNotice { notify: Arc::clone(&a_notify), id },
        peer_notify: a_notify,
    };
    (a, b)
}

impl Pipe {
    /// The pipe's id.
    pub fn id(&self) -> PipeId {
        self.id
    }

    /// Whether a new message may be started now (below the high-water mark). A multipart
    /// message already started can always be completed. When this returns false the writer
    /// is registered for a notification once the peer has read enough.
    pub fn check_write(&mut self) -> bool {
        if self.writing_more || self.out_hwm == 0 {
            return true;
        }
        if self.msgs_written - self.peer_msgs_read < self.out_hwm {
            return true;
        }
        self.peer_msgs_read = self.out_credit.msgs_read.load(Ordering::SeqCst);
        if self.msgs_written - self.peer_msgs_read < self.out_hwm {
            return true;
        }
        self.out_credit.writer_waiting.store(true, Ordering::SeqCst);
        // Re-check: the reader may have published credit before it could see the flag.
        self.peer_msgs_read = self.out_credit.msgs_read.load(Ordering::SeqCst);
        if self.msgs_written - self.peer_msgs_read < self.out_hwm {
            self.out_credit.writer_waiting.store(false, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Writes one frame. Frames of a message become visible to the reader only when the
    /// last frame is written and [`Pipe::flush`] is called.
    pub fn write(&mut self, mut msg: Msg) -> Result<(), WriteError> {
        match self.write_from(&mut msg) {
            Ok(()) => Ok(()),
            Err(WriteFailure::Full) => Err(WriteError::Full(msg)),
            Err(WriteFailure::Closed) => Err(WriteError::Closed(msg)),
        }
    }

    /// [`write`](Self::write) taking the frame out of `msg` (left empty) on success; on
    /// failure `msg` is untouched. Spares the caller moving the frame through its layers.
    #[inline]
    pub fn write_from(&mut self, msg: &mut Msg) -> Result<(), WriteFailure> {
        self.write_with(msg.more(), || std::mem::take(msg))
    }

    /// [`write`](Self::write) of a copy of `msg` (shallow for a shared body), made straight
    /// into the pipe's slot; on failure nothing is copied.
    #[inline]
    pub fn write_copy(&mut self, msg: &Msg) -> Result<(), WriteFailure> {
        self.write_with(msg.more(), || msg.clone())
    }

    #[inline]
    fn write_with(&mut self, more: bool, frame: impl FnOnce() -> Msg) -> Result<(), WriteFailure> {
        if self.outbound.is_reader_closed() {
            return Err(WriteFailure::Closed);
        }
        if !self.check_write() {
            return Err(WriteFailure::Full);
        }
        self.outbound.write(Item::Frame(frame()));
        self.writing_more = more;
        if more {
            self.frames_in_progress += 1;
        } else {
            self.frames_in_progress = 0;
            self.msgs_written += 1;
        }
        Ok(())
    }

    /// How many whole messages may be written now: the room below the high-water mark
    /// (`u64::MAX` without one). At 0 the writer is registered for a notification, as
    /// [`Pipe::check_write`] does.
    pub fn write_credit(&mut self) -> u64 {
        if self.out_hwm == 0 {
            return u64::MAX;
        }
        self.peer_msgs_read = self.out_credit.msgs_read.load(Ordering::SeqCst);
        if !self.check_write() {
            return 0;
        }
        self.out_hwm.saturating_sub(self.msgs_written - self.peer_msgs_read)
    }

    /// Writes `messages` whole messages still encoded as ZMTP 3 frames, as measured by
    /// [`Decoder::scan_messages`](rustzmq_codec::Decoder::scan_messages), to be read as
    /// frames carrying `metadata`. The caller keeps to [`Pipe::write_credit`] and writes
    /// between messages only. Returns `false`, dropping them, if the reader is gone.
    pub fn write_packed(&mut self, frames: Bytes, messages: u64, metadata: Option<Arc<Metadata>>) -> bool {
        debug_assert!(!self.writing_more, "a packed run starts at a message boundary");
        if self.outbound.is_reader_closed() {
            return false;
        }
        self.outbound.write(Item::Packed(Packed { frames, metadata }));
        self.msgs_written += messages;
        true
    }

    /// Whether a multipart message is partly written.
    pub fn is_writing_more(&self) -> bool {
        self.writing_more
    }

    /// Removes the frames of an incomplete message written so far (libzmq's rollback).
    pub fn rollback(&mut self) {
        for _ in 0..self.frames_in_progress {
            self.outbound.unwrite();
        }
        self.frames_in_progress = 0;
        self.writing_more = false;
    }

    /// Publishes complete messages written so far, notifying the reader if it was asleep.
    /// In the middle of a multipart message it does nothing: the reader sees whole messages.
    pub fn flush(&mut self) {
        if self.writing_more {
            return;
        }
        if !self.outbound.flush() {
            self.peer_notify.pipe_event(self.id);
        }
    }

    /// Whether a frame can be read now. When none can, the reader is registered for a
    /// notification at the writer's next flush.
    pub fn check_read(&mut self) -> bool {
        self.unpacking.as_ref().is_some_and(|packed| !packed.frames.is_empty()) || self.inbound.check_read()
    }

    /// [`read`](Self::read) (or [`read_patiently`](Self::read_patiently)) into `out`, which
    /// is replaced; `false`, and `out` untouched, when nothing is available. The frame goes
    /// straight to where the caller keeps it instead of through each layer's return value
    /// (single-thread PUSH->PULL probe: receive path 35-48 -> 20 ns per message).
    #[inline]
    pub fn read_into(&mut self, out: &mut Msg, patient: bool) -> bool {
        match self.read_inner(patient) {
            Some(msg) => {
                *out = msg;
                true
            }
            None => false,
        }
    }

    /// Reads one frame, if one is available.
    pub fn read(&mut self) -> Option<Msg> {
        self.read_inner(false)
    }

    /// [`read`](Self::read), but a reader in the middle of a stream (at least
    /// 2 whole messages since it last found the queue empty) looks again for a moment (four
    /// looks, 32 spin hints apart) before marking the queue asleep. For the socket side of
    /// a pipe, when no other pipe is waiting to be read.
    pub fn read_patiently(&mut self) -> Option<Msg> {
        self.read_inner(true)
    }

    #[inline]
    fn read_inner(&mut self, patient: bool) -> Option<Msg> {
        let msg = loop {
            if let Some(packed) = &mut self.unpacking {
                match packed.next_frame() {
                    Some(msg) => break msg,
                    None => self.unpacking = None,
                }
            }
            let patience = if patient && self.read_streak >= PATIENT_STREAK { self.patience } else { Patience::NONE };
            let Some(item) = self.inbound.read_patient(patience) else {
                self.read_streak = 0;
                return None;
            };
            match item {
                Item::Frame(msg) => {
                    if msg.len() >= CREDIT_BYTES_MIN_BODY {
                        self.bytes_since_credit += msg.len();
                    }
                    break msg;
                }
                Item::Packed(packed) => self.unpacking = Some(packed),
            }
        };
        self.reading_more = msg.more();
        if !msg.more() {
            self.read_streak = self.read_streak.saturating_add(1);
            self.msgs_read += 1;
            self.until_credit -= 1;
            if self.until_credit == 0 || self.bytes_since_credit >= CREDIT_BYTES {
                self.until_credit = self.in_lwm;
                self.bytes_since_credit = 0;
                self.return_credit();
            }
        }
        Some(msg)
    }

    /// Publishes our read count to the peer's writer and wakes it if it was waiting.
    fn return_credit(&mut self) {
        self.in_credit.msgs_read.store(self.msgs_read, Ordering::SeqCst);
        if self.in_credit.writer_waiting.load(Ordering::SeqCst)
            && self.in_credit.writer_waiting.swap(false, Ordering::SeqCst)
        {
            self.peer_notify.pipe_event(self.id);
        }
    }

    /// Whether a multipart message is partly read.
    pub fn is_reading_more(&self) -> bool {
        self.reading_more
    }

    /// Whether the peer has gone and everything it sent has been read.
    pub fn is_peer_gone(&mut self) -> bool {
        self.inbound.is_writer_closed() && !self.check_read()
    }

    /// Whether the peer end has been dropped (it will read nothing more we write).
    pub fn is_peer_reader_closed(&self) -> bool {
        self.outbound.is_reader_closed()
    }

    /// Messages written and not yet read by the peer, as far as we know.
    pub fn outstanding(&self) -> u64 {
        self.msgs_written - self.out_credit.msgs_read.load(Ordering::Acquire)
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // An incomplete message must never reach the peer. The peer is told we are gone by
        // the last field's drop, after both queues are closed.
        self.rollback();
        self.outbound.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default)]
    struct Counter(AtomicUsize);
    impl Notify for Counter {
        fn pipe_event(&self, _id: PipeId) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn frame(data: &'static [u8], more: bool) -> Msg {
        let mut msg = Msg::from_bytes(Bytes::from_static(data));
        msg.set_more(more);
        msg
    }

    #[test]
    fn whole_messages_only_and_reader_woken_once() {
        let a_n = Arc::new(Counter::default());
        let b_n = Arc::new(Counter::default());
        let (mut a, mut b) = pipe_pair(1, a_n.clone(), b_n.clone(), 0, 0);
        assert!(!b.check_read());
        a.write(frame(b"1", true)).unwrap();
        a.flush();
        assert!(!b.check_read(), "half a message is invisible");
        a.write(frame(b"2", false)).unwrap();
        a.flush();
        assert_eq!(b_n.0.load(Ordering::SeqCst), 1, "sleeping reader notified once");
        assert_eq!(b.read().unwrap().data(), &b"1"[..]);
        assert_eq!(b.read().unwrap().data(), &b"2"[..]);
        assert!(b.read().is_none());
    }

    #[test]
    fn write_from_takes_the_frame_only_when_it_is_written() {
        let a_n = Arc::new(Counter::default());
        let b_n = Arc::new(Counter::default());
        let (mut a, mut b) = pipe_pair(4, a_n, b_n, 1, 1);
        let mut msg = frame(b"first", false);
        assert_eq!(a.write_from(&mut msg), Ok(()));
        assert!(msg.data().is_empty(), "a written frame is taken out");
        a.flush();
        let mut msg = frame(b"second", false);
        assert_eq!(a.write_from(&mut msg), Err(WriteFailure::Full));
        assert_eq!(msg.data(), &b"second"[..], "a full pipe leaves the frame to the caller");
        let mut out = frame(b"old", true);
        assert!(b.read_into(&mut out, false));
        assert_eq!((out.data(), out.more()), (&b"first"[..], false));
        assert!(!b.read_into(&mut out, true));
        assert_eq!(out.data(), &b"first"[..], "nothing to read leaves `out` as it was");
        drop(b);
        assert_eq!(a.write_from(&mut msg), Err(WriteFailure::Closed));
        assert_eq!(msg.data(), &b"second"[..]);
    }

    /// A writer thread that writes `data` 50 ms from now, returning how often its reader had
    /// been notified by then. The delay is not synchronisation: the tests need the write to
    /// come while the reader is inside its read, and the read offers no event to wait for.
    fn write_later(mut a: Pipe, notified: Arc<Counter>, data: &'static [u8]) -> std::thread::JoinHandle<usize> {
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            a.write(frame(data, false)).unwrap();
            a.flush();
            notified.0.load(Ordering::SeqCst)
        })
    }

    /// A pipe whose reader's patience lasts as long as it takes (counted in looks, so it is
    /// the writer that ends it), with the reader idle and asleep; and the reader's notifier.
    fn patient_pair(id: PipeId) -> (Pipe, Pipe, Arc<Counter>) {
        let b_n = Arc::new(Counter::default());
        let (a, mut b) = pipe_pair(id, Arc::new(Counter::default()), b_n.clone(), 0, 0);
        b.patience = Patience { looks: u32::MAX, gap: 1 };
        assert!(b.read().is_none(), "an idle reader sleeps");
        (a, b, b_n)
    }

    #[test]
    fn a_streaming_reader_waits_for_the_next_message_without_sleeping() {
        let (mut a, mut b, b_n) = patient_pair(5);
        for data in [b"1", b"2"] {
            a.write(frame(data, false)).unwrap();
        }
        a.flush();
        assert_eq!(b_n.0.load(Ordering::SeqCst), 1, "the first flush woke the idle reader");
        assert_eq!(b.read_patiently().unwrap().data(), b"1");
        assert_eq!(b.read_patiently().unwrap().data(), b"2");
        let writer = write_later(a, b_n, b"3");
        assert_eq!(b.read_patiently().unwrap().data(), b"3", "caught while looking again");
        assert_eq!(writer.join().unwrap(), 1, "so the writer did not have to wake it");
    }

    #[test]
    fn a_reader_woken_for_one_message_is_not_patient() {
        let (mut a, mut b, b_n) = patient_pair(6);
        a.write(frame(b"request", false)).unwrap();
        a.flush();
        assert_eq!(b.read_patiently().unwrap().data(), b"request");
        // One message since the queue was last empty: it marks the queue asleep at once
        // (were it patient, it would wait for the reply written 50 ms later).
        let writer = write_later(a, b_n, b"next");
        assert!(b.read_patiently().is_none());
        assert_eq!(writer.join().unwrap(), 2, "the writer had to wake it");
        assert_eq!(b.read().unwrap().data(), b"next");
    }

    #[test]
    fn hwm_blocks_and_credit_wakes_writer() {
        let a_n = Arc::new(Counter::default());
        let b_n = Arc::new(Counter::default());
        let (mut a, mut b) = pipe_pair(2, a_n.clone(), b_n.clone(), 4, 4);
        for _ in 0..4 {
            a.write(frame(b"x", false)).unwrap();
        }
        a.flush();
        assert!(matches!(a.write(frame(b"y", false)), Err(WriteError::Full(_))));
        assert_eq!(a_n.0.load(Ordering::SeqCst), 0);
        // lwm for hwm 4 is 2: reading two messages returns credit and wakes the writer.
        b.read().unwrap();
        b.read().unwrap();
        assert_eq!(a_n.0.load(Ordering::SeqCst), 1);
        assert!(a.check_write());
        a.write(frame(b"y", false)).unwrap();
    }

    #[test]
    fn large_bodies_return_credit_every_few_mebibytes() {
        let a_n = Arc::new(Counter::default());
        let b_n = Arc::new(Counter::default());
        // hwm 100: lwm is 50 messages.
        let (mut a, mut b) = pipe_pair(3, a_n.clone(), b_n.clone(), 100, 100);
        let large = CREDIT_BYTES / 2;
        for _ in 0..4 {
            a.write(Msg::zeroed(large)).unwrap();
        }
        for _ in 0..10 {
            a.write(frame(b"small", false)).unwrap();
        }
        a.flush();
        assert_eq!(a.write_credit(), 86);
        b.read().unwrap();
        assert_eq!(a.write_credit(), 86, "one large body is not yet CREDIT_BYTES");
        b.read().unwrap();
        assert_eq!(a.write_credit(), 88, "two are: credit for both, long before lwm");
        // Small bodies do not count towards it: ten more reads stay below lwm.
        b.read().unwrap();
        b.read().unwrap();
        for _ in 0..10 {
            b.read().unwrap();
        }
        assert_eq!(a.write_credit(), 90, "the second pair of large bodies");
        assert!(b.read().is_none());
        assert_eq!(a.write_credit(), 90, "the small ones wait for lwm");
    }

    #[test]
    fn packed_runs_read_as_frames_and_count_against_the_hwm() {
        let a_n = Arc::new(Counter::default());
        let b_n = Arc::new(Counter::default());
        let (mut a, mut b) = pipe_pair(4, a_n.clone(), b_n, 4, 4);
        assert_eq!(a.write_credit(), 4);
        // Three messages: "hi" + "there" (two frames), a 100-byte body, an empty one.
        let mut run = vec![0x01, 2, b'h', b'i', 0x00, 5];
        run.extend_from_slice(b"there");
        run.extend_from_slice(&[0x00, 100]);
        run.extend_from_slice(&[7; 100]);
        run.extend_from_slice(&[0x00, 0]);
        let mut metadata = Metadata::new();
        metadata.insert("Socket-Type", Bytes::from_static(b"PUSH")).unwrap();
        let metadata = Some(Arc::new(metadata));
        assert!(a.write_packed(Bytes::from(run), 3, metadata.clone()));
        a.flush();
        assert_eq!(a.write_credit(), 1);
        a.write(frame(b"last", false)).unwrap();
        a.flush();
        assert_eq!(a.write_credit(), 0, "full: three packed + one");

        let first = b.read().unwrap();
        assert_eq!((first.data(), first.more(), first.metadata()), (&b"hi"[..], true, metadata.as_ref()));
        assert!(b.is_reading_more());
        assert_eq!(b.read().unwrap().data(), b"there");
        let big = b.read().unwrap();
        assert_eq!((big.len(), big.is_inline()), (100, false));
        drop(a);
        assert!(!b.is_peer_gone(), "the run is not read yet");
        assert!(b.read().unwrap().is_empty());
        assert_eq!(b.read().unwrap().data(), b"last");
        assert!(b.read().is_none());
        assert!(b.is_peer_gone());
    }

    #[test]
    fn drop_rolls_back_partial_message_and_notifies() {
        let a_n = Arc::new(Counter::default());
        let b_n = Arc::new(Counter::default());
        let (mut a, mut b) = pipe_pair(3, a_n, b_n.clone(), 0, 0);
        a.write(frame(b"whole", false)).unwrap();
        a.write(frame(b"half", true)).unwrap();
        drop(a);
        assert!(b_n.0.load(Ordering::SeqCst) >= 1);
        assert_eq!(b.read().unwrap().data(), &b"whole"[..]);
        assert!(b.read().is_none());
        assert!(b.is_peer_gone());
        assert!(matches!(b.write(frame(b"z", false)), Err(WriteError::Closed(_))));
    }
}
