//! SUB and XSUB (RFC 29; libzmq's `sub_t` and `xsub_t`): receive from publishers, tell them
//! what to send.
//!
//! The subscriptions are counted in a [`Trie`]; a change goes upstream to every publisher
//! (through a [`Distributor`], so a publisher whose pipe is full misses it, as in libzmq)
//! only when it matters there: the first subscription of a prefix and the cancel of its last
//! one. Each new pipe, and each pipe whose connection was re-established (a *hiccup*), gets
//! all the current subscriptions. Received messages are fair-queued; SUB also drops those
//! that match none of its own subscriptions (or, with INVERT_MATCHING, those that match).
//! XSUB sends whatever the application sends: `0x01`/`0x00`+prefix frames change the
//! subscriptions, anything else goes upstream as it is.

use rustzmq_transport::options::sockopt;
use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, ZResult};

use crate::dist::{Distributor, PipeKey};
use crate::trie::Trie;
use crate::xpub::{bool_option_value, int_option, subscription_msg};

/// Round robin over the keys of the pipes that may have messages (the pipes themselves live
/// in the distributor). Same layout as the fair queue: `keys[..active]` are worth trying.
#[derive(Debug, Default)]
struct InQueue {
    keys: Vec<PipeKey>,
    active: usize,
    current: usize,
}

impl InQueue {
    fn attach(&mut self, key: PipeKey) {
        self.keys.push(key);
        let last = self.keys.len() - 1;
        self.keys.swap(self.active, last);
        self.active += 1;
    }

    fn activate(&mut self, key: PipeKey) {
        if let Some(at) = self.keys.iter().position(|&k| k == key) {
            if at >= self.active {
                self.keys.swap(at, self.active);
                self.active += 1;
            }
        }
    }

    fn deactivate(&mut self, at: usize) {
        self.active -= 1;
        self.keys.swap(at, self.active);
        if self.current >= self.active {
            self.current = 0;
        }
    }

    fn remove(&mut self, key: PipeKey) {
        let Some(mut at) = self.keys.iter().position(|&k| k == key) else { return };
        if at < self.active {
            self.deactivate(at);
            at = self.active;
        }
        self.keys.swap_remove(at);
        if self.current >= self.active {
            self.current = 0;
        }
    }

    fn advance(&mut self) {
        self.current = (self.current + 1) % self.active.max(1);
    }
}

/// XSUB: subscriptions are messages the application sends; receives everything the
/// publishers send (they filter).
#[derive(Debug)]
pub struct XSub {
    /// SUB: filter received messages, subscriptions through options only, no send.
    filter: bool,
    /// Upstream: subscriptions and messages to every publisher. Owns the pipes.
    dist: Distributor,
    inbound: InQueue,
    subscriptions: Trie,
    invert_matching: bool,
    /// A first frame `has_in` took to check it against the subscriptions.
    prefetched: Option<Msg>,
    /// In the middle of receiving a multipart message.
    more_recv: bool,
    /// In the middle of sending a multipart message upstream.
    more_send: bool,
    /// Hiccups that came in the middle of a multipart message going upstream.
    deferred_hiccups: Vec<PipeId>,
}

impl Default for XSub {
    fn default() -> Self {
        XSub::new()
    }
}

impl XSub {
    /// An XSUB socket's logic.
    pub fn new() -> XSub {
        XSub {
            filter: false,
            dist: Distributor::new(),
            inbound: InQueue::default(),
            subscriptions: Trie::new(),
            invert_matching: false,
            prefetched: None,
            more_recv: false,
            more_send: false,
            deferred_hiccups: Vec::new(),
        }
    }

    /// The subscriptions in force.
    pub fn subscriptions(&self) -> &Trie {
        &self.subscriptions
    }

    /// Writes every current subscription into one pipe (a new peer, or a reconnected one).
    /// Those that do not fit under the HWM are lost, as in libzmq.
    fn send_all_subscriptions(&mut self, key: PipeKey) {
        let XSub { dist, subscriptions, .. } = self;
        let Some(pipe) = dist.pipe_mut(key) else { return };
        subscriptions.for_each(|prefix| {
            let _ = pipe.write(subscription_msg(1, prefix));
        });
        pipe.flush();
    }

    fn remove_pipe(&mut self, key: PipeKey) {
        self.inbound.remove(key);
        self.dist.remove(key);
    }

    /// The next frame from the publishers, round robin, a whole message from one pipe.
    fn fair_recv(&mut self) -> Option<Msg> {
        let mut msg = Msg::new();
        self.fair_recv_into(&mut msg).then_some(msg)
    }

    /// [`fair_recv`](Self::fair_recv) into `out`, which is replaced; `false` (and `out`
    /// untouched) when no publisher has a message.
    fn fair_recv_into(&mut self, out: &mut Msg) -> bool {
        while self.inbound.active > 0 {
            // Waiting a moment on the only publisher with messages holds up nobody.
            let patient = self.inbound.active == 1;
            let key = self.inbound.keys[self.inbound.current];
            let Some(pipe) = self.dist.pipe_mut(key) else {
                self.inbound.remove(key);
                continue;
            };
            if pipe.read_into(out, patient) {
                if !out.more() {
                    self.inbound.advance();
                }
                return true;
            }
            // Messages are published whole: an empty pipe is between messages.
            if pipe.is_peer_gone() {
                self.remove_pipe(key);
            } else {
                self.inbound.deactivate(self.inbound.current);
            }
        }
        false
    }

    /// Drops the rest of a message whose first frame was filtered out.
    fn skip_rest(&mut self, mut more: bool) {
        while more {
            match self.fair_recv() {
                Some(frame) => more = frame.more(),
                None => return,
            }
        }
    }

    #[inline]
    fn matches(&self, msg: &Msg) -> bool {
        self.subscriptions.check(msg.data()) ^ self.invert_matching
    }

    /// Sends one frame upstream, applying subscription changes on the way (libzmq's
    /// `xsub_t::xsend`: every frame starting with 0 or 1 is one).
    fn send_upstream(&mut self, msg: Msg) {
        let more = msg.more();
        self.more_send = more;
        let data = msg.data();
        match data.first() {
            Some(1) => {
                self.subscriptions.add(&data[1..]);
                self.dist.send_to_all(msg);
            }
            // The publishers hear of a cancel only when the last subscription goes. (A frame
            // ending a multipart message goes anyway, so that the message stays whole.)
            Some(0) => {
                if self.subscriptions.rm(&data[1..]) || self.dist.is_sending_more() {
                    self.dist.send_to_all(msg);
                }
            }
            _ => self.dist.send_to_all(msg),
        }
        if !more && !self.deferred_hiccups.is_empty() {
            for id in std::mem::take(&mut self.deferred_hiccups) {
                self.hiccuped(id);
            }
        }
    }
}

impl Pattern for XSub {
    fn attach(&mut self, pipe: Pipe, _peer: &PeerInfo) {
        let key = self.dist.attach(pipe);
        self.inbound.attach(key);
        self.send_all_subscriptions(key);
    }

    fn pipe_event(&mut self, id: PipeId) {
        let Some(key) = self.dist.key(id) else { return };
        if self.dist.pipe_mut(key).is_some_and(|p| p.is_peer_gone()) {
            self.remove_pipe(key);
            return;
        }
        self.inbound.activate(key);
        self.dist.activate_if_writable(key);
    }

    fn hiccuped(&mut self, id: PipeId) {
        let Some(key) = self.dist.key(id) else { return };
        if self.dist.is_sending_more() {
            // Not in the middle of a message on that pipe: after it.
            self.deferred_hiccups.push(id);
        } else {
            self.send_all_subscriptions(key);
        }
    }

    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        if self.filter {
            return Err((Errno::ENOTSUP, msg));
        }
        self.send_upstream(msg);
        Ok(())
    }

    fn recv(&mut self) -> ZResult<Msg> {
        let mut msg = Msg::new();
        self.recv_into(&mut msg)?;
        Ok(msg)
    }

    fn recv_into(&mut self, out: &mut Msg) -> ZResult<()> {
        if let Some(msg) = self.prefetched.take() {
            self.more_recv = msg.more();
            *out = msg;
            return Ok(());
        }
        let mut skipped = false;
        loop {
            if !self.fair_recv_into(out) {
                if skipped {
                    // `out` holds a frame that was filtered out: leave it empty, as libzmq
                    // leaves a message after EAGAIN.
                    *out = Msg::new();
                }
                return Err(Errno::EAGAIN);
            }
            if self.more_recv || !self.filter || self.matches(out) {
                self.more_recv = out.more();
                return Ok(());
            }
            skipped = true;
            self.skip_rest(out.more());
        }
    }

    fn has_in(&mut self) -> bool {
        if self.more_recv || self.prefetched.is_some() {
            return true;
        }
        loop {
            let Some(msg) = self.fair_recv() else { return false };
            if !self.filter || self.matches(&msg) {
                self.prefetched = Some(msg);
                return true;
            }
            self.skip_rest(msg.more());
        }
    }

    fn has_out(&mut self) -> bool {
        // Subscriptions can always be sent (they are dropped for a full pipe).
        !self.filter
    }

    fn can_send(&self) -> bool {
        !self.filter
    }

    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        match option {
            sockopt::SUBSCRIBE | sockopt::UNSUBSCRIBE if self.filter => {
                let flag = u8::from(option == sockopt::SUBSCRIBE);
                self.send_upstream(subscription_msg(flag, value));
                Ok(())
            }
            sockopt::INVERT_MATCHING => {
                self.invert_matching = int_option(value)? != 0;
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn get_sockopt(&self, option: i32) -> ZResult<Vec<u8>> {
        match option {
            sockopt::INVERT_MATCHING => Ok(bool_option_value(self.invert_matching)),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// SUB: subscribes with ZMQ_SUBSCRIBE/ZMQ_UNSUBSCRIBE, receives the matching messages, never
/// sends (ENOTSUP).
#[derive(Debug)]
pub struct Sub(XSub);

impl Default for Sub {
    fn default() -> Self {
        Sub::new()
    }
}

impl Sub {
    /// A SUB socket's logic.
    pub fn new() -> Sub {
        Sub(XSub { filter: true, ..XSub::new() })
    }

    /// The subscriptions in force.
    pub fn subscriptions(&self) -> &Trie {
        self.0.subscriptions()
    }
}

impl Pattern for Sub {
    fn attach(&mut self, pipe: Pipe, peer: &PeerInfo) {
        self.0.attach(pipe, peer);
    }
    fn pipe_event(&mut self, id: PipeId) {
        self.0.pipe_event(id);
    }
    fn hiccuped(&mut self, id: PipeId) {
        self.0.hiccuped(id);
    }
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        Err((Errno::ENOTSUP, msg))
    }
    fn recv(&mut self) -> ZResult<Msg> {
        self.0.recv()
    }
    fn recv_into(&mut self, out: &mut Msg) -> ZResult<()> {
        self.0.recv_into(out)
    }
    fn has_in(&mut self) -> bool {
        self.0.has_in()
    }
    fn has_out(&mut self) -> bool {
        false
    }
    fn can_send(&self) -> bool {
        false
    }
    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        self.0.set_sockopt(option, value)
    }
    fn get_sockopt(&self, option: i32) -> ZResult<Vec<u8>> {
        self.0.get_sockopt(option)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pipes::{connect, drain, msg, recv_all};

    fn publish(pattern: &mut dyn Pattern, peer: &mut Pipe, frames: &[&[u8]]) {
        for (i, frame) in frames.iter().enumerate() {
            peer.write(msg(frame, i + 1 < frames.len())).unwrap();
        }
        peer.flush();
        pattern.pipe_event(peer.id());
    }

    #[test]
    fn sub_counts_subscriptions_and_tells_each_publisher() {
        let mut sub = Sub::new();
        let mut early = connect(&mut sub, 1, 0);
        sub.set_sockopt(sockopt::SUBSCRIBE, b"abc").unwrap();
        sub.set_sockopt(sockopt::SUBSCRIBE, b"abc").unwrap();
        sub.set_sockopt(sockopt::SUBSCRIBE, b"").unwrap();
        assert_eq!(drain(&mut early), [&b"\x01abc"[..], b"\x01abc", b"\x01"]);
        // A new publisher gets each prefix once.
        let mut late = connect(&mut sub, 2, 0);
        assert_eq!(drain(&mut late), [&b"\x01"[..], b"\x01abc"]);
        sub.set_sockopt(sockopt::UNSUBSCRIBE, b"abc").unwrap();
        assert!(drain(&mut early).is_empty(), "one subscription of abc remains");
        sub.set_sockopt(sockopt::UNSUBSCRIBE, b"abc").unwrap();
        sub.set_sockopt(sockopt::UNSUBSCRIBE, b"never").unwrap();
        assert_eq!(drain(&mut early), [b"\x00abc"]);
        assert_eq!(drain(&mut late), [b"\x00abc"]);
        // After a reconnection the publisher hears everything again.
        sub.hiccuped(2);
        assert_eq!(drain(&mut late), [b"\x01"]);
        assert_eq!(sub.send(msg(b"x", false)).unwrap_err().0, Errno::ENOTSUP);
        assert!(!sub.has_out() && !sub.can_send());
        assert_eq!(sub.set_sockopt(sockopt::XPUB_VERBOSE, &1i32.to_ne_bytes()), Err(Errno::EINVAL));
    }

    #[test]
    fn sub_filters_what_it_receives() {
        let mut sub = Sub::new();
        let mut publisher = connect(&mut sub, 1, 0);
        sub.set_sockopt(sockopt::SUBSCRIBE, b"a").unwrap();
        publish(&mut sub, &mut publisher, &[b"a1"]);
        publish(&mut sub, &mut publisher, &[b"b1"]);
        publish(&mut sub, &mut publisher, &[b"b2", b"a-tail"]);
        publish(&mut sub, &mut publisher, &[b"a2", b"b-tail"]);
        assert!(sub.has_in());
        assert_eq!(recv_all(&mut sub), [&b"a1"[..], b"a2", b"b-tail"]);
        assert!(!sub.has_in());
        assert_eq!(sub.get_sockopt(sockopt::INVERT_MATCHING).unwrap(), 0i32.to_ne_bytes());
        sub.set_sockopt(sockopt::INVERT_MATCHING, &1i32.to_ne_bytes()).unwrap();
        assert_eq!(sub.get_sockopt(sockopt::INVERT_MATCHING).unwrap(), 1i32.to_ne_bytes());
        publish(&mut sub, &mut publisher, &[b"a3"]);
        publish(&mut sub, &mut publisher, &[b"b3"]);
        assert_eq!(recv_all(&mut sub), [b"b3"]);
    }

    #[test]
    fn sub_receives_in_place() {
        let mut sub = Sub::new();
        let mut publisher = connect(&mut sub, 1, 0);
        sub.set_sockopt(sockopt::SUBSCRIBE, b"a").unwrap();
        let mut out = msg(b"old", false);
        assert_eq!(sub.recv_into(&mut out), Err(Errno::EAGAIN));
        assert_eq!(out.data(), b"old", "nothing read: untouched");
        publish(&mut sub, &mut publisher, &[b"a1", b"tail"]);
        publish(&mut sub, &mut publisher, &[b"b1"]);
        sub.recv_into(&mut out).unwrap();
        assert_eq!((out.data(), out.more()), (&b"a1"[..], true));
        sub.recv_into(&mut out).unwrap();
        assert_eq!((out.data(), out.more()), (&b"tail"[..], false));
        assert_eq!(sub.recv_into(&mut out), Err(Errno::EAGAIN));
        assert!(out.data().is_empty(), "a filtered-out frame passed through: left empty, as libzmq");
    }

    #[test]
    fn xsub_forwards_and_does_not_filter() {
        let mut xsub = XSub::new();
        let mut publisher = connect(&mut xsub, 1, 0);
        for frame in [&b"\x01t"[..], b"\x01t", b"\x00t", b"\x00zz", b"\x02hello", b""] {
            xsub.send(msg(frame, false)).unwrap();
        }
        assert_eq!(drain(&mut publisher), [&b"\x01t"[..], b"\x01t", b"\x02hello", b""], "cancels wait for the last");
        xsub.send(msg(b"\x00t", false)).unwrap();
        assert_eq!(drain(&mut publisher), [b"\x00t"]);
        xsub.send(msg(b"head", true)).unwrap();
        xsub.send(msg(b"\x00unknown", false)).unwrap();
        assert_eq!(drain(&mut publisher), [&b"head"[..], b"\x00unknown"], "a message stays whole");
        publish(&mut xsub, &mut publisher, &[b"anything"]);
        assert_eq!(recv_all(&mut xsub), [b"anything"]);
        assert_eq!(xsub.set_sockopt(sockopt::SUBSCRIBE, b"x"), Err(Errno::EINVAL), "as libzmq's XSUB");
        assert!(xsub.has_out());
    }

    #[test]
    fn fair_queue_and_gone_publishers() {
        let mut sub = Sub::new();
        sub.set_sockopt(sockopt::SUBSCRIBE, b"").unwrap();
        let mut a = connect(&mut sub, 1, 0);
        let mut b = connect(&mut sub, 2, 0);
        publish(&mut sub, &mut a, &[b"a1"]);
        publish(&mut sub, &mut a, &[b"a2"]);
        publish(&mut sub, &mut b, &[b"b1", b"b1+"]);
        let got = recv_all(&mut sub);
        assert_eq!(got.len(), 4);
        assert_eq!(got.iter().position(|m| m == b"b1").unwrap() + 1, got.iter().position(|m| m == b"b1+").unwrap());
        publish(&mut sub, &mut a, &[b"last words"]);
        drop(a);
        sub.pipe_event(1);
        assert_eq!(recv_all(&mut sub), [b"last words"], "what was sent is read before the pipe goes");
        sub.pipe_event(1);
        assert_eq!(sub.0.dist.len(), 1);
        drop(b);
        sub.pipe_event(2);
        assert!(sub.0.dist.is_empty());
    }
}
