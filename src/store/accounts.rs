//! Statements of accounts and sessions (SPEC §1).

use crate::args;

use super::Stmt;

/// Columns of a user as the API shows it ([`super::rows::UserRow`]).
pub const USER_COLUMNS: &str = "u.id, u.email, u.display_name, u.role, u.preferences, \
     u.quota_bytes, u.used_bytes, u.reserved_bytes, u.created_at, u.updated_at";

/// The per-request authentication check: the user of a live session of an enabled account
/// ([`super::rows::UserRow`]); nothing otherwise. One query serves both auth and `GET /v1/me`.
pub fn authenticate(session_id: &str, user_id: &str) -> Stmt {
    Stmt::new(
        format!(
            "select {USER_COLUMNS} from sessions s join users u on u.id = s.user_id \
             where s.id = ?1 and s.user_id = ?2 and s.revoked_at is null and u.disabled_at is null"
        ),
        args![session_id, user_id],
    )
}

/// A user ([`super::rows::UserRow`]).
pub fn user(id: &str) -> Stmt {
    Stmt::new(
        format!("select {USER_COLUMNS} from users u where u.id = ?1"),
        args![id],
    )
}

/// Sweep: forgets refresh tokens expired before `before`.
pub fn purge_expired_refresh(before: &str) -> Stmt {
    Stmt::new(
        "delete from refresh_tokens where expires_at < ?1",
        args![before],
    )
}

/// Sweep: forgets sessions that expired or were revoked before `before`.
pub fn purge_dead_sessions(before: &str) -> Stmt {
    Stmt::new(
        "delete from sessions where expires_at < ?1 or revoked_at < ?1",
        args![before],
    )
}
