//! Statements of songbook bookmarks (SPEC §10): create one, import an index in chunks, read,
//! edit, delete and list them (full-text like scores, `bookmarks_fts`, scoped to the owner), and the extracted PDF of
//! a bookmark's pages (asked for once, made by the queue, counted in the songbook's derived
//! budget with its page images).
//!
//! Every statement names the owner: a bookmark id alone never reaches another user's row.

use serde::Deserialize;

use crate::args;
use crate::domain::bookmark::{BookmarkFields, IndexEntry, PER_SCORE_MAX};
use crate::store::library::DERIVED_BYTES;

use super::fts::{self, Search};
use super::{SqlValue, Stmt};

/// A bookmark (`b`) of songbook `s` as the API shows it, built by SQLite.
pub const BOOKMARK_JSON: &str = "json_object(\
'id', b.id, 'score_id', b.score_id, 'title', b.title, 'composer', b.composer, 'key', b.key, \
'tags', json(b.tags), 'first_page', b.first_page, 'last_page', b.last_page, \
'page_count', b.last_page - b.first_page + 1, \
'songbook', json_object('title', s.title, 'pages', s.pages), \
'extract', case when b.extract_state is null then json_object('state', 'none') \
  when b.extract_state = 'failed' then json_object('state', 'failed', 'reason', b.extract_reason) \
  else json_object('state', b.extract_state) end, \
'created_at', b.created_at, 'updated_at', b.updated_at)";

/// Rows of a bookmark insert: at most this many per statement, so one parameter (the rows as
/// JSON) stays far below D1's 2 MB value limit however long the titles (a 2 000-line index is
/// four statements in one batch).
pub const IMPORT_CHUNK: usize = 500;

// ---- rows ----

/// A bookmark as read ([`bookmark`]): its keys and its JSON.
#[derive(Debug, Clone, Deserialize)]
pub struct BookmarkRow {
    pub id: String,
    pub score_id: String,
    pub first_page: i64,
    pub last_page: i64,
    pub extract_key: Option<String>,
    pub json: String,
    /// The title, for the next cursor of a list.
    #[serde(default)]
    pub title: Option<String>,
}

/// The owner's songbook as a bookmark write needs it ([`songbook`]).
#[derive(Debug, Clone, Deserialize)]
pub struct SongbookRow {
    pub id: String,
    /// Known once `pdf_info` ran.
    pub pages: Option<i64>,
    /// Bookmarks it holds.
    pub bookmarks: i64,
}

/// What an extraction needs ([`extract_job`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ExtractRow {
    pub state: Option<String>,
    pub reason: Option<String>,
    pub extract_key: Option<String>,
    pub first_page: i64,
    pub last_page: i64,
    pub score_id: String,
    pub object_key: String,
    pub size_bytes: i64,
    /// The songbook's page count, once known.
    pub pages: Option<u64>,
    pub pdf_info_state: String,
    pub pdf_info_reason: Option<String>,
    /// Whether the songbook's derived objects fill their budget.
    pub full: i64,
}

// ---- reads ----

/// Columns of a bookmark row ([`BookmarkRow`]).
fn columns() -> String {
    format!(
        "b.id, b.score_id, b.first_page, b.last_page, b.extract_key, b.title, {BOOKMARK_JSON} as json"
    )
}

/// The owner's bookmark.
pub fn bookmark(id: &str, owner: &str) -> Stmt {
    Stmt::new(
        format!(
            "select {} from bookmarks b join scores s on s.id = b.score_id \
             where b.id = ?1 and b.user_id = ?2 and s.trashed_at is null",
            columns()
        ),
        args![id, owner],
    )
}

/// The owner's score as a songbook ([`SongbookRow`]).
pub fn songbook(score_id: &str, owner: &str) -> Stmt {
    Stmt::new(
        "select s.id, s.pages, (select count(*) from bookmarks b where b.score_id = s.id) as bookmarks \
         from scores s where s.id = ?1 and s.user_id = ?2 and s.trashed_at is null",
        args![score_id, owner],
    )
}

// ---- writes ----

/// The owner's score `?2` (owner `?3`) exists and has room for `?4` more bookmarks.
macro_rules! room_in_songbook {
    () => {
        "exists (select 1 from scores where id = ?2 and user_id = ?3 and trashed_at is null) \
         and (select count(*) from bookmarks where score_id = ?2) + ?4 <= ?5"
    };
}

/// A bookmark to create.
pub struct NewBookmark<'a> {
    pub id: &'a str,
    pub owner: &'a str,
    pub score_id: &'a str,
    pub fields: &'a BookmarkFields,
    pub now: &'a str,
}

/// Inserts one bookmark and indexes its tags, only while the songbook is the owner's and has
/// room. Statement 0 changed nothing: it does not (or no longer).
pub fn insert(b: &NewBookmark<'_>) -> [Stmt; 2] {
    let f = b.fields;
    let tags = serde_json::to_string(f.tags.as_deref().unwrap_or_default())
        .unwrap_or_else(|_| "[]".into());
    [
        Stmt::new(
            concat!(
                "insert into bookmarks (id, score_id, user_id, title, composer, key, tags, first_page, last_page, \
                   created_at, updated_at) \
                 select ?1, ?2, ?3, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12 where ",
                room_in_songbook!()
            ),
            vec![
                b.id.into(),
                b.score_id.into(),
                b.owner.into(),
                SqlValue::Int(1),
                SqlValue::from(i64::try_from(PER_SCORE_MAX).unwrap_or(i64::MAX)),
                f.title.clone().into(),
                f.composer.clone().flatten().into(),
                f.key.clone().flatten().into(),
                tags.clone().into(),
                f.first_page.into(),
                f.last_page.into(),
                b.now.into(),
            ],
        ),
        insert_tags(b.id, b.owner, &tags),
    ]
}

fn insert_tags(id: &str, owner: &str, tags_json: &str) -> Stmt {
    Stmt::new(
        "insert or ignore into bookmark_tags (bookmark_id, tag) select ?1, value from json_each(?3) \
         where exists (select 1 from bookmarks where id = ?1 and user_id = ?2)",
        args![id, owner, tags_json],
    )
}

fn delete_tags(id: &str, owner: &str) -> Stmt {
    Stmt::new(
        "delete from bookmark_tags where bookmark_id = ?1 \
         and exists (select 1 from bookmarks where id = ?1 and user_id = ?2)",
        args![id, owner],
    )
}

/// One chunk of an import: `entries` with their fresh `ids`, as ONE statement whose rows come
/// from one JSON parameter (`json_each`), so D1's 100-parameter limit never counts the rows.
/// Inserts all of them only while the songbook is the owner's and has room for all; changed
/// nothing otherwise.
pub fn import_chunk(
    score_id: &str,
    owner: &str,
    entries: &[IndexEntry],
    ids: &[String],
    now: &str,
) -> Stmt {
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .zip(ids)
        .map(|(e, id)| {
            serde_json::json!({
                "id": id, "t": e.title, "f": e.first_page, "l": e.last_page,
                "c": e.composer, "k": e.key,
            })
        })
        .collect();
    let rows = serde_json::Value::from(rows).to_string();
    Stmt::new(
        concat!(
            "insert into bookmarks (id, score_id, user_id, title, composer, key, first_page, last_page, \
               created_at, updated_at) \
             select json_extract(r.value, '$.id'), ?2, ?3, json_extract(r.value, '$.t'), \
               json_extract(r.value, '$.c'), json_extract(r.value, '$.k'), \
               json_extract(r.value, '$.f'), json_extract(r.value, '$.l'), ?6, ?6 \
             from json_each(?1) r where ",
            room_in_songbook!(),
            " order by r.key"
        ),
        vec![
            rows.into(),
            score_id.into(),
            owner.into(),
            SqlValue::from(i64::try_from(entries.len()).unwrap_or(i64::MAX)),
            SqlValue::from(i64::try_from(PER_SCORE_MAX).unwrap_or(i64::MAX)),
            now.into(),
        ],
    )
}

/// A PATCH of the owner's bookmark with its merged page range (`first`, `last`): each field
/// replaced only when sent (`null` clears), its tags replaced when sent. A changed range forgets
/// the extracted PDF (whose object the service deletes). Statement 0 changed nothing: no such
/// bookmark of the owner.
pub fn patch(id: &str, owner: &str, f: &BookmarkFields, range: (i64, i64), now: &str) -> Vec<Stmt> {
    let text =
        |v: &Option<Option<String>>| [SqlValue::from(v.is_some()), v.clone().flatten().into()];
    let tags = f
        .tags
        .as_deref()
        .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
    let mut args = args![
        id,
        owner,
        now,
        f.title.is_some(),
        f.title.clone(),
        range.0,
        range.1
    ];
    for pair in [
        text(&f.composer),
        text(&f.key),
        [SqlValue::from(tags.is_some()), tags.clone().into()],
    ] {
        args.extend(pair);
    }
    let mut stmts = vec![Stmt::new(
        "update bookmarks set \
           title = case when ?4 then ?5 else title end, \
           extract_state = case when first_page = ?6 and last_page = ?7 then extract_state end, \
           extract_key = case when first_page = ?6 and last_page = ?7 then extract_key end, \
           extract_reason = case when first_page = ?6 and last_page = ?7 then extract_reason end, \
           extract_bytes = case when first_page = ?6 and last_page = ?7 then extract_bytes else 0 end, \
           first_page = ?6, last_page = ?7, \
           composer = case when ?8 then ?9 else composer end, \
           key = case when ?10 then ?11 else key end, \
           tags = case when ?12 then ?13 else tags end, \
           updated_at = ?3 \
         where id = ?1 and user_id = ?2",
        args,
    )];
    if let Some(tags) = &tags {
        stmts.push(delete_tags(id, owner));
        stmts.push(insert_tags(id, owner, tags));
    }
    stmts
}

/// Records an object to delete in the outbox (an extracted PDF no longer wanted).
pub fn discard(key: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into deletions (object_key, requested_at) values (?1, ?2) \
         on conflict (object_key) do nothing",
        args![key, now],
    )
}

/// Deletes the owner's bookmark (its setlist items go with it, by trigger, with a history
/// event), its extracted PDF into the outbox first. Statement 2 changed nothing: no such
/// bookmark of the owner.
pub fn delete(id: &str, owner: &str, now: &str) -> [Stmt; 3] {
    [
        Stmt::new(
            "insert or ignore into deletions (object_key, requested_at) \
             select extract_key, ?3 from bookmarks where id = ?1 and user_id = ?2 and extract_key is not null",
            args![id, owner, now],
        ),
        delete_tags(id, owner),
        Stmt::new(
            "delete from bookmarks where id = ?1 and user_id = ?2",
            args![id, owner],
        ),
    ]
}

// ---- the list ----

/// One page of the owner's bookmarks by title (then id), after `after` (the previous page's last
/// title and id): `terms` full-text over title and composer (FTS5, as scores), every tag of
/// `tags`, only songbook `score_id` when given. `fetch` rows.
pub fn list(
    owner: &str,
    terms: &[String],
    tags: &[String],
    score_id: Option<&str>,
    after: Option<(&str, &str)>,
    fetch: i64,
) -> Stmt {
    let mut params = vec![SqlValue::Text(owner.to_owned())];
    let mut bind = |v: SqlValue| {
        params.push(v);
        format!("?{}", params.len())
    };
    let mut clauses = vec![
        "b.user_id = ?1".to_owned(),
        "s.trashed_at is null".to_owned(),
    ];
    let matcher = (!terms.is_empty()).then(|| bind(fts::matcher(owner, terms).into()));
    for tag in tags {
        let p = bind(tag.as_str().into());
        clauses.push(format!(
            "exists (select 1 from bookmark_tags t where t.bookmark_id = b.id and t.tag = {p})"
        ));
    }
    if let Some(score) = score_id {
        let p = bind(score.into());
        clauses.push(format!("b.score_id = {p}"));
    }
    if let Some((title, id)) = after {
        let pt = bind(title.into());
        let pi = bind(id.into());
        clauses.push(format!(
            "(b.title collate nocase > {pt} or (b.title collate nocase = {pt} and b.id > {pi}))"
        ));
    }
    let limit = bind(SqlValue::Int(fetch));
    let order = "b.title collate nocase, b.id";
    let from = "bookmarks b join scores s on s.id = b.score_id";
    let sql = match matcher {
        None => format!(
            "select {} from {from} where {} order by {order} limit {limit}",
            columns(),
            clauses.join(" and ")
        ),
        Some(m) => format!(
            "{} select {} from page p cross join {from} where b.seq = p.seq order by {order}",
            Search {
                fts: "bookmarks_fts",
                from,
                seq: "b.seq",
                clauses: &clauses,
                order,
                terms,
            }
            .page_cte(&m, &limit),
            columns()
        ),
    };
    Stmt::new(sql, params)
}

// ---- the extracted PDF ----

/// The songbook's budget for derived objects: twice its PDF or the floor `?2`.
macro_rules! cap {
    () => {
        "max(2 * s.size_bytes, ?2)"
    };
}

/// The extraction of the owner's (or, `owner` = `None`, anyone's: the queue) bookmark `id`
/// ([`ExtractRow`]), with the songbook's file and whether its budget is full (`floor` =
/// `DERIVED_MIN_BYTES`).
pub fn extract_job(id: &str, owner: Option<&str>, floor: i64) -> Stmt {
    Stmt::new(
        format!(
            "select b.extract_state as state, b.extract_reason as reason, b.extract_key, \
               b.first_page, b.last_page, b.score_id, s.object_key, s.size_bytes, s.pages, \
               s.pdf_info_state, s.pdf_info_reason, ({DERIVED_BYTES}) >= {} as full \
             from bookmarks b join scores s on s.id = b.score_id \
             where b.id = ?1 and (?3 is null or (b.user_id = ?3 and s.trashed_at is null))",
            cap!()
        ),
        args![id, floor, owner],
    )
}

/// Asks for the extract: pending from now, unless it was asked already or the songbook's
/// budget is full. The request whose update changed the row sends the one message.
pub fn request_extract(id: &str, floor: i64, now: &str) -> Stmt {
    Stmt::new(
        format!(
            "update bookmarks set extract_state = 'pending', extract_reason = null, extract_at = ?3 \
             where id = ?1 and extract_state is null \
               and (select ({DERIVED_BYTES}) < {} from scores s where s.id = bookmarks.score_id)",
            cap!()
        ),
        args![id, floor, now],
    )
}

/// The queue started on it (still asked for, same range).
pub fn extract_running(id: &str, range: (i64, i64), now: &str) -> Stmt {
    Stmt::new(
        "update bookmarks set extract_state = 'running', extract_at = ?4 \
         where id = ?1 and first_page = ?2 and last_page = ?3 and extract_state in ('pending', 'running')",
        args![id, range.0, range.1, now],
    )
}

/// The PDF (`bytes` long) is stored at `key`: recorded only while asked for with the same range
/// and while it fits the songbook's budget. Changed nothing: the task deletes the object.
pub fn extract_ok(id: &str, range: (i64, i64), key: &str, bytes: i64, floor: i64) -> Stmt {
    Stmt::new(
        format!(
            "update bookmarks set extract_state = 'ok', extract_key = ?3, extract_bytes = ?4, \
               extract_reason = null \
             where id = ?1 and first_page = ?5 and last_page = ?6 \
               and extract_state in ('pending', 'running') \
               and (select ({DERIVED_BYTES}) + ?4 <= {} from scores s where s.id = bookmarks.score_id)",
            cap!()
        ),
        args![id, floor, key, bytes, range.0, range.1],
    )
}

/// The extraction failed for good (while still asked for).
pub fn extract_failed(id: &str, reason: &str) -> Stmt {
    Stmt::new(
        "update bookmarks set extract_state = 'failed', extract_reason = ?2 \
         where id = ?1 and extract_state in ('pending', 'running')",
        args![id, reason],
    )
}

/// Sweep: extractions asked for before `before` and not finished (`id`), at most `limit`; each
/// is touched so it is sent once per sweep.
pub fn stale_extracts(before: &str, limit: i64, now: &str) -> Stmt {
    Stmt::new(
        "update bookmarks set extract_at = ?3 where id in (select id from bookmarks \
           where extract_state in ('pending', 'running') and extract_at < ?1 limit ?2) \
         returning id",
        args![before, limit, now],
    )
}
