//! `ceiling_lat <tcp|ipc> <message-size> <roundtrip-count> [spin]`: the round trips of
//! `local_lat`/`remote_lat` without a messaging library, to show what the kernel gives two
//! threads that ping-pong over a stream.
//!
//! One thread writes a ZMTP message frame of `message-size` bytes (encoded once by
//! `rustzmq_codec::Encoder`, header and body in one write) over a std `TcpStream` on loopback
//! (or a `UnixStream` for `ipc`) and reads the same frame back; another thread reads each frame
//! and writes it back. Both sleep in `read(2)` between frames, as a library's threads sleep in
//! `poll(2)`; with `spin` they instead retry non-blocking reads without ever sleeping (what
//! busy polling would give, at the cost of two busy CPUs). No pipes, no I/O threads, no
//! handshake, one process. The output lines are `remote_lat`'s.
//!
//! The same in both builds of the perf tools (it does not use the `zmq` API).

use std::io::{self, Read, Write};
use std::thread;
use std::time::Instant;

use bytes::Bytes;
use rustzmq_benches::{args_between, fail, nanos, number, print_lat_header, print_latency, stream_pair};
use rustzmq_codec::Encoder;

fn main() {
    let args = args_between("ceiling_lat <tcp|ipc> <message-size> <roundtrip-count> [spin]", 3, 4);
    let transport = args[0].as_str();
    let size = number(&args[1], "message size");
    let roundtrips = number(&args[2], "roundtrip count");
    let spin = match args.get(3).map(String::as_str) {
        None => false,
        Some("spin") => true,
        Some(other) => fail("arguments", format!("unknown mode {other:?} (spin or nothing)")),
    };
    let mode = if spin { "non-blocking reads retried without sleeping" } else { "blocking reads" };
    println!("implementation: ceiling (std {transport} stream, two threads, {mode}, no pipes or I/O threads)");
    let frame = encoded_frame(size);

    let (echo_end, timing_end) = stream_pair(transport, spin);
    let echo_frame = frame.clone();
    let echo = thread::spawn(move || echo_frames(echo_end, &echo_frame, roundtrips));
    let (elapsed, mut samples) = time_round_trips(timing_end, &frame, roundtrips);
    echo.join().unwrap_or_else(|_| fail("echo thread", "panicked"));

    print_lat_header(size, roundtrips);
    print_latency(elapsed, &mut samples);
}

/// The bytes of one message frame of `size` zero bytes, as `remote_lat` would send it.
fn encoded_frame(size: usize) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.encode_message_frame(&Bytes::from(vec![0u8; size]), false);
    let mut frame = Vec::with_capacity(encoder.pending());
    while !encoder.is_empty() {
        let mut slices = [io::IoSlice::new(&[]); 4];
        let n = encoder.io_slices(&mut slices);
        let before = frame.len();
        for slice in &slices[..n] {
            frame.extend_from_slice(slice);
        }
        encoder.advance(frame.len() - before);
    }
    frame
}

/// Sends `frame` and reads it back `roundtrips` times; returns the time from the first send to
/// the last reply and each round trip in nanoseconds.
fn time_round_trips(mut stream: impl Read + Write, frame: &[u8], roundtrips: usize) -> (std::time::Duration, Vec<u64>) {
    let mut reply = vec![0u8; frame.len()];
    let mut samples = Vec::with_capacity(roundtrips);
    let watch = Instant::now();
    let mut last = watch;
    for _ in 0..roundtrips {
        write_all(&mut stream, frame);
        read_frame(&mut stream, &mut reply, frame);
        let now = Instant::now();
        samples.push(nanos(now - last));
        last = now;
    }
    (last - watch, samples)
}

/// Reads each of `roundtrips` frames and writes it back.
fn echo_frames(mut stream: impl Read + Write, frame: &[u8], roundtrips: usize) {
    let mut request = vec![0u8; frame.len()];
    for _ in 0..roundtrips {
        read_frame(&mut stream, &mut request, frame);
        write_all(&mut stream, &request);
    }
}

/// Writes all of `bytes`, retrying a non-blocking socket that is full.
fn write_all(stream: &mut impl Write, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => fail("write", "stream closed"),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            Err(e) => fail("write", e),
        }
    }
}

/// Fills `buf` with one frame (retrying a non-blocking socket with nothing to read) and checks
/// that it is `expected` (the only frame either side ever sends).
fn read_frame(stream: &mut impl Read, buf: &mut [u8], expected: &[u8]) {
    let mut have = 0;
    while have < buf.len() {
        match stream.read(&mut buf[have..]) {
            Ok(0) => fail("read", "stream closed"),
            Ok(n) => have += n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            Err(e) => fail("read", e),
        }
    }
    if buf != expected {
        fail("read", "the frame came back changed");
    }
}
