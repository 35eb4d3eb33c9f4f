//! Background processing (SPEC §4) and the Cron sweep: what each task does, which failures are
//! permanent (recorded on the score, acked) and which transient (retried with back-off, given up
//! after five), how a task that crashed the isolate is contained, and what the sweep finds
//! lingering. The shell only receives messages and applies the [`Disposition`] it is given.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::task::{self as jobs, AfterError, Start, Task};
use crate::error::ApiResult;
use crate::ports::{Blobs, Db, Ports, Tasks};
use crate::store::bookmarks;
use crate::store::books;
use crate::store::library as lib;
use crate::store::processing::{self as q, Of};
use crate::store::rows::UploadKeyRow;

use super::{imports, library, Cx};

/// What to do with a message once its task ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done (or given up for good, and recorded).
    Ack,
    /// Deliver it again after this many seconds.
    RetryIn(u32),
    /// The outcome could not even be recorded (the database is down): deliver it again.
    Retry,
}

/// A stored task outcome's state (`tasks` records `ok` too).
const FAILED: &str = "failed";

async fn record<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    state: &str,
    detail: Option<&str>,
    message_id: &str,
) -> ApiResult<()> {
    cx.db()
        .run(q::record_task(
            &task.record_id(),
            task.name(),
            state,
            detail,
            message_id,
            &cx.now_text(),
        ))
        .await
        .map(drop)
}

/// The record ids among `tasks` whose last delivery started and never finished: it crashed the
/// isolate, so the consumer runs them after the rest of their batch.
pub async fn unfinished<P: Ports>(cx: &Cx<'_, P>, tasks: &[&Task]) -> Vec<String> {
    if tasks.is_empty() {
        return Vec::new();
    }
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let ids: Vec<String> = tasks.iter().map(|t| t.record_id()).collect();
    cx.db()
        .all::<Id>(q::unfinished_tasks(&ids))
        .await
        .map(|rows| rows.into_iter().map(|r| r.id).collect())
        .unwrap_or_default()
}

/// A delivery starts `task`: marks it running and decides whether to run it, given the crashes
/// of earlier deliveries.
///
/// # Errors
/// Database errors (the message is retried).
pub async fn start<P: Ports>(cx: &Cx<'_, P>, task: &Task) -> ApiResult<Start> {
    #[derive(Deserialize)]
    struct Counts {
        crashes: i64,
    }
    let counts = cx
        .db()
        .first::<Counts>(q::task_starts(
            &task.record_id(),
            task.name(),
            &cx.now_text(),
        ))
        .await?;
    Ok(jobs::start(counts.map_or(0, |c| c.crashes)))
}

/// After a run: a success clears the counts and acks; a transient error counts one failure and
/// is retried with back-off, or given up (and recorded) on the fifth.
pub async fn finish<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    outcome: ApiResult<()>,
    message_id: &str,
) -> Disposition {
    let id = task.record_id();
    if outcome.is_ok() {
        return match cx.db().run(q::task_stops(&id, false)).await {
            Ok(_) => Disposition::Ack,
            Err(_) => Disposition::Retry,
        };
    }
    #[derive(Deserialize)]
    struct Failures {
        failures: i64,
    }
    let failures = cx
        .db()
        .first::<Failures>(q::task_stops(&id, true))
        .await
        .ok()
        .flatten()
        .map_or(1, |f| f.failures);
    match jobs::after_error(failures) {
        AfterError::RetryIn(seconds) => Disposition::RetryIn(seconds),
        AfterError::GiveUp => match give_up(cx, task, jobs::FAILED_REPEATEDLY, message_id).await {
            Ok(()) => Disposition::Ack,
            Err(_) => Disposition::Retry,
        },
    }
}

/// Ends a task for good: what it was producing is marked failed with `reason` (so it never
/// stays `pending`), the outcome recorded, and its counts reset so an explicit re-run starts
/// afresh. A deletion stays in the outbox, which the sweep retries.
///
/// # Errors
/// Database errors.
pub async fn give_up<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    reason: &str,
    message_id: &str,
) -> ApiResult<()> {
    mark_failed(cx, task, reason).await?;
    record(cx, task, FAILED, Some(reason), message_id).await?;
    cx.db()
        .run(q::task_reset(&task.record_id()))
        .await
        .map(drop)
}

/// Marks what a task was producing as failed with `reason` (only while still pending).
async fn mark_failed<P: Ports>(cx: &Cx<'_, P>, task: &Task, reason: &str) -> ApiResult<()> {
    let stmt = match task {
        Task::PdfInfo { score_id } => q::pdf_info_gave_up(Of::Score, score_id, reason),
        Task::Thumbnail { score_id } => q::thumbnail_gave_up(Of::Score, score_id, reason),
        Task::PartInfo { part_id } => q::pdf_info_gave_up(Of::Part, part_id, reason),
        Task::PartThumbnail { part_id } => q::thumbnail_gave_up(Of::Part, part_id, reason),
        Task::RenderPage {
            score_id,
            page,
            width,
        } => lib::render_failed((Of::Score, score_id), *page, *width, reason, &cx.now_text()),
        Task::PartRenderPage {
            part_id,
            page,
            width,
        } => lib::render_failed((Of::Part, part_id), *page, *width, reason, &cx.now_text()),
        Task::ExtractBookmark { bookmark_id } => bookmarks::extract_failed(bookmark_id, reason),
        Task::SetlistBook {
            setlist_id,
            part_key,
        } => {
            let Some(row) = cx
                .db()
                .first::<books::BookRow>(books::book(setlist_id, part_key))
                .await?
            else {
                return Ok(());
            };
            books::failed(setlist_id, part_key, row.version, reason, &cx.now_text())
        }
        Task::Export { export_id } => return super::exports::give_up(cx, export_id, reason).await,
        Task::Import { import_id } => return imports::give_up(cx, import_id, reason).await,
        Task::Ping { .. } | Task::DeleteFile { .. } => return Ok(()),
    };
    cx.db().run(stmt).await.map(drop)
}

/// A message that is not a task (it will never parse): recorded and acked, never retried.
///
/// # Errors
/// Database errors.
pub async fn poison<P: Ports>(cx: &Cx<'_, P>, message_id: &str, why: &str) -> ApiResult<()> {
    cx.db()
        .run(q::record_task(
            &format!("poison:{message_id}"),
            "unknown",
            FAILED,
            Some(why),
            message_id,
            &cx.now_text(),
        ))
        .await
        .map(drop)
}

/// A dead-lettered message, recorded for admins; what its task was producing is marked failed,
/// so nothing stays `pending`. (The consumer gives up on tasks itself; the dead-letter queue is
/// the backstop for messages delivered more times than the queue allows.) `cx` is routed to the
/// task's owner ([`jobs::database_of_message`]); the record goes to the first database, where
/// its id (`dead:{message}`, no owner in it) is looked up when an admin re-runs it.
///
/// # Errors
/// Database errors.
pub async fn dead_letter<P: Ports>(
    cx: &Cx<'_, P>,
    body: &Value,
    message_id: &str,
) -> ApiResult<()> {
    if let Ok(task) = jobs::parse(body) {
        mark_failed(cx, &task, jobs::GAVE_UP).await?;
    }
    cx.directory()
        .run(q::record_task(
            &format!("dead:{message_id}"),
            "dead_letter",
            "dead",
            Some(&body.to_string()),
            message_id,
            &cx.now_text(),
        ))
        .await
        .map(drop)
}

/// An image stored for a score that no longer takes it: deleted, or, when the store fails,
/// left to the outbox whose deletion the sweep sends. Not an error to retry: a retry finds the
/// score gone and would never come back to the image.
///
/// # Errors
/// Database errors (the store and the database both failing).
pub(crate) async fn discard<P: Ports>(cx: &Cx<'_, P>, key: &str) -> ApiResult<()> {
    if cx.blobs().delete(key).await.is_err() {
        cx.db().run(q::discard_later(key, &cx.now_text())).await?;
    }
    Ok(())
}

#[cfg(feature = "consumer")]
mod tasks;
#[cfg(feature = "consumer")]
pub use tasks::{run, BOOK_MAX_INPUT_BYTES};

// ---- the sweep ----

/// Most rows handled per kind per sweep (bounded work per invocation).
const SWEEP_BATCH: i64 = 100;
/// A deletion still in the outbox after this long is sent again.
const DELETION_RETRY_SECONDS: i64 = 5 * 60;
/// A page render pending this long lost its message (a failed send): it is sent again.
const RENDER_REQUEUE_SECONDS: i64 = 5 * 60;

/// The Cron sweep: releases reservations past their grace (and deletes their objects), sends
/// lingering deletions, lost processing and renders again, gives up on what never finished,
/// and forgets dead tokens, sessions and rate windows. A report of what it did.
///
/// # Errors
/// Database errors (the next sweep runs again).
pub async fn sweep<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<Value> {
    let now = cx.now_text();
    let expired = cx
        .db()
        .all::<UploadKeyRow>(lib::expired_uploads(&now, SWEEP_BATCH))
        .await?;
    let mut released = 0;
    for upload in &expired {
        if library::release_upload(cx, &upload.id, &upload.object_key, "expired").await? {
            released += 1;
        }
    }
    #[derive(Deserialize)]
    struct Key {
        object_key: String,
    }
    let retry_before = cx.now.plus_seconds(-DELETION_RETRY_SECONDS).rfc3339();
    let lingering = cx
        .db()
        .all::<Key>(lib::lingering_deletions(&retry_before, SWEEP_BATCH, &now))
        .await?;
    let deletions: Vec<Task> = lingering
        .into_iter()
        .map(|k| Task::DeleteFile { key: k.object_key })
        .collect();
    let deletions_requeued = deletions.len();
    send(cx, deletions).await?;
    let (processing_requeued, processing_abandoned) = requeue_processing(cx).await?;
    let (renders_requeued, renders_abandoned) = requeue_renders(cx).await?;
    let extracts_requeued = requeue_extracts(cx).await?;
    let books_requeued = requeue_books(cx).await?;
    let trash_purged = super::trash::purge_expired(cx).await?;
    let exports = super::exports::sweep(cx).await?;
    let (imports_requeued, imports_abandoned) = imports::sweep(cx, SWEEP_BATCH).await?;
    let purged = cx
        .db()
        .batch(vec![
            crate::store::accounts::purge_expired_refresh(
                &cx.now.plus_seconds(-24 * 3600).rfc3339(),
            ),
            crate::store::accounts::purge_dead_sessions(&cx.now.plus_seconds(-24 * 3600).rfc3339()),
            crate::store::limits::sweep(crate::domain::rate::Window::stale_before(cx.now)),
        ])
        .await?;
    Ok(json!({
        "uploads_released": released,
        "deletions_requeued": deletions_requeued,
        "processing_requeued": processing_requeued,
        "processing_abandoned": processing_abandoned,
        "renders_requeued": renders_requeued,
        "renders_abandoned": renders_abandoned,
        "extracts_requeued": extracts_requeued,
        "books_requeued": books_requeued,
        "trash_purged": trash_purged,
        "exports_requeued": exports.requeued,
        "exports_abandoned": exports.abandoned,
        "exports_expired": exports.expired,
        "export_uploads_aborted": exports.uploads_aborted,
        "imports_requeued": imports_requeued,
        "imports_abandoned": imports_abandoned,
        "refresh_tokens_purged": purged.first().map_or(0, |o| o.changes),
        "sessions_purged": purged.get(1).map_or(0, |o| o.changes),
        "rate_windows_purged": purged.get(2).map_or(0, |o| o.changes),
    }))
}

async fn send<P: Ports>(cx: &Cx<'_, P>, tasks: Vec<Task>) -> ApiResult<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    cx.tasks().send(tasks).await
}

/// Re-sends processing pending after [`jobs::REQUEUE_AFTER_SECONDS`] (its message was lost) and
/// gives up on what is still pending after [`jobs::ABANDON_AFTER_SECONDS`]; tasks are
/// idempotent, so a duplicate is harmless.
async fn requeue_processing<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<(usize, usize)> {
    let before = cx.now.plus_seconds(-jobs::REQUEUE_AFTER_SECONDS).rfc3339();
    let after = cx.now.plus_seconds(-jobs::ABANDON_AFTER_SECONDS).rfc3339();
    #[derive(Deserialize)]
    struct Stale {
        id: String,
        pdf_info: i64,
        thumbnail: i64,
    }
    let (mut count, mut abandoned) = (0, 0);
    for of in [Of::Score, Of::Part] {
        abandoned += cx
            .db()
            .batch(q::abandon_stale_processing(of, &after, jobs::NEVER_FINISHED).into())
            .await?
            .iter()
            .map(|o| o.changes)
            .sum::<usize>();
        let stale = cx
            .db()
            .all::<Stale>(q::stale_processing(of, &before, &after, SWEEP_BATCH))
            .await?;
        let mut tasks = Vec::new();
        for row in stale {
            match of {
                Of::Score => {
                    if row.pdf_info != 0 {
                        tasks.push(Task::PdfInfo {
                            score_id: row.id.clone(),
                        });
                    }
                    if row.thumbnail != 0 {
                        tasks.push(Task::Thumbnail { score_id: row.id });
                    }
                }
                Of::Part => {
                    if row.pdf_info != 0 {
                        tasks.push(Task::PartInfo {
                            part_id: row.id.clone(),
                        });
                    }
                    if row.thumbnail != 0 {
                        tasks.push(Task::PartThumbnail { part_id: row.id });
                    }
                }
            }
        }
        count += tasks.len();
        send(cx, tasks).await?;
    }
    Ok((count, abandoned))
}

/// Re-sends renders (of scores and of parts) pending for [`RENDER_REQUEUE_SECONDS`] and gives up
/// on those pending after [`jobs::ABANDON_AFTER_SECONDS`].
async fn requeue_renders<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<(usize, usize)> {
    #[derive(Deserialize)]
    struct Stale {
        id: String,
        page: u32,
        width: u32,
    }
    let abandon_before = cx.now.plus_seconds(-jobs::ABANDON_AFTER_SECONDS).rfc3339();
    let before = cx.now.plus_seconds(-RENDER_REQUEUE_SECONDS).rfc3339();
    let (mut count, mut abandoned) = (0, 0);
    for of in [Of::Score, Of::Part] {
        abandoned += cx
            .db()
            .run(lib::abandon_stale_renders(
                of,
                &abandon_before,
                jobs::NEVER_FINISHED,
            ))
            .await?;
        let stale = cx
            .db()
            .all::<Stale>(lib::stale_renders(of, &before, SWEEP_BATCH, &cx.now_text()))
            .await?;
        let tasks: Vec<Task> = stale
            .into_iter()
            .map(|r| match of {
                Of::Score => Task::RenderPage {
                    score_id: r.id,
                    page: r.page,
                    width: r.width,
                },
                Of::Part => Task::PartRenderPage {
                    part_id: r.id,
                    page: r.page,
                    width: r.width,
                },
            })
            .collect();
        count += tasks.len();
        send(cx, tasks).await?;
    }
    Ok((count, abandoned))
}

/// Re-sends books asked for [`RENDER_REQUEUE_SECONDS`] ago and still not made (a lost message,
/// or a delivery that crashed); a task that keeps failing is given up by the consumer.
async fn requeue_books<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<usize> {
    let before = cx.now.plus_seconds(-RENDER_REQUEUE_SECONDS).rfc3339();
    let stale = cx
        .db()
        .all::<books::StaleBook>(books::stale(&before, SWEEP_BATCH))
        .await?;
    let tasks: Vec<Task> = stale
        .into_iter()
        .map(|r| Task::SetlistBook {
            setlist_id: r.setlist_id,
            part_key: r.part_key,
        })
        .collect();
    let count = tasks.len();
    send(cx, tasks).await?;
    Ok(count)
}

/// Re-sends extractions asked for [`RENDER_REQUEUE_SECONDS`] ago and still not made (a lost
/// message, or a delivery that crashed); a task that keeps failing is given up by the consumer.
async fn requeue_extracts<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<usize> {
    #[derive(Deserialize)]
    struct Stale {
        id: String,
    }
    let before = cx.now.plus_seconds(-RENDER_REQUEUE_SECONDS).rfc3339();
    let stale = cx
        .db()
        .all::<Stale>(bookmarks::stale_extracts(
            &before,
            SWEEP_BATCH,
            &cx.now_text(),
        ))
        .await?;
    let tasks: Vec<Task> = stale
        .into_iter()
        .map(|r| Task::ExtractBookmark { bookmark_id: r.id })
        .collect();
    let count = tasks.len();
    send(cx, tasks).await?;
    Ok(count)
}
