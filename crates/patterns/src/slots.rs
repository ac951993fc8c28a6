//! Pipes that more than one routing structure refers to: DEALER and REQ load-balance and
//! fair-queue over the same pipes, ROUTER and REP look them up by routing id as well.
//!
//! [`LoadBalancer`](crate::LoadBalancer) and [`FairQueue`](crate::FairQueue) own their pipes;
//! here the pipes live in [`Slots`] (stable keys, O(1) access) and [`KeyedLoadBalancer`] and
//! [`KeyedFairQueue`] keep only keys, with the same active-prefix layout and round robin as
//! libzmq's `lb_t` and `fq_t`. A structure that finds a pipe's peer gone drops the key from
//! its own rotation and reports it in a `gone` list; the owner then removes the pipe from
//! everything else (so a key is never reused while something still refers to it).

use rustzmq_transport::{Errno, Msg, Pipe, WriteFailure, ZResult};

/// Storage with stable keys (a small slab).
#[derive(Debug)]
pub(crate) struct Slots<T> {
    entries: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots { entries: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slots<T> {
    /// Stores a value and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        match self.free.pop() {
            Some(key) => {
                self.entries[key] = Some(value);
                key
            }
            None => {
                self.entries.push(Some(value));
                self.entries.len() - 1
            }
        }
    }

    /// Removes the value under `key`; its key may be reused afterwards.
    pub(crate) fn remove(&mut self, key: usize) -> Option<T> {
        let value = self.entries.get_mut(key)?.take();
        if value.is_some() {
            self.free.push(key);
        }
        value
    }

    pub(crate) fn get(&self, key: usize) -> Option<&T> {
        self.entries.get(key)?.as_ref()
    }

    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.entries.get_mut(key)?.as_mut()
    }

    /// Every stored value with its key.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut T)> {
        self.entries.iter_mut().enumerate().filter_map(|(key, value)| value.as_mut().map(|v| (key, v)))
    }
}

/// A slot value that holds a pipe.
pub(crate) trait HasPipe {
    fn pipe_mut(&mut self) -> &mut Pipe;
}

impl HasPipe for Pipe {
    fn pipe_mut(&mut self) -> &mut Pipe {
        self
    }
}

fn pipe_at<T: HasPipe>(slots: &mut Slots<T>, key: usize) -> &mut Pipe {
    slots.get_mut(key).expect("a rotation refers only to stored pipes").pipe_mut()
}

/// Keys split into an active prefix (worth trying) and a parked rest, with a round-robin
/// cursor over the active ones (libzmq's `lb_t`/`fq_t` layout).
#[derive(Debug, Default)]
struct Rotation {
    keys: Vec<usize>,
    active: usize,
    current: usize,
}

impl Rotation {
    fn attach(&mut self, key: usize) {
        self.keys.push(key);
        let last = self.keys.len() - 1;
        self.keys.swap(self.active, last);
        self.active += 1;
    }

    fn position(&self, key: usize) -> Option<usize> {
        self.keys.iter().position(|&k| k == key)
    }

    /// Moves a parked key back into the active prefix; false if the key is not held.
    fn activate(&mut self, key: usize) -> bool {
        let Some(index) = self.position(key) else { return false };
        if index >= self.active {
            self.keys.swap(index, self.active);
            self.active += 1;
        }
        true
    }

    fn deactivate_at(&mut self, index: usize) {
        self.active -= 1;
        self.keys.swap(index, self.active);
        self.fix_cursor();
    }

    fn remove_at(&mut self, index: usize) {
        if index < self.active {
            self.deactivate_at(index);
            let last = self.keys.len() - 1;
            self.keys.swap(self.active, last);
        } else {
            let last = self.keys.len() - 1;
            self.keys.swap(index, last);
        }
        self.keys.pop();
        self.fix_cursor();
    }

    /// The key under the cursor, if any key is active.
    fn current(&self) -> Option<usize> {
        (self.active > 0).then(|| self.keys[self.current])
    }

    fn advance(&mut self) {
        self.current = (self.current + 1) % self.active.max(1);
    }

    fn fix_cursor(&mut self) {
        if self.current >= self.active {
            self.current = 0;
        }
    }
}

/// Fair queueing over keyed pipes: round robin over pipes with messages, a whole message at
/// a time from one pipe.
#[derive(Debug, Default)]
pub(crate) struct KeyedFairQueue {
    rotation: Rotation,
    /// In the middle of a multipart message from the current pipe.
    more: bool,
}

impl KeyedFairQueue {
    pub(crate) fn attach(&mut self, key: usize) {
        self.rotation.attach(key);
    }

    /// Re-activates a pipe after its writer signalled it.
    pub(crate) fn activate(&mut self, key: usize) {
        self.rotation.activate(key);
    }

    pub(crate) fn remove(&mut self, key: usize) {
        if let Some(index) = self.rotation.position(key) {
            if self.more && self.rotation.current() == Some(key) {
                self.more = false;
            }
            self.rotation.remove_at(index);
        }
    }

    /// Parks the current pipe, or drops it (reported in `gone`) if its peer is gone.
    fn retire_current<T: HasPipe>(&mut self, slots: &mut Slots<T>, gone: &mut Vec<usize>) {
        let index = self.rotation.current;
        let key = self.rotation.keys[index];
        if pipe_at(slots, key).is_peer_gone() {
            self.rotation.remove_at(index);
            gone.push(key);
        } else {
            self.rotation.deactivate_at(index);
        }
    }

    /// Receives the next frame with the key of its pipe.
    pub(crate) fn recv<T: HasPipe>(&mut self, slots: &mut Slots<T>, gone: &mut Vec<usize>) -> ZResult<(Msg, usize)> {
        let mut msg = Msg::new();
        let key = self.recv_into(&mut msg, slots, gone)?;
        Ok((msg, key))
    }

    /// [`recv`](Self::recv) into `out`, which is replaced (on error it is untouched);
    /// returns the key of its pipe.
    pub(crate) fn recv_into<T: HasPipe>(
        &mut self,
        out: &mut Msg,
        slots: &mut Slots<T>,
        gone: &mut Vec<usize>,
    ) -> ZResult<usize> {
        while let Some(key) = self.rotation.current() {
            // Waiting a moment on the only pipe with messages holds up nobody.
            let patient = self.rotation.active == 1;
            if pipe_at(slots, key).read_into(out, patient) {
                self.more = out.more();
                if !self.more {
                    self.rotation.advance();
                }
                return Ok(key);
            }
            // Messages are published whole: an empty pipe has no message in progress unless
            // its writer died mid-message (then the rest never comes).
            self.more = false;
            self.retire_current(slots, gone);
        }
        Err(Errno::EAGAIN)
    }

    /// Whether a frame can be received now.
    pub(crate) fn has_in<T: HasPipe>(&mut self, slots: &mut Slots<T>, gone: &mut Vec<usize>) -> bool {
        if self.more {
            return true;
        }
        while let Some(key) = self.rotation.current() {
            if pipe_at(slots, key).check_read() {
                return true;
            }
            self.retire_current(slots, gone);
        }
        false
    }
}

/// Load balancing over keyed pipes: each message to the next pipe below its high-water mark,
/// all frames of a message to one pipe.
#[derive(Debug, Default)]
pub(crate) struct KeyedLoadBalancer {
    rotation: Rotation,
    /// In the middle of a multipart message to the current pipe.
    more: bool,
    /// The pipe of the message in progress went away: drop the message's remaining frames.
    dropping: bool,
}

impl KeyedLoadBalancer {
    pub(crate) fn attach(&mut self, key: usize) {
        self.rotation.attach(key);
    }

    /// Re-activates a pipe after its reader returned credit.
    pub(crate) fn activate(&mut self, key: usize) {
        self.rotation.activate(key);
    }

    /// Drops a pipe; the rest of a message in progress to it is lost, as in libzmq.
    pub(crate) fn remove(&mut self, key: usize) {
        if let Some(index) = self.rotation.position(key) {
            self.remove_at(index);
        }
    }

    fn remove_at(&mut self, index: usize) {
        if self.more && index == self.rotation.current {
            self.more = false;
            self.dropping = true;
        }
        self.rotation.remove_at(index);
    }

    /// Sends a frame to the current pipe, or the next one with room. `Ok(Some(key))` names the
    /// pipe written to, `Ok(None)` means the frame was dropped with its vanished pipe.
    pub(crate) fn send<T: HasPipe>(
        &mut self,
        mut msg: Msg,
        slots: &mut Slots<T>,
        gone: &mut Vec<usize>,
    ) -> Result<Option<usize>, (Errno, Msg)> {
        self.send_from(&mut msg, slots, gone).map_err(|error| (error, msg))
    }

    /// [`send`](Self::send) taking the frame out of `msg` (left empty) when it is written or
    /// dropped; on error `msg` is untouched.
    pub(crate) fn send_from<T: HasPipe>(
        &mut self,
        msg: &mut Msg,
        slots: &mut Slots<T>,
        gone: &mut Vec<usize>,
    ) -> ZResult<Option<usize>> {
        if self.dropping {
            self.dropping = msg.more();
            *msg = Msg::new();
            return Ok(None);
        }
        while let Some(key) = self.rotation.current() {
            let more = msg.more();
            let pipe = pipe_at(slots, key);
            match pipe.write_from(msg) {
                Ok(()) => {
                    self.more = more;
                    if !more {
                        pipe.flush();
                        self.rotation.advance();
                    }
                    return Ok(Some(key));
                }
                Err(WriteFailure::Full) => self.rotation.deactivate_at(self.rotation.current),
                Err(WriteFailure::Closed) => {
                    let was_more = self.more;
                    self.remove_at(self.rotation.current);
                    gone.push(key);
                    if was_more {
                        self.dropping = more;
                        *msg = Msg::new();
                        return Ok(None);
                    }
                }
            }
        }
        Err(Errno::EAGAIN)
    }

    /// Whether a frame can be sent now.
    pub(crate) fn has_out<T: HasPipe>(&mut self, slots: &mut Slots<T>, gone: &mut Vec<usize>) -> bool {
        if self.more {
            return true;
        }
        while let Some(key) = self.rotation.current() {
            let pipe = pipe_at(slots, key);
            if pipe.is_peer_reader_closed() {
                self.remove_at(self.rotation.current);
                gone.push(key);
            } else if pipe.check_write() {
                return true;
            } else {
                self.rotation.deactivate_at(self.rotation.current);
            }
        }
        false
    }
}

/// Reads a boolean socket option the way libzmq does: a native `int`, 0 or positive.
pub(crate) fn bool_option(value: &[u8]) -> ZResult<bool> {
    let bytes: [u8; 4] = value.try_into().map_err(|_| Errno::EINVAL)?;
    match i32::from_ne_bytes(bytes) {
        v if v < 0 => Err(Errno::EINVAL),
        v => Ok(v != 0),
    }
}

/// A random 32-bit value (libzmq's `generate_random`), from the standard library's
/// randomly seeded hasher.
pub(crate) fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
    );
    hasher.finish() as u32
}
