//! STREAM: raw TCP peers. Each received chunk arrives as [routing id, data]; a peer's
//! connection and disconnection are announced as [routing id, empty] (ZMQ_STREAM_NOTIFY,
//! on by default); sending [routing id, data] writes the bytes to that peer, and sending
//! [routing id, empty] closes its connection.
//!
//! The notices come from the raw engine itself, as in libzmq: it puts an empty message into
//! the pipe when the connection is established and when it is lost (a received chunk is
//! never empty), so a connecting STREAM whose pipe outlives its connections sees both.

use std::collections::HashMap;

use bytes::Bytes;
use rustzmq_transport::options::sockopt;
use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, WriteError, ZResult};

use crate::{FairQueue, RoutingIdGenerator};

/// Where a send is in its two-frame message.
#[derive(Debug, Default)]
enum SendState {
    /// Expecting the routing id frame.
    #[default]
    RoutingId,
    /// Expecting the data frame for this pipe (`None`: the peer is unknown or gone).
    Data(Option<PipeId>),
}

/// The STREAM socket type.
#[derive(Debug)]
pub struct StreamSocket {
    fq: FairQueue,
    ids: HashMap<PipeId, Bytes>,
    by_id: HashMap<Bytes, PipeId>,
    generator: RoutingIdGenerator,
    /// The data frame to return after its routing id frame.
    pending_data: Option<Msg>,
    send_state: SendState,
    notify: bool,
}

impl Default for StreamSocket {
    fn default() -> Self {
        StreamSocket {
            fq: FairQueue::default(),
            ids: HashMap::new(),
            by_id: HashMap::new(),
            generator: RoutingIdGenerator::default(),
            pending_data: None,
            send_state: SendState::RoutingId,
            notify: true,
        }
    }
}

impl StreamSocket {
    fn forget(&mut self, id: PipeId) {
        if let Some(routing_id) = self.ids.remove(&id) {
            self.by_id.remove(&routing_id);
        }
    }
}

fn frame(data: Bytes, more: bool) -> Msg {
    let mut msg = Msg::from_bytes(data);
    msg.set_more(more);
    msg
}

impl Pattern for StreamSocket {
    fn attach(&mut self, pipe: Pipe, _peer: &PeerInfo) {
        let routing_id = self.generator.generate();
        self.ids.insert(pipe.id(), routing_id.clone());
        self.by_id.insert(routing_id.clone(), pipe.id());
        self.fq.attach(pipe);
    }

    fn pipe_event(&mut self, id: PipeId) {
        self.fq.pipe_event(id);
        if self.fq.pipe_mut(id).is_some_and(|p| p.is_peer_gone()) {
            self.fq.remove(id);
            self.forget(id);
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        match std::mem::take(&mut self.send_state) {
            SendState::RoutingId => {
                if !msg.more() {
                    // A lone frame is not a [routing id, data] message.
                    return Err((Errno::EINVAL, msg));
                }
                let Some(&id) = self.by_id.get(msg.data()) else { return Err((Errno::EHOSTUNREACH, msg)) };
                if self.fq.pipe_mut(id).is_some_and(|p| !p.check_write()) {
                    return Err((Errno::EAGAIN, msg));
                }
                self.send_state = SendState::Data(Some(id));
                Ok(())
            }
            SendState::Data(target) => {
                let Some(id) = target else { return Ok(()) };
                if msg.is_empty() {
                    // Closing the pipe makes the session close the connection once written.
                    self.fq.remove(id);
                    self.forget(id);
                    return Ok(());
                }
                if let Some(pipe) = self.fq.pipe_mut(id) {
                    match pipe.write(frame(msg.into_bytes(), false)) {
                        Ok(()) => pipe.flush(),
                        Err(WriteError::Full(_)) | Err(WriteError::Closed(_)) => {}
                    }
                }
                Ok(())
            }
        }
    }

    fn recv(&mut self) -> ZResult<Msg> {
        if let Some(data) = self.pending_data.take() {
            return Ok(data);
        }
        loop {
            let (msg, id) = self.fq.recv_with_pipe()?;
            if msg.is_empty() && !self.notify {
                continue;
            }
            let routing_id = self.ids.get(&id).cloned().unwrap_or_default();
            self.pending_data = Some(frame(msg.into_bytes(), false));
            return Ok(frame(routing_id, true));
        }
    }

    fn has_in(&mut self) -> bool {
        // (With notices off, an announced notice may make this true once for nothing.)
        self.pending_data.is_some() || self.fq.has_in()
    }

    fn has_out(&mut self) -> bool {
        true
    }

    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        match option {
            sockopt::STREAM_NOTIFY => {
                let value: [u8; 4] = value.try_into().map_err(|_| Errno::EINVAL)?;
                self.notify = i32::from_ne_bytes(value) != 0;
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }
}
