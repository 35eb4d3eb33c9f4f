//! Statements of what a musician does with their own scores: favorites, open history, metadata
//! versions (written by the `scores_record_version` trigger) and statistics (SPEC §3, §6), and
//! the rows they return. Every statement names the caller: another user's score is nothing here.

use serde::Deserialize;

use crate::args;
use crate::store::library::SCORE_JSON;
use crate::store::rows::ScoreRow;
use crate::store::Stmt;

// ---- rows ----

/// A score of a favorites or history page, with when it was favorited or opened (`at`) and,
/// for the history, the open's `seq`.
#[derive(Debug, Clone, Deserialize)]
pub struct TimedRow {
    #[serde(flatten)]
    pub score: ScoreRow,
    pub at: String,
    #[serde(default)]
    pub seq: Option<i64>,
}

/// A stored version of a score's metadata (`before`/`after` as JSON text).
#[derive(Debug, Clone, Deserialize)]
pub struct VersionRow {
    pub version: i64,
    pub user_id: String,
    pub before: String,
    pub after: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JsonRow {
    pub json: String,
}

// ---- favorites and history ----

/// Whether `score` is `user`'s (a row, or none): tells 404 from an idempotent no-op.
pub fn owns_score(user: &str, score: &str) -> Stmt {
    Stmt::new(
        "select id from scores where id = ?2 and user_id = ?1 and trashed_at is null",
        args![user, score],
    )
}

/// Marks a favorite of the caller's own score (idempotent: a second one changes nothing).
pub fn favorite(user: &str, score: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into favorites (user_id, score_id, created_at) \
         select ?1, id, ?3 from scores where id = ?2 and user_id = ?1 and trashed_at is null \
         on conflict (user_id, score_id) do nothing",
        args![user, score, now],
    )
}

/// Unmarks a favorite (idempotent).
pub fn unfavorite(user: &str, score: &str) -> Stmt {
    Stmt::new(
        "delete from favorites where user_id = ?1 and score_id = ?2",
        args![user, score],
    )
}

/// A page of favorites ([`TimedRow`]), newest first, after the keyset `(created_at, score id)`
/// of the previous page's last row, `fetch` rows.
pub fn favorites(user: &str, after: Option<(&str, &str)>, fetch: i64) -> Stmt {
    let (at, id) = after.unzip();
    Stmt::new(
        format!(
            "select s.id, s.object_key, s.thumbnail_key, {SCORE_JSON} as json, f.created_at as at \
             from favorites f join scores s on s.id = f.score_id \
             where f.user_id = ?1 and s.trashed_at is null and (?2 is null or (f.created_at, f.score_id) < (?2, ?3)) \
             order by f.created_at desc, f.score_id desc limit ?4"
        ),
        args![user, at, id, fetch],
    )
}

/// Records an open of the caller's own score. Changed nothing: not theirs.
pub fn record_open(user: &str, score: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into score_opens (user_id, score_id, opened_at) \
         select ?1, id, ?3 from scores where id = ?2 and user_id = ?1 and trashed_at is null",
        args![user, score, now],
    )
}

/// Keeps the history bounded: the caller's opens beyond the newest `keep` are dropped.
pub fn trim_opens(user: &str, keep: i64) -> Stmt {
    Stmt::new(
        "delete from score_opens where user_id = ?1 and seq <= \
         (select seq from score_opens where user_id = ?1 order by seq desc limit 1 offset ?2)",
        args![user, keep],
    )
}

/// A page of opens ([`TimedRow`] with `seq`), newest first, before open `before` (the previous
/// page's last), `fetch` rows.
pub fn history(user: &str, before: Option<i64>, fetch: i64) -> Stmt {
    Stmt::new(
        format!(
            "select s.id, s.object_key, s.thumbnail_key, {SCORE_JSON} as json, o.opened_at as at, o.seq \
             from score_opens o join scores s on s.id = o.score_id \
             where o.user_id = ?1 and s.trashed_at is null and (?2 is null or o.seq < ?2) \
             order by o.seq desc limit ?3"
        ),
        args![user, before, fetch],
    )
}

// ---- versions ----

/// A page of the versions ([`VersionRow`]) of `owner`'s score, oldest first, after version
/// `after` (0 for the first page), `fetch` rows.
pub fn versions(score: &str, owner: &str, after: i64, fetch: i64) -> Stmt {
    Stmt::new(
        "select v.version, v.user_id, v.before, v.after, v.created_at \
         from score_versions v join scores s on s.id = v.score_id \
         where v.score_id = ?1 and s.user_id = ?2 and s.trashed_at is null and v.version > ?3 order by v.version limit ?4",
        args![score, owner, after, fetch],
    )
}

/// The versions a comparison needs ([`VersionRow`]): `from` and `to` of `owner`'s score, and
/// version 1 (whose `before` is version 0).
pub fn versions_at(score: &str, owner: &str, from: i64, to: i64) -> Stmt {
    Stmt::new(
        "select v.version, v.user_id, v.before, v.after, v.created_at \
         from score_versions v join scores s on s.id = v.score_id \
         where v.score_id = ?1 and s.user_id = ?2 and s.trashed_at is null and v.version in (?3, ?4, 1) order by v.version",
        args![score, owner, from, to],
    )
}

/// Keeps the newest `keep` versions of a score (run in the batch of every PATCH, right after the
/// update whose trigger records a version).
pub fn prune_versions(score_id: &str, keep: i64) -> Stmt {
    Stmt::new(
        "delete from score_versions where score_id = ?1 \
         and version <= (select max(version) from score_versions where score_id = ?1) - ?2",
        args![score_id, keep],
    )
}

// ---- statistics ----

/// How many setlists `user` is a member of (in one database: `domain::shard`).
pub fn memberships_of(user: &str) -> Stmt {
    Stmt::new(
        "select count(*) as n from setlist_members where user_id = ?1",
        args![user],
    )
}

/// `GET /v1/me/stats` in one statement ([`JsonRow`]): the caller's counts, and their most
/// opened scores since `since`.
pub fn stats(user: &str, since: &str) -> Stmt {
    Stmt::new(
        "select json_object(\
           'scores', (select count(*) from scores where user_id = ?1 and trashed_at is null), \
           'pages', (select coalesce(sum(pages), 0) from scores where user_id = ?1 and trashed_at is null), \
           'bytes', (select coalesce(sum(size_bytes), 0) from scores where user_id = ?1 and trashed_at is null), \
           'trashed', (select count(*) from scores where user_id = ?1 and trashed_at is not null), \
           'setlists', (select count(*) from setlists where owner_id = ?1), \
           'setlists_shared_by_me', (select count(*) from setlists s where s.owner_id = ?1 and \
              (exists (select 1 from setlist_members m where m.setlist_id = s.id) or \
               exists (select 1 from setlist_links l where l.setlist_id = s.id and l.revoked_at is null))), \
           'setlists_shared_with_me', (select count(*) from setlist_members where user_id = ?1), \
           'favorites', (select count(*) from favorites f join scores s on s.id = f.score_id \
              where f.user_id = ?1 and s.trashed_at is null), \
           'top_opened', (select coalesce(json_group_array(json(t.j)), json('[]')) from (\
              select json_object('score_id', s.id, 'title', s.title, 'composer', s.composer, 'opens', count(*)) as j \
              from score_opens o join scores s on s.id = o.score_id \
              where o.user_id = ?1 and o.opened_at >= ?2 and s.trashed_at is null \
              group by s.id order by count(*) desc, max(o.seq) desc limit 10) t)\
         ) as json",
        args![user, since],
    )
}
