//! JSON shapes of resources as clients see them (SPEC §8).

use serde_json::{json, Value};

use crate::store::rows::{UsageRow, UserRow};

/// `{user}`: never includes the password hash or quota internals.
pub fn user(row: &UserRow) -> Value {
    let preferences: Value = serde_json::from_str(&row.preferences).unwrap_or_else(|_| json!({}));
    json!({
        "id": row.id,
        "email": row.email,
        "display_name": row.display_name,
        "role": row.role,
        "preferences": preferences,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

pub fn usage(row: &UsageRow) -> Value {
    json!({
        "quota_bytes": row.quota_bytes,
        "used_bytes": row.used_bytes,
        "reserved_bytes": row.reserved_bytes,
    })
}

/// The login / refresh answer.
pub fn session_tokens(
    access: &str,
    refresh: &str,
    access_expires_at: &str,
    refresh_expires_at: &str,
) -> Value {
    json!({
        "access": access,
        "refresh": refresh,
        "token_type": "Bearer",
        "access_expires_at": access_expires_at,
        "refresh_expires_at": refresh_expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_view_has_the_contract_fields_and_no_secrets() {
        let row = UserRow {
            id: "usr_1".into(),
            email: "a@example.com".into(),
            display_name: "Ana".into(),
            role: "user".into(),
            preferences: "{\"theme\":\"dark\"}".into(),
            quota_bytes: 1,
            used_bytes: 0,
            reserved_bytes: 0,
            created_at: "t".into(),
            updated_at: "t".into(),
        };
        let v = user(&row);
        assert_eq!(v["email"], "a@example.com");
        assert_eq!(v["role"], "user");
        assert_eq!(v["preferences"]["theme"], "dark");
        assert!(v.get("password_hash").is_none());
    }
}
