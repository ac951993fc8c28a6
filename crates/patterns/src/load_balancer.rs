//! Load balancing (libzmq's `lb_t`): send each message to the next peer with room.

use rustzmq_transport::{Errno, Msg, Pipe, PipeId, WriteError};

/// Round robin over the pipes below their high-water mark. A pipe found full is parked
/// until its reader returns credit; all frames of a multipart message go to one pipe.
#[derive(Debug, Default)]
pub struct LoadBalancer {
    /// `pipes[..active]` had room at last look.
    pipes: Vec<Pipe>,
    active: usize,
    current: usize,
    /// In the middle of a multipart message to `pipes[current]`.
    more: bool,
    /// The pipe of the message in progress disappeared: drop its remaining frames.
    dropping: bool,
}

impl LoadBalancer {
    /// Adds a pipe.
    pub fn attach(&mut self, pipe: Pipe) {
        self.pipes.push(pipe);
        let last = self.pipes.len() - 1;
        self.pipes.swap(self.active, last);
        self.active += 1;
    }

    /// Re-activates a pipe after its reader returned credit, and drops it if its peer is
    /// gone. Returns whether the pipe belongs to this balancer.
    pub fn pipe_event(&mut self, id: PipeId) -> bool {
        let Some(index) = self.pipes.iter().position(|p| p.id() == id) else { return false };
        if self.pipes[index].is_peer_reader_closed() {
            self.remove(index);
        } else if index >= self.active {
            self.pipes.swap(index, self.active);
            self.active += 1;
        }
        true
    }

    /// Whether a pipe with this id is held.
    pub fn contains(&self, id: PipeId) -> bool {
        self.pipes.iter().any(|p| p.id() == id)
    }

    /// The pipe with this id, if held.
    pub fn pipe_mut(&mut self, id: PipeId) -> Option<&mut Pipe> {
        self.pipes.iter_mut().find(|p| p.id() == id)
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
        if self.more && index == self.current {
            self.more = false;
            self.dropping = true;
        }
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

    /// Sends a frame to the current pipe, or the next one with room.
    pub fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        if self.dropping {
            self.dropping = msg.more();
            return Ok(());
        }
        let mut msg = msg;
        while self.active > 0 {
            let index = self.current;
            let more = msg.more();
            match self.pipes[index].write(msg) {
                Ok(()) => {
                    self.more = more;
                    if !more {
                        self.pipes[index].flush();
                        self.current = (self.current + 1) % self.active;
                    }
                    return Ok(());
                }
                Err(WriteError::Full(back)) => {
                    msg = back;
                    self.deactivate(index);
                }
                Err(WriteError::Closed(back)) => {
                    msg = back;
                    let was_more = self.more;
                    self.remove(index);
                    if was_more {
                        // The rest of this message is lost with its peer, as in libzmq.
                        self.dropping = more;
                        return Ok(());
                    }
                }
            }
        }
        Err((Errno::EAGAIN, msg))
    }

    /// Whether a frame can be sent now.
    pub fn has_out(&mut self) -> bool {
        if self.more {
            return true;
        }
        while self.active > 0 {
            let index = self.current;
            if self.pipes[index].is_peer_reader_closed() {
                self.remove(index);
                continue;
            }
            if self.pipes[index].check_write() {
                return true;
            }
            self.deactivate(index);
        }
        false
    }
}
