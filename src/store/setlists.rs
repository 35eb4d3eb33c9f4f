//! Statements of setlists, their items, members, public links and item comments (SPEC §5), and
//! the rows they return. Each function returns the statements of one step, bound to its typed
//! arguments.
//!
//! Reads name the caller and return nothing to an outsider (nor to anyone once the owner's
//! account is disabled), so "not found" and "not yours" are the same answer; what each role may
//! do with what it can see is `domain::setlist::decide`. Writes open with a compare-and-swap on
//! the setlist's `version` ([`claim`]) that also stamps a write token; the other statements of
//! the batch apply only while that token holds, so a request that lost a race changes nothing.

use serde::Deserialize;

use crate::args;
use crate::domain::setlist::SetlistFields;
use crate::store::library::PROCESSING_JSON;

use super::{SqlValue, Stmt};

// ---- rows ----

/// The caller's relation to a setlist ([`access`]).
#[derive(Debug, Clone, Deserialize)]
pub struct AccessRow {
    pub version: i64,
    /// `owner`, `editor` or `viewer`.
    pub role: String,
}

/// An item's id and position ([`item_positions`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ItemPos {
    pub id: String,
    pub position: i64,
}

/// A row of any statement of the view batch ([`view`]): each selects a `json` column; the head
/// adds the caller's `role`, items their `thumbnail_key` (presigned by the Worker, not in SQL),
/// members their `email` (shown to whom the policy allows).
#[derive(Debug, Clone, Deserialize)]
pub struct ViewRow {
    pub json: String,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub thumbnail_key: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// An item's part for the reader (SPEC §10), its JSON and thumbnail key.
    #[serde(default)]
    pub part_json: Option<String>,
    #[serde(default)]
    pub part_thumbnail_key: Option<String>,
    /// An item whose score is in the trash: shown without URLs (SPEC §11).
    #[serde(default)]
    pub trashed: Option<i64>,
}

/// A setlist of the list ([`list`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub updated_at: String,
    pub json: String,
    pub role: String,
}

/// An item's file with the reader's role ([`item_file`], [`item_file_by_link`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ItemFileRow {
    pub score_id: String,
    pub pdf_info_state: String,
    pub pdf_info_reason: Option<String>,
    pub object_key: String,
    pub pages: Option<u64>,
    pub size_bytes: i64,
    pub role: String,
    /// The bookmark the item plays, with its range.
    #[serde(default)]
    pub bookmark_id: Option<String>,
    #[serde(default)]
    pub first_page: Option<i64>,
    #[serde(default)]
    pub last_page: Option<i64>,
}

/// A public link ([`links`]).
#[derive(Debug, Clone, Deserialize)]
pub struct LinkRow {
    pub id: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CountRow {
    pub n: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserIdRow {
    pub user_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthorRow {
    pub author_id: String,
}

// ---- setlists ----

/// The caller's role on a setlist, from `s` joined to its owner `o` and the caller's membership
/// `m` (user `?2`).
macro_rules! role {
    () => {
        "case when s.owner_id = ?2 then 'owner' else m.role end"
    };
}

/// Setlist `?1` as seen by user `?2`: the owner, or a member; no row for anyone else, nor for
/// anyone once the owner's account is disabled (a disabled account shares nothing).
macro_rules! seen_by {
    () => {
        "from setlists s join users o on o.id = s.owner_id and o.disabled_at is null \
         left join setlist_members m on m.setlist_id = s.id and m.user_id = ?2 \
         where s.id = ?1 and (s.owner_id = ?2 or m.user_id is not null)"
    };
}

/// A setlist's (`s`, owner `o`) own fields as the API shows them.
macro_rules! setlist_json {
    () => {
        "json_object('id', s.id, 'name', s.name, 'description', s.description, \
         'event_date', s.event_date, 'venue', s.venue, 'notes', s.notes, 'version', s.version, \
         'owner', json_object('id', o.id, 'display_name', o.display_name), \
         'item_count', (select count(*) from setlist_items i where i.setlist_id = s.id), \
         'created_at', s.created_at, 'updated_at', s.updated_at)"
    };
}

/// The caller's role on setlist `setlist` ([`AccessRow`]): no row for an outsider.
pub fn access(setlist: &str, user: &str) -> Stmt {
    Stmt::new(
        concat!("select s.version, ", role!(), " as role ", seen_by!()),
        args![setlist, user],
    )
}

/// A setlist to create.
pub struct NewSetlist<'a> {
    pub id: &'a str,
    pub owner: &'a str,
    /// Parsed for a create: `name` present, absent fields empty.
    pub fields: &'a SetlistFields,
    pub now: &'a str,
}

pub fn insert(s: &NewSetlist<'_>) -> Stmt {
    let f = s.fields;
    Stmt::new(
        "insert into setlists (id, owner_id, name, description, event_date, venue, notes, created_at, updated_at) \
         values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        args![
            s.id,
            s.owner,
            f.name.clone(),
            f.description.clone().flatten(),
            f.event_date.clone().flatten(),
            f.venue.clone().flatten(),
            f.notes.clone().flatten(),
            s.now
        ],
    )
}

/// Who reads a setlist's view.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// Its owner or a member `user` (anyone else reads nothing).
    Member { setlist: &'a str, user: &'a str },
    /// Public link `link` (its id), which must be live at `now` and its owner enabled.
    Link { link: &'a str, now: &'a str },
}

impl<'a> Via<'a> {
    /// The setlist `?1` names: its id, or (through a link) the link's setlist, found inside the
    /// statement so the batch needs no lookup before it.
    fn setlist_expr(self) -> &'static str {
        match self {
            Self::Member { .. } => "?1",
            Self::Link { .. } => "(select setlist_id from setlist_links where id = ?1)",
        }
    }

    /// `?1` of the item and history statements.
    fn key(self) -> &'a str {
        match self {
            Self::Member { setlist, .. } => setlist,
            Self::Link { link, .. } => link,
        }
    }
}

/// The head of the view (`json`, the reader's `role`): the only statement of the batch that
/// checks access; empty when the reader may not see the setlist.
fn head(via: Via<'_>) -> Stmt {
    match via {
        Via::Member { setlist, user } => Stmt::new(
            concat!(
                "select ",
                setlist_json!(),
                " as json, ",
                role!(),
                " as role ",
                seen_by!()
            ),
            args![setlist, user],
        ),
        Via::Link { link, now } => Stmt::new(
            concat!(
                "select ",
                setlist_json!(),
                " as json, 'link' as role \
                 from setlist_links l join setlists s on s.id = l.setlist_id \
                 join users o on o.id = s.owner_id and o.disabled_at is null \
                 where l.id = ?1 and l.revoked_at is null and (l.expires_at is null or l.expires_at > ?2)"
            ),
            args![link, now],
        ),
    }
}

/// Items in order with what a player needs of each score (`json`, `thumbnail_key`). An item
/// that plays a bookmark shows the bookmark's title, composer, key and page count, and the
/// bookmark itself (`score_id` stays the songbook's). Each item of a whole score also carries the
/// reader's part (`part_json`, `part_thumbnail_key`): the score's part whose name matches the
/// member's assigned part in any case, found through the index on `(score_id, name collate
/// nocase)` in the same statement (no round trip per item). Through a link: none.
pub fn items(via: Via<'_>) -> Stmt {
    // `?2` is the reader's id through a membership: the owner sees a trashed item's title.
    let (reader_part, owner, args) = match via {
        Via::Member { setlist, user } => (
            "(select m.part from setlist_members m where m.setlist_id = ?1 and m.user_id = ?2)",
            "s.user_id = ?2",
            args![setlist, user],
        ),
        Via::Link { link, .. } => ("null", "0", args![link]),
    };
    Stmt::new(
        format!(
            "select i.id, case when s.trashed_at is null then s.thumbnail_key end as thumbnail_key, \
               case when s.trashed_at is null then json_object('id', i.id, 'position', i.position, \
               'score_id', i.score_id, 'notes', i.notes, 'title', coalesce(bk.title, s.title), \
               'composer', case when bk.id is null then s.composer else bk.composer end, \
               'key', case when bk.id is null then s.key else bk.key end, \
               'pages', case when bk.id is null then s.pages else bk.last_page - bk.first_page + 1 end, \
               'duration', s.duration, \
               'processing', {PROCESSING_JSON}, \
               'bookmark', case when bk.id is null then null else json_object('id', bk.id, \
                 'title', bk.title, 'first_page', bk.first_page, 'last_page', bk.last_page) end, \
               'comment_count', (select count(*) from item_comments c where c.item_id = i.id), \
               'added_by', i.added_by, 'created_at', i.created_at, 'updated_at', i.updated_at, \
               'trashed', json('false')) \
               when {owner} then json_object('id', i.id, 'position', i.position, 'score_id', i.score_id, \
                 'title', coalesce(bk.title, s.title), 'trashed', json('true')) \
               else json_object('id', i.id, 'position', i.position, 'trashed', json('true')) end as json, \
               case when p.id is null or s.trashed_at is not null then null else {part_json} end as part_json, \
               case when s.trashed_at is null then p.thumbnail_key end as part_thumbnail_key, \
               s.trashed_at is not null as trashed \
             from setlist_items i join scores s on s.id = i.score_id \
             left join bookmarks bk on bk.id = i.bookmark_id \
             left join score_parts p on p.score_id = i.score_id and i.bookmark_id is null \
               and p.name = {reader_part} collate nocase \
             where i.setlist_id = {} order by i.position, i.id",
            via.setlist_expr(),
            part_json = crate::store::parts::part_json(),
        ),
        args,
    )
}

/// The latest 20 history entries (`json`), newest first.
pub fn events(via: Via<'_>) -> Stmt {
    Stmt::new(
        format!(
            "select json_object('kind', kind, 'detail', json(detail), 'at', created_at) as json \
             from setlist_events where setlist_id = {} order by seq desc limit 20",
            via.setlist_expr()
        ),
        args![via.key()],
    )
}

/// Members of setlist `setlist` with their names (`json`) and, apart, their `email`: whether a
/// reader sees it is the policy's to say.
pub fn members(setlist: &str) -> Stmt {
    Stmt::new(
        "select json_object('user_id', u.id, 'display_name', u.display_name, \
           'role', m.role, 'part', m.part, 'added_at', m.created_at) as json, u.email \
         from setlist_members m join users u on u.id = m.user_id \
         where m.setlist_id = ?1 order by m.created_at, u.id",
        args![setlist],
    )
}

/// The whole view of a setlist in one batch (one round trip, one snapshot): head, items,
/// history, and the members when `with_members` (never through a link: nobody to name the
/// members to). Only the head checks access: the service ignores the rest when it is empty.
pub fn view(via: Via<'_>, with_members: bool) -> Vec<Stmt> {
    let mut stmts = vec![head(via), items(via), events(via)];
    if let (true, Via::Member { setlist, .. }) = (with_members, via) {
        stmts.push(members(setlist));
    }
    stmts
}

/// A page of the caller's setlists, or of those shared with them (`shared`), newest change
/// first, after the keyset `(updated_at, id)` of the previous page's last row, `fetch` rows
/// ([`ListRow`]).
pub fn list(user: &str, shared: bool, after: Option<(&str, &str)>, fetch: i64) -> Stmt {
    let (at, id) = after.unzip();
    // Two statements rather than one with a `case` on `shared`, which no index can serve: each
    // reads only its own index (`setlists_owner`, `setlist_members_user`), so a user with no
    // setlists reads nothing of anyone else's.
    let sql = if shared {
        concat!(
            "select s.id, s.updated_at, ",
            setlist_json!(),
            " as json, m.role as role \
             from setlist_members m join setlists s on s.id = m.setlist_id \
               join users o on o.id = s.owner_id and o.disabled_at is null \
             where m.user_id = ?1 and (?2 is null or (s.updated_at, s.id) < (?2, ?3)) \
             order by s.updated_at desc, s.id desc limit ?4"
        )
    } else {
        concat!(
            "select s.id, s.updated_at, ",
            setlist_json!(),
            " as json, 'owner' as role \
             from setlists s join users o on o.id = s.owner_id and o.disabled_at is null \
             where s.owner_id = ?1 and (?2 is null or (s.updated_at, s.id) < (?2, ?3)) \
             order by s.updated_at desc, s.id desc limit ?4"
        )
    };
    Stmt::new(sql, args![user, at, id, fetch])
}

/// Only the owner deletes (its items, members, links, comments and history go with it).
pub fn delete(setlist: &str, owner: &str) -> Stmt {
    Stmt::new(
        "delete from setlists where id = ?1 and owner_id = ?2",
        args![setlist, owner],
    )
}

// ---- writes: a compare-and-swap, then steps under its token ----

/// What a write expects of the setlist's version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this version (the one the client saw, or the one just read).
    Version(i64),
    /// Any: the write computes everything it needs inside the batch (an add without a version).
    Any,
}

/// The opening of a write.
pub struct Claim<'a> {
    pub setlist: &'a str,
    pub expect: Expect,
    /// Fresh per attempt: the rest of the batch applies only while it holds.
    pub token: &'a str,
    pub now: &'a str,
    /// The most items the setlist may hold before this write (`None`: no limit). An add passes
    /// the limit minus one, so the limit holds inside the batch however many adds race.
    pub room: Option<i64>,
}

/// Bumps the version, stamps the token and the time, if the version is as expected and the
/// items fit. Changed nothing: the race was lost (or the setlist is gone, or full).
pub fn claim(c: &Claim<'_>) -> Stmt {
    let (guard, expected) = match c.expect {
        Expect::Version(v) => ("version = ?2", SqlValue::Int(v)),
        Expect::Any => ("?2 is null", SqlValue::Null),
    };
    Stmt::new(
        format!(
            "update setlists set version = version + 1, write_token = ?3, updated_at = ?4 \
             where id = ?1 and {guard} \
               and (?5 is null or (select count(*) from setlist_items where setlist_id = ?1) <= ?5)"
        ),
        vec![
            c.setlist.into(),
            expected,
            c.token.into(),
            c.now.into(),
            c.room.into(),
        ],
    )
}

/// How many items the setlist holds ([`CountRow`]).
pub fn item_count(setlist: &str) -> Stmt {
    Stmt::new(
        "select count(*) as n from setlist_items where setlist_id = ?1",
        args![setlist],
    )
}

/// Item ids and positions in order ([`ItemPos`]), read after the version a write claims.
pub fn item_positions(setlist: &str) -> Stmt {
    Stmt::new(
        "select id, position from setlist_items where setlist_id = ?1 order by position, id",
        args![setlist],
    )
}

/// Guard of every statement after [`claim`]: the claim of `?1` with token `?2` holds.
macro_rules! claimed {
    () => {
        "exists (select 1 from setlists where id = ?1 and write_token = ?2)"
    };
}

/// The metadata PATCH (absent keeps, `null` clears) under the claim with `token`.
pub fn update(setlist: &str, token: &str, f: &SetlistFields) -> Stmt {
    let pair =
        |v: &Option<Option<String>>| [SqlValue::from(v.is_some()), v.clone().flatten().into()];
    let mut args = args![setlist, token, f.name.is_some(), f.name.clone()];
    for p in [&f.description, &f.event_date, &f.venue, &f.notes] {
        args.extend(pair(p));
    }
    Stmt::new(
        concat!(
            "update setlists set \
               name = case when ?3 then ?4 else name end, \
               description = case when ?5 then ?6 else description end, \
               event_date = case when ?7 then ?8 else event_date end, \
               venue = case when ?9 then ?10 else venue end, \
               notes = case when ?11 then ?12 else notes end \
             where id = ?1 and ",
            claimed!()
        ),
        args,
    )
}

/// The score `?5` belongs to the owner of setlist `?1` (an editor adds the owner's scores only),
/// and so does bookmark `?9` of that score when one is named.
macro_rules! owners_score {
    () => {
        " and exists (select 1 from scores sc join setlists st on st.owner_id = sc.user_id where sc.id = ?5 and st.id = ?1 and sc.trashed_at is null) \
         and (?9 is null or exists (select 1 from bookmarks bk join setlists st on st.owner_id = bk.user_id \
           where bk.id = ?9 and bk.score_id = ?5 and st.id = ?1))"
    };
}

/// Where an added item goes: position `?3` clamped to the end, or the end when `?3` is null,
/// computed inside the batch so concurrent adds cannot leave a gap or a tie.
macro_rules! insert_at {
    () => {
        "min(coalesce(?3, 1000000000), (select count(*) from setlist_items where setlist_id = ?1) + 1)"
    };
}

/// An item to add under a claim.
pub struct NewItem<'a> {
    pub setlist: &'a str,
    pub token: &'a str,
    pub id: &'a str,
    /// The score, or the songbook of `bookmark_id`.
    pub score_id: &'a str,
    pub bookmark_id: Option<&'a str>,
    /// 1-based; clamped to the end; `None` appends.
    pub position: Option<i64>,
    pub notes: Option<&'a str>,
    pub added_by: &'a str,
    pub now: &'a str,
}

/// Makes room at the insert position, then inserts the item there; both only while the claim
/// holds and the score is the setlist owner's, so they apply together or not at all. Statement 1
/// changed nothing: the score is not (or no longer) the owner's.
pub fn add_item(i: &NewItem<'_>) -> [Stmt; 2] {
    [
        Stmt::new(
            concat!(
                "update setlist_items set position = position + 1 where setlist_id = ?1 and position >= ",
                insert_at!(),
                " and ",
                claimed!(),
                owners_score!()
            ),
            args![
                i.setlist,
                i.token,
                i.position,
                SqlValue::Null,
                i.score_id,
                SqlValue::Null,
                SqlValue::Null,
                SqlValue::Null,
                i.bookmark_id
            ],
        ),
        Stmt::new(
            concat!(
                "insert into setlist_items (id, setlist_id, score_id, bookmark_id, position, notes, added_by, created_at, updated_at) \
                 select ?4, ?1, ?5, ?9, ",
                insert_at!(),
                ", ?6, ?7, ?8, ?8 where ",
                claimed!(),
                owners_score!()
            ),
            args![
                i.setlist,
                i.token,
                i.position,
                i.id,
                i.score_id,
                i.notes,
                i.added_by,
                i.now,
                i.bookmark_id
            ],
        ),
    ]
}

/// Removes item `item` (at `position`) and closes the gap, under the claim with `token`.
pub fn remove_item(setlist: &str, token: &str, item: &str, position: i64) -> [Stmt; 2] {
    [
        Stmt::new(
            concat!(
                "delete from setlist_items where setlist_id = ?1 and id = ?3 and ",
                claimed!()
            ),
            args![setlist, token, item],
        ),
        Stmt::new(
            concat!(
                "update setlist_items set position = position - 1 where setlist_id = ?1 and position > ?3 and ",
                claimed!()
            ),
            args![setlist, token, position],
        ),
    ]
}

/// An item to move and/or re-annotate under a claim.
pub struct ItemMove<'a> {
    pub setlist: &'a str,
    pub token: &'a str,
    pub item: &'a str,
    pub from: i64,
    pub to: i64,
    /// `Some`: set the notes (`Some(None)` clears).
    pub notes: Option<Option<&'a str>>,
    pub now: &'a str,
}

/// Moves the item from `from` to `to` (the items between shift by one) and sets its notes when
/// given; positions stay dense.
pub fn move_item(m: &ItemMove<'_>) -> Stmt {
    Stmt::new(
        concat!(
            "update setlist_items set position = case \
               when id = ?3 then ?5 \
               when ?5 < ?4 and position >= ?5 and position < ?4 then position + 1 \
               when ?5 > ?4 and position <= ?5 and position > ?4 then position - 1 \
               else position end, \
             notes = case when id = ?3 and ?6 then ?7 else notes end, \
             updated_at = case when id = ?3 then ?8 else updated_at end \
             where setlist_id = ?1 and ",
            claimed!()
        ),
        args![
            m.setlist,
            m.token,
            m.item,
            m.from,
            m.to,
            m.notes.is_some(),
            m.notes.flatten(),
            m.now
        ],
    )
}

/// Replaces the whole order: `order` names every item id once (checked against the items read
/// after the claimed version), position n+1 for the n-th.
pub fn reorder(setlist: &str, token: &str, order: &[String]) -> Stmt {
    let order = serde_json::to_string(order).unwrap_or_else(|_| "[]".into());
    Stmt::new(
        concat!(
            "update setlist_items set position = o.key + 1 from json_each(?3) o \
             where setlist_items.setlist_id = ?1 and setlist_items.id = o.value and ",
            claimed!()
        ),
        args![setlist, token, order],
    )
}

/// Bookmark `bookmark` of the owner of setlist `setlist`: its songbook (`score_id`), or no row.
pub fn owners_bookmark(setlist: &str, bookmark: &str) -> Stmt {
    Stmt::new(
        "select bk.score_id from bookmarks bk join setlists st on st.owner_id = bk.user_id \
         where st.id = ?1 and bk.id = ?2",
        args![setlist, bookmark],
    )
}

/// Whether score `score` belongs to the owner of setlist `setlist` (a row, or none).
pub fn owners_score(setlist: &str, score: &str) -> Stmt {
    Stmt::new(
        "select sc.id from scores sc join setlists st on st.owner_id = sc.user_id \
         where st.id = ?1 and sc.id = ?2 and sc.trashed_at is null",
        args![setlist, score],
    )
}

// ---- item files ----

/// Columns of an item's (`i`) file (`sc`) in setlist `s` of enabled owner `o`.
macro_rules! item_file_columns {
    () => {
        "select sc.id as score_id, sc.object_key, sc.pages, sc.size_bytes, \
           sc.pdf_info_state, sc.pdf_info_reason, "
    };
}

macro_rules! item_file_from {
    () => {
        ", i.bookmark_id, bk.first_page, bk.last_page \
         from setlist_items i join scores sc on sc.id = i.score_id and sc.trashed_at is null \
         left join bookmarks bk on bk.id = i.bookmark_id \
         join setlists s on s.id = i.setlist_id join users o on o.id = s.owner_id and o.disabled_at is null "
    };
}

/// Item `item` of setlist `setlist` with its score's file and `user`'s role ([`ItemFileRow`]):
/// one round trip reads the file and who may have it; nothing for an outsider.
pub fn item_file(setlist: &str, item: &str, user: &str) -> Stmt {
    Stmt::new(
        concat!(
            item_file_columns!(),
            "case when s.owner_id = ?3 then 'owner' else m.role end as role",
            item_file_from!(),
            "left join setlist_members m on m.setlist_id = s.id and m.user_id = ?3 \
             where i.setlist_id = ?1 and i.id = ?2 and (s.owner_id = ?3 or m.user_id is not null)"
        ),
        args![setlist, item, user],
    )
}

/// Item `item` through link `link` live at `now`, with its score's file (role `link`).
pub fn item_file_by_link(link: &str, item: &str, now: &str) -> Stmt {
    Stmt::new(
        concat!(
            item_file_columns!(),
            "'link' as role",
            item_file_from!(),
            "join setlist_links l on l.setlist_id = s.id \
             where l.id = ?1 and i.id = ?2 and l.revoked_at is null and (l.expires_at is null or l.expires_at > ?3)"
        ),
        args![link, item, now],
    )
}

/// The part to serve for item `item` of setlist `setlist` to `user` ([`ItemPartRow`]): part
/// `part_id` of the item's score, or (`None`) the one matching the member's assigned part in any
/// case; with the reader's role (no row for an outsider) and the score's owner, who owns the part.
pub fn item_part(setlist: &str, item: &str, user: &str, part_id: Option<&str>) -> Stmt {
    Stmt::new(
        "select case when st.owner_id = ?3 then 'owner' else m.role end as role, \
           i.score_id, st.owner_id, p.id as part_id \
         from setlist_items i join setlists st on st.id = i.setlist_id \
         join users o on o.id = st.owner_id and o.disabled_at is null \
         left join setlist_members m on m.setlist_id = st.id and m.user_id = ?3 \
         left join score_parts p on p.score_id = i.score_id \
           and case when ?4 is null then i.bookmark_id is null and p.name = m.part collate nocase \
             else p.id = ?4 end \
         where i.setlist_id = ?1 and i.id = ?2 and (st.owner_id = ?3 or m.user_id is not null)",
        args![setlist, item, user, part_id],
    )
}

/// An item's part for a reader ([`item_part`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ItemPartRow {
    pub role: String,
    pub score_id: String,
    pub owner_id: String,
    pub part_id: Option<String>,
}

// ---- members ----

/// Adds or changes a member by email ([`UserIdRow`]). Only the owner `owner` manages members;
/// no row for an unknown or disabled email or the owner's own address.
pub fn upsert_member(setlist: &str, owner: &str, email: &str, role: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into setlist_members (setlist_id, user_id, role, created_at) \
         select s.id, u.id, ?4, ?5 from setlists s join users u on u.email = ?3 \
         where s.id = ?1 and s.owner_id = ?2 and u.id <> s.owner_id and u.disabled_at is null \
         on conflict (setlist_id, user_id) do update set role = excluded.role \
         returning user_id",
        args![setlist, owner, email, role, now],
    )
}

/// Changes member `member`'s role (when `role`) and part (when `part` is `Some`; `Some(None)`
/// clears). The policy was asked before. Changed nothing: no such member.
pub fn patch_member(
    setlist: &str,
    member: &str,
    role: Option<&str>,
    part: Option<Option<&str>>,
) -> Stmt {
    Stmt::new(
        "update setlist_members set role = coalesce(?3, role), \
           part = case when ?4 then ?5 else part end \
         where setlist_id = ?1 and user_id = ?2",
        args![setlist, member, role, part.is_some(), part.flatten()],
    )
}

/// Removes member `member`: by the owner `by`, or by the member themself (`by` = `member`).
/// Changed nothing: no such member (or `by` may not remove them).
pub fn delete_member(setlist: &str, by: &str, member: &str) -> Stmt {
    Stmt::new(
        "delete from setlist_members where setlist_id = ?1 and user_id = ?3 \
         and (?2 = ?3 or exists (select 1 from setlists where id = ?1 and owner_id = ?2))",
        args![setlist, by, member],
    )
}

// ---- public links ----

/// Records link `link` of the owner's setlist (expiring at `expires_at`, or never). Changed
/// nothing: not the owner's setlist.
pub fn insert_link(
    link: &str,
    setlist: &str,
    owner: &str,
    expires_at: Option<&str>,
    now: &str,
) -> Stmt {
    Stmt::new(
        "insert into setlist_links (id, setlist_id, expires_at, created_at) \
         select ?1, id, ?4, ?5 from setlists where id = ?2 and owner_id = ?3",
        args![link, setlist, owner, expires_at, now],
    )
}

/// Links of the owner's setlist ([`LinkRow`]), newest first.
pub fn links(setlist: &str, owner: &str) -> Stmt {
    Stmt::new(
        "select l.id, l.expires_at, l.revoked_at, l.created_at from setlist_links l \
         join setlists s on s.id = l.setlist_id where l.setlist_id = ?1 and s.owner_id = ?2 \
         order by l.created_at desc, l.id desc",
        args![setlist, owner],
    )
}

/// Revokes link `link` of the owner's setlist at `now` (a second revocation keeps the first
/// time). Changed nothing: no such link of that setlist.
pub fn revoke_link(setlist: &str, owner: &str, link: &str, now: &str) -> Stmt {
    Stmt::new(
        "update setlist_links set revoked_at = coalesce(revoked_at, ?4) \
         where id = ?3 and setlist_id = ?1 and exists (select 1 from setlists where id = ?1 and owner_id = ?2)",
        args![setlist, owner, link, now],
    )
}

// ---- comments ----

/// A comment on an item.
pub struct NewComment<'a> {
    pub id: &'a str,
    pub setlist: &'a str,
    pub item: &'a str,
    pub author: &'a str,
    pub body: &'a str,
    pub now: &'a str,
}

/// Changed nothing: no such item in that setlist.
pub fn insert_comment(c: &NewComment<'_>) -> Stmt {
    Stmt::new(
        "insert into item_comments (id, setlist_id, item_id, author_id, body, created_at) \
         select ?1, ?2, ?3, ?4, ?5, ?6 where exists (select 1 from setlist_items where id = ?3 and setlist_id = ?2)",
        args![c.id, c.setlist, c.item, c.author, c.body, c.now],
    )
}

/// The newest 200 comments of item `item` in setlist `setlist` (`json`), newest first.
pub fn comments(setlist: &str, item: &str) -> Stmt {
    Stmt::new(
        "select json_object('id', c.id, 'author', json_object('id', u.id, 'display_name', u.display_name), \
           'body', c.body, 'created_at', c.created_at) as json \
         from item_comments c join users u on u.id = c.author_id \
         where c.setlist_id = ?1 and c.item_id = ?2 order by c.created_at desc, c.id desc limit 200",
        args![setlist, item],
    )
}

/// Who wrote comment `comment` of item `item` in setlist `setlist` ([`AuthorRow`]).
pub fn comment_author(setlist: &str, item: &str, comment: &str) -> Stmt {
    Stmt::new(
        "select author_id from item_comments where setlist_id = ?1 and item_id = ?2 and id = ?3",
        args![setlist, item, comment],
    )
}

/// Deletes comment `comment` of item `item` in setlist `setlist`: if `by` wrote it, or anyone's
/// when `any` (the policy lets `by` delete others' comments). Changed nothing: no such comment,
/// or not one `by` may delete.
pub fn delete_comment(setlist: &str, item: &str, comment: &str, by: &str, any: bool) -> Stmt {
    Stmt::new(
        "delete from item_comments where setlist_id = ?1 and item_id = ?2 and id = ?3 \
         and (author_id = ?4 or ?5)",
        args![setlist, item, comment, by, any],
    )
}
