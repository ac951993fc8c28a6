//! DEALER and ROUTER between rustzmq sockets over inproc, tcp and ipc: routing ids (set and
//! generated), ROUTER_MANDATORY (EHOSTUNREACH, EAGAIN at the high-water mark), silent drops
//! without it, ROUTER_HANDOVER, PROBE_ROUTER, events, load balancing and fair queueing.
//! Every receive has a timeout; waits for connections are bounded retry loops.

use std::time::{Duration, Instant};

use rustzmq as zmq;

mod common;
use common::{bind, socket, TIMEOUT};

fn parts(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|p| p.to_vec()).collect()
}

/// Sends to `routing_id` through a ROUTER_MANDATORY router until the peer is known (its
/// handshake done), within a deadline.
fn send_when_routable(router: &zmq::Socket, routing_id: &[u8], body: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match router.send_multipart([routing_id, body], zmq::DONTWAIT) {
            Ok(()) => return,
            Err(zmq::Error::EHOSTUNREACH) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("send to {routing_id:?}: {error}"),
        }
    }
}

/// A DEALER with an identity talks to a ROUTER, which answers by that identity.
fn identity_round_trip(transport: &str, router_binds: bool) {
    let ctx = zmq::Context::new();
    let router = socket(&ctx, zmq::ROUTER);
    let dealer = socket(&ctx, zmq::DEALER);
    dealer.set_identity(b"dealer-1").unwrap();
    if router_binds {
        let endpoint = bind(&router, transport, "identity");
        dealer.connect(&endpoint).unwrap();
    } else {
        let endpoint = bind(&dealer, transport, "identity");
        router.connect(&endpoint).unwrap();
    }
    dealer.send_multipart([&b"hello"[..], b"", b"world"], 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), parts(&[b"dealer-1", b"hello", b"", b"world"]));
    for i in 0..100u32 {
        router.send_multipart([&b"dealer-1"[..], &i.to_le_bytes()], 0).unwrap();
    }
    for i in 0..100u32 {
        assert_eq!(dealer.recv_multipart(0).unwrap(), vec![i.to_le_bytes().to_vec()]);
    }
}

#[test]
fn identity_round_trip_inproc() {
    identity_round_trip("inproc", true);
    identity_round_trip("inproc", false);
}

#[test]
fn identity_round_trip_tcp() {
    identity_round_trip("tcp", true);
    identity_round_trip("tcp", false);
}

#[test]
fn identity_round_trip_ipc() {
    identity_round_trip("ipc", true);
    identity_round_trip("ipc", false);
}

#[test]
fn generated_routing_ids_are_five_bytes_starting_with_zero() {
    for transport in ["inproc", "tcp"] {
        let ctx = zmq::Context::new();
        let router = socket(&ctx, zmq::ROUTER);
        let endpoint = bind(&router, transport, "generated");
        let dealers: Vec<zmq::Socket> = (0..3).map(|_| socket(&ctx, zmq::DEALER)).collect();
        let mut ids = Vec::new();
        for (i, dealer) in dealers.iter().enumerate() {
            dealer.connect(&endpoint).unwrap();
            dealer.send(format!("{i}").as_str(), 0).unwrap();
            let message = router.recv_multipart(0).unwrap();
            assert_eq!(message[1], format!("{i}").into_bytes());
            let id = message[0].clone();
            assert_eq!(id.len(), 5, "{transport}: {id:?}");
            assert_eq!(id[0], 0, "{transport}: {id:?}");
            ids.push(id);
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "distinct ids");
        // Replies reach each dealer by its generated id.
        let message = {
            dealers[1].send("again", 0).unwrap();
            router.recv_multipart(0).unwrap()
        };
        router.send_multipart([&message[0][..], b"back"], 0).unwrap();
        assert_eq!(dealers[1].recv_bytes(0).unwrap(), b"back");
    }
}

#[test]
fn router_to_router_with_identities_over_tcp() {
    let ctx = zmq::Context::new();
    let server = socket(&ctx, zmq::ROUTER);
    let client = socket(&ctx, zmq::ROUTER);
    server.set_identity(b"server").unwrap();
    client.set_identity(b"client").unwrap();
    client.set_router_mandatory(true).unwrap();
    let endpoint = bind(&server, "tcp", "");
    client.connect(&endpoint).unwrap();
    send_when_routable(&client, b"server", b"hi");
    assert_eq!(server.recv_multipart(0).unwrap(), parts(&[b"client", b"hi"]));
    server.send_multipart([&b"client"[..], b"hi back"], 0).unwrap();
    assert_eq!(client.recv_multipart(0).unwrap(), parts(&[b"server", b"hi back"]));
}

#[test]
fn unroutable_messages_are_dropped_or_fail_with_mandatory() {
    let ctx = zmq::Context::new();
    let router = socket(&ctx, zmq::ROUTER);
    let dealer = socket(&ctx, zmq::DEALER);
    router.bind("inproc://mandatory").unwrap();
    dealer.set_identity(b"known").unwrap();
    dealer.connect("inproc://mandatory").unwrap();

    router.send_multipart([&b"nobody"[..], b"lost"], 0).unwrap();
    router.send("a lone routing id is ignored", 0).unwrap();
    router.set_router_mandatory(true).unwrap();
    assert_eq!(router.send_multipart([&b"nobody"[..], b"x"], 0), Err(zmq::Error::EHOSTUNREACH));
    router.send("a lone routing id is still ignored", 0).unwrap();
    router.send_multipart([&b"known"[..], b"delivered"], 0).unwrap();
    assert_eq!(dealer.recv_bytes(0).unwrap(), b"delivered");
    assert!(dealer.poll(zmq::POLLIN, 50).unwrap() == 0, "nothing else arrived");

    // A peer that went away becomes unroutable.
    drop(dealer);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match router.send_multipart([&b"known"[..], b"gone?"], zmq::DONTWAIT) {
            Err(zmq::Error::EHOSTUNREACH) => break,
            Ok(()) | Err(zmq::Error::EAGAIN) => {
                assert!(Instant::now() < deadline, "departed peer still routable");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("{error}"),
        }
    }
}

#[test]
fn mandatory_router_at_the_high_water_mark_reports_eagain_and_waits() {
    let ctx = zmq::Context::new();
    let router = socket(&ctx, zmq::ROUTER);
    let dealer = socket(&ctx, zmq::DEALER);
    router.set_sndhwm(2).unwrap();
    dealer.set_rcvhwm(2).unwrap();
    router.set_router_mandatory(true).unwrap();
    router.bind("inproc://hwm").unwrap();
    dealer.set_identity(b"slow").unwrap();
    dealer.connect("inproc://hwm").unwrap();
    assert_eq!(router.get_events().unwrap() & zmq::POLLOUT, zmq::POLLOUT);

    let mut sent = 0;
    loop {
        match router.send_multipart([&b"slow"[..], b"m"], zmq::DONTWAIT) {
            Ok(()) => sent += 1,
            Err(zmq::Error::EAGAIN) => break,
            Err(error) => panic!("{error}"),
        }
        assert!(sent <= 100, "the high-water mark never stopped the router");
    }
    assert!(sent >= 2, "sent {sent}");
    assert_eq!(router.get_events().unwrap() & zmq::POLLOUT, zmq::PollEvents::empty(), "its only peer is full");

    // A blocking send waits for room: it times out while nobody reads...
    router.set_sndtimeo(50).unwrap();
    let start = Instant::now();
    assert_eq!(router.send_multipart([&b"slow"[..], b"m"], 0), Err(zmq::Error::EAGAIN));
    assert!(start.elapsed() >= Duration::from_millis(40));
    // ...and goes through once the dealer reads.
    router.set_sndtimeo(TIMEOUT).unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = 0;
        while dealer.recv_bytes(0).is_ok() {
            got += 1;
            if got == sent + 1 {
                break;
            }
        }
        got
    });
    router.send_multipart([&b"slow"[..], b"m"], 0).unwrap();
    assert_eq!(reader.join().unwrap(), sent + 1);
}

#[test]
fn router_drops_silently_for_a_full_peer_without_mandatory() {
    let ctx = zmq::Context::new();
    let router = socket(&ctx, zmq::ROUTER);
    let dealer = socket(&ctx, zmq::DEALER);
    router.set_sndhwm(2).unwrap();
    dealer.set_rcvhwm(2).unwrap();
    router.bind("inproc://drop").unwrap();
    dealer.set_identity(b"slow").unwrap();
    dealer.connect("inproc://drop").unwrap();
    for i in 0..100u32 {
        router.send_multipart([&b"slow"[..], &i.to_le_bytes()], zmq::DONTWAIT).unwrap();
    }
    let mut received = Vec::new();
    while dealer.poll(zmq::POLLIN, 50).unwrap() == 1 {
        received.push(dealer.recv_bytes(0).unwrap());
    }
    assert!(!received.is_empty() && received.len() < 100, "{} of 100 arrived", received.len());
    assert_eq!(received[0], 0u32.to_le_bytes(), "the first ones arrive, later ones are dropped");
}

#[test]
fn duplicate_routing_id_is_ignored_without_handover() {
    let ctx = zmq::Context::new();
    let router = socket(&ctx, zmq::ROUTER);
    router.bind("inproc://duplicate").unwrap();
    let first = socket(&ctx, zmq::DEALER);
    first.set_identity(b"same").unwrap();
    first.connect("inproc://duplicate").unwrap();
    first.send("from first", 0).unwrap();
    assert_eq!(router.recv_multipart(0).unwrap(), parts(&[b"same", b"from first"]));

    let second = socket(&ctx, zmq::DEALER);
    second.set_identity(b"same").unwrap();
    second.connect("inproc://duplicate").unwrap();
    second.send("from second", 0).unwrap();
    first.send("first again", 0).unwrap();
    // The second peer is ignored: its message never shows, replies go to the first.
    assert_eq!(router.recv_multipart(0).unwrap(), parts(&[b"same", b"first again"]));
    router.send_multipart([&b"same"[..], b"reply"], 0).unwrap();
    assert_eq!(first.recv_bytes(0).unwrap(), b"reply");
    assert_eq!(second.poll(zmq::POLLIN, 50).unwrap(), 0);
}

#[test]
fn handover_gives_the_routing_id_to_the_new_peer() {
    for transport in ["inproc", "tcp"] {
        let ctx = zmq::Context::new();
        let router = socket(&ctx, zmq::ROUTER);
        router.set_router_handover(true).unwrap();
        let endpoint = bind(&router, transport, "handover");
        let first = socket(&ctx, zmq::DEALER);
        first.set_identity(b"same").unwrap();
        first.connect(&endpoint).unwrap();
        first.send("from first", 0).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap(), parts(&[b"same", b"from first"]));

        let second = socket(&ctx, zmq::DEALER);
        second.set_identity(b"same").unwrap();
        second.connect(&endpoint).unwrap();
        second.send("from second", 0).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap(), parts(&[b"same", b"from second"]), "{transport}");
        router.send_multipart([&b"same"[..], b"to the new one"], 0).unwrap();
        assert_eq!(second.recv_bytes(0).unwrap(), b"to the new one", "{transport}");
        assert_eq!(first.poll(zmq::POLLIN, 50).unwrap(), 0, "{transport}");
    }
}

#[test]
fn probe_router_sends_an_empty_message_to_new_peers() {
    for transport in ["inproc", "tcp"] {
        let ctx = zmq::Context::new();
        // A probing DEALER connecting to a ROUTER.
        let router = socket(&ctx, zmq::ROUTER);
        let endpoint = bind(&router, transport, "probe");
        let dealer = socket(&ctx, zmq::DEALER);
        dealer.set_identity(b"prober").unwrap();
        dealer.set_probe_router(true).unwrap();
        dealer.connect(&endpoint).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap(), parts(&[b"prober", b""]), "{transport}");

        // A probing ROUTER connecting to a ROUTER: the server learns the client's id at once.
        let client = socket(&ctx, zmq::ROUTER);
        client.set_identity(b"router-client").unwrap();
        client.set_probe_router(true).unwrap();
        client.connect(&endpoint).unwrap();
        assert_eq!(router.recv_multipart(0).unwrap(), parts(&[b"router-client", b""]), "{transport}");

        // A probing ROUTER that binds probes each DEALER that connects.
        let server = socket(&ctx, zmq::ROUTER);
        server.set_probe_router(true).unwrap();
        let endpoint = bind(&server, transport, "probe-server");
        let plain = socket(&ctx, zmq::DEALER);
        plain.connect(&endpoint).unwrap();
        // The server attaches the new peer (and probes it) when it next handles its
        // commands, in any call, as in libzmq.
        let deadline = Instant::now() + Duration::from_secs(10);
        while plain.poll(zmq::POLLIN, 10).unwrap() == 0 {
            assert!(Instant::now() < deadline, "{transport}: no probe");
            server.get_events().unwrap();
        }
        assert_eq!(plain.recv_multipart(0).unwrap(), parts(&[b""]), "{transport}");
    }
}

#[test]
fn events_of_unconnected_and_connected_sockets() {
    let ctx = zmq::Context::new();
    let router = socket(&ctx, zmq::ROUTER);
    let dealer = socket(&ctx, zmq::DEALER);
    assert_eq!(router.get_events().unwrap(), zmq::POLLOUT, "a ROUTER can always send");
    assert_eq!(dealer.get_events().unwrap(), zmq::PollEvents::empty(), "a DEALER needs a peer");
    router.set_router_mandatory(true).unwrap();
    assert_eq!(router.get_events().unwrap(), zmq::PollEvents::empty(), "mandatory: no peer, no POLLOUT");
    router.bind("inproc://events").unwrap();
    dealer.connect("inproc://events").unwrap();
    assert_eq!(dealer.get_events().unwrap(), zmq::POLLOUT);
    dealer.send("x", 0).unwrap();
    assert_eq!(router.poll(zmq::POLLIN, 5000).unwrap(), 1);
    assert_eq!(router.get_events().unwrap(), zmq::POLLIN | zmq::POLLOUT);
}

#[test]
fn dealer_load_balances_and_fair_queues() {
    let ctx = zmq::Context::new();
    let dealer = socket(&ctx, zmq::DEALER);
    let routers: Vec<zmq::Socket> = (0..3).map(|_| socket(&ctx, zmq::ROUTER)).collect();
    for (i, router) in routers.iter().enumerate() {
        router.bind(&format!("inproc://lb{i}")).unwrap();
        dealer.connect(&format!("inproc://lb{i}")).unwrap();
    }
    for i in 0..9u8 {
        dealer.send_multipart([&[i][..], b"part"], 0).unwrap();
    }
    for (i, router) in routers.iter().enumerate() {
        for round in 0..3u8 {
            let message = router.recv_multipart(0).unwrap();
            assert_eq!(message[1..], parts(&[&[round * 3 + i as u8], b"part"]));
        }
        assert_eq!(router.poll(zmq::POLLIN, 0).unwrap(), 0);
    }
    // Each router sends three replies; the dealer takes them in turn.
    let ids: Vec<Vec<u8>> = routers
        .iter()
        .map(|router| {
            dealer.send("id?", 0).unwrap();
            router.recv_multipart(0).unwrap()[0].clone()
        })
        .collect();
    for (i, router) in routers.iter().enumerate() {
        for round in 0..3u8 {
            router.send_multipart([&ids[i][..], &[i as u8, round]], 0).unwrap();
        }
    }
    let mut received = Vec::new();
    for _ in 0..9 {
        received.push(dealer.recv_bytes(0).unwrap());
    }
    assert_eq!(received[..3].iter().map(|m| m[1]).collect::<Vec<_>>(), vec![0, 0, 0], "one of each first");
    let mut sorted = received.clone();
    sorted.sort();
    assert_eq!(sorted.len(), 9);
}

#[test]
fn dealer_dealer_and_router_metadata_free_frames() {
    let ctx = zmq::Context::new();
    let a = socket(&ctx, zmq::DEALER);
    let b = socket(&ctx, zmq::DEALER);
    let endpoint = bind(&a, "tcp", "");
    b.connect(&endpoint).unwrap();
    b.send_multipart([&b"x"[..], b"", b"y"], 0).unwrap();
    assert_eq!(a.recv_multipart(0).unwrap(), parts(&[b"x", b"", b"y"]));
    a.send("back", 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"back");
}

#[test]
fn options_of_dealer_and_router() {
    let ctx = zmq::Context::new();
    let dealer = socket(&ctx, zmq::DEALER);
    let router = socket(&ctx, zmq::ROUTER);
    dealer.set_probe_router(false).unwrap();
    router.set_probe_router(false).unwrap();
    router.set_router_mandatory(false).unwrap();
    router.set_router_handover(false).unwrap();
    assert_eq!(dealer.set_router_mandatory(true), Err(zmq::Error::EINVAL));
    assert_eq!(dealer.set_router_handover(true), Err(zmq::Error::EINVAL));
    assert_eq!(dealer.set_req_correlate(true), Err(zmq::Error::EINVAL));
    assert_eq!(router.set_req_relaxed(true), Err(zmq::Error::EINVAL));
    assert_eq!(router.is_router_mandatory(), Err(zmq::Error::EINVAL), "write-only");
}
