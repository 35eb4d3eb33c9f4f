//! Live-room tickets (SPEC §9): browsers cannot send `Authorization` on a WebSocket, so a caller
//! first asks for a ticket — a token signed with a key of its own purpose that names the setlist,
//! who is coming (a user, or a public link for a guest), their role, when it expires and a random
//! id. The Worker checks signature and expiry before any upgrade; the room spends the id (once:
//! it remembers spent ids until they expire), so a ticket opens exactly one socket.

use serde::{Deserialize, Serialize};

use crate::domain::time::Millis;
use crate::storage::signed::{self, SigningKey};

pub const TICKET_PURPOSE: &str = "scoremate/live-ticket/v1";
/// How long a ticket may wait to be used.
pub const TICKET_TTL_MILLIS: i64 = 60_000;

/// Who a ticket admits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bearer {
    /// A user with an account (the owner or a member).
    #[serde(rename = "u")]
    User(String),
    /// A guest holding public link `0`.
    #[serde(rename = "l")]
    Link(String),
}

/// What a ticket says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Random: what the room spends.
    #[serde(rename = "i")]
    pub id: String,
    #[serde(rename = "s")]
    pub setlist: String,
    #[serde(rename = "b")]
    pub bearer: Bearer,
    /// Milliseconds since the epoch.
    #[serde(rename = "e")]
    pub expires: i64,
}

impl Ticket {
    pub fn new(id: String, setlist: String, bearer: Bearer, now: Millis) -> Self {
        Self {
            id,
            setlist,
            bearer,
            expires: now.0 + TICKET_TTL_MILLIS,
        }
    }

    pub fn sign(&self, key: &SigningKey) -> String {
        signed::sign(key, self)
    }

    /// The ticket `token` carries if it is genuine and unexpired at `now`.
    pub fn open(key: &SigningKey, token: &str, now: Millis) -> Option<Self> {
        if token.len() > 1024 {
            return None;
        }
        let t: Self = signed::verify(key, token).ok()?;
        (t.expires > now.0).then_some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_until_it_expires_and_never_when_forged() {
        let key = SigningKey::derive(b"secret", TICKET_PURPOSE);
        let now = Millis(1_000_000);
        let t = Ticket::new(
            "tkt_1".into(),
            "set_1".into(),
            Bearer::User("usr_1".into()),
            now,
        );
        let token = t.sign(&key);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert_eq!(Ticket::open(&key, &token, now), Some(t.clone()));
        assert_eq!(
            Ticket::open(&key, &token, Millis(now.0 + TICKET_TTL_MILLIS - 1)),
            Some(t)
        );
        assert_eq!(
            Ticket::open(&key, &token, Millis(now.0 + TICKET_TTL_MILLIS)),
            None
        );
        let other = SigningKey::derive(b"secret", crate::auth::links::LINK_PURPOSE);
        assert_eq!(Ticket::open(&other, &token, now), None, "another purpose");
        let mut forged = token.clone();
        forged.insert(3, 'x');
        assert_eq!(Ticket::open(&key, &forged, now), None);
        assert_eq!(Ticket::open(&key, &"a".repeat(2000), now), None);
        let guest = Ticket::new(
            "tkt_2".into(),
            "set_1".into(),
            Bearer::Link("lnk_1".into()),
            now,
        );
        assert_eq!(
            Ticket::open(&key, &guest.sign(&key), now).map(|t| t.bearer),
            Some(Bearer::Link("lnk_1".into()))
        );
    }
}
