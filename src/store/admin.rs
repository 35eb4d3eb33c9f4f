//! Admin statements (SPEC §6): user search and changes, overview statistics, failed tasks and
//! their re-run. Rows come back as finished JSON (`json`) built by SQLite.

use crate::args;

use super::processing::Of;
use super::Stmt;

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

/// Users as admins see them, with their emails (the list's key): `email`, `json`.
macro_rules! user_select {
    ($filter:literal) => {
        concat!(
            "select u.email as email, u.id as id, ",
            admin_user_json!(),
            " as json from users u ",
            $filter
        )
    };
}

/// One page of users by email (unique): `pattern` is lowercase text found literally in the
/// email or display name (`None`: everyone; `instr`, not `LIKE`, which D1 limits to 50-byte
/// patterns), `after` the email to continue after (`None`: from the first, every email being
/// greater than `''`: a page starts where the index says, never at the first account), `fetch`
/// how many.
pub fn users(pattern: Option<&str>, after: Option<&str>, fetch: i64) -> Stmt {
    Stmt::new(
        user_select!(
            "where (?1 is null or instr(lower(u.email), ?1) > 0 or instr(lower(u.display_name), ?1) > 0) \
               and u.email > coalesce(?2, '') \
             order by u.email limit ?3"
        ),
        args![pattern, after, fetch],
    )
}

/// One user as admins see it (`email`, `json`).
pub fn user(id: &str) -> Stmt {
    Stmt::new(user_select!("where u.id = ?1"), args![id])
}

/// What an admin changes on a user: `None` keeps a field.
pub struct UserChange<'a> {
    pub id: &'a str,
    pub quota_bytes: Option<i64>,
    pub role: Option<&'a str>,
    pub disabled: Option<bool>,
    pub now: &'a str,
}

/// Applies the change, ends every session of a user it disables (their access tokens name a
/// session, so they stop working on the next request), and reads the user back, in one batch.
/// The last statement found nothing: no such user. Disabling keeps the first `disabled_at`.
pub fn patch_user(c: &UserChange<'_>) -> Vec<Stmt> {
    let mut stmts = vec![Stmt::new(
        "update users set \
           quota_bytes = coalesce(?2, quota_bytes), \
           role = coalesce(?3, role), \
           disabled_at = case when ?4 is null then disabled_at \
                              when ?4 = 1 then coalesce(disabled_at, ?5) else null end, \
           updated_at = ?5 \
         where id = ?1",
        args![c.id, c.quota_bytes, c.role, c.disabled, c.now],
    )];
    if c.disabled == Some(true) {
        stmts.push(Stmt::new(
            "update sessions set revoked_at = ?2, revoked_reason = 'disabled' \
             where user_id = ?1 and revoked_at is null",
            args![c.id, c.now],
        ));
    }
    stmts.push(user(c.id));
    stmts
}

/// The overview as one JSON object (`json`).
pub fn stats() -> Stmt {
    Stmt::new(
        "select json_object( \
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
         ) as json",
        Vec::new(),
    )
}

/// Failed processing and dead-lettered messages, newest first, at most `limit` (`json`). Each
/// row's `id` is what `POST /v1/admin/tasks/{id}/retry` takes.
pub fn failed_tasks(limit: i64) -> Stmt {
    Stmt::new(
        "select json from ( \
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
           select p.updated_at, json_object('id', 'part_info:' || p.id, 'task', 'part_info', \
             'state', 'failed', 'score_id', p.score_id, 'part_id', p.id, 'user_id', p.user_id, \
             'reason', p.pdf_info_reason, 'updated_at', p.updated_at) \
           from score_parts p where p.pdf_info_state = 'failed' \
           union all \
           select p.updated_at, json_object('id', 'part_thumbnail:' || p.id, 'task', 'part_thumbnail', \
             'state', 'failed', 'score_id', p.score_id, 'part_id', p.id, 'user_id', p.user_id, \
             'reason', p.thumbnail_reason, 'updated_at', p.updated_at) \
           from score_parts p where p.thumbnail_state = 'failed' \
           union all \
           select t.updated_at, json_object('id', t.id, 'task', 'dead_letter', 'state', 'dead', \
             'message', json(case when json_valid(t.detail) then t.detail else json_quote(t.detail) end), \
             'attempts', t.attempts, 'updated_at', t.updated_at) \
           from task_runs t where t.state = 'dead' \
         ) order by at desc limit ?1",
        args![limit],
    )
}

/// A dead letter's message body (`detail`).
pub fn dead_letter(id: &str) -> Stmt {
    Stmt::new(
        "select detail from task_runs where id = ?1 and state = 'dead'",
        args![id],
    )
}

/// A dead letter handled by a retry: kept for the record, no longer counted as dead.
pub fn dead_letter_retried(id: &str, now: &str) -> Stmt {
    Stmt::new(
        "update task_runs set state = 'pending', detail = 'retried by an admin: ' || detail, updated_at = ?2 \
         where id = ?1 and state = 'dead'",
        args![id, now],
    )
}

/// Puts a score's failed `pdf_info` back to pending. Changed nothing: it was not failed.
pub fn retry_pdf_info(of: Of, id: &str) -> Stmt {
    Stmt::new(
        format!(
            "update {} set pdf_info_state = 'pending', pdf_info_reason = null \
             where id = ?1 and pdf_info_state = 'failed'",
            of.table()
        ),
        args![id],
    )
}

/// Puts a score's (or part's) failed `thumbnail` back to pending. Changed nothing: it was not failed.
pub fn retry_thumbnail(of: Of, id: &str) -> Stmt {
    Stmt::new(
        format!(
            "update {} set thumbnail_state = 'pending', thumbnail_reason = null \
             where id = ?1 and thumbnail_state = 'failed'",
            of.table()
        ),
        args![id],
    )
}
