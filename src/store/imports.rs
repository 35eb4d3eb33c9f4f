//! Statements of library imports (SPEC §11): the import row and its transitions (pending →
//! running → done | failed), what the account already holds that an archive may hold again, the
//! staged rows (`import_chunks`), and the two batches that end an import — the commit, which
//! makes every staged row visible at once, moves the quota and releases the archive (decision
//! 103); and the failure, which writes nothing but the outcome and sends what may have been
//! copied to the deletion outbox.

use serde::Deserialize;

use crate::args;

use super::{SqlValue, Stmt};

/// The mime type of an import archive.
pub const ZIP_MIME: &str = "application/zip";

fn int(v: u64) -> SqlValue {
    SqlValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// The import the caller asks for, from their open, still consumable archive upload (and, for
/// a real import, the upload kept open while it runs: consumable until `until`, naming the
/// import). Statement 0 changed nothing: the upload is not such an upload, the user has an
/// import running, or (not a dry run) the archive was imported already.
pub fn create(
    id: &str,
    user: &str,
    upload: &str,
    dry_run: bool,
    seed: &str,
    (now, until): (&str, &str),
) -> Vec<Stmt> {
    let mut stmts = vec![Stmt::new(
        "insert into imports (id, user_id, upload_id, dry_run, state, seed, created_at, updated_at) \
         select ?1, u.user_id, u.id, ?4, 'pending', ?5, ?6, ?6 from uploads u \
         where u.id = ?3 and u.user_id = ?2 and u.state in ('reserved', 'stored') \
           and u.consumable_until > ?6 and u.mime = 'application/zip' \
         on conflict do nothing",
        args![id, user, upload, dry_run, seed, now],
    )];
    if !dry_run {
        stmts.push(Stmt::new(
            "update uploads set consumable_until = max(consumable_until, ?3), score_id = ?2, updated_at = ?4 \
             where id = ?1 and exists (select 1 from imports where id = ?2 and upload_id = ?1)",
            args![upload, id, until, now],
        ));
    }
    stmts
}

/// Why a create changed nothing: the caller's running import and the real import already made
/// of this upload, if any ([`Blocking`]).
pub fn blocking(user: &str, upload: &str) -> Stmt {
    Stmt::new(
        "select (select id from imports where user_id = ?1 and state in ('pending', 'running')) as running, \
           (select id from imports where upload_id = ?2 and dry_run = 0) as imported",
        args![user, upload],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Blocking {
    pub running: Option<String>,
    pub imported: Option<String>,
}

/// The caller's import ([`ImportRow`]).
pub fn import(id: &str, user: &str) -> Stmt {
    Stmt::new(
        "select id, state, dry_run, reason, report from imports where id = ?1 and user_id = ?2",
        args![id, user],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImportRow {
    pub id: String,
    pub state: String,
    pub dry_run: i64,
    pub reason: Option<String>,
    pub report: Option<String>,
}

/// What the task needs of an import: itself, its archive upload and the owner's figures
/// ([`Job`]).
pub fn job(id: &str) -> Stmt {
    Stmt::new(
        "select i.id, i.user_id, i.upload_id, i.dry_run, i.state, i.seed, i.statements, \
           u.object_key, u.size_bytes as archive_bytes, u.state as upload_state, u.consumable_until, \
           w.quota_bytes, w.used_bytes, w.reserved_bytes \
         from imports i join uploads u on u.id = i.upload_id join users w on w.id = i.user_id \
         where i.id = ?1",
        args![id],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    pub id: String,
    pub user_id: String,
    pub upload_id: String,
    pub dry_run: i64,
    pub state: String,
    pub seed: String,
    pub statements: i64,
    pub object_key: String,
    pub archive_bytes: i64,
    pub upload_state: String,
    pub consumable_until: String,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub reserved_bytes: i64,
}

/// The task starts (or resumes) the import.
pub fn running(id: &str, now: &str) -> Stmt {
    Stmt::new(
        "update imports set state = 'running', updated_at = ?2 where id = ?1 and state in ('pending', 'running')",
        args![id, now],
    )
}

/// The account's live scores holding any of `hashes` (a JSON array), with their page counts
/// and bookmark counts ([`HeldScore`]).
pub fn held_scores(user: &str, hashes: &str) -> Stmt {
    Stmt::new(
        "select s.id, s.content_hash, s.pages, (select count(*) from bookmarks b where b.score_id = s.id) as bookmarks \
         from scores s where s.user_id = ?1 and s.trashed_at is null \
           and s.content_hash in (select value from json_each(?2))",
        args![user, hashes],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct HeldScore {
    pub id: String,
    pub content_hash: String,
    pub pages: Option<i64>,
    pub bookmarks: i64,
}

/// The bookmarks of those scores ([`HeldBookmark`]).
pub fn held_bookmarks(user: &str, hashes: &str) -> Stmt {
    Stmt::new(
        "select b.id, b.score_id, b.title, b.first_page, b.last_page from bookmarks b \
         join scores s on s.id = b.score_id \
         where s.user_id = ?1 and s.trashed_at is null and s.content_hash in (select value from json_each(?2))",
        args![user, hashes],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct HeldBookmark {
    pub id: String,
    pub score_id: String,
    pub title: String,
    pub first_page: i64,
    pub last_page: i64,
}

/// The account's parts holding any of `hashes` (`content_hash`).
pub fn held_part_files(user: &str, hashes: &str) -> Stmt {
    Stmt::new(
        "select content_hash from score_parts where user_id = ?1 \
         and content_hash in (select value from json_each(?2))",
        args![user, hashes],
    )
}

/// Setlists already there for the source ids `sources` (a JSON array): those an earlier import
/// made that still exist, and the account's own with that very id ([`HeldSetlist`]).
pub fn held_setlists(user: &str, sources: &str) -> Stmt {
    Stmt::new(
        "select o.source_id, o.target_id from import_origins o \
           join setlists s on s.id = o.target_id and s.owner_id = o.user_id \
         where o.user_id = ?1 and o.kind = 'setlist' and o.source_id in (select value from json_each(?2)) \
         union all select id, id from setlists where owner_id = ?1 and id in (select value from json_each(?2))",
        args![user, sources],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct HeldSetlist {
    pub source_id: String,
    pub target_id: String,
}

/// Forgets whatever an earlier delivery staged (the first statement of staging).
pub fn unstage(id: &str) -> Stmt {
    Stmt::new("delete from import_chunks where import_id = ?1", args![id])
}

/// One staged chunk: `rows` (a JSON array) of `kind`.
pub fn stage(id: &str, kind: &str, seq: usize, rows: &str) -> Stmt {
    Stmt::new(
        "insert into import_chunks (import_id, kind, seq, rows) values (?1, ?2, ?3, ?4)",
        args![id, kind, int(seq as u64), rows],
    )
}

/// The staged files to copy and figures, when staging finished (a `meta` chunk exists)
/// ([`Chunk`]).
pub fn staged(id: &str) -> Stmt {
    Stmt::new(
        "select kind, rows from import_chunks where import_id = ?1 and kind in ('copies', 'meta') \
           and exists (select 1 from import_chunks where import_id = ?1 and kind = 'meta') \
         order by kind, seq",
        args![id],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chunk {
    pub kind: String,
    pub rows: String,
}

/// A dry run's end: its report (nothing else was written); `statements` its own included.
pub fn dry_run_done(id: &str, report: &str, statements: i64, now: &str) -> Stmt {
    Stmt::new(
        "update imports set state = 'done', report = ?2, statements = ?3, finished_at = ?4, updated_at = ?4 \
         where id = ?1 and state in ('pending', 'running')",
        args![id, report, statements, now],
    )
}

/// Rows of `kind` staged for import `?1`, each `r.value`, while the import is claimed by `?2`
/// (`$tags`: each of a row's tags too, as `t.value`).
macro_rules! staged_rows {
    ($kind:literal) => {
        concat!(
            " from imports i join import_chunks c on c.import_id = i.id and c.kind = '",
            $kind,
            "' join json_each(c.rows) r where i.id = ?1 and i.claim = ?2"
        )
    };
    ($kind:literal, tags) => {
        concat!(
            " from imports i join import_chunks c on c.import_id = i.id and c.kind = '",
            $kind,
            "' join json_each(c.rows) r join json_each(json_extract(r.value, '$.tags')) t \
             where i.id = ?1 and i.claim = ?2"
        )
    };
}

/// `json_extract(r.value, '$.field')`.
macro_rules! field {
    ($name:literal) => {
        concat!("json_extract(r.value, '$.", $name, "')")
    };
}

/// The commit (decision 103): statement 0 claims the import — it ends `done` with `report` —
/// only while it runs, its archive upload is open and the quota holds `needed` more bytes once
/// the archive's reservation is given back; every other statement applies only under that
/// claim: the quota moves (`file_bytes` used, the archive's reservation released; annotation
/// layers count through their own trigger), the archive goes to the deletion outbox, and every
/// staged row is inserted. Statement 0 changed nothing: nothing else did.
pub struct Commit<'a> {
    pub id: &'a str,
    pub claim: &'a str,
    pub report: &'a str,
    pub needed: u64,
    pub file_bytes: u64,
    /// D1 statements the import will have run, this batch's included.
    pub statements: i64,
    pub now: &'a str,
}

pub fn commit(c: &Commit<'_>) -> Vec<Stmt> {
    let claimed = "exists (select 1 from imports where id = ?1 and claim = ?2)";
    let rows = |sql: &str| Stmt::new(sql.to_owned(), args![c.id, c.claim, c.now]);
    let tags = |sql: &str| Stmt::new(sql.to_owned(), args![c.id, c.claim]);
    let mut stmts = vec![
        Stmt::new(
            "update imports set state = 'done', claim = ?2, report = ?3, finished_at = ?4, updated_at = ?4, \
               statements = ?6 \
             where id = ?1 and state = 'running' \
               and exists (select 1 from uploads u where u.id = imports.upload_id \
                 and u.state in ('reserved', 'stored') and u.consumable_until > ?4) \
               and (select w.used_bytes + w.reserved_bytes - u.size_bytes + ?5 <= w.quota_bytes \
                    from users w, uploads u where w.id = imports.user_id and u.id = imports.upload_id)",
            args![c.id, c.claim, c.report, c.now, int(c.needed), c.statements],
        ),
        Stmt::new(
            format!(
                "update users set used_bytes = used_bytes + ?3, \
                   reserved_bytes = reserved_bytes - (select u.size_bytes from uploads u join imports i on i.upload_id = u.id where i.id = ?1), \
                   updated_at = ?4 \
                 where id = (select user_id from imports where id = ?1) and {claimed}"
            ),
            args![c.id, c.claim, int(c.file_bytes), c.now],
        ),
        Stmt::new(
            format!(
                "insert into deletions (object_key, requested_at, not_before) \
                 select u.object_key, ?3, max(u.expires_at, ?3) from uploads u join imports i on i.upload_id = u.id \
                 where i.id = ?1 and {claimed} \
                 on conflict (object_key) do update set \
                   not_before = max(coalesce(deletions.not_before, ''), excluded.not_before)"
            ),
            args![c.id, c.claim, c.now],
        ),
        Stmt::new(
            format!(
                "update uploads set state = 'released', updated_at = ?3 \
                 where id = (select upload_id from imports where id = ?1) and state in ('reserved', 'stored') and {claimed}"
            ),
            args![c.id, c.claim, c.now],
        ),
        rows(concat!(
            "insert into uploads (id, user_id, filename, size_bytes, mime, sha256, object_key, state, \
               expires_at, consumable_until, score_id, created_at, updated_at) \
             select ",
            field!("id"),
            ", i.user_id, ",
            field!("filename"),
            ", ",
            field!("size"),
            ", 'application/pdf', ",
            field!("sha256"),
            ", ",
            field!("object_key"),
            ", 'consumed', ?3, ?3, ",
            field!("became"),
            ", ?3, ?3",
            staged_rows!("uploads")
        )),
        rows(concat!(
            "insert into scores (id, user_id, upload_id, object_key, filename, title, composer, arranger, \
               instrumentation, key, notes, rating, difficulty, duration, tags, content_hash, size_bytes, \
               created_at, updated_at) \
             select ",
            field!("id"),
            ", i.user_id, ",
            field!("upload_id"),
            ", ",
            field!("object_key"),
            ", ",
            field!("filename"),
            ", ",
            field!("title"),
            ", ",
            field!("composer"),
            ", ",
            field!("arranger"),
            ", ",
            field!("instrumentation"),
            ", ",
            field!("key"),
            ", ",
            field!("notes"),
            ", ",
            field!("rating"),
            ", ",
            field!("difficulty"),
            ", ",
            field!("duration"),
            ", ",
            field!("tags"),
            ", ",
            field!("sha256"),
            ", ",
            field!("size"),
            ", ?3, ?3",
            staged_rows!("scores"),
            " order by c.seq, r.key"
        )),
        tags(concat!(
            "insert or ignore into score_tags (score_id, tag) select ",
            field!("id"),
            ", t.value",
            staged_rows!("scores", tags)
        )),
        rows(concat!(
            "insert into score_parts (id, score_id, user_id, name, source, first_page, last_page, upload_id, \
               object_key, size_bytes, content_hash, pdf_info_state, thumbnail_state, created_at, updated_at) \
             select ",
            field!("id"),
            ", ",
            field!("score_id"),
            ", i.user_id, ",
            field!("name"),
            ", ",
            field!("source"),
            ", ",
            field!("first_page"),
            ", ",
            field!("last_page"),
            ", ",
            field!("upload_id"),
            ", ",
            field!("object_key"),
            ", ",
            field!("size"),
            ", ",
            field!("sha256"),
            ", case when ",
            field!("source"),
            " = 'pages' then 'ok' else 'pending' end, case when ",
            field!("source"),
            " = 'pages' then 'ok' else 'pending' end, ?3, ?3",
            staged_rows!("parts")
        )),
        rows(concat!(
            "insert into bookmarks (id, score_id, user_id, title, composer, key, tags, first_page, last_page, \
               created_at, updated_at) \
             select ",
            field!("id"),
            ", ",
            field!("score_id"),
            ", i.user_id, ",
            field!("title"),
            ", ",
            field!("composer"),
            ", ",
            field!("key"),
            ", ",
            field!("tags"),
            ", ",
            field!("first_page"),
            ", ",
            field!("last_page"),
            ", ?3, ?3",
            staged_rows!("bookmarks"),
            " order by c.seq, r.key"
        )),
        tags(concat!(
            "insert or ignore into bookmark_tags (bookmark_id, tag) select ",
            field!("id"),
            ", t.value",
            staged_rows!("bookmarks", tags)
        )),
        rows(concat!(
            "insert into setlists (id, owner_id, name, description, event_date, venue, notes, created_at, updated_at) \
             select ",
            field!("id"),
            ", i.user_id, ",
            field!("name"),
            ", ",
            field!("description"),
            ", ",
            field!("event_date"),
            ", ",
            field!("venue"),
            ", ",
            field!("notes"),
            ", ?3, ?3",
            staged_rows!("setlists")
        )),
        rows(concat!(
            "insert into setlist_items (id, setlist_id, score_id, bookmark_id, position, notes, added_by, \
               created_at, updated_at) \
             select ",
            field!("id"),
            ", ",
            field!("setlist_id"),
            ", ",
            field!("score_id"),
            ", ",
            field!("bookmark_id"),
            ", ",
            field!("position"),
            ", ",
            field!("notes"),
            ", i.user_id, ?3, ?3",
            staged_rows!("items")
        )),
        rows(concat!(
            "insert into annotations (user_id, score_id, item_id, layer, data, bytes, version, shared, \
               created_at, updated_at) \
             select i.user_id, ",
            field!("score_id"),
            ", ",
            field!("item_id"),
            ", ",
            field!("layer"),
            ", ",
            field!("data"),
            ", length(cast(",
            field!("data"),
            " as blob)), 1, ",
            field!("shared"),
            ", ?3, ?3",
            staged_rows!("annotations")
        )),
        rows(concat!(
            "insert into performance_settings (user_id, score_id, item_id, data, updated_at) \
             select i.user_id, ",
            field!("score_id"),
            ", ",
            field!("item_id"),
            ", json_patch('{}', ",
            field!("data"),
            "), ?3",
            staged_rows!("settings")
        )),
        rows(concat!(
            "insert into import_origins (user_id, kind, source_id, target_id, import_id, created_at) \
             select i.user_id, 'setlist', ",
            field!("source_id"),
            ", ",
            field!("id"),
            ", i.id, ?3",
            staged_rows!("setlists"),
            " on conflict (user_id, kind, source_id) do update set target_id = excluded.target_id, \
               import_id = excluded.import_id, created_at = excluded.created_at"
        )),
    ];
    stmts.push(Stmt::new(
        format!("delete from import_chunks where import_id = ?1 and {claimed}"),
        args![c.id, c.claim],
    ));
    stmts
}

/// How many statements [`commit`] holds.
pub const COMMIT_STATEMENTS: i64 = 16;

/// An import fails with `reason`, writing nothing else: objects it may have copied go to the
/// deletion outbox (`copied`: exactly those keys, a JSON array; `None`: every staged copy, when
/// an earlier delivery may have copied them), the staged rows go, and (not a dry run) its
/// archive upload is released — the reservation given back, the object to the outbox. Changes
/// nothing once the import has ended. The last statement changed: this call failed it;
/// statement 3 changed: it released the archive. `statements`: this batch's included.
pub fn fail(id: &str, reason: &str, copied: Option<&str>, statements: i64, now: &str) -> Vec<Stmt> {
    let running =
        "exists (select 1 from imports where id = ?1 and state in ('pending', 'running'))";
    let outbox = match copied {
        Some(keys) => Stmt::new(
            format!(
                "insert or ignore into deletions (object_key, requested_at) select value, ?2 from json_each(?3) \
                 where {running}"
            ),
            args![id, now, keys],
        ),
        None => Stmt::new(
            concat!(
                "insert or ignore into deletions (object_key, requested_at) select ",
                field!("object_key"),
                ", ?2 from imports i join import_chunks c on c.import_id = i.id and c.kind = 'copies' \
                 join json_each(c.rows) r where i.id = ?1 and i.state in ('pending', 'running')"
            ),
            args![id, now],
        ),
    };
    let upload = "(select upload_id from imports where id = ?1 and dry_run = 0 and state in ('pending', 'running'))";
    vec![
        outbox,
        Stmt::new(
            format!(
                "update users set reserved_bytes = reserved_bytes - (select size_bytes from uploads where id = {upload}), \
                   updated_at = ?2 \
                 where id = (select user_id from imports where id = ?1) \
                   and exists (select 1 from uploads where id = {upload} and state in ('reserved', 'stored'))"
            ),
            args![id, now],
        ),
        Stmt::new(
            format!(
                "insert into deletions (object_key, requested_at, not_before) \
                 select object_key, ?2, max(expires_at, ?2) from uploads \
                 where id = {upload} and state in ('reserved', 'stored') \
                 on conflict (object_key) do update set \
                   not_before = max(coalesce(deletions.not_before, ''), excluded.not_before)"
            ),
            args![id, now],
        ),
        Stmt::new(
            format!(
                "update uploads set state = 'released', updated_at = ?2 \
                 where id = {upload} and state in ('reserved', 'stored')"
            ),
            args![id, now],
        ),
        Stmt::new("delete from import_chunks where import_id = ?1", args![id]),
        Stmt::new(
            "update imports set state = 'failed', reason = ?2, statements = ?3, finished_at = ?4, updated_at = ?4 \
             where id = ?1 and state in ('pending', 'running')",
            args![id, reason, statements, now],
        ),
    ]
}

/// How many statements [`fail`] holds.
pub const FAIL_STATEMENTS: i64 = 6;

/// The keys of `keys` (a JSON array) are gone from storage: out of the outbox (but those whose
/// upload URL may still bring them back, as [`super::library::deletion_done`]).
pub fn deleted(keys: &str, now: &str) -> Stmt {
    Stmt::new(
        "delete from deletions where object_key in (select value from json_each(?1)) \
         and (not_before is null or not_before <= ?2)",
        args![keys, now],
    )
}

/// Imports not finished whose row has not moved since `before` (`id`): their message was lost
/// or every delivery crashed; those older than `abandon_before` are to be failed.
pub fn stale(before: &str, limit: i64) -> Stmt {
    Stmt::new(
        "select id, created_at from imports where state in ('pending', 'running') and updated_at < ?1 \
         order by updated_at limit ?2",
        args![before, limit],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct StaleImport {
    pub id: String,
    pub created_at: String,
}

/// The sweep resends an import's task: its row is stamped so it is not resent again at once.
pub fn touched(id: &str, now: &str) -> Stmt {
    Stmt::new(
        "update imports set updated_at = ?2 where id = ?1 and state in ('pending', 'running')",
        args![id, now],
    )
}
