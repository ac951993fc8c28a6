//! The [`Error`] enum and the [`Result`] alias, as in the `zmq` crate 0.10.
//!
//! The 28 variants are libzmq's error codes. [`Error::to_raw`] gives the number libzmq uses on
//! this platform (the C library's errno for the POSIX codes, `ZMQ_HAUSNUMERO + n` for 0MQ's own
//! codes) and [`Error::message`] gives libzmq's `zmq_strerror` text as printed on Linux with
//! glibc. `Display` **and** `Debug` both print that text, not the variant name, like the `zmq`
//! crate does.

use std::fmt;
use std::io;

/// libzmq's base for its own error numbers (`ZMQ_HAUSNUMERO`).
const ZMQ_HAUSNUMERO: i32 = 156_384_712;

/// Error numbers, as libzmq reports them on this platform.
#[cfg(unix)]
mod errno {
    pub(super) use libc::{
        EACCES, EADDRINUSE, EADDRNOTAVAIL, EAGAIN, EBUSY, ECONNREFUSED, EFAULT, EHOSTUNREACH, EINPROGRESS, EINTR,
        EINVAL, EMFILE, EMSGSIZE, ENAMETOOLONG, ENETDOWN, ENOBUFS, ENODEV, ENOENT, ENOMEM, ENOTCONN, ENOTSOCK, ENOTSUP,
        EPROTO, EPROTONOSUPPORT,
    };
}

/// Error numbers, as libzmq reports them on this platform (non-unix builds use the Linux
/// numbers, which is what the `Error` table of the API reference lists).
#[cfg(not(unix))]
mod errno {
    pub(super) const EACCES: i32 = 13;
    pub(super) const EADDRINUSE: i32 = 98;
    pub(super) const EAGAIN: i32 = 11;
    pub(super) const EBUSY: i32 = 16;
    pub(super) const ECONNREFUSED: i32 = 111;
    pub(super) const EFAULT: i32 = 14;
    pub(super) const EINTR: i32 = 4;
    pub(super) const EHOSTUNREACH: i32 = 113;
    pub(super) const EINPROGRESS: i32 = 115;
    pub(super) const EINVAL: i32 = 22;
    pub(super) const EMFILE: i32 = 24;
    pub(super) const EMSGSIZE: i32 = 90;
    pub(super) const ENAMETOOLONG: i32 = 36;
    pub(super) const ENODEV: i32 = 19;
    pub(super) const ENOENT: i32 = 2;
    pub(super) const ENOMEM: i32 = 12;
    pub(super) const ENOTCONN: i32 = 107;
    pub(super) const ENOTSOCK: i32 = 88;
    pub(super) const EPROTO: i32 = 71;
    pub(super) const EPROTONOSUPPORT: i32 = 93;
    pub(super) const ENOTSUP: i32 = 95;
    pub(super) const ENOBUFS: i32 = 105;
    pub(super) const ENETDOWN: i32 = 100;
    pub(super) const EADDRNOTAVAIL: i32 = 99;
}

/// `zmq::Result<T>`: the result of every fallible 0MQ call.
pub type Result<T> = std::result::Result<T, Error>;

/// An error returned by a 0MQ API function.
///
/// The variants are libzmq's error codes. `Display` and `Debug` both print [`Error::message`].
/// Note that `e as i32` gives the declaration index, not the error number: use
/// [`Error::to_raw`] for that.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Eq, PartialEq)]
pub enum Error {
    /// Permission denied.
    EACCES,
    /// Address already in use.
    EADDRINUSE,
    /// Resource temporarily unavailable (non-blocking mode, or a timeout ran out).
    EAGAIN,
    /// Device or resource busy.
    EBUSY,
    /// Connection refused.
    ECONNREFUSED,
    /// Bad address (also: the context was destroyed).
    EFAULT,
    /// Interrupted system call.
    EINTR,
    /// Host unreachable.
    EHOSTUNREACH,
    /// Operation now in progress.
    EINPROGRESS,
    /// Invalid argument.
    EINVAL,
    /// Too many open files.
    EMFILE,
    /// Message too long.
    EMSGSIZE,
    /// File name too long.
    ENAMETOOLONG,
    /// No such device.
    ENODEV,
    /// No such file or directory (for example an endpoint that is not bound or connected).
    ENOENT,
    /// Cannot allocate memory.
    ENOMEM,
    /// Transport endpoint is not connected.
    ENOTCONN,
    /// Socket operation on non-socket.
    ENOTSOCK,
    /// Protocol error.
    EPROTO,
    /// Protocol not supported (for example an unknown transport).
    EPROTONOSUPPORT,
    /// Operation not supported.
    ENOTSUP,
    /// No buffer space available.
    ENOBUFS,
    /// Network is down.
    ENETDOWN,
    /// Cannot assign requested address.
    EADDRNOTAVAIL,

    // 0MQ's own codes.
    /// Operation cannot be accomplished in current state (for example REQ sending twice).
    EFSM,
    /// The protocol is not compatible with the socket type.
    ENOCOMPATPROTO,
    /// Context was terminated.
    ETERM,
    /// No thread available.
    EMTHREAD,
}

impl Error {
    /// Every variant, in declaration order.
    #[cfg(test)]
    pub(crate) const ALL: [Error; 28] = [
        Error::EACCES,
        Error::EADDRINUSE,
        Error::EAGAIN,
        Error::EBUSY,
        Error::ECONNREFUSED,
        Error::EFAULT,
        Error::EINTR,
        Error::EHOSTUNREACH,
        Error::EINPROGRESS,
        Error::EINVAL,
        Error::EMFILE,
        Error::EMSGSIZE,
        Error::ENAMETOOLONG,
        Error::ENODEV,
        Error::ENOENT,
        Error::ENOMEM,
        Error::ENOTCONN,
        Error::ENOTSOCK,
        Error::EPROTO,
        Error::EPROTONOSUPPORT,
        Error::ENOTSUP,
        Error::ENOBUFS,
        Error::ENETDOWN,
        Error::EADDRNOTAVAIL,
        Error::EFSM,
        Error::ENOCOMPATPROTO,
        Error::ETERM,
        Error::EMTHREAD,
    ];

    /// The error number libzmq uses for this error on this platform: the C library's errno
    /// for the POSIX codes, `156384712 + n` for 0MQ's own codes (EFSM is 156384763).
    pub fn to_raw(self) -> i32 {
        match self {
            Error::EACCES => errno::EACCES,
            Error::EADDRINUSE => errno::EADDRINUSE,
            Error::EAGAIN => errno::EAGAIN,
            Error::EBUSY => errno::EBUSY,
            Error::ECONNREFUSED => errno::ECONNREFUSED,
            Error::EFAULT => errno::EFAULT,
            Error::EINTR => errno::EINTR,
            Error::EHOSTUNREACH => errno::EHOSTUNREACH,
            Error::EINPROGRESS => errno::EINPROGRESS,
            Error::EINVAL => errno::EINVAL,
            Error::EMFILE => errno::EMFILE,
            Error::EMSGSIZE => errno::EMSGSIZE,
            Error::ENAMETOOLONG => errno::ENAMETOOLONG,
            Error::ENODEV => errno::ENODEV,
            Error::ENOENT => errno::ENOENT,
            Error::ENOMEM => errno::ENOMEM,
            Error::ENOTCONN => errno::ENOTCONN,
            Error::ENOTSOCK => errno::ENOTSOCK,
            Error::EPROTO => errno::EPROTO,
            Error::EPROTONOSUPPORT => errno::EPROTONOSUPPORT,
            Error::ENOTSUP => errno::ENOTSUP,
            Error::ENOBUFS => errno::ENOBUFS,
            Error::ENETDOWN => errno::ENETDOWN,
            Error::EADDRNOTAVAIL => errno::EADDRNOTAVAIL,
            Error::EFSM => ZMQ_HAUSNUMERO + 51,
            Error::ENOCOMPATPROTO => ZMQ_HAUSNUMERO + 52,
            Error::ETERM => ZMQ_HAUSNUMERO + 53,
            Error::EMTHREAD => ZMQ_HAUSNUMERO + 54,
        }
    }

    /// The error for a libzmq error number, as returned by [`Error::to_raw`]. libzmq's
    /// substitute codes for platforms that lack some POSIX errnos (`156384712 + 1` to `+ 10`)
    /// are understood too.
    ///
    /// # Panics
    ///
    /// On any other number, like the `zmq` crate does (`"unknown error [N]: <strerror>"`).
    pub fn from_raw(raw: i32) -> Error {
        match Error::try_from_raw(raw) {
            Some(e) => e,
            None => panic!("unknown error [{raw}]: {}", unknown_strerror(raw)),
        }
    }

    /// [`Error::from_raw`] without the panic.
    pub(crate) fn try_from_raw(raw: i32) -> Option<Error> {
        let e = match raw {
            errno::EACCES => Error::EACCES,
            errno::EADDRINUSE => Error::EADDRINUSE,
            errno::EAGAIN => Error::EAGAIN,
            errno::EBUSY => Error::EBUSY,
            errno::ECONNREFUSED => Error::ECONNREFUSED,
            errno::EFAULT => Error::EFAULT,
            errno::EINTR => Error::EINTR,
            errno::EHOSTUNREACH => Error::EHOSTUNREACH,
            errno::EINPROGRESS => Error::EINPROGRESS,
            errno::EINVAL => Error::EINVAL,
            errno::EMFILE => Error::EMFILE,
            errno::EMSGSIZE => Error::EMSGSIZE,
            errno::ENAMETOOLONG => Error::ENAMETOOLONG,
            errno::ENODEV => Error::ENODEV,
            errno::ENOENT => Error::ENOENT,
            errno::ENOMEM => Error::ENOMEM,
            errno::ENOTCONN => Error::ENOTCONN,
            errno::ENOTSOCK => Error::ENOTSOCK,
            errno::EPROTO => Error::EPROTO,
            errno::EPROTONOSUPPORT => Error::EPROTONOSUPPORT,
            errno::ENOTSUP => Error::ENOTSUP,
            errno::ENOBUFS => Error::ENOBUFS,
            errno::ENETDOWN => Error::ENETDOWN,
            errno::EADDRNOTAVAIL => Error::EADDRNOTAVAIL,
            // libzmq's substitutes for errnos some platforms (Windows) lack.
            156_384_713 => Error::ENOTSUP,
            156_384_714 => Error::EPROTONOSUPPORT,
            156_384_715 => Error::ENOBUFS,
            156_384_716 => Error::ENETDOWN,
            156_384_717 => Error::EADDRINUSE,
            156_384_718 => Error::EADDRNOTAVAIL,
            156_384_719 => Error::ECONNREFUSED,
            156_384_720 => Error::EINPROGRESS,
            156_384_721 => Error::ENOTSOCK,
            156_384_722 => Error::EMSGSIZE,
            // 0MQ's own codes.
            156_384_763 => Error::EFSM,
            156_384_764 => Error::ENOCOMPATPROTO,
            156_384_765 => Error::ETERM,
            156_384_766 => Error::EMTHREAD,
            _ => return None,
        };
        Some(e)
    }

    /// libzmq's description of the error (`zmq_strerror`), as printed on Linux with glibc.
    pub fn message(self) -> &'static str {
        match self {
            Error::EACCES => "Permission denied",
            Error::EADDRINUSE => "Address already in use",
            Error::EAGAIN => "Resource temporarily unavailable",
            Error::EBUSY => "Device or resource busy",
            Error::ECONNREFUSED => "Connection refused",
            Error::EFAULT => "Bad address",
            Error::EINTR => "Interrupted system call",
            Error::EHOSTUNREACH => "Host unreachable",
            Error::EINPROGRESS => "Operation now in progress",
            Error::EINVAL => "Invalid argument",
            Error::EMFILE => "Too many open files",
            Error::EMSGSIZE => "Message too long",
            Error::ENAMETOOLONG => "File name too long",
            Error::ENODEV => "No such device",
            Error::ENOENT => "No such file or directory",
            Error::ENOMEM => "Cannot allocate memory",
            Error::ENOTCONN => "Transport endpoint is not connected",
            Error::ENOTSOCK => "Socket operation on non-socket",
            Error::EPROTO => "Protocol error",
            Error::EPROTONOSUPPORT => "Protocol not supported",
            Error::ENOTSUP => "Operation not supported",
            Error::ENOBUFS => "No buffer space available",
            Error::ENETDOWN => "Network is down",
            Error::EADDRNOTAVAIL => "Cannot assign requested address",
            Error::EFSM => "Operation cannot be accomplished in current state",
            Error::ENOCOMPATPROTO => "The protocol is not compatible with the socket type",
            Error::ETERM => "Context was terminated",
            Error::EMTHREAD => "No thread available",
        }
    }

    /// The 0MQ error for an OS-level I/O error (bind, connect, accept, socket creation...),
    /// the way libzmq passes `errno` through.
    ///
    /// The raw OS error number is mapped when it is one of the variants; a few close cousins
    /// are folded in (`EWOULDBLOCK`, `EOPNOTSUPP`, `ENFILE`, `ENETUNREACH`, `EAFNOSUPPORT`, `EPERM`). An
    /// error without an OS number, or with one 0MQ has no variant for, is mapped by its
    /// [`io::ErrorKind`]; anything left over becomes [`Error::EINVAL`], the catch-all libzmq
    /// itself uses for a request it cannot carry out. (The `zmq` crate would have panicked in
    /// `from_raw` on such a number; a pure-Rust library should not.)
    #[allow(dead_code)] // used by the socket and transport glue
    pub(crate) fn from_io(e: &io::Error) -> Error {
        if let Some(raw) = e.raw_os_error() {
            if let Some(err) = Error::try_from_raw(raw) {
                return err;
            }
            #[cfg(unix)]
            {
                let folded = match raw {
                    libc::EWOULDBLOCK => Some(Error::EAGAIN),
                    libc::EOPNOTSUPP => Some(Error::ENOTSUP),
                    libc::ENFILE => Some(Error::EMFILE),
                    libc::ENETUNREACH => Some(Error::EHOSTUNREACH),
                    libc::EAFNOSUPPORT => Some(Error::EPROTONOSUPPORT),
                    libc::EPERM => Some(Error::EACCES),
                    _ => None,
                };
                if let Some(err) = folded {
                    return err;
                }
            }
        }
        match e.kind() {
            io::ErrorKind::PermissionDenied => Error::EACCES,
            io::ErrorKind::AddrInUse => Error::EADDRINUSE,
            io::ErrorKind::AddrNotAvailable => Error::EADDRNOTAVAIL,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::EAGAIN,
            io::ErrorKind::ConnectionRefused => Error::ECONNREFUSED,
            io::ErrorKind::Interrupted => Error::EINTR,
            io::ErrorKind::NotFound => Error::ENOENT,
            io::ErrorKind::NotConnected => Error::ENOTCONN,
            io::ErrorKind::OutOfMemory => Error::ENOMEM,
            io::ErrorKind::Unsupported => Error::ENOTSUP,
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => Error::EHOSTUNREACH,
            io::ErrorKind::NetworkDown => Error::ENETDOWN,
            io::ErrorKind::ResourceBusy => Error::EBUSY,
            _ => Error::EINVAL,
        }
    }

    /// The `io::ErrorKind` of the `io::Error` this error converts into.
    fn io_kind(self) -> io::ErrorKind {
        match self {
            Error::EACCES => io::ErrorKind::PermissionDenied,
            Error::EADDRINUSE => io::ErrorKind::AddrInUse,
            Error::EAGAIN => io::ErrorKind::WouldBlock,
            Error::ECONNREFUSED => io::ErrorKind::ConnectionRefused,
            Error::EINTR => io::ErrorKind::Interrupted,
            Error::EINVAL => io::ErrorKind::InvalidInput,
            Error::ENOENT => io::ErrorKind::NotFound,
            Error::ENOTCONN => io::ErrorKind::NotConnected,
            Error::EADDRNOTAVAIL => io::ErrorKind::AddrNotAvailable,
            _ => io::ErrorKind::Other,
        }
    }
}

/// What `zmq_strerror` would say about a number that is not one of the variants.
fn unknown_strerror(raw: i32) -> String {
    if (ZMQ_HAUSNUMERO..ZMQ_HAUSNUMERO + 100).contains(&raw) {
        return format!("Unknown error {raw}");
    }
    // std prints "<strerror text> (os error N)"; keep the strerror part.
    let text = io::Error::from_raw_os_error(raw).to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Prints [`Error::message`], like `Display` (the `zmq` crate does the same).
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {
    #[allow(deprecated)]
    fn description(&self) -> &str {
        self.message()
    }
}

/// Wraps the 0MQ error as the inner error of an `io::Error` (so `get_ref()` and downcasting
/// work), with the `io::ErrorKind` closest to it (`Other` when there is none).
impl From<Error> for io::Error {
    fn from(error: Error) -> io::Error {
        io::Error::new(error.io_kind(), error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (variant, number, message, io kind) as in the API reference's table (Linux x86_64).
    #[cfg(target_os = "linux")]
    const TABLE: [(Error, i32, &str, io::ErrorKind); 28] = [
        (Error::EACCES, 13, "Permission denied", io::ErrorKind::PermissionDenied),
        (Error::EADDRINUSE, 98, "Address already in use", io::ErrorKind::AddrInUse),
        (Error::EAGAIN, 11, "Resource temporarily unavailable", io::ErrorKind::WouldBlock),
        (Error::EBUSY, 16, "Device or resource busy", io::ErrorKind::Other),
        (Error::ECONNREFUSED, 111, "Connection refused", io::ErrorKind::ConnectionRefused),
        (Error::EFAULT, 14, "Bad address", io::ErrorKind::Other),
        (Error::EINTR, 4, "Interrupted system call", io::ErrorKind::Interrupted),
        (Error::EHOSTUNREACH, 113, "Host unreachable", io::ErrorKind::Other),
        (Error::EINPROGRESS, 115, "Operation now in progress", io::ErrorKind::Other),
        (Error::EINVAL, 22, "Invalid argument", io::ErrorKind::InvalidInput),
        (Error::EMFILE, 24, "Too many open files", io::ErrorKind::Other),
        (Error::EMSGSIZE, 90, "Message too long", io::ErrorKind::Other),
        (Error::ENAMETOOLONG, 36, "File name too long", io::ErrorKind::Other),
        (Error::ENODEV, 19, "No such device", io::ErrorKind::Other),
        (Error::ENOENT, 2, "No such file or directory", io::ErrorKind::NotFound),
        (Error::ENOMEM, 12, "Cannot allocate memory", io::ErrorKind::Other),
        (Error::ENOTCONN, 107, "Transport endpoint is not connected", io::ErrorKind::NotConnected),
        (Error::ENOTSOCK, 88, "Socket operation on non-socket", io::ErrorKind::Other),
        (Error::EPROTO, 71, "Protocol error", io::ErrorKind::Other),
        (Error::EPROTONOSUPPORT, 93, "Protocol not supported", io::ErrorKind::Other),
        (Error::ENOTSUP, 95, "Operation not supported", io::ErrorKind::Other),
        (Error::ENOBUFS, 105, "No buffer space available", io::ErrorKind::Other),
        (Error::ENETDOWN, 100, "Network is down", io::ErrorKind::Other),
        (Error::EADDRNOTAVAIL, 99, "Cannot assign requested address", io::ErrorKind::AddrNotAvailable),
        (Error::EFSM, 156384763, "Operation cannot be accomplished in current state", io::ErrorKind::Other),
        (Error::ENOCOMPATPROTO, 156384764, "The protocol is not compatible with the socket type", io::ErrorKind::Other),
        (Error::ETERM, 156384765, "Context was terminated", io::ErrorKind::Other),
        (Error::EMTHREAD, 156384766, "No thread available", io::ErrorKind::Other),
    ];

    #[cfg(target_os = "linux")]
    #[test]
    fn table_matches_the_reference() {
        for (i, &(e, raw, text, kind)) in TABLE.iter().enumerate() {
            assert_eq!(e as i32, i as i32, "declaration index of {text}");
            assert_eq!(e, Error::ALL[i]);
            assert_eq!(e.to_raw(), raw, "{text}");
            assert_eq!(Error::from_raw(raw), e, "{text}");
            assert_eq!(e.message(), text);
            assert_eq!(e.to_string(), text);
            assert_eq!(format!("{e:?}"), text);
            let io: io::Error = e.into();
            assert_eq!(io.kind(), kind, "{text}");
        }
    }

    #[test]
    fn round_trip_every_variant() {
        for e in Error::ALL {
            assert_eq!(Error::from_raw(e.to_raw()), e);
            assert_eq!(Error::try_from_raw(e.to_raw()), Some(e));
            assert_eq!(format!("{e}"), format!("{e:?}"));
            assert_eq!(format!("{e}"), e.message());
        }
    }

    #[test]
    fn alt_codes_and_eintr() {
        assert_eq!(Error::from_raw(156_384_713), Error::ENOTSUP);
        assert_eq!(Error::from_raw(156_384_714), Error::EPROTONOSUPPORT);
        assert_eq!(Error::from_raw(156_384_717), Error::EADDRINUSE);
        assert_eq!(Error::from_raw(156_384_722), Error::EMSGSIZE);
        #[cfg(unix)]
        assert_eq!(Error::from_raw(libc::EINTR), Error::EINTR);
        assert_eq!(Error::try_from_raw(0), None);
        assert_eq!(Error::try_from_raw(156_384_712 + 55), None);
    }

    #[test]
    #[should_panic(expected = "unknown error [156384800]")]
    fn from_raw_panics_on_unknown() {
        let _ = Error::from_raw(156_384_800);
    }

    #[cfg(target_os = "linux")]
    #[test]
    #[should_panic(expected = "unknown error [32]: Broken pipe")]
    fn from_raw_panic_names_the_strerror() {
        let _ = Error::from_raw(libc::EPIPE);
    }

    #[test]
    fn into_io_error_wraps_the_zmq_error() {
        let io: io::Error = Error::ENOENT.into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        assert_eq!(io.to_string(), "No such file or directory");
        let inner = io.get_ref().and_then(|e| e.downcast_ref::<Error>());
        assert_eq!(inner, Some(&Error::ENOENT));
        let boxed: Box<dyn std::error::Error + Send + Sync> = Error::ETERM.into();
        assert_eq!(boxed.to_string(), "Context was terminated");
        fn question_mark() -> io::Result<()> {
            Err(Error::EAGAIN)?;
            Ok(())
        }
        assert_eq!(question_mark().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn from_io_maps_os_errors() {
        for e in Error::ALL {
            if e.to_raw() < ZMQ_HAUSNUMERO {
                assert_eq!(Error::from_io(&io::Error::from_raw_os_error(e.to_raw())), e);
            }
        }
        #[cfg(unix)]
        {
            assert_eq!(Error::from_io(&io::Error::from_raw_os_error(libc::ENETUNREACH)), Error::EHOSTUNREACH);
            assert_eq!(Error::from_io(&io::Error::from_raw_os_error(libc::EAFNOSUPPORT)), Error::EPROTONOSUPPORT);
            assert_eq!(Error::from_io(&io::Error::from_raw_os_error(libc::EPIPE)), Error::EINVAL);
        }
        assert_eq!(Error::from_io(&io::Error::from(io::ErrorKind::WouldBlock)), Error::EAGAIN);
        assert_eq!(Error::from_io(&io::Error::from(io::ErrorKind::AddrInUse)), Error::EADDRINUSE);
        assert_eq!(Error::from_io(&io::Error::other("x")), Error::EINVAL);
    }
}
