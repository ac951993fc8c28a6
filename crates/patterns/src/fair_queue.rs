//! Fair queueing (libzmq's `fq_t`): receive from peers in turn, a whole message at a time.

use rustzmq_transport::{Errno, Msg, Pipe, PipeId, ZResult};

use crate::active_set::ActiveSet;

/// Round robin over the pipes that have messages. Pipes found empty are parked until their
/// writer signals them; a multipart message is always read whole from one pipe.
#[derive(Debug, Default)]
pub struct FairQueue {
    set: ActiveSet,
    /// In the middle of a multipart message from the current pipe.
    more: bool,
}

impl FairQueue {
    /// Adds a pipe (active: it may already hold messages).
    pub fn attach(&mut self, pipe: Pipe) {
        self.set.attach(pipe);
    }

    /// Re-activates a pipe after its writer signalled it. Returns whether the pipe belongs to
    /// this queue. (A pipe whose peer is gone is dropped once it has been read dry.)
    pub fn pipe_event(&mut self, id: PipeId) -> bool {
        let Some(index) = self.set.position(id) else { return false };
        self.set.activate(index);
        true
    }

    /// Whether a pipe with this id is held.
    pub fn contains(&self, id: PipeId) -> bool {
        self.set.position(id).is_some()
    }

    /// The pipe with this id, if held (for sockets that also write to their peers).
    pub fn pipe_mut(&mut self, id: PipeId) -> Option<&mut Pipe> {
        let index = self.set.position(id)?;
        Some(&mut self.set.pipes[index])
    }

    /// Takes a pipe out of the queue (the socket type drops its peer).
    pub fn remove(&mut self, id: PipeId) -> Option<Pipe> {
        let index = self.set.position(id)?;
        self.more &= index != self.set.current;
        if index < self.set.active {
            self.set.deactivate(index);
        }
        let index = self.set.position(id)?;
        let pipe = self.set.pipes.swap_remove(index);
        Some(pipe)
    }

    /// Number of pipes.
    pub fn len(&self) -> usize {
        self.set.pipes.len()
    }

    /// Whether there are no pipes.
    pub fn is_empty(&self) -> bool {
        self.set.pipes.is_empty()
    }

    /// Parks the current pipe, or drops it if its peer is gone.
    fn retire_current(&mut self) {
        let index = self.set.current;
        if self.set.pipes[index].is_peer_gone() {
            self.set.remove(index);
        } else {
            self.set.deactivate(index);
        }
    }

    /// Receives the next frame, with the id of the pipe it came from.
    pub fn recv_with_pipe(&mut self) -> ZResult<(Msg, PipeId)> {
        let mut msg = Msg::new();
        let id = self.recv_into(&mut msg)?;
        Ok((msg, id))
    }

    /// [`recv`](Self::recv) into `out`, which is replaced (on error it is untouched); returns
    /// the id of the pipe it came from.
    pub fn recv_into(&mut self, out: &mut Msg) -> ZResult<PipeId> {
        while self.set.active > 0 {
            // Waiting a moment on the only pipe with messages holds up nobody.
            let patient = self.set.active == 1;
            let pipe = &mut self.set.pipes[self.set.current];
            if pipe.read_into(out, patient) {
                let id = pipe.id();
                self.more = out.more();
                if !self.more {
                    self.set.advance();
                }
                return Ok(id);
            }
            // Messages are published whole, so an empty pipe has no message in progress
            // unless its writer died mid-message (then the rest never comes).
            self.more = false;
            self.retire_current();
        }
        Err(Errno::EAGAIN)
    }

    /// Receives the next frame.
    pub fn recv(&mut self) -> ZResult<Msg> {
        self.recv_with_pipe().map(|(msg, _)| msg)
    }

    /// Whether a frame can be received now.
    pub fn has_in(&mut self) -> bool {
        if self.more {
            return true;
        }
        while self.set.active > 0 {
            if self.set.pipes[self.set.current].check_read() {
                return true;
            }
            self.retire_current();
        }
        false
    }
}
