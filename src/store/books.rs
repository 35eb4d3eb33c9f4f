//! Statements of setlist books (SPEC §11): one row per setlist and part (`part_key` `''` for the
//! full scores) for the newest book asked for, its state and object; the sources of a book, one
//! row per item in order; and the transitions the queue makes (pending → running → ok | failed),
//! each conditional on the version it was asked for, so a book asked for again meanwhile is not
//! overwritten by an older one.

use serde::Deserialize;

use crate::args;

use super::Stmt;

/// The reader's part key on setlist `setlist` (`''` for the owner and for a member without a
/// part), their role and the setlist's owner ([`Reader`]); no row for anyone else or a disabled owner's setlist.
pub fn reader(setlist: &str, user: &str) -> Stmt {
    Stmt::new(
        "select case when s.owner_id = ?2 then '' else coalesce(lower(trim(m.part)), '') end as part_key, \
           case when s.owner_id = ?2 then 'owner' else m.role end as role, s.owner_id as owner \
         from setlists s join users o on o.id = s.owner_id and o.disabled_at is null \
         left join setlist_members m on m.setlist_id = s.id and m.user_id = ?2 \
         where s.id = ?1 and (s.owner_id = ?2 or m.user_id is not null)",
        args![setlist, user],
    )
}

/// Asks for the book of `(setlist, part_key)` at the setlist's current version. Changed nothing:
/// a book of this version was already asked for (made, being made, or failed for good).
pub fn request(setlist: &str, part_key: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into setlist_books (setlist_id, part_key, version, state, requested_at, updated_at) \
         select id, ?2, version, 'pending', ?3, ?3 from setlists where id = ?1 \
         on conflict (setlist_id, part_key) do update set version = excluded.version, \
           state = 'pending', object_key = null, pages = null, size_bytes = null, reason = null, \
           requested_at = excluded.requested_at, updated_at = excluded.updated_at \
         where setlist_books.version < excluded.version",
        args![setlist, part_key, now],
    )
}

/// The book of `(setlist, part_key)` and the setlist's current version ([`BookRow`]).
pub fn book(setlist: &str, part_key: &str) -> Stmt {
    Stmt::new(
        "select b.version, b.state, b.object_key, b.pages, b.reason, s.version as current, \
           s.owner_id as owner, s.name \
         from setlist_books b join setlists s on s.id = b.setlist_id \
         where b.setlist_id = ?1 and b.part_key = ?2",
        args![setlist, part_key],
    )
}

/// The pieces of the book of `(setlist, part_key)` in order ([`Source`]): each item's file —
/// the member's part where the score has one of that name (its own PDF, or its range of the
/// score's), a bookmark's range of its songbook, or the whole score — and its outline title.
pub fn sources(setlist: &str, part_key: &str) -> Stmt {
    Stmt::new(
        "select coalesce(b.title, sc.title) || case when p.id is null then '' else ' — ' || p.name end as title, \
           case when p.source = 'upload' then p.object_key else sc.object_key end as object_key, \
           case when p.source = 'upload' then p.size_bytes else sc.size_bytes end as size_bytes, \
           case when b.id is not null then b.first_page when p.source = 'pages' then p.first_page end as first_page, \
           case when b.id is not null then b.last_page when p.source = 'pages' then p.last_page end as last_page \
         from setlist_items i join scores sc on sc.id = i.score_id \
         left join bookmarks b on b.id = i.bookmark_id \
         left join score_parts p on ?2 <> '' and i.bookmark_id is null and p.score_id = sc.id \
           and p.name = ?2 collate nocase \
         where i.setlist_id = ?1 and sc.trashed_at is null order by i.position, i.id",
        args![setlist, part_key],
    )
}

/// The queue starts the book of version `version`. Changed nothing: it is no longer asked for.
pub fn running(setlist: &str, part_key: &str, version: i64, now: &str) -> Stmt {
    Stmt::new(
        "update setlist_books set state = 'running', updated_at = ?4 \
         where setlist_id = ?1 and part_key = ?2 and version = ?3 and state in ('pending', 'running')",
        args![setlist, part_key, version, now],
    )
}

/// The book of version `version` is made. Changed nothing: asked for again meanwhile (its object
/// is then to be discarded).
pub fn made(
    (setlist, part_key, version): (&str, &str, i64),
    key: &str,
    pages: i64,
    size: i64,
    now: &str,
) -> Stmt {
    Stmt::new(
        "update setlist_books set state = 'ok', object_key = ?4, pages = ?5, size_bytes = ?6, \
           reason = null, updated_at = ?7 \
         where setlist_id = ?1 and part_key = ?2 and version = ?3 and state = 'running'",
        args![setlist, part_key, version, key, pages, size, now],
    )
}

/// The book of version `version` cannot be made, for `reason` (told to every later request of
/// that version; a new version is tried afresh).
pub fn failed(setlist: &str, part_key: &str, version: i64, reason: &str, now: &str) -> Stmt {
    Stmt::new(
        "update setlist_books set state = 'failed', reason = ?4, updated_at = ?5 \
         where setlist_id = ?1 and part_key = ?2 and version = ?3 and state in ('pending', 'running')",
        args![setlist, part_key, version, reason, now],
    )
}

/// Books asked for before `before` and still not made (`setlist_id`, `part_key`): their message
/// was lost, or every delivery crashed.
pub fn stale(before: &str, limit: i64) -> Stmt {
    Stmt::new(
        "select setlist_id, part_key from setlist_books \
         where state in ('pending', 'running') and requested_at < ?1 order by requested_at limit ?2",
        args![before, limit],
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Reader {
    pub part_key: String,
    pub role: String,
    pub owner: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookRow {
    pub version: i64,
    pub state: String,
    pub object_key: Option<String>,
    pub pages: Option<i64>,
    pub reason: Option<String>,
    pub current: i64,
    pub owner: String,
    /// The setlist's name: the book's title.
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    pub title: String,
    pub object_key: String,
    pub size_bytes: i64,
    pub first_page: Option<i64>,
    pub last_page: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StaleBook {
    pub setlist_id: String,
    pub part_key: String,
}
