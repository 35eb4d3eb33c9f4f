//! D1 statements. Parameters are positional (`?1`, `?2`, …) and named in each doc comment.

use super::accounts::USER_COLUMNS;

/// `?1` id, `?2` email, `?3` password_hash, `?4` display_name, `?5` quota_bytes, `?6` now.
/// Changes no row when the email is taken (the caller answers 409).
pub const INSERT_USER: &str = "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) values (?1, ?2, ?3, ?4, ?5, ?6, ?6) on conflict (email) do nothing";

/// `?1` email → id, password_hash, disabled_at.
pub const USER_CREDENTIALS_BY_EMAIL: &str =
    "select id, password_hash, disabled_at from users where email = ?1";

/// `?1` user id → password_hash.
pub const USER_PASSWORD_HASH: &str = "select password_hash from users where id = ?1";

/// `?1` user id → the user.
pub fn user_by_id() -> String {
    format!("select {USER_COLUMNS} from users u where u.id = ?1")
}

/// The per-request authentication check: `?1` session id, `?2` user id → the user, only if the
/// session is live and the account enabled. One query serves both auth and `GET /v1/me`.
pub fn authenticate() -> String {
    format!(
        "select {USER_COLUMNS} from sessions s join users u on u.id = s.user_id \
         where s.id = ?1 and s.user_id = ?2 and s.revoked_at is null and u.disabled_at is null"
    )
}

/// `?1` session id, `?2` user id, `?3` now, `?4` expires_at.
pub const INSERT_SESSION: &str = "insert into sessions (id, user_id, created_at, last_used_at, expires_at) values (?1, ?2, ?3, ?3, ?4)";

/// `?1` jti, `?2` session id, `?3` user id, `?4` issued_at, `?5` expires_at.
pub const INSERT_REFRESH: &str = "insert into refresh_tokens (jti, session_id, user_id, issued_at, expires_at) values (?1, ?2, ?3, ?4, ?5)";

/// State of a presented refresh token: `?1` jti, `?2` session id, `?3` user id.
pub const REFRESH_STATE: &str =
    "select r.used_at, s.revoked_at as session_revoked_at, u.disabled_at \
     from refresh_tokens r join sessions s on s.id = r.session_id join users u on u.id = r.user_id \
     where r.jti = ?1 and r.session_id = ?2 and r.user_id = ?3";

/// Spends a refresh token, only if nobody spent it first: `?1` jti, `?2` now, `?3` successor jti.
/// Exactly one of two racing rotations changes a row.
pub const SPEND_REFRESH: &str =
    "update refresh_tokens set used_at = ?2, replaced_by = ?3 where jti = ?1 and used_at is null";

/// Issues the successor only if this rotation won the race and the session is still live:
/// `?1` new jti, `?2` session id, `?3` user id, `?4` now, `?5` expires_at, `?6` old jti.
pub const INSERT_SUCCESSOR: &str =
    "insert into refresh_tokens (jti, session_id, user_id, issued_at, expires_at) \
     select ?1, ?2, ?3, ?4, ?5 \
     where exists (select 1 from refresh_tokens where jti = ?6 and replaced_by = ?1) \
       and exists (select 1 from sessions where id = ?2 and revoked_at is null)";

/// `?1` session id, `?2` now, `?3` expires_at.
pub const TOUCH_SESSION: &str =
    "update sessions set last_used_at = ?2, expires_at = ?3 where id = ?1 and revoked_at is null";

/// Revokes one session: `?1` session id, `?2` user id, `?3` now, `?4` reason.
pub const REVOKE_SESSION: &str = "update sessions set revoked_at = ?3, revoked_reason = ?4 where id = ?1 and user_id = ?2 and revoked_at is null";

/// Revokes every live session of a user except `?4` (pass `''` to keep none):
/// `?1` user id, `?2` now, `?3` reason.
pub const REVOKE_OTHER_SESSIONS: &str = "update sessions set revoked_at = ?2, revoked_reason = ?3 where user_id = ?1 and id <> ?4 and revoked_at is null";

/// `?1` user id, `?2` display_name or null (keep), `?3` preferences JSON or null (keep), `?4` now.
pub const UPDATE_PROFILE: &str = "update users set display_name = coalesce(?2, display_name), preferences = coalesce(?3, preferences), updated_at = ?4 where id = ?1";

/// `?1` user id, `?2` password_hash, `?3` now.
pub const UPDATE_PASSWORD: &str =
    "update users set password_hash = ?2, updated_at = ?3 where id = ?1";

/// Liveness of D1 for `/health`.
pub const PING: &str = "select 1 as one";

// ---- rate limits (domain::rate) ----

/// Counts one event in a window and returns the count including it; a new window restarts at 1.
/// One statement, so concurrent requests cannot both read the same count.
pub const RATE_HIT: &str = "\
INSERT INTO rate_windows (bucket, window_start, hits) VALUES (?1, ?2, 1) \
ON CONFLICT (bucket) DO UPDATE SET \
  hits = CASE WHEN rate_windows.window_start = excluded.window_start \
              THEN rate_windows.hits + 1 ELSE 1 END, \
  window_start = excluded.window_start \
RETURNING hits";

/// Gives back one event counted by [`RATE_HIT`] in the same window (a password attempt is
/// counted before it is verified, and returned when it proves right).
pub const RATE_GIVE_BACK: &str = "\
UPDATE rate_windows SET hits = hits - 1 WHERE bucket = ?1 AND window_start = ?2 AND hits > 0";

pub const RATE_SWEEP: &str = "DELETE FROM rate_windows WHERE window_start < ?1";
