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
    /// The Linux errno (or libzmq's own number) for monitor event values.
    pub fn errno_value(self) -> u32 {
        const HAUSNUMERO: u32 = 156_384_712;
        let raw = match self {
            Errno::EACCES => libc::EACCES,
            Errno::EADDRINUSE => libc::EADDRINUSE,
            Errno::EAGAIN => libc::EAGAIN,
            Errno::EBUSY => libc::EBUSY,
            Errno::ECONNREFUSED => libc::ECONNREFUSED,
            Errno::EFAULT => libc::EFAULT,
            Errno::EINTR => libc::EINTR,
            Errno::EHOSTUNREACH => libc::EHOSTUNREACH,
            Errno::EINPROGRESS => libc::EINPROGRESS,
            Errno::EINVAL => libc::EINVAL,
            Errno::EMFILE => libc::EMFILE,
            Errno::EMSGSIZE => libc::EMSGSIZE,
            Errno::ENAMETOOLONG => libc::ENAMETOOLONG,
            Errno::ENODEV => libc::ENODEV,
            Errno::ENOENT => libc::ENOENT,
            Errno::ENOMEM => libc::ENOMEM,
            Errno::ENOTCONN => libc::ENOTCONN,
            Errno::ENOTSOCK => libc::ENOTSOCK,
            Errno::EPROTO => libc::EPROTO,
            Errno::EPROTONOSUPPORT => libc::EPROTONOSUPPORT,
            Errno::ENOTSUP => libc::ENOTSUP,
            Errno::ENOBUFS => libc::ENOBUFS,
            Errno::ENETDOWN => libc::ENETDOWN,
            Errno::EADDRNOTAVAIL => libc::EADDRNOTAVAIL,
            Errno::EFSM => return HAUSNUMERO + 51,
            Errno::ENOCOMPATPROTO => return HAUSNUMERO + 52,
            Errno::ETERM => return HAUSNUMERO + 53,
            Errno::EMTHREAD => return HAUSNUMERO + 54,
        };
        raw as u32
    }

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
