//! Properties over arbitrary input: Z85 round trips, CURVE messages round trip whatever their
//! flags and contents, and no mechanism panics or forgets an error on arbitrary command bodies.

mod common;

use bytes::Bytes;
use common::{run, CountingRng};
use proptest::prelude::*;
use rustzmq_codec::Command;
use rustzmq_security::{
    z85, Config, CurveClient, CurveKeyPair, CurveSecretKey, CurveServer, Mechanism, MechanismState, Security,
    SocketProperties, Status, ZapConfig, MESSAGE_FLAGS_MASK,
};

fn ready_curve_pair() -> (CurveClient, CurveServer) {
    let server_secret = CurveSecretKey::from_bytes([9; 32]);
    let mut client = CurveClient::with_rng(
        SocketProperties::new("PAIR"),
        CurveKeyPair::from_secret(CurveSecretKey::from_bytes([3; 32])),
        server_secret.public_key(),
        &mut CountingRng(0),
    )
    .unwrap();
    let mut server =
        CurveServer::with_rng(SocketProperties::new("PAIR"), server_secret, ZapConfig::default(), &mut CountingRng(64))
            .unwrap();
    run(&mut client, &mut server, None);
    assert_eq!((client.status(), server.status()), (Status::Ready, Status::Ready));
    (client, server)
}

fn mechanism(kind: u8, server: bool) -> MechanismState {
    let security = match (kind % 3, server) {
        (0, _) => Security::Null,
        (1, false) => Security::PlainClient { username: Bytes::from_static(b"u"), password: Bytes::from_static(b"p") },
        (1, true) => Security::PlainServer,
        (_, false) => Security::CurveClient {
            keypair: CurveKeyPair::from_secret(CurveSecretKey::from_bytes([3; 32])),
            server_key: CurveSecretKey::from_bytes([9; 32]).public_key(),
        },
        (_, true) => Security::CurveServer { secret_key: CurveSecretKey::from_bytes([9; 32]) },
    };
    let zap = ZapConfig { handler_present: true, ..ZapConfig::default() };
    MechanismState::with_rng(Config { properties: SocketProperties::new("PAIR"), zap, security }, &mut CountingRng(5))
        .unwrap()
}

proptest! {
    #[test]
    fn z85_round_trips(words in proptest::collection::vec(any::<[u8; 4]>(), 0..64)) {
        let data: Vec<u8> = words.concat();
        let text = z85::encode(&data).unwrap();
        prop_assert_eq!(text.len(), data.len() / 4 * 5);
        prop_assert_eq!(z85::decode(&text).unwrap(), data);
    }

    #[test]
    fn z85_decoding_arbitrary_text_is_consistent(text in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(data) = z85::decode(&text) {
            let encoded = z85::encode(&data).unwrap();
            prop_assert_eq!(encoded.as_bytes(), &text[..]);
        }
    }

    #[test]
    fn curve_messages_round_trip(messages in proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..300)), 1..20)) {
        let (mut client, mut server) = ready_curve_pair();
        for (i, (flags, body)) in messages.iter().enumerate() {
            let (sender, receiver): (&mut dyn Mechanism, &mut dyn Mechanism) =
                if i % 2 == 0 { (&mut client, &mut server) } else { (&mut server, &mut client) };
            let boxed = sender.encode_message(*flags, body).unwrap();
            let (got_flags, got) = receiver.decode_message(&boxed).unwrap();
            prop_assert_eq!(got_flags, flags & MESSAGE_FLAGS_MASK);
            prop_assert_eq!(&got[..], &body[..]);
        }
    }

    #[test]
    fn arbitrary_message_data_is_refused(data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let (_, mut server) = ready_curve_pair();
        prop_assert!(server.decode_message(&Command::Message(Bytes::from(data))).is_err());
        prop_assert_eq!(server.status(), Status::Failed);
    }

    #[test]
    fn arbitrary_commands_never_panic_and_errors_stick(
        kind in any::<u8>(),
        server in any::<bool>(),
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6),
    ) {
        let mut m = mechanism(kind, server);
        let mut first = None;
        for body in bodies {
            while m.next_command().is_some() {}
            let result = m.process_command_body(&Bytes::from(body));
            match (&first, result) {
                (Some(e), r) => prop_assert_eq!(r.as_ref(), Err(e)),
                (None, Err(e)) => first = Some(e),
                (None, Ok(())) => {}
            }
            if let Some(e) = &first {
                prop_assert_eq!(m.status(), Status::Failed);
                prop_assert_eq!(m.error(), Some(e));
            }
        }
    }
}
