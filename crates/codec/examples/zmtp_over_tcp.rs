//! Two ZMTP 3.1 peers over a real TCP connection on loopback, built from the codec alone:
//! greetings, the NULL mechanism's READY exchange with Socket-Type metadata, then a stream of
//! messages from a PUSH-like sender to a PULL-like receiver, with a throughput figure.
//!
//! Run: `cargo run --release -p rustzmq-codec --example zmtp_over_tcp [message-count] [message-size]`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rustzmq_codec::{
    Command, Decoder, Encoder, Frame, Greeting, GreetingDecoder, GreetingProgress, Limits, Mechanism, Metadata,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Sends our greeting and READY, reads the peer's, and returns the peer's metadata with any
/// bytes that arrived after the handshake.
fn handshake(stream: &mut TcpStream, socket_type: &str) -> Result<(Metadata, BytesMut)> {
    let mut encoder = Encoder::new();
    encoder.encode_raw(&Greeting::new(Mechanism::NULL, false).encode());
    let mut ready = Metadata::new();
    ready.insert(&b"Socket-Type"[..], Bytes::copy_from_slice(socket_type.as_bytes()))?;
    encoder.encode_command(&Command::Ready(ready));
    for chunk in encoder.chunks() {
        stream.write_all(chunk)?;
    }

    let mut greeting = GreetingDecoder::new();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut decoder = Decoder::new(Limits { max_frame_size: 1 << 20, ..Limits::default() });
    let mut peer_greeting = None;
    loop {
        if peer_greeting.is_some() {
            if let Some(frame) = decoder.decode(&mut buf)? {
                return match frame {
                    Frame::Command(Command::Ready(metadata)) => Ok((metadata, buf)),
                    other => Err(format!("expected READY, got {other:?}").into()),
                };
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err("peer closed during the handshake".into());
        }
        let mut input = &chunk[..n];
        while peer_greeting.is_none() && !input.is_empty() {
            let (used, progress) = greeting.feed(input)?;
            input = &input[used..];
            match progress {
                GreetingProgress::Complete(g) => peer_greeting = Some(g),
                GreetingProgress::Unversioned | GreetingProgress::Legacy { .. } => {
                    return Err("peer speaks ZMTP 1.0/2.0".into())
                }
                _ => {}
            }
        }
        buf.extend_from_slice(input);
    }
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(1_000_000), |s| s.parse())?;
    let size: usize = args.next().map_or(Ok(64), |s| s.parse())?;

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    println!("receiver (PULL) listening on tcp://{address}");

    let receiver = std::thread::spawn(move || -> Result<(usize, usize)> {
        let (mut stream, peer) = listener.accept()?;
        let (metadata, mut buf) = handshake(&mut stream, "PULL")?;
        let peer_type = metadata.get("Socket-Type").map(|v| String::from_utf8_lossy(v).into_owned());
        println!("receiver: accepted {peer}, handshake done, peer Socket-Type = {peer_type:?}");
        let mut decoder = Decoder::new(Limits::default());
        let (mut messages, mut bytes) = (0usize, 0usize);
        let mut chunk = vec![0u8; 256 * 1024];
        loop {
            while let Some(frame) = decoder.decode(&mut buf)? {
                if let Frame::Message { body, more: false } = frame {
                    if messages == 0 {
                        println!("receiver: first message {:?}", String::from_utf8_lossy(&body));
                    }
                    messages += 1;
                    bytes += body.len();
                }
            }
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok((messages, bytes));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    });

    let mut stream = TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    let (metadata, _) = handshake(&mut stream, "PUSH")?;
    let peer_type = metadata.get("Socket-Type").map(|v| String::from_utf8_lossy(v).into_owned());
    println!("sender (PUSH): connected, handshake done, peer Socket-Type = {peer_type:?}");

    let start = Instant::now();
    let mut encoder = Encoder::new();
    encoder.encode_message_frame(&Bytes::from_static(b"Hello from rustzmq"), false);
    let body = Bytes::from(vec![b'x'; size]);
    for _ in 1..count {
        encoder.encode_message_frame(&body, false);
        if encoder.pending() >= 64 * 1024 {
            for chunk in encoder.chunks() {
                stream.write_all(chunk)?;
            }
            let pending = encoder.pending();
            encoder.advance(pending);
        }
    }
    for chunk in encoder.chunks() {
        stream.write_all(chunk)?;
    }
    drop(stream);

    let (messages, bytes) = receiver.join().map_err(|_| "receiver thread panicked")??;
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "received {messages} messages ({bytes} bytes) in {elapsed:.3} s: {:.0} msg/s, {:.1} MB/s",
        messages as f64 / elapsed,
        bytes as f64 / elapsed / 1e6
    );
    if messages != count {
        return Err(format!("expected {count} messages, received {messages}").into());
    }
    Ok(())
}
