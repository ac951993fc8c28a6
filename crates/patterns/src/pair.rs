//! PAIR (RFC 31): exactly one peer; later connections are refused.

use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, WriteFailure, ZResult};

/// PAIR: one bidirectional pipe.
#[derive(Debug, Default)]
pub struct Pair {
    pipe: Option<Pipe>,
}

impl Pattern for Pair {
    fn attach(&mut self, pipe: Pipe, _peer: &PeerInfo) {
        // libzmq keeps the first peer and closes any other.
        if self.pipe.is_none() {
            self.pipe = Some(pipe);
        }
    }

    fn pipe_event(&mut self, id: PipeId) {
        if let Some(pipe) = self.pipe.as_mut() {
            if pipe.id() == id && pipe.is_peer_gone() {
                self.pipe = None;
            }
        }
    }

    fn send(&mut self, mut msg: Msg) -> Result<(), (Errno, Msg)> {
        self.send_from(&mut msg).map_err(|error| (error, msg))
    }

    fn send_from(&mut self, msg: &mut Msg) -> ZResult<()> {
        let Some(pipe) = self.pipe.as_mut() else { return Err(Errno::EAGAIN) };
        let more = msg.more();
        match pipe.write_from(msg) {
            Ok(()) => {
                if !more {
                    pipe.flush();
                }
                Ok(())
            }
            Err(WriteFailure::Full) => Err(Errno::EAGAIN),
            Err(WriteFailure::Closed) => {
                self.pipe = None;
                Err(Errno::EAGAIN)
            }
        }
    }

    fn recv(&mut self) -> ZResult<Msg> {
        let mut msg = Msg::new();
        self.recv_into(&mut msg)?;
        Ok(msg)
    }

    fn recv_into(&mut self, out: &mut Msg) -> ZResult<()> {
        let pipe = self.pipe.as_mut().ok_or(Errno::EAGAIN)?;
        // The only pipe: waiting a moment on it holds up nobody.
        if pipe.read_into(out, true) {
            return Ok(());
        }
        if pipe.is_peer_gone() {
            self.pipe = None;
        }
        Err(Errno::EAGAIN)
    }

    fn has_in(&mut self) -> bool {
        self.pipe.as_mut().is_some_and(|p| p.check_read())
    }

    fn has_out(&mut self) -> bool {
        self.pipe.as_mut().is_some_and(|p| !p.is_peer_reader_closed() && p.check_write())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pipes::{check_in_place, connect, msg};

    #[test]
    fn pair_sends_and_receives_in_place() {
        let mut pair = Pair::default();
        let mut peer = connect(&mut pair, 1, 1);
        check_in_place(&mut pair, &mut peer);
        drop(peer);
        let mut out = msg(b"kept", false);
        assert_eq!(pair.recv_into(&mut out), Err(Errno::EAGAIN));
        assert!(!pair.has_out(), "the peer is gone");
    }
}
