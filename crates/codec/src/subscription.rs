//! Subscriptions between SUB/XSUB and PUB/XPUB.
//!
//! ZMTP 3.1 carries them as SUBSCRIBE and CANCEL commands. ZMTP 3.0 (and libzmq when talking
//! to a 3.0 peer) carries them as ordinary one-frame messages whose first byte is `0x01`
//! (subscribe) or `0x00` (cancel), followed by the prefix. A 3.1 receiver accepts both.

use bytes::{BufMut, Bytes};

use crate::command::Command;
use crate::greeting::Version;

/// A subscription change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// Start receiving messages that begin with this prefix.
    Subscribe(Bytes),
    /// Stop receiving messages that begin with this prefix (one subscription of it).
    Cancel(Bytes),
}

impl Subscription {
    /// The prefix.
    pub fn topic(&self) -> &Bytes {
        match self {
            Subscription::Subscribe(topic) | Subscription::Cancel(topic) => topic,
        }
    }

    /// Reads the ZMTP 3.0 message form: a single-frame message starting with `0x01` or
    /// `0x00`. Anything else (including an empty frame) is not a subscription.
    pub fn from_message(body: &Bytes) -> Option<Subscription> {
        match body.first()? {
            1 => Some(Subscription::Subscribe(body.slice(1..))),
            0 => Some(Subscription::Cancel(body.slice(1..))),
            _ => None,
        }
    }

    /// Reads the ZMTP 3.1 command form.
    pub fn from_command(command: &Command) -> Option<Subscription> {
        match command {
            Command::Subscribe(topic) => Some(Subscription::Subscribe(topic.clone())),
            Command::Cancel(topic) => Some(Subscription::Cancel(topic.clone())),
            _ => None,
        }
    }

    /// The command to send to a ZMTP 3.1 peer.
    pub fn to_command(&self) -> Command {
        match self {
            Subscription::Subscribe(topic) => Command::Subscribe(topic.clone()),
            Subscription::Cancel(topic) => Command::Cancel(topic.clone()),
        }
    }

    /// Appends the ZMTP 3.0 message body (`0x01`/`0x00` + prefix) to `out`.
    pub fn encode_message(&self, out: &mut impl BufMut) {
        out.put_u8(u8::from(matches!(self, Subscription::Subscribe(_))));
        out.put_slice(self.topic());
    }

    /// Whether a peer that negotiated `version` expects the command form.
    pub fn uses_command_for(version: Version) -> bool {
        version.has_subscription_commands()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use alloc::{vec, vec::Vec};

    #[test]
    fn message_form_round_trips() {
        let sub = Subscription::Subscribe(Bytes::from_static(b"weather"));
        let mut out = Vec::new();
        sub.encode_message(&mut out);
        assert_eq!(out, b"\x01weather");
        assert_eq!(Subscription::from_message(&Bytes::from(out)), Some(sub));
        assert_eq!(Subscription::from_message(&Bytes::from_static(b"\x00")), Some(Subscription::Cancel(Bytes::new())));
        assert_eq!(Subscription::from_message(&Bytes::from_static(b"\x02x")), None);
        assert_eq!(Subscription::from_message(&Bytes::new()), None);
    }

    #[test]
    fn command_form_chosen_by_version() {
        assert!(Subscription::uses_command_for(Version::V3_1));
        assert!(!Subscription::uses_command_for(Version::V3_0));
        let cancel = Subscription::Cancel(Bytes::from_static(b"a"));
        assert_eq!(Subscription::from_command(&cancel.to_command()), Some(cancel));
    }
}
