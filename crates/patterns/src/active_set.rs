//! The pipe set both the load balancer and the fair queue walk: pipes split into an active
//! prefix (worth trying) and a parked rest (full, or empty, until their peer signals), with a
//! round-robin cursor over the active ones. libzmq's `lb_t` and `fq_t` share this layout.

use rustzmq_transport::{Pipe, PipeId};

#[derive(Debug, Default)]
pub(crate) struct ActiveSet {
    /// `pipes[..active]` are active; the rest are parked.
    pub(crate) pipes: Vec<Pipe>,
    pub(crate) active: usize,
    /// The next active pipe to try.
    pub(crate) current: usize,
}

impl ActiveSet {
    /// Adds a pipe as active.
    pub(crate) fn attach(&mut self, pipe: Pipe) {
        self.pipes.push(pipe);
        let last = self.pipes.len() - 1;
        self.pipes.swap(self.active, last);
        self.active += 1;
    }

    /// The index of the pipe with this id.
    pub(crate) fn position(&self, id: PipeId) -> Option<usize> {
        self.pipes.iter().position(|p| p.id() == id)
    }

    /// Moves a parked pipe back into the active prefix.
    pub(crate) fn activate(&mut self, index: usize) {
        if index >= self.active {
            self.pipes.swap(index, self.active);
            self.active += 1;
        }
    }

    /// Parks an active pipe.
    pub(crate) fn deactivate(&mut self, index: usize) {
        self.active -= 1;
        self.pipes.swap(index, self.active);
        self.fix_cursor();
    }

    /// Drops a pipe.
    pub(crate) fn remove(&mut self, index: usize) {
        if index < self.active {
            self.deactivate(index);
            let last = self.pipes.len() - 1;
            self.pipes.swap(self.active, last);
        } else {
            let last = self.pipes.len() - 1;
            self.pipes.swap(index, last);
        }
        self.pipes.pop();
        self.fix_cursor();
    }

    /// Moves the cursor to the next active pipe.
    pub(crate) fn advance(&mut self) {
        self.current = (self.current + 1) % self.active.max(1);
    }

    fn fix_cursor(&mut self) {
        if self.current >= self.active {
            self.current = 0;
        }
    }
}
