//! `ceiling_thr <tcp|ipc> <message-size> <message-count>`: the throughput workload of
//! `local_thr`/`remote_thr` without a messaging library, to show what the kernel allows.
//!
//! A writer thread sends the ZMTP stream `remote_thr` would send (one message frame of
//! `message-size` bytes per message, encoded by `rustzmq_codec::Encoder`, one shared body so
//! nothing is allocated or filled per message) over a std `TcpStream` on loopback (or a
//! `UnixStream` for `ipc`), in large vectored writes (256 KiB batches). A reader thread reads
//! 256 KiB at a time into one reused buffer and walks the frame headers, checking every size,
//! without copying bodies. No pipes, no I/O threads, no handshake. The clock runs from the first
//! complete message to the last, and the output lines are `local_thr`'s.
//!
//! The same in both builds of the perf tools (it does not use the `zmq` API).

use std::io::{self, IoSlice, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustzmq_benches::{args, fail, number, print_thr_header, print_throughput, stream_pair};
use rustzmq_codec::Encoder;

/// Bytes batched in the encoder before a write, and the reader's buffer size.
const BATCH: usize = 256 * 1024;

/// ZMTP frame flags.
const FLAG_MORE: u8 = 0x01;
const FLAG_LONG: u8 = 0x02;
const FLAG_COMMAND: u8 = 0x04;

fn main() {
    let args = args("ceiling_thr <tcp|ipc> <message-size> <message-count>", 3);
    let transport = args[0].as_str();
    let size = number(&args[1], "message size");
    let count = number(&args[2], "message count");
    if count == 0 {
        fail("arguments", "message count must be at least 1");
    }
    println!("implementation: ceiling (std {transport} stream, rustzmq-codec Encoder, no pipes or I/O threads)");

    let (writer_end, reader_end) = stream_pair(transport, false);
    let writer = thread::spawn(move || write_stream(writer_end, size, count));
    let elapsed = read_stream(reader_end, size, count);
    writer.join().unwrap_or_else(|_| fail("writer thread", "panicked"));

    print_thr_header(size, count);
    print_throughput(size, count, elapsed);
}

/// Sends `count` single-frame messages of `size` bytes, then closes the stream.
fn write_stream(mut stream: impl Write, size: usize, count: usize) {
    let body = Bytes::from(vec![0u8; size]);
    let mut encoder = Encoder::new();
    for _ in 0..count {
        encoder.encode_message_frame(&body, false);
        if encoder.pending() >= BATCH {
            flush(&mut stream, &mut encoder).unwrap_or_else(|e| fail("write", e));
        }
    }
    flush(&mut stream, &mut encoder).unwrap_or_else(|e| fail("write", e));
}

/// Writes everything the encoder holds, with `writev`.
fn flush(stream: &mut impl Write, encoder: &mut Encoder) -> io::Result<()> {
    while !encoder.is_empty() {
        let written = {
            let mut slices = [IoSlice::new(&[]); 64];
            let n = encoder.io_slices(&mut slices);
            stream.write_vectored(&slices[..n])?
        };
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        encoder.advance(written);
    }
    Ok(())
}

/// Where the reader is in the frame stream.
enum State {
    /// Expecting a flags byte.
    Flags,
    /// Reading the size: `need` bytes in all (1 or 8), `have` of them so far.
    Size { need: usize, have: usize, value: u64 },
    /// Skipping the body: `left` bytes to go.
    Body { left: u64 },
}

/// Reads `count` messages of `size` bytes; returns the time from the first to the last.
fn read_stream(mut stream: impl Read, size: usize, count: usize) -> Duration {
    let mut buf = vec![0u8; BATCH];
    let mut state = State::Flags;
    let mut received = 0usize;
    let mut start: Option<Instant> = None;
    while received < count {
        let n = stream.read(&mut buf).unwrap_or_else(|e| fail("read", e));
        if n == 0 {
            fail("read", format!("stream closed after {received} of {count} messages"));
        }
        let mut input = &buf[..n];
        while !input.is_empty() {
            match &mut state {
                State::Flags => {
                    let flags = input[0];
                    input = &input[1..];
                    if flags & (FLAG_MORE | FLAG_COMMAND) != 0 {
                        fail("decode", format!("unexpected frame flags {flags:#04x}"));
                    }
                    let need = if flags & FLAG_LONG != 0 { 8 } else { 1 };
                    state = State::Size { need, have: 0, value: 0 };
                }
                State::Size { need, have, value } => {
                    let take = (*need - *have).min(input.len());
                    for &byte in &input[..take] {
                        *value = (*value << 8) | u64::from(byte);
                    }
                    *have += take;
                    input = &input[take..];
                    if *have == *need {
                        if *value != size as u64 {
                            rustzmq_benches::wrong_size(*value as usize, size);
                        }
                        state = State::Body { left: *value };
                    }
                }
                State::Body { left } => {
                    let take = (*left).min(input.len() as u64);
                    *left -= take;
                    input = &input[take as usize..];
                }
            }
            if matches!(state, State::Body { left: 0 }) {
                received += 1;
                if start.is_none() {
                    start = Some(Instant::now());
                }
                state = State::Flags;
            }
        }
    }
    start.map_or(Duration::ZERO, |s| s.elapsed())
}
