//! PAIR (RFC 31): exactly one peer; later connections are refused.

use rustzmq_transport::{Errno, Msg, Pattern, PeerInfo, Pipe, PipeId, WriteError, ZResult};

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

    fn send(&mut self, msg: Msg) -> Result<(), (Errno, Msg)> {
        let Some(pipe) = self.pipe.as_mut() else { return Err((Errno::EAGAIN, msg)) };
        let more = msg.more();
        match pipe.write(msg) {
            Ok(()) => {
                if !more {
                    pipe.flush();
                }
                Ok(())
            }
            Err(WriteError::Full(msg)) => Err((Errno::EAGAIN, msg)),
            Err(WriteError::Closed(msg)) => {
                self.pipe = None;
                Err((Errno::EAGAIN, msg))
            }
        }
    }

    fn recv(&mut self) -> ZResult<Msg> {
        let pipe = self.pipe.as_mut().ok_or(Errno::EAGAIN)?;
        match pipe.read() {
            Some(msg) => Ok(msg),
            None => {
                if pipe.is_peer_gone() {
                    self.pipe = None;
                }
                Err(Errno::EAGAIN)
            }
        }
    }

    fn has_in(&mut self) -> bool {
        self.pipe.as_mut().is_some_and(|p| p.check_read())
    }

    fn has_out(&mut self) -> bool {
        self.pipe.as_mut().is_some_and(|p| !p.is_peer_reader_closed() && p.check_write())
    }
}
