//! SQL for setlists, their items, members, public links and item comments (SPEC §5).
//!
//! Access is decided in SQL: every read names the caller and returns nothing to an outsider, so
//! "not found" and "not yours" are the same answer. Writes open with a compare-and-swap on the
//! setlist's `version` that also stamps a `write_token`; the other statements of the batch apply
//! only while that token holds, so a request that lost a race changes nothing.

use crate::store::library::PROCESSING_JSON;

/// The caller's role on a setlist (`owner`, `editor`, `viewer`), with its version; no row for an
/// outsider, nor for anyone once the owner's account is disabled (a disabled account shares
/// nothing). `?1` setlist id, `?2` user id.
pub const ACCESS: &str = "select s.id, s.owner_id, s.version, \
       case when s.owner_id = ?2 then 'owner' else m.role end as role \
     from setlists s join users o on o.id = s.owner_id and o.disabled_at is null \
     left join setlist_members m on m.setlist_id = s.id and m.user_id = ?2 \
     where s.id = ?1 and (s.owner_id = ?2 or m.user_id is not null)";

/// A setlist's own fields as the API shows them.
pub const SETLIST_JSON: &str =
    "json_object('id', s.id, 'name', s.name, 'description', s.description, \
     'event_date', s.event_date, 'venue', s.venue, 'notes', s.notes, 'version', s.version, \
     'owner', json_object('id', o.id, 'display_name', o.display_name), \
     'item_count', (select count(*) from setlist_items i where i.setlist_id = s.id), \
     'created_at', s.created_at, 'updated_at', s.updated_at)";

/// `?1` id, `?2` owner, `?3` name, `?4` description, `?5` event date, `?6` venue, `?7` notes,
/// `?8` now.
pub const INSERT: &str = "insert into setlists (id, owner_id, name, description, event_date, venue, notes, created_at, updated_at) \
     values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)";

/// The setlist head for a caller with access: `?1` setlist, `?2` user.
pub fn head() -> String {
    format!(
        "select {SETLIST_JSON} as json, case when s.owner_id = ?2 then 'owner' else m.role end as role \
         from setlists s join users o on o.id = s.owner_id and o.disabled_at is null \
         left join setlist_members m on m.setlist_id = s.id and m.user_id = ?2 \
         where s.id = ?1 and (s.owner_id = ?2 or m.user_id is not null)"
    )
}

/// The setlist head through a live public link: `?1` link id, `?2` now.
pub fn head_by_link() -> String {
    format!(
        "select {SETLIST_JSON} as json, 'link' as role \
         from setlist_links l join setlists s on s.id = l.setlist_id \
         join users o on o.id = s.owner_id and o.disabled_at is null \
         where l.id = ?1 and l.revoked_at is null and (l.expires_at is null or l.expires_at > ?2)"
    )
}

/// Which setlist `?1` names: its id, or (through a public link) a link's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setlist {
    Id,
    Link,
}

impl Setlist {
    fn expr(self) -> &'static str {
        match self {
            Self::Id => "?1",
            Self::Link => "(select setlist_id from setlist_links where id = ?1)",
        }
    }
}

/// Items in order with what a player needs of each score (one statement). `?1` names the
/// setlist (see [`Setlist`]); the caller's access is checked by the head statement of the same
/// batch.
pub fn items(of: Setlist) -> String {
    let setlist = of.expr();
    format!(
        "select i.id, s.thumbnail_key, json_object('id', i.id, 'position', i.position, \
           'score_id', i.score_id, 'notes', i.notes, 'title', s.title, 'composer', s.composer, \
           'key', s.key, 'pages', s.pages, 'duration', s.duration, \
           'processing', {PROCESSING_JSON}, \
           'comment_count', (select count(*) from item_comments c where c.item_id = i.id), \
           'added_by', i.added_by, 'created_at', i.created_at, 'updated_at', i.updated_at) as json \
         from setlist_items i join scores s on s.id = i.score_id \
         where i.setlist_id = {setlist} order by i.position, i.id"
    )
}

/// Members with their names: `?1` setlist id, `?2` caller. Emails are shown to the owner only
/// (who invited them by email); members see each other's display names.
pub const MEMBERS: &str =
    "select case when exists (select 1 from setlists where id = ?1 and owner_id = ?2) \
         then json_object('user_id', u.id, 'email', u.email, 'display_name', u.display_name, \
           'role', m.role, 'added_at', m.created_at) \
         else json_object('user_id', u.id, 'display_name', u.display_name, \
           'role', m.role, 'added_at', m.created_at) end as json \
     from setlist_members m join users u on u.id = m.user_id \
     where m.setlist_id = ?1 order by m.created_at, u.id";

/// The latest history entries: `?1` names the setlist (see [`Setlist`]).
pub fn events(of: Setlist) -> String {
    format!(
        "select json_object('kind', kind, 'detail', json(detail), 'at', created_at) as json \
         from setlist_events where setlist_id = {} order by seq desc limit 20",
        of.expr()
    )
}

/// The caller's setlists, or those shared with them (`?2` = 1), newest first after the keyset
/// `(?3 updated_at, ?4 id)` (`?3` null for the first page), `?5` rows. `?1` user.
pub fn list() -> String {
    format!(
        "select s.id, s.updated_at, {SETLIST_JSON} as json, \
           case when s.owner_id = ?1 then 'owner' else m.role end as role \
         from setlists s join users o on o.id = s.owner_id and o.disabled_at is null \
         left join setlist_members m on m.setlist_id = s.id and m.user_id = ?1 \
         where (case when ?2 then m.user_id is not null else s.owner_id = ?1 end) \
           and (?3 is null or (s.updated_at, s.id) < (?3, ?4)) \
         order by s.updated_at desc, s.id desc limit ?5"
    )
}

/// Opens a write: `?1` setlist, `?2` expected version, `?3` write token, `?4` now, `?5` the most
/// items the setlist may hold before this write (null: no limit; an add passes the limit minus
/// one, so the limit holds inside the batch however many adds race).
pub const CLAIM: &str =
    "update setlists set version = version + 1, write_token = ?3, updated_at = ?4 \
     where id = ?1 and version = ?2 \
       and (?5 is null or (select count(*) from setlist_items where setlist_id = ?1) <= ?5)";

/// Opens a write that does not depend on what the client read (an add without a version: its
/// position is computed inside the batch). `?2` must be null; `?5` as in [`CLAIM`].
pub const CLAIM_ANY: &str =
    "update setlists set version = version + 1, write_token = ?3, updated_at = ?4 \
     where id = ?1 and ?2 is null \
       and (?5 is null or (select count(*) from setlist_items where setlist_id = ?1) <= ?5)";

/// How many items setlist `?1` holds.
pub const ITEM_COUNT: &str = "select count(*) as n from setlist_items where setlist_id = ?1";

/// Metadata PATCH (absent keeps, null clears), within a claimed write: `?1` setlist, `?2` token,
/// then (flag, value) pairs from `?3`: name, description, event date, venue, notes.
pub const UPDATE: &str = "update setlists set \
     name = case when ?3 then ?4 else name end, \
     description = case when ?5 then ?6 else description end, \
     event_date = case when ?7 then ?8 else event_date end, \
     venue = case when ?9 then ?10 else venue end, \
     notes = case when ?11 then ?12 else notes end \
     where id = ?1 and write_token = ?2";

/// Only the owner deletes: `?1` setlist, `?2` owner.
pub const DELETE: &str = "delete from setlists where id = ?1 and owner_id = ?2";

/// Guard used by every statement after [`CLAIM`]: the claim of `?1` with token `?2` holds.
macro_rules! claimed {
    () => {
        "exists (select 1 from setlists where id = ?1 and write_token = ?2)"
    };
}

/// The score `?5` belongs to the owner of setlist `?1` (an editor adds the owner's scores only).
macro_rules! owners_score {
    () => {
        " and exists (select 1 from scores sc join setlists st on st.owner_id = sc.user_id where sc.id = ?5 and st.id = ?1)"
    };
}

/// Where an added item goes: position `?3` clamped to the end, or the end when `?3` is null,
/// computed inside the batch so concurrent adds cannot leave a gap or a tie.
macro_rules! insert_at {
    () => {
        "min(coalesce(?3, 1000000000), (select count(*) from setlist_items where setlist_id = ?1) + 1)"
    };
}

/// Makes room at the insert position for score `?5`: `?1` setlist, `?2` token. Same guards as
/// [`INSERT_ITEM`], so the two apply together or not at all.
pub const SHIFT_DOWN_FROM: &str = concat!(
    "update setlist_items set position = position + 1 where setlist_id = ?1 and position >= ",
    insert_at!(),
    " and ",
    claimed!(),
    owners_score!()
);

/// Adds an item at `?3` (null: the end): `?1` setlist, `?2` token, `?4` item id, `?5` score id,
/// `?6` notes, `?7` added by, `?8` now. The score must be the setlist owner's.
pub const INSERT_ITEM: &str = concat!(
    "insert into setlist_items (id, setlist_id, score_id, position, notes, added_by, created_at, updated_at) \
     select ?4, ?1, ?5, ",
    insert_at!(),
    ", ?6, ?7, ?8, ?8 where ",
    claimed!(),
    owners_score!()
);

/// Removes item `?3` and closes the gap: `?1` setlist, `?2` token.
pub const DELETE_ITEM: &str = concat!(
    "delete from setlist_items where setlist_id = ?1 and id = ?3 and ",
    claimed!()
);
pub const CLOSE_GAP: &str = concat!(
    "update setlist_items set position = position - 1 where setlist_id = ?1 and position > ?3 and ",
    claimed!()
);

/// Moves item `?3` from position `?4` to `?5` (the items between shift by one), then sets its
/// notes when `?6` with `?7`: `?1` setlist, `?2` token, `?8` now.
pub const MOVE_ITEM: &str = concat!(
    "update setlist_items set position = case \
       when id = ?3 then ?5 \
       when ?5 < ?4 and position >= ?5 and position < ?4 then position + 1 \
       when ?5 > ?4 and position <= ?5 and position > ?4 then position - 1 \
       else position end, \
     notes = case when id = ?3 and ?6 then ?7 else notes end, \
     updated_at = case when id = ?3 then ?8 else updated_at end \
     where setlist_id = ?1 and ",
    claimed!()
);

/// Replaces the whole order: `?3` JSON array of every item id in the new order.
pub const REORDER: &str = concat!(
    "update setlist_items set position = o.key + 1 from json_each(?3) o \
     where setlist_items.setlist_id = ?1 and setlist_items.id = o.value and ",
    claimed!()
);

/// Item ids in order, for validating a reorder: `?1` setlist.
pub const ITEM_IDS: &str =
    "select id, position from setlist_items where setlist_id = ?1 order by position, id";

/// Whether score `?2` belongs to the owner of setlist `?1`.
pub const OWNERS_SCORE: &str =
    "select sc.id from scores sc join setlists st on st.owner_id = sc.user_id \
     where st.id = ?1 and sc.id = ?2";

/// Columns of an item's file, for its download URL.
macro_rules! item_file_columns {
    () => {
        "select i.id, sc.id as score_id, sc.object_key, sc.thumbnail_key, sc.pages, sc.size_bytes, \
           sc.pdf_info_state, sc.pdf_info_reason \
         from setlist_items i join scores sc on sc.id = i.score_id \
         join setlists s on s.id = i.setlist_id join users o on o.id = s.owner_id and o.disabled_at is null "
    };
}

/// Item `?2` of setlist `?1` with its score's file, for the owner or a member `?3` (one round
/// trip checks access and reads the file); nothing for anyone else.
pub const ITEM_FILE: &str = concat!(
    item_file_columns!(),
    "where i.setlist_id = ?1 and i.id = ?2 and (s.owner_id = ?3 or exists \
       (select 1 from setlist_members m where m.setlist_id = s.id and m.user_id = ?3))"
);

/// Item `?2` through live link `?1` at `?3` (now), with its score's file.
pub const ITEM_FILE_BY_LINK: &str = concat!(
    item_file_columns!(),
    "join setlist_links l on l.setlist_id = s.id \
     where l.id = ?1 and i.id = ?2 and l.revoked_at is null and (l.expires_at is null or l.expires_at > ?3)"
);

// ---- members ----

/// Adds or changes a member: `?1` setlist, `?2` owner (only the owner manages members), `?3`
/// email, `?4` role, `?5` now. Returns the member's user id; nothing for an unknown email or the
/// owner's own address.
pub const UPSERT_MEMBER: &str =
    "insert into setlist_members (setlist_id, user_id, role, created_at) \
     select s.id, u.id, ?4, ?5 from setlists s join users u on u.email = ?3 \
     where s.id = ?1 and s.owner_id = ?2 and u.id <> s.owner_id and u.disabled_at is null \
     on conflict (setlist_id, user_id) do update set role = excluded.role \
     returning user_id";

/// Removes member `?3`: by the owner `?2`, or by the member themself (`?2` = `?3`).
pub const DELETE_MEMBER: &str =
    "delete from setlist_members where setlist_id = ?1 and user_id = ?3 \
     and (?2 = ?3 or exists (select 1 from setlists where id = ?1 and owner_id = ?2))";

// ---- public links ----

/// `?1` link id, `?2` setlist, `?3` owner, `?4` expiry or null, `?5` now.
pub const INSERT_LINK: &str = "insert into setlist_links (id, setlist_id, expires_at, created_at) \
     select ?1, id, ?4, ?5 from setlists where id = ?2 and owner_id = ?3";

/// Links of a setlist, for its owner: `?1` setlist, `?2` owner.
pub const LINKS: &str =
    "select l.id, l.expires_at, l.revoked_at, l.created_at from setlist_links l \
     join setlists s on s.id = l.setlist_id where l.setlist_id = ?1 and s.owner_id = ?2 \
     order by l.created_at desc, l.id desc";

/// Revokes link `?3` of setlist `?1` owned by `?2`, with time `?4` (idempotent).
pub const REVOKE_LINK: &str = "update setlist_links set revoked_at = coalesce(revoked_at, ?4) \
     where id = ?3 and setlist_id = ?1 and exists (select 1 from setlists where id = ?1 and owner_id = ?2)";

// ---- comments ----

/// `?1` comment id, `?2` setlist, `?3` item, `?4` author, `?5` body, `?6` now.
pub const INSERT_COMMENT: &str = "insert into item_comments (id, setlist_id, item_id, author_id, body, created_at) \
     select ?1, ?2, ?3, ?4, ?5, ?6 where exists (select 1 from setlist_items where id = ?3 and setlist_id = ?2)";

/// Comments of item `?2` in setlist `?1`, newest first.
pub const COMMENTS: &str = "select json_object('id', c.id, 'author', json_object('id', u.id, 'display_name', u.display_name), \
       'body', c.body, 'created_at', c.created_at) as json \
     from item_comments c join users u on u.id = c.author_id \
     where c.setlist_id = ?1 and c.item_id = ?2 order by c.created_at desc, c.id desc limit 200";

/// Deletes comment `?3` of item `?2` in setlist `?1`: by its author `?4`, or by the setlist's
/// owner (`?5` = 1).
pub const DELETE_COMMENT: &str =
    "delete from item_comments where setlist_id = ?1 and item_id = ?2 and id = ?3 \
     and (author_id = ?4 or ?5)";
