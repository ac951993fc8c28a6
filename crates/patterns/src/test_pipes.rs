//! Test helpers shared by the PAIR, XPUB and XSUB unit tests: in-memory pipes into a pattern and
//! readers for what comes out.

use std::sync::Arc;

use bytes::Bytes;
use rustzmq_transport::pipe::{pipe_pair, Notify};
use rustzmq_transport::{Msg, Pattern, PeerInfo, Pipe, PipeId};

struct Quiet;
impl Notify for Quiet {
    fn pipe_event(&self, _id: PipeId) {}
}

/// A pipe into the pattern, and the peer's end.
pub(crate) fn connect(pattern: &mut dyn Pattern, id: PipeId, hwm: u64) -> Pipe {
    let (ours, theirs) = pipe_pair(id, Arc::new(Quiet), Arc::new(Quiet), hwm, 0);
    pattern.attach(ours, &PeerInfo::default());
    theirs
}

pub(crate) fn msg(data: &[u8], more: bool) -> Msg {
    let mut msg = Msg::from_bytes(Bytes::copy_from_slice(data));
    msg.set_more(more);
    msg
}

/// Everything the peer's end has to read.
pub(crate) fn drain(peer: &mut Pipe) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| peer.read()).map(|m| m.data().to_vec()).collect()
}

/// Everything the pattern has to receive.
pub(crate) fn recv_all(pattern: &mut dyn Pattern) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| pattern.recv().ok()).map(|m| m.data().to_vec()).collect()
}
