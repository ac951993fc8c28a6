//! The batching frame encoder.

use alloc::collections::VecDeque;
use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::command::Command;
use crate::frame::{write_header, FrameFormat, COMMAND, MAX_HEADER_LEN, MORE};
use crate::inline::{InlineBody, INLINE_CAPACITY};

/// Bodies up to this size are copied into the batch buffer; larger ones are sent from their
/// own buffer. libzmq's encoder makes the same trade at its 8 KiB batch size.
pub const DEFAULT_COPY_LIMIT: usize = 8 * 1024;

/// Encodes frames into an output queue ready for (vectored) writes.
///
/// Small frames are copied, header and body, into one growing batch buffer, so that many
/// messages leave in one `write`. A body larger than the copy limit is not copied: the batch
/// is closed after its header and the body is queued as its own chunk, for `writev`.
///
/// The caller writes what [`Encoder::chunks`] yields (in order) and reports the bytes the
/// kernel took with [`Encoder::advance`]. In steady state nothing is allocated per message:
/// the batch buffer's storage is reclaimed once the bytes written from it are released.
#[derive(Debug)]
pub struct Encoder {
    format: FrameFormat,
    copy_limit: usize,
    /// Closed chunks, oldest first, written before `batch`.
    chunks: VecDeque<Bytes>,
    /// The open batch: encoded bytes not yet closed into a chunk.
    batch: BytesMut,
    /// Bytes of `batch` already written (kept at the front until the next reclaim).
    batch_written: usize,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// A ZMTP 3.x encoder with the default copy limit.
    pub fn new() -> Encoder {
        Encoder::with_format(FrameFormat::Zmtp3)
    }

    /// An encoder for the given framing.
    pub fn with_format(format: FrameFormat) -> Encoder {
        Encoder {
            format,
            copy_limit: DEFAULT_COPY_LIMIT,
            chunks: VecDeque::new(),
            batch: BytesMut::new(),
            batch_written: 0,
        }
    }

    /// The body size above which bodies are queued as separate chunks instead of copied.
    pub fn copy_limit(&self) -> usize {
        self.copy_limit
    }

    /// Sets the body size above which bodies are queued as separate chunks instead of copied.
    pub fn set_copy_limit(&mut self, copy_limit: usize) {
        self.copy_limit = copy_limit;
    }

    /// The framing this encoder writes.
    pub fn format(&self) -> FrameFormat {
        self.format
    }

    /// Switches the framing (after a greeting that showed a legacy peer).
    pub fn set_format(&mut self, format: FrameFormat) {
        self.format = format;
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum::<usize>() + self.batch.len() - self.batch_written
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.batch.len() == self.batch_written
    }

    /// Queues one message frame.
    pub fn encode_message_frame(&mut self, body: &Bytes, more: bool) {
        self.push_frame(if more { MORE } else { 0 }, &[], body);
    }

    /// Queues one message frame from a borrowed slice (always copied).
    pub fn encode_message_frame_from_slice(&mut self, body: &[u8], more: bool) {
        self.put_header(if more { MORE } else { 0 }, body.len());
        self.batch.put_slice(body);
    }

    /// Queues one message frame whose body is inline. In the ZMTP 2/3 framing a short
    /// frame's header is two bytes: header and whole inline buffer are stored with one
    /// fixed-size copy and the batch is cut back to the frame's end, instead of a `memcpy`
    /// call for the body (7-9 % of the sending I/O thread at 16 B).
    #[inline]
    pub fn encode_inline_message_frame(&mut self, body: &InlineBody, more: bool) {
        if !matches!(self.format, FrameFormat::Zmtp3 | FrameFormat::Zmtp2) {
            return self.encode_message_frame_from_slice(body.as_slice(), more);
        }
        let mut frame = [0u8; 2 + INLINE_CAPACITY];
        frame[0] = if more { MORE } else { 0 };
        // INLINE_CAPACITY fits in a u8 (and below the long-frame size).
        frame[1] = body.len() as u8;
        frame[2..].copy_from_slice(body.buffer());
        let end = self.batch.len() + 2 + body.len();
        self.batch.put_slice(&frame);
        self.batch.truncate(end);
    }

    /// Queues a command frame (ZMTP 3.x only; legacy formats have no commands, so nothing is
    /// queued and `false` is returned).
    pub fn encode_command(&mut self, command: &Command) -> bool {
        if !self.format.has_commands() {
            return false;
        }
        match command.opaque_data() {
            Some(data) => {
                let name = command.name();
                let mut prefix = [0u8; 256];
                prefix[0] = name.len() as u8;
                prefix[1..=name.len()].copy_from_slice(name);
                self.push_frame(COMMAND, &prefix[..=name.len()], data);
            }
            None => {
                self.put_header(COMMAND, command.body_len());
                command.encode_prefix(&mut self.batch);
            }
        }
        true
    }

    /// Queues raw bytes, such as a greeting.
    pub fn encode_raw(&mut self, bytes: &[u8]) {
        self.batch.put_slice(bytes);
    }

    fn put_header(&mut self, flags: u8, len: usize) {
        let mut header = [0u8; MAX_HEADER_LEN];
        let n = write_header(self.format, flags, len as u64, &mut header);
        self.batch.put_slice(&header[..n]);
    }

    /// Queues a frame whose body is `prefix` followed by `body`.
    fn push_frame(&mut self, flags: u8, prefix: &[u8], body: &Bytes) {
        self.put_header(flags, prefix.len() + body.len());
        self.batch.put_slice(prefix);
        if body.len() <= self.copy_limit {
            self.batch.put_slice(body);
        } else {
            self.close_batch();
            self.chunks.push_back(body.clone());
        }
    }

    /// Moves the open batch (minus what was already written) into the chunk queue.
    fn close_batch(&mut self) {
        self.batch.advance(self.batch_written);
        self.batch_written = 0;
        if !self.batch.is_empty() {
            self.chunks.push_back(self.batch.split().freeze());
        }
    }

    /// The queued bytes, in the order they must be written.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks
            .iter()
            .map(|chunk| &chunk[..])
            .chain(Some(&self.batch[self.batch_written..]).filter(|rest| !rest.is_empty()))
    }

    /// Fills `slices` with the first queued chunks for `writev`, returning how many it filled.
    #[cfg(feature = "std")]
    pub fn io_slices<'a>(&'a self, slices: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in slices.iter_mut().zip(self.chunks()) {
            *slot = std::io::IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Drops `n` written bytes from the front of the queue.
    ///
    /// # Panics
    /// If `n` exceeds [`Encoder::pending`] (a caller bug, not reachable from peer input).
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else { break };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
        let unwritten = self.batch.len() - self.batch_written;
        assert!(n <= unwritten, "Encoder::advance past the queued bytes");
        self.batch_written += n;
        if self.batch_written == self.batch.len() {
            // Everything is out: rewind so the storage is reused from its start.
            self.batch.clear();
            self.batch_written = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    fn flat(encoder: &Encoder) -> Vec<u8> {
        encoder.chunks().flatten().copied().collect()
    }

    #[test]
    fn inline_frames_encode_as_copied_ones() {
        for format in [FrameFormat::Zmtp3, FrameFormat::Zmtp2, FrameFormat::Zmtp1] {
            // The source has bytes after each body: they must never reach the output.
            let source: Vec<u8> = (0..2 * INLINE_CAPACITY as u32).map(|i| (i * 7 + 1) as u8).collect();
            let (mut inline, mut copied) = (Encoder::with_format(format), Encoder::with_format(format));
            for len in 0..=INLINE_CAPACITY {
                let body = InlineBody::from_prefix(&source[len..], len).unwrap();
                let more = len % 3 == 0;
                inline.encode_inline_message_frame(&body, more);
                copied.encode_message_frame_from_slice(&source[len..2 * len], more);
            }
            assert_eq!(flat(&inline), flat(&copied), "{format:?}");
        }
    }

    #[test]
    fn small_frames_share_one_chunk() {
        let mut encoder = Encoder::new();
        encoder.encode_message_frame(&Bytes::from_static(b"a"), true);
        encoder.encode_message_frame(&Bytes::from_static(b"bc"), false);
        assert_eq!(encoder.chunks().count(), 1);
        assert_eq!(flat(&encoder), b"\x01\x01a\x00\x02bc");
        assert_eq!(encoder.pending(), 7);
    }

    #[test]
    fn large_body_is_a_separate_chunk_not_a_copy() {
        let mut encoder = Encoder::new();
        encoder.set_copy_limit(4);
        let big = Bytes::from_static(b"0123456789");
        encoder.encode_message_frame(&Bytes::from_static(b"x"), true);
        encoder.encode_message_frame(&big, false);
        encoder.encode_message_frame(&Bytes::from_static(b"y"), false);
        let chunks: Vec<&[u8]> = encoder.chunks().collect();
        assert_eq!(chunks, [&b"\x01\x01x\x00\x0a"[..], b"0123456789", b"\x00\x01y"]);
        assert_eq!(chunks[1].as_ptr(), big.as_ptr(), "the body is not copied");
    }

    #[test]
    fn advance_across_chunks() {
        let mut encoder = Encoder::new();
        encoder.set_copy_limit(2);
        encoder.encode_message_frame(&Bytes::from_static(b"abcd"), false);
        encoder.encode_message_frame(&Bytes::from_static(b"e"), false);
        let all = flat(&encoder);
        for step in 1..all.len() {
            let mut copy = Encoder::new();
            copy.set_copy_limit(2);
            copy.encode_message_frame(&Bytes::from_static(b"abcd"), false);
            copy.encode_message_frame(&Bytes::from_static(b"e"), false);
            let mut written = Vec::new();
            while !copy.is_empty() {
                let take: Vec<u8> = copy.chunks().flatten().copied().take(step).collect();
                copy.advance(take.len());
                written.extend_from_slice(&take);
            }
            assert_eq!(written, all, "step {step}");
            assert_eq!(copy.pending(), 0);
        }
    }

    #[test]
    fn commands_encode_with_header() {
        let mut encoder = Encoder::new();
        assert!(encoder.encode_command(&Command::Subscribe(Bytes::from_static(b"t"))));
        assert_eq!(flat(&encoder), b"\x04\x0b\x09SUBSCRIBEt");
        let mut legacy = Encoder::with_format(FrameFormat::Zmtp2);
        assert!(!legacy.encode_command(&Command::Pong { context: Bytes::new() }));
        assert!(legacy.is_empty());
    }

    #[test]
    fn storage_is_reused_after_a_full_write() {
        let mut encoder = Encoder::new();
        encoder.encode_message_frame_from_slice(&[7; 100], false);
        let start = encoder.chunks().next().unwrap().as_ptr();
        encoder.advance(102);
        encoder.encode_message_frame_from_slice(&[8; 100], false);
        assert_eq!(encoder.chunks().next().unwrap().as_ptr(), start);
    }
}
