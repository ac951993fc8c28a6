//! PUSH and PULL (RFC 30): a pipeline. PUSH load-balances, PULL fair-queues.

use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, ZResult};

use crate::{FairQueue, LoadBalancer};

/// PUSH: sends round robin to peers with room; never receives.
#[derive(Debug, Default)]
pub struct Push {
    lb: LoadBalancer,
}

impl Pattern for Push {
    fn attach(&mut self, pipe: Pipe, _peer: &PeerInfo) {
        self.lb.attach(pipe);
    }
    fn pipe_event(&mut self, id: PipeId) {
        self.lb.pipe_event(id);
    }
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        self.lb.send(msg)
    }
    fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        self.lb.send_from(msg)
    }
    fn recv(&mut self) -> ZResult<Msg> {
        Err(Errno::ENOTSUP)
    }
    fn has_in(&mut self) -> bool {
        false
    }
    fn has_out(&mut self) -> bool {
        self.lb.has_out()
    }
    fn can_recv(&self) -> bool {
        false
    }
}

/// PULL: receives fairly from all peers; never sends.
#[derive(Debug, Default)]
pub struct Pull {
    fq: FairQueue,
}

impl Pattern for Pull {
    fn attach(&mut self, pipe: Pipe, _peer: &PeerInfo) {
        self.fq.attach(pipe);
    }
    fn pipe_event(&mut self, id: PipeId) {
        self.fq.pipe_event(id);
    }
    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        Err((Errno::ENOTSUP, msg))
    }
    fn recv(&mut self) -> ZResult<Msg> {
        self.fq.recv()
    }
    fn recv_into(&mut self, out: &mut Msg) -> ZResult<()> {
        self.fq.recv_into(out).map(|_| ())
    }
    fn has_in(&mut self) -> bool {
        self.fq.has_in()
    }
    fn has_out(&mut self) -> bool {
        false
    }
    fn can_send(&self) -> bool {
        false
    }
}
