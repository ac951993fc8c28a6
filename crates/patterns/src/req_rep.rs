//! REQ and REP (RFC 28), as libzmq 4.3's `req.cpp` and `rep.cpp` behave.
//!
//! - REQ is a DEALER that puts an empty delimiter frame (and, with ZMQ_REQ_CORRELATE, a
//!   4-byte request id before it) in front of each request, strictly alternates send and
//!   receive (EFSM otherwise, unless ZMQ_REQ_RELAXED), and accepts as the reply only a
//!   message from the pipe the request went to that starts with those frames.
//! - REP is a ROUTER that strips the envelope (every frame up to and including the empty
//!   delimiter, the routing id first) from each request, hands the body to the user, and
//!   puts the envelope back in front of the reply, which goes to the same peer.

use rustzmq_transport::options::sockopt;
use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, ZResult};

use crate::dealer_router::{DealerCore, RouterCore};
use crate::slots::{bool_option, random_u32};

/// REQ: a client sending requests and receiving replies in turn.
#[derive(Debug)]
pub struct Req {
    core: DealerCore,
    /// A request has been sent and its reply not (fully) received.
    receiving_reply: bool,
    /// The next frame sent or received starts a message.
    message_begins: bool,
    /// The pipe the request went to, where the reply must come from (`None`: any pipe, as
    /// after that pipe closed).
    reply_pipe: Option<PipeId>,
    /// ZMQ_REQ_CORRELATE.
    correlate: bool,
    /// The id of the current request, incremented for each request (random start).
    request_id: u32,
    /// Not ZMQ_REQ_RELAXED.
    strict: bool,
}

impl Default for Req {
    fn default() -> Self {
        Req {
            core: DealerCore::default(),
            receiving_reply: false,
            message_begins: true,
            reply_pipe: None,
            correlate: false,
            request_id: random_u32(),
            strict: true,
        }
    }
}

impl Req {
    /// Receives a frame from the reply pipe, discarding frames from any other pipe.
    fn recv_reply_pipe(&mut self) -> ZResult<Msg> {
        if self.reply_pipe.is_some_and(|id| !self.core.contains(id)) {
            self.reply_pipe = None;
        }
        loop {
            let (msg, pipe) = self.core.recv_pipe()?;
            if self.reply_pipe.is_none_or(|id| id == pipe) {
                return Ok(msg);
            }
        }
    }

    /// Discards the rest of a message whose first frame was `msg`.
    fn skip_rest(&mut self, mut msg: Msg) -> ZResult<()> {
        while msg.more() {
            msg = self.recv_reply_pipe()?;
        }
        Ok(())
    }
}

impl Pattern for Req {
    fn attach(&mut self, pipe: Pipe, peer: &PeerInfo) {
        self.core.attach(pipe, peer);
    }

    fn pipe_event(&mut self, id: PipeId) {
        self.core.pipe_event(id);
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        if self.receiving_reply {
            if self.strict {
                return Err((Errno::EFSM, msg));
            }
            // Relaxed: a new request abandons the previous one.
            self.receiving_reply = false;
            self.message_begins = true;
        }
        if self.message_begins {
            self.reply_pipe = None;
            if self.correlate {
                self.request_id = self.request_id.wrapping_add(1);
                let mut id = Msg::from_bytes(bytes::Bytes::copy_from_slice(&self.request_id.to_ne_bytes()));
                id.set_more(true);
                match self.core.send_pipe(id) {
                    Ok(pipe) => self.reply_pipe = pipe,
                    Err((error, _)) => return Err((error, msg)),
                }
            }
            let mut bottom = Msg::new();
            bottom.set_more(true);
            match self.core.send_pipe(bottom) {
                Ok(pipe) => self.reply_pipe = pipe.or(self.reply_pipe),
                Err((error, _)) => return Err((error, msg)),
            }
            self.message_begins = false;
            // Drop replies already queued, so that a late reply to an earlier request
            // cannot pass for the reply to this one.
            while self.core.recv_pipe().is_ok() {}
        }
        let more = msg.more();
        self.core.send_pipe(msg)?;
        if !more {
            self.receiving_reply = true;
            self.message_begins = true;
        }
        Ok(())
    }

    fn recv(&mut self) -> ZResult<Msg> {
        if !self.receiving_reply {
            return Err(Errno::EFSM);
        }
        while self.message_begins {
            if self.correlate {
                let msg = self.recv_reply_pipe()?;
                let matches = msg.more() && msg.data()[..] == self.request_id.to_ne_bytes();
                if !matches {
                    self.skip_rest(msg)?;
                    continue;
                }
            }
            let msg = self.recv_reply_pipe()?;
            if !msg.more() || !msg.is_empty() {
                self.skip_rest(msg)?;
                continue;
            }
            self.message_begins = false;
        }
        let msg = self.recv_reply_pipe()?;
        if !msg.more() {
            self.receiving_reply = false;
            self.message_begins = true;
        }
        Ok(msg)
    }

    fn has_in(&mut self) -> bool {
        self.receiving_reply && self.core.has_in()
    }

    fn has_out(&mut self) -> bool {
        if self.receiving_reply && self.strict {
            return false;
        }
        self.core.has_out()
    }

    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        match option {
            sockopt::REQ_CORRELATE => self.correlate = bool_option(value)?,
            sockopt::REQ_RELAXED => self.strict = !bool_option(value)?,
            _ => return self.core.set_sockopt(option, value),
        }
        Ok(())
    }
}

/// REP: a server receiving requests and sending replies in turn.
#[derive(Debug)]
pub struct Rep {
    core: RouterCore,
    /// A request has been received and its reply not (fully) sent.
    sending_reply: bool,
    /// The next frame received starts a request.
    request_begins: bool,
    /// The request's envelope: the routing id, any address frames, the empty delimiter.
    envelope: Vec<Msg>,
    /// The envelope has been sent in front of the reply in progress.
    reply_started: bool,
}

impl Default for Rep {
    fn default() -> Self {
        Rep {
            core: RouterCore::default(),
            sending_reply: false,
            request_begins: true,
            envelope: Vec::new(),
            reply_started: false,
        }
    }
}

impl Pattern for Rep {
    fn attach(&mut self, pipe: Pipe, peer: &PeerInfo) {
        self.core.attach(pipe, peer);
    }

    fn pipe_event(&mut self, id: PipeId) {
        self.core.pipe_event(id);
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        if !self.sending_reply {
            return Err((Errno::EFSM, msg));
        }
        if !self.reply_started {
            // The routing id picks the peer; with ROUTER_MANDATORY this may fail, and the
            // reply can be retried.
            let mut envelope = self.envelope.iter().cloned();
            if let Some(routing_id) = envelope.next() {
                if let Err((error, _)) = self.core.send(routing_id) {
                    return Err((error, msg));
                }
                for frame in envelope {
                    // Frames after the first always go (or are dropped with their peer).
                    let _ = self.core.send(frame);
                }
            }
            self.envelope.clear();
            self.reply_started = true;
        }
        let more = msg.more();
        self.core.send(msg)?;
        if !more {
            self.sending_reply = false;
            self.reply_started = false;
        }
        Ok(())
    }

    fn recv(&mut self) -> ZResult<Msg> {
        if self.sending_reply {
            return Err(Errno::EFSM);
        }
        if self.request_begins {
            loop {
                let frame = self.core.recv()?;
                if frame.more() {
                    let bottom = frame.is_empty();
                    self.envelope.push(frame);
                    if bottom {
                        break;
                    }
                } else {
                    // No delimiter: a malformed request, dropped with its envelope.
                    self.envelope.clear();
                }
            }
            self.request_begins = false;
        }
        let msg = self.core.recv()?;
        if !msg.more() {
            self.sending_reply = true;
            self.request_begins = true;
        }
        Ok(msg)
    }

    fn has_in(&mut self) -> bool {
        !self.sending_reply && self.core.has_in()
    }

    fn has_out(&mut self) -> bool {
        self.sending_reply && self.core.has_out()
    }

    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        self.core.set_sockopt(option, value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use rustzmq_transport::pipe::{next_pipe_id, pipe_pair, Notify};

    use super::*;

    struct Quiet;
    impl Notify for Quiet {
        fn pipe_event(&self, _id: PipeId) {}
    }

    fn pipes() -> (Pipe, Pipe) {
        pipe_pair(next_pipe_id(), Arc::new(Quiet), Arc::new(Quiet), 0, 0)
    }

    fn write(pipe: &mut Pipe, frames: &[&[u8]]) {
        for (i, data) in frames.iter().enumerate() {
            let mut msg = Msg::from_bytes(Bytes::copy_from_slice(data));
            msg.set_more(i + 1 < frames.len());
            pipe.write(msg).unwrap();
        }
        pipe.flush();
    }

    fn read_all(pipe: &mut Pipe) -> Vec<Bytes> {
        std::iter::from_fn(|| pipe.read().map(Msg::into_bytes)).collect()
    }

    fn send(pattern: &mut dyn Pattern, frames: &[&[u8]]) -> Result<(), Errno> {
        for (i, data) in frames.iter().enumerate() {
            let mut msg = Msg::from_bytes(Bytes::copy_from_slice(data));
            msg.set_more(i + 1 < frames.len());
            pattern.send(msg).map_err(|(e, _)| e)?;
        }
        Ok(())
    }

    #[test]
    fn req_wraps_requests_and_filters_replies() {
        let mut req = Req::default();
        let (ours, mut server) = pipes();
        req.attach(ours, &PeerInfo::default());
        assert_eq!(req.recv().unwrap_err(), Errno::EFSM);
        send(&mut req, &[b"q"]).unwrap();
        assert_eq!(send(&mut req, &[b"again"]), Err(Errno::EFSM));
        assert_eq!(read_all(&mut server), vec![Bytes::new(), Bytes::from_static(b"q")]);
        write(&mut server, &[b"no delimiter"]);
        write(&mut server, &[b"", b"a", b"b"]);
        // (The socket's mailbox would deliver this wake-up.)
        req.pipe_event(server.id());
        assert_eq!(req.recv().unwrap().data(), b"a");
        assert_eq!(req.recv().unwrap().data(), b"b");
        assert_eq!(req.recv().unwrap_err(), Errno::EFSM);
    }

    #[test]
    fn req_correlate_checks_the_request_id() {
        let mut req = Req::default();
        req.set_sockopt(sockopt::REQ_CORRELATE, &1i32.to_ne_bytes()).unwrap();
        let (ours, mut server) = pipes();
        req.attach(ours, &PeerInfo::default());
        send(&mut req, &[b"q"]).unwrap();
        let request = read_all(&mut server);
        assert_eq!(request.len(), 3);
        let id = request[0].clone();
        write(&mut server, &[b"\x00\x00\x00\x00\x00", b"", b"wrong id size"]);
        write(&mut server, &[&(u32::from_ne_bytes(id[..].try_into().unwrap()) ^ 1).to_ne_bytes(), b"", b"stale"]);
        write(&mut server, &[&id, b"", b"right"]);
        req.pipe_event(server.id());
        assert_eq!(req.recv().unwrap().data(), b"right");
    }

    #[test]
    fn rep_strips_and_restores_the_envelope() {
        let mut rep = Rep::default();
        let (ours, mut client) = pipes();
        rep.attach(ours, &PeerInfo::default());
        assert_eq!(send(&mut rep, &[b"early"]), Err(Errno::EFSM));
        write(&mut client, &[b"bad"]);
        write(&mut client, &[b"hop", b"", b"body"]);
        assert_eq!(rep.recv().unwrap().data(), b"body");
        assert_eq!(rep.recv().unwrap_err(), Errno::EFSM);
        send(&mut rep, &[b"re", b"ply"]).unwrap();
        assert_eq!(
            read_all(&mut client),
            vec![Bytes::from_static(b"hop"), Bytes::new(), Bytes::from_static(b"re"), Bytes::from_static(b"ply")]
        );
        assert_eq!(send(&mut rep, &[b"twice"]), Err(Errno::EFSM));
    }
}
