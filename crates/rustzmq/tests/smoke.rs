//! First end-to-end checks: PUSH/PULL and PAIR over tcp, ipc and inproc.

use std::time::Duration;

fn exchange(bind: &str, connect: Option<&str>) {
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind(bind).unwrap();
    let endpoint = match connect {
        Some(e) => e.to_owned(),
        None => pull.get_last_endpoint().unwrap().unwrap(),
    };
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.connect(&endpoint).unwrap();
    for i in 0..1000 {
        push.send(format!("message {i}").as_str(), 0).unwrap();
    }
    push.send_multipart(["a", "b", "c"], 0).unwrap();
    for i in 0..1000 {
        assert_eq!(pull.recv_string(0).unwrap().unwrap(), format!("message {i}"));
    }
    assert_eq!(pull.recv_multipart(0).unwrap(), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
}

extern crate rustzmq as zmq;

#[test]
fn push_pull_tcp() {
    exchange("tcp://127.0.0.1:*", None);
}

#[test]
fn push_pull_ipc() {
    exchange("ipc://*", None);
}

#[test]
fn push_pull_inproc() {
    exchange("inproc://smoke", Some("inproc://smoke"));
}

#[test]
fn pair_tcp_both_ways() {
    let ctx = zmq::Context::new();
    let a = ctx.socket(zmq::PAIR).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let b = ctx.socket(zmq::PAIR).unwrap();
    b.connect(&a.get_last_endpoint().unwrap().unwrap()).unwrap();
    a.set_rcvtimeo(5000).unwrap();
    b.set_rcvtimeo(5000).unwrap();
    b.send("ping", 0).unwrap();
    assert_eq!(a.recv_string(0).unwrap().unwrap(), "ping");
    a.send("pong", 0).unwrap();
    assert_eq!(b.recv_string(0).unwrap().unwrap(), "pong");
    let _ = Duration::ZERO;
}
