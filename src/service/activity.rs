//! What a musician does with their own scores (SPEC §3, §6): favorites, the open history, the
//! versions of a score's metadata and comparing two of them, and the caller's statistics. All of
//! it is about the caller's own scores: another user's score id is 404 here as everywhere.

use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::domain::fields::Fields;
use crate::domain::ids;
use crate::domain::versions::{self, Version};
use crate::error::{ApiError, ApiResult};
use crate::ports::{Db, Ports};
use crate::store::activity::{self as q, JsonRow, TimedRow, VersionRow};
use crate::store::paging::{self, Pager};

use super::library::score_view;
use super::Cx;

/// Opens kept per user; older ones are dropped as new ones arrive.
pub const HISTORY_KEEP: i64 = 1_000;
/// Most rows a page of favorites, history or versions may ask for.
pub const PAGE_MAX: i64 = 100;
/// The window of `top_opened` in the statistics.
const STATS_DAYS: i64 = 30;

/// Reads a list's query: `limit` (default [`paging::DEFAULT_LIMIT`], at most `max`), the raw
/// `cursor`, and whatever `other` accepts (it returns whether it knew the parameter). Each bad
/// parameter is recorded in `f`; a repeated one counts as its last value.
pub(crate) fn page_query(
    query: &[(String, String)],
    max: i64,
    f: &mut Fields,
    mut other: impl FnMut(&str, &str, &mut Fields) -> bool,
) -> (i64, Option<String>) {
    let (mut limit, mut cursor) = (paging::DEFAULT_LIMIT, None);
    for (k, v) in query {
        match k.as_str() {
            "limit" => match paging::limit(v, max) {
                Ok(n) => limit = n,
                Err(message) => f.error("limit", message),
            },
            "cursor" => cursor = Some(v.as_str()),
            name => {
                if !other(name, v, f) {
                    f.error(name, "unknown parameter");
                }
            }
        }
    }
    (limit, cursor.map(str::to_owned))
}

/// The position `cursor` names for `pager`, its message recorded in `f` when it names none.
pub(crate) fn position<T: DeserializeOwned>(
    pager: &Pager<'_>,
    cursor: Option<&str>,
    f: &mut Fields,
) -> Option<T> {
    match pager.position(cursor?) {
        Ok(p) => Some(p),
        Err(message) => {
            f.error("cursor", message);
            None
        }
    }
}

/// A score id of the right shape, or 404 before any database work.
fn score_id(id: &str) -> ApiResult<&str> {
    if ids::is_well_formed("sco", id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound)
    }
}

/// 404 unless `score` is `user`'s.
async fn owns<P: Ports>(cx: &Cx<'_, P>, user: &str, score: &str) -> ApiResult<()> {
    cx.db()
        .first::<Value>(q::owns_score(user, score))
        .await?
        .map(drop)
        .ok_or(ApiError::NotFound)
}

/// `PUT /v1/scores/{id}/favorite` (idempotent).
///
/// # Errors
/// 404 for another user's score.
pub async fn favorite<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<()> {
    let score = score_id(id)?;
    owns(cx, user, score).await?;
    cx.db()
        .run(q::favorite(user, score, &cx.now_text()))
        .await
        .map(drop)
}

/// `DELETE /v1/scores/{id}/favorite` (idempotent).
///
/// # Errors
/// 404 for another user's score.
pub async fn unfavorite<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<()> {
    let score = score_id(id)?;
    owns(cx, user, score).await?;
    cx.db().run(q::unfavorite(user, score)).await.map(drop)
}

/// `POST /v1/scores/{id}/opened`: records the open; the history keeps the newest
/// [`HISTORY_KEEP`].
///
/// # Errors
/// 404 for another user's score.
pub async fn opened<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<()> {
    let score = score_id(id)?;
    if cx
        .db()
        .run(q::record_open(user, score, &cx.now_text()))
        .await?
        == 0
    {
        return Err(ApiError::NotFound);
    }
    cx.db()
        .run(q::trim_opens(user, HISTORY_KEEP))
        .await
        .map(drop)
}

/// `{<list>: [{<field>: at, score}], next_cursor}` as JSON text, each score's JSON spliced as
/// SQL built it.
fn timed_page<P>(
    cx: &Cx<'_, P>,
    list: &str,
    field: &str,
    rows: &[TimedRow],
    next: Option<String>,
) -> String {
    let field = Value::String(field.into()).to_string();
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{{field}:{},\"score\":{}}}",
                Value::String(r.at.clone()),
                score_view(cx, &r.score)
            )
        })
        .collect();
    format!(
        "{{{}:[{}],\"next_cursor\":{}}}",
        Value::String(list.into()),
        items.join(","),
        Value::from(next)
    )
}

/// `GET /v1/favorites?limit=&cursor=`: newest first, as JSON text.
///
/// # Errors
/// 422 for a bad limit or cursor.
pub async fn favorites<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    query: &[(String, String)],
) -> ApiResult<String> {
    timed_list(cx, query, "favorites", "favorited_at", |after, fetch| {
        q::favorites(user, after, fetch)
    })
    .await
}

/// A list of scores, each with a time (`field`), newest first, paged by the keyset `(time, score
/// id)` that `stmt` reads after (`None`: the first page), `fetch` rows: `{list: [{field, score}],
/// next_cursor}` JSON text.
///
/// # Errors
/// 422 for a bad limit or cursor.
pub(crate) async fn timed_list<P: Ports>(
    cx: &Cx<'_, P>,
    query: &[(String, String)],
    list: &'static str,
    field: &str,
    stmt: impl FnOnce(Option<(&str, &str)>, i64) -> crate::store::Stmt,
) -> ApiResult<String> {
    let mut f = Fields::new(Map::new(), &[]);
    let (limit, cursor) = page_query(query, PAGE_MAX, &mut f, |_, _, _| false);
    let pager = Pager::new(cx.config.cursor_key()?, list, "", limit);
    let after: Option<(String, String)> = position(&pager, cursor.as_deref(), &mut f);
    f.finish()?;
    let after = after.as_ref().map(|(at, id)| (at.as_str(), id.as_str()));
    let rows = cx.db().all::<TimedRow>(stmt(after, pager.fetch())).await?;
    let (rows, next) = pager.page(rows, |r| (r.at.clone(), r.score.id.clone()));
    Ok(timed_page(cx, list, field, &rows, next))
}

/// `GET /v1/history?limit=&cursor=`: opens newest first (a score opened twice is listed twice),
/// as JSON text.
///
/// # Errors
/// 422 for a bad limit or cursor.
pub async fn history<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    query: &[(String, String)],
) -> ApiResult<String> {
    let mut f = Fields::new(Map::new(), &[]);
    let (limit, cursor) = page_query(query, PAGE_MAX, &mut f, |_, _, _| false);
    let pager = Pager::new(cx.config.cursor_key()?, "history", "", limit);
    let before: Option<i64> = position(&pager, cursor.as_deref(), &mut f);
    f.finish()?;
    let rows = cx
        .db()
        .all::<TimedRow>(q::history(user, before, pager.fetch()))
        .await?;
    let (rows, next) = pager.page(rows, |r| r.seq.unwrap_or(0));
    Ok(timed_page(cx, "history", "opened_at", &rows, next))
}

fn version_rows(rows: Vec<VersionRow>) -> Vec<Version> {
    rows.into_iter()
        .map(|r| Version {
            version: r.version,
            user_id: r.user_id,
            before: serde_json::from_str(&r.before).unwrap_or_default(),
            after: serde_json::from_str(&r.after).unwrap_or_default(),
            created_at: r.created_at,
        })
        .collect()
}

/// `GET /v1/scores/{id}/versions?limit=&cursor=`: oldest first, version 0 (as created) leading
/// the first page while version 1 is still kept (it takes one of the page's places).
///
/// # Errors
/// 404 for another user's score; 422 for a bad limit or cursor (a cursor of another score's
/// versions too).
pub async fn list_versions<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    query: &[(String, String)],
) -> ApiResult<Value> {
    let score = score_id(id)?;
    let mut f = Fields::new(Map::new(), &[]);
    let (limit, cursor) = page_query(query, PAGE_MAX, &mut f, |_, _, _| false);
    let pager = Pager::new(cx.config.cursor_key()?, "versions", score, limit);
    let after: Option<i64> = position(&pager, cursor.as_deref(), &mut f);
    f.finish()?;
    owns(cx, user, score).await?;
    let rows = cx
        .db()
        .all::<VersionRow>(q::versions(score, user, after.unwrap_or(0), pager.fetch()))
        .await?;
    let mut list = version_rows(rows);
    let with_origin = after.is_none() && list.first().is_some_and(|v| v.version == 1);
    // Version 0 takes a place of the first page; the cursor continues after the last version
    // shown (after version 0 when it was the only one shown).
    let shown = usize::try_from(limit).unwrap_or(0);
    let room = shown - usize::from(with_origin);
    let more = list.len() > room;
    let next = more.then(|| pager.cursor(list[..room].last().map_or(0, |v| v.version)));
    // Version 1 stays for the listing even when version 0 fills the page alone (version 0 is
    // its `before`); the page is cut to `limit` entries after.
    list.truncate(room.max(usize::from(with_origin)));
    let mut listed = versions::listing(&list, with_origin);
    if let Value::Array(items) = &mut listed {
        items.truncate(shown);
    }
    Ok(json!({ "versions": listed, "next_cursor": next }))
}

/// `GET /v1/scores/{id}/versions/compare?from=&to=`: the field-level changes between two
/// versions (0 is the score as created).
///
/// # Errors
/// 404 for another user's score; 422 for a missing or bad `from`/`to`, or one naming no kept
/// version.
pub async fn compare_versions<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    query: &[(String, String)],
) -> ApiResult<Value> {
    const NOT_A_VERSION: &str = "must be a version number (0 is the score as created)";
    let score = score_id(id)?;
    let mut f = Fields::new(Map::new(), &[]);
    let (mut from, mut to) = (None, None);
    for (k, v) in query {
        let parsed = v.parse::<i64>().ok().filter(|n| *n >= 0);
        let slot = match k.as_str() {
            "from" => &mut from,
            "to" => &mut to,
            other => {
                f.error(other, "unknown parameter");
                continue;
            }
        };
        match parsed {
            Some(n) => *slot = Some(n),
            None => f.error(k, NOT_A_VERSION),
        }
    }
    for name in ["from", "to"] {
        if !query.iter().any(|(k, _)| k == name) {
            f.error(name, "is required");
        }
    }
    f.finish()?;
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(0));
    owns(cx, user, score).await?;
    let rows = cx
        .db()
        .all::<VersionRow>(q::versions_at(score, user, from, to))
        .await?;
    let changes = versions::compare(&version_rows(rows), from, to)
        .map_err(|field| ApiError::field(field, "no such version of this score"))?;
    Ok(json!({ "from": from, "to": to, "changes": changes }))
}

/// `GET /v1/me/stats`: `{"stats": …}` as JSON text (built by SQL).
///
/// # Errors
/// Database errors.
pub async fn stats<P: Ports>(cx: &Cx<'_, P>, user: &str) -> ApiResult<String> {
    let since = cx.now.plus_seconds(-STATS_DAYS * 24 * 3600).rfc3339();
    let row = cx
        .db()
        .first::<JsonRow>(q::stats(user, &since))
        .await?
        .ok_or_else(|| ApiError::internal("stats returned no row"))?;
    if cx.ports.dbs().len() == 1 {
        return Ok(format!("{{\"stats\":{}}}", row.json));
    }
    // Memberships live in the owners' databases (`domain::shard`): count them in each.
    let mut stats: serde_json::Value =
        serde_json::from_str(&row.json).map_err(|e| ApiError::internal(format!("stats: {e}")))?;
    let mut shared_with_me = 0;
    for db in cx.ports.dbs() {
        let count = db.first::<Count>(q::memberships_of(user)).await?;
        shared_with_me += count.map_or(0, |c| c.n);
    }
    stats["setlists_shared_with_me"] = shared_with_me.into();
    Ok(format!("{{\"stats\":{stats}}}"))
}

#[derive(serde::Deserialize)]
struct Count {
    n: i64,
}
