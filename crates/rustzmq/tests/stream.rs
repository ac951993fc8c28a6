//! STREAM sockets with raw TCP peers: notices, data both ways, closing by empty message.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use rustzmq as zmq;

fn recv_pair(socket: &zmq::Socket) -> (Vec<u8>, Vec<u8>) {
    let parts = socket.recv_multipart(0).unwrap();
    assert_eq!(parts.len(), 2, "[routing id, data]");
    (parts[0].clone(), parts[1].clone())
}

#[test]
fn stream_server_with_a_raw_tcp_client() {
    let ctx = zmq::Context::new();
    let server = ctx.socket(zmq::STREAM).unwrap();
    server.set_rcvtimeo(5000).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();
    assert!(server.get_events().unwrap().contains(zmq::POLLOUT), "STREAM is always writable");

    let mut client = TcpStream::connect(endpoint.trim_start_matches("tcp://")).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (id, data) = recv_pair(&server);
    assert_eq!((id.len(), id[0], data.len()), (5, 0, 0), "connection notice");

    client.write_all(b"hello").unwrap();
    let (same_id, data) = recv_pair(&server);
    assert_eq!((same_id.as_slice(), data.as_slice()), (id.as_slice(), &b"hello"[..]));

    server.send(&id[..], zmq::SNDMORE).unwrap();
    server.send("world", 0).unwrap();
    let mut buf = [0u8; 5];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"world");

    // An empty data frame closes the connection.
    server.send(&id[..], zmq::SNDMORE).unwrap();
    server.send("", 0).unwrap();
    assert_eq!(client.read(&mut buf).unwrap(), 0, "closed by the server");
    assert_eq!(server.send("unknown", zmq::SNDMORE), Err(zmq::Error::EHOSTUNREACH));
}

#[test]
fn stream_notices_peer_disconnection_and_connects_out() {
    let ctx = zmq::Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let stream = ctx.socket(zmq::STREAM).unwrap();
    stream.set_rcvtimeo(5000).unwrap();
    stream.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    let (id, data) = recv_pair(&stream);
    assert!(data.is_empty(), "connection notice");
    peer.write_all(b"raw bytes").unwrap();
    assert_eq!(recv_pair(&stream), (id.clone(), b"raw bytes".to_vec()));
    drop(peer);
    assert_eq!(recv_pair(&stream), (id, Vec::new()), "disconnection notice");
}
