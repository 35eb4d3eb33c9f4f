//! Statements of the library (SPEC §2, §3): upload reservations and the quota ledger, scores and
//! their tags, the deletion outbox, and page images. Each function returns the statements of one
//! step, bound to its typed arguments.

use crate::args;
use crate::domain::score::ScoreFields;

use super::processing::Of;
use super::{SqlValue, Stmt};

/// The states from which an upload can still become a score or be released.
macro_rules! open {
    () => {
        "state in ('reserved', 'stored')"
    };
}

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

/// A score (`s`) as the API shows it (SPEC §8), built by SQLite with `json_object`, so rows come
/// back as finished JSON text: no per-field conversion in the Worker. `thumbnail_url` is added by
/// the Worker (it is presigned) and spliced in. `json(…)` keeps nested JSON (tags, metadata) as
/// JSON rather than strings.
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
'created_at', s.created_at, 'updated_at', s.updated_at, 'trashed_at', s.trashed_at)"
);

/// A score as a row of `GET /v1/scores` shows it (decision 136): what a library grid draws, without
/// the long or detail-only fields (`notes`, `filename`, `content_hash`, `pdf_meta`,
/// `suggestions`, `trashed_at`), which `GET /v1/scores/{id}` gives. A page is a third of the full
/// objects' bytes, and every byte of a row crosses D1, the Worker and the network.
pub const SCORE_SUMMARY_JSON: &str = concat!(
    "json_object(\
'id', s.id, 'title', s.title, 'composer', s.composer, 'arranger', s.arranger, \
'instrumentation', s.instrumentation, 'key', s.key, 'tags', json(s.tags), \
'rating', s.rating, 'difficulty', s.difficulty, 'duration', s.duration, \
'size_bytes', s.size_bytes, 'pages', s.pages, 'processing', ",
    processing_json!(),
    ", 'created_at', s.created_at, 'updated_at', s.updated_at)"
);

/// Columns of a list row ([`super::rows::ScoreSummaryRow`]).
pub fn score_summary_columns() -> String {
    format!("s.id, s.thumbnail_key, {SCORE_SUMMARY_JSON} as json")
}

/// Columns of a score row ([`super::rows::ScoreRow`]): what the Worker needs besides the JSON.
pub fn score_columns() -> String {
    format!("s.id, s.object_key, s.thumbnail_key, {SCORE_JSON} as json")
}

// ---- uploads and the quota ledger ----

/// The caller's live score with this file content (dedupe considers live scores only): `id`.
pub fn score_id_by_hash(user_id: &str, sha256: &str) -> Stmt {
    Stmt::new(
        "select id from scores where user_id = ?1 and content_hash = ?2 and trashed_at is null",
        args![user_id, sha256],
    )
}

/// An upload reservation to record.
pub struct NewUpload<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub filename: &'a str,
    pub size: i64,
    pub mime: &'a str,
    pub sha256: &'a str,
    pub object_key: &'a str,
    /// When the upload URL stops working.
    pub expires_at: &'a str,
    /// `expires_at` plus the grace during which a score may still be created from it.
    pub consumable_until: &'a str,
    pub now: &'a str,
}

/// Reserves quota and records the upload. The row is inserted in ONE conditional statement, only
/// if the user's usage plus reservations plus this size fits the quota (D1 runs statements one at
/// a time, so racing reservations can never overshoot); the second statement charges exactly
/// what the first inserted. Statement 0 changed nothing: over quota.
pub fn reserve_upload(u: &NewUpload<'_>) -> [Stmt; 2] {
    [
        Stmt::new(
            "insert into uploads (id, user_id, filename, size_bytes, mime, sha256, object_key, state, \
               expires_at, consumable_until, created_at, updated_at) \
             select ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'reserved', ?8, ?9, ?10, ?10 from users \
             where id = ?2 and disabled_at is null and used_bytes + reserved_bytes + ?4 <= quota_bytes",
            args![
                u.id,
                u.user_id,
                u.filename,
                u.size,
                u.mime,
                u.sha256,
                u.object_key,
                u.expires_at,
                u.consumable_until,
                u.now
            ],
        ),
        Stmt::new(
            "update users set reserved_bytes = reserved_bytes + (select size_bytes from uploads where id = ?1), \
               updated_at = ?3 \
             where id = ?2 and exists (select 1 from uploads where id = ?1 and user_id = ?2 and state = 'reserved')",
            args![u.id, u.user_id, u.now],
        ),
    ]
}

/// The caller's upload ([`super::rows::UploadRow`]).
pub fn upload(id: &str, user_id: &str) -> Stmt {
    Stmt::new(
        "select id, user_id, filename, size_bytes, mime, sha256, object_key, state, expires_at, \
           consumable_until, score_id from uploads where id = ?1 and user_id = ?2",
        args![id, user_id],
    )
}

/// A Worker-mode PUT landed and was verified.
pub fn mark_upload_stored(id: &str, now: &str) -> Stmt {
    Stmt::new(
        "update uploads set state = 'stored', updated_at = ?2 where id = ?1 and state = 'reserved'",
        args![id, now],
    )
}

/// A score to create from a verified upload.
pub struct NewScore<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub upload_id: &'a str,
    pub fields: &'a ScoreFields,
    pub now: &'a str,
}

/// Consumes an open, still consumable upload of `user_id` into what it `became` (a score or a
/// part's id) at `now`: the reservation becomes usage and the upload is marked consumed naming
/// it. Both hold only while the upload is open, so a retry, a racing create or the sweep changes
/// nothing twice; statement 1 changed nothing: the upload was no longer open. `guard`: a further
/// condition both must meet (SQL over `?1` the user and `?5` its value), so the caller's insert
/// and the ledger move together.
pub fn consume_upload(
    user_id: &str,
    upload_id: &str,
    became: &str,
    now: &str,
    guard: Option<(&str, &str)>,
) -> [Stmt; 2] {
    let (value, condition) = guard.map_or((None, "1"), |(v, c)| (Some(v), c));
    // Only the parameters a statement names are bound (`?5` only with a guard).
    let bind = |n: usize| {
        let mut all = args![user_id, upload_id, now, became, value];
        all.truncate(if value.is_some() { 5 } else { n });
        all
    };
    [
        Stmt::new(
            format!(
                concat!(
                    "update users set reserved_bytes = reserved_bytes - (select size_bytes from uploads where id = ?2), \
                       used_bytes = used_bytes + (select size_bytes from uploads where id = ?2), updated_at = ?3 \
                     where id = ?1 and exists (select 1 from uploads where id = ?2 and user_id = ?1 and ",
                    open!(),
                    " and consumable_until > ?3) and ({})"
                ),
                condition
            ),
            bind(3),
        ),
        Stmt::new(
            format!(
                concat!(
                    "update uploads set state = 'consumed', score_id = ?4, updated_at = ?3 \
                     where id = ?2 and user_id = ?1 and ",
                    open!(),
                    " and consumable_until > ?3 and ({})"
                ),
                condition
            ),
            bind(4),
        ),
    ]
}

/// Turns an upload into a score in one batch: the upload is consumed ([`consume_upload`]), the
/// score inserted, its tags indexed. Statement 2 changed nothing: the upload was no longer open.
/// A second score of the same content fails the batch (a unique index), which rolls back as a
/// whole.
pub fn create_score(s: &NewScore<'_>) -> [Stmt; 4] {
    let f = s.fields;
    let text = |v: &Option<Option<String>>| SqlValue::from(v.clone().flatten());
    let int = |v: Option<Option<i64>>| SqlValue::from(v.flatten());
    let tags = tags_json(f.tags.as_deref().unwrap_or_default());
    let [ledger, consumed] = consume_upload(s.user_id, s.upload_id, s.id, s.now, None);
    [
        ledger,
        consumed,
        Stmt::new(
            "insert into scores (id, user_id, upload_id, object_key, filename, title, composer, arranger, \
               instrumentation, key, notes, rating, difficulty, duration, tags, content_hash, size_bytes, \
               created_at, updated_at) \
             select ?1, u.user_id, u.id, u.object_key, u.filename, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?13, \
               u.sha256, u.size_bytes, ?12, ?12 \
             from uploads u where u.id = ?2 and u.state = 'consumed' and u.score_id = ?1",
            vec![
                s.id.into(),
                s.upload_id.into(),
                f.title.clone().unwrap_or_default().into(),
                text(&f.composer),
                text(&f.arranger),
                text(&f.instrumentation),
                text(&f.key),
                text(&f.notes),
                int(f.rating),
                int(f.difficulty),
                int(f.duration),
                s.now.into(),
                tags.clone().into(),
            ],
        ),
        insert_tags(s.id, s.user_id, &tags),
    ]
}

/// The tags as a JSON array (already sorted and deduplicated by `ScoreFields`).
fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

/// Indexes the tags of the owner's score. Both tag statements name the owner: a score id alone
/// would let another user's (refused) PATCH or DELETE rewrite the owner's index.
fn insert_tags(score_id: &str, owner: &str, tags_json: &str) -> Stmt {
    Stmt::new(
        "insert or ignore into score_tags (score_id, tag) select ?1, value from json_each(?3) \
         where exists (select 1 from scores where id = ?1 and user_id = ?2 and trashed_at is null)",
        args![score_id, owner, tags_json],
    )
}

fn delete_tags(score_id: &str, owner: &str) -> Stmt {
    Stmt::new(
        "delete from score_tags where score_id = ?1 \
         and exists (select 1 from scores where id = ?1 and user_id = ?2 and trashed_at is null)",
        args![score_id, owner],
    )
}

/// Gives an open upload's reserved bytes back and marks it `state` (`released` or `expired`),
/// then records its object in the deletion outbox, only if this batch's release won (the upload
/// now has `state` stamped at `now`). The deletion waits until the upload URL expires, so an
/// object a client PUTs after the release is deleted too. Statement 1 changed: this call won.
pub fn release_upload(upload_id: &str, now: &str, state: &str) -> [Stmt; 3] {
    [
        Stmt::new(
            concat!(
                "update users set reserved_bytes = reserved_bytes - (select size_bytes from uploads where id = ?1), \
                   updated_at = ?2 \
                 where id = (select user_id from uploads where id = ?1) \
                   and exists (select 1 from uploads where id = ?1 and ",
                open!(),
                ")"
            ),
            args![upload_id, now],
        ),
        Stmt::new(
            concat!(
                "update uploads set state = ?3, updated_at = ?2 where id = ?1 and ",
                open!()
            ),
            args![upload_id, now, state],
        ),
        Stmt::new(
            "insert into deletions (object_key, requested_at, not_before) \
             select object_key, ?2, max(expires_at, ?2) from uploads where id = ?1 and state = ?3 and updated_at = ?2 \
             on conflict (object_key) do update set \
               not_before = max(coalesce(deletions.not_before, ''), excluded.not_before)",
            args![upload_id, now, state],
        ),
    ]
}

/// Sweep: open uploads past their grace period (`id`, `object_key`), at most `limit`.
pub fn expired_uploads(now: &str, limit: i64) -> Stmt {
    Stmt::new(
        concat!(
            "select id, object_key from uploads where ",
            open!(),
            " and consumable_until <= ?1 limit ?2"
        ),
        args![now, limit],
    )
}

/// The caller's quota and usage.
pub fn usage(user_id: &str) -> Stmt {
    Stmt::new(
        "select quota_bytes, used_bytes, reserved_bytes from users where id = ?1",
        args![user_id],
    )
}

// ---- scores ----

/// The owner's live score ([`super::rows::ScoreRow`]); a trashed one is not found.
pub fn score(id: &str, owner: &str) -> Stmt {
    Stmt::new(
        format!(
            "select {} from scores s where s.id = ?1 and s.user_id = ?2 and s.trashed_at is null",
            score_columns()
        ),
        args![id, owner],
    )
}

/// A PATCH: each column is replaced only when it was sent (`null` clears), its tags replaced
/// when sent; the update's trigger records a version, and the history keeps the newest
/// `keep_versions`. Statement 0 changed nothing: no such score of the owner.
pub fn patch_score(
    id: &str,
    owner: &str,
    f: &ScoreFields,
    keep_versions: i64,
    now: &str,
) -> Vec<Stmt> {
    let text =
        |v: &Option<Option<String>>| [SqlValue::from(v.is_some()), v.clone().flatten().into()];
    let int = |v: Option<Option<i64>>| [SqlValue::from(v.is_some()), v.flatten().into()];
    let tags = f.tags.as_deref().map(tags_json);
    let mut args = args![id, owner, now, f.title.is_some(), f.title.clone()];
    for pair in [
        text(&f.composer),
        text(&f.arranger),
        text(&f.instrumentation),
        text(&f.key),
        text(&f.notes),
        int(f.rating),
        int(f.difficulty),
        int(f.duration),
        [SqlValue::from(tags.is_some()), tags.clone().into()],
    ] {
        args.extend(pair);
    }
    let mut stmts = vec![Stmt::new(
        "update scores set \
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
         where id = ?1 and user_id = ?2 and trashed_at is null",
        args,
    )];
    if let Some(tags) = &tags {
        stmts.push(delete_tags(id, owner));
        stmts.push(insert_tags(id, owner, tags));
    }
    stmts.push(super::activity::prune_versions(id, keep_versions));
    stmts
}

/// Moves the owner's live score to the trash. Its rows stay (hidden by `trashed_at is null` in
/// every read of live scores), its bytes still count; the trigger of migration 0015 records the
/// event in each setlist holding it and bumps their versions. Changed nothing: no such live
/// score.
pub fn trash_score(id: &str, owner: &str, now: &str) -> Stmt {
    Stmt::new(
        "update scores set trashed_at = ?3 where id = ?1 and user_id = ?2 and trashed_at is null",
        args![id, owner, now],
    )
}

/// Takes the owner's score out of the trash, unless a live score now has its content (dedupe
/// considers live scores only; the partial unique index would refuse it too). Changed nothing:
/// not in the trash, or a live duplicate (the caller tells which).
pub fn restore_score(id: &str, owner: &str) -> Stmt {
    Stmt::new(
        "update scores set trashed_at = null where id = ?1 and user_id = ?2 and trashed_at is not null \
           and not exists (select 1 from scores o where o.user_id = ?2 and o.trashed_at is null \
                           and o.content_hash = scores.content_hash)",
        args![id, owner],
    )
}

/// The owner's trashed score ([`super::rows::ScoreRow`]).
pub fn trashed_score(id: &str, owner: &str) -> Stmt {
    Stmt::new(
        format!(
            "select {} from scores s where s.id = ?1 and s.user_id = ?2 and s.trashed_at is not null",
            score_columns()
        ),
        args![id, owner],
    )
}

/// A page of the owner's trash ([`super::activity::TimedRow`], `at` = `trashed_at`), newest
/// first, after the keyset `(trashed_at, id)` of the previous page's last row, `fetch` rows.
pub fn trash(owner: &str, after: Option<(&str, &str)>, fetch: i64) -> Stmt {
    let (at, id) = after.unzip();
    Stmt::new(
        format!(
            "select {}, s.trashed_at as at from scores s \
             where s.user_id = ?1 and s.trashed_at is not null \
               and (?2 is null or (s.trashed_at, s.id) < (?2, ?3)) \
             order by s.trashed_at desc, s.id desc limit ?4",
            score_columns()
        ),
        args![owner, at, id, fetch],
    )
}

/// Trashed scores (`id`, `user_id`) to purge: trashed before `before`, oldest first, at most
/// `limit`; or, with `owner`, that owner's whole trash (emptying it).
pub fn purgeable(before: Option<&str>, owner: Option<&str>, limit: i64) -> Stmt {
    Stmt::new(
        "select id, user_id from scores where trashed_at is not null \
           and (?1 is null or trashed_at < ?1) and (?2 is null or user_id = ?2) \
         order by trashed_at, id limit ?3",
        args![before, owner, limit],
    )
}

/// Purges a trashed score in one batch (what `DELETE` did before the trash): releases its bytes
/// and its parts' bytes, queues its object and its parts' objects in the outbox (not before
/// their upload URLs expire: a PUT may still land), removes its tags and the row, whose triggers
/// take it out of every setlist with a history event; its parts, bookmarks, annotations and
/// settings go by `on delete cascade`. Every statement requires the score to be in the trash, so
/// a purge racing a restore does nothing. Statement 5 changed nothing: no such trashed score.
pub fn purge_score(id: &str, owner: &str, now: &str) -> [Stmt; 6] {
    let [parts_ledger, parts_outbox] = super::parts::delete_score_parts(id, owner, now);
    [
        parts_ledger,
        parts_outbox,
        Stmt::new(
            "update users set used_bytes = used_bytes - (select size_bytes from scores where id = ?1 and user_id = ?2), \
               updated_at = ?3 \
             where id = ?2 and exists (select 1 from scores where id = ?1 and user_id = ?2 and trashed_at is not null)",
            args![id, owner, now],
        ),
        Stmt::new(
            "insert or ignore into deletions (object_key, requested_at, not_before) \
             select s.object_key, ?3, (select max(u.expires_at, ?3) from uploads u where u.id = s.upload_id) \
             from scores s where s.id = ?1 and s.user_id = ?2 and s.trashed_at is not null",
            args![id, owner, now],
        ),
        Stmt::new(
            "delete from score_tags where score_id = ?1 \
             and exists (select 1 from scores where id = ?1 and user_id = ?2 and trashed_at is not null)",
            args![id, owner],
        ),
        Stmt::new(
            "delete from scores where id = ?1 and user_id = ?2 and trashed_at is not null",
            args![id, owner],
        ),
    ]
}

/// The object is gone. A deletion whose upload URL is still valid stays (a late PUT could bring
/// the object back); the sweep does it again after `not_before`.
pub fn deletion_done(key: &str, now: &str) -> Stmt {
    Stmt::new(
        "delete from deletions where object_key = ?1 and (not_before is null or not_before <= ?2)",
        args![key, now],
    )
}

/// Sweep: deletions to (re)send (`object_key`), at most `limit`: those whose wait just ended
/// (`not_before` was after the request and is now past) and those requested before
/// `retry_before` and still pending. Each is stamped `requested_at = now`, so it is retried again
/// only after the same delay.
pub fn lingering_deletions(retry_before: &str, limit: i64, now: &str) -> Stmt {
    Stmt::new(
        "update deletions set attempts = attempts + 1, requested_at = ?3 \
         where object_key in (select object_key from deletions \
           where (not_before is null or not_before <= ?3) \
             and (requested_at < ?1 or not_before > requested_at) \
           order by requested_at limit ?2) \
         returning object_key",
        args![retry_before, limit, now],
    )
}

// ---- page images (download-url?page=N) ----

/// Bytes of derived images a score or part (`s`) may hold: twice its PDF (`?1` its size), or the
/// floor `?2` (`DERIVED_MIN_BYTES`) when that is larger.
const DERIVED_CAP: &str = "max(2 * ?1, ?2)";

/// Bytes of derived objects score `s` holds: its thumbnail, every page image and every
/// bookmark's extracted PDF.
macro_rules! derived_bytes {
    () => {
        "s.thumbnail_bytes + coalesce((select sum(bytes) from page_renders x where x.score_id = s.id), 0) \
         + coalesce((select sum(extract_bytes) from bookmarks bk where bk.score_id = s.id), 0)"
    };
}

/// [`derived_bytes!`] as a constant, for statements built elsewhere (bookmark extracts).
pub const DERIVED_BYTES: &str = derived_bytes!();

/// Bytes of derived objects part `s` (uploaded as its own PDF) holds: its thumbnail and every
/// page image.
const PART_DERIVED_BYTES: &str = "s.thumbnail_bytes + coalesce((select sum(bytes) from \
     part_page_renders x where x.part_id = s.id), 0)";

/// Where the page images of a score or part are recorded: the table, the column naming the
/// file's owner row, and the bytes of derived objects counted against its budget.
const fn renders(of: Of) -> (&'static str, &'static str, &'static str) {
    match of {
        Of::Score => ("page_renders", "score_id", DERIVED_BYTES),
        Of::Part => ("part_page_renders", "part_id", PART_DERIVED_BYTES),
    }
}

/// One page image: the score (or part), page and width, and its budget for derived images.
#[derive(Debug, Clone, Copy)]
pub struct PageImage<'a> {
    /// Whose file it is a page of.
    pub of: Of,
    pub id: &'a str,
    pub page: u32,
    pub width: u32,
    /// The file's PDF size.
    pub pdf_bytes: i64,
    /// `DERIVED_MIN_BYTES`.
    pub floor: i64,
}

impl PageImage<'_> {
    fn args(&self) -> Vec<SqlValue> {
        args![self.pdf_bytes, self.floor, self.id, self.page, self.width]
    }
}

/// What a request needs to answer: the render's `state` and `reason` (null: never asked), and
/// whether the file's derived images already fill its budget (`full`).
pub fn page_render(p: &PageImage<'_>) -> Stmt {
    let (renders, col, bytes) = renders(p.of);
    Stmt::new(
        format!(
            "select r.state, r.reason, (select {bytes} from {} s where s.id = ?3) >= {DERIVED_CAP} as full \
             from (select 1) left join {renders} r on r.{col} = ?3 and r.page = ?4 and r.width = ?5",
            p.of.table()
        ),
        p.args(),
    )
}

/// Asks for the page: inserts its pending row unless one exists, the score (or part) is gone or
/// its budget is full. The request whose insert changed a row sends the one render message
/// (single flight).
pub fn request_render(p: &PageImage<'_>, now: &str) -> Stmt {
    let (renders, col, bytes) = renders(p.of);
    let mut args = p.args();
    args.push(now.into());
    Stmt::new(
        format!(
            "insert into {renders} ({col}, page, width, state, created_at, updated_at) \
             select ?3, ?4, ?5, 'pending', ?6, ?6 from {} s where s.id = ?3 and {bytes} < {DERIVED_CAP} \
             on conflict ({col}, page, width) do nothing",
            p.of.table()
        ),
        args,
    )
}

/// The image (`bytes` long) is stored: recorded only while the row is pending, the score (or
/// part) exists and the image fits the budget. When it changes nothing, the task deletes the
/// image.
pub fn render_ok(p: &PageImage<'_>, bytes: i64, now: &str) -> Stmt {
    let (renders, col, derived) = renders(p.of);
    let mut args = p.args();
    args.extend(args![bytes, now]);
    Stmt::new(
        format!(
            "update {renders} set state = 'ok', bytes = ?6, reason = null, updated_at = ?7 \
             where {col} = ?3 and page = ?4 and width = ?5 and state = 'pending' \
               and (select {derived} + ?6 from {} s where s.id = ?3) <= {DERIVED_CAP}",
            p.of.table()
        ),
        args,
    )
}

/// The render failed for good (while still pending).
pub fn render_failed((of, id): (Of, &str), page: u32, width: u32, reason: &str, now: &str) -> Stmt {
    let (renders, col, _) = renders(of);
    Stmt::new(
        format!(
            "update {renders} set state = 'failed', reason = ?4, updated_at = ?5 \
             where {col} = ?1 and page = ?2 and width = ?3 and state = 'pending'"
        ),
        args![id, page, width, reason, now],
    )
}

/// A render task's view of its row and file: `state`, `object_key`, `size_bytes`.
pub fn render_job((of, id): (Of, &str), page: u32, width: u32) -> Stmt {
    let (renders, col, _) = renders(of);
    Stmt::new(
        format!(
            "select r.state, s.object_key, s.size_bytes from {renders} r \
             join {} s on s.id = r.{col} where r.{col} = ?1 and r.page = ?2 and r.width = ?3",
            of.table()
        ),
        args![id, page, width],
    )
}

/// Sweep: renders of scores (or parts) pending since before `before` (a lost message), at most
/// `limit` (`id`, `page`, `width`); each is touched so it is sent once per sweep.
pub fn stale_renders(of: Of, before: &str, limit: i64, now: &str) -> Stmt {
    let (renders, col, _) = renders(of);
    Stmt::new(
        format!(
            "update {renders} set updated_at = ?3 \
             where ({col}, page, width) in (select {col}, page, width from {renders} \
               where state = 'pending' and updated_at < ?1 limit ?2) \
             returning {col} as id, page, width"
        ),
        args![before, limit, now],
    )
}

/// Sweep: gives up on renders of scores (or parts) asked for before `before` and still pending.
pub fn abandon_stale_renders(of: Of, before: &str, reason: &str) -> Stmt {
    let (renders, _, _) = renders(of);
    Stmt::new(
        format!(
            "update {renders} set state = 'failed', reason = ?2 \
             where state = 'pending' and created_at < ?1"
        ),
        args![before, reason],
    )
}
