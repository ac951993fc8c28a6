//! `poll()` over sockets and raw file descriptors, like `zmq_poll`.

use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::socket::Socket;
use crate::types::PollEvents;

/// One entry of a [`poll`] call: a socket or an OS file descriptor, the events of interest,
/// and (after the call) the events that occurred.
#[repr(C)]
pub struct PollItem<'a> {
    socket: Option<&'a Socket>,
    fd: RawFd,
    events: PollEvents,
    revents: PollEvents,
    marker: PhantomData<&'a Socket>,
}

impl std::fmt::Debug for PollItem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollItem").field("fd", &self.fd).field("events", &self.events).finish_non_exhaustive()
    }
}

impl<'a> PollItem<'a> {
    pub(crate) fn from_socket(socket: &'a Socket, events: PollEvents) -> PollItem<'a> {
        PollItem { socket: Some(socket), fd: -1, events, revents: PollEvents::empty(), marker: PhantomData }
    }

    /// An item for any OS file descriptor.
    pub fn from_fd(fd: RawFd, events: PollEvents) -> PollItem<'a> {
        PollItem { socket: None, fd, events, revents: PollEvents::empty(), marker: PhantomData }
    }

    /// For a socket item, adds the wanted events the socket has now.
    fn add_socket_events(&mut self) -> Result<()> {
        if let Some(socket) = self.socket {
            let (pollin, pollout) = socket.pending_events()?;
            if pollin && self.events.contains(PollEvents::POLLIN) {
                self.revents |= PollEvents::POLLIN;
            }
            if pollout && self.events.contains(PollEvents::POLLOUT) {
                self.revents |= PollEvents::POLLOUT;
            }
        }
        Ok(())
    }

    /// Sets the events of interest.
    pub fn set_events(&mut self, events: PollEvents) {
        self.events = events;
    }

    /// The events that occurred in the last poll.
    pub fn get_revents(&self) -> PollEvents {
        self.revents
    }

    /// Whether POLLIN occurred.
    pub fn is_readable(&self) -> bool {
        self.revents.contains(PollEvents::POLLIN)
    }

    /// Whether POLLOUT occurred.
    pub fn is_writable(&self) -> bool {
        self.revents.contains(PollEvents::POLLOUT)
    }

    /// Whether POLLERR occurred.
    pub fn is_error(&self) -> bool {
        self.revents.contains(PollEvents::POLLERR)
    }

    /// Whether this item is for `socket`.
    pub fn has_socket(&self, socket: &Socket) -> bool {
        self.socket.is_some_and(|s| std::ptr::eq(s, socket))
    }

    /// Whether this item is for the file descriptor `fd` (never true for socket items).
    pub fn has_fd(&self, fd: RawFd) -> bool {
        self.socket.is_none() && self.fd == fd
    }
}

/// Waits until at least one item has one of its events, or `timeout_ms` passes (-1: forever,
/// 0: check and return). Returns how many items have events.
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<i32> {
    if items.is_empty() {
        if timeout_ms > 0 {
            std::thread::sleep(Duration::from_millis(timeout_ms as u64));
        }
        return Ok(0);
    }
    let deadline = u64::try_from(timeout_ms).ok().map(|ms| Instant::now() + Duration::from_millis(ms));
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(items.len());
    loop {
        fds.clear();
        for item in items.iter() {
            match item.socket {
                Some(socket) => fds.push(libc::pollfd { fd: socket.signal_fd(), events: libc::POLLIN, revents: 0 }),
                None => {
                    let mut events = 0;
                    if item.events.contains(PollEvents::POLLIN) {
                        events |= libc::POLLIN;
                    }
                    if item.events.contains(PollEvents::POLLOUT) {
                        events |= libc::POLLOUT;
                    }
                    fds.push(libc::pollfd { fd: item.fd, events, revents: 0 });
                }
            }
        }
        // Sockets first: their state is known without waiting.
        for item in items.iter_mut() {
            item.revents = PollEvents::empty();
            item.add_socket_events()?;
        }
        let any_socket_ready = items.iter().any(|i| !i.revents.is_empty());
        let wait = if any_socket_ready {
            Some(Duration::ZERO)
        } else {
            deadline.map(|at| at.saturating_duration_since(Instant::now()))
        };
        rustzmq_transport::poll_fds(&mut fds, wait).map_err(Error::from)?;
        for (item, pfd) in items.iter_mut().zip(&fds) {
            if item.socket.is_none() {
                if pfd.revents & libc::POLLIN != 0 {
                    item.revents |= PollEvents::POLLIN;
                }
                if pfd.revents & libc::POLLOUT != 0 {
                    item.revents |= PollEvents::POLLOUT;
                }
                if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
                    item.revents |= PollEvents::POLLERR;
                }
                item.revents &= item.events | PollEvents::POLLERR;
            }
        }
        for item in items.iter_mut() {
            // A socket woken during the wait: look again.
            item.add_socket_events()?;
        }
        let ready = items.iter().filter(|i| !i.revents.is_empty()).count();
        if ready > 0 || deadline.is_some_and(|at| Instant::now() >= at) {
            return Ok(i32::try_from(ready).unwrap_or(i32::MAX));
        }
    }
}
