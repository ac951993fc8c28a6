//! `proxy` and its variants (`zmq_proxy`, `zmq_proxy_steerable`): forward whole messages
//! between two sockets, optionally copying them to a capture socket and obeying a control
//! socket (PAUSE, RESUME, TERMINATE, STATISTICS as in libzmq 4.3).

use crate::error::Result;
use crate::socket::Socket;
use crate::{poll, Message, DONTWAIT, POLLIN, SNDMORE};

/// Message and byte counts per direction, as STATISTICS reports them.
#[derive(Default)]
struct Stats {
    frontend: SideStats,
    backend: SideStats,
}

#[derive(Default)]
struct SideStats {
    msg_in: u64,
    bytes_in: u64,
    msg_out: u64,
    bytes_out: u64,
}

/// Moves one whole message from `from` to `to` (and `capture`), counting it.
fn forward(from: &Socket, to: &Socket, capture: Option<&Socket>, stats: &mut Stats, from_front: bool) -> Result<()> {
    loop {
        let mut msg = Message::new();
        from.recv(&mut msg, DONTWAIT)?;
        let more = from.get_rcvmore()?;
        let len = msg.len() as u64;
        let (source, sink) = if from_front {
            (&mut stats.frontend, &mut stats.backend)
        } else {
            (&mut stats.backend, &mut stats.frontend)
        };
        source.bytes_in += len;
        sink.bytes_out += len;
        if !more {
            source.msg_in += 1;
            sink.msg_out += 1;
        }
        let flags = if more { SNDMORE } else { 0 };
        if let Some(capture) = capture {
            capture.send(&msg[..], flags)?;
        }
        to.send(msg, flags)?;
        if !more {
            return Ok(());
        }
    }
}

/// What the control socket asked for.
enum Control {
    Continue,
    Terminate,
}

fn handle_control(control: &Socket, paused: &mut bool, stats: &Stats) -> Result<Control> {
    let command = control.recv_bytes(DONTWAIT)?;
    match &command[..] {
        b"PAUSE" => *paused = true,
        b"RESUME" => *paused = false,
        b"TERMINATE" => return Ok(Control::Terminate),
        b"STATISTICS" => {
            let values = [
                stats.frontend.msg_in,
                stats.frontend.bytes_in,
                stats.frontend.msg_out,
                stats.frontend.bytes_out,
                stats.backend.msg_in,
                stats.backend.bytes_in,
                stats.backend.msg_out,
                stats.backend.bytes_out,
            ];
            let parts: Vec<Vec<u8>> = values.iter().map(|v| v.to_ne_bytes().to_vec()).collect();
            control.send_multipart(parts, 0)?;
        }
        // libzmq ignores unknown commands.
        _ => {}
    }
    Ok(Control::Continue)
}

fn run(frontend: &Socket, backend: &Socket, capture: Option<&Socket>, control: Option<&Socket>) -> Result<()> {
    let mut stats = Stats::default();
    let mut paused = false;
    loop {
        let (front_ready, back_ready, control_ready) = {
            let mut items = vec![frontend.as_poll_item(POLLIN), backend.as_poll_item(POLLIN)];
            if let Some(control) = control {
                items.push(control.as_poll_item(POLLIN));
            }
            poll(&mut items, -1)?;
            (items[0].is_readable(), items[1].is_readable(), items.get(2).is_some_and(|i| i.is_readable()))
        };
        if control_ready {
            if let Some(control) = control {
                if let Control::Terminate = handle_control(control, &mut paused, &stats)? {
                    return Ok(());
                }
            }
        }
        if paused {
            continue;
        }
        if front_ready {
            forward(frontend, backend, capture, &mut stats, true)?;
        }
        if back_ready && !std::ptr::eq(frontend, backend) {
            forward(backend, frontend, capture, &mut stats, false)?;
        }
    }
}

/// Forwards messages between `frontend` and `backend` until an error (normally ETERM).
pub fn proxy(frontend: &Socket, backend: &Socket) -> Result<()> {
    run(frontend, backend, None, None)
}

/// Like [`proxy`], also sending a copy of every message to `capture`.
pub fn proxy_with_capture(frontend: &mut Socket, backend: &mut Socket, capture: &mut Socket) -> Result<()> {
    run(frontend, backend, Some(capture), None)
}

/// Like [`proxy`], obeying PAUSE, RESUME, TERMINATE and STATISTICS on `control`;
/// TERMINATE makes it return `Ok(())`.
pub fn proxy_steerable(frontend: &mut Socket, backend: &mut Socket, control: &mut Socket) -> Result<()> {
    run(frontend, backend, None, Some(control))
}

/// [`proxy_steerable`] with a capture socket.
pub fn proxy_steerable_with_capture(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: &mut Socket,
    control: &mut Socket,
) -> Result<()> {
    run(frontend, backend, Some(capture), Some(control))
}
