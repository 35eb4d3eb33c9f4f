//! SQL for what a musician does with their own scores: favorites, open history, metadata
//! versions (written by the `scores_record_version` trigger) and statistics (SPEC §3, §6).

use crate::args;
use crate::store::library::SCORE_JSON;
use crate::store::Stmt;

/// Marks a favorite (idempotent): `?1` user, `?2` score, `?3` now. Only the caller's own score.
pub const FAVORITE: &str = "insert into favorites (user_id, score_id, created_at) \
     select ?1, id, ?3 from scores where id = ?2 and user_id = ?1 \
     on conflict (user_id, score_id) do nothing";

/// `?1` user, `?2` score.
pub const UNFAVORITE: &str = "delete from favorites where user_id = ?1 and score_id = ?2";

/// Whether `?2` is the caller `?1`'s score (tells 404 from an idempotent no-op).
pub const OWNS_SCORE: &str = "select id from scores where id = ?2 and user_id = ?1";

/// Favorites newest first after the keyset (`?2` created_at, `?3` score id; `?2` null for the
/// first page), `?4` rows. `?1` user.
pub fn favorites() -> String {
    format!(
        "select s.id, s.object_key, s.thumbnail_key, {SCORE_JSON} as json, f.created_at as at \
         from favorites f join scores s on s.id = f.score_id \
         where f.user_id = ?1 and (?2 is null or (f.created_at, f.score_id) < (?2, ?3)) \
         order by f.created_at desc, f.score_id desc limit ?4"
    )
}

/// Records an open: `?1` user, `?2` score, `?3` now. Only the caller's own score.
pub const RECORD_OPEN: &str = "insert into score_opens (user_id, score_id, opened_at) \
     select ?1, id, ?3 from scores where id = ?2 and user_id = ?1";

/// Keeps the history bounded: the caller's opens beyond the newest `?2` are dropped.
pub const TRIM_OPENS: &str = "delete from score_opens where user_id = ?1 and seq <= \
     (select seq from score_opens where user_id = ?1 order by seq desc limit 1 offset ?2)";

/// Opens newest first before `?2` (a `seq`, null for the first page), `?3` rows. `?1` user.
pub fn history() -> String {
    format!(
        "select s.id, s.object_key, s.thumbnail_key, {SCORE_JSON} as json, o.opened_at as at, o.seq \
         from score_opens o join scores s on s.id = o.score_id \
         where o.user_id = ?1 and (?2 is null or o.seq < ?2) \
         order by o.seq desc limit ?3"
    )
}

/// A page of the versions of score `?1` owned by `?2`, oldest first, after version `?3`, at most
/// `?4` rows.
pub const VERSIONS: &str = "select v.version, v.user_id, v.before, v.after, v.created_at \
     from score_versions v join scores s on s.id = v.score_id \
     where v.score_id = ?1 and s.user_id = ?2 and v.version > ?3 order by v.version limit ?4";

/// The versions a comparison needs: `?3` and `?4` of score `?1` owned by `?2`, and version 1
/// (whose `before` is version 0).
pub const VERSIONS_AT: &str = "select v.version, v.user_id, v.before, v.after, v.created_at \
     from score_versions v join scores s on s.id = v.score_id \
     where v.score_id = ?1 and s.user_id = ?2 and v.version in (?3, ?4, 1) order by v.version";

/// Keeps the newest `keep` versions of a score (run in the batch of every PATCH, right after the
/// update whose trigger records a version).
pub fn prune_versions(score_id: &str, keep: i64) -> Stmt {
    Stmt::new(
        "delete from score_versions where score_id = ?1 \
         and version <= (select max(version) from score_versions where score_id = ?1) - ?2",
        args![score_id, keep],
    )
}

/// `GET /v1/me/stats` in one statement: `?1` user, `?2` start of the 30-day window.
pub const STATS: &str = "select json_object(\
       'scores', (select count(*) from scores where user_id = ?1), \
       'pages', (select coalesce(sum(pages), 0) from scores where user_id = ?1), \
       'bytes', (select coalesce(sum(size_bytes), 0) from scores where user_id = ?1), \
       'setlists', (select count(*) from setlists where owner_id = ?1), \
       'setlists_shared_by_me', (select count(*) from setlists s where s.owner_id = ?1 and \
          (exists (select 1 from setlist_members m where m.setlist_id = s.id) or \
           exists (select 1 from setlist_links l where l.setlist_id = s.id and l.revoked_at is null))), \
       'setlists_shared_with_me', (select count(*) from setlist_members where user_id = ?1), \
       'favorites', (select count(*) from favorites where user_id = ?1), \
       'top_opened', (select coalesce(json_group_array(json(t.j)), json('[]')) from (\
          select json_object('score_id', s.id, 'title', s.title, 'composer', s.composer, 'opens', count(*)) as j \
          from score_opens o join scores s on s.id = o.score_id \
          where o.user_id = ?1 and o.opened_at >= ?2 \
          group by s.id order by count(*) desc, max(o.seq) desc limit 10) t)\
     ) as json";
