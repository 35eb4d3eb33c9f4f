//! Admin API (SPEC §6): user search and changes, overview statistics, failed tasks and their
//! re-run. The router has already checked the caller is an admin (everyone else got 404).

use serde::Deserialize;
use serde_json::Map;

use crate::api::views;
use crate::domain::admin::{search_term, TaskRef, UserPatch};
use crate::domain::fields::Fields;
use crate::domain::task::{self as jobs, Task};
use crate::error::{ApiError, ApiResult};
use crate::store::admin as q;

use super::call::{Call, Reply};
use super::d1::{Arg, JsonRow};

const USERS_PAGE_MAX: i64 = 200;
const TASKS_PAGE_MAX: i64 = 500;

#[derive(Deserialize)]
struct UserJson {
    email: String,
    json: String,
}

#[derive(Deserialize)]
struct DetailRow {
    detail: Option<String>,
}

/// Reads the query string: every name must be one of `known` (others are reported, as in bodies).
fn query<'a>(call: &'a Call, known: &[&str], f: &mut Fields) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for (k, v) in &call.query {
        if known.contains(&k.as_str()) {
            out.push((k.as_str(), v.as_str()));
        } else {
            f.error(k, "unknown parameter");
        }
    }
    out
}

fn limit(f: &mut Fields, raw: Option<&str>, default: i64, max: i64) -> i64 {
    match raw.map(str::parse::<i64>) {
        None => default,
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        Some(_) => {
            f.error("limit", format!("must be 1 to {max}"));
            default
        }
    }
}

/// `GET /v1/admin/users?q=&after=&limit=`: by email; `next_after` continues the list.
pub async fn users(call: Call) -> ApiResult<Reply> {
    let mut f = Fields::new(Map::new(), &[]);
    let params = query(&call, &["q", "after", "limit"], &mut f);
    let get = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let pattern = match get("q").map(search_term) {
        Some(Ok(term)) if !term.is_empty() => Some(term),
        Some(Err(message)) => {
            f.error("q", message);
            None
        }
        _ => None,
    };
    let after = get("after").map(str::to_owned);
    let limit = limit(&mut f, get("limit"), 50, USERS_PAGE_MAX);
    f.finish()?;
    let mut rows = call
        .ctx
        .db
        .all::<UserJson>(
            q::USERS,
            &[
                pattern.as_ref().into(),
                after.as_ref().into(),
                (limit + 1).into(),
            ],
        )
        .await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(0);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if more {
        views::json_string_or_null(rows.last().map(|r| r.email.as_str()))
    } else {
        "null".to_owned()
    };
    let users = views::json_array(rows.iter().map(|r| r.json.as_str()));
    Ok(Reply::JsonText(
        200,
        format!("{{\"users\":{users},\"next_after\":{next}}}"),
    ))
}

/// `PATCH /v1/admin/users/{id}`: quota, role, disabled. Disabling ends every session at once.
pub async fn patch_user(call: Call) -> ApiResult<Reply> {
    let admin_id = call.caller()?.user.id.clone();
    let id = call.params.first().cloned().unwrap_or_default();
    let Call { ctx, body, .. } = call;
    let mut f = Fields::new(body, &["quota_bytes", "role", "disabled"]);
    let patch = UserPatch::read(&mut f, id == admin_id);
    f.finish()?;
    let now = ctx.now.rfc3339();
    let mut stmts = vec![ctx.db.stmt(
        q::PATCH_USER,
        &[
            id.as_str().into(),
            patch.quota_bytes.into(),
            patch.role.map_or(Arg::Null, Arg::Text),
            patch.disabled.map(i64::from).into(),
            now.as_str().into(),
        ],
    )?];
    if patch.disabled == Some(true) {
        stmts.push(ctx.db.stmt(
            q::REVOKE_SESSIONS,
            &[id.as_str().into(), now.as_str().into()],
        )?);
    }
    stmts.push(ctx.db.stmt(q::USER, &[id.as_str().into()])?);
    let mut results = ctx.db.batch_rows::<UserJson>(stmts).await?;
    let user = results
        .pop()
        .and_then(|rows| rows.into_iter().next())
        .ok_or(ApiError::NotFound)?;
    Ok(Reply::JsonText(200, format!("{{\"user\":{}}}", user.json)))
}

/// `GET /v1/admin/stats`.
pub async fn stats(call: Call) -> ApiResult<Reply> {
    let row = call
        .ctx
        .db
        .first::<JsonRow>(q::STATS, &[])
        .await?
        .ok_or_else(|| ApiError::internal("stats: no row"))?;
    Ok(Reply::JsonText(200, format!("{{\"stats\":{}}}", row.json)))
}

/// `GET /v1/admin/tasks?limit=`: failed processing and dead letters, newest first.
pub async fn tasks(call: Call) -> ApiResult<Reply> {
    let mut f = Fields::new(Map::new(), &[]);
    let params = query(&call, &["limit"], &mut f);
    let limit = limit(&mut f, params.first().map(|(_, v)| *v), 100, TASKS_PAGE_MAX);
    f.finish()?;
    let rows = call
        .ctx
        .db
        .all::<JsonRow>(q::FAILED_TASKS, &[limit.into()])
        .await?;
    let tasks = views::json_array(rows.iter().map(|r| r.json.as_str()));
    Ok(Reply::JsonText(200, format!("{{\"tasks\":{tasks}}}")))
}

/// `POST /v1/admin/tasks/{id}/retry`: puts the task back to pending and enqueues it. 404 when
/// no failed task has this id (including one already re-run).
pub async fn retry_task(call: Call) -> ApiResult<Reply> {
    let id = call.params.first().cloned().unwrap_or_default();
    let ctx = &call.ctx;
    let task = match TaskRef::parse(&id).ok_or(ApiError::NotFound)? {
        TaskRef::Score(task) => {
            if reset(ctx, &task).await? == 0 {
                return Err(ApiError::NotFound);
            }
            task
        }
        TaskRef::DeadLetter(_) => {
            let detail = ctx
                .db
                .first::<DetailRow>(q::DEAD_LETTER, &[id.as_str().into()])
                .await?
                .ok_or(ApiError::NotFound)?
                .detail
                .unwrap_or_default();
            let body: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
            let task = jobs::parse(&body).map_err(|why| {
                ApiError::conflict(
                    "NOT_RETRYABLE",
                    format!("the dead-lettered message is not a task: {why}"),
                )
            })?;
            reset(ctx, &task).await?;
            ctx.db
                .run(
                    q::DEAD_LETTER_RETRIED,
                    &[id.as_str().into(), ctx.now.rfc3339().as_str().into()],
                )
                .await?;
            task
        }
    };
    let record_id = task.record_id();
    let name = task.name();
    // An explicit re-run starts the consumer's own attempt counts afresh.
    crate::ports::Db::run(&ctx.d1, crate::store::processing::task_reset(&record_id)).await?;
    ctx.enqueue(vec![task]).await?;
    Ok(Reply::Json(
        202,
        serde_json::json!({ "task": { "id": id, "task": name, "record_id": record_id, "state": "pending" } }),
    ))
}

/// Puts a score task back to pending; returns how many rows changed (0: it was not failed).
async fn reset(ctx: &super::ctx::Ctx, task: &Task) -> ApiResult<usize> {
    let statement = match task {
        Task::PdfInfo { .. } => q::RETRY_PDF_INFO,
        Task::Thumbnail { .. } => q::RETRY_THUMBNAIL,
        Task::RenderPage { .. } | Task::Ping { .. } | Task::DeleteFile { .. } => return Ok(1),
    };
    let score_id = task.score_id().unwrap_or_default();
    ctx.db.run(statement, &[score_id.into()]).await
}
