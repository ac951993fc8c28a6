//! Distribution (libzmq's `dist_t`): one message to many pipes.
//!
//! The pipes are kept in one vector split into nested prefixes:
//!
//! ```text
//! [ matching | active, not matching | eligible, not active | not eligible ]
//!   0 ..matching  ..active             ..eligible             ..len
//! ```
//!
//! * *eligible* pipes had room at their last write; a pipe found at its high-water mark is
//!   moved out and the message (and every later one) is dropped for it alone until its
//!   reader returns credit ([`Distributor::activated`]): a slow subscriber never blocks the
//!   publisher nor affects the others;
//! * *active* pipes may receive the current message: a pipe attached or re-activated in the
//!   middle of a multipart message becomes active only at its end, so it never gets a tail;
//! * *matching* pipes get the current message: all active ones ([`Distributor::send_to_all`])
//!   or those marked by the caller ([`Distributor::mark_matching`], from a subscription
//!   trie). The selection holds for all the frames of a multipart message.
//!
//! Each pipe has a [`PipeKey`], stable while it is attached, so that a subscription trie can
//! name it and marking it costs one swap.

use std::collections::HashMap;

use rustzmq_transport::{Msg, Pipe, PipeId};

/// A pipe's handle inside one [`Distributor`], valid until the pipe is removed (then the
/// value may be reused for another pipe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipeKey(u32);

impl PipeKey {
    /// The key as an index (keys are small and dense).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug)]
struct Entry {
    key: PipeKey,
    pipe: Pipe,
}

/// Sends messages to all pipes, or to a marked subset, dropping for pipes at their HWM.
#[derive(Debug, Default)]
pub struct Distributor {
    entries: Vec<Entry>,
    matching: usize,
    active: usize,
    eligible: usize,
    /// In the middle of a multipart message.
    more: bool,
    /// Position in `entries` by key (`u32::MAX` for a free key).
    positions: Vec<u32>,
    free_keys: Vec<PipeKey>,
    keys: HashMap<PipeId, PipeKey>,
}

impl Distributor {
    /// An empty distributor.
    pub fn new() -> Distributor {
        Distributor::default()
    }

    /// Adds a pipe: eligible at once, active unless a multipart message is in progress.
    pub fn attach(&mut self, pipe: Pipe) -> PipeKey {
        let key = match self.free_keys.pop() {
            Some(key) => key,
            None => {
                self.positions.push(u32::MAX);
                PipeKey(u32::try_from(self.positions.len() - 1).expect("too many pipes"))
            }
        };
        self.keys.insert(pipe.id(), key);
        self.entries.push(Entry { key, pipe });
        let last = self.entries.len() - 1;
        self.set_position(last);
        if self.more {
            self.swap(self.eligible, last);
            self.eligible += 1;
        } else {
            // Not in a message: active == eligible, so this only moves a non-eligible pipe.
            self.swap(self.active, last);
            self.active += 1;
            self.eligible += 1;
        }
        key
    }

    /// Removes a pipe (its peer is gone, or the socket drops it) and returns it.
    pub fn remove(&mut self, key: PipeKey) -> Option<Pipe> {
        let mut at = self.position(key)?;
        if at < self.matching {
            self.matching -= 1;
            self.swap(at, self.matching);
            at = self.matching;
        }
        if at < self.active {
            self.active -= 1;
            self.swap(at, self.active);
            at = self.active;
        }
        if at < self.eligible {
            self.eligible -= 1;
            self.swap(at, self.eligible);
            at = self.eligible;
        }
        let entry = self.entries.swap_remove(at);
        if at < self.entries.len() {
            self.set_position(at);
        }
        self.positions[key.index()] = u32::MAX;
        self.free_keys.push(key);
        self.keys.remove(&entry.pipe.id());
        Some(entry.pipe)
    }

    /// The key of the pipe with this id.
    pub fn key(&self, id: PipeId) -> Option<PipeKey> {
        self.keys.get(&id).copied()
    }

    /// The pipe behind a key.
    pub fn pipe_mut(&mut self, key: PipeKey) -> Option<&mut Pipe> {
        let at = self.position(key)?;
        Some(&mut self.entries[at].pipe)
    }

    /// Whether the key names an attached pipe.
    pub fn contains(&self, key: PipeKey) -> bool {
        self.position(key).is_some()
    }

    /// Number of pipes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no pipes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys of all pipes (in no particular order).
    pub fn keys(&self) -> impl Iterator<Item = PipeKey> + '_ {
        self.entries.iter().map(|e| e.key)
    }

    /// Whether a multipart message is being sent.
    pub fn is_sending_more(&self) -> bool {
        self.more
    }

    /// Whether the pipe is eligible (it had room at its last write).
    pub fn is_eligible(&self, key: PipeKey) -> bool {
        self.position(key).is_some_and(|at| at < self.eligible)
    }

    /// Marks a pipe as getting the current message (libzmq's `match`). Pipes that are not
    /// eligible, or already marked, are left alone.
    #[inline]
    pub fn mark_matching(&mut self, key: PipeKey) {
        let at = self.positions[key.index()] as usize;
        if at < self.matching || at >= self.eligible {
            return;
        }
        self.swap(at, self.matching);
        self.matching += 1;
    }

    /// Marks exactly the eligible pipes that are not marked now (INVERT_MATCHING).
    pub fn reverse_match(&mut self) {
        let previous = self.matching;
        self.unmatch();
        for at in previous..self.eligible {
            let key = self.entries[at].key;
            self.mark_matching(key);
        }
    }

    /// Clears the marks.
    #[inline]
    pub fn unmatch(&mut self) {
        self.matching = 0;
    }

    /// Number of pipes marked.
    pub fn matching(&self) -> usize {
        self.matching
    }

    /// The pipe's reader returned credit: it becomes eligible again, and active unless a
    /// multipart message is in progress. Does nothing for a pipe that is eligible.
    pub fn activated(&mut self, key: PipeKey) {
        let Some(at) = self.position(key) else { return };
        if at < self.eligible {
            return;
        }
        self.swap(at, self.eligible);
        self.eligible += 1;
        if !self.more {
            self.swap(self.eligible - 1, self.active);
            self.active += 1;
        }
    }

    /// Re-activates a pipe that is not eligible if it has room now. When it has none, its
    /// reader is asked to notify us when it does.
    pub fn activate_if_writable(&mut self, key: PipeKey) {
        let Some(at) = self.position(key) else { return };
        if at >= self.eligible && self.entries[at].pipe.check_write() {
            self.activated(key);
        }
    }

    /// Whether every marked pipe can take a message now (XPUB_NODROP). Pipes that cannot are
    /// asked to notify us when they can.
    pub fn check_hwm(&mut self) -> bool {
        self.entries[..self.matching].iter_mut().all(|e| e.pipe.check_write())
    }

    /// Sends a frame to every active pipe.
    pub fn send_to_all(&mut self, msg: Msg) {
        self.matching = self.active;
        self.send_to_matching(msg);
    }

    /// Sends a frame to the marked pipes. A pipe that cannot take it (at its HWM, or its
    /// reader gone) loses this message and stops being eligible until [`Self::activated`].
    pub fn send_to_matching(&mut self, mut msg: Msg) {
        self.send_to_matching_from(&mut msg);
    }

    /// [`send_to_matching`](Self::send_to_matching) taking the frame out of `msg`, which is
    /// left empty.
    pub fn send_to_matching_from(&mut self, msg: &mut Msg) {
        let more = msg.more();
        self.distribute(msg);
        if !more {
            self.active = self.eligible;
        }
        self.more = more;
    }

    fn distribute(&mut self, msg: &mut Msg) {
        let more = msg.more();
        if self.matching > 1 {
            // One body for every subscriber, not one copy each.
            msg.make_shareable();
        }
        let mut at = 0;
        while at < self.matching {
            let pipe = &mut self.entries[at].pipe;
            // The last marked pipe gets the frame itself, the others a (shallow) copy, each
            // made straight into its pipe.
            let written = if at + 1 == self.matching { pipe.write_from(msg) } else { pipe.write_copy(msg) };
            if written.is_ok() {
                if !more {
                    pipe.flush();
                }
                at += 1;
            } else {
                self.deactivate(at);
            }
        }
        // Nobody took it (no subscriber, or the last ones were full or gone).
        if !msg.data().is_empty() {
            *msg = Msg::new();
        }
    }

    /// Moves the pipe at `at` (a marked one) out of matching, active and eligible.
    fn deactivate(&mut self, at: usize) {
        self.matching -= 1;
        self.swap(at, self.matching);
        self.active -= 1;
        self.swap(self.matching, self.active);
        self.eligible -= 1;
        self.swap(self.active, self.eligible);
    }

    #[inline]
    fn position(&self, key: PipeKey) -> Option<usize> {
        match self.positions.get(key.index()) {
            Some(&at) if at != u32::MAX => Some(at as usize),
            _ => None,
        }
    }

    #[inline]
    fn set_position(&mut self, at: usize) {
        self.positions[self.entries[at].key.index()] = at as u32;
    }

    #[inline]
    fn swap(&mut self, a: usize, b: usize) {
        if a != b {
            self.entries.swap(a, b);
            self.set_position(a);
            self.set_position(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rustzmq_transport::pipe::{pipe_pair, Notify};
    use std::sync::Arc;

    struct Quiet;
    impl Notify for Quiet {
        fn pipe_event(&self, _id: PipeId) {}
    }

    fn pair(id: PipeId, hwm: u64) -> (Pipe, Pipe) {
        pipe_pair(id, Arc::new(Quiet), Arc::new(Quiet), hwm, hwm)
    }

    fn frame(data: &'static [u8], more: bool) -> Msg {
        let mut msg = Msg::from_bytes(Bytes::from_static(data));
        msg.set_more(more);
        msg
    }

    fn drain(pipe: &mut Pipe) -> Vec<Bytes> {
        std::iter::from_fn(|| pipe.read()).map(Msg::into_bytes).collect()
    }

    fn check_invariants(dist: &Distributor) {
        assert!(dist.matching <= dist.active && dist.active <= dist.eligible && dist.eligible <= dist.entries.len());
        for (at, entry) in dist.entries.iter().enumerate() {
            assert_eq!(dist.positions[entry.key.index()] as usize, at);
        }
    }

    #[test]
    fn full_pipe_drops_for_itself_only() {
        let mut dist = Distributor::new();
        let (slow, mut slow_peer) = pair(1, 2);
        let (fast, mut fast_peer) = pair(2, 0);
        let slow_key = dist.attach(slow);
        dist.attach(fast);
        for data in [&b"1"[..], b"2", b"3", b"4"] {
            dist.send_to_all(frame(data, false));
            check_invariants(&dist);
        }
        assert_eq!(drain(&mut fast_peer).len(), 4);
        assert_eq!(drain(&mut slow_peer), vec![Bytes::from_static(b"1"), Bytes::from_static(b"2")]);
        assert!(!dist.is_eligible(slow_key));
        // Credit came back (the reader read both): eligible again.
        dist.activate_if_writable(slow_key);
        assert!(dist.is_eligible(slow_key));
        dist.send_to_all(frame(b"5", false));
        assert_eq!(drain(&mut slow_peer), vec![Bytes::from_static(b"5")]);
        check_invariants(&dist);
    }

    #[test]
    fn a_full_pipe_last_in_line_loses_the_message_for_itself_only() {
        // The last marked pipe is given the frame itself, the others copies: when that one
        // is full, the others still have theirs and the frame is dropped, not leaked.
        let mut dist = Distributor::new();
        let (fast, mut fast_peer) = pair(1, 0);
        let (slow, mut slow_peer) = pair(2, 1);
        dist.attach(fast);
        let slow_key = dist.attach(slow);
        for data in [&b"1"[..], b"2", b"3"] {
            let mut msg = frame(data, false);
            dist.unmatch();
            // Marked in this order, the slow pipe is last in line.
            dist.mark_matching(dist.key(1).unwrap());
            dist.mark_matching(slow_key);
            dist.send_to_matching_from(&mut msg);
            assert!(msg.data().is_empty(), "sent or dropped, the frame is gone from the caller");
            check_invariants(&dist);
        }
        assert_eq!(drain(&mut fast_peer).len(), 3);
        assert_eq!(drain(&mut slow_peer), vec![Bytes::from_static(b"1")]);
    }

    #[test]
    fn every_subscriber_gets_the_same_body_not_a_copy() {
        let mut dist = Distributor::new();
        let (a, mut a_peer) = pair(1, 0);
        let (b, mut b_peer) = pair(2, 0);
        dist.attach(a);
        dist.attach(b);
        let mut big = Msg::zeroed(100_000);
        big.data_mut()[0] = 7;
        dist.send_to_all(big);
        let (got_a, got_b) = (a_peer.read().unwrap(), b_peer.read().unwrap());
        assert_eq!(got_a.data()[0], 7);
        assert_eq!(got_a.data().as_ptr(), got_b.data().as_ptr());
    }

    #[test]
    fn multipart_goes_whole_to_one_set() {
        let mut dist = Distributor::new();
        let (a, mut a_peer) = pair(1, 0);
        let (b, mut b_peer) = pair(2, 0);
        let a_key = dist.attach(a);
        let b_key = dist.attach(b);
        dist.mark_matching(b_key);
        dist.send_to_matching(frame(b"head", true));
        // A pipe attached mid-message gets nothing of it, but the next message.
        let (c, mut c_peer) = pair(3, 0);
        dist.attach(c);
        // A pipe that regains credit mid-message waits for the next message too.
        dist.activated(a_key);
        assert_eq!(dist.matching(), 1);
        dist.send_to_matching(frame(b"tail", false));
        dist.unmatch();
        assert_eq!(drain(&mut b_peer), vec![Bytes::from_static(b"head"), Bytes::from_static(b"tail")]);
        assert!(drain(&mut a_peer).is_empty());
        assert!(drain(&mut c_peer).is_empty());
        dist.send_to_all(frame(b"next", false));
        assert_eq!(drain(&mut c_peer).len(), 1);
        assert_eq!(drain(&mut a_peer).len(), 1);
        check_invariants(&dist);
    }

    #[test]
    fn remove_and_reuse_keys() {
        let mut dist = Distributor::new();
        let mut peers = Vec::new();
        let mut keys = Vec::new();
        for id in 1..=5 {
            let (p, peer) = pair(id, 0);
            keys.push(dist.attach(p));
            peers.push(peer);
        }
        dist.mark_matching(keys[3]);
        dist.mark_matching(keys[1]);
        assert!(dist.remove(keys[3]).is_some());
        check_invariants(&dist);
        assert_eq!(dist.matching(), 1);
        assert!(dist.remove(keys[3]).is_none());
        let (p, _peer) = pair(9, 0);
        let reused = dist.attach(p);
        assert_eq!(reused, keys[3]);
        assert_eq!(dist.key(9), Some(reused));
        dist.reverse_match();
        assert_eq!(dist.matching(), 4);
        check_invariants(&dist);
        dist.send_to_matching(frame(b"x", false));
        assert!(drain(&mut peers[1]).is_empty(), "inverted");
        assert_eq!(drain(&mut peers[0]).len(), 1);
    }
}
