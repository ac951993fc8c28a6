//! Deterministic in-memory handshakes: a client and a server state machine talking to each
//! other (commands through their wire form), for NULL, PLAIN and CURVE, with and without ZAP,
//! and with hostile input: truncation at every length, commands out of order, tampered boxes,
//! replayed nonces.

mod common;

use bytes::Bytes;
use common::{body, run, CountingRng, XorShift};
use rustzmq_codec::{Command, Metadata};
use rustzmq_security::{
    CommandKind, Config, CurveClient, CurveKeyPair, CurvePublicKey, CurveSecretKey, CurveServer, Mechanism,
    MechanismError, MechanismState, NullMechanism, PlainClient, PlainServer, Security, SocketProperties, Status,
    ZapConfig, ZapReply, ZapRequest, ZapStatus, MESSAGE_COMMAND, MESSAGE_MORE,
};

// The example keys of libzmq's zmq_curve(7) manual page.
const CLIENT_PUBLIC: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const CLIENT_SECRET: &str = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const SERVER_PUBLIC: &str = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SERVER_SECRET: &str = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

fn client_keys() -> CurveKeyPair {
    CurveKeyPair::from_secret(CurveSecretKey::from_z85(CLIENT_SECRET).unwrap())
}

fn server_secret() -> CurveSecretKey {
    CurveSecretKey::from_z85(SERVER_SECRET).unwrap()
}

fn server_public() -> CurvePublicKey {
    CurvePublicKey::from_z85(SERVER_PUBLIC).unwrap()
}

fn with_handler() -> ZapConfig {
    ZapConfig {
        domain: Bytes::from_static(b"global"),
        address: Bytes::from_static(b"127.0.0.1"),
        handler_present: true,
        enforce_domain: false,
    }
}

fn curve_pair(zap: ZapConfig) -> (CurveClient, CurveServer) {
    let client = CurveClient::with_rng(
        SocketProperties::new("DEALER").with_routing_id(&b"client-1"[..]),
        client_keys(),
        server_public(),
        &mut CountingRng(0),
    )
    .unwrap();
    let server =
        CurveServer::with_rng(SocketProperties::new("ROUTER"), server_secret(), zap, &mut CountingRng(100)).unwrap();
    (client, server)
}

fn accept_all(request: &ZapRequest) -> ZapReply {
    let mut reply = request.reply(ZapStatus::Success, "OK", "user");
    reply.metadata.insert(&b"X-Zap"[..], &b"yes"[..]).unwrap();
    reply
}

fn socket_type(m: &dyn Mechanism) -> Bytes {
    m.peer_metadata().unwrap().get("Socket-Type").unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// NULL

#[test]
fn null_handshake_exchanges_metadata() {
    let mut app = Metadata::new();
    app.insert(&b"X-Hello"[..], &b"world"[..]).unwrap();
    let mut a = NullMechanism::new(
        SocketProperties::new("REQ").with_routing_id(&b"id"[..]).with_app_metadata(app),
        ZapConfig::default(),
    )
    .unwrap();
    let mut b = NullMechanism::new(SocketProperties::new("REP"), ZapConfig::default()).unwrap();
    let t = run(&mut a, &mut b, None);
    assert_eq!((a.status(), b.status()), (Status::Ready, Status::Ready));
    assert!(t.zap_requests.is_empty());
    // libzmq's order: Socket-Type, Identity (REQ/DEALER/ROUTER only), application metadata.
    assert_eq!(
        body(&t.client_sent[0]),
        &b"\x05READY\x0bSocket-Type\x00\x00\x00\x03REQ\x08Identity\x00\x00\x00\x02id\x07X-Hello\x00\x00\x00\x05world"[..]
    );
    assert_eq!(body(&t.server_sent[0]), &b"\x05READY\x0bSocket-Type\x00\x00\x00\x03REP"[..]);
    assert_eq!(socket_type(&b), &b"REQ"[..]);
    assert_eq!(b.peer_metadata().unwrap().get("X-Hello").unwrap(), &b"world"[..]);
    assert!(!a.encrypts());
    assert_eq!(a.encode_message(0, b"x"), Err(MechanismError::NotEncrypting));
    // A second READY is out of order.
    assert!(matches!(b.process_command(&t.client_sent[0]), Err(MechanismError::UnexpectedCommand { .. })));
    assert_eq!(b.status(), Status::Failed);
}

#[test]
fn null_with_zap_domain_waits_for_the_handler() {
    let mut client = NullMechanism::new(SocketProperties::new("PUSH"), ZapConfig::default()).unwrap();
    let mut server = NullMechanism::new(SocketProperties::new("PULL"), with_handler()).unwrap();
    // No READY before the handler has answered.
    assert!(server.next_command().is_none());
    assert!(server.awaiting_zap_reply());
    let t = run(&mut client, &mut server, Some(&mut accept_all));
    assert_eq!((client.status(), server.status()), (Status::Ready, Status::Ready));
    let request = &t.zap_requests[0];
    assert_eq!(request.mechanism, &b"NULL"[..]);
    assert!(request.credentials.is_empty());
    assert_eq!(request.to_frames().len(), 7, "delimiter + 6 frames, no credentials");
    assert_eq!(server.zap_reply().unwrap().user_id, &b"user"[..]);
}

#[test]
fn null_zap_refusals_follow_libzmq() {
    // 400: ERROR "400" goes out, both sides fail.
    let mut client = NullMechanism::new(SocketProperties::new("PUSH"), ZapConfig::default()).unwrap();
    let mut server = NullMechanism::new(SocketProperties::new("PULL"), with_handler()).unwrap();
    let t =
        run(&mut client, &mut server, Some(&mut |r: &ZapRequest| r.reply(ZapStatus::AuthenticationFailure, "no", "")));
    assert_eq!(t.server_sent, [Command::Error { reason: Bytes::from_static(b"400") }]);
    assert_eq!(server.error(), Some(&MechanismError::ZapDenied(ZapStatus::AuthenticationFailure)));
    assert_eq!(client.error(), Some(&MechanismError::PeerError { reason: Bytes::from_static(b"400") }));

    // 300: silent.
    let mut client = NullMechanism::new(SocketProperties::new("PUSH"), ZapConfig::default()).unwrap();
    let mut server = NullMechanism::new(SocketProperties::new("PULL"), with_handler()).unwrap();
    let t = run(&mut client, &mut server, Some(&mut |r: &ZapRequest| r.reply(ZapStatus::TemporaryError, "", "")));
    assert!(t.server_sent.is_empty());
    assert_eq!(server.status(), Status::Failed);
    assert_eq!(client.status(), Status::Handshaking);

    // Domain, no handler: accepted, unless ZAP_ENFORCE_DOMAIN.
    let no_handler = ZapConfig { handler_present: false, ..with_handler() };
    let server = NullMechanism::new(SocketProperties::new("PULL"), no_handler.clone()).unwrap();
    assert_eq!(server.status(), Status::Handshaking);
    assert!(!server.awaiting_zap_reply());
    let server =
        NullMechanism::new(SocketProperties::new("PULL"), ZapConfig { enforce_domain: true, ..no_handler }).unwrap();
    assert_eq!(server.error(), Some(&MechanismError::NoZapHandler));
}

#[test]
fn zap_replies_are_checked() {
    let mut server = NullMechanism::new(SocketProperties::new("PULL"), with_handler()).unwrap();
    let request = server.zap_request().unwrap();
    let mut reply = accept_all(&request);
    reply.request_id = Bytes::from_static(b"2");
    assert_eq!(server.process_zap_reply(&reply), Err(MechanismError::ZapRequestId));
    assert_eq!(server.status(), Status::Failed);

    let mut server = NullMechanism::new(SocketProperties::new("PULL"), ZapConfig::default()).unwrap();
    assert_eq!(server.process_zap_reply(&accept_all(&request)), Err(MechanismError::UnexpectedZapReply));

    // Frames straight from the handler socket: good ones go through, bad ones fail the handshake.
    let mut server = NullMechanism::new(SocketProperties::new("PULL"), with_handler()).unwrap();
    let request = server.zap_request().unwrap();
    server.process_zap_reply_frames(&accept_all(&request).to_frames()).unwrap();
    assert!(server.next_command().is_some(), "READY once ZAP said 200");
    let mut server = NullMechanism::new(SocketProperties::new("PULL"), with_handler()).unwrap();
    let request = server.zap_request().unwrap();
    let mut frames = accept_all(&request).to_frames();
    frames[3] = Bytes::from_static(b"201");
    let error = server.process_zap_reply_frames(&frames).unwrap_err();
    assert_eq!(error, MechanismError::ZapReply(rustzmq_security::ZapError::StatusCode));
    assert_eq!(
        error.monitor_event(),
        Some(rustzmq_security::HandshakeFailure::Protocol(rustzmq_security::protocol_error::ZAP_INVALID_STATUS_CODE))
    );
    assert_eq!(server.status(), Status::Failed);
}

// ---------------------------------------------------------------------------------------------
// PLAIN

fn plain_pair(password: &'static str, zap: ZapConfig) -> (PlainClient, PlainServer) {
    (
        PlainClient::new(SocketProperties::new("DEALER"), "admin", password).unwrap(),
        PlainServer::new(SocketProperties::new("ROUTER").with_routing_id(&b"srv"[..]), zap).unwrap(),
    )
}

fn check_password(request: &ZapRequest) -> ZapReply {
    if request.credentials == [&b"admin"[..], b"password"] {
        request.reply(ZapStatus::Success, "OK", "admin")
    } else {
        request.reply(ZapStatus::AuthenticationFailure, "wrong password", "")
    }
}

#[test]
fn plain_handshake_with_zap() {
    let (mut client, mut server) = plain_pair("password", with_handler());
    let t = run(&mut client, &mut server, Some(&mut check_password));
    assert_eq!((client.status(), server.status()), (Status::Ready, Status::Ready));
    assert_eq!(body(&t.client_sent[0]), &b"\x05HELLO\x05admin\x08password"[..]);
    assert_eq!(body(&t.server_sent[0]), &b"\x07WELCOME"[..]);
    assert!(body(&t.client_sent[1]).starts_with(b"\x08INITIATE\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity"));
    assert!(body(&t.server_sent[1]).starts_with(b"\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity"));
    let frames = t.zap_requests[0].to_frames();
    let expected: [&[u8]; 9] = [b"", b"1.0", b"1", b"global", b"127.0.0.1", b"srv", b"PLAIN", b"admin", b"password"];
    assert_eq!(frames, expected);
    assert_eq!(socket_type(&client), &b"ROUTER"[..]);
    assert_eq!(socket_type(&server), &b"DEALER"[..]);
    assert_eq!(server.zap_reply().unwrap().user_id, &b"admin"[..]);
}

#[test]
fn plain_wrong_password_is_refused_with_error_400() {
    let (mut client, mut server) = plain_pair("guess", with_handler());
    let t = run(&mut client, &mut server, Some(&mut check_password));
    assert_eq!(t.server_sent, [Command::Error { reason: Bytes::from_static(b"400") }]);
    assert_eq!(server.error(), Some(&MechanismError::ZapDenied(ZapStatus::AuthenticationFailure)));
    assert_eq!(client.error(), Some(&MechanismError::PeerError { reason: Bytes::from_static(b"400") }));
    assert_eq!(client.status(), Status::Failed);
    // Sticky: nothing more comes out, everything fails the same way.
    assert!(server.next_command().is_none());
    assert_eq!(
        server.process_command(&t.client_sent[0]),
        Err(MechanismError::ZapDenied(ZapStatus::AuthenticationFailure))
    );
}

#[test]
fn plain_without_zap_handler_is_refused_silently() {
    // libzmq 4.3: a PLAIN server needs a ZAP handler; without one it closes, sending nothing.
    let (mut client, mut server) = plain_pair("password", ZapConfig::default());
    let t = run(&mut client, &mut server, None);
    assert_eq!(t.server_error, Some(MechanismError::NoZapHandler));
    assert!(t.server_sent.is_empty());
    assert!(t.zap_requests.is_empty());
    assert_eq!(client.status(), Status::Handshaking);
}

#[test]
fn plain_client_reads_libzmq_misspelt_error() {
    // libzmq 4.3's PLAIN server sends 0x5E "RROR" 0x03 "400" (see process_command_body).
    let (mut client, _) = plain_pair("password", with_handler());
    client.next_command().unwrap();
    assert_eq!(
        client.process_command_body(&Bytes::from_static(b"^RROR\x03400")),
        Err(MechanismError::PeerError { reason: Bytes::from_static(b"400") })
    );
}

#[test]
fn plain_commands_out_of_order_are_refused() {
    let (_, mut server) = plain_pair("password", with_handler());
    assert!(matches!(
        server.process_command(&Command::Initiate(Bytes::new())),
        Err(MechanismError::UnexpectedCommand { .. })
    ));
    let (mut client, _) = plain_pair("password", with_handler());
    client.next_command().unwrap();
    assert!(matches!(
        client.process_command(&Command::Ready(Metadata::new())),
        Err(MechanismError::UnexpectedCommand { .. })
    ));
    let (mut client, _) = plain_pair("password", with_handler());
    client.next_command().unwrap();
    assert_eq!(
        client.process_command(&Command::Welcome(Bytes::from_static(b"x"))),
        Err(MechanismError::Malformed(CommandKind::Welcome))
    );
}

// ---------------------------------------------------------------------------------------------
// CURVE

#[test]
fn curve_handshake_with_zap_and_messages() {
    let (mut client, mut server) = curve_pair(with_handler());
    let t = run(&mut client, &mut server, Some(&mut accept_all));
    assert_eq!((client.status(), server.status()), (Status::Ready, Status::Ready));
    assert_eq!(t.client_sent.len(), 2);
    assert_eq!(t.server_sent.len(), 2);

    // Sizes of libzmq's commands: HELLO 200, WELCOME 168, INITIATE 257 + metadata, READY 30 + metadata.
    let [hello, initiate] = [&t.client_sent[0], &t.client_sent[1]].map(body);
    let [welcome, ready] = [&t.server_sent[0], &t.server_sent[1]].map(body);
    assert_eq!(hello.len(), 200);
    assert_eq!(&hello[..8], b"\x05HELLO\x01\x00");
    assert!(hello[8..80].iter().all(|&b| b == 0), "72 bytes of padding");
    assert_eq!(&hello[80..112], client.short_term_public_key().as_bytes());
    assert_eq!(&hello[112..120], &1u64.to_be_bytes());
    assert_eq!(welcome.len(), 168);
    assert_eq!(&welcome[..8], b"\x07WELCOME");
    let client_metadata = SocketProperties::new("DEALER").with_routing_id(&b"client-1"[..]).metadata().unwrap();
    assert_eq!(initiate.len(), 257 + client_metadata.encoded_len());
    assert_eq!(&initiate[..9], b"\x08INITIATE");
    assert_eq!(&initiate[105..113], &2u64.to_be_bytes());
    let server_metadata = SocketProperties::new("ROUTER").metadata().unwrap();
    assert_eq!(ready.len(), 30 + server_metadata.encoded_len());
    assert_eq!(&ready[..14], b"\x05READY\x00\x00\x00\x00\x00\x00\x00\x01");

    // ZAP got the client's long-term public key.
    let request = &t.zap_requests[0];
    assert_eq!(request.mechanism, &b"CURVE"[..]);
    assert_eq!(request.credentials, [&client_keys().public().as_bytes()[..]]);
    assert_eq!(server.client_key(), Some(client_keys().public()));
    assert_eq!(server.zap_reply().unwrap().metadata.get("X-Zap").unwrap(), &b"yes"[..]);
    assert_eq!(socket_type(&server), &b"DEALER"[..]);
    assert_eq!(server.peer_metadata().unwrap().get("Identity").unwrap(), &b"client-1"[..]);
    assert_eq!(socket_type(&client), &b"ROUTER"[..]);

    // Messages both ways; nonces continue from the handshake (client 3, server 2).
    let message = client.encode_message(MESSAGE_MORE, b"hello").unwrap();
    let Command::Message(data) = &message else { panic!("not a MESSAGE") };
    assert_eq!(&data[..8], &3u64.to_be_bytes());
    assert_eq!(data.len(), 8 + 16 + 1 + 5);
    assert_eq!(server.decode_message(&message).unwrap(), (MESSAGE_MORE, Bytes::from_static(b"hello")));
    let reply = server.encode_message(0, b"world").unwrap();
    let Command::Message(data) = &reply else { panic!("not a MESSAGE") };
    assert_eq!(&data[..8], &2u64.to_be_bytes());
    assert_eq!(client.decode_message(&reply).unwrap(), (0, Bytes::from_static(b"world")));
}

#[test]
fn curve_without_zap_handler_is_accepted_unless_enforced() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    let t = run(&mut client, &mut server, None);
    assert_eq!((client.status(), server.status()), (Status::Ready, Status::Ready));
    assert!(t.zap_requests.is_empty());

    let enforced = ZapConfig { handler_present: false, enforce_domain: true, ..with_handler() };
    let (mut client, mut server) = curve_pair(enforced);
    let t = run(&mut client, &mut server, None);
    assert_eq!(t.server_error, Some(MechanismError::NoZapHandler));
    assert_eq!(t.server_sent.len(), 1, "WELCOME only");
}

#[test]
fn curve_zap_refusal_sends_error() {
    let (mut client, mut server) = curve_pair(with_handler());
    let t = run(&mut client, &mut server, Some(&mut |r: &ZapRequest| r.reply(ZapStatus::InternalError, "", "")));
    assert_eq!(t.server_sent.last(), Some(&Command::Error { reason: Bytes::from_static(b"500") }));
    assert_eq!(client.error(), Some(&MechanismError::PeerError { reason: Bytes::from_static(b"500") }));
    assert_eq!(server.error(), Some(&MechanismError::ZapDenied(ZapStatus::InternalError)));
}

#[test]
fn curve_hello_matches_libsodium_known_answer() {
    // With the short-term secret 00 01 .. 1f (CountingRng(0)) and the manual page's server
    // key, HELLO's box is libsodium's crypto_box_easy(64 zero bytes, "CurveZMQHELLO---" +
    // 00..01, S, c'), computed once with libsodium 1.0.18 (the library libzmq uses).
    let (mut client, _) = curve_pair(ZapConfig::default());
    let hello = body(&client.next_command().unwrap());
    let short_public = "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f";
    let expected_box = "78490e29e5e6f089ef54e4f6ad14338a0a01ed142e6b9ca136bfa3755d990f93\
                        b3dc2629851cd1e50d36e98b94b8d59c540cce051bc864074607194fd88d7d1e\
                        2052296aad0f7e3c359ee915acd54eac";
    assert_eq!(hex(&hello[80..112]), short_public);
    assert_eq!(hex(&hello[120..200]), expected_box);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn curve_client_with_the_wrong_server_key_cannot_open_welcome() {
    // The client trusts SERVER_PUBLIC, but another server (key pair B) answers. Client X and a
    // twin client Y (same short-term key, drawn from the same deterministic generator) differ
    // only in the server key they expect; B answers Y's HELLO, and its WELCOME goes to X.
    let other_server = CurveKeyPair::generate_with(&mut CountingRng(200)).unwrap();
    let mut x =
        CurveClient::with_rng(SocketProperties::new("REQ"), client_keys(), server_public(), &mut CountingRng(0))
            .unwrap();
    let mut y =
        CurveClient::with_rng(SocketProperties::new("REQ"), client_keys(), *other_server.public(), &mut CountingRng(0))
            .unwrap();
    let mut b = CurveServer::with_rng(
        SocketProperties::new("REP"),
        other_server.secret().clone(),
        ZapConfig::default(),
        &mut CountingRng(50),
    )
    .unwrap();
    x.next_command().unwrap();
    b.process_command(&y.next_command().unwrap()).unwrap();
    let welcome = b.next_command().unwrap();
    assert_eq!(x.process_command(&welcome), Err(MechanismError::Cryptographic(CommandKind::Welcome)));
    assert_eq!(x.status(), Status::Failed);

    // And the real server cannot open a HELLO made for another key.
    let (_, mut server) = curve_pair(ZapConfig::default());
    let mut z =
        CurveClient::with_rng(SocketProperties::new("REQ"), client_keys(), *other_server.public(), &mut CountingRng(9))
            .unwrap();
    assert_eq!(
        server.process_command(&z.next_command().unwrap()),
        Err(MechanismError::Cryptographic(CommandKind::Hello))
    );
}

#[test]
fn curve_replayed_and_old_nonces_are_refused() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    run(&mut client, &mut server, None);
    let first = client.encode_message(0, b"one").unwrap();
    let second = client.encode_message(0, b"two").unwrap();
    assert_eq!(server.decode_message(&second).unwrap().1, &b"two"[..]);
    // The older message is refused, and the mechanism fails for good.
    assert_eq!(server.decode_message(&first), Err(MechanismError::InvalidSequence { nonce: 3, last: 4 }));
    assert_eq!(server.status(), Status::Failed);

    let (mut client, mut server) = curve_pair(ZapConfig::default());
    run(&mut client, &mut server, None);
    let message = client.encode_message(0, b"one").unwrap();
    server.decode_message(&message).unwrap();
    assert_eq!(server.decode_message(&message), Err(MechanismError::InvalidSequence { nonce: 3, last: 3 }));
}

#[test]
fn curve_tampered_boxes_are_refused() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    run(&mut client, &mut server, None);
    let Command::Message(data) = client.encode_message(MESSAGE_MORE, b"payload").unwrap() else { unreachable!() };
    for position in 8..data.len() {
        let mut tampered = data.to_vec();
        tampered[position] ^= 0x40;
        // A fresh codec each time: the first failure would otherwise stick.
        let (mut client2, mut server2) = curve_pair(ZapConfig::default());
        run(&mut client2, &mut server2, None);
        assert_eq!(
            server2.decode_message(&Command::Message(Bytes::from(tampered))),
            Err(MechanismError::Cryptographic(CommandKind::Message)),
            "byte {position}"
        );
    }
    // The untampered message opens.
    assert_eq!(server.decode_message(&Command::Message(data)).unwrap().1, &b"payload"[..]);

    // A tampered handshake command fails too: flip a bit in every box-carrying byte of HELLO,
    // WELCOME, INITIATE and READY.
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    let t = run(&mut client, &mut server, None);
    let cases: [(usize, bool, usize); 4] = [(0, true, 114), (0, false, 16), (1, true, 0), (1, false, 8)];
    for (index, from_client, box_start) in cases {
        let command = if from_client { &t.client_sent[index] } else { &t.server_sent[index] };
        let data = command.opaque_data().unwrap();
        for position in (box_start..data.len()).step_by(7) {
            let mut tampered = data.to_vec();
            tampered[position] ^= 1;
            let result = replay_to(
                index,
                from_client,
                Command::Other { name: Bytes::copy_from_slice(command.name()), data: Bytes::from(tampered) },
            );
            assert!(result.is_err(), "{:?} byte {position}", String::from_utf8_lossy(command.name()));
        }
    }
}

/// Replays a handshake up to the `index`-th command of one side, then feeds `command` in its
/// place to the other side.
fn replay_to(index: usize, from_client: bool, command: Command) -> Result<(), MechanismError> {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    for step in 0..=index {
        let c = client.next_command().unwrap();
        if from_client && step == index {
            return server.process_command_body(&body(&command));
        }
        server.process_command(&c)?;
        let s = server.next_command().unwrap();
        if !from_client && step == index {
            return client.process_command_body(&body(&command));
        }
        client.process_command_body(&body(&s))?;
    }
    unreachable!()
}

#[test]
fn truncated_commands_are_refused_at_every_length() {
    // CURVE: every prefix of every handshake command, fed in its turn, fails without panic.
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    let t = run(&mut client, &mut server, None);
    for (index, from_client, command) in [
        (0, true, &t.client_sent[0]),
        (0, false, &t.server_sent[0]),
        (1, true, &t.client_sent[1]),
        (1, false, &t.server_sent[1]),
    ] {
        let full = body(command);
        for len in 0..full.len() {
            let cut = full.slice(..len);
            let result = replay_body(index, from_client, &cut);
            assert!(result.is_err(), "{:?} cut to {len}", String::from_utf8_lossy(command.name()));
        }
    }
    // MESSAGE: every prefix fails.
    let message = client.encode_message(0, b"abc").unwrap();
    let full = body(&message);
    for len in 0..full.len() {
        let (mut c2, mut s2) = curve_pair(ZapConfig::default());
        run(&mut c2, &mut s2, None);
        let result = match rustzmq_codec::Command::parse(&full.slice(..len)) {
            Ok(command) => s2.decode_message(&command),
            Err(_) => Err(MechanismError::MalformedFrame),
        };
        assert!(result.is_err(), "MESSAGE cut to {len}");
    }

    // PLAIN: HELLO cut anywhere, READY cut in its metadata.
    let (mut client, mut server) = plain_pair("password", with_handler());
    let t = run(&mut client, &mut server, Some(&mut check_password));
    let hello = body(&t.client_sent[0]);
    for len in 0..hello.len() {
        let (_, mut server) = plain_pair("password", with_handler());
        assert!(server.process_command_body(&hello.slice(..len)).is_err(), "HELLO cut to {len}");
    }
    let ready = body(&t.server_sent[1]);
    for len in 0..ready.len() {
        // A fresh client brought to "expect READY" by hand.
        let (mut client, _) = plain_pair("password", with_handler());
        client.next_command().unwrap();
        client.process_command(&Command::Welcome(Bytes::new())).unwrap();
        client.next_command().unwrap();
        let result = client.process_command_body(&ready.slice(..len));
        // A cut between two properties leaves valid (shorter) metadata; any other cut fails.
        let on_boundary = len >= 6 && Metadata::parse(&ready.slice(6..len)).is_ok();
        assert_eq!(result.is_ok(), on_boundary, "READY cut to {len}");
    }
}

fn replay_body(index: usize, from_client: bool, raw: &Bytes) -> Result<(), MechanismError> {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    for step in 0..=index {
        let c = client.next_command().unwrap();
        if from_client && step == index {
            return server.process_command_body(raw);
        }
        server.process_command(&c)?;
        let s = server.next_command().unwrap();
        if !from_client && step == index {
            return client.process_command_body(raw);
        }
        client.process_command_body(&body(&s))?;
    }
    unreachable!()
}

#[test]
fn curve_commands_out_of_order_are_refused() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    let t = run(&mut client, &mut server, None);
    let [hello, initiate] = [t.client_sent[0].clone(), t.client_sent[1].clone()];
    let [welcome, ready] = [t.server_sent[0].clone(), t.server_sent[1].clone()];

    // Server: INITIATE before HELLO, HELLO twice, MESSAGE during the handshake.
    let (_, mut s) = curve_pair(ZapConfig::default());
    assert!(matches!(s.process_command(&initiate), Err(MechanismError::UnexpectedCommand { .. })));
    let (mut c, mut s) = curve_pair(ZapConfig::default());
    s.process_command(&c.next_command().unwrap()).unwrap();
    assert!(matches!(s.process_command(&hello), Err(MechanismError::UnexpectedCommand { .. })));
    let (_, mut s) = curve_pair(ZapConfig::default());
    assert!(matches!(
        s.process_command(&Command::Message(Bytes::from(vec![0; 40]))),
        Err(MechanismError::UnexpectedCommand { .. })
    ));
    assert_eq!(
        s.encode_message(0, b"x"),
        Err(MechanismError::UnexpectedCommand { name: Bytes::from_static(b"MESSAGE") })
    );

    // Client: READY before WELCOME, WELCOME before HELLO was sent, WELCOME twice.
    let (mut c, _) = curve_pair(ZapConfig::default());
    c.next_command().unwrap();
    assert!(matches!(c.process_command_body(&body(&ready)), Err(MechanismError::UnexpectedCommand { .. })));
    let (mut c, _) = curve_pair(ZapConfig::default());
    assert!(matches!(c.process_command(&welcome), Err(MechanismError::UnexpectedCommand { .. })));
    let (mut c, mut s) = curve_pair(ZapConfig::default());
    s.process_command(&c.next_command().unwrap()).unwrap();
    let w = s.next_command().unwrap();
    c.process_command(&w).unwrap();
    assert!(matches!(c.process_command(&w), Err(MechanismError::UnexpectedCommand { .. })));

    // Not ready: no messages yet.
    let (mut c, _) = curve_pair(ZapConfig::default());
    assert_eq!(c.encode_message(0, b"x"), Err(MechanismError::NotReady));

    // A ready client refuses further handshake commands.
    let (mut c, mut s) = curve_pair(ZapConfig::default());
    run(&mut c, &mut s, None);
    assert!(matches!(c.process_command_body(&body(&ready)), Err(MechanismError::UnexpectedCommand { .. })));
}

#[test]
fn curve_hello_with_another_version_is_refused() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    let Command::Hello(data) = client.next_command().unwrap() else { unreachable!() };
    let mut data = data.to_vec();
    data[1] = 1;
    assert_eq!(
        server.process_command(&Command::Hello(Bytes::from(data))),
        Err(MechanismError::UnsupportedVersion { major: 1, minor: 1 })
    );
}

#[test]
fn curve_long_stream_of_messages_with_more_flags() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    run(&mut client, &mut server, None);
    let mut rng = XorShift(0x1234_5678_9abc_def0);
    for i in 0..5_000u32 {
        let len = match rng.below(10) {
            0 => 0,
            1..=7 => rng.below(64) as usize,
            8 => rng.below(2_000) as usize,
            _ => 20_000,
        };
        let payload: Vec<u8> = (0..len).map(|j| (j as u32 ^ i) as u8).collect();
        let flags = (rng.below(4) as u8) & (MESSAGE_MORE | MESSAGE_COMMAND);
        let (sender, receiver): (&mut dyn Mechanism, &mut dyn Mechanism) =
            if i % 3 == 0 { (&mut server, &mut client) } else { (&mut client, &mut server) };
        let boxed = sender.encode_message(flags | 0xF0, &payload).unwrap();
        let (got_flags, got) = receiver.decode_message(&boxed).unwrap();
        assert_eq!(got_flags, flags, "other flag bits are dropped, as in libzmq");
        assert_eq!(&got[..], &payload[..]);
    }
    assert_eq!(client.status(), Status::Ready);
    assert_eq!(server.status(), Status::Ready);
}

#[test]
fn message_codec_outlives_the_handshake() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    run(&mut client, &mut server, None);
    let mut client = client.into_message_codec().unwrap();
    let mut server = server.into_message_codec().unwrap();
    assert_eq!((client.next_nonce(), server.next_nonce()), (3, 2));
    for n in 0..100u8 {
        let data = client.encode_data(MESSAGE_MORE, &[n; 3]).unwrap();
        assert_eq!(server.decode_data(&data).unwrap(), (MESSAGE_MORE, Bytes::from(vec![n; 3])));
    }
    assert_eq!(server.peer_nonce(), 102);
}

#[test]
fn mechanism_state_dispatches() {
    let props = |t: &str| SocketProperties::new(t);
    let configs = [
        (Security::Null, Security::Null, None),
        (
            Security::PlainClient { username: Bytes::from_static(b"admin"), password: Bytes::from_static(b"password") },
            Security::PlainServer,
            Some("PLAIN"),
        ),
        (
            Security::CurveClient { keypair: client_keys(), server_key: server_public() },
            Security::CurveServer { secret_key: server_secret() },
            Some("CURVE"),
        ),
    ];
    for (client_security, server_security, zap_mechanism) in configs {
        let mut client = MechanismState::with_rng(
            Config { properties: props("PAIR"), zap: ZapConfig::default(), security: client_security },
            &mut CountingRng(1),
        )
        .unwrap();
        let mut server = MechanismState::with_rng(
            Config { properties: props("PAIR"), zap: with_handler(), security: server_security },
            &mut CountingRng(2),
        )
        .unwrap();
        assert!(!client.as_server());
        assert_eq!(server.as_server(), zap_mechanism.is_some());
        assert_eq!(client.mechanism(), server.mechanism());
        let mut handler = |request: &ZapRequest| match &request.mechanism[..] {
            b"PLAIN" => check_password(request),
            _ => accept_all(request),
        };
        let t = run(&mut client, &mut server, Some(&mut handler));
        assert_eq!((client.status(), server.status()), (Status::Ready, Status::Ready), "{zap_mechanism:?}");
        // NULL asks ZAP too, since the server has a domain.
        assert_eq!(t.zap_requests[0].mechanism, zap_mechanism.unwrap_or("NULL").as_bytes());
        assert_eq!(client.encrypts(), zap_mechanism == Some("CURVE"));
        if client.encrypts() {
            let boxed = client.encode_message(0, b"x").unwrap();
            assert_eq!(server.decode_message(&boxed).unwrap().1, &b"x"[..]);
        }
    }
}

#[test]
fn libzmq_manual_page_keys_are_consistent() {
    assert_eq!(client_keys().public().to_z85(), CLIENT_PUBLIC);
    assert_eq!(server_secret().public_key(), server_public());
}

/// The frame-body API (what an engine sends and receives): the same bytes as the MESSAGE
/// command's body, opened in place when the frame owns its buffer and from a shared one
/// otherwise, with the nonce and authenticity checks of `decode_message`.
#[test]
fn curve_message_bodies_round_trip_in_place_and_shared() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    run(&mut client, &mut server, None);
    let mut rng = XorShift(0x0bad_cafe_f00d_1234);
    for i in 0..400u32 {
        let len = match rng.below(4) {
            0 => rng.below(70) as usize,
            1 => rng.below(3_000) as usize,
            2 => 8 * 1024 + rng.below(60_000) as usize,
            _ => 0,
        };
        let payload: Vec<u8> = (0..len).map(|j| ((j as u32 * 31) ^ i) as u8).collect();
        let flags = (rng.below(4) as u8) & (MESSAGE_MORE | MESSAGE_COMMAND);
        let body = client.encode_message_body(flags, &payload).unwrap();
        assert!(body.starts_with(b"\x07MESSAGE"));
        assert_eq!(body.len(), 8 + 8 + 16 + 1 + len);
        // Unique (a fresh copy: opened in place) or shared with another reference.
        let received = Bytes::from(body.to_vec());
        let keep = if i % 2 == 0 { None } else { Some(received.clone()) };
        let (got_flags, got) = server.decode_message_body(received).unwrap();
        assert_eq!((got_flags, &got[..]), (flags, &payload[..]));
        drop(keep);
        // And the other way round, through the command form.
        let boxed = server.encode_message(flags, &payload).unwrap();
        let (got_flags, got) = client.decode_message_body(body_of(&boxed)).unwrap();
        assert_eq!((got_flags, &got[..]), (flags, &payload[..]));
    }
    // Boxed commands carry the COMMAND flag and the command's body.
    let ping = Command::Ping { ttl: 7, context: Bytes::from_static(b"ctx") };
    let body = client.encode_command_body(&ping).unwrap();
    let (flags, content) = server.decode_message_body(body).unwrap();
    assert_eq!(flags, MESSAGE_COMMAND);
    assert_eq!(Command::parse(&content).unwrap(), ping);
}

fn body_of(command: &Command) -> Bytes {
    let mut out = bytes::BytesMut::new();
    command.encode_body(&mut out);
    out.freeze()
}

#[test]
fn curve_message_bodies_are_checked() {
    for case in 0..5 {
        let (mut client, mut server) = curve_pair(ZapConfig::default());
        run(&mut client, &mut server, None);
        let first = client.encode_message_body(0, b"one").unwrap();
        let second = client.encode_message_body(0, b"two").unwrap();
        let result = match case {
            // A replay, in place and shared.
            0 => {
                server.decode_message_body(second.clone()).unwrap();
                server.decode_message_body(Bytes::from(second.to_vec()))
            }
            1 => {
                server.decode_message_body(Bytes::from(second.to_vec())).unwrap();
                server.decode_message_body(first)
            }
            // A forged box.
            2 => {
                let mut forged = first.to_vec();
                forged[20] ^= 1;
                server.decode_message_body(Bytes::from(forged))
            }
            // Not a MESSAGE, or too short for one.
            3 => server.decode_message_body(body_of(&Command::Ping { ttl: 0, context: Bytes::new() })),
            _ => server.decode_message_body(first.slice(..20)),
        };
        let expected = match case {
            0 => MechanismError::InvalidSequence { nonce: 4, last: 4 },
            1 => MechanismError::InvalidSequence { nonce: 3, last: 4 },
            2 => MechanismError::Cryptographic(CommandKind::Message),
            3 => MechanismError::UnexpectedCommand { name: Bytes::from_static(b"PING") },
            _ => MechanismError::Malformed(CommandKind::Message),
        };
        assert_eq!(result, Err(expected.clone()), "case {case}");
        // Errors stick.
        assert_eq!(server.decode_message_body(second.clone()), Err(expected), "case {case}");
        assert_eq!(server.status(), Status::Failed);
    }
}

#[test]
fn message_codec_writes_bodies_into_the_callers_buffer() {
    let (mut client, mut server) = curve_pair(ZapConfig::default());
    run(&mut client, &mut server, None);
    let mut client = client.into_message_codec().unwrap();
    let mut server = server.into_message_codec().unwrap();
    let mut batch = bytes::BytesMut::from(&b"header"[..]);
    client.encode_body_into(MESSAGE_MORE, b"abc", &mut batch).unwrap();
    client.encode_body_into(0, &[], &mut batch).unwrap();
    assert_eq!(&batch[..6], b"header");
    let second = batch.split_off(6 + 36).freeze();
    let first = batch.split_off(6).freeze();
    assert_eq!(server.decode_body(first).unwrap(), (MESSAGE_MORE, Bytes::from_static(b"abc")));
    assert_eq!(server.decode_body(second).unwrap(), (0, Bytes::new()));
    assert_eq!(server.peer_nonce(), 4);
}
