//! The frame decoder over arbitrary bytes, arbitrary chunking, every framing and random limits.
//!
//! Invariants: the outcome does not depend on chunking; every frame respects the limits; a
//! ZMTP 3 stream's decoded frames re-encode to something that decodes to the same frames;
//! decoding as the engine does with packed runs (`scan_messages` + `next_packed_frame`, inline
//! bodies) gives the same frames and the same error.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use bytes::Bytes;
use rustzmq_codec::{next_packed_frame, DecodeError, Decoder, Encoder, Frame, FrameFormat, Limits};

#[derive(Debug, Arbitrary)]
struct Input {
    format: u8,
    max_frame_size: Option<u16>,
    max_message_size: Option<u16>,
    max_frames: Option<u8>,
    max_run: Option<u8>,
    cuts: Vec<u16>,
    wire: Vec<u8>,
}

fn decode(format: FrameFormat, limits: Limits, wire: &[u8], cuts: &[u16]) -> (Vec<Frame>, Option<DecodeError>) {
    let mut decoder = Decoder::with_format(format, limits);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (wire.len() + 1)).collect();
    points.push(wire.len());
    points.sort_unstable();
    let mut start = 0;
    for end in points {
        buf.extend_from_slice(&wire[start..end]);
        start = end;
        loop {
            let before = buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => {
                    assert!(buf.len() <= before);
                    break;
                }
                Err(error) => {
                    // Errors are sticky.
                    assert_eq!(decoder.decode(&mut buf), Err(error));
                    return (frames, Some(error));
                }
            }
        }
    }
    (frames, None)
}

/// An inline body as the plain frame it stands for.
fn plain(frame: Frame) -> Frame {
    match frame {
        Frame::InlineMessage { body, more } => Frame::Message { body: Bytes::copy_from_slice(body.as_slice()), more },
        other => other,
    }
}

/// Decodes as the engine does: runs of whole messages split off and taken apart where
/// consumed, everything else frame by frame with inline bodies.
fn decode_packed(limits: Limits, wire: &[u8], cuts: &[u16], max_run: u64) -> (Vec<Frame>, Option<DecodeError>) {
    let mut decoder = Decoder::new(limits);
    decoder.set_inline_bodies(true);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|&c| usize::from(c) % (wire.len() + 1)).collect();
    points.push(wire.len());
    points.sort_unstable();
    let mut start = 0;
    for end in points {
        buf.extend_from_slice(&wire[start..end]);
        start = end;
        loop {
            let (len, messages) = decoder.scan_messages(&buf, max_run);
            assert!(messages <= max_run && len <= buf.len());
            if messages > 0 {
                let mut run = buf.split_to(len).freeze();
                let mut ends = 0;
                while let Some(frame) = next_packed_frame(&mut run) {
                    ends += u64::from(matches!(
                        frame,
                        Frame::Message { more: false, .. } | Frame::InlineMessage { more: false, .. }
                    ));
                    frames.push(plain(frame));
                }
                assert_eq!(ends, messages, "a run holds exactly the messages it was measured to");
                continue;
            }
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(plain(frame)),
                Ok(None) => break,
                Err(error) => return (frames, Some(error)),
            }
        }
    }
    (frames, None)
}

fuzz_target!(|input: Input| {
    let format = match input.format % 3 {
        0 => FrameFormat::Zmtp3,
        1 => FrameFormat::Zmtp2,
        _ => FrameFormat::Zmtp1,
    };
    let limits = Limits {
        max_frame_size: input.max_frame_size.map_or(u64::MAX, u64::from),
        max_message_size: input.max_message_size.map_or(u64::MAX, u64::from),
        max_frames_per_message: input.max_frames.map_or(u32::MAX, |n| u32::from(n).max(1)),
    };
    let whole = decode(format, limits, &input.wire, &[]);
    let chunked = decode(format, limits, &input.wire, &input.cuts);
    assert_eq!(whole, chunked, "chunking changed the outcome");
    if format == FrameFormat::Zmtp3 {
        let max_run = input.max_run.map_or(u64::MAX, |n| u64::from(n).max(1));
        let packed = decode_packed(limits, &input.wire, &input.cuts, max_run);
        assert_eq!(packed, whole, "packed runs decode differently");
    }

    let (mut count, mut total) = (0u32, 0u64);
    let mut encoder = Encoder::with_format(format);
    for frame in &whole.0 {
        match frame {
            Frame::Message { body, more } => {
                assert!(body.len() as u64 <= limits.max_frame_size);
                count += 1;
                total += body.len() as u64;
                assert!(count <= limits.max_frames_per_message && total <= limits.max_message_size);
                if !more {
                    (count, total) = (0, 0);
                }
                encoder.encode_message_frame(body, *more);
            }
            // Never produced: raw-command mode and inline bodies are off here.
            Frame::RawCommand(_) | Frame::InlineMessage { .. } => {}
            Frame::Command(command) => {
                assert_eq!(format, FrameFormat::Zmtp3);
                assert_eq!(count, 0, "command inside a message");
                assert!(command.validate().is_ok());
                assert!(encoder.encode_command(command));
            }
        }
    }
    let rewire: Vec<u8> = encoder.chunks().flatten().copied().collect();
    let again = decode(format, limits, &rewire, &[]);
    assert_eq!(again, (whole.0, None), "re-encoded frames decode differently");
});
