//! A connected byte stream the engine drives: TCP or a Unix domain socket, non-blocking,
//! registered with an I/O thread's mio poll.

use std::io::{self, IoSlice, Read, Write};

use bytes::BytesMut;

use mio::net::{TcpStream, UnixStream};

/// A non-blocking connected stream.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix domain socket (ipc).
    Unix(UnixStream),
}

impl Stream {
    /// The peer's address as text, for the Peer-Address metadata property.
    pub fn peer_address(&self) -> String {
        match self {
            Stream::Tcp(s) => s.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            Stream::Unix(_) => String::new(),
        }
    }

    /// The OS file descriptor (for monitor event values).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Reads at most `max` bytes (and at least one, unless the call fails or the stream
    /// ended) onto the end of `buf`, straight into its spare capacity: neither zero-filled
    /// first nor copied from a bounce buffer. `Ok(0)` is the end of the stream. Retries
    /// when interrupted.
    ///
    /// Measured: zero-filling before each read made a 1 MiB frame, read in socket-sized
    /// pieces, re-zero its whole unread rest every time (tcp 1 MiB: 0.32x libzmq), and the
    /// bounce buffer cost a copy of every byte received (12% of the receiving I/O thread at
    /// 64-byte messages).
    pub fn read_into(&mut self, buf: &mut BytesMut, max: usize) -> io::Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        buf.reserve(max);
        let n = self.read_to_spare(buf.spare_capacity_mut(), max)?;
        // SAFETY: read_to_spare initialized the first n bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// [`Stream::read_into`] for a `Vec`.
    pub fn read_into_vec(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        buf.reserve(max);
        let n = self.read_to_spare(buf.spare_capacity_mut(), max)?;
        // SAFETY: read_to_spare initialized the first n bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// One read(2) of at most `max` bytes into `spare`, retried when interrupted. On `Ok(n)`
    /// the first `n` bytes of `spare` are initialized.
    fn read_to_spare(&mut self, spare: &mut [std::mem::MaybeUninit<u8>], max: usize) -> io::Result<usize> {
        let len = spare.len().min(max);
        loop {
            // SAFETY: `spare` is writable memory of at least `len` bytes (`len` is clamped to
            // it) that we borrow mutably for the call; read(2) writes at most `len` bytes there
            // and nothing else, and the fd stays open since `self` owns it.
            let n = unsafe { libc::read(self.raw_fd(), spare.as_mut_ptr().cast::<libc::c_void>(), len) };
            if n >= 0 {
                return Ok(n.unsigned_abs());
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }

    /// The mio source to register.
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_into_appends_what_arrives_and_reports_the_end() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut stream = Stream::Unix(UnixStream::from_std(a));
        let mut buf = BytesMut::from(&b"ab"[..]);
        assert_eq!(stream.read_into(&mut buf, 8).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        b.write_all(b"0123456789").unwrap();
        assert_eq!(stream.read_into(&mut buf, 4).unwrap(), 4);
        assert_eq!(&buf[..], b"ab0123");
        assert_eq!(stream.read_into(&mut buf, 100).unwrap(), 6);
        assert_eq!(&buf[..], b"ab0123456789");
        assert_eq!(stream.read_into(&mut buf, 0).unwrap(), 0);
        drop(b);
        assert_eq!(stream.read_into(&mut buf, 100).unwrap(), 0, "end of stream");
        assert_eq!(buf.len(), 12);
    }

    #[test]
    fn read_into_vec_appends_too() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut stream = Stream::Unix(UnixStream::from_std(a));
        let mut buf = b"x".to_vec();
        b.write_all(b"yz").unwrap();
        assert_eq!(stream.read_into_vec(&mut buf, 1).unwrap(), 1);
        assert_eq!(stream.read_into_vec(&mut buf, 5).unwrap(), 1);
        assert_eq!(buf, b"xyz");
    }
}
