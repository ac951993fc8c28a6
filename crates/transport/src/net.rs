//! Creating listening and connecting sockets with libzmq's socket options applied
//! (SO_REUSEADDR, BACKLOG, TCP_NODELAY, keepalive, SNDBUF/RCVBUF, TOS).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::options::Options;

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

pub(crate) fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Converts a Rust socket address into a `sockaddr_storage` and its length.
fn sockaddr(address: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = v4.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = v6.port().to_be();
            sin6.sin6_addr = libc::in6_addr { s6_addr: v6.ip().octets() };
            sin6.sin6_scope_id = v6.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Binds and listens on a TCP address with SO_REUSEADDR and the BACKLOG option, like libzmq.
pub fn tcp_listen(address: &SocketAddr, options: &Options) -> io::Result<mio::net::TcpListener> {
    let family = if address.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2) call; the result is checked and owned below.
    let raw = cvt(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    // SAFETY: `raw` is a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    set_int(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    apply_buffers(raw, options)?;
    let (storage, len) = sockaddr(address);
    // SAFETY: `storage` holds a valid sockaddr of length `len`.
    cvt(unsafe { libc::bind(raw, (&storage as *const libc::sockaddr_storage).cast(), len) })?;
    // SAFETY: listen on our own bound fd.
    cvt(unsafe { libc::listen(raw, options.backlog.max(1)) })?;
    Ok(mio::net::TcpListener::from_std(std::net::TcpListener::from(fd)))
}

/// Starts a non-blocking TCP connect with the options applied before connecting.
pub fn tcp_connect(address: &SocketAddr, options: &Options) -> io::Result<mio::net::TcpStream> {
    let family = if address.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: plain socket(2) call; the result is checked and owned below.
    let raw = cvt(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) })?;
    // SAFETY: `raw` is a fresh fd we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    apply_buffers(raw, options)?;
    let (storage, len) = sockaddr(address);
    // SAFETY: `storage` holds a valid sockaddr of length `len`.
    let rc = unsafe { libc::connect(raw, (&storage as *const libc::sockaddr_storage).cast(), len) };
    if rc < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(error);
        }
    }
    Ok(mio::net::TcpStream::from_std(std::net::TcpStream::from(fd)))
}

fn apply_buffers(fd: RawFd, options: &Options) -> io::Result<()> {
    if options.sndbuf >= 0 {
        set_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF, options.sndbuf)?;
    }
    if options.rcvbuf >= 0 {
        set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, options.rcvbuf)?;
    }
    Ok(())
}

/// Applies per-connection TCP options: TCP_NODELAY always (as libzmq), keepalive, TOS.
pub fn tune_tcp_stream(stream: &mio::net::TcpStream, options: &Options) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let fd = stream.as_raw_fd();
    if options.tcp_keepalive >= 0 {
        set_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, options.tcp_keepalive)?;
        if options.tcp_keepalive == 1 {
            if options.tcp_keepalive_cnt > 0 {
                set_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, options.tcp_keepalive_cnt)?;
            }
            if options.tcp_keepalive_idle > 0 {
                set_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, options.tcp_keepalive_idle)?;
            }
            if options.tcp_keepalive_intvl > 0 {
                set_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, options.tcp_keepalive_intvl)?;
            }
        }
    }
    if options.tos != 0 {
        // Best effort, as libzmq: IPv6 sockets may refuse IP_TOS.
        let _ = set_int(fd, libc::IPPROTO_IP, libc::IP_TOS, options.tos);
    }
    Ok(())
}

/// Binds a Unix domain socket at a filesystem path or an abstract name. Whatever is at the
/// path first is removed, as libzmq 4.3 does: the file a crashed server left behind would
/// otherwise make its restart fail with EADDRINUSE.
pub fn ipc_listen(path: &IpcAddress) -> io::Result<mio::net::UnixListener> {
    match path {
        IpcAddress::File(path) => {
            let _ = std::fs::remove_file(path);
            mio::net::UnixListener::bind(path)
        }
        IpcAddress::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            let listener = std::os::unix::net::UnixListener::bind_addr(&address)?;
            listener.set_nonblocking(true)?;
            Ok(mio::net::UnixListener::from_std(listener))
        }
    }
}

/// Connects a Unix domain socket.
pub fn ipc_connect(path: &IpcAddress) -> io::Result<mio::net::UnixStream> {
    match path {
        IpcAddress::File(path) => mio::net::UnixStream::connect(path),
        IpcAddress::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            let stream = std::os::unix::net::UnixStream::connect_addr(&address)?;
            stream.set_nonblocking(true)?;
            Ok(mio::net::UnixStream::from_std(stream))
        }
    }
}

/// A resolved ipc address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcAddress {
    /// A filesystem path.
    File(PathBuf),
    /// A Linux abstract name.
    Abstract(Vec<u8>),
}

/// A fresh path for `ipc://*`: a private directory under the temp dir, as libzmq does.
pub fn ipc_wildcard_path() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!("rustzmq-{}-{nanos:x}-{attempt}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir.join("socket")),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::ErrorKind::AlreadyExists.into())
}

/// Removes an ipc socket file (and the private directory of a wildcard path).
pub fn ipc_cleanup(path: &Path, wildcard: bool) {
    let _ = std::fs::remove_file(path);
    if wildcard {
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
