//! The stream engine: one live connection speaking ZMTP 3.x over a [`Stream`].
//!
//! It owns the socket, the read buffer with its [`Decoder`] and the [`Encoder`], and runs the
//! greeting and the security handshake (NULL, PLAIN or CURVE, as `rustzmq-security` state
//! machines; a ZAP request is handed to the session and its reply fed back); then it moves
//! message frames between the wire and the session's pipe, boxing and unboxing every frame
//! when the mechanism encrypts (CURVE). It never blocks: every call does what the socket allows now
//! (mio readiness is edge-triggered, so reads and writes go on until `WouldBlock`) and
//! reports whether the connection is still usable.

use std::io::{self, IoSlice, Write};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use rustzmq_codec::{
    Command, DecodeError, Decoder, Encoder, Frame, Greeting, GreetingDecoder, GreetingProgress, Limits, Mechanism,
    Metadata, Subscription, Version,
};

use rustzmq_security::{
    Config, CurveKeyPair, CurvePublicKey, CurveSecretKey, Mechanism as _, MechanismError, MechanismState, Security,
    SocketProperties, Status, ZapConfig, ZapRequest, MESSAGE_COMMAND, MESSAGE_MORE,
};

use crate::body_pool::BodyPool;
use crate::msg::Msg;
use crate::options::{MechanismKind, Options, SocketKind};
use crate::pipe::{Pipe, WriteError};
use crate::stream::Stream;

/// Most bytes read from the socket per `read` call into the read buffer.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes a connection starts reading with (libzmq's input batch): an idle connection keeps
/// a small buffer, one that fills its reads doubles it up to READ_CHUNK.
const FIRST_READ: usize = 8 * 1024;
/// Read buffers kept besides the current one. Runs still queued in the pipe (at most its
/// high-water mark of messages) hold on to the buffers they were read into; with libzmq's
/// default of 1,000 small messages that is a few buffers, so reads recycle them instead of
/// allocating.
const SPARE_READ_BUFS: usize = 3;

/// Frames with a body larger than this are read into a buffer of their own (libzmq's
/// threshold too: its 8 KiB input batch).
const LARGE_BODY: usize = 8 * 1024;
/// The largest single read (for the rest of a large frame).
const MAX_READ: usize = 2 * 1024 * 1024;

/// Bytes read after which the messages they carried are published to the pipe even though
/// the socket is still readable (see `pump_in_inner`).
const FLUSH_AFTER: usize = 256 * 1024;
/// Stop pulling from the pipe once this much is encoded and unwritten.
const WRITE_BATCH: usize = 256 * 1024;

/// Why a connection ended.
#[derive(Debug)]
pub enum EngineError {
    /// The peer closed the connection or an I/O error occurred.
    Io(io::Error),
    /// The peer broke the protocol (bad greeting, bad frame, bad command...).
    Protocol(&'static str),
    /// The peer's decoder input was malformed.
    Decode(DecodeError),
    /// The peer speaks ZMTP 1.0 or 2.0, which rustzmq refuses.
    LegacyPeer,
    /// The peer uses another security mechanism.
    MechanismMismatch,
    /// The peer's socket type cannot talk to ours.
    IncompatibleSocketType,
    /// The peer sent an ERROR command.
    PeerError(Bytes),
    /// The security handshake (or a CURVE box) failed.
    Mechanism(MechanismError),
}

impl From<io::Error> for EngineError {
    fn from(error: io::Error) -> Self {
        EngineError::Io(error)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the peer's greeting.
    Greeting,
    /// Greeting done: the mechanism's commands are exchanged.
    Handshake,
    /// Handshake done: traffic flows.
    Active,
}

/// One ZMTP connection.
pub struct Engine {
    stream: Stream,
    phase: Phase,
    kind: SocketKind,
    greeting: GreetingDecoder,
    /// The security mechanism (NULL, PLAIN, CURVE); `Err` if the options could not make one.
    mechanism: Result<MechanismState, MechanismError>,
    /// CURVE: every frame travels boxed.
    encrypts: bool,
    /// Received runs of whole plaintext messages go to the pipe still encoded, one item per
    /// run (see the pipe module's "Packed runs"); set once the handshake is done.
    packs: bool,
    /// A ZAP request for the session to deliver.
    zap_request: Option<ZapRequest>,
    version: Version,
    decoder: Decoder,
    read_buf: BytesMut,
    /// How much the next read into `read_buf` asks for (grows with traffic).
    read_size: usize,
    /// Earlier read buffers whose memory received runs may still hold: reads move back into
    /// one once its runs are gone, instead of allocating (see `make_room`).
    spare_read_bufs: [BytesMut; SPARE_READ_BUFS],
    /// The body of a large frame being received, read straight into an allocation of its
    /// own (see `fill_read_buf`).
    large_body: Option<Vec<u8>>,
    /// Where large bodies are read, and come back to when dropped.
    body_pool: BodyPool,
    /// The last frame was a large body: read a little first, so that the next large body
    /// mostly lands in its own buffer, not in the read buffer (to be copied out).
    after_large_body: bool,
    /// Bytes read since the pipe was last flushed.
    read_since_flush: usize,
    encoder: Encoder,
    peer_metadata: Option<Arc<Metadata>>,
    peer_address: String,
    /// A decoded frame the pipe refused (at its high-water mark).
    stalled_frame: Option<Msg>,
    /// The peer may have more bytes for us (edge-triggered readiness not yet exhausted).
    may_read: bool,
    /// The poller reported the peer's end of stream: a short read does not mean drained.
    read_to_end: bool,
    /// The socket may accept more bytes.
    may_write: bool,
    /// A STREAM socket's connection: raw bytes, no ZMTP at all.
    raw: bool,
    /// Raw mode: the connection notice (an empty message) is still to be queued.
    raw_notice_due: bool,
    /// Frames and commands decoded since the handshake (heartbeat timeouts watch it move).
    frames_received: u64,
    /// `frames_received` at the last [`Engine::take_new_frames`].
    frames_reported: u64,
    /// The peer's PING asked us to drop the connection after this much silence.
    peer_ttl: Option<std::time::Duration>,
    /// The session has been told the connection is ready.
    announced: bool,
    /// ZMQ_CONFLATE: when the pipe is full, keep reading and keep only the newest message.
    conflate: bool,
    /// PUB/XPUB: ZMTP 3.1 SUBSCRIBE/CANCEL commands rebuilt as `0x01`/`0x00` + prefix
    /// messages, carved from this buffer (no allocation per subscription).
    subscription_buf: BytesMut,
    /// The last frame taken from the pipe had MORE (the next one is not a message start).
    out_more: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("phase", &self.phase).finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the handshake on a freshly connected or accepted stream.
    pub fn new(stream: Stream, options: &Options, zap_handler_present: bool) -> Engine {
        let limits =
            Limits { max_frame_size: u64::try_from(options.maxmsgsize).unwrap_or(u64::MAX), ..Limits::default() };
        let peer_address = stream.peer_address();
        let raw = options.kind == SocketKind::Stream;
        let mechanism = mechanism_for(options, &peer_address, zap_handler_present);
        let mut encoder = Encoder::new();
        if !raw {
            let (name, as_server) = match &mechanism {
                Ok(m) => (m.mechanism(), m.as_server()),
                Err(_) => (Mechanism::NULL, false),
            };
            encoder.encode_raw(&Greeting::new(name, as_server).encode());
        }
        Engine {
            stream,
            phase: if raw { Phase::Active } else { Phase::Greeting },
            kind: options.kind,
            greeting: GreetingDecoder::new(),
            mechanism,
            encrypts: false,
            packs: false,
            zap_request: None,
            version: Version::V3_1,
            decoder: Decoder::new(limits),
            read_buf: BytesMut::new(),
            read_size: FIRST_READ,
            spare_read_bufs: Default::default(),
            large_body: None,
            body_pool: BodyPool::new(),
            after_large_body: false,
            read_since_flush: 0,
            encoder,
            peer_metadata: None,
            peer_address,
            stalled_frame: None,
            may_read: true,
            read_to_end: false,
            may_write: true,
            raw,
            raw_notice_due: raw,
            frames_received: 0,
            frames_reported: 0,
            peer_ttl: None,
            announced: false,
            conflate: false,
            subscription_buf: BytesMut::new(),
            out_more: false,
        }
    }

    /// Frames and commands decoded so far (traffic, for heartbeat timeouts).
    pub fn frames_received(&self) -> u64 {
        self.frames_received
    }

    /// Frames received since the last call.
    pub fn take_new_frames(&mut self) -> u64 {
        let new = self.frames_received - self.frames_reported;
        self.frames_reported = self.frames_received;
        new
    }

    /// The TTL a PING from the peer asked for, once (the session arms a timer with it).
    pub fn take_peer_ttl(&mut self) -> Option<std::time::Duration> {
        self.peer_ttl.take()
    }

    /// Queues a heartbeat PING carrying `ttl_ms` (rounded down to tenths of a second), if the
    /// connection is up and the peer speaks ZMTP 3.1.
    pub fn queue_ping(&mut self, ttl_ms: u32) {
        if self.is_active() && !self.raw && self.version.has_heartbeats() {
            let ttl = u16::try_from(ttl_ms / 100).unwrap_or(u16::MAX);
            // A failure to box would also fail the next message; the caller notices then.
            let _ = self.send_command(&Command::Ping { ttl, context: Bytes::new() });
        }
    }

    /// Sets ZMQ_CONFLATE (the socket may change it after the connection started).
    pub fn with_conflate(&mut self, conflate: bool) -> &mut Engine {
        self.conflate = conflate;
        self
    }

    /// Whether this is a STREAM socket's raw connection.
    pub fn is_raw(&self) -> bool {
        self.raw
    }

    /// The connection's file descriptor (for monitor event values).
    pub fn fd(&self) -> std::os::fd::RawFd {
        self.stream.raw_fd()
    }

    /// The mio source to register.
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        self.stream.source()
    }

    /// Whether the handshake is complete.
    pub fn is_active(&self) -> bool {
        self.phase == Phase::Active
    }

    /// The peer's routing id (its Identity property), once active.
    pub fn peer_routing_id(&self) -> Bytes {
        self.peer_metadata.as_ref().and_then(|m| m.get("Identity").cloned()).unwrap_or_default()
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Records readiness reported by the poller. `closing`: it also reported the peer's end
    /// of stream (or an error), so reads go on until they say so.
    pub fn on_ready(&mut self, readable: bool, writable: bool, closing: bool) {
        self.may_read |= readable;
        self.may_write |= writable;
        self.read_to_end |= closing;
    }

    /// Whether everything queued has been written.
    pub fn is_flushed(&self) -> bool {
        self.encoder.is_empty()
    }

    /// Does all the work the stream and the pipe allow now. Returns `Ok(true)` when the
    /// handshake completed during this call.
    pub fn drive(&mut self, pipe: Option<&mut Pipe>) -> Result<bool, EngineError> {
        self.write_out()?;
        if !self.is_active() {
            self.handshake()?;
            self.write_out()?;
            if !self.is_active() {
                return Ok(false);
            }
        }
        if let Some(pipe) = pipe {
            self.pump_in(pipe)?;
            self.pump_out(pipe)?;
        } else {
            // No pipe yet (the session attaches one when told the handshake completed):
            // still answer PINGs and notice closure, but leave messages in the buffer.
            self.fill_read_buf()?;
        }
        let handshake_done = !self.announced;
        self.announced = true;
        Ok(handshake_done)
    }

    /// Reads what the socket has into the read buffer. `Ok(false)` on would-block.
    fn fill_read_buf(&mut self) -> Result<bool, EngineError> {
        if !self.may_read {
            return Ok(false);
        }
        // Reads land straight in spare capacity (no zero-filling, no bounce buffer). Once the
        // header of a large frame is in (it passed the limits), its body is read into a buffer
        // of its own, as libzmq does: the read buffer stays small and reused, and the body is
        // one allocation that is never copied again. That buffer grows with what arrives, at
        // most MAX_READ ahead of it, so a peer's claim alone never makes us allocate much.
        let (want, result) = match self.decoder.pending_body_len() {
            Some(len) if len > LARGE_BODY && self.is_active() => {
                let body = match &mut self.large_body {
                    Some(body) => body,
                    None => {
                        let mut body = self.body_pool.take(len.min(MAX_READ));
                        body.extend_from_slice(&self.read_buf);
                        self.read_buf.clear();
                        self.large_body.insert(body)
                    }
                };
                let want = len.saturating_sub(body.len()).min(MAX_READ);
                (want, self.stream.read_into_vec(body, want))
            }
            _ => {
                let want = if std::mem::take(&mut self.after_large_body) { LARGE_BODY } else { self.read_size };
                self.make_room(want);
                let result = self.stream.read_into(&mut self.read_buf, want);
                if result.as_ref().is_ok_and(|&n| n == want) {
                    self.read_size = (self.read_size * 2).min(READ_CHUNK);
                }
                (want, result)
            }
        };
        match result {
            Ok(0) => Err(EngineError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => {
                self.read_since_flush += n;
                // A short read emptied the socket: the next arrival is a new readiness edge,
                // so the read that would only say WouldBlock is skipped (one syscall per
                // batch). Not once the poller saw the end of the stream, which has no
                // further edge to come.
                if n < want && !self.read_to_end {
                    self.may_read = false;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.may_read = false;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Makes room for `want` more bytes in the read buffer without allocating when it can:
    /// its own memory once the runs handed to the pipe from it have all been dropped, or else
    /// a spare buffer's. When all are still in use, a new buffer is started and the current
    /// one is kept as the newest spare in place of the previous newest (the oldest spares are
    /// the ones whose runs the socket finishes first).
    fn make_room(&mut self, want: usize) {
        if self.read_buf.capacity() - self.read_buf.len() >= want || self.read_buf.try_reclaim(want) {
            return;
        }
        let need = self.read_buf.len() + want;
        let slot = match self.spare_read_bufs.iter_mut().position(|spare| spare.try_reclaim(need)) {
            Some(index) => {
                // The unfinished frame at the end of the buffer moves along (a few bytes).
                let spare = &mut self.spare_read_bufs[index];
                spare.extend_from_slice(&self.read_buf);
                std::mem::swap(&mut self.read_buf, spare);
                spare.clear();
                index
            }
            None => {
                let mut fresh = BytesMut::with_capacity(need.max(4 * self.read_size).min(2 * READ_CHUNK));
                fresh.extend_from_slice(&self.read_buf);
                let mut old = std::mem::replace(&mut self.read_buf, fresh);
                old.clear();
                self.spare_read_bufs[SPARE_READ_BUFS - 1] = old;
                SPARE_READ_BUFS - 1
            }
        };
        // Oldest first: the buffer just set aside goes to the back.
        self.spare_read_bufs[slot..].rotate_left(1);
    }

    fn handshake(&mut self) -> Result<(), EngineError> {
        loop {
            match self.phase {
                Phase::Greeting => {
                    if self.read_buf.is_empty() && !self.fill_read_buf()? {
                        return Ok(());
                    }
                    let (used, progress) =
                        self.greeting.feed(&self.read_buf).map_err(|_| EngineError::Protocol("invalid greeting"))?;
                    self.read_buf.advance(used);
                    match progress {
                        GreetingProgress::Unversioned | GreetingProgress::Legacy { .. } => {
                            return Err(EngineError::LegacyPeer)
                        }
                        GreetingProgress::Complete(greeting) => {
                            let mechanism = self.mechanism.as_ref().map_err(|e| EngineError::Mechanism(e.clone()))?;
                            if greeting.mechanism != mechanism.mechanism() {
                                return Err(EngineError::MechanismMismatch);
                            }
                            self.version = Version::V3_1.negotiate(greeting.version);
                            // Handshake commands go to the mechanism unparsed (a CURVE READY
                            // is a box, not metadata).
                            self.decoder.set_raw_commands(true);
                            self.phase = Phase::Handshake;
                            self.advance_mechanism()?;
                        }
                        GreetingProgress::NeedMore | GreetingProgress::Signature | GreetingProgress::Revision(_) => {}
                    }
                }
                Phase::Handshake => {
                    if self.mechanism_status() != Status::Handshaking {
                        return Ok(());
                    }
                    match self.decoder.decode(&mut self.read_buf).map_err(EngineError::Decode)? {
                        Some(Frame::RawCommand(body)) => {
                            let result = self.mechanism_mut()?.process_command_body(&body);
                            self.finish_step(result)?;
                        }
                        Some(_) => return Err(EngineError::Protocol("message before the handshake completed")),
                        None => {
                            if !self.fill_read_buf()? {
                                return Ok(());
                            }
                        }
                    }
                }
                Phase::Active => return Ok(()),
            }
        }
    }

    fn mechanism_mut(&mut self) -> Result<&mut MechanismState, EngineError> {
        self.mechanism.as_mut().map_err(|e| EngineError::Mechanism(e.clone()))
    }

    fn mechanism_status(&self) -> Status {
        self.mechanism.as_ref().map_or(Status::Failed, |m| m.status())
    }

    /// After the mechanism consumed an input: queue what it wants sent, surface a ZAP request,
    /// and finish the handshake when it is ready.
    fn finish_step(&mut self, result: Result<(), MechanismError>) -> Result<(), EngineError> {
        let advanced = self.advance_mechanism();
        if let Err(error) = result {
            // A failed mechanism may still have a last ERROR to send (a ZAP refusal).
            let _ = self.write_out();
            return Err(EngineError::Mechanism(error));
        }
        advanced
    }

    fn advance_mechanism(&mut self) -> Result<(), EngineError> {
        let mechanism = self.mechanism_mut()?;
        let mut commands = Vec::new();
        while let Some(command) = mechanism.next_command() {
            commands.push(command);
        }
        let zap = mechanism.zap_request();
        let status = mechanism.status();
        for command in &commands {
            self.encoder.encode_command(command);
        }
        if zap.is_some() {
            self.zap_request = zap;
        }
        match status {
            Status::Ready => self.accept_peer(),
            Status::Failed => {
                let _ = self.write_out();
                let error = self.mechanism.as_ref().ok().and_then(|m| m.error().cloned());
                Err(error.map_or(EngineError::Protocol("handshake failed"), EngineError::Mechanism))
            }
            Status::Handshaking => Ok(()),
        }
    }

    /// The ZAP request the session must deliver to the handler, once.
    pub fn take_zap_request(&mut self) -> Option<ZapRequest> {
        self.zap_request.take()
    }

    /// Feeds the ZAP handler's reply (its frames, as read from the ZAP pipe).
    pub fn zap_reply(&mut self, frames: &[Bytes]) -> Result<(), EngineError> {
        let result = self.mechanism_mut()?.process_zap_reply_frames(frames);
        self.finish_step(result)?;
        self.write_out()
    }

    /// The handshake is done: check the peer's socket type and publish its metadata.
    fn accept_peer(&mut self) -> Result<(), EngineError> {
        let (mut metadata, zap_reply, encrypts) = match &self.mechanism {
            Ok(m) => (m.peer_metadata().cloned().unwrap_or_default(), m.zap_reply().cloned(), m.encrypts()),
            Err(e) => return Err(EngineError::Mechanism(e.clone())),
        };
        let peer_kind = metadata.get("Socket-Type").and_then(|name| SocketKind::from_name(name));
        match peer_kind {
            Some(peer) if self.kind.is_compatible_with(peer) => {}
            _ => {
                // Tell the peer why, as libzmq does, then fail.
                self.encoder.encode_command(&Command::Error { reason: Bytes::from_static(b"Invalid socket type") });
                let _ = self.write_out();
                return Err(EngineError::IncompatibleSocketType);
            }
        }
        if !self.peer_address.is_empty() && metadata.get("Peer-Address").is_none() {
            let _ = metadata.insert(Bytes::from_static(b"Peer-Address"), Bytes::from(self.peer_address.clone()));
        }
        if let Some(reply) = zap_reply {
            if !reply.user_id.is_empty() {
                let _ = metadata.insert(Bytes::from_static(b"User-Id"), reply.user_id.clone());
            }
            for (name, value) in reply.metadata.iter() {
                let _ = metadata.insert(name.clone(), value.clone());
            }
        }
        self.peer_metadata = Some(Arc::new(metadata));
        self.encrypts = encrypts;
        self.decoder.set_raw_commands(false);
        // Small plaintext frames are copied out of the read buffer rather than shared with it
        // (a CURVE frame is a box, opened into its own buffer).
        self.decoder.set_inline_bodies(!encrypts);
        // A conflating socket keeps only the newest message, decided one message at a time.
        self.packs = !encrypts && !self.conflate;
        self.phase = Phase::Active;
        Ok(())
    }

    /// Queues a command after the handshake: boxed as a MESSAGE when the mechanism encrypts.
    fn send_command(&mut self, command: &Command) -> Result<(), EngineError> {
        if !self.encrypts {
            self.encoder.encode_command(command);
            return Ok(());
        }
        // Encoded straight into the box (flagged MESSAGE_COMMAND).
        let body = self.mechanism_mut()?.encode_command_body(command).map_err(EngineError::Mechanism)?;
        self.encoder.encode_message_frame(&body, false);
        Ok(())
    }

    /// CURVE: boxes one frame and queues it as libzmq sends it, an ordinary frame holding
    /// a MESSAGE command body. The mechanism seals into a buffer it reuses; the encoder copies
    /// a small box into its batch (no allocation per small frame) and queues a large one as it
    /// is (no copy).
    fn send_boxed(&mut self, flags: u8, data: &[u8]) -> Result<(), EngineError> {
        let body = self.mechanism_mut()?.encode_message_body(flags, data).map_err(EngineError::Mechanism)?;
        self.encoder.encode_message_frame(&body, false);
        Ok(())
    }

    /// CURVE: opens a received frame (in place when the frame owns its buffer); returns
    /// (flags inside the box, content).
    fn open_boxed(&mut self, body: Bytes) -> Result<(u8, Bytes), EngineError> {
        self.mechanism_mut()?.decode_message_body(body).map_err(EngineError::Mechanism)
    }

    /// Decodes frames from the wire into the pipe until the pipe is full or the socket dry.
    fn pump_in(&mut self, pipe: &mut Pipe) -> Result<(), EngineError> {
        let mut wrote = false;
        let result = self.pump_in_inner(pipe, &mut wrote);
        if wrote {
            pipe.flush();
            self.read_since_flush = 0;
        }
        result
    }

    /// Writes one received frame to the pipe. `false` when the pipe is full: the frame is
    /// kept and decoding stops until the socket returns credit. A closing socket's pipe drops
    /// inbound traffic.
    fn deliver(&mut self, pipe: &mut Pipe, msg: Msg, wrote: &mut bool) -> bool {
        match pipe.write(msg) {
            Ok(()) => *wrote = true,
            Err(WriteError::Full(msg)) => {
                // A conflating socket never blocks its peer: the newest message waits in
                // place of any older one (conflated messages are single frames).
                let conflating = self.conflate && !msg.more();
                self.stalled_frame = Some(msg);
                return conflating;
            }
            Err(WriteError::Closed(_)) => {}
        }
        true
    }

    fn pump_in_inner(&mut self, pipe: &mut Pipe, wrote: &mut bool) -> Result<(), EngineError> {
        if let Some(frame) = self.stalled_frame.take() {
            if !self.deliver(pipe, frame, wrote) {
                return Ok(());
            }
        }
        if self.raw {
            return self.pump_in_raw(pipe, wrote);
        }
        loop {
            if self.packs && self.decoder.is_at_message_boundary() && !pipe.is_writing_more() {
                let credit = pipe.write_credit();
                let (len, messages) =
                    if credit > 0 { self.decoder.scan_messages(&self.read_buf, credit) } else { (0, 0) };
                if messages > 0 {
                    let frames = self.read_buf.split_to(len).freeze();
                    self.frames_received += messages;
                    *wrote |= pipe.write_packed(frames, messages, self.peer_metadata.clone());
                    continue;
                }
            }
            let decoded = match self.large_body.take() {
                // A large body read on its own: a frame once whole.
                Some(body) if Some(body.len()) == self.decoder.pending_body_len() => {
                    self.after_large_body = true;
                    self.decoder.complete_pending(self.body_pool.freeze(body))
                }
                Some(body) => {
                    self.large_body = Some(body);
                    Ok(None)
                }
                None => self.decoder.decode(&mut self.read_buf),
            }
            .map_err(EngineError::Decode)?;
            self.frames_received += u64::from(decoded.is_some());
            let decoded = match decoded {
                Some(Frame::Message { body, .. }) if self.encrypts => {
                    let (flags, content) = self.open_boxed(body)?;
                    if flags & MESSAGE_COMMAND != 0 {
                        let command =
                            Command::parse(&content).map_err(|e| EngineError::Decode(DecodeError::Command(e)))?;
                        Some(Frame::Command(command))
                    } else {
                        Some(Frame::Message { body: content, more: flags & MESSAGE_MORE != 0 })
                    }
                }
                other => other,
            };
            let mut msg = match decoded {
                Some(frame @ (Frame::Message { .. } | Frame::InlineMessage { .. })) => {
                    Msg::from_frame(frame).unwrap_or_default()
                }
                Some(Frame::RawCommand(_)) => return Err(EngineError::Protocol("unparsed command")),
                Some(Frame::Command(command)) => match self.subscription_message(&command) {
                    Some(msg) => msg,
                    None => {
                        self.on_command(command)?;
                        continue;
                    }
                },
                None => {
                    // Publish what was delivered every FLUSH_AFTER bytes read: a fast peer can
                    // keep the socket readable for as long as it likes, and the application
                    // must not wait for the end of that (nor for the high-water mark) to see
                    // its messages. Measured before (tcp 1 MiB): the receiving application
                    // slept up to 2 s while its I/O thread read 1,500 messages into an
                    // unflushed pipe; runs spread over 1.1-2.3 K msg/s, now 2.0-2.3 K.
                    if self.read_since_flush >= FLUSH_AFTER && std::mem::take(wrote) {
                        pipe.flush();
                        self.read_since_flush = 0;
                    }
                    if !self.fill_read_buf()? {
                        return Ok(());
                    }
                    continue;
                }
            };
            msg.set_metadata(self.peer_metadata.clone());
            if !self.deliver(pipe, msg, wrote) {
                return Ok(());
            }
        }
    }

    /// STREAM: whatever arrived is one message (the pattern adds the routing id); an empty
    /// message announces the connection.
    fn pump_in_raw(&mut self, pipe: &mut Pipe, wrote: &mut bool) -> Result<(), EngineError> {
        if std::mem::take(&mut self.raw_notice_due) {
            *wrote |= pipe.write(Msg::new()).is_ok();
        }
        loop {
            if self.read_buf.is_empty() && !self.fill_read_buf()? {
                return Ok(());
            }
            let msg = Msg::from_bytes(self.read_buf.split().freeze());
            if !self.deliver(pipe, msg, wrote) {
                return Ok(());
            }
        }
    }

    /// A ZMTP 3.1 SUBSCRIBE or CANCEL for a PUB/XPUB socket, as the message a ZMTP 3.0 peer
    /// would have sent (`0x01`/`0x00` + prefix): sockets see one form. Other socket types
    /// ignore subscriptions, as libzmq does.
    fn subscription_message(&mut self, command: &Command) -> Option<Msg> {
        if !matches!(self.kind, SocketKind::Pub | SocketKind::Xpub) {
            return None;
        }
        let subscription = Subscription::from_command(command)?;
        let len = 1 + subscription.topic().len();
        if self.subscription_buf.capacity() < len {
            self.subscription_buf.reserve(len.max(4096));
        }
        subscription.encode_message(&mut self.subscription_buf);
        Some(Msg::from_bytes(self.subscription_buf.split().freeze()))
    }

    fn on_command(&mut self, command: Command) -> Result<(), EngineError> {
        match command {
            Command::Ping { ttl, context } => {
                // RFC 37: the TTL is in tenths of a second; 0 means none.
                if ttl > 0 {
                    self.peer_ttl = Some(std::time::Duration::from_millis(u64::from(ttl) * 100));
                }
                self.send_command(&Command::Pong { context })
            }
            Command::Error { reason } => Err(EngineError::PeerError(reason)),
            // PONG, subscriptions to a socket that does not publish and unknown commands
            // are ignored, as libzmq ignores commands it has no use for.
            _ => Ok(()),
        }
    }

    /// Moves messages from the pipe into the encoder and writes them out.
    fn pump_out(&mut self, pipe: &mut Pipe) -> Result<(), EngineError> {
        // SUB/XSUB to a ZMTP 3.1 peer: a one-frame message 0x01/0x00 + prefix is a
        // subscription and leaves as SUBSCRIBE/CANCEL (libzmq 4.3 sends those too).
        let subscription_commands =
            matches!(self.kind, SocketKind::Sub | SocketKind::Xsub) && self.version.has_subscription_commands();
        loop {
            while self.encoder.pending() < WRITE_BATCH {
                let Some(msg) = pipe.read() else { break };
                if self.raw {
                    self.encoder.encode_raw(msg.data());
                    continue;
                }
                let more = msg.more();
                let first = !std::mem::replace(&mut self.out_more, more);
                if subscription_commands && first && !more && matches!(msg.data().first(), Some(0 | 1)) {
                    let subscribe = msg.data()[0] == 1;
                    let mut topic = msg.into_bytes();
                    topic.advance(1);
                    let command = if subscribe { Command::Subscribe(topic) } else { Command::Cancel(topic) };
                    self.send_command(&command)?;
                } else if self.encrypts {
                    self.send_boxed(if more { MESSAGE_MORE } else { 0 }, msg.data())?;
                } else if let Some(body) = msg.inline_body() {
                    self.encoder.encode_inline_message_frame(body, more);
                } else if msg.len() > self.encoder.copy_limit() {
                    self.encoder.encode_message_frame(&msg.into_bytes(), more);
                } else {
                    self.encoder.encode_message_frame_from_slice(msg.data(), more);
                }
            }
            if self.encoder.is_empty() {
                return Ok(());
            }
            self.write_out()?;
            if !self.encoder.is_empty() {
                // The socket is full; writable readiness will bring us back.
                return Ok(());
            }
        }
    }

    /// Writes queued bytes until done or the socket would block.
    fn write_out(&mut self) -> Result<(), EngineError> {
        while !self.encoder.is_empty() && self.may_write {
            let mut slices = [IoSlice::new(&[]); 64];
            let count = self.encoder.io_slices(&mut slices);
            match self.stream.write_vectored(&slices[..count]) {
                Ok(0) => return Err(EngineError::Io(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.encoder.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.may_write = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Builds the connection's mechanism from the socket options (libzmq's ZMQ_PLAIN_*,
/// ZMQ_CURVE_* and ZMQ_ZAP_DOMAIN).
fn mechanism_for(
    options: &Options,
    peer_address: &str,
    zap_handler_present: bool,
) -> Result<MechanismState, MechanismError> {
    let security = match (options.mechanism, options.as_server) {
        (MechanismKind::Null, _) => Security::Null,
        (MechanismKind::Plain, true) => Security::PlainServer,
        (MechanismKind::Plain, false) => {
            Security::PlainClient { username: options.plain_username.clone(), password: options.plain_password.clone() }
        }
        (MechanismKind::Curve, true) => {
            let secret = options
                .curve_secret_key
                .ok_or(MechanismError::InvalidConfig("CURVE server without ZMQ_CURVE_SECRETKEY"))?;
            Security::CurveServer { secret_key: CurveSecretKey::from_bytes(secret) }
        }
        (MechanismKind::Curve, false) => {
            let (Some(secret), Some(server)) = (options.curve_secret_key, options.curve_server_key) else {
                return Err(MechanismError::InvalidConfig(
                    "CURVE client without ZMQ_CURVE_SECRETKEY and ZMQ_CURVE_SERVERKEY",
                ));
            };
            Security::CurveClient {
                keypair: CurveKeyPair::from_secret(CurveSecretKey::from_bytes(secret)),
                server_key: CurvePublicKey::from_slice(&server)
                    .map_err(|_| MechanismError::InvalidConfig("bad ZMQ_CURVE_SERVERKEY"))?,
            }
        }
    };
    let properties = SocketProperties::new(options.kind.name()).with_routing_id(options.routing_id.clone());
    let zap = ZapConfig {
        domain: options.zap_domain.clone(),
        address: Bytes::copy_from_slice(peer_address.as_bytes()),
        handler_present: zap_handler_present,
        enforce_domain: false,
    };
    MechanismState::new(Config { properties, zap, security })
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use parking_lot::Mutex;
    use rustzmq_codec::Metadata;

    use super::*;
    use crate::pipe::{pipe_pair, Notify, PipeId};

    /// The socket's end of the pipe, read dry every time the engine's flush wakes it (as a
    /// socket would), counting wake-ups and messages.
    #[derive(Default)]
    struct DrainingReader {
        pipe: Mutex<Option<Pipe>>,
        wakeups: AtomicUsize,
        messages: AtomicUsize,
    }

    impl DrainingReader {
        fn drain(&self) {
            let mut guard = self.pipe.lock();
            let pipe = guard.as_mut().expect("reader attached");
            while let Some(msg) = pipe.read() {
                assert_eq!(msg.len(), MESSAGE_SIZE);
                self.messages.fetch_add(1, Ordering::Relaxed);
            }
            // Empty: asleep until the writer's next flush.
            assert!(!pipe.check_read());
        }
    }

    impl Notify for DrainingReader {
        fn pipe_event(&self, _id: PipeId) {
            self.wakeups.fetch_add(1, Ordering::Relaxed);
            self.drain();
        }
    }

    struct Ignore;
    impl Notify for Ignore {
        fn pipe_event(&self, _id: PipeId) {}
    }

    const MESSAGE_SIZE: usize = 1000;

    /// Regression: the engine published what it read only when a read came up short or the
    /// pipe filled, so a peer that kept the socket readable (tcp, 1 MiB messages) left the
    /// application asleep for seconds. It must publish at least every FLUSH_AFTER bytes while
    /// the socket stays readable. Deterministic: everything is queued in the socket before
    /// one `drive`, which reads it all.
    #[test]
    fn received_messages_are_published_every_flush_after_bytes_while_the_socket_stays_readable() {
        let (ours, mut peer) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let mut engine =
            Engine::new(Stream::Unix(mio::net::UnixStream::from_std(ours)), &Options::new(SocketKind::Pull), false);

        // The peer's side of the NULL handshake, as a PUSH.
        let mut encoder = Encoder::new();
        encoder.encode_raw(&Greeting::new(Mechanism::NULL, false).encode());
        let mut metadata = Metadata::new();
        metadata.insert(&b"Socket-Type"[..], &b"PUSH"[..]).unwrap();
        encoder.encode_command(&Command::Ready(metadata));
        for chunk in encoder.chunks() {
            peer.write_all(chunk).unwrap();
        }
        engine.on_ready(true, true, false);
        assert!(engine.drive(None).unwrap(), "handshake completes on what is queued");
        // Read the engine's greeting and READY so its writes never block.
        peer.set_nonblocking(true).unwrap();
        let mut sink = [0u8; 4096];
        while peer.read(&mut sink).is_ok_and(|n| n > 0) {}

        // Queue as many messages as the socket holds: over FLUSH_AFTER even with Linux's
        // default wmem_max (212,992, doubled by the kernel: ~400 KiB of frames).
        crate::net::set_int(peer.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20).unwrap();
        let mut frames = Encoder::new();
        for _ in 0..64 {
            frames.encode_message_frame_from_slice(&[7; MESSAGE_SIZE], false);
        }
        let batch: Vec<u8> = frames.chunks().flatten().copied().collect();
        let frame_len = batch.len() / 64;
        let mut queued = 0;
        while let Ok(n) = peer.write(&batch[queued % batch.len()..]) {
            queued += n;
        }
        assert!(queued > FLUSH_AFTER + 64 * 1024, "the socket holds only {queued} bytes");
        // A partly written last frame stays in the decoder.
        let sent = queued / frame_len;

        let reader = Arc::new(DrainingReader::default());
        let engine_notify: Arc<dyn Notify> = Arc::new(Ignore);
        let reader_notify: Arc<dyn Notify> = Arc::clone(&reader) as Arc<dyn Notify>;
        let (mut engine_end, mut socket_end) = pipe_pair(1, engine_notify, reader_notify, 0, 0);
        assert!(!socket_end.check_read(), "the socket end starts asleep");
        *reader.pipe.lock() = Some(socket_end);

        engine.on_ready(true, true, false);
        engine.drive(Some(&mut engine_end)).unwrap();
        reader.drain();
        assert_eq!(reader.messages.load(Ordering::Relaxed), sent);
        let wakeups = reader.wakeups.load(Ordering::Relaxed);
        let expected = queued / FLUSH_AFTER;
        assert!(
            wakeups > expected,
            "{wakeups} wake-ups for {queued} bytes read in one drive (more than {expected} due)"
        );
    }
}
