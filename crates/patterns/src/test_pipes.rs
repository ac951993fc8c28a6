//! Test helpers shared by the patterns' unit tests: in-memory pipes into a pattern and
//! readers for what comes out.

use std::sync::Arc;

use bytes::Bytes;
use rustzmq_transport::pipe::{pipe_pair, Notify};
use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId};

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

/// The in-place contract of a pattern with one peer, `peer` (connected with a high-water mark
/// of 1): a sent frame is taken out of the caller's; one that cannot go (at the mark) and a
/// receive with nothing to read leave the caller's frame alone; a multipart message arrives
/// frame by frame.
pub(crate) fn check_in_place(pattern: &mut dyn Pattern, peer: &mut Pipe) {
    let mut frame = msg(b"one", false);
    pattern.send_from(&mut frame).unwrap();
    assert!(frame.data().is_empty(), "the sent frame was taken out");
    let mut frame = msg(b"two", false);
    assert_eq!(pattern.send_from(&mut frame), Err(Errno::EAGAIN), "at the high-water mark");
    assert_eq!(frame.data(), b"two", "a frame that could not go stays with the caller");
    assert_eq!(drain(peer), [b"one"]);
    let mut out = msg(b"kept", false);
    assert_eq!(pattern.recv_into(&mut out), Err(Errno::EAGAIN));
    assert_eq!(out.data(), b"kept", "nothing to read: untouched");
    peer.write(msg(b"head", true)).unwrap();
    peer.write(msg(b"tail", false)).unwrap();
    peer.flush();
    // Our notifier drops events: tell the pattern as the socket's mailbox would.
    pattern.pipe_event(peer.id());
    pattern.recv_into(&mut out).unwrap();
    assert_eq!((out.data(), out.more()), (&b"head"[..], true));
    pattern.recv_into(&mut out).unwrap();
    assert_eq!((out.data(), out.more()), (&b"tail"[..], false));
}
