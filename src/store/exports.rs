//! Statements of library exports (SPEC §11): the export rows (asked for, read, listed), the
//! queue's transitions — each conditional on the delivery's own `attempt`, so a delivery another
//! one took over changes nothing — the abort outbox of multipart uploads, the sweep's finds, and
//! the reads a manifest is built from (the owner's live scores with their parts, bookmarks,
//! annotations and settings; the owner's setlists with their items).
//!
//! Every read of an export names its owner: an export id alone never reaches another user's row.

use serde::Deserialize;

use crate::args;

use super::Stmt;

/// Columns of an export as the API shows it ([`ExportRow`]).
const EXPORT_COLUMNS: &str = "id, state, object_key, size_bytes, reason, created_at, expires_at";

/// Asks for an export of `user`'s library. Changes nothing while one is pending or running (the
/// partial unique index `exports_one_open`): the caller then reads that one.
pub fn create(id: &str, user: &str, key: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into exports (id, user_id, state, object_key, created_at, updated_at) \
         values (?1, ?2, 'pending', ?3, ?4, ?4) on conflict do nothing",
        args![id, user, key, now],
    )
}

/// `user`'s export that is pending or running, if any ([`ExportRow`]).
pub fn open(user: &str) -> Stmt {
    Stmt::new(
        format!(
            "select {EXPORT_COLUMNS} from exports \
             where user_id = ?1 and state in ('pending', 'running')"
        ),
        args![user],
    )
}

/// Export `id` of `user` ([`ExportRow`]).
pub fn get(id: &str, user: &str) -> Stmt {
    Stmt::new(
        format!("select {EXPORT_COLUMNS} from exports where id = ?1 and user_id = ?2"),
        args![id, user],
    )
}

/// `user`'s newest exports, at most `limit` ([`ExportRow`]).
pub fn list(user: &str, limit: i64) -> Stmt {
    Stmt::new(
        format!(
            "select {EXPORT_COLUMNS} from exports where user_id = ?1 \
             order by created_at desc, id desc limit ?2"
        ),
        args![user, limit],
    )
}

/// Export `id` as the queue reads it ([`JobRow`]).
pub fn job(id: &str) -> Stmt {
    Stmt::new(
        "select id, user_id, state, object_key, upload_id, attempt from exports where id = ?1",
        args![id],
    )
}

/// A delivery takes export `id` over from attempt `attempt` (none before it, or one that died or
/// failed): the next attempt is its own, and the upload of the one before goes to the abort
/// outbox. Changed nothing: another delivery took it first, or it is no longer asked for.
pub fn take_over(id: &str, attempt: i64, now: &str) -> [Stmt; 2] {
    [
        forget_upload(id, Some(attempt), now),
        Stmt::new(
            "update exports set state = 'running', attempt = attempt + 1, upload_id = null, \
               updated_at = ?3 \
             where id = ?1 and attempt = ?2 and state in ('pending', 'running')",
            args![id, attempt, now],
        ),
    ]
}

/// Puts the multipart upload export `id` records (of attempt `attempt`, any when `None`) into
/// the abort outbox, first in a batch that then clears it from the row.
fn forget_upload(id: &str, attempt: Option<i64>, now: &str) -> Stmt {
    Stmt::new(
        "insert or ignore into multipart_aborts (object_key, upload_id, requested_at) \
         select object_key, upload_id, ?3 from exports \
         where id = ?1 and upload_id is not null and (?2 is null or attempt = ?2)",
        args![id, attempt, now],
    )
}

/// Attempt `attempt` has started multipart upload `upload_id`. Changed nothing: it was taken
/// over, or the export is gone (the upload is then to be aborted).
pub fn upload_started(id: &str, attempt: i64, upload_id: &str, now: &str) -> Stmt {
    Stmt::new(
        "update exports set upload_id = ?3, parts = 0, updated_at = ?4 \
         where id = ?1 and attempt = ?2 and state = 'running'",
        args![id, attempt, upload_id, now],
    )
}

/// Attempt `attempt` has uploaded `parts` parts (a sign of life the sweep reads). Changed
/// nothing: taken over or gone.
pub fn progress(id: &str, attempt: i64, parts: i64, now: &str) -> Stmt {
    Stmt::new(
        "update exports set parts = ?3, updated_at = ?4 \
         where id = ?1 and attempt = ?2 and state = 'running'",
        args![id, attempt, parts, now],
    )
}

/// Attempt `attempt` gives its upload up (a transient failure; the next delivery starts again):
/// the upload goes to the abort outbox and off the row.
pub fn release_upload(id: &str, attempt: i64, now: &str) -> [Stmt; 2] {
    [
        forget_upload(id, Some(attempt), now),
        Stmt::new(
            "update exports set upload_id = null, updated_at = ?3 \
             where id = ?1 and attempt = ?2 and state = 'running'",
            args![id, attempt, now],
        ),
    ]
}

/// Attempt `attempt` completed the archive: `size` bytes in `parts` parts, kept until
/// `expires_at`. Changed nothing: taken over or gone (the object is then to be discarded).
pub fn done(
    (id, attempt): (&str, i64),
    size: i64,
    parts: i64,
    now: &str,
    expires_at: &str,
) -> Stmt {
    Stmt::new(
        "update exports set state = 'done', upload_id = null, size_bytes = ?3, parts = ?4, \
           reason = null, updated_at = ?5, expires_at = ?6 \
         where id = ?1 and attempt = ?2 and state = 'running'",
        args![id, attempt, size, parts, now, expires_at],
    )
}

/// Export `id` fails for `reason` (only while pending or running; of attempt `attempt`, or
/// whichever when `None`): any upload it records goes to the abort outbox; the row stays until
/// `expires_at`, telling the reason.
pub fn failed(
    (id, attempt): (&str, Option<i64>),
    reason: &str,
    now: &str,
    expires_at: &str,
) -> [Stmt; 2] {
    [
        forget_upload(id, attempt, now),
        Stmt::new(
            "update exports set state = 'failed', reason = ?3, upload_id = null, updated_at = ?4, \
               expires_at = ?5 \
             where id = ?1 and (?2 is null or attempt = ?2) and state in ('pending', 'running')",
            args![id, attempt, reason, now, expires_at],
        ),
    ]
}

/// Upload `upload_id` to `key`, which no row records, into the abort outbox.
pub fn remember_abort(key: &str, upload_id: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert or ignore into multipart_aborts (object_key, upload_id, requested_at) \
         values (?1, ?2, ?3)",
        args![key, upload_id, now],
    )
}

/// An upload of the outbox is aborted: forgotten.
pub fn aborted(key: &str, upload_id: &str) -> Stmt {
    Stmt::new(
        "delete from multipart_aborts where object_key = ?1 and upload_id = ?2",
        args![key, upload_id],
    )
}

/// Uploads waiting in the abort outbox, oldest first ([`AbortRow`]).
pub fn pending_aborts(limit: i64) -> Stmt {
    Stmt::new(
        "select object_key, upload_id from multipart_aborts order by requested_at limit ?1",
        args![limit],
    )
}

/// Exports pending or running with no sign of life since `before` (`id`): their message was
/// lost, or the delivery died.
pub fn stale(before: &str, limit: i64) -> Stmt {
    Stmt::new(
        "select id from exports where state in ('pending', 'running') and updated_at < ?1 \
         order by updated_at limit ?2",
        args![before, limit],
    )
}

/// Exports asked for before `before` and still not done fail with `reason` (their uploads to
/// the abort outbox).
pub fn abandon(before: &str, reason: &str, now: &str, expires_at: &str) -> [Stmt; 2] {
    const OLD: &str = "state in ('pending', 'running') and created_at < ?1";
    [
        Stmt::new(
            format!(
                "insert or ignore into multipart_aborts (object_key, upload_id, requested_at) \
                 select object_key, upload_id, ?2 from exports where {OLD} and upload_id is not null"
            ),
            args![before, now],
        ),
        Stmt::new(
            format!(
                "update exports set state = 'failed', reason = ?2, upload_id = null, \
                   updated_at = ?3, expires_at = ?4 where {OLD}"
            ),
            args![before, reason, now, expires_at],
        ),
    ]
}

/// Deletes at most `limit` exports past their `expires_at` (the trigger `exports_gone` sends
/// their archives to the deletion outbox).
pub fn expire(now: &str, limit: i64) -> Stmt {
    Stmt::new(
        "delete from exports where id in \
           (select id from exports where expires_at < ?1 order by expires_at limit ?2)",
        args![now, limit],
    )
}

// ---- what a manifest is built from ----

/// Bytes of JSON `user`'s annotations and settings on their live scores hold (`bytes`): read
/// before them, so a manifest that could not be written is refused without loading it.
pub fn personal_bytes(user: &str) -> Stmt {
    Stmt::new(
        "select coalesce((select sum(length(a.data)) from annotations a \
             join scores s on s.id = a.score_id \
             where a.user_id = ?1 and s.user_id = ?1 and s.trashed_at is null), 0) \
           + coalesce((select sum(length(p.data)) from performance_settings p \
             join scores s on s.id = p.score_id \
             where p.user_id = ?1 and s.user_id = ?1 and s.trashed_at is null), 0) as bytes",
        args![user],
    )
}

/// `user`'s live scores, oldest first ([`ScoreRow`]).
pub fn scores(user: &str) -> Stmt {
    Stmt::new(
        "select s.id, s.object_key, s.content_hash, s.size_bytes, s.title, s.composer, s.arranger, \
           s.instrumentation, s.key, s.notes, s.tags, s.rating, s.difficulty, s.duration, s.pages, \
           s.created_at, s.updated_at \
         from scores s where s.user_id = ?1 and s.trashed_at is null order by s.created_at, s.id",
        args![user],
    )
}

/// The parts of `user`'s live scores ([`PartRow`]).
pub fn parts(user: &str) -> Stmt {
    Stmt::new(
        "select p.id, p.score_id, p.name, p.source, p.first_page, p.last_page, p.object_key, \
           p.content_hash, p.size_bytes \
         from score_parts p join scores s on s.id = p.score_id \
         where s.user_id = ?1 and s.trashed_at is null order by p.score_id, p.created_at, p.id",
        args![user],
    )
}

/// The bookmarks of `user`'s live scores ([`BookmarkRow`]).
pub fn bookmarks(user: &str) -> Stmt {
    Stmt::new(
        "select b.id, b.score_id, b.title, b.composer, b.key, b.tags, b.first_page, b.last_page \
         from bookmarks b join scores s on s.id = b.score_id \
         where s.user_id = ?1 and s.trashed_at is null order by b.score_id, b.first_page, b.id",
        args![user],
    )
}

/// `user`'s own annotation layers on their live scores ([`AnnotationRow`]; `item_id` `''` for a
/// score's own layer).
pub fn annotations(user: &str) -> Stmt {
    Stmt::new(
        "select a.score_id, a.item_id, a.layer, a.shared, a.data \
         from annotations a join scores s on s.id = a.score_id \
         where a.user_id = ?1 and s.user_id = ?1 and s.trashed_at is null \
         order by a.score_id, a.item_id, a.layer",
        args![user],
    )
}

/// `user`'s own performance settings on their live scores ([`SettingRow`]).
pub fn settings(user: &str) -> Stmt {
    Stmt::new(
        "select p.score_id, p.item_id, p.data \
         from performance_settings p join scores s on s.id = p.score_id \
         where p.user_id = ?1 and s.user_id = ?1 and s.trashed_at is null \
         order by p.score_id, p.item_id",
        args![user],
    )
}

/// `user`'s setlists, oldest first ([`SetlistRow`]).
pub fn setlists(user: &str) -> Stmt {
    Stmt::new(
        "select id, name, description, event_date, venue, notes, created_at, updated_at \
         from setlists where owner_id = ?1 order by created_at, id",
        args![user],
    )
}

/// The items of `user`'s setlists that play one of `user`'s live scores, in order
/// ([`ItemRow`]).
pub fn items(user: &str) -> Stmt {
    Stmt::new(
        "select i.id, i.setlist_id, i.position, i.score_id, i.bookmark_id, i.notes \
         from setlist_items i join setlists l on l.id = i.setlist_id \
         join scores s on s.id = i.score_id \
         where l.owner_id = ?1 and s.user_id = ?1 and s.trashed_at is null \
         order by i.setlist_id, i.position, i.id",
        args![user],
    )
}

// ---- rows ----

#[derive(Debug, Clone, Deserialize)]
pub struct ExportRow {
    pub id: String,
    pub state: String,
    pub object_key: String,
    pub size_bytes: Option<i64>,
    pub reason: Option<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobRow {
    pub id: String,
    pub user_id: String,
    pub state: String,
    pub object_key: String,
    pub upload_id: Option<String>,
    pub attempt: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AbortRow {
    pub object_key: String,
    pub upload_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScoreRow {
    pub id: String,
    pub object_key: String,
    pub content_hash: String,
    pub size_bytes: i64,
    pub title: String,
    pub composer: Option<String>,
    pub arranger: Option<String>,
    pub instrumentation: Option<String>,
    pub key: Option<String>,
    pub notes: Option<String>,
    /// A JSON array.
    pub tags: String,
    pub rating: Option<i64>,
    pub difficulty: Option<i64>,
    pub duration: Option<i64>,
    pub pages: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PartRow {
    pub id: String,
    pub score_id: String,
    pub name: String,
    pub source: String,
    pub first_page: Option<i64>,
    pub last_page: Option<i64>,
    pub object_key: Option<String>,
    pub content_hash: Option<String>,
    pub size_bytes: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookmarkRow {
    pub id: String,
    pub score_id: String,
    pub title: String,
    pub composer: Option<String>,
    pub key: Option<String>,
    /// A JSON array.
    pub tags: String,
    pub first_page: i64,
    pub last_page: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnnotationRow {
    pub score_id: String,
    pub item_id: String,
    pub layer: String,
    pub shared: i64,
    /// JSON text.
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SettingRow {
    pub score_id: String,
    pub item_id: String,
    /// JSON text.
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SetlistRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub event_date: Option<String>,
    pub venue: Option<String>,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ItemRow {
    pub id: String,
    pub setlist_id: String,
    pub position: i64,
    pub score_id: String,
    pub bookmark_id: Option<String>,
    pub notes: Option<String>,
}
