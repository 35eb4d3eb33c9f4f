//! Favorites, open history, score versions and the caller's statistics (SPEC §3, §6). All of it
//! is about the caller's own scores: another user's score id is 404 here as everywhere.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::domain::fields::Fields;
use crate::domain::ids;
use crate::domain::versions::{self, Version};
use crate::error::{ApiError, ApiResult};
use crate::storage::signed;
use crate::store::activity as q;
use crate::store::rows::ScoreRow;

use super::call::{Call, Reply};
use super::ctx::Ctx;
use crate::service::library::score_view;

/// Opens kept per user; older ones are dropped as new ones arrive.
const HISTORY_KEEP: i64 = 1_000;
const PAGE_MAX: i64 = 100;

fn score_id(call: &Call) -> ApiResult<(String, String)> {
    let user = call.caller()?.user.id.clone();
    let id = call.params.first().cloned().unwrap_or_default();
    if ids::is_well_formed("sco", &id) {
        Ok((user, id))
    } else {
        Err(ApiError::NotFound)
    }
}

async fn owns(ctx: &Ctx, user: &str, score: &str) -> ApiResult<()> {
    ctx.db
        .first::<Value>(q::OWNS_SCORE, &[user.into(), score.into()])
        .await?
        .map(|_| ())
        .ok_or(ApiError::NotFound)
}

pub async fn favorite(call: Call) -> ApiResult<Reply> {
    let (user, score) = score_id(&call)?;
    let ctx = &call.ctx;
    owns(ctx, &user, &score).await?;
    let now = ctx.now.rfc3339();
    ctx.db
        .run(
            q::FAVORITE,
            &[(&user).into(), (&score).into(), (&now).into()],
        )
        .await?;
    Ok(Reply::NoContent)
}

pub async fn unfavorite(call: Call) -> ApiResult<Reply> {
    let (user, score) = score_id(&call)?;
    let ctx = &call.ctx;
    owns(ctx, &user, &score).await?;
    ctx.db
        .run(q::UNFAVORITE, &[(&user).into(), (&score).into()])
        .await?;
    Ok(Reply::NoContent)
}

pub async fn opened(call: Call) -> ApiResult<Reply> {
    let (user, score) = score_id(&call)?;
    let ctx = &call.ctx;
    let now = ctx.now.rfc3339();
    let recorded = ctx
        .db
        .run(
            q::RECORD_OPEN,
            &[(&user).into(), (&score).into(), (&now).into()],
        )
        .await?;
    if recorded == 0 {
        return Err(ApiError::NotFound);
    }
    ctx.db
        .run(q::TRIM_OPENS, &[(&user).into(), HISTORY_KEEP.into()])
        .await?;
    Ok(Reply::NoContent)
}

/// A page of scores with the time they were favorited or opened.
#[derive(Deserialize)]
struct TimedRow {
    #[serde(flatten)]
    score: ScoreRow,
    at: String,
    #[serde(default)]
    seq: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    k: String,
    at: String,
    id: String,
    seq: i64,
}

/// `limit` and `cursor` (signed, bound to the list `kind`).
fn paging(call: &Call, kind: &str) -> ApiResult<(i64, Option<Cursor>)> {
    let key = call.ctx.config.cursor_key()?;
    let mut f = Fields::new(Map::new(), &[]);
    let (mut limit, mut after) = (20, None);
    for (k, v) in &call.query {
        match k.as_str() {
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=PAGE_MAX).contains(&n) => limit = n,
                _ => f.error("limit", format!("must be 1 to {PAGE_MAX}")),
            },
            "cursor" => match signed::verify::<Cursor>(key, v) {
                Ok(c) if c.k == kind => after = Some(c),
                _ => f.error("cursor", "is not a cursor of this list"),
            },
            other => f.error(other, "unknown parameter"),
        }
    }
    f.finish().map(|()| (limit, after))
}

fn page(call: &Call, kind: &str, field: &str, rows: Vec<TimedRow>, limit: i64) -> ApiResult<Reply> {
    let limit = usize::try_from(limit).unwrap_or(20);
    let more = rows.len() > limit;
    let rows = &rows[..rows.len().min(limit)];
    let next = match (more, rows.last()) {
        (true, Some(last)) => Value::String(signed::sign(
            call.ctx.config.cursor_key()?,
            &Cursor {
                k: kind.into(),
                at: last.at.clone(),
                id: last.score.id.clone(),
                seq: last.seq.unwrap_or(0),
            },
        )),
        _ => Value::Null,
    };
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{{}:{},\"score\":{}}}",
                Value::String(field.into()),
                Value::String(r.at.clone()),
                score_view(&call.cx(), &r.score)
            )
        })
        .collect();
    Ok(Reply::JsonText(
        200,
        format!(
            "{{{}:[{}],\"next_cursor\":{next}}}",
            Value::String(kind.into()),
            items.join(",")
        ),
    ))
}

pub async fn favorites(call: Call) -> ApiResult<Reply> {
    let user = call.caller()?.user.id.clone();
    let (limit, after) = paging(&call, "favorites")?;
    let (at, id) = after.map_or((None, None), |c| (Some(c.at), Some(c.id)));
    let sql = q::favorites();
    let rows = call
        .ctx
        .db
        .all::<TimedRow>(
            &sql,
            &[
                (&user).into(),
                at.as_deref().into(),
                id.as_deref().into(),
                (limit + 1).into(),
            ],
        )
        .await?;
    page(&call, "favorites", "favorited_at", rows, limit)
}

pub async fn history(call: Call) -> ApiResult<Reply> {
    let user = call.caller()?.user.id.clone();
    let (limit, after) = paging(&call, "history")?;
    let before = after.map(|c| c.seq);
    let sql = q::history();
    let rows = call
        .ctx
        .db
        .all::<TimedRow>(&sql, &[(&user).into(), before.into(), (limit + 1).into()])
        .await?;
    page(&call, "history", "opened_at", rows, limit)
}

#[derive(Deserialize)]
struct VersionRow {
    version: i64,
    user_id: String,
    before: String,
    after: String,
    created_at: String,
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

#[derive(Serialize, Deserialize)]
struct VersionCursor {
    k: String,
    score: String,
    after: i64,
}

/// `GET /v1/scores/{id}/versions?limit=&cursor=`: oldest first, version 0 (as created) leading
/// the first page while version 1 is still kept.
pub async fn list_versions(call: Call) -> ApiResult<Reply> {
    let (user, score) = score_id(&call)?;
    let ctx = &call.ctx;
    let key = ctx.config.cursor_key()?;
    let mut f = Fields::new(Map::new(), &[]);
    let (mut limit, mut after) = (20_i64, None);
    for (k, v) in &call.query {
        match k.as_str() {
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=PAGE_MAX).contains(&n) => limit = n,
                _ => f.error("limit", format!("must be 1 to {PAGE_MAX}")),
            },
            "cursor" => match signed::verify::<VersionCursor>(key, v) {
                Ok(c) if c.k == "versions" && c.score == score => after = Some(c.after),
                _ => f.error("cursor", "is not a cursor of this list"),
            },
            other => f.error(other, "unknown parameter"),
        }
    }
    f.finish()?;
    owns(ctx, &user, &score).await?;
    let rows = ctx
        .db
        .all::<VersionRow>(
            q::VERSIONS,
            &[
                (&score).into(),
                (&user).into(),
                after.unwrap_or(0).into(),
                (limit + 1).into(),
            ],
        )
        .await?;
    let mut list = version_rows(rows);
    let with_origin = after.is_none() && list.first().is_some_and(|v| v.version == 1);
    let room = usize::try_from(limit).unwrap_or(20) - usize::from(with_origin);
    let more = list.len() > room;
    list.truncate(room);
    let next = match (more, list.last()) {
        (true, last) => Value::String(signed::sign(
            key,
            &VersionCursor {
                k: "versions".into(),
                score: score.clone(),
                after: last.map_or(0, |v| v.version),
            },
        )),
        (false, _) => Value::Null,
    };
    Ok(Reply::Json(
        200,
        json!({ "versions": versions::listing(&list, with_origin), "next_cursor": next }),
    ))
}

pub async fn compare_versions(call: Call) -> ApiResult<Reply> {
    let (user, score) = score_id(&call)?;
    let mut f = Fields::new(Map::new(), &[]);
    let (mut from, mut to) = (None, None);
    for (k, v) in &call.query {
        let parsed = v.parse::<i64>().ok().filter(|n| *n >= 0);
        match k.as_str() {
            "from" => {
                from = parsed.or_else(|| {
                    f.error(
                        "from",
                        "must be a version number (0 is the score as created)",
                    );
                    None
                })
            }
            "to" => {
                to = parsed.or_else(|| {
                    f.error("to", "must be a version number (0 is the score as created)");
                    None
                })
            }
            other => f.error(other, "unknown parameter"),
        }
    }
    if !call.query.iter().any(|(k, _)| k == "from") {
        f.error("from", "is required");
    }
    if !call.query.iter().any(|(k, _)| k == "to") {
        f.error("to", "is required");
    }
    f.finish()?;
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(0));
    owns(&call.ctx, &user, &score).await?;
    let rows = call
        .ctx
        .db
        .all::<VersionRow>(
            q::VERSIONS_AT,
            &[(&score).into(), (&user).into(), from.into(), to.into()],
        )
        .await?;
    let list = version_rows(rows);
    let changes = versions::compare(&list, from, to)
        .map_err(|field| ApiError::field(field, "no such version of this score"))?;
    Ok(Reply::Json(
        200,
        json!({ "from": from, "to": to, "changes": changes }),
    ))
}

pub async fn stats(call: Call) -> ApiResult<Reply> {
    let user = call.caller()?.user.id.clone();
    let ctx = &call.ctx;
    let since = ctx.now.plus_seconds(-30 * 24 * 3600).rfc3339();
    #[derive(Deserialize)]
    struct Row {
        json: String,
    }
    let row = ctx
        .db
        .first::<Row>(q::STATS, &[(&user).into(), (&since).into()])
        .await?
        .ok_or_else(|| ApiError::internal("stats returned no row"))?;
    Ok(Reply::JsonText(200, format!("{{\"stats\":{}}}", row.json)))
}
