//! PUB and XPUB (RFC 29; libzmq's `pub_t` and `xpub_t`): publish to the subscribers whose
//! subscriptions match, and learn the subscriptions from the subscribers.
//!
//! Subscriptions arrive from each pipe as one-frame messages `0x01`+prefix (subscribe) or
//! `0x00`+prefix (cancel); the engine turns ZMTP 3.1 SUBSCRIBE/CANCEL commands into this
//! form. They go into a [`MultiTrie`] from prefix to pipes. Sending a message walks its bytes
//! down the trie, marks the pipes found in the [`Distributor`] and writes to them; a pipe at
//! its high-water mark loses the message (unless XPUB_NODROP: then the send fails with
//! EAGAIN). XPUB also hands the subscriptions to the application: a new prefix (or every one,
//! with XPUB_VERBOSE), a prefix nobody holds any more (or every cancel, XPUB_VERBOSER), and
//! any other message a subscriber sends upstream.

use std::collections::VecDeque;

use bytes::Bytes;
use rustzmq_transport::options::sockopt;
use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, ZResult};

use crate::dist::{Distributor, PipeKey};
use crate::trie::{MultiTrie, RmResult};

/// Reads an integer option value (a native `i32`, as `zmq_setsockopt` takes it).
pub(crate) fn int_option(value: &[u8]) -> ZResult<i32> {
    let bytes: [u8; 4] = value.try_into().map_err(|_| Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(bytes))
}

/// A boolean option's value as getsockopt returns it (an int, 0 or 1).
pub(crate) fn bool_option_value(on: bool) -> Vec<u8> {
    i32::from(on).to_ne_bytes().to_vec()
}

/// A subscription message: `flag` (1 subscribe, 0 cancel) followed by the prefix.
pub(crate) fn subscription_msg(flag: u8, prefix: &[u8]) -> Msg {
    let mut body = Vec::with_capacity(prefix.len() + 1);
    body.push(flag);
    body.extend_from_slice(prefix);
    Msg::from_bytes(Bytes::from(body))
}

/// Something for the application to receive (XPUB).
#[derive(Debug)]
struct Pending {
    msg: Msg,
    /// XPUB_MANUAL: receiving this entry makes this pipe (or none) the target of the next
    /// ZMQ_SUBSCRIBE/ZMQ_UNSUBSCRIBE.
    target: Option<Option<PipeId>>,
}

/// XPUB: PUB that also receives the subscriptions (and other upstream messages).
#[derive(Debug)]
pub struct XPub {
    /// A plain PUB: never receives, keeps nothing for the application.
    publisher_only: bool,
    dist: Distributor,
    subscriptions: MultiTrie<PipeKey>,
    /// XPUB_MANUAL: what the subscribers asked for (the application decides what applies).
    manual_subscriptions: MultiTrie<PipeKey>,
    verbose_subs: bool,
    verbose_unsubs: bool,
    manual: bool,
    /// Drop for pipes at their HWM (false with XPUB_NODROP).
    lossy: bool,
    invert_matching: bool,
    welcome: Bytes,
    /// In the middle of sending a multipart message.
    more_send: bool,
    pending: VecDeque<Pending>,
    /// XPUB_MANUAL: the pipe whose subscription was received last.
    last_pipe: Option<PipeKey>,
}

impl Default for XPub {
    fn default() -> Self {
        XPub::new()
    }
}

impl XPub {
    /// An XPUB socket's logic.
    pub fn new() -> XPub {
        XPub {
            publisher_only: false,
            dist: Distributor::new(),
            subscriptions: MultiTrie::new(),
            manual_subscriptions: MultiTrie::new(),
            verbose_subs: false,
            verbose_unsubs: false,
            manual: false,
            lossy: true,
            invert_matching: false,
            welcome: Bytes::new(),
            more_send: false,
            pending: VecDeque::new(),
            last_pipe: None,
        }
    }

    /// The subscriptions in force (prefix → pipes).
    pub fn subscriptions(&self) -> &MultiTrie<PipeKey> {
        &self.subscriptions
    }

    /// The distributor (its pipes and their state).
    pub fn distributor(&self) -> &Distributor {
        &self.dist
    }

    /// Reads everything a pipe has sent upstream.
    fn read_upstream(&mut self, key: PipeKey) {
        while let Some(msg) = self.dist.pipe_mut(key).and_then(Pipe::read) {
            self.on_upstream(key, msg);
        }
    }

    /// One frame from a subscriber. Like libzmq (without ZMQ_ONLY_FIRST_SUBSCRIBE), every
    /// frame starting with 0 or 1 is a subscription change.
    fn on_upstream(&mut self, key: PipeKey, mut msg: Msg) {
        let subscribe = match msg.data().first() {
            Some(1) => true,
            Some(0) => false,
            _ => {
                if !self.publisher_only {
                    self.pending.push_back(Pending { msg, target: None });
                }
                return;
            }
        };
        let topic = &msg.data()[1..];
        let notify = if self.manual {
            if subscribe {
                self.manual_subscriptions.add(topic, key);
            } else {
                self.manual_subscriptions.rm(topic, key);
            }
            true
        } else if subscribe {
            self.subscriptions.add(topic, key) || self.verbose_subs
        } else {
            // libzmq also reports a cancel of a prefix nobody held.
            self.subscriptions.rm(topic, key) != RmResult::ValuesRemain || self.verbose_unsubs
        };
        if notify && !self.publisher_only {
            msg.set_more(false);
            let id = self.dist.pipe_mut(key).map(|p| p.id());
            self.pending.push_back(Pending { msg, target: self.manual.then_some(id) });
        }
    }

    /// A subscriber is gone: its subscriptions are removed and, for the prefixes nobody holds
    /// any more (all of its prefixes with XPUB_VERBOSER or XPUB_MANUAL), the application
    /// receives a cancel.
    fn terminate(&mut self, key: PipeKey) {
        let publisher_only = self.publisher_only;
        let manual = self.manual;
        let pending = &mut self.pending;
        let mut notify = |prefix: &[u8]| {
            if !publisher_only {
                pending.push_back(Pending { msg: subscription_msg(0, prefix), target: manual.then_some(None) });
            }
        };
        if manual {
            self.manual_subscriptions.rm_key(key, false, &mut notify);
            self.subscriptions.rm_key(key, false, |_| {});
        } else {
            self.subscriptions.rm_key(key, !self.verbose_unsubs, &mut notify);
        }
        if self.last_pipe == Some(key) {
            self.last_pipe = None;
        }
        self.dist.remove(key);
    }

    /// Reads upstream traffic, then drops the pipe if its peer is gone or re-activates it
    /// if it has room again.
    fn on_pipe_event(&mut self, key: PipeKey) {
        self.read_upstream(key);
        if self.dist.pipe_mut(key).is_some_and(|p| p.is_peer_gone()) {
            self.terminate(key);
        } else {
            self.dist.activate_if_writable(key);
        }
    }
}

impl Pattern for XPub {
    fn attach(&mut self, pipe: Pipe, _peer: &PeerInfo) {
        let key = self.dist.attach(pipe);
        if !self.welcome.is_empty() {
            if let Some(pipe) = self.dist.pipe_mut(key) {
                if pipe.write(Msg::from_bytes(self.welcome.clone())).is_ok() {
                    pipe.flush();
                }
            }
        }
        // The pipe may already hold subscriptions (inproc, or a session that read ahead).
        self.on_pipe_event(key);
    }

    fn pipe_event(&mut self, id: PipeId) {
        if let Some(key) = self.dist.key(id) {
            self.on_pipe_event(key);
        }
    }

    fn send(&mut self, mut msg: Msg) -> Result<(), (Errno, Msg)> {
        self.send_from(&mut msg).map_err(|error| (error, msg))
    }

    fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        let more = msg.more();
        if !self.more_send {
            // Nothing left marked by an earlier attempt that failed (XPUB_NODROP).
            self.dist.unmatch();
            let XPub { subscriptions, dist, .. } = self;
            subscriptions.match_prefixes(msg.data(), |key| dist.mark_matching(key));
            if self.invert_matching {
                self.dist.reverse_match();
            }
        }
        if !self.lossy && !self.dist.check_hwm() {
            return Err(Errno::EAGAIN);
        }
        self.dist.send_to_matching_from(msg);
        if !more {
            self.dist.unmatch();
        }
        self.more_send = more;
        Ok(())
    }

    fn recv(&mut self) -> ZResult<Msg> {
        if self.publisher_only {
            return Err(Errno::ENOTSUP);
        }
        let pending = self.pending.pop_front().ok_or(Errno::EAGAIN)?;
        if self.manual {
            if let Some(target) = pending.target {
                self.last_pipe = target.and_then(|id| self.dist.key(id));
            }
        }
        Ok(pending.msg)
    }

    fn has_in(&mut self) -> bool {
        !self.publisher_only && !self.pending.is_empty()
    }

    fn has_out(&mut self) -> bool {
        // Sending never blocks on a slow subscriber (libzmq's dist_t::has_out).
        true
    }

    fn can_recv(&self) -> bool {
        !self.publisher_only
    }

    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        match option {
            sockopt::XPUB_VERBOSE | sockopt::XPUB_VERBOSER | sockopt::XPUB_NODROP | sockopt::XPUB_MANUAL => {
                let value = int_option(value)?;
                if value < 0 {
                    return Err(Errno::EINVAL);
                }
                let on = value != 0;
                match option {
                    sockopt::XPUB_VERBOSE => {
                        self.verbose_subs = on;
                        self.verbose_unsubs = false;
                    }
                    sockopt::XPUB_VERBOSER => {
                        self.verbose_subs = on;
                        self.verbose_unsubs = on;
                    }
                    sockopt::XPUB_NODROP => self.lossy = !on,
                    _ => self.manual = on,
                }
            }
            sockopt::SUBSCRIBE | sockopt::UNSUBSCRIBE if self.manual => {
                if let Some(key) = self.last_pipe {
                    if option == sockopt::SUBSCRIBE {
                        self.subscriptions.add(value, key);
                    } else {
                        self.subscriptions.rm(value, key);
                    }
                }
            }
            sockopt::XPUB_WELCOME_MSG => self.welcome = Bytes::copy_from_slice(value),
            sockopt::INVERT_MATCHING => self.invert_matching = int_option(value)? != 0,
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }

    fn get_sockopt(&self, option: i32) -> ZResult<Vec<u8>> {
        match option {
            sockopt::INVERT_MATCHING => Ok(bool_option_value(self.invert_matching)),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// PUB: sends to the matching subscribers, never receives (ENOTSUP), always writable. It
/// takes XPUB's options (XPUB_NODROP, XPUB_WELCOME_MSG...) as libzmq's PUB does.
#[derive(Debug)]
pub struct Pub(XPub);

impl Default for Pub {
    fn default() -> Self {
        Pub::new()
    }
}

impl Pub {
    /// A PUB socket's logic.
    pub fn new() -> Pub {
        Pub(XPub { publisher_only: true, ..XPub::new() })
    }

    /// The subscriptions in force (prefix → pipes).
    pub fn subscriptions(&self) -> &MultiTrie<PipeKey> {
        self.0.subscriptions()
    }

    /// The distributor (its pipes and their state).
    pub fn distributor(&self) -> &Distributor {
        self.0.distributor()
    }
}

impl Pattern for Pub {
    fn attach(&mut self, pipe: Pipe, peer: &PeerInfo) {
        self.0.attach(pipe, peer);
    }
    fn pipe_event(&mut self, id: PipeId) {
        self.0.pipe_event(id);
    }
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        self.0.send(msg)
    }
    fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        self.0.send_from(msg)
    }
    fn recv(&mut self) -> ZResult<Msg> {
        Err(Errno::ENOTSUP)
    }
    fn has_in(&mut self) -> bool {
        false
    }
    fn has_out(&mut self) -> bool {
        true
    }
    fn can_recv(&self) -> bool {
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

    /// The subscriber sends one frame upstream; the socket is told.
    fn upstream(pattern: &mut dyn Pattern, peer: &mut Pipe, data: &[u8]) {
        peer.write(msg(data, false)).unwrap();
        peer.flush();
        pattern.pipe_event(peer.id());
    }

    fn on(option: i32, pattern: &mut dyn Pattern) {
        pattern.set_sockopt(option, &1i32.to_ne_bytes()).unwrap();
    }

    #[test]
    fn pub_sends_by_prefix_and_multipart_whole() {
        let mut publisher = Pub::new();
        let mut a = connect(&mut publisher, 1, 0);
        let mut b = connect(&mut publisher, 2, 0);
        upstream(&mut publisher, &mut a, b"\x01ab");
        upstream(&mut publisher, &mut b, b"\x01");
        for data in [&b"abc"[..], b"xyz", b"a", b"ab"] {
            publisher.send(msg(data, false)).unwrap();
        }
        publisher.send(msg(b"ab-head", true)).unwrap();
        publisher.send(msg(b"zz-tail", false)).unwrap();
        assert_eq!(drain(&mut a), [&b"abc"[..], b"ab", b"ab-head", b"zz-tail"]);
        assert_eq!(drain(&mut b), [&b"abc"[..], b"xyz", b"a", b"ab", b"ab-head", b"zz-tail"]);
        assert_eq!(publisher.recv(), Err(Errno::ENOTSUP));
        assert!(!publisher.can_recv() && publisher.has_out() && !publisher.has_in());
        // Nobody subscribed: dropped, and the publisher goes on.
        upstream(&mut publisher, &mut b, b"\x00");
        publisher.send(msg(b"xyz", false)).unwrap();
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn xpub_reports_new_and_last_subscriptions() {
        let mut xpub = XPub::new();
        let mut a = connect(&mut xpub, 1, 0);
        let mut b = connect(&mut xpub, 2, 0);
        upstream(&mut xpub, &mut a, b"\x01t");
        upstream(&mut xpub, &mut a, b"\x01t");
        upstream(&mut xpub, &mut b, b"\x01t");
        upstream(&mut xpub, &mut b, b"\x01u");
        assert_eq!(recv_all(&mut xpub), [b"\x01t", b"\x01u"]);
        upstream(&mut xpub, &mut a, b"\x00t");
        assert!(recv_all(&mut xpub).is_empty(), "b still holds t");
        upstream(&mut xpub, &mut b, b"\x00t");
        upstream(&mut xpub, &mut b, b"\x00never");
        assert_eq!(recv_all(&mut xpub), [&b"\x00t"[..], b"\x00never"], "libzmq reports an unknown cancel too");
        // Other upstream traffic reaches the application, frames and all.
        a.write(msg(b"\x02hello", true)).unwrap();
        a.write(msg(b"world", false)).unwrap();
        a.flush();
        xpub.pipe_event(1);
        let first = xpub.recv().unwrap();
        assert!(first.more());
        assert_eq!(xpub.recv().unwrap().data(), b"world");
        // A subscriber that goes away cancels what only it held.
        upstream(&mut xpub, &mut a, b"\x01u");
        drop(b);
        xpub.pipe_event(2);
        assert!(recv_all(&mut xpub).is_empty(), "a still holds u");
        drop(a);
        xpub.pipe_event(1);
        assert_eq!(recv_all(&mut xpub), [b"\x00u"]);
        assert!(xpub.distributor().is_empty());
        assert!(xpub.subscriptions().is_empty());
    }

    #[test]
    fn xpub_verbose_and_verboser() {
        let mut xpub = XPub::new();
        on(sockopt::XPUB_VERBOSE, &mut xpub);
        let mut a = connect(&mut xpub, 1, 0);
        upstream(&mut xpub, &mut a, b"\x01t");
        upstream(&mut xpub, &mut a, b"\x01t");
        let mut b = connect(&mut xpub, 2, 0);
        upstream(&mut xpub, &mut b, b"\x01t");
        assert_eq!(recv_all(&mut xpub).len(), 3);
        upstream(&mut xpub, &mut a, b"\x00t");
        assert!(recv_all(&mut xpub).is_empty(), "VERBOSE passes subscribes only");
        on(sockopt::XPUB_VERBOSER, &mut xpub);
        upstream(&mut xpub, &mut a, b"\x01t");
        upstream(&mut xpub, &mut a, b"\x00t");
        assert_eq!(recv_all(&mut xpub), [b"\x01t", b"\x00t"]);
        upstream(&mut xpub, &mut b, b"\x01v");
        drop(recv_all(&mut xpub));
        drop(b);
        xpub.pipe_event(2);
        assert_eq!(recv_all(&mut xpub), [b"\x00t", b"\x00v"], "VERBOSER reports all of a gone subscriber's");
        assert_eq!(xpub.set_sockopt(sockopt::XPUB_VERBOSE, &[1]), Err(Errno::EINVAL));
        assert_eq!(xpub.set_sockopt(sockopt::XPUB_VERBOSE, &(-1i32).to_ne_bytes()), Err(Errno::EINVAL));
        assert_eq!(xpub.set_sockopt(sockopt::SUBSCRIBE, b"x"), Err(Errno::EINVAL), "not manual");
        assert_eq!(xpub.set_sockopt(sockopt::CONFLATE, &1i32.to_ne_bytes()), Err(Errno::EINVAL));
    }

    #[test]
    fn xpub_manual_applies_what_the_application_says() {
        let mut xpub = XPub::new();
        on(sockopt::XPUB_MANUAL, &mut xpub);
        let mut a = connect(&mut xpub, 1, 0);
        let mut b = connect(&mut xpub, 2, 0);
        upstream(&mut xpub, &mut a, b"\x01news");
        upstream(&mut xpub, &mut b, b"\x01news");
        assert_eq!(xpub.recv().unwrap().data(), b"\x01news");
        // The subscription is a's: the application maps it to another prefix.
        xpub.set_sockopt(sockopt::SUBSCRIBE, b"sport").unwrap();
        assert_eq!(xpub.recv().unwrap().data(), b"\x01news", "manual: duplicates pass");
        xpub.send(msg(b"news 1", false)).unwrap();
        xpub.send(msg(b"sport 1", false)).unwrap();
        assert_eq!(drain(&mut a), [b"sport 1"]);
        assert!(drain(&mut b).is_empty());
        xpub.set_sockopt(sockopt::SUBSCRIBE, b"news").unwrap();
        xpub.send(msg(b"news 2", false)).unwrap();
        assert_eq!(drain(&mut b), [b"news 2"]);
        xpub.set_sockopt(sockopt::UNSUBSCRIBE, b"news").unwrap();
        xpub.send(msg(b"news 3", false)).unwrap();
        assert!(drain(&mut b).is_empty());
        // A gone subscriber's manual subscriptions come back as cancels; SUBSCRIBE then has
        // no target.
        drop(a);
        xpub.pipe_event(1);
        assert_eq!(recv_all(&mut xpub), [b"\x00news"]);
        xpub.set_sockopt(sockopt::SUBSCRIBE, b"").unwrap();
        xpub.send(msg(b"anything", false)).unwrap();
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn welcome_message_to_each_new_subscriber() {
        let mut xpub = XPub::new();
        xpub.set_sockopt(sockopt::XPUB_WELCOME_MSG, b"W").unwrap();
        let mut a = connect(&mut xpub, 1, 0);
        let mut b = connect(&mut xpub, 2, 0);
        assert_eq!(drain(&mut a), [b"W"]);
        assert_eq!(drain(&mut b), [b"W"]);
        xpub.set_sockopt(sockopt::XPUB_WELCOME_MSG, b"").unwrap();
        let mut c = connect(&mut xpub, 3, 0);
        assert!(drain(&mut c).is_empty());
    }

    #[test]
    fn slow_subscriber_loses_messages_alone() {
        let mut publisher = Pub::new();
        let mut slow = connect(&mut publisher, 1, 2);
        let mut fast = connect(&mut publisher, 2, 0);
        upstream(&mut publisher, &mut slow, b"\x01");
        upstream(&mut publisher, &mut fast, b"\x01");
        for i in 0..10u8 {
            publisher.send(msg(&[i], false)).unwrap();
        }
        assert_eq!(drain(&mut fast).len(), 10);
        assert_eq!(drain(&mut slow), [[0], [1]]);
        // The slow one read: credit returned, it gets new messages again.
        publisher.pipe_event(1);
        publisher.send(msg(b"x", true)).unwrap();
        publisher.send(msg(b"y", false)).unwrap();
        assert_eq!(drain(&mut slow), [b"x", b"y"]);
    }

    #[test]
    fn nodrop_refuses_instead_of_dropping() {
        let mut xpub = XPub::new();
        on(sockopt::XPUB_NODROP, &mut xpub);
        let mut a = connect(&mut xpub, 1, 2);
        upstream(&mut xpub, &mut a, b"\x01");
        xpub.send(msg(b"1", false)).unwrap();
        xpub.send(msg(b"2", false)).unwrap();
        let (error, back) = xpub.send(msg(b"3", false)).unwrap_err();
        assert_eq!((error, back.data()), (Errno::EAGAIN, &b"3"[..]));
        assert!(xpub.has_out(), "POLLOUT stays set, as in libzmq");
        assert_eq!(drain(&mut a).len(), 2);
        xpub.pipe_event(1);
        xpub.send(back).unwrap();
        assert_eq!(drain(&mut a), [b"3"]);
    }

    #[test]
    fn invert_matching_sends_to_the_others() {
        let mut publisher = Pub::new();
        on(sockopt::INVERT_MATCHING, &mut publisher);
        assert_eq!(publisher.get_sockopt(sockopt::INVERT_MATCHING).unwrap(), 1i32.to_ne_bytes());
        let mut a = connect(&mut publisher, 1, 0);
        let mut b = connect(&mut publisher, 2, 0);
        let mut c = connect(&mut publisher, 3, 0);
        upstream(&mut publisher, &mut a, b"\x01a");
        upstream(&mut publisher, &mut b, b"\x01b");
        publisher.send(msg(b"a1", false)).unwrap();
        publisher.send(msg(b"b1", false)).unwrap();
        assert_eq!(drain(&mut a), [b"b1"]);
        assert_eq!(drain(&mut b), [b"a1"]);
        assert_eq!(drain(&mut c), [b"a1", b"b1"], "no subscription at all: everything");
    }
}
