//! Statements of accounts and sessions (SPEC §1): users and their credentials, sessions (one per
//! sign-in) and the refresh tokens of each session's family, rotated one at a time.

use crate::args;

use super::Stmt;

/// Columns of a user as the API shows it ([`super::rows::UserRow`]).
pub const USER_COLUMNS: &str = "u.id, u.email, u.display_name, u.role, u.preferences, \
     u.quota_bytes, u.used_bytes, u.reserved_bytes, u.created_at, u.updated_at";

// ---- users ----

/// An account to create.
pub struct NewUser<'a> {
    pub id: &'a str,
    /// Normalised.
    pub email: &'a str,
    /// PHC string.
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub quota_bytes: i64,
    pub now: &'a str,
}

/// Creates the account. Changed nothing: the email is taken (the unique index decides, so two
/// racing registrations of one email create one account).
pub fn insert_user(u: &NewUser<'_>) -> Stmt {
    Stmt::new(
        "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
         values (?1, ?2, ?3, ?4, ?5, ?6, ?6) on conflict (email) do nothing",
        args![u.id, u.email, u.password_hash, u.display_name, u.quota_bytes, u.now],
    )
}

/// A user ([`super::rows::UserRow`]).
/// Takes back an account whose copies could not all be written (`service::accounts::register`).
pub fn delete_new_user(id: &str) -> Stmt {
    Stmt::new("delete from users where id = ?1", args![id])
}

pub fn user(id: &str) -> Stmt {
    Stmt::new(
        format!("select {USER_COLUMNS} from users u where u.id = ?1"),
        args![id],
    )
}

/// What a login checks, by normalised email ([`super::rows::CredentialsRow`]).
pub fn credentials(email: &str) -> Stmt {
    Stmt::new(
        "select id, password_hash, disabled_at from users where email = ?1",
        args![email],
    )
}

/// The user's password hash (`password_hash`), to verify the current password.
pub fn password_hash(user_id: &str) -> Stmt {
    Stmt::new(
        "select password_hash from users where id = ?1",
        args![user_id],
    )
}

/// Replaces the user's password hash.
pub fn update_password(user_id: &str, password_hash: &str, now: &str) -> Stmt {
    Stmt::new(
        "update users set password_hash = ?2, updated_at = ?3 where id = ?1",
        args![user_id, password_hash, now],
    )
}

/// Changes the profile: `None` keeps a field. `preferences` is JSON text (the column's check
/// refuses anything else).
pub fn update_profile(
    user_id: &str,
    display_name: Option<&str>,
    preferences: Option<&str>,
    now: &str,
) -> Stmt {
    Stmt::new(
        "update users set display_name = coalesce(?2, display_name), \
           preferences = coalesce(?3, preferences), updated_at = ?4 where id = ?1",
        args![user_id, display_name, preferences, now],
    )
}

// ---- sessions and refresh tokens ----

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

/// A session to open, with the first refresh token of its family.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub refresh_jti: &'a str,
    pub now: &'a str,
    /// When the refresh token (and, unless refreshed, the session) expires.
    pub expires_at: &'a str,
}

/// Opens the session and issues its first refresh token.
pub fn start_session(s: &NewSession<'_>) -> [Stmt; 2] {
    [
        Stmt::new(
            "insert into sessions (id, user_id, created_at, last_used_at, expires_at) \
             values (?1, ?2, ?3, ?3, ?4)",
            args![s.id, s.user_id, s.now, s.expires_at],
        ),
        Stmt::new(
            "insert into refresh_tokens (jti, session_id, user_id, issued_at, expires_at) \
             values (?1, ?2, ?3, ?4, ?5)",
            args![s.refresh_jti, s.id, s.user_id, s.now, s.expires_at],
        ),
    ]
}

/// The state of a presented refresh token, only if it is this session's and this user's
/// ([`super::rows::RefreshStateRow`]): spent or not, its session revoked or not, its account
/// disabled or not.
pub fn refresh_state(jti: &str, session_id: &str, user_id: &str) -> Stmt {
    Stmt::new(
        "select r.used_at, s.revoked_at as session_revoked_at, u.disabled_at \
         from refresh_tokens r join sessions s on s.id = r.session_id join users u on u.id = r.user_id \
         where r.jti = ?1 and r.session_id = ?2 and r.user_id = ?3",
        args![jti, session_id, user_id],
    )
}

/// One rotation of a session's refresh token.
pub struct Rotation<'a> {
    /// The token presented.
    pub jti: &'a str,
    /// Its successor.
    pub successor: &'a str,
    pub session_id: &'a str,
    pub user_id: &'a str,
    pub now: &'a str,
    pub expires_at: &'a str,
}

/// Spends the presented token and issues its successor, in one batch:
/// 0. spends it only if nobody spent it first — of two racing rotations exactly one changes a
///    row; changed nothing: it was already spent (a reuse);
/// 1. inserts the successor only if this rotation won and the session is still live; changed
///    nothing (after 0 changed): the session was revoked meanwhile;
/// 2. extends the live session.
pub fn rotate_refresh(r: &Rotation<'_>) -> [Stmt; 3] {
    [
        Stmt::new(
            "update refresh_tokens set used_at = ?2, replaced_by = ?3 \
             where jti = ?1 and used_at is null",
            args![r.jti, r.now, r.successor],
        ),
        Stmt::new(
            "insert into refresh_tokens (jti, session_id, user_id, issued_at, expires_at) \
             select ?1, ?2, ?3, ?4, ?5 \
             where exists (select 1 from refresh_tokens where jti = ?6 and replaced_by = ?1) \
               and exists (select 1 from sessions where id = ?2 and revoked_at is null)",
            args![
                r.successor,
                r.session_id,
                r.user_id,
                r.now,
                r.expires_at,
                r.jti
            ],
        ),
        Stmt::new(
            "update sessions set last_used_at = ?2, expires_at = ?3 where id = ?1 and revoked_at is null",
            args![r.session_id, r.now, r.expires_at],
        ),
    ]
}

/// Revokes one of the user's sessions (with it every refresh and access token of the family).
/// Changed nothing: not the user's, or already revoked.
pub fn revoke_session(session_id: &str, user_id: &str, now: &str, reason: &str) -> Stmt {
    Stmt::new(
        "update sessions set revoked_at = ?3, revoked_reason = ?4 \
         where id = ?1 and user_id = ?2 and revoked_at is null",
        args![session_id, user_id, now, reason],
    )
}

/// Revokes every live session of the user except `keep` (`None`: all of them).
pub fn revoke_other_sessions(user_id: &str, keep: Option<&str>, now: &str, reason: &str) -> Stmt {
    Stmt::new(
        "update sessions set revoked_at = ?2, revoked_reason = ?3 \
         where user_id = ?1 and id <> ?4 and revoked_at is null",
        args![user_id, now, reason, keep.unwrap_or("")],
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
