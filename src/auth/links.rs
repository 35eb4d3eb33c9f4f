//! Public setlist links: the token is the link id signed with a key derived for this purpose,
//! so tokens are never stored (a leaked database reveals none) and revocation is a row update.

use serde::{Deserialize, Serialize};

use crate::domain::ids;
use crate::storage::signed::{self, SigningKey};

pub const LINK_PURPOSE: &str = "scoremate/setlist-link/v1";

#[derive(Serialize, Deserialize)]
struct Payload {
    l: String,
}

/// The URL-safe token for link `id`.
pub fn token(key: &SigningKey, id: &str) -> String {
    signed::sign(key, &Payload { l: id.to_owned() })
}

/// The link id a token names, if the token is genuine.
pub fn link_id(key: &SigningKey, token: &str) -> Option<String> {
    let p: Payload = signed::verify(key, token).ok()?;
    ids::is_well_formed("lnk", &p.l).then_some(p.l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_do_not() {
        let key = SigningKey::derive(b"secret", LINK_PURPOSE);
        let id = format!("lnk_{}", "a".repeat(32));
        let t = token(&key, &id);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert_eq!(link_id(&key, &t), Some(id.clone()));
        let other = SigningKey::derive(b"secret", "scoremate/list-cursor/v1");
        assert_eq!(link_id(&other, &t), None, "another purpose's key");
        let mut forged = t.clone();
        forged.pop();
        assert_eq!(link_id(&key, &forged), None);
        assert_eq!(link_id(&key, "lnk_x"), None);
        assert_eq!(
            link_id(&key, &token(&key, "set_123")),
            None,
            "not a link id"
        );
    }
}
