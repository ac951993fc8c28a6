//! Endpoint strings: `tcp://host:port`, `ipc://path`, `inproc://name`, parsed as libzmq does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::error::{Errno, ZResult};

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP: the address to bind or connect to (port 0 = ephemeral, for bind).
    Tcp(SocketAddr),
    /// Unix domain socket: a filesystem path, or a Linux abstract name (starting with `@`).
    Ipc(IpcPath),
    /// In-process, by name, within one context.
    Inproc(String),
}

/// Where an ipc endpoint lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcPath {
    /// A path in the filesystem.
    File(PathBuf),
    /// A Linux abstract socket name (the part after `@`).
    Abstract(Vec<u8>),
    /// `ipc://*`: bind to a fresh unique path.
    Wildcard,
}

/// Splits `transport://address`, checking the transport.
fn split(endpoint: &str) -> ZResult<(&str, &str)> {
    let (transport, address) = endpoint.split_once("://").ok_or(Errno::EINVAL)?;
    match transport {
        "tcp" | "ipc" | "inproc" => Ok((transport, address)),
        // Transports libzmq knows but rustzmq does not build (like a libzmq without them).
        "pgm" | "epgm" | "tipc" | "vmci" | "norm" | "udp" | "ws" | "wss" => Err(Errno::EPROTONOSUPPORT),
        _ => Err(Errno::EPROTONOSUPPORT),
    }
}

/// Splits `host:port`, with IPv6 hosts in brackets.
fn split_host_port(address: &str) -> ZResult<(&str, &str)> {
    let (host, port) = address.rsplit_once(':').ok_or(Errno::EINVAL)?;
    let host = match host.strip_prefix('[') {
        Some(inner) => inner.strip_suffix(']').ok_or(Errno::EINVAL)?,
        None => host,
    };
    if host.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok((host, port))
}

fn parse_port(port: &str, allow_wildcard: bool) -> ZResult<u16> {
    if allow_wildcard && (port == "*" || port == "0") {
        return Ok(0);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(Errno::EINVAL),
        Ok(port) => Ok(port),
    }
}

/// Parses an endpoint given to `bind`.
pub fn parse_bind(endpoint: &str) -> ZResult<Endpoint> {
    let (transport, address) = split(endpoint)?;
    match transport {
        "tcp" => {
            let (host, port) = split_host_port(address)?;
            let port = parse_port(port, true)?;
            let ip = match host {
                "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                _ => match host.parse::<IpAddr>() {
                    Ok(ip) => ip,
                    Err(_) => interface_address(host).ok_or(Errno::ENODEV)?,
                },
            };
            Ok(Endpoint::Tcp(SocketAddr::new(ip, port)))
        }
        "ipc" => parse_ipc(address, true),
        _ => parse_inproc(address),
    }
}

/// Parses an endpoint given to `connect`, resolving host names.
pub fn parse_connect(endpoint: &str) -> ZResult<Endpoint> {
    let (transport, address) = split(endpoint)?;
    match transport {
        "tcp" => {
            // libzmq accepts "source;destination"; rustzmq uses only the destination.
            let address = address.rsplit(';').next().unwrap_or(address);
            let (host, port) = split_host_port(address)?;
            let port = parse_port(port, false)?;
            if host == "*" {
                return Err(Errno::EINVAL);
            }
            if let Ok(ip) = host.parse::<IpAddr>() {
                return Ok(Endpoint::Tcp(SocketAddr::new(ip, port)));
            }
            let mut addresses = (host, port).to_socket_addrs().map_err(|_| Errno::EINVAL)?;
            // Prefer IPv4, as libzmq does with ZMQ_IPV6 off.
            let all: Vec<SocketAddr> = addresses.by_ref().collect();
            let chosen = all.iter().find(|a| a.is_ipv4()).or(all.first()).copied().ok_or(Errno::EINVAL)?;
            Ok(Endpoint::Tcp(chosen))
        }
        "ipc" => parse_ipc(address, false),
        _ => parse_inproc(address),
    }
}

fn parse_ipc(address: &str, bind: bool) -> ZResult<Endpoint> {
    if address.is_empty() {
        return Err(Errno::EINVAL);
    }
    if address == "*" {
        return if bind { Ok(Endpoint::Ipc(IpcPath::Wildcard)) } else { Err(Errno::EINVAL) };
    }
    if let Some(name) = address.strip_prefix('@') {
        if name.is_empty() || name.len() > 106 {
            return Err(Errno::EINVAL);
        }
        return Ok(Endpoint::Ipc(IpcPath::Abstract(name.as_bytes().to_vec())));
    }
    // sun_path holds 108 bytes including the terminating NUL.
    if address.len() > 107 {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(Endpoint::Ipc(IpcPath::File(PathBuf::from(address))))
}

fn parse_inproc(address: &str) -> ZResult<Endpoint> {
    if address.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok(Endpoint::Inproc(address.to_owned()))
}

/// The first address of a network interface by name (`eth0`, `lo`), as libzmq accepts for
/// bind. IPv4 is preferred.
fn interface_address(name: &str) -> Option<IpAddr> {
    let mut found: Option<IpAddr> = None;
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `list` that we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, valid until freeifaddrs.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_addr.is_null() || entry.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let entry_name = unsafe { std::ffi::CStr::from_ptr(entry.ifa_name) };
        if entry_name.to_bytes() != name.as_bytes() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points at a sockaddr whose family says its layout.
        let family = i32::from(unsafe { (*entry.ifa_addr).sa_family });
        if family == libc::AF_INET {
            // SAFETY: the family is AF_INET, so the address is a sockaddr_in.
            let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
            found = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))));
            break;
        } else if family == libc::AF_INET6 && found.is_none() {
            // SAFETY: the family is AF_INET6, so the address is a sockaddr_in6.
            let sin6 = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in6) };
            found = Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// Formats a bound or connected address the way libzmq reports it in ZMQ_LAST_ENDPOINT.
pub fn format_tcp(address: &SocketAddr) -> String {
    match address {
        SocketAddr::V4(v4) => format!("tcp://{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("tcp://[{}]:{}", v6.ip(), v6.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_bind_forms() {
        assert_eq!(parse_bind("tcp://*:5555").unwrap(), Endpoint::Tcp("0.0.0.0:5555".parse().unwrap()));
        assert_eq!(parse_bind("tcp://127.0.0.1:*").unwrap(), Endpoint::Tcp("127.0.0.1:0".parse().unwrap()));
        assert_eq!(parse_bind("tcp://[::1]:*").unwrap(), Endpoint::Tcp("[::1]:0".parse().unwrap()));
        assert_eq!(parse_bind("tcp://lo:*").unwrap(), Endpoint::Tcp("127.0.0.1:0".parse().unwrap()));
        assert_eq!(parse_bind("tcp://no-such-interface:1"), Err(Errno::ENODEV));
        assert_eq!(parse_bind("tcp://127.0.0.1"), Err(Errno::EINVAL));
        assert_eq!(parse_bind("tcp://127.0.0.1:99999"), Err(Errno::EINVAL));
        assert_eq!(parse_bind("tcp://:5"), Err(Errno::EINVAL));
    }

    #[test]
    fn tcp_connect_forms() {
        assert_eq!(parse_connect("tcp://127.0.0.1:5555").unwrap(), Endpoint::Tcp("127.0.0.1:5555".parse().unwrap()));
        assert_eq!(parse_connect("tcp://localhost:5555").unwrap(), Endpoint::Tcp("127.0.0.1:5555".parse().unwrap()));
        assert_eq!(parse_connect("tcp://[::1]:7").unwrap(), Endpoint::Tcp("[::1]:7".parse().unwrap()));
        assert_eq!(parse_connect("tcp://127.0.0.1:*"), Err(Errno::EINVAL));
        assert_eq!(parse_connect("tcp://*:5"), Err(Errno::EINVAL));
    }

    #[test]
    fn other_transports() {
        assert_eq!(parse_bind("ipc:///tmp/x").unwrap(), Endpoint::Ipc(IpcPath::File("/tmp/x".into())));
        assert_eq!(parse_bind("ipc://@abc").unwrap(), Endpoint::Ipc(IpcPath::Abstract(b"abc".to_vec())));
        assert_eq!(parse_bind("ipc://*").unwrap(), Endpoint::Ipc(IpcPath::Wildcard));
        assert_eq!(parse_connect("ipc://*"), Err(Errno::EINVAL));
        assert_eq!(parse_bind("inproc://a").unwrap(), Endpoint::Inproc("a".into()));
        assert_eq!(parse_bind("inproc://"), Err(Errno::EINVAL));
        assert_eq!(parse_bind("foo://a"), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(parse_bind("pgm://a"), Err(Errno::EPROTONOSUPPORT));
        assert_eq!(parse_bind("no transport"), Err(Errno::EINVAL));
    }
}
