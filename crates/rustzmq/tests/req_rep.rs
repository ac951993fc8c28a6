//! REQ and REP between rustzmq sockets over inproc, tcp and ipc: the lockstep state machine
//! (EFSM), envelopes, REQ_CORRELATE and REQ_RELAXED, load balancing, REP behind ROUTER and
//! DEALER hops, and a REQ → ROUTER → proxy → DEALER → REP chain. Every receive has a timeout.

use std::time::{Duration, Instant};

use rustzmq as zmq;

mod common;
use common::{bind, socket};

fn parts(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// Request-reply in lockstep, single and multipart, with either side binding.
fn lockstep(transport: &str, rep_binds: bool) {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let rep = socket(&ctx, zmq::REP);
    if rep_binds {
        let endpoint = bind(&rep, transport, "lockstep");
        req.connect(&endpoint).unwrap();
    } else {
        let endpoint = bind(&req, transport, "lockstep");
        rep.connect(&endpoint).unwrap();
    }
    for i in 0..100 {
        req.send(format!("request {i}").as_str(), 0).unwrap();
        assert_eq!(rep.recv_string(0).unwrap().unwrap(), format!("request {i}"));
        assert!(!rep.get_rcvmore().unwrap());
        rep.send(format!("reply {i}").as_str(), 0).unwrap();
        assert_eq!(req.recv_string(0).unwrap().unwrap(), format!("reply {i}"));
    }
    req.send_multipart(["a", "", "c"], 0).unwrap();
    assert_eq!(rep.recv_multipart(0).unwrap(), parts(&["a", "", "c"]));
    rep.send_multipart(["x", "y"], 0).unwrap();
    assert_eq!(req.recv_multipart(0).unwrap(), parts(&["x", "y"]));
    req.send("", 0).unwrap();
    assert_eq!(rep.recv_multipart(0).unwrap(), parts(&[""]));
    rep.send("", 0).unwrap();
    assert_eq!(req.recv_multipart(0).unwrap(), parts(&[""]));
}

#[test]
fn lockstep_inproc() {
    lockstep("inproc", true);
    lockstep("inproc", false);
}

#[test]
fn lockstep_tcp() {
    lockstep("tcp", true);
    lockstep("tcp", false);
}

#[test]
fn lockstep_ipc() {
    lockstep("ipc", true);
    lockstep("ipc", false);
}

#[test]
fn out_of_turn_calls_fail_with_efsm() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let rep = socket(&ctx, zmq::REP);
    rep.bind("inproc://efsm").unwrap();
    req.connect("inproc://efsm").unwrap();

    assert_eq!(req.recv_bytes(0), Err(zmq::Error::EFSM), "REQ receives before sending");
    assert_eq!(rep.send("early", 0), Err(zmq::Error::EFSM), "REP replies before a request");

    req.send_multipart(["one", "two"], 0).unwrap();
    assert_eq!(req.send("again", 0), Err(zmq::Error::EFSM), "REQ sends twice");
    assert_eq!(req.send("again", zmq::DONTWAIT), Err(zmq::Error::EFSM));
    assert_eq!(rep.recv_bytes(0).unwrap(), b"one");
    assert_eq!(rep.send("half-way", 0), Err(zmq::Error::EFSM), "REP replies before the whole request");
    assert_eq!(rep.recv_bytes(0).unwrap(), b"two");
    assert_eq!(rep.recv_bytes(zmq::DONTWAIT), Err(zmq::Error::EFSM), "REP receives before replying");
    rep.send_multipart(["r1", "r2"], 0).unwrap();
    assert_eq!(rep.send("extra", 0), Err(zmq::Error::EFSM), "REP replies twice");
    assert_eq!(req.recv_bytes(0).unwrap(), b"r1");
    assert_eq!(req.send("half-way", 0), Err(zmq::Error::EFSM), "REQ sends before the whole reply");
    assert_eq!(req.recv_bytes(0).unwrap(), b"r2");
    assert_eq!(req.recv_bytes(0), Err(zmq::Error::EFSM), "REQ receives twice");
    req.send("next", 0).unwrap();
    assert_eq!(rep.recv_bytes(0).unwrap(), b"next");
}

#[test]
fn events_follow_the_state_machine() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let rep = socket(&ctx, zmq::REP);
    assert_eq!(req.get_events().unwrap(), zmq::PollEvents::empty(), "unconnected REQ");
    assert_eq!(rep.get_events().unwrap(), zmq::PollEvents::empty(), "unconnected REP");
    rep.bind("inproc://events").unwrap();
    req.connect("inproc://events").unwrap();
    assert_eq!(req.get_events().unwrap(), zmq::POLLOUT);
    req.send("ping", 0).unwrap();
    assert_eq!(req.get_events().unwrap(), zmq::PollEvents::empty(), "waiting for the reply");
    assert_eq!(rep.poll(zmq::POLLIN, 5000).unwrap(), 1);
    assert_eq!(rep.get_events().unwrap(), zmq::POLLIN);
    rep.recv_bytes(0).unwrap();
    assert_eq!(rep.get_events().unwrap(), zmq::POLLOUT, "REP owes a reply");
    rep.send("pong", 0).unwrap();
    assert_eq!(req.poll(zmq::POLLIN, 5000).unwrap(), 1);
    req.recv_bytes(0).unwrap();
    assert_eq!(req.get_events().unwrap(), zmq::POLLOUT);
}

#[test]
fn req_load_balances_and_takes_the_reply_only_from_its_peer() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let rep_a = socket(&ctx, zmq::REP);
    let rep_b = socket(&ctx, zmq::REP);
    rep_a.bind("inproc://a").unwrap();
    rep_b.bind("inproc://b").unwrap();
    req.connect("inproc://a").unwrap();
    req.connect("inproc://b").unwrap();
    let mut served = [0, 0];
    for i in 0..10 {
        req.send(format!("{i}").as_str(), 0).unwrap();
        // Exactly one REP got it; it replies.
        let (index, rep) = if rep_a.poll(zmq::POLLIN, 0).unwrap() == 1 {
            (0, &rep_a)
        } else {
            assert_eq!(rep_b.poll(zmq::POLLIN, 5000).unwrap(), 1);
            (1, &rep_b)
        };
        served[index] += 1;
        assert_eq!(rep.recv_string(0).unwrap().unwrap(), format!("{i}"));
        rep.send(format!("reply {i}").as_str(), 0).unwrap();
        assert_eq!(req.recv_string(0).unwrap().unwrap(), format!("reply {i}"));
    }
    assert_eq!(served, [5, 5], "round robin over the two peers");
}

/// A ROUTER playing the server for a REQ: returns (routing id, envelope frames, body).
fn router_recv(router: &zmq::Socket) -> Vec<Vec<u8>> {
    router.recv_multipart(0).unwrap()
}

#[test]
fn req_drops_replies_without_the_delimiter_or_from_other_peers() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let router = socket(&ctx, zmq::ROUTER);
    let other = socket(&ctx, zmq::ROUTER);
    router.bind("inproc://server").unwrap();
    other.bind("inproc://other").unwrap();
    req.set_identity(b"client").unwrap();
    req.connect("inproc://server").unwrap();
    req.connect("inproc://other").unwrap();

    // The first request goes to the first peer (round robin starts there).
    req.send("hello", 0).unwrap();
    let request = router_recv(&router);
    assert_eq!(request, parts(&["client", "", "hello"]), "REQ puts a delimiter first");
    // The other server answers with a well-formed reply: not from the request's pipe.
    other.send_multipart(["client", "", "impostor"], 0).unwrap();
    // Malformed replies from the right peer: no delimiter, or a non-empty first frame.
    router.send_multipart(["client", "no delimiter"], 0).unwrap();
    router.send_multipart(["client", "x", "", "bad first frame"], 0).unwrap();
    router.send_multipart(["client", "", "good", "reply"], 0).unwrap();
    assert_eq!(req.recv_multipart(0).unwrap(), parts(&["good", "reply"]));
}

#[test]
fn req_correlate_matches_request_ids() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let router = socket(&ctx, zmq::ROUTER);
    router.bind("inproc://correlate").unwrap();
    req.set_identity(b"client").unwrap();
    req.set_req_correlate(true).unwrap();
    req.connect("inproc://correlate").unwrap();

    req.send("first", 0).unwrap();
    let request = router_recv(&router);
    assert_eq!(request.len(), 4, "routing id, request id, delimiter, body");
    assert_eq!(request[1].len(), 4, "a 4-byte request id");
    assert_eq!(request[2], b"");
    assert_eq!(request[3], b"first");
    let id = u32::from_ne_bytes(request[1].clone().try_into().unwrap());

    let wrong = (id.wrapping_add(7)).to_ne_bytes();
    router.send_multipart([&b"client"[..], &wrong[..], b"", b"stale"], 0).unwrap();
    router.send_multipart([&b"client"[..], b"", b"no id"], 0).unwrap();
    router.send_multipart([&b"client"[..], &request[1][..], b"", b"matched"], 0).unwrap();
    assert_eq!(req.recv_multipart(0).unwrap(), parts(&["matched"]));

    req.send("second", 0).unwrap();
    let request = router_recv(&router);
    let next = u32::from_ne_bytes(request[1].clone().try_into().unwrap());
    assert_eq!(next, id.wrapping_add(1), "ids count up");
}

#[test]
fn req_relaxed_allows_a_new_request_and_drops_the_old_reply() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let router = socket(&ctx, zmq::ROUTER);
    router.bind("inproc://relaxed").unwrap();
    req.set_identity(b"client").unwrap();
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.connect("inproc://relaxed").unwrap();

    req.send("first", 0).unwrap();
    assert_eq!(req.get_events().unwrap() & zmq::POLLOUT, zmq::POLLOUT, "relaxed REQ may send again");
    req.send("second", 0).unwrap();
    let first = router_recv(&router);
    let second = router_recv(&router);
    assert_eq!(first[3], b"first");
    assert_eq!(second[3], b"second");
    // The late reply to the first request is dropped; the second one is taken.
    router.send_multipart([&first[0][..], &first[1][..], b"", b"reply 1"], 0).unwrap();
    router.send_multipart([&second[0][..], &second[1][..], b"", b"reply 2"], 0).unwrap();
    assert_eq!(req.recv_multipart(0).unwrap(), parts(&["reply 2"]));
}

#[test]
fn req_relaxed_without_correlate_resends() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let rep = socket(&ctx, zmq::REP);
    rep.bind("inproc://relaxed-plain").unwrap();
    req.set_req_relaxed(true).unwrap();
    req.connect("inproc://relaxed-plain").unwrap();
    req.send("lost", 0).unwrap();
    req.send("retry", 0).unwrap();
    assert_eq!(rep.recv_string(0).unwrap().unwrap(), "lost");
    rep.send("reply to lost", 0).unwrap();
    assert_eq!(rep.recv_string(0).unwrap().unwrap(), "retry");
    rep.send("reply to retry", 0).unwrap();
    // Without REQ_CORRELATE nothing tells the replies apart: the reply to the abandoned
    // request arrived after "retry" went out, so it is taken as the reply (as in libzmq).
    assert_eq!(req.recv_string(0).unwrap().unwrap(), "reply to lost");
    assert_eq!(req.recv_bytes(0), Err(zmq::Error::EFSM));
}

#[test]
fn rep_keeps_multi_hop_envelopes_and_skips_malformed_requests() {
    let ctx = zmq::Context::new();
    let dealer = socket(&ctx, zmq::DEALER);
    let rep = socket(&ctx, zmq::REP);
    rep.bind("inproc://hops").unwrap();
    dealer.connect("inproc://hops").unwrap();
    dealer.send("no envelope at all", 0).unwrap();
    dealer.send_multipart(["hop", "no delimiter"], 0).unwrap();
    dealer.send_multipart(["hop1", "hop2", "", "body", "more"], 0).unwrap();
    assert_eq!(rep.recv_multipart(0).unwrap(), parts(&["body", "more"]));
    rep.send_multipart(["re", "ply"], 0).unwrap();
    assert_eq!(dealer.recv_multipart(0).unwrap(), parts(&["hop1", "hop2", "", "re", "ply"]));
}

#[test]
fn rep_fair_queues_and_replies_to_each_requester() {
    let ctx = zmq::Context::new();
    let rep = socket(&ctx, zmq::REP);
    let endpoint = bind(&rep, "tcp", "");
    let clients: Vec<zmq::Socket> = (0..3).map(|_| socket(&ctx, zmq::REQ)).collect();
    for (i, client) in clients.iter().enumerate() {
        client.connect(&endpoint).unwrap();
        client.send(format!("{i}").as_str(), 0).unwrap();
    }
    for _ in 0..3 {
        let request = rep.recv_string(0).unwrap().unwrap();
        rep.send(format!("for {request}").as_str(), 0).unwrap();
    }
    for (i, client) in clients.iter().enumerate() {
        assert_eq!(client.recv_string(0).unwrap().unwrap(), format!("for {i}"));
    }
}

#[test]
fn options_belong_to_their_socket_types() {
    let ctx = zmq::Context::new();
    let req = socket(&ctx, zmq::REQ);
    let rep = socket(&ctx, zmq::REP);
    let push = socket(&ctx, zmq::PUSH);
    req.set_req_relaxed(false).unwrap();
    req.set_req_correlate(false).unwrap();
    req.set_probe_router(true).unwrap();
    rep.set_probe_router(false).unwrap();
    rep.set_router_mandatory(true).unwrap();
    rep.set_router_handover(true).unwrap();
    assert_eq!(rep.set_req_relaxed(true), Err(zmq::Error::EINVAL));
    assert_eq!(rep.set_req_correlate(true), Err(zmq::Error::EINVAL));
    assert_eq!(req.set_router_mandatory(true), Err(zmq::Error::EINVAL));
    assert_eq!(req.set_router_handover(true), Err(zmq::Error::EINVAL));
    assert_eq!(push.set_probe_router(true), Err(zmq::Error::EINVAL));
    assert_eq!(push.set_req_relaxed(true), Err(zmq::Error::EINVAL));
    assert_eq!(req.is_probe_router(), Err(zmq::Error::EINVAL), "write-only");
}

#[test]
fn req_router_dealer_rep_chain_through_a_proxy() {
    let mut ctx = zmq::Context::new();
    let frontend = socket(&ctx, zmq::ROUTER);
    let backend = socket(&ctx, zmq::DEALER);
    frontend.set_rcvtimeo(-1).unwrap();
    backend.set_rcvtimeo(-1).unwrap();
    let front = bind(&frontend, "tcp", "");
    backend.bind("inproc://workers").unwrap();
    let broker = std::thread::spawn(move || {
        let result = zmq::proxy(&frontend, &backend);
        // The sockets must close here for the context to finish terminating.
        drop(frontend);
        drop(backend);
        result
    });

    let workers: Vec<zmq::Socket> = (0..2).map(|_| socket(&ctx, zmq::REP)).collect();
    for worker in &workers {
        worker.connect("inproc://workers").unwrap();
    }
    let clients: Vec<zmq::Socket> = (0..4).map(|_| socket(&ctx, zmq::REQ)).collect();
    for client in &clients {
        client.connect(&front).unwrap();
    }
    for round in 0..5 {
        for (i, client) in clients.iter().enumerate() {
            client
                .send_multipart([format!("client {i}").into_bytes(), format!("round {round}").into_bytes()], 0)
                .unwrap();
        }
        let mut answered = 0;
        let deadline = Instant::now() + Duration::from_secs(10);
        while answered < clients.len() {
            assert!(Instant::now() < deadline, "requests did not reach the workers");
            for worker in &workers {
                if worker.poll(zmq::POLLIN, 10).unwrap() == 1 {
                    let request = worker.recv_multipart(0).unwrap();
                    assert_eq!(request.len(), 2);
                    let mut reply = request.clone();
                    reply.push(b"done".to_vec());
                    worker.send_multipart(reply, 0).unwrap();
                    answered += 1;
                }
            }
        }
        for (i, client) in clients.iter().enumerate() {
            let reply = client.recv_multipart(0).unwrap();
            assert_eq!(
                reply,
                vec![format!("client {i}").into_bytes(), format!("round {round}").into_bytes(), b"done".to_vec()]
            );
        }
    }
    drop(clients);
    drop(workers);
    ctx.destroy().unwrap();
    assert_eq!(broker.join().unwrap(), Err(zmq::Error::ETERM));
}
