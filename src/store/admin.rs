//! Admin statements (SPEC §6): user search and changes, overview statistics, failed tasks.

/// A user as admins see it (never the password hash), as JSON text.
macro_rules! admin_user_json {
    () => {
        "json_object('id', u.id, 'email', u.email, 'display_name', u.display_name, \
           'role', u.role, 'quota_bytes', u.quota_bytes, 'used_bytes', u.used_bytes, \
           'reserved_bytes', u.reserved_bytes, \
           'disabled', json(case when u.disabled_at is null then 'false' else 'true' end), \
           'disabled_at', u.disabled_at, 'created_at', u.created_at, 'updated_at', u.updated_at, \
           'scores', (select count(*) from scores s where s.user_id = u.id))"
    };
}

/// `?1` lowercase text found literally in the email or display name (null or empty: everyone;
/// `instr`, not `LIKE`, which D1 limits to 50-byte patterns), `?2` email to start after (null:
/// from the first), `?3` limit. Ordered by email, which is unique.
pub const USERS: &str = concat!(
    "select u.email as email, ",
    admin_user_json!(),
    " as json from users u \
     where (?1 is null or instr(lower(u.email), ?1) > 0 or instr(lower(u.display_name), ?1) > 0) \
       and (?2 is null or u.email > ?2) \
     order by u.email limit ?3"
);

/// `?1` user id.
pub const USER: &str = concat!(
    "select u.email as email, ",
    admin_user_json!(),
    " as json from users u where u.id = ?1"
);

/// `?1` user id, `?2` quota or null, `?3` role or null, `?4` disabled (1/0) or null, `?5` now.
/// Disabling keeps the first `disabled_at`.
pub const PATCH_USER: &str = "update users set \
     quota_bytes = coalesce(?2, quota_bytes), \
     role = coalesce(?3, role), \
     disabled_at = case when ?4 is null then disabled_at \
                        when ?4 = 1 then coalesce(disabled_at, ?5) else null end, \
     updated_at = ?5 \
   where id = ?1";

/// Ends every session of a disabled user at once (`?1` user id, `?2` now): their access tokens
/// name a session, so they stop working on the next request.
pub const REVOKE_SESSIONS: &str =
    "update sessions set revoked_at = ?2, revoked_reason = 'disabled' \
   where user_id = ?1 and revoked_at is null";

/// The overview as one JSON object.
pub const STATS: &str = "select json_object( \
     'users', (select count(*) from users), \
     'disabled_users', (select count(*) from users where disabled_at is not null), \
     'admins', (select count(*) from users where role = 'admin'), \
     'scores', (select count(*) from scores), \
     'pages', (select coalesce(sum(pages), 0) from scores), \
     'bytes', (select coalesce(sum(used_bytes), 0) from users), \
     'reserved_bytes', (select coalesce(sum(reserved_bytes), 0) from users), \
     'setlists', (select count(*) from setlists), \
     'processing_pending', (select count(*) from scores where pdf_info_state = 'pending') \
        + (select count(*) from scores where thumbnail_state = 'pending'), \
     'processing_failed', (select count(*) from scores where pdf_info_state = 'failed') \
        + (select count(*) from scores where thumbnail_state = 'failed'), \
     'dead_letters', (select count(*) from task_runs where state = 'dead') \
   ) as json";

/// Failed processing and dead-lettered messages, newest first, at most `?1`. Each row's `id` is
/// what `POST /v1/admin/tasks/{id}/retry` takes.
pub const FAILED_TASKS: &str = "select json from ( \
     select s.updated_at as at, json_object('id', 'pdf_info:' || s.id, 'task', 'pdf_info', \
       'state', 'failed', 'score_id', s.id, 'user_id', s.user_id, 'reason', s.pdf_info_reason, \
       'updated_at', s.updated_at) as json \
     from scores s where s.pdf_info_state = 'failed' \
     union all \
     select s.updated_at, json_object('id', 'thumbnail:' || s.id, 'task', 'thumbnail', \
       'state', 'failed', 'score_id', s.id, 'user_id', s.user_id, 'reason', s.thumbnail_reason, \
       'updated_at', s.updated_at) \
     from scores s where s.thumbnail_state = 'failed' \
     union all \
     select t.updated_at, json_object('id', t.id, 'task', 'dead_letter', 'state', 'dead', \
       'message', json(case when json_valid(t.detail) then t.detail else json_quote(t.detail) end), \
       'attempts', t.attempts, 'updated_at', t.updated_at) \
     from task_runs t where t.state = 'dead' \
   ) order by at desc limit ?1";

/// A dead letter's message body (`?1` task run id).
pub const DEAD_LETTER: &str = "select detail from task_runs where id = ?1 and state = 'dead'";

/// A dead letter handled by a retry: kept for the record, no longer counted as dead.
pub const DEAD_LETTER_RETRIED: &str =
    "update task_runs set state = 'pending', detail = 'retried by an admin: ' || detail, updated_at = ?2 \
     where id = ?1 and state = 'dead'";

/// Puts a failed `pdf_info` back to pending (`?1` score id); no change when it is not failed.
pub const RETRY_PDF_INFO: &str =
    "update scores set pdf_info_state = 'pending', pdf_info_reason = null \
   where id = ?1 and pdf_info_state = 'failed'";

/// Puts a failed `thumbnail` back to pending (`?1` score id).
pub const RETRY_THUMBNAIL: &str =
    "update scores set thumbnail_state = 'pending', thumbnail_reason = null \
   where id = ?1 and thumbnail_state = 'failed'";
