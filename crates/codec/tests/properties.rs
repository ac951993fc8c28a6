//! Property tests: what the encoder writes the decoder reads back, and decoding does not
//! depend on how the input is chunked.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use rustzmq_codec::{
    next_packed_frame, Command, DecodeError, Decoder, Encoder, Frame, FrameFormat, Greeting, GreetingDecoder,
    GreetingProgress, Limits, Mechanism, Metadata, Version,
};

fn bytes_upto(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn metadata() -> impl Strategy<Value = Metadata> {
    let name = "[A-Za-z0-9_.+-]{1,40}";
    vec((name, bytes_upto(64)), 0..5).prop_map(|props| {
        let mut md = Metadata::new();
        for (name, value) in props {
            md.insert(Bytes::from(name), value).unwrap();
        }
        md
    })
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        metadata().prop_map(Command::Ready),
        bytes_upto(255).prop_map(|reason| Command::Error { reason }),
        bytes_upto(300).prop_map(Command::Subscribe),
        bytes_upto(300).prop_map(Command::Cancel),
        (any::<u16>(), bytes_upto(16)).prop_map(|(ttl, context)| Command::Ping { ttl, context }),
        bytes_upto(16).prop_map(|context| Command::Pong { context }),
        bytes_upto(200).prop_map(Command::Hello),
        bytes_upto(200).prop_map(Command::Welcome),
        bytes_upto(200).prop_map(Command::Initiate),
        bytes_upto(3000).prop_map(Command::Message),
        ("X[A-Za-z]{0,30}", bytes_upto(40)).prop_map(|(name, data)| Command::Other { name: Bytes::from(name), data }),
    ]
}

/// A stream item: a whole multipart message or a command between messages.
#[derive(Debug, Clone)]
enum Item {
    Message(Vec<Bytes>),
    Command(Command),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => vec(prop_oneof![4 => bytes_upto(300), 1 => bytes_upto(20_000)], 1..4).prop_map(Item::Message),
        1 => command().prop_map(Item::Command),
    ]
}

fn expected_frames(items: &[Item]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for item in items {
        match item {
            Item::Message(parts) => {
                for (i, body) in parts.iter().enumerate() {
                    frames.push(Frame::Message { body: body.clone(), more: i + 1 < parts.len() });
                }
            }
            Item::Command(command) => frames.push(Frame::Command(command.clone())),
        }
    }
    frames
}

fn encode(items: &[Item], copy_limit: usize) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.set_copy_limit(copy_limit);
    for item in items {
        match item {
            Item::Message(parts) => {
                for (i, body) in parts.iter().enumerate() {
                    encoder.encode_message_frame(body, i + 1 < parts.len());
                }
            }
            Item::Command(command) => assert!(encoder.encode_command(command)),
        }
    }
    let wire: Vec<u8> = encoder.chunks().flatten().copied().collect();
    assert_eq!(wire.len(), encoder.pending());
    wire
}

/// Decodes `wire` fed in pieces cut at `cuts`, returning the frames and the error, if any.
fn decode_chunked(
    format: FrameFormat,
    limits: Limits,
    wire: &[u8],
    cuts: &[usize],
) -> (Vec<Frame>, Option<DecodeError>) {
    let mut decoder = Decoder::with_format(format, limits);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.push(wire.len());
    points.sort_unstable();
    let mut start = 0;
    for end in points {
        buf.extend_from_slice(&wire[start..end]);
        start = end;
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(error) => return (frames, Some(error)),
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

/// Decodes as the engine does with packing on: whole runs of messages measured by
/// `scan_messages` (at most `max_messages` each) are split off and taken apart with
/// `next_packed_frame`; everything else goes through `decode` with inline bodies.
fn decode_packed(
    limits: Limits,
    wire: &[u8],
    cuts: &[usize],
    max_messages: u64,
) -> Result<(Vec<Frame>, Option<DecodeError>), TestCaseError> {
    let mut decoder = Decoder::new(limits);
    decoder.set_inline_bodies(true);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.push(wire.len());
    points.sort_unstable();
    let mut start = 0;
    for end in points {
        buf.extend_from_slice(&wire[start..end]);
        start = end;
        loop {
            let (len, messages) = decoder.scan_messages(&buf, max_messages);
            prop_assert!(messages <= max_messages);
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
                prop_assert_eq!(ends, messages);
                continue;
            }
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(plain(frame)),
                Ok(None) => break,
                Err(error) => return Ok((frames, Some(error))),
            }
        }
    }
    Ok((frames, None))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn packed_runs_decode_like_frame_by_frame(
        items in vec(item(), 0..12),
        garbage in vec(any::<u8>(), 0..64),
        cuts in vec(any::<usize>(), 0..8),
        max_messages in prop_oneof![Just(u64::MAX), 1u64..4],
        max_frame in prop_oneof![Just(u64::MAX), 0u64..400],
        max_frames in prop_oneof![Just(u32::MAX), 1u32..4],
    ) {
        let mut wire = encode(&items, 64);
        wire.extend_from_slice(&garbage);
        let limits = Limits { max_frame_size: max_frame, max_frames_per_message: max_frames, ..Limits::default() };
        let expected = decode_chunked(FrameFormat::Zmtp3, limits, &wire, &cuts);
        prop_assert_eq!(decode_packed(limits, &wire, &cuts, max_messages)?, expected);
    }

    #[test]
    fn encode_then_decode_round_trips(
        items in vec(item(), 0..12),
        copy_limit in prop_oneof![Just(0usize), Just(64), Just(8192)],
        cuts in vec(any::<usize>(), 0..8),
    ) {
        let wire = encode(&items, copy_limit);
        let (frames, error) = decode_chunked(FrameFormat::Zmtp3, Limits::default(), &wire, &cuts);
        prop_assert_eq!(error, None);
        prop_assert_eq!(frames, expected_frames(&items));
    }

    #[test]
    fn chunking_never_changes_the_outcome_even_for_garbage(
        wire in vec(any::<u8>(), 0..2048),
        cuts in vec(any::<usize>(), 0..16),
        format in prop_oneof![Just(FrameFormat::Zmtp3), Just(FrameFormat::Zmtp2), Just(FrameFormat::Zmtp1)],
        max_frame in prop_oneof![Just(u64::MAX), 0u64..512],
        max_frames in prop_oneof![Just(u32::MAX), 1u32..4],
    ) {
        let limits = Limits { max_frame_size: max_frame, max_frames_per_message: max_frames, ..Limits::default() };
        let whole = decode_chunked(format, limits, &wire, &[]);
        let chunked = decode_chunked(format, limits, &wire, &cuts);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn decoded_frames_respect_limits(
        wire in vec(any::<u8>(), 0..2048),
        max_frame in 0u64..300,
        max_message in 0u64..600,
        max_frames in 1u32..5,
    ) {
        let limits = Limits { max_frame_size: max_frame, max_message_size: max_message, max_frames_per_message: max_frames };
        let (frames, _) = decode_chunked(FrameFormat::Zmtp3, limits, &wire, &[]);
        let (mut count, mut total) = (0u32, 0u64);
        for frame in frames {
            if let Frame::Message { body, more } = frame {
                prop_assert!(body.len() as u64 <= max_frame);
                count += 1;
                total += body.len() as u64;
                prop_assert!(count <= max_frames && total <= max_message);
                if !more { count = 0; total = 0; }
            }
        }
    }

    #[test]
    fn metadata_round_trips(md in metadata()) {
        let mut wire = Vec::new();
        md.encode(&mut wire);
        prop_assert_eq!(wire.len(), md.encoded_len());
        prop_assert_eq!(Metadata::parse(&Bytes::from(wire)).unwrap(), md);
    }

    #[test]
    fn command_bodies_round_trip(cmd in command()) {
        let mut wire = Vec::new();
        cmd.encode_body(&mut wire);
        prop_assert_eq!(wire.len(), cmd.body_len());
        prop_assert_eq!(Command::parse(&Bytes::from(wire)).unwrap(), cmd);
    }

    #[test]
    fn greetings_round_trip_whole_and_incrementally(
        name in "[A-Z0-9_.+-]{1,20}",
        as_server in any::<bool>(),
        minor in 0u8..3,
        cuts in vec(1usize..64, 0..6),
    ) {
        let greeting = Greeting {
            version: Version { major: 3, minor },
            mechanism: Mechanism::new(name.as_bytes()).unwrap(),
            as_server,
        };
        let wire = greeting.encode();
        prop_assert_eq!(Greeting::parse(&wire).unwrap(), greeting);

        let mut points = cuts;
        points.push(64);
        points.sort_unstable();
        let mut decoder = GreetingDecoder::new();
        let mut start = 0;
        let mut result = None;
        for end in points {
            let mut piece = &wire[start..end];
            start = end;
            loop {
                let (used, progress) = decoder.feed(piece).unwrap();
                piece = &piece[used..];
                if let GreetingProgress::Complete(g) = progress { result = Some(g); }
                if piece.is_empty() || result.is_some() { break; }
            }
        }
        prop_assert_eq!(result, Some(greeting));
    }

    #[test]
    fn greeting_decoder_never_overreads_or_panics(input in vec(any::<u8>(), 0..128)) {
        let mut decoder = GreetingDecoder::new();
        let mut rest = &input[..];
        for _ in 0..8 {
            match decoder.feed(rest) {
                Ok((used, progress)) => {
                    prop_assert!(used <= rest.len());
                    prop_assert!(decoder.received().len() <= 64);
                    rest = &rest[used..];
                    if matches!(progress, GreetingProgress::NeedMore) { prop_assert!(rest.is_empty()); break; }
                }
                Err(_) => break,
            }
        }
    }
}
