//! D1 statements. Parameters are positional (`?1`, `?2`, …) and named in each doc comment.

/// Columns of a user as the API shows it.
pub const USER_COLUMNS: &str = "u.id, u.email, u.display_name, u.role, u.preferences, u.quota_bytes, u.used_bytes, u.reserved_bytes, u.created_at, u.updated_at";

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

/// `?1` user id → quota_bytes, used_bytes, reserved_bytes.
pub const USAGE: &str = "select quota_bytes, used_bytes, reserved_bytes from users where id = ?1";

/// Sweep: forgets refresh tokens expired before `?1`.
pub const PURGE_EXPIRED_REFRESH: &str = "delete from refresh_tokens where expires_at < ?1";

/// Sweep: forgets sessions that expired or were revoked before `?1`.
pub const PURGE_DEAD_SESSIONS: &str =
    "delete from sessions where expires_at < ?1 or revoked_at < ?1";

/// Records a task outcome idempotently: `?1` id, `?2` task, `?3` state, `?4` detail,
/// `?5` message id, `?6` now. Redelivery updates the row and counts the attempt.
pub const RECORD_TASK: &str = "insert into task_runs (id, task, state, attempts, detail, message_id, created_at, updated_at) \
     values (?1, ?2, ?3, 1, ?4, ?5, ?6, ?6) \
     on conflict (id) do update set state = excluded.state, attempts = task_runs.attempts + 1, \
       detail = excluded.detail, message_id = excluded.message_id, updated_at = excluded.updated_at";

/// A delivery starts task `?1` (`?2` its name) at `?3`: returns the crashes counted so far,
/// including the previous delivery if it started and never finished (its `started_at` is
/// still set).
pub const TASK_STARTS: &str = "insert into task_runs (id, task, state, attempts, created_at, updated_at, started_at) \
     values (?1, ?2, 'pending', 0, ?3, ?3, ?3) \
     on conflict (id) do update set crashes = task_runs.crashes + (task_runs.started_at is not null), \
       started_at = excluded.started_at, updated_at = excluded.updated_at \
     returning crashes, failures";

/// Of the record ids in the JSON array `?1`, those whose last delivery started and never
/// finished (it crashed the isolate).
pub const UNFINISHED_TASKS: &str = "select id from task_runs \
     where id in (select value from json_each(?1)) and started_at is not null";

/// The delivery of task `?1` ended without crashing: a transient error (`?2` = 1) counts one
/// failure; a finished run (`?2` = 0) clears the counts. Returns the failures so far.
pub const TASK_STOPS: &str = "update task_runs set started_at = null, \
       failures = case when ?2 then failures + 1 else 0 end, \
       crashes = case when ?2 then crashes else 0 end \
     where id = ?1 returning failures";

/// Task `?1` was given up (or explicitly re-run): its counters start again from zero.
pub const TASK_RESET: &str =
    "update task_runs set started_at = null, failures = 0, crashes = 0 where id = ?1";

/// Liveness of D1 for `/health`.
pub const PING: &str = "select 1 as one";

// ---- library: uploads and quota ----

/// Dedupe: `?1` user id, `?2` sha256 → the existing score's id.
pub const SCORE_ID_BY_HASH: &str = "select id from scores where user_id = ?1 and content_hash = ?2";

/// Reserves quota and records the upload in ONE conditional statement: the row is inserted only
/// if the user's usage plus reservations plus this size fits the quota. D1 runs statements one at
/// a time, so concurrent reservations can never overshoot.
/// `?1` id, `?2` user id, `?3` filename, `?4` size, `?5` mime, `?6` sha256, `?7` object key,
/// `?8` expires_at, `?9` consumable_until, `?10` now.
pub const RESERVE_UPLOAD: &str = "insert into uploads (id, user_id, filename, size_bytes, mime, sha256, object_key, state, expires_at, consumable_until, created_at, updated_at) \
     select ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'reserved', ?8, ?9, ?10, ?10 from users \
     where id = ?2 and disabled_at is null and used_bytes + reserved_bytes + ?4 <= quota_bytes";

/// Charges the reservation made by [`RESERVE_UPLOAD`] (same batch, right after it).
/// `?1` upload id, `?2` user id, `?3` now.
pub const CHARGE_RESERVATION: &str = "update users set reserved_bytes = reserved_bytes + (select size_bytes from uploads where id = ?1), updated_at = ?3 \
     where id = ?2 and exists (select 1 from uploads where id = ?1 and user_id = ?2 and state = 'reserved')";

/// `?1` upload id, `?2` user id → the upload.
pub const UPLOAD_BY_ID: &str = "select id, user_id, filename, size_bytes, mime, sha256, object_key, state, expires_at, consumable_until, score_id from uploads where id = ?1 and user_id = ?2";

/// Worker-mode PUT landed and was verified: `?1` upload id, `?2` now.
pub const MARK_UPLOAD_STORED: &str =
    "update uploads set state = 'stored', updated_at = ?2 where id = ?1 and state = 'reserved'";

/// The states from which an upload can still become a score or be released.
const OPEN: &str = "state in ('reserved', 'stored')";

/// Converts a reservation into usage: `?1` user id, `?2` upload id, `?3` now.
/// First statement of the create-score batch; evaluated before the upload changes state.
pub fn consume_charge() -> String {
    format!(
        "update users set reserved_bytes = reserved_bytes - (select size_bytes from uploads where id = ?2), \
         used_bytes = used_bytes + (select size_bytes from uploads where id = ?2), updated_at = ?3 \
         where id = ?1 and exists (select 1 from uploads where id = ?2 and user_id = ?1 and {OPEN} and consumable_until > ?3)"
    )
}

/// `?1` user id, `?2` upload id, `?3` now, `?4` score id.
pub fn consume_upload() -> String {
    format!(
        "update uploads set state = 'consumed', score_id = ?4, updated_at = ?3 \
         where id = ?2 and user_id = ?1 and {OPEN} and consumable_until > ?3"
    )
}

/// Creates the score from its consumed upload.
/// `?1` score id, `?2` upload id, `?3` title, `?4` composer, `?5` arranger, `?6` instrumentation,
/// `?7` key, `?8` notes, `?9` rating, `?10` difficulty, `?11` duration, `?12` now,
/// `?13` tags (sorted JSON array; the same list goes to `score_tags` in the batch).
pub const INSERT_SCORE: &str = "insert into scores (id, user_id, upload_id, object_key, filename, title, composer, arranger, instrumentation, key, notes, rating, difficulty, duration, tags, content_hash, size_bytes, created_at, updated_at) \
     select ?1, u.user_id, u.id, u.object_key, u.filename, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13, u.sha256, u.size_bytes, ?12, ?12 \
     from uploads u where u.id = ?2 and u.state = 'consumed' and u.score_id = ?1";

/// Replaces a score's tags: `?1` score id, `?2` JSON array of tags.
pub const DELETE_TAGS: &str = "delete from score_tags where score_id = ?1";
pub const INSERT_TAGS: &str = "insert or ignore into score_tags (score_id, tag) select ?1, value from json_each(?2) where exists (select 1 from scores where id = ?1)";

/// Releases an open reservation (dedupe at create time, or the sweep): `?1` upload id,
/// `?2` now, `?3` the state to record (`released` or `expired`). Quota first, then the state, in
/// one batch; each is conditional on the upload still being open, so a second run does nothing.
pub fn release_charge() -> String {
    format!(
        "update users set reserved_bytes = reserved_bytes - (select size_bytes from uploads where id = ?1), updated_at = ?2 \
         where id = (select user_id from uploads where id = ?1) and exists (select 1 from uploads where id = ?1 and {OPEN})"
    )
}

pub fn release_upload() -> String {
    format!("update uploads set state = ?3, updated_at = ?2 where id = ?1 and {OPEN}")
}

/// Third statement of the release batch: records the object for deletion, only if this batch's
/// release won (the upload now has `?3` stamped at `?2`). The deletion stays in the outbox until
/// the upload URL expires, so an object a client PUTs after the release is deleted too.
pub const QUEUE_RELEASE_DELETION: &str = "insert into deletions (object_key, requested_at, not_before) \
     select object_key, ?2, max(expires_at, ?2) from uploads where id = ?1 and state = ?3 and updated_at = ?2 \
     on conflict (object_key) do update set not_before = max(coalesce(deletions.not_before, ''), excluded.not_before)";

/// Sweep: open uploads past their grace period. `?1` now, `?2` limit.
pub fn expired_uploads() -> String {
    format!("select id, object_key from uploads where {OPEN} and consumable_until <= ?1 limit ?2")
}

// ---- library: scores ----

/// A score as the API shows it (SPEC §8), built by SQLite with `json_object`, so rows come back
/// from D1 as finished JSON text: no per-field conversion in the Worker. `thumbnail_url` is added
/// by the Worker (it is presigned); `views::score_json` splices it in. `json(…)` keeps nested
/// JSON (tags, metadata) as JSON rather than strings.
/// A score's (`s`) processing as the API shows it: each task's `state`, and `reason` when failed.
macro_rules! processing_json {
    () => {
        "json_object(\
'pdf_info', case when s.pdf_info_state = 'failed' then json_object('state', 'failed', 'reason', s.pdf_info_reason) else json_object('state', s.pdf_info_state) end, \
'thumbnail', case when s.thumbnail_state = 'failed' then json_object('state', 'failed', 'reason', s.thumbnail_reason) else json_object('state', s.thumbnail_state) end)"
    };
}

/// [`processing_json!`] as a constant, for statements built with `format!`.
pub const PROCESSING_JSON: &str = processing_json!();

pub const SCORE_JSON: &str = concat!(
    "json_object(\
'id', s.id, 'title', s.title, 'composer', s.composer, 'arranger', s.arranger, \
'instrumentation', s.instrumentation, 'key', s.key, 'notes', s.notes, \
'tags', json(s.tags), \
'rating', s.rating, 'difficulty', s.difficulty, 'duration', s.duration, 'filename', s.filename, \
'content_hash', s.content_hash, 'size_bytes', s.size_bytes, 'pages', s.pages, \
'pdf_meta', json(s.pdf_meta), 'suggestions', json(s.suggestions), \
'processing', ",
    processing_json!(),
    ", \
'created_at', s.created_at, 'updated_at', s.updated_at)"
);

/// Columns of a score row: what the Worker needs besides the finished JSON.
pub fn score_columns() -> String {
    format!("s.id, s.object_key, s.thumbnail_key, {SCORE_JSON} as json")
}

/// `?1` score id, `?2` owner id → the score.
pub fn score_by_id() -> String {
    format!(
        "select {} from scores s where s.id = ?1 and s.user_id = ?2",
        score_columns()
    )
}

/// PATCH: each column is replaced only when its "set" flag is 1, so absent fields keep their
/// value and `null` clears. `?1` id, `?2` owner, `?3` now, then pairs (flag, value) from `?4`:
/// title, composer, arranger, instrumentation, key, notes, rating, difficulty, duration, tags.
pub const UPDATE_SCORE: &str = "update scores set \
     title = case when ?4 then ?5 else title end, \
     composer = case when ?6 then ?7 else composer end, \
     arranger = case when ?8 then ?9 else arranger end, \
     instrumentation = case when ?10 then ?11 else instrumentation end, \
     key = case when ?12 then ?13 else key end, \
     notes = case when ?14 then ?15 else notes end, \
     rating = case when ?16 then ?17 else rating end, \
     difficulty = case when ?18 then ?19 else difficulty end, \
     duration = case when ?20 then ?21 else duration end, \
     tags = case when ?22 then ?23 else tags end, \
     updated_at = ?3 \
     where id = ?1 and user_id = ?2";

/// Delete batch, in order: release the bytes, queue the objects for deletion, delete the row.
/// `?1` score id, `?2` owner id, `?3` now.
pub const RELEASE_SCORE_BYTES: &str = "update users set used_bytes = used_bytes - (select size_bytes from scores where id = ?1 and user_id = ?2), updated_at = ?3 \
     where id = ?2 and exists (select 1 from scores where id = ?1 and user_id = ?2)";
/// The deletion is not done before the score's upload URL expires (a PUT may still land).
pub const QUEUE_SCORE_DELETION: &str = "insert or ignore into deletions (object_key, requested_at, not_before) \
     select s.object_key, ?3, (select max(u.expires_at, ?3) from uploads u where u.id = s.upload_id) \
     from scores s where s.id = ?1 and s.user_id = ?2";
pub const DELETE_SCORE: &str = "delete from scores where id = ?1 and user_id = ?2";

/// The object is gone: `?1` object key, `?2` now. A deletion whose upload URL is still valid
/// stays (a late PUT could bring the object back); the sweep does it again after `not_before`.
pub const DELETION_DONE: &str =
    "delete from deletions where object_key = ?1 and (not_before is null or not_before <= ?2)";

/// Sweep: deletions to (re)enqueue, at most `?2`: those whose wait just ended (`not_before` was
/// after the request and is now past `?3`, now) and those requested before `?1` and still
/// pending. Each is stamped `requested_at = ?3`, so it is retried again only after `?1`'s delay.
pub const LINGERING_DELETIONS: &str =
    "update deletions set attempts = attempts + 1, requested_at = ?3 \
     where object_key in (select object_key from deletions \
       where (not_before is null or not_before <= ?3) \
         and (requested_at < ?1 or not_before > requested_at) \
       order by requested_at limit ?2) \
     returning object_key";

// ---- processing ----

/// `?1` score id → what the processors need.
pub const SCORE_FILE: &str = "select id, object_key, size_bytes from scores where id = ?1";

/// `pdf_info` succeeded: `?1` score id, `?2` pages, `?3` pdf_meta JSON, `?4` suggestions JSON.
/// Processing results are not user edits: `updated_at` is left alone. Running it twice writes
/// the same values (idempotent).
pub const PDF_INFO_OK: &str = "update scores set pages = ?2, pdf_meta = ?3, suggestions = ?4, pdf_info_state = 'ok', pdf_info_reason = null where id = ?1";

/// `pdf_info` failed for good: `?1` score id, `?2` reason.
pub const PDF_INFO_FAILED: &str =
    "update scores set pdf_info_state = 'failed', pdf_info_reason = ?2 where id = ?1";

/// `thumbnail` succeeded: `?1` score id, `?2` thumbnail key, `?3` its size. Changes nothing when
/// the score was deleted meanwhile (the task then deletes the image it stored).
pub const THUMBNAIL_OK: &str = "update scores set thumbnail_key = ?2, thumbnail_bytes = ?3, thumbnail_state = 'ok', thumbnail_reason = null where id = ?1";

// ---- page images (download-url?page=N) ----

/// Bytes of derived images a score may hold: `?1` the score's PDF size, `?2` the floor
/// (`DERIVED_MIN_BYTES`) — twice the PDF, or the floor when that is larger.
macro_rules! derived_cap {
    () => {
        "max(2 * ?1, ?2)"
    };
}

/// What a request needs to answer for page `?4` at width `?5` of score `?3`: the render's row,
/// if any, and whether the score's derived images already fill its budget (`?1` PDF size, `?2`
/// floor).
pub const PAGE_RENDER: &str = concat!(
    "select r.state, r.reason, \
       (select s.thumbnail_bytes + coalesce((select sum(bytes) from page_renders x where x.score_id = s.id), 0) \
        from scores s where s.id = ?3) >= ",
    derived_cap!(),
    " as full \
     from (select 1) left join page_renders r on r.score_id = ?3 and r.page = ?4 and r.width = ?5"
);

/// Asks for page `?4` at width `?5` of score `?3` at `?6`: inserts the pending row unless one
/// exists or the budget (`?1`, `?2`) is full. The request whose insert changed a row sends the
/// one render message.
pub const REQUEST_RENDER: &str = concat!(
    "insert into page_renders (score_id, page, width, state, created_at, updated_at) \
     select ?3, ?4, ?5, 'pending', ?6, ?6 from scores s where s.id = ?3 \
       and s.thumbnail_bytes + coalesce((select sum(bytes) from page_renders x where x.score_id = s.id), 0) < ",
    derived_cap!(),
    " on conflict (score_id, page, width) do nothing"
);

/// The render is stored: `?3` score, `?4` page, `?5` width, `?6` bytes, `?7` now — only while
/// the row is pending, the score exists and the image fits the budget (`?1`, `?2`). When it
/// changes nothing the task deletes the image it stored.
pub const RENDER_OK: &str = concat!(
    "update page_renders set state = 'ok', bytes = ?6, reason = null, updated_at = ?7 \
     where score_id = ?3 and page = ?4 and width = ?5 and state = 'pending' \
       and (select s.thumbnail_bytes + coalesce((select sum(bytes) from page_renders x where x.score_id = s.id), 0) + ?6 \
            from scores s where s.id = ?3) <= ",
    derived_cap!()
);

/// The render failed for good: `?1` score, `?2` page, `?3` width, `?4` reason, `?5` now.
pub const RENDER_FAILED: &str =
    "update page_renders set state = 'failed', reason = ?4, updated_at = ?5 \
     where score_id = ?1 and page = ?2 and width = ?3 and state = 'pending'";

/// A render task's view of its row and file: `?1` score, `?2` page, `?3` width.
pub const RENDER_JOB: &str = "select r.state, s.object_key, s.size_bytes from page_renders r \
     join scores s on s.id = r.score_id where r.score_id = ?1 and r.page = ?2 and r.width = ?3";

/// Sweep: renders pending since before `?1` (a lost message), at most `?2`; each is touched
/// (`?3` now) so it is sent once per sweep.
pub const STALE_RENDERS: &str = "update page_renders set updated_at = ?3 \
     where (score_id, page, width) in (select score_id, page, width from page_renders \
       where state = 'pending' and updated_at < ?1 limit ?2) \
     returning score_id, page, width";

/// Sweep: gives up on renders asked for before `?1` and still pending; `?2` reason.
pub const ABANDON_STALE_RENDERS: &str = "update page_renders set state = 'failed', reason = ?2 \
     where state = 'pending' and created_at < ?1";

/// A processing task was dead-lettered or never finished: `?1` score id, `?2` reason. Only a
/// task still pending is marked (a late success stands).
pub const PDF_INFO_GAVE_UP: &str = "update scores set pdf_info_state = 'failed', pdf_info_reason = ?2 where id = ?1 and pdf_info_state = 'pending'";
pub const THUMBNAIL_GAVE_UP: &str = "update scores set thumbnail_state = 'failed', thumbnail_reason = ?2 where id = ?1 and thumbnail_state = 'pending'";

/// Scores with a task still pending, created between `?2` and `?1` (RFC 3339), oldest first,
/// at most `?3` (served by the partial index `scores_processing_pending`).
pub const STALE_PROCESSING: &str =
    "select id, pdf_info_state = 'pending' as pdf_info, thumbnail_state = 'pending' as thumbnail \
     from scores where (pdf_info_state = 'pending' or thumbnail_state = 'pending') \
       and created_at < ?1 and created_at >= ?2 order by created_at limit ?3";

/// Gives up on tasks still pending for scores created before `?1`; `?2` reason.
pub const ABANDON_STALE_PDF_INFO: &str = "update scores set pdf_info_state = 'failed', pdf_info_reason = ?2 where pdf_info_state = 'pending' and created_at < ?1";
pub const ABANDON_STALE_THUMBNAIL: &str = "update scores set thumbnail_state = 'failed', thumbnail_reason = ?2 where thumbnail_state = 'pending' and created_at < ?1";

/// `thumbnail` failed for good: `?1` score id, `?2` reason.
pub const THUMBNAIL_FAILED: &str =
    "update scores set thumbnail_state = 'failed', thumbnail_reason = ?2 where id = ?1";

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
