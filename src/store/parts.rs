//! Statements of score parts (SPEC §10): parts created from an upload (the same consumption of
//! the upload and conversion of its reservation as a score's, `library::consume_upload`) or from
//! a page range of the score's PDF, read, renamed, re-ranged and deleted (bytes released, the
//! object through the deletion outbox).

use serde::Deserialize;

use crate::args;
use crate::domain::part::{Pages, PARTS_MAX};

use super::library::{self, PROCESSING_JSON};
use super::{SqlValue, Stmt};

/// A part's (`p`, of score `s`) processing: an upload part's own steps; a pages part reads the
/// score's file, so it shows the score's.
macro_rules! part_processing_json {
    () => {
        "json_object(\
'pdf_info', case when p.pdf_info_state = 'failed' then json_object('state', 'failed', 'reason', p.pdf_info_reason) else json_object('state', p.pdf_info_state) end, \
'thumbnail', case when p.thumbnail_state = 'failed' then json_object('state', 'failed', 'reason', p.thumbnail_reason) else json_object('state', p.thumbnail_state) end)"
    };
}

/// A part (`p`, of score `s`) as the API shows it (SPEC §10), without `thumbnail_url` (presigned
/// by the Worker and spliced in).
pub fn part_json() -> String {
    format!(
        "json_object('id', p.id, 'name', p.name, 'source', p.source, \
           'pages', case when p.source = 'pages' then json_object('first', p.first_page, 'last', p.last_page) end, \
           'page_count', case when p.source = 'pages' then p.last_page - p.first_page + 1 else p.pages end, \
           'processing', case when p.source = 'pages' then {PROCESSING_JSON} else {} end, \
           'created_at', p.created_at)",
        part_processing_json!()
    )
}

/// What a part row carries besides its JSON ([`PartRow`]).
pub fn part_columns() -> String {
    format!(
        "p.id, p.score_id, p.source, p.thumbnail_key, p.first_page, p.last_page, \
           coalesce(p.object_key, s.object_key) as object_key, \
           case when p.source = 'pages' then s.id else p.id end as file_id, \
           case when p.source = 'pages' then s.size_bytes else p.size_bytes end as size_bytes, \
           case when p.source = 'pages' then s.pages else p.pages end as pages, \
           case when p.source = 'pages' then s.pdf_info_state else p.pdf_info_state end as pdf_info_state, \
           case when p.source = 'pages' then s.pdf_info_reason else p.pdf_info_reason end as pdf_info_reason, \
           {} as json",
        part_json()
    )
}

/// A part with what its download needs ([`part_columns`]).
#[derive(Debug, Clone, Deserialize)]
pub struct PartRow {
    pub id: String,
    pub score_id: String,
    /// `upload` or `pages`.
    pub source: String,
    pub thumbnail_key: Option<String>,
    pub first_page: Option<i64>,
    pub last_page: Option<i64>,
    /// The PDF it reads: its own, or the score's.
    pub object_key: String,
    /// Whose file that is (the part, or the score for a pages part).
    pub file_id: String,
    pub size_bytes: i64,
    pub pages: Option<u64>,
    pub pdf_info_state: String,
    pub pdf_info_reason: Option<String>,
    pub json: String,
}

/// The owner's parts of score `score`, by name ([`PartRow`]).
pub fn parts(score: &str, owner: &str) -> Stmt {
    Stmt::new(
        format!(
            "select {} from score_parts p join scores s on s.id = p.score_id \
             where p.score_id = ?1 and s.user_id = ?2 and s.trashed_at is null \
             order by p.name collate nocase, p.id",
            part_columns()
        ),
        args![score, owner],
    )
}

/// The owner's part `part` of score `score` ([`PartRow`]).
pub fn part(score: &str, part: &str, owner: &str) -> Stmt {
    Stmt::new(
        format!(
            "select {} from score_parts p join scores s on s.id = p.score_id \
             where p.id = ?3 and p.score_id = ?1 and s.user_id = ?2 and s.trashed_at is null",
            part_columns()
        ),
        args![score, owner, part],
    )
}

/// The owner's score `score` as a part needs it: its page count and how many parts it has.
#[derive(Debug, Clone, Deserialize)]
pub struct ScoreOfParts {
    pub pages: Option<i64>,
    pub parts: i64,
}

pub fn score_of_parts(score: &str, owner: &str) -> Stmt {
    Stmt::new(
        "select s.pages, (select count(*) from score_parts p where p.score_id = s.id) as parts \
         from scores s where s.id = ?1 and s.user_id = ?2 and s.trashed_at is null",
        args![score, owner],
    )
}

/// Part of score `score` named `name` in any case, other than `except` (`id`).
pub fn named(score: &str, name: &str, except: Option<&str>) -> Stmt {
    Stmt::new(
        "select id from score_parts where score_id = ?1 and name = ?2 collate nocase \
         and (?3 is null or id <> ?3)",
        args![score, name, except],
    )
}

/// The caller's score or part holding this file content (dedupe): `id`.
pub fn file_by_hash(user_id: &str, sha256: &str) -> Stmt {
    Stmt::new(
        "select id from scores where user_id = ?1 and content_hash = ?2 and trashed_at is null \
         union all select id from score_parts where user_id = ?1 and content_hash = ?2 limit 1",
        args![user_id, sha256],
    )
}

/// Score `?5` is the owner's (`?1`) and has room for another part: the guard of every statement
/// of an upload part's batch, so they apply together or not at all.
fn room_guard() -> String {
    format!(
        "exists (select 1 from scores where id = ?5 and user_id = ?1 and trashed_at is null) \
         and (select count(*) from score_parts where score_id = ?5) < {PARTS_MAX}"
    )
}

/// A part to create.
pub struct NewPart<'a> {
    pub id: &'a str,
    pub score_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub now: &'a str,
}

/// An upload becomes part `p.id` of score `p.score_id` in one batch: the upload is consumed and
/// its reservation becomes usage exactly as for a score ([`library::consume_upload`], guarded
/// by the score still being the owner's with room for a part), then the part is inserted from
/// the upload. A name or content taken meanwhile fails the batch (unique indexes), which rolls
/// back as a whole. Statement 1 changed nothing: the upload was no longer open (or the score is
/// gone, or full).
pub fn create_upload_part(p: &NewPart<'_>, upload_id: &str) -> Vec<Stmt> {
    let guard = room_guard();
    let mut stmts: Vec<Stmt> = library::consume_upload(
        p.user_id,
        upload_id,
        p.id,
        p.now,
        Some((p.score_id, &guard)),
    )
    .into();
    stmts.push(Stmt::new(
        "insert into score_parts (id, score_id, user_id, name, source, upload_id, object_key, size_bytes, \
           content_hash, created_at, updated_at) \
         select ?1, ?2, u.user_id, ?3, 'upload', u.id, u.object_key, u.size_bytes, u.sha256, ?5, ?5 \
         from uploads u where u.id = ?4 and u.state = 'consumed' and u.score_id = ?1",
        args![p.id, p.score_id, p.name, upload_id, p.now],
    ));
    stmts
}

/// A pages part of the owner's score, within its page count when known and its room for parts.
/// Changed nothing: no such score, a range past its pages, full, or the name taken.
pub fn create_pages_part(p: &NewPart<'_>, pages: Pages) -> Stmt {
    Stmt::new(
        format!(
            "insert into score_parts (id, score_id, user_id, name, source, first_page, last_page, \
               pdf_info_state, thumbnail_state, created_at, updated_at) \
             select ?1, s.id, s.user_id, ?3, 'pages', ?4, ?5, 'ok', 'ok', ?6, ?6 from scores s \
             where s.id = ?2 and s.user_id = ?7 and s.trashed_at is null and (s.pages is null or ?5 <= s.pages) \
               and (select count(*) from score_parts where score_id = s.id) < {PARTS_MAX} \
             on conflict do nothing"
        ),
        args![
            p.id,
            p.score_id,
            p.name,
            pages.first,
            pages.last,
            p.now,
            p.user_id
        ],
    )
}

/// Renames and/or re-ranges (a pages part only) the owner's part; the range within the score's
/// page count when known. Changed nothing: no such part, a range refused, or the name taken.
pub fn patch_part(
    score: &str,
    part: &str,
    owner: &str,
    name: Option<&str>,
    pages: Option<Pages>,
    now: &str,
) -> Stmt {
    let (first, last) = pages.map(|p| (p.first, p.last)).unzip();
    Stmt::new(
        "update or ignore score_parts set name = coalesce(?4, name), \
           first_page = coalesce(?5, first_page), last_page = coalesce(?6, last_page), updated_at = ?7 \
         where id = ?2 and score_id = ?1 and user_id = ?3 \
           and exists (select 1 from scores s where s.id = ?1 and s.trashed_at is null) \
           and (?5 is null or (source = 'pages' and (select s.pages is null or ?6 <= s.pages from scores s where s.id = ?1)))",
        vec![
            score.into(),
            part.into(),
            owner.into(),
            SqlValue::from(name),
            first.into(),
            last.into(),
            now.into(),
        ],
    )
}

/// Deletes the owner's part: its bytes released, its object (an upload part's) queued in the
/// outbox not before its upload URL expires, the row removed. Statement 2 changed nothing: no
/// such part.
pub fn delete_part(score: &str, part: &str, owner: &str, now: &str) -> [Stmt; 3] {
    [
        Stmt::new(
            "update users set used_bytes = used_bytes - (select size_bytes from score_parts where id = ?2 and score_id = ?1 and user_id = ?3), \
               updated_at = ?4 \
             where id = ?3 and exists (select 1 from score_parts where id = ?2 and score_id = ?1 and user_id = ?3)",
            args![score, part, owner, now],
        ),
        Stmt::new(
            "insert or ignore into deletions (object_key, requested_at, not_before) \
             select p.object_key, ?4, (select max(u.expires_at, ?4) from uploads u where u.id = p.upload_id) \
             from score_parts p where p.id = ?2 and p.score_id = ?1 and p.user_id = ?3 and p.object_key is not null",
            args![score, part, owner, now],
        ),
        Stmt::new(
            "delete from score_parts where id = ?2 and score_id = ?1 and user_id = ?3",
            args![score, part, owner],
        ),
    ]
}

/// Purging trashed score `?1` of owner `?2` at `?3` also deletes its parts: their bytes released and
/// their objects queued in the outbox (the rows go with the score, `on delete cascade`). Runs in
/// the score's purge batch, before the score's row goes.
pub fn delete_score_parts(score: &str, owner: &str, now: &str) -> [Stmt; 2] {
    [
        Stmt::new(
            "update users set used_bytes = used_bytes - (select coalesce(sum(size_bytes), 0) from score_parts \
               where score_id = ?1 and user_id = ?2), updated_at = ?3 \
             where id = ?2 and exists (select 1 from score_parts p join scores s on s.id = p.score_id \
               where p.score_id = ?1 and s.user_id = ?2 and s.trashed_at is not null)",
            args![score, owner, now],
        ),
        Stmt::new(
            "insert or ignore into deletions (object_key, requested_at, not_before) \
             select p.object_key, ?3, (select max(u.expires_at, ?3) from uploads u where u.id = p.upload_id) \
             from score_parts p join scores s on s.id = p.score_id \
             where p.score_id = ?1 and s.user_id = ?2 and s.trashed_at is not null and p.object_key is not null",
            args![score, owner, now],
        ),
    ]
}

/// The object keys of score `score`'s upload parts (for their `delete_file` tasks).
pub fn part_keys(score: &str, owner: &str) -> Stmt {
    Stmt::new(
        "select p.object_key from score_parts p join scores s on s.id = p.score_id \
         where p.score_id = ?1 and s.user_id = ?2 and p.object_key is not null",
        args![score, owner],
    )
}
