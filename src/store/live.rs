//! Statements of the live rooms (SPEC §9): who a ticket's bearer is to the setlist now (asked at
//! connect and again before `lead` and `goto`, so a demoted or removed member cannot lead), whether
//! an item belongs to the setlist, and the setlist's version.

use serde::Deserialize;

use crate::args;

use super::Stmt;

/// A user's standing on a setlist ([`Standing`]): no row for an outsider, nor for anyone once the
/// owner's account is disabled; none either when the user's own account is disabled.
pub fn user_standing(setlist: &str, user: &str) -> Stmt {
    Stmt::new(
        "select s.version, case when s.owner_id = ?2 then 'owner' else m.role end as role, \
           u.display_name, null as until, s.live_at is not null as live \
         from setlists s join users o on o.id = s.owner_id and o.disabled_at is null \
         join users u on u.id = ?2 and u.disabled_at is null \
         left join setlist_members m on m.setlist_id = s.id and m.user_id = ?2 \
         where s.id = ?1 and (s.owner_id = ?2 or m.user_id is not null)",
        args![setlist, user],
    )
}

/// A guest's standing through link `link` ([`Standing`]): only while the link is live (not
/// revoked, not expired at `now`) and names `setlist`.
pub fn link_standing(setlist: &str, link: &str, now: &str) -> Stmt {
    Stmt::new(
        "select s.version, 'link' as role, 'Guest' as display_name, l.expires_at as until, \
           s.live_at is not null as live \
         from setlist_links l join setlists s on s.id = l.setlist_id \
         join users o on o.id = s.owner_id and o.disabled_at is null \
         where l.id = ?2 and s.id = ?1 and l.revoked_at is null \
           and (l.expires_at is null or l.expires_at > ?3)",
        args![setlist, link, now],
    )
}

/// The live setlist a link opens (`setlist`), if the link is live at `now`.
pub fn link_setlist(link: &str, now: &str) -> Stmt {
    Stmt::new(
        "select l.setlist_id as setlist, s.live_at is not null as live \
         from setlist_links l join setlists s on s.id = l.setlist_id \
         join users o on o.id = s.owner_id and o.disabled_at is null \
         where l.id = ?1 and l.revoked_at is null and (l.expires_at is null or l.expires_at > ?2)",
        args![link, now],
    )
}

/// Marks the setlist as used live (its first ticket), so REST writes start telling its room.
pub fn mark_live(setlist: &str, now: &str) -> Stmt {
    Stmt::new(
        "update setlists set live_at = ?2 where id = ?1 and live_at is null",
        args![setlist, now],
    )
}

/// `live` = 1 when the setlist's room was ever opened (no row when it was not, or is gone).
pub fn is_live(setlist: &str) -> Stmt {
    Stmt::new(
        "select 1 as live from setlists where id = ?1 and live_at is not null",
        args![setlist],
    )
}

/// The rooms a user is in the band of (`setlist`, `owned` = 1 for their own setlists), among
/// those ever opened: disabling the user closes their place in each.
pub fn live_rooms_of(user: &str) -> Stmt {
    Stmt::new(
        "select id as setlist, 1 as owned from setlists where owner_id = ?1 and live_at is not null \
         union all \
         select m.setlist_id, 0 from setlist_members m join setlists s on s.id = m.setlist_id \
         where m.user_id = ?1 and s.live_at is not null",
        args![user],
    )
}

/// Item `item` of setlist `setlist` (`id`), if it is one a room may stand on: its score is
/// not in the trash.
pub fn item(setlist: &str, item: &str) -> Stmt {
    Stmt::new(
        "select i.id from setlist_items i join scores s on s.id = i.score_id and s.trashed_at is null \
         where i.setlist_id = ?1 and i.id = ?2",
        args![setlist, item],
    )
}

/// The setlist's version (`version`).
pub fn version(setlist: &str) -> Stmt {
    Stmt::new("select version from setlists where id = ?1", args![setlist])
}

/// The setlists holding score `score` of owner `owner` (`setlist`): their rooms hear of it
/// when the score is deleted (a D1 trigger takes it out of each).
pub fn setlists_with_score(owner: &str, score: &str) -> Stmt {
    Stmt::new(
        "select distinct i.setlist_id as setlist from setlist_items i \
         join setlists s on s.id = i.setlist_id and s.owner_id = ?1 where i.score_id = ?2",
        args![owner, score],
    )
}

/// The setlists of owner `owner` holding any of their trashed scores (`setlist`): their rooms
/// hear of it when the trash is emptied.
pub fn setlists_with_trash(owner: &str) -> Stmt {
    Stmt::new(
        "select distinct i.setlist_id as setlist from setlist_items i \
         join scores sc on sc.id = i.score_id and sc.trashed_at is not null \
         join setlists s on s.id = i.setlist_id and s.owner_id = ?1 where sc.user_id = ?1",
        args![owner],
    )
}

/// The setlists holding bookmark `bookmark` of owner `owner` (`setlist`): their rooms hear of it
/// when the bookmark is deleted (a D1 trigger takes it out of each).
pub fn setlists_with_bookmark(owner: &str, bookmark: &str) -> Stmt {
    Stmt::new(
        "select distinct i.setlist_id as setlist from setlist_items i \
         join setlists s on s.id = i.setlist_id and s.owner_id = ?1 where i.bookmark_id = ?2",
        args![owner, bookmark],
    )
}

/// What [`user_standing`] and [`link_standing`] return.
#[derive(Debug, Clone, Deserialize)]
pub struct Standing {
    pub version: i64,
    pub role: String,
    pub display_name: String,
    /// When a link's standing ends by itself (its expiry).
    pub until: Option<String>,
    /// 1 once the setlist's room was opened ([`mark_live`]).
    pub live: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinkSetlist {
    pub setlist: String,
    /// 1 once the setlist's room was opened ([`mark_live`]); absent where not asked.
    #[serde(default)]
    pub live: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Live {
    pub live: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LiveRoom {
    pub setlist: String,
    pub owned: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Version {
    pub version: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Id {
    pub id: String,
}
