//! DEALER and ROUTER (RFC 28's asynchronous request-reply sockets), as libzmq 4.3's
//! `dealer.cpp` and `router.cpp` behave.
//!
//! - DEALER load-balances what it sends and fair-queues what it receives, over the same pipes.
//! - ROUTER prefixes every received message with the routing id of the peer it came from, and
//!   takes the first frame of every sent message as the routing id of the peer to send to.
//!
//! [`DealerCore`] and [`RouterCore`] carry the routing logic; REQ and REP
//! ([`crate::req_rep`]) are built on them as libzmq's `req_t` and `rep_t` derive from
//! `dealer_t` and `router_t`.

use std::collections::HashMap;

use bytes::Bytes;
use rustzmq_transport::options::sockopt;
use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, WriteError, ZResult};

use crate::slots::{bool_option, HasPipe, KeyedFairQueue, KeyedLoadBalancer, Slots};
use crate::RoutingIdGenerator;

/// Writes ZMQ_PROBE_ROUTER's empty message into a new pipe (a failure is not an error).
fn send_probe(pipe: &mut Pipe) {
    if pipe.write(Msg::new()).is_ok() {
        pipe.flush();
    }
}

/// DEALER's routing logic: load balancing out, fair queueing in, over the same pipes.
#[derive(Debug, Default)]
pub struct DealerCore {
    pipes: Slots<Pipe>,
    keys: HashMap<PipeId, usize>,
    lb: KeyedLoadBalancer,
    fq: KeyedFairQueue,
    /// Keys whose pipes a structure found closed, to be reaped.
    gone: Vec<usize>,
    /// ZMQ_PROBE_ROUTER.
    probe_router: bool,
}

impl DealerCore {
    /// Adds a pipe to both the load balancer and the fair queue (with PROBE_ROUTER, an empty
    /// message goes to the new peer first, unless the transport already sent it).
    pub fn attach(&mut self, mut pipe: Pipe, peer: &PeerInfo) {
        if self.probe_router && !peer.probed {
            send_probe(&mut pipe);
        }
        let id = pipe.id();
        let key = self.pipes.insert(pipe);
        self.keys.insert(id, key);
        self.lb.attach(key);
        self.fq.attach(key);
    }

    /// Pipe `id` may be readable, writable or closed.
    pub fn pipe_event(&mut self, id: PipeId) {
        let Some(&key) = self.keys.get(&id) else { return };
        let pipe = self.pipes.get_mut(key).expect("keys index stored pipes");
        if pipe.is_peer_gone() {
            self.remove(key);
            return;
        }
        if pipe.is_peer_reader_closed() {
            // Nothing more can be sent; what it sent can still be read.
            self.lb.remove(key);
        } else {
            self.lb.activate(key);
        }
        self.fq.activate(key);
    }

    /// Removes the pipes that were found closed and read dry.
    fn reap(&mut self) {
        while let Some(key) = self.gone.pop() {
            if self.pipes.get_mut(key).is_some_and(|p| p.is_peer_gone()) {
                self.remove(key);
            }
        }
    }

    fn remove(&mut self, key: usize) {
        self.lb.remove(key);
        self.fq.remove(key);
        if let Some(pipe) = self.pipes.remove(key) {
            self.keys.remove(&pipe.id());
        }
    }

    /// Whether pipe `id` is still attached.
    pub fn contains(&self, id: PipeId) -> bool {
        self.keys.contains_key(&id)
    }

    /// Sends a frame (load-balanced); returns the id of the pipe it went to (`None`: dropped
    /// because its pipe went away in the middle of the message).
    pub fn send_pipe(&mut self, msg: Msg) -> Result<Option<PipeId>, (Errno, Msg)> {
        let result = self.lb.send(msg, &mut self.pipes, &mut self.gone);
        let result = result.map(|key| key.and_then(|k| self.pipes.get(k).map(Pipe::id)));
        self.reap();
        result
    }

    /// Receives a frame (fair-queued) with the id of the pipe it came from.
    pub fn recv_pipe(&mut self) -> ZResult<(Msg, PipeId)> {
        let result = self.fq.recv(&mut self.pipes, &mut self.gone);
        let result = result.map(|(msg, key)| (msg, self.pipes.get(key).map_or(0, Pipe::id)));
        self.reap();
        result
    }

    /// [`send_pipe`](Self::send_pipe) taking the frame out of `msg` (left empty) when it is
    /// written or dropped; on error `msg` is untouched.
    pub fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        let result = self.lb.send_from(msg, &mut self.pipes, &mut self.gone);
        self.reap();
        result.map(|_| ())
    }

    /// [`recv_pipe`](Self::recv_pipe) into `out`, which is replaced (on error it is
    /// untouched).
    pub fn recv_into(&mut self, out: &mut Msg) -> ZResult<()> {
        let result = self.fq.recv_into(out, &mut self.pipes, &mut self.gone);
        self.reap();
        result.map(|_| ())
    }

    /// Whether a frame can be received now.
    pub fn has_in(&mut self) -> bool {
        let ready = self.fq.has_in(&mut self.pipes, &mut self.gone);
        self.reap();
        ready
    }

    /// Whether a frame can be sent now.
    pub fn has_out(&mut self) -> bool {
        let ready = self.lb.has_out(&mut self.pipes, &mut self.gone);
        self.reap();
        ready
    }

    /// DEALER's options: ZMQ_PROBE_ROUTER.
    pub fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        match option {
            sockopt::PROBE_ROUTER => self.probe_router = bool_option(value)?,
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }
}

/// DEALER: asynchronous requests to any number of peers.
#[derive(Debug, Default)]
pub struct Dealer {
    core: DealerCore,
}

impl Pattern for Dealer {
    fn attach(&mut self, pipe: Pipe, peer: &PeerInfo) {
        self.core.attach(pipe, peer);
    }
    fn pipe_event(&mut self, id: PipeId) {
        self.core.pipe_event(id);
    }
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        self.core.send_pipe(msg).map(|_| ())
    }
    fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        self.core.send_from(msg)
    }
    fn recv(&mut self) -> ZResult<Msg> {
        self.core.recv_pipe().map(|(msg, _)| msg)
    }
    fn recv_into(&mut self, out: &mut Msg) -> ZResult<()> {
        self.core.recv_into(out)
    }
    fn has_in(&mut self) -> bool {
        self.core.has_in()
    }
    fn has_out(&mut self) -> bool {
        self.core.has_out()
    }
    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        self.core.set_sockopt(option, value)
    }
}

/// A ROUTER's peer.
#[derive(Debug)]
struct Peer {
    pipe: Pipe,
    routing_id: Bytes,
    /// Whether the peer has a routing id in the table (false: a duplicate id, ignored).
    identified: bool,
}

impl HasPipe for Peer {
    fn pipe_mut(&mut self) -> &mut Pipe {
        &mut self.pipe
    }
}

/// ROUTER's routing logic: the routing-id table, fair queueing in with the id prefixed, and
/// sending by id.
#[derive(Default, Debug)]
pub struct RouterCore {
    peers: Slots<Peer>,
    keys: HashMap<PipeId, usize>,
    table: HashMap<Bytes, usize>,
    fq: KeyedFairQueue,
    gone: Vec<usize>,
    /// The first frame of the message whose routing id frame was just returned.
    prefetched: Option<Msg>,
    /// In the middle of returning a multipart message.
    more_in: bool,
    /// The peer the message being returned comes from.
    current_in: Option<usize>,
    /// Drop `current_in` once its message is fully returned (it lost its id to a handover).
    terminate_current_in: bool,
    /// In the middle of sending a multipart message (the routing id frame has been taken).
    more_out: bool,
    /// Where the frames of the message being sent go (`None`: dropped).
    current_out: Option<usize>,
    /// Generated routing ids (libzmq's `_next_integral_routing_id`).
    ids: RoutingIdGenerator,
    /// ZMQ_ROUTER_MANDATORY.
    mandatory: bool,
    /// ZMQ_PROBE_ROUTER.
    probe_router: bool,
    /// ZMQ_ROUTER_HANDOVER.
    handover: bool,
}

impl RouterCore {
    /// A 5-byte routing id: a zero byte, then a big-endian counter that starts at a random
    /// value (ids in use are skipped).
    fn generate_routing_id(&mut self) -> Bytes {
        loop {
            let id = self.ids.generate();
            if !self.table.contains_key(&id) {
                return id;
            }
        }
    }

    /// Adds a pipe under the peer's routing id (libzmq's `identify_peer`): an empty id gets a
    /// generated one; an id in use is taken over with ROUTER_HANDOVER (the old pipe is
    /// dropped), otherwise the new peer is ignored.
    pub fn attach(&mut self, mut pipe: Pipe, peer: &PeerInfo) {
        if self.probe_router && !peer.probed {
            send_probe(&mut pipe);
        }
        let mut routing_id = peer.routing_id.clone();
        let mut identified = true;
        if routing_id.is_empty() {
            routing_id = self.generate_routing_id();
        } else if let Some(&old) = self.table.get(&routing_id) {
            if self.handover {
                self.table.remove(&routing_id);
                if self.current_in == Some(old) {
                    // Its message is being returned: finish it, then drop the pipe.
                    let temporary = self.generate_routing_id();
                    self.table.insert(temporary.clone(), old);
                    if let Some(peer) = self.peers.get_mut(old) {
                        peer.routing_id = temporary;
                    }
                    self.terminate_current_in = true;
                } else {
                    self.remove(old);
                }
            } else {
                identified = false;
            }
        }
        let id = pipe.id();
        let key = self.peers.insert(Peer { pipe, routing_id: routing_id.clone(), identified });
        self.keys.insert(id, key);
        if identified {
            self.table.insert(routing_id, key);
            self.fq.attach(key);
        } else {
            self.drain_ignored(key);
        }
    }

    /// Discards what an ignored peer (one with a duplicate routing id) sends.
    fn drain_ignored(&mut self, key: usize) {
        let Some(peer) = self.peers.get_mut(key) else { return };
        while peer.pipe.read().is_some() {}
        if peer.pipe.is_peer_gone() {
            self.remove(key);
        }
    }

    /// Pipe `id` may be readable, writable or closed.
    pub fn pipe_event(&mut self, id: PipeId) {
        let Some(&key) = self.keys.get(&id) else { return };
        let peer = self.peers.get_mut(key).expect("keys index stored pipes");
        let (identified, peer_gone) = (peer.identified, peer.pipe.is_peer_gone());
        if !identified {
            self.drain_ignored(key);
        } else if peer_gone && self.current_in != Some(key) {
            self.remove(key);
        } else {
            self.fq.activate(key);
        }
    }

    fn remove(&mut self, key: usize) {
        self.fq.remove(key);
        let Some(peer) = self.peers.remove(key) else { return };
        self.keys.remove(&peer.pipe.id());
        if self.table.get(&peer.routing_id) == Some(&key) {
            self.table.remove(&peer.routing_id);
        }
        if self.current_out == Some(key) {
            // The rest of the message being sent is dropped.
            self.current_out = None;
        }
        if self.current_in == Some(key) {
            self.current_in = None;
            self.terminate_current_in = false;
        }
    }

    fn reap(&mut self) {
        while let Some(key) = self.gone.pop() {
            self.remove(key);
        }
    }

    /// The whole message from `current_in` has been returned.
    fn finish_in(&mut self) {
        if let Some(key) = self.current_in.take() {
            if std::mem::take(&mut self.terminate_current_in) {
                self.remove(key);
            }
        }
    }

    /// Receives the next frame: a message starts with its peer's routing id.
    pub fn recv(&mut self) -> ZResult<Msg> {
        if let Some(msg) = self.prefetched.take() {
            self.more_in = msg.more();
            if !self.more_in {
                self.finish_in();
            }
            return Ok(msg);
        }
        let result = self.fq.recv(&mut self.peers, &mut self.gone);
        self.reap();
        let (msg, key) = result?;
        if self.more_in {
            self.more_in = msg.more();
            if !self.more_in {
                self.finish_in();
            }
            return Ok(msg);
        }
        let peer = self.peers.get(key).expect("the fair queue holds stored pipes");
        let mut id = Msg::from_bytes(peer.routing_id.clone());
        id.set_more(true);
        id.set_metadata(msg.metadata().cloned());
        self.current_in = Some(key);
        self.prefetched = Some(msg);
        Ok(id)
    }

    /// Whether a frame can be received now.
    pub fn has_in(&mut self) -> bool {
        if self.more_in || self.prefetched.is_some() {
            return true;
        }
        let ready = self.fq.has_in(&mut self.peers, &mut self.gone);
        self.reap();
        ready
    }

    /// Sends a frame: the first frame of a message names the peer. Unknown peers and peers
    /// at their high-water mark lose the message silently, unless ROUTER_MANDATORY is set
    /// (then EHOSTUNREACH, or EAGAIN for a full peer, and the message is not started).
    pub fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        if !self.more_out {
            // A routing id alone is a malformed message: ignored.
            if !msg.more() {
                return Ok(());
            }
            self.current_out = None;
            match self.table.get(msg.data()).copied() {
                Some(key) => {
                    let pipe = &mut self.peers.get_mut(key).expect("the table holds stored pipes").pipe;
                    if pipe.is_peer_reader_closed() {
                        if self.mandatory {
                            return Err((Errno::EHOSTUNREACH, msg));
                        }
                    } else if !pipe.check_write() {
                        if self.mandatory {
                            return Err((Errno::EAGAIN, msg));
                        }
                    } else {
                        self.current_out = Some(key);
                    }
                }
                None => {
                    if self.mandatory {
                        return Err((Errno::EHOSTUNREACH, msg));
                    }
                }
            }
            self.more_out = true;
            return Ok(());
        }
        self.more_out = msg.more();
        if let Some(key) = self.current_out {
            let pipe = &mut self.peers.get_mut(key).expect("current_out is a stored pipe").pipe;
            match pipe.write(msg) {
                Ok(()) => {
                    if !self.more_out {
                        pipe.flush();
                        self.current_out = None;
                    }
                }
                Err(WriteError::Closed(_) | WriteError::Full(_)) => {
                    // The pipe went away (its room was checked): drop the message.
                    pipe.rollback();
                    self.current_out = None;
                }
            }
        }
        Ok(())
    }

    /// Without ROUTER_MANDATORY a ROUTER can always send (what happens to the message depends
    /// on its peer); with it, only while some peer is below its high-water mark.
    pub fn has_out(&mut self) -> bool {
        if !self.mandatory {
            return true;
        }
        self.peers
            .iter_mut()
            .any(|(_, peer)| peer.identified && !peer.pipe.is_peer_reader_closed() && peer.pipe.check_write())
    }

    /// ROUTER's options: ZMQ_ROUTER_MANDATORY, ZMQ_PROBE_ROUTER, ZMQ_ROUTER_HANDOVER.
    pub fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        match option {
            sockopt::ROUTER_MANDATORY => self.mandatory = bool_option(value)?,
            sockopt::PROBE_ROUTER => self.probe_router = bool_option(value)?,
            sockopt::ROUTER_HANDOVER => self.handover = bool_option(value)?,
            _ => return Err(Errno::EINVAL),
        }
        Ok(())
    }
}

/// ROUTER: routes replies to the peer a request came from, by routing id.
#[derive(Debug, Default)]
pub struct Router {
    core: RouterCore,
}

impl Pattern for Router {
    fn attach(&mut self, pipe: Pipe, peer: &PeerInfo) {
        self.core.attach(pipe, peer);
    }
    fn pipe_event(&mut self, id: PipeId) {
        self.core.pipe_event(id);
    }
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        self.core.send(msg)
    }
    fn recv(&mut self) -> ZResult<Msg> {
        self.core.recv()
    }
    fn has_in(&mut self) -> bool {
        self.core.has_in()
    }
    fn has_out(&mut self) -> bool {
        self.core.has_out()
    }
    fn set_sockopt(&mut self, option: i32, value: &[u8]) -> ZResult<()> {
        self.core.set_sockopt(option, value)
    }
    fn needs_peer_routing_id(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustzmq_transport::pipe::{next_pipe_id, pipe_pair, Notify};

    use super::*;

    struct Quiet;
    impl Notify for Quiet {
        fn pipe_event(&self, _id: PipeId) {}
    }

    /// A pipe pair: the socket's end and the peer's end, with a high-water mark each way.
    fn pipes(hwm: u64) -> (Pipe, Pipe) {
        pipe_pair(next_pipe_id(), Arc::new(Quiet), Arc::new(Quiet), hwm, hwm)
    }

    fn peer(id: &[u8]) -> PeerInfo {
        PeerInfo { routing_id: Bytes::copy_from_slice(id), ..PeerInfo::default() }
    }

    fn frame(data: &[u8], more: bool) -> Msg {
        let mut msg = Msg::from_bytes(Bytes::copy_from_slice(data));
        msg.set_more(more);
        msg
    }

    fn send_to(router: &mut RouterCore, id: &[u8], body: &[u8]) -> Result<(), Errno> {
        router.send(frame(id, true)).map_err(|(e, _)| e)?;
        router.send(frame(body, false)).map_err(|(e, _)| e)
    }

    fn read_all(pipe: &mut Pipe) -> Vec<Bytes> {
        std::iter::from_fn(|| pipe.read().map(Msg::into_bytes)).collect()
    }

    #[test]
    fn dealer_sends_and_receives_in_place() {
        let mut dealer = Dealer::default();
        let mut peer = crate::test_pipes::connect(&mut dealer, next_pipe_id(), 1);
        crate::test_pipes::check_in_place(&mut dealer, &mut peer);
    }

    #[test]
    fn router_prefixes_ids_and_generates_them() {
        let mut router = RouterCore::default();
        let (ours, mut named) = pipes(0);
        router.attach(ours, &peer(b"named"));
        let (ours, mut anonymous) = pipes(0);
        router.attach(ours, &PeerInfo::default());
        named.write(frame(b"hi", false)).unwrap();
        named.flush();
        anonymous.write(frame(b"yo", false)).unwrap();
        anonymous.flush();
        let id = router.recv().unwrap();
        assert!(id.more());
        assert_eq!(id.data(), b"named");
        assert_eq!(router.recv().unwrap().data(), b"hi");
        let generated = router.recv().unwrap().into_bytes();
        assert_eq!(generated.len(), 5);
        assert_eq!(generated[0], 0);
        assert_eq!(router.recv().unwrap().data(), b"yo");
        send_to(&mut router, &generated, b"back").unwrap();
        assert_eq!(read_all(&mut anonymous), vec![Bytes::from_static(b"back")]);
        assert!(read_all(&mut named).is_empty());
    }

    #[test]
    fn duplicate_ids_are_ignored_or_handed_over() {
        for handover in [false, true] {
            let mut router = RouterCore::default();
            router.set_sockopt(sockopt::ROUTER_HANDOVER, &i32::from(handover).to_ne_bytes()).unwrap();
            let (ours, mut first) = pipes(0);
            router.attach(ours, &peer(b"x"));
            let (ours, mut second) = pipes(0);
            router.attach(ours, &peer(b"x"));
            send_to(&mut router, b"x", b"m").unwrap();
            let (winner, loser) = if handover { (&mut second, &mut first) } else { (&mut first, &mut second) };
            assert_eq!(read_all(winner), vec![Bytes::from_static(b"m")]);
            assert!(read_all(loser).is_empty());
            if handover {
                assert!(first.is_peer_reader_closed(), "the old pipe is dropped");
            }
        }
    }

    #[test]
    fn mandatory_reports_unroutable_and_full_peers() {
        let mut router = RouterCore::default();
        assert_eq!(send_to(&mut router, b"nobody", b"m"), Ok(()), "dropped silently");
        router.send(frame(b"lone", false)).unwrap();
        router.set_sockopt(sockopt::ROUTER_MANDATORY, &1i32.to_ne_bytes()).unwrap();
        assert!(!router.has_out(), "no peer");
        assert_eq!(send_to(&mut router, b"nobody", b"m"), Err(Errno::EHOSTUNREACH));
        let (ours, mut theirs) = pipes(1);
        router.attach(ours, &peer(b"p"));
        assert!(router.has_out());
        send_to(&mut router, b"p", b"1").unwrap();
        assert_eq!(send_to(&mut router, b"p", b"2"), Err(Errno::EAGAIN));
        assert!(!router.has_out());
        assert_eq!(read_all(&mut theirs), vec![Bytes::from_static(b"1")]);
        drop(theirs);
        assert_eq!(send_to(&mut router, b"p", b"3"), Err(Errno::EHOSTUNREACH));
        assert_eq!(router.set_sockopt(sockopt::ROUTER_MANDATORY, &[1]), Err(Errno::EINVAL));
        assert_eq!(router.set_sockopt(sockopt::REQ_RELAXED, &1i32.to_ne_bytes()), Err(Errno::EINVAL));
    }

    #[test]
    fn probes_go_to_new_peers_unless_already_sent() {
        let mut dealer = DealerCore::default();
        dealer.set_sockopt(sockopt::PROBE_ROUTER, &1i32.to_ne_bytes()).unwrap();
        let (ours, mut theirs) = pipes(0);
        dealer.attach(ours, &PeerInfo::default());
        assert_eq!(read_all(&mut theirs), vec![Bytes::new()]);
        let (ours, mut theirs) = pipes(0);
        dealer.attach(ours, &PeerInfo { probed: true, ..PeerInfo::default() });
        assert!(read_all(&mut theirs).is_empty());
    }
}
