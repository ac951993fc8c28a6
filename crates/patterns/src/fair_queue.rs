//! Fair queueing (libzmq's `fq_t`): receive from peers in turn, a whole message at a time.

use rustzmq_transport::{Errno, Msg, Pipe, PipeId, ZResult};

/// Round robin over the pipes that have messages. Pipes found empty are parked until their
/// writer signals them; a multipart message is always read whole from one pipe.
#[derive(Debug, Default)]
pub struct FairQueue {
    /// `pipes[..active]` may have messages; the rest were found empty.
    pipes: Vec<Pipe>,
    active: usize,
    current: usize,
    /// In the middle of a multipart message from `pipes[current]`.
    more: bool,
}

impl FairQueue {
    /// Adds a pipe (active: it may already hold messages).
    pub fn attach(&mut self, pipe: Pipe) {
        self.pipes.push(pipe);
        let last = self.pipes.len() - 1;
        self.pipes.swap(self.active, last);
        self.active += 1;
    }

    /// Re-activates a pipe after its writer signalled it, and drops it if its peer is gone
    /// and drained. Returns whether the pipe belongs to this queue.
    pub fn pipe_event(&mut self, id: PipeId) -> bool {
        let Some(index) = self.pipes.iter().position(|p| p.id() == id) else { return false };
        if index >= self.active {
            self.pipes.swap(index, self.active);
            self.active += 1;
        }
        true
    }

    /// Whether a pipe with this id is held.
    pub fn contains(&self, id: PipeId) -> bool {
        self.pipes.iter().any(|p| p.id() == id)
    }

    /// Number of pipes.
    pub fn len(&self) -> usize {
        self.pipes.len()
    }

    /// Whether there are no pipes.
    pub fn is_empty(&self) -> bool {
        self.pipes.is_empty()
    }

    fn deactivate(&mut self, index: usize) {
        self.active -= 1;
        self.pipes.swap(index, self.active);
        if self.current >= self.active {
            self.current = 0;
        }
    }

    fn remove(&mut self, index: usize) {
        if index < self.active {
            self.deactivate(index);
            let last = self.pipes.len() - 1;
            self.pipes.swap(self.active, last);
        } else {
            let last = self.pipes.len() - 1;
            self.pipes.swap(index, last);
        }
        self.pipes.pop();
        if self.current >= self.active {
            self.current = 0;
        }
    }

    /// Receives the next frame, with the id of the pipe it came from.
    pub fn recv_with_pipe(&mut self) -> ZResult<(Msg, PipeId)> {
        while self.active > 0 {
            let index = self.current;
            let pipe = &mut self.pipes[index];
            if let Some(msg) = pipe.read() {
                let id = pipe.id();
                self.more = msg.more();
                if !self.more {
                    self.current = (self.current + 1) % self.active;
                }
                return Ok((msg, id));
            }
            // A message is published whole, so `more` cannot be pending on an empty pipe
            // unless its writer died mid-message (then the rest never comes).
            self.more = false;
            if pipe.is_peer_gone() {
                self.remove(index);
            } else {
                self.deactivate(index);
            }
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
        while self.active > 0 {
            let index = self.current;
            if self.pipes[index].check_read() {
                return true;
            }
            if self.pipes[index].is_peer_gone() {
                self.remove(index);
            } else {
                self.deactivate(index);
            }
        }
        false
    }

    /// Drops pipes whose peers are gone and that hold nothing more to read.
    pub fn prune(&mut self) {
        let mut index = 0;
        while index < self.pipes.len() {
            if self.pipes[index].is_peer_gone() {
                self.remove(index);
            } else {
                index += 1;
            }
        }
    }
}
