//! The admin use cases (SPEC §6): user search and changes, overview statistics, failed tasks and
//! their re-run. Only admins reach them; to anyone else they do not exist (404), whatever they
//! send. Lists are paged like every list ([`crate::store::paging`]).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::views;
use crate::domain::admin::{search_term, TaskRef, UserPatch, TASKS_PAGE_MAX, USERS_PAGE_MAX};
use crate::domain::fields::Fields;
use crate::domain::shard;
use crate::domain::task::{self as jobs, Task};
use crate::error::{ApiError, ApiResult};
use crate::ports::{Db, Ports, Tasks};
use crate::store::admin::{self as q, UserChange};
use crate::store::paging::{self, Pager};
use crate::store::processing;
use crate::store::rows::{JsonRow, UserRow};

use super::Cx;

/// A user as admins see it, with its email (the users list's key).
#[derive(Deserialize)]
struct UserJson {
    email: String,
    #[serde(default)]
    id: String,
    json: String,
}

/// Whether `user` may use the admin routes.
pub fn is_admin(user: &UserRow) -> bool {
    user.role == "admin"
}

/// 404 for everyone but admins: to them admin routes do not exist.
///
/// # Errors
/// 404.
pub fn require_admin(user: &UserRow) -> ApiResult<()> {
    if is_admin(user) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The first value of each of `known` in the query; every other name is reported (as in bodies).
fn params<'q>(
    query: &'q [(String, String)],
    known: &[&str],
    f: &mut Fields,
) -> Vec<(&'q str, &'q str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (k, v) in query {
        if !known.contains(&k.as_str()) {
            f.error(k, "unknown parameter");
        } else if !out.iter().any(|(seen, _)| seen == k) {
            out.push((k.as_str(), v.as_str()));
        }
    }
    out
}

fn get<'q>(params: &[(&str, &'q str)], name: &str) -> Option<&'q str> {
    params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

/// `limit` by the one rule of every list: absent is [`paging::DEFAULT_LIMIT`].
fn limit(f: &mut Fields, raw: Option<&str>, max: i64) -> i64 {
    match raw.map(|r| paging::limit(r, max)) {
        None => paging::DEFAULT_LIMIT,
        Some(Ok(n)) => n,
        Some(Err(message)) => {
            f.error("limit", message);
            paging::DEFAULT_LIMIT
        }
    }
}

/// `GET /v1/admin/users?q=&limit=&cursor=`: users by email, `q` found literally in the email or
/// display name. Returns `{users, next_cursor}` as JSON text; a cursor serves only the `q` it was
/// made for.
///
/// # Errors
/// 404 for non-admins; 422 for an unknown parameter, a `q` too long, a bad `limit` or cursor.
pub async fn users<P: Ports>(
    cx: &Cx<'_, P>,
    caller: &UserRow,
    query: &[(String, String)],
) -> ApiResult<String> {
    require_admin(caller)?;
    let mut f = Fields::new(Map::new(), &[]);
    let params = params(query, &["q", "cursor", "limit"], &mut f);
    let pattern = match get(&params, "q").map(search_term) {
        Some(Ok(term)) if !term.is_empty() => Some(term),
        Some(Err(message)) => {
            f.error("q", message);
            None
        }
        _ => None,
    };
    let limit = limit(&mut f, get(&params, "limit"), USERS_PAGE_MAX);
    let scope = format!("q={}", pattern.as_deref().unwrap_or_default());
    let pager = Pager::new(cx.config.cursor_key()?, "admin-users", &scope, limit);
    let after = match get(&params, "cursor") {
        Some(raw) => match pager.position::<String>(raw) {
            Ok(email) => Some(email),
            Err(message) => {
                f.error("cursor", message);
                None
            }
        },
        None => None,
    };
    f.finish()?;
    let stmt = q::users(pattern.as_deref(), after.as_deref(), pager.fetch());
    let dbs = cx.ports.dbs();
    let rows = if dbs.len() == 1 {
        cx.db().all::<UserJson>(stmt).await?
    } else {
        // Every database has every account's row, each its own usage (`domain::shard`): the
        // same page of accounts comes from each, and each account is shown as its own
        // database has it.
        let mut rows = Vec::new();
        for (i, db) in dbs.iter().enumerate() {
            let page = db.all::<UserJson>(stmt.clone()).await?;
            rows.extend(
                page.into_iter()
                    .filter(|r| shard::database_of(&r.id, dbs.len()) == i),
            );
        }
        rows.sort_by(|a, b| a.email.cmp(&b.email));
        rows
    };
    let (rows, next) = pager.page(rows, |last| last.email.clone());
    let users = views::json_array(rows.iter().map(|r| r.json.as_str()));
    let next = views::json_string_or_null(next.as_deref());
    Ok(format!("{{\"users\":{users},\"next_cursor\":{next}}}"))
}

/// `PATCH /v1/admin/users/{id}`: quota, role, disabled. Disabling ends every session at once;
/// admins cannot disable or demote themselves. Returns the user as JSON text.
///
/// # Errors
/// 404 for non-admins and unknown users; 422 per field.
pub async fn patch_user<P: Ports>(
    cx: &Cx<'_, P>,
    caller: &UserRow,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    require_admin(caller)?;
    let mut f = Fields::new(body, &["quota_bytes", "role", "disabled"]);
    let patch = UserPatch::read(&mut f, id == caller.id);
    f.finish()?;
    let change = q::patch_user(&UserChange {
        id,
        quota_bytes: patch.quota_bytes,
        role: patch.role,
        disabled: patch.disabled,
        now: &cx.now_text(),
    });
    // Each database's copy of the account changes, the first first (`domain::shard`); the
    // answer is the user's own database's.
    let home = shard::database_of(id, cx.ports.dbs().len());
    let mut outcomes = Vec::new();
    for (i, db) in cx.ports.dbs().iter().enumerate() {
        let done = db.batch(change.clone()).await?;
        if i == home {
            outcomes = done;
        }
    }
    let user = outcomes
        .last()
        .map(|o| o.first::<UserJson>())
        .transpose()?
        .flatten()
        .ok_or(ApiError::NotFound)?;
    Ok(user.json)
}

/// `GET /v1/admin/stats`: the overview as JSON text.
///
/// # Errors
/// 404 for non-admins.
pub async fn stats<P: Ports>(cx: &Cx<'_, P>, caller: &UserRow) -> ApiResult<String> {
    require_admin(caller)?;
    let mut total: Option<Map<String, Value>> = None;
    for db in cx.ports.dbs() {
        let row = db
            .first::<JsonRow>(q::stats())
            .await?
            .ok_or_else(|| ApiError::internal("stats: no row"))?;
        let Some(sum) = total.as_mut() else {
            if cx.ports.dbs().len() == 1 {
                return Ok(row.json);
            }
            total = Some(serde_json::from_str(&row.json).map_err(ApiError::internal)?);
            continue;
        };
        // Every database counts every account (each holds a copy: `domain::shard`); the rest
        // is each database's own and adds up.
        let more: Map<String, Value> =
            serde_json::from_str(&row.json).map_err(ApiError::internal)?;
        for (k, v) in more {
            if matches!(k.as_str(), "users" | "disabled_users" | "admins") {
                continue;
            }
            let n = sum.get(&k).and_then(Value::as_i64).unwrap_or(0) + v.as_i64().unwrap_or(0);
            sum.insert(k, n.into());
        }
    }
    Ok(Value::Object(total.unwrap_or_default()).to_string())
}

/// `GET /v1/admin/live/{id}`: whether the setlist's room may be asked (it exists and was opened);
/// the room answers for itself.
///
/// # Errors
/// 404 for non-admins, and for setlists that do not exist or whose room was never opened.
pub async fn live_room<P: Ports>(cx: &Cx<'_, P>, caller: &UserRow, setlist: &str) -> ApiResult<()> {
    require_admin(caller)?;
    if !crate::domain::ids::is_well_formed("set", setlist)
        || !super::live::is_live(cx, setlist).await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// `GET /v1/admin/tasks?limit=`: failed processing and dead letters, newest first, as a JSON
/// array text.
///
/// # Errors
/// 404 for non-admins; 422 for an unknown parameter or a bad `limit`.
pub async fn tasks<P: Ports>(
    cx: &Cx<'_, P>,
    caller: &UserRow,
    query: &[(String, String)],
) -> ApiResult<String> {
    require_admin(caller)?;
    let mut f = Fields::new(Map::new(), &[]);
    let params = params(query, &["limit"], &mut f);
    let limit = limit(&mut f, get(&params, "limit"), TASKS_PAGE_MAX);
    f.finish()?;
    let mut rows = Vec::new();
    for db in cx.ports.dbs() {
        rows.extend(db.all::<JsonRow>(q::failed_tasks(limit)).await?);
    }
    if cx.ports.dbs().len() > 1 {
        // One list from each database (`domain::shard`), merged newest first.
        let at = |r: &JsonRow| {
            serde_json::from_str::<Value>(&r.json)
                .ok()
                .and_then(|v| v["updated_at"].as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        rows.sort_by_cached_key(|r| std::cmp::Reverse(at(r)));
        rows.truncate(usize::try_from(limit).unwrap_or(0));
    }
    Ok(views::json_array(rows.iter().map(|r| r.json.as_str())))
}

#[derive(Deserialize)]
struct DetailRow {
    detail: Option<String>,
}

/// `POST /v1/admin/tasks/{id}/retry`: puts the task back to pending, forgets the consumer's
/// attempt counts, and enqueues it. Returns the task as answered (202).
///
/// # Errors
/// 404 for non-admins and when no failed task has this id (including one already re-run);
/// 409 `NOT_RETRYABLE` for a dead letter that is not a task; 502 when the queue refuses it.
pub async fn retry_task<P: Ports>(cx: &Cx<'_, P>, caller: &UserRow, id: &str) -> ApiResult<Value> {
    require_admin(caller)?;
    let task = match TaskRef::parse(id).ok_or(ApiError::NotFound)? {
        TaskRef::Score(task) => {
            if reset(cx, &task).await? == 0 {
                return Err(ApiError::NotFound);
            }
            task
        }
        TaskRef::DeadLetter(_) => {
            let detail = cx
                .db()
                .first::<DetailRow>(q::dead_letter(id))
                .await?
                .ok_or(ApiError::NotFound)?
                .detail
                .unwrap_or_default();
            let body: Value = serde_json::from_str(&detail).unwrap_or_default();
            let task = jobs::parse(&body).map_err(|why| {
                ApiError::conflict(
                    "NOT_RETRYABLE",
                    format!("the dead-lettered message is not a task: {why}"),
                )
            })?;
            reset(cx, &task).await?;
            cx.db()
                .run(q::dead_letter_retried(id, &cx.now_text()))
                .await?;
            task
        }
    };
    let record_id = task.record_id();
    let name = task.name();
    // An explicit re-run starts the consumer's own attempt counts afresh.
    cx.ports
        .db_of(task.owner_key().unwrap_or_default())
        .run(processing::task_reset(&record_id))
        .await?;
    cx.tasks().send(vec![task]).await?;
    Ok(json!({ "id": id, "task": name, "record_id": record_id, "state": "pending" }))
}

/// Puts a score's (or part's) processing task back to pending; how many rows changed (0: it was not failed). Other tasks
/// have no state of their own to reset.
async fn reset<P: Ports>(cx: &Cx<'_, P>, task: &Task) -> ApiResult<usize> {
    use crate::store::processing::Of;
    let stmt = match task {
        Task::PdfInfo { score_id } => q::retry_pdf_info(Of::Score, score_id),
        Task::Thumbnail { score_id } => q::retry_thumbnail(Of::Score, score_id),
        Task::PartInfo { part_id } => q::retry_pdf_info(Of::Part, part_id),
        Task::PartThumbnail { part_id } => q::retry_thumbnail(Of::Part, part_id),
        Task::RenderPage { .. }
        | Task::PartRenderPage { .. }
        | Task::Ping { .. }
        | Task::DeleteFile { .. }
        | Task::ExtractBookmark { .. }
        | Task::SetlistBook { .. }
        | Task::Export { .. }
        | Task::Import { .. } => return Ok(1),
    };
    cx.ports
        .db_of(task.owner_key().unwrap_or_default())
        .run(stmt)
        .await
}
