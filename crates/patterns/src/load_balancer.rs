//! Load balancing (libzmq's `lb_t`): send each message to the next peer with room.

use rustzmq_transport::{Errno, Msg, Pipe, PipeId, WriteFailure, ZResult};

use crate::active_set::ActiveSet;

/// Round robin over the pipes below their high-water mark. A pipe found full is parked
/// until its reader returns credit; all frames of a multipart message go to one pipe.
#[derive(Debug, Default)]
pub struct LoadBalancer {
    set: ActiveSet,
    /// In the middle of a multipart message to the current pipe.
    more: bool,
    /// The pipe of the message in progress disappeared: drop its remaining frames.
    dropping: bool,
}

impl LoadBalancer {
    /// Adds a pipe.
    pub fn attach(&mut self, pipe: Pipe) {
        self.set.attach(pipe);
    }

    /// Re-activates a pipe after its reader returned credit, and drops it if its peer is
    /// gone. Returns whether the pipe belongs to this balancer.
    pub fn pipe_event(&mut self, id: PipeId) -> bool {
        let Some(index) = self.set.position(id) else { return false };
        if self.set.pipes[index].is_peer_reader_closed() {
            self.remove(index);
        } else {
            self.set.activate(index);
        }
        true
    }

    /// Whether a pipe with this id is held.
    pub fn contains(&self, id: PipeId) -> bool {
        self.set.position(id).is_some()
    }

    /// The pipe with this id, if held.
    pub fn pipe_mut(&mut self, id: PipeId) -> Option<&mut Pipe> {
        self.set.pipes.iter_mut().find(|p| p.id() == id)
    }

    /// Number of pipes.
    pub fn len(&self) -> usize {
        self.set.pipes.len()
    }

    /// Whether there are no pipes.
    pub fn is_empty(&self) -> bool {
        self.set.pipes.is_empty()
    }

    fn remove(&mut self, index: usize) {
        if self.more && index == self.set.current {
            // The rest of the message in progress is lost with its peer, as in libzmq.
            self.more = false;
            self.dropping = true;
        }
        self.set.remove(index);
    }

    /// Sends a frame to the current pipe, or the next one with room.
    pub fn send(&mut self, mut msg: Msg) -> Result<(), (Errno, Msg)> {
        self.send_from(&mut msg).map_err(|error| (error, msg))
    }

    /// [`send`](Self::send) taking the frame out of `msg` (left empty) when it is sent or
    /// dropped; on error `msg` is untouched.
    pub fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        if self.dropping {
            self.dropping = msg.more();
            *msg = Msg::new();
            return Ok(());
        }
        while self.set.active > 0 {
            let index = self.set.current;
            let more = msg.more();
            match self.set.pipes[index].write_from(msg) {
                Ok(()) => {
                    self.more = more;
                    if !more {
                        self.set.pipes[index].flush();
                        self.set.advance();
                    }
                    return Ok(());
                }
                Err(WriteFailure::Full) => self.set.deactivate(index),
                Err(WriteFailure::Closed) => {
                    let was_more = self.more;
                    self.remove(index);
                    if was_more {
                        self.dropping = more;
                        *msg = Msg::new();
                        return Ok(());
                    }
                }
            }
        }
        Err(Errno::EAGAIN)
    }

    /// Whether a frame can be sent now.
    pub fn has_out(&mut self) -> bool {
        if self.more {
            return true;
        }
        while self.set.active > 0 {
            let index = self.set.current;
            if self.set.pipes[index].is_peer_reader_closed() {
                self.remove(index);
            } else if self.set.pipes[index].check_write() {
                return true;
            } else {
                self.set.deactivate(index);
            }
        }
        false
    }
}
