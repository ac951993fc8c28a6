//! Error kinds the engine reports, named after libzmq's errno values. The facade maps them to
//! the `zmq`-compatible `Error` enum.

/// A libzmq error kind.
#[allow(clippy::upper_case_acronyms, missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errno {
    EACCES,
    EADDRINUSE,
    EAGAIN,
    EBUSY,
    ECONNREFUSED,
    EFAULT,
    EINTR,
    EHOSTUNREACH,
    EINPROGRESS,
    EINVAL,
    EMFILE,
    EMSGSIZE,
    ENAMETOOLONG,
    ENODEV,
    ENOENT,
    ENOMEM,
    ENOTCONN,
    ENOTSOCK,
    EPROTO,
    EPROTONOSUPPORT,
    ENOTSUP,
    ENOBUFS,
    ENETDOWN,
    EADDRNOTAVAIL,
    EFSM,
    ENOCOMPATPROTO,
    ETERM,
    EMTHREAD,
}

/// Result with an [`Errno`].
pub type ZResult<T> = Result<T, Errno>;

impl Errno {
    /// Maps an OS error from bind/connect/accept to the closest libzmq error.
    pub fn from_io(error: &std::io::Error) -> Errno {
        match error.raw_os_error() {
            Some(libc::EACCES) | Some(libc::EPERM) => Errno::EACCES,
            Some(libc::EADDRINUSE) => Errno::EADDRINUSE,
            Some(libc::EADDRNOTAVAIL) => Errno::EADDRNOTAVAIL,
            Some(libc::ECONNREFUSED) => Errno::ECONNREFUSED,
            Some(libc::EMFILE) | Some(libc::ENFILE) => Errno::EMFILE,
            Some(libc::ENAMETOOLONG) => Errno::ENAMETOOLONG,
            Some(libc::ENODEV) => Errno::ENODEV,
            Some(libc::ENOENT) => Errno::ENOENT,
            Some(libc::ENOMEM) => Errno::ENOMEM,
            Some(libc::ENOBUFS) => Errno::ENOBUFS,
            Some(libc::ENETDOWN) | Some(libc::ENETUNREACH) => Errno::ENETDOWN,
            Some(libc::EHOSTUNREACH) => Errno::EHOSTUNREACH,
            Some(libc::EINTR) => Errno::EINTR,
            Some(libc::EAGAIN) => Errno::EAGAIN,
            _ => Errno::EINVAL,
        }
    }
}
