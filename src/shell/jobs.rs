//! Queue consumer and Cron sweep. Each message is acked or retried on its own; a message that
//! can never succeed is recorded and acked, and the dead-letter queue's messages are recorded for
//! admins.

use serde_json::json;
use worker::{console_error, console_log, Env, MessageBatch, MessageExt};

use crate::error::ApiResult;
use crate::jobs::{self, Task};
use crate::store::sql;

use super::ctx::now;
use super::ctx::{config, enqueue};
use super::d1::{Arg, Db};
use super::library::release_upload;
use super::r2::Files;
use crate::error::ApiError;
use crate::media::pdf_ranges::{self, RangeError};
use crate::media::{pdf_info, suggestions, thumbnail};
use worker::Range;

use crate::storage::keys;
use crate::store::rows::{ScoreFileRow, UploadKeyRow};

/// Queue names ending in this suffix are dead-letter queues.
const DLQ_SUFFIX: &str = "-dlq";

pub async fn consume(batch: MessageBatch<serde_json::Value>, env: Env) {
    let db = match env.d1("DB") {
        Ok(db) => Db::new(db),
        Err(e) => {
            console_error!(
                "{}",
                json!({"level": "error", "msg": "queue: no D1 binding", "error": e.to_string()})
            );
            batch.retry_all();
            return;
        }
    };
    let dead_letters = batch.queue().ends_with(DLQ_SUFFIX);
    for message in batch.raw_iter() {
        let id = message.id();
        let started = now();
        // Earlier messages used this invocation's CPU budget: leave the rest to a fresh
        // invocation rather than be cut off mid-task. (A task that alone exhausts the budget is
        // cut off, retried, then dead-lettered and marked failed below.)
        if worker::signal::is_near_cpu_limit() {
            message.retry();
            continue;
        }
        let body: serde_json::Value =
            serde_wasm_bindgen::from_value(message.body()).unwrap_or(serde_json::Value::Null);
        let outcome = if dead_letters {
            dead_letter(&db, &body, &id).await
        } else {
            match jobs::parse(&body) {
                Ok(task) => run(&env, &db, &task, &id).await,
                // Poison: it will never parse, so retrying is pointless. Record and ack.
                Err(why) => {
                    record(
                        &db,
                        &format!("poison:{id}"),
                        "unknown",
                        "failed",
                        Some(&why),
                        &id,
                    )
                    .await
                }
            }
        };
        let (result, level) = match &outcome {
            Ok(()) => {
                message.ack();
                ("ack", "info")
            }
            Err(e) => {
                // Transient (D1 unavailable): the queue redelivers after `retry_delay`, and after
                // `max_retries` the message lands in the dead-letter queue.
                message.retry();
                console_error!(
                    "{}",
                    json!({"level": "error", "msg": "task failed", "error": e.to_string()})
                );
                ("retry", "warn")
            }
        };
        console_log!(
            "{}",
            json!({
                "level": level,
                "msg": "task",
                "queue": batch.queue(),
                "task": body.get("task").and_then(|t| t.as_str()).unwrap_or("unknown"),
                "outcome": result,
                "duration_ms": now().0 - started.0,
            })
        );
    }
}

/// Records a dead-lettered message for admins and, for a processing task, marks the score's
/// task failed so it never stays `pending`.
async fn dead_letter(db: &Db, body: &serde_json::Value, message_id: &str) -> ApiResult<()> {
    if let Ok(task) = jobs::parse(body) {
        let statement = match task {
            Task::PdfInfo { .. } => Some(sql::PDF_INFO_GAVE_UP),
            Task::Thumbnail { .. } => Some(sql::THUMBNAIL_GAVE_UP),
            Task::Ping { .. } | Task::DeleteFile { .. } => None,
        };
        if let (Some(statement), Some(score_id)) = (statement, task.score_id()) {
            db.run(statement, &[score_id.into(), jobs::GAVE_UP.into()])
                .await?;
        }
    }
    record(
        db,
        &format!("dead:{message_id}"),
        "dead_letter",
        "dead",
        Some(&body.to_string()),
        message_id,
    )
    .await
}

async fn run(env: &Env, db: &Db, task: &Task, message_id: &str) -> ApiResult<()> {
    match task {
        Task::Ping { .. } => {
            record(db, &task.record_id(), task.name(), "ok", None, message_id).await
        }
        Task::PdfInfo { score_id } => pdf_info(env, db, task, score_id, message_id).await,
        Task::Thumbnail { score_id } => thumbnail(env, db, task, score_id, message_id).await,
        Task::DeleteFile { key } => {
            let files = Files::new(env)?;
            files.delete(key).await?;
            files.delete_prefix(&keys::derived_prefix(key)).await?;
            db.run(sql::DELETION_DONE, &[key.into(), (&now().rfc3339()).into()])
                .await?;
            record(db, &task.record_id(), task.name(), "ok", None, message_id).await
        }
    }
}

/// Reads the PDF, extracts page count, sizes, metadata and suggestions, and stores them on the
/// score. A file that cannot be read is a permanent failure recorded on the score (acked);
/// storage or database errors are transient (the message is retried).
async fn pdf_info(
    env: &Env,
    db: &Db,
    task: &Task,
    score_id: &str,
    message_id: &str,
) -> ApiResult<()> {
    let Some(score) = db
        .first::<ScoreFileRow>(sql::SCORE_FILE, &[score_id.into()])
        .await?
    else {
        return record(
            db,
            &task.record_id(),
            task.name(),
            "ok",
            Some("score no longer exists"),
            message_id,
        )
        .await;
    };
    let outcome = if score.size_bytes > config(env)?.whole_file_max_bytes {
        inspect_by_ranges(env, &score).await?
    } else {
        match load_pdf(env, &score).await? {
            Ok(bytes) => pdf_info::inspect(&bytes).map_err(|f| f.reason()),
            Err(reason) => Err(reason),
        }
    };
    match outcome {
        Ok(info) => {
            let meta = serde_json::to_string(&info).unwrap_or_else(|_| "{}".into());
            let suggested = serde_json::to_string(&suggestions::from_meta(&info.meta))
                .unwrap_or_else(|_| "{}".into());
            db.run(
                sql::PDF_INFO_OK,
                &[
                    score_id.into(),
                    i64::from(info.pages).into(),
                    (&meta).into(),
                    (&suggested).into(),
                ],
            )
            .await?;
            record(db, &task.record_id(), task.name(), "ok", None, message_id).await
        }
        Err(reason) => {
            db.run(sql::PDF_INFO_FAILED, &[score_id.into(), (&reason).into()])
                .await?;
            record(
                db,
                &task.record_id(),
                task.name(),
                "failed",
                Some(&reason),
                message_id,
            )
            .await
        }
    }
}

/// A stored PDF read by ranges; a missing object is reported apart from storage errors because
/// it is permanent.
struct StoredPdf<'a> {
    files: Files,
    key: &'a str,
}

enum ReadError {
    Missing,
    Storage(ApiError),
}

impl pdf_ranges::RangeSource for StoredPdf<'_> {
    type Error = ReadError;
    async fn read(&self, start: u64, len: u64) -> Result<Vec<u8>, ReadError> {
        let range = Range::OffsetWithLength {
            offset: start,
            length: len,
        };
        let object = self
            .files
            .get(self.key, Some(range))
            .await
            .map_err(ReadError::Storage)?
            .ok_or(ReadError::Missing)?;
        let body = object.body().ok_or_else(|| {
            ReadError::Storage(ApiError::Storage("R2 object without body".into()))
        })?;
        body.bytes()
            .await
            .map_err(|e| ReadError::Storage(ApiError::Storage(format!("R2 read: {e}"))))
    }
}

/// `pdf_info` for a file above the whole-file limit: structure only, by range reads.
async fn inspect_by_ranges(
    env: &Env,
    score: &ScoreFileRow,
) -> ApiResult<Result<pdf_info::PdfInfo, String>> {
    let source = StoredPdf {
        files: Files::new(env)?,
        key: &score.object_key,
    };
    let size = u64::try_from(score.size_bytes).unwrap_or(0);
    match pdf_ranges::inspect(&source, size, pdf_ranges::Limits::default()).await {
        Ok((info, _)) => Ok(Ok(info)),
        Err(RangeError::Pdf(failure)) => Ok(Err(failure.reason())),
        Err(RangeError::Source(ReadError::Missing)) => Ok(Err(MISSING.to_owned())),
        Err(RangeError::Source(ReadError::Storage(e))) => Err(e),
    }
}

const MISSING: &str = "the file is missing from storage";

/// Reads the whole PDF (within the configured limit) and returns it, or the permanent reason it
/// cannot be processed. Storage errors are transient (`Err`).
async fn load_pdf(env: &Env, score: &ScoreFileRow) -> ApiResult<Result<Vec<u8>, String>> {
    let limit = config(env)?.whole_file_max_bytes;
    if score.size_bytes > limit {
        return Ok(Err(format!(
            "file too large to render (over {})",
            crate::domain::human_bytes(limit)
        )));
    }
    let Some(object) = Files::new(env)?.get(&score.object_key, None).await? else {
        return Ok(Err(MISSING.to_owned()));
    };
    let body = object
        .body()
        .ok_or_else(|| ApiError::Storage("R2 object without body".into()))?;
    let bytes = body
        .bytes()
        .await
        .map_err(|e| ApiError::Storage(format!("R2 read: {e}")))?;
    Ok(Ok(bytes))
}

/// Renders the first page to a PNG in R2 and records its key on the score; idempotent (same key,
/// same row). Unrenderable files are a permanent failure recorded on the score.
async fn thumbnail(
    env: &Env,
    db: &Db,
    task: &Task,
    score_id: &str,
    message_id: &str,
) -> ApiResult<()> {
    let Some(score) = db
        .first::<ScoreFileRow>(sql::SCORE_FILE, &[score_id.into()])
        .await?
    else {
        return record(
            db,
            &task.record_id(),
            task.name(),
            "ok",
            Some("score no longer exists"),
            message_id,
        )
        .await;
    };
    let rendered = match load_pdf(env, &score).await? {
        Ok(bytes) => thumbnail::first_page_png(bytes, thumbnail::Limits::default())
            .map_err(|f| f.to_string()),
        Err(reason) => Err(reason),
    };
    match rendered {
        Ok(thumb) => {
            let key = keys::thumbnail(&score.object_key);
            Files::new(env)?
                .put_bytes(&key, thumb.png, "image/png")
                .await?;
            db.run(sql::THUMBNAIL_OK, &[score_id.into(), (&key).into()])
                .await?;
            record(db, &task.record_id(), task.name(), "ok", None, message_id).await
        }
        Err(reason) => {
            db.run(sql::THUMBNAIL_FAILED, &[score_id.into(), (&reason).into()])
                .await?;
            record(
                db,
                &task.record_id(),
                task.name(),
                "failed",
                Some(&reason),
                message_id,
            )
            .await
        }
    }
}

async fn record(
    db: &Db,
    id: &str,
    task: &str,
    state: &str,
    detail: Option<&str>,
    message_id: &str,
) -> ApiResult<()> {
    let now = now().rfc3339();
    db.run(
        sql::RECORD_TASK,
        &[
            id.into(),
            task.into(),
            state.into(),
            detail.into(),
            message_id.into(),
            Arg::Text(&now),
        ],
    )
    .await
    .map(|_| ())
}

/// Most uploads released and deletions re-enqueued per sweep (bounded work per invocation).
const SWEEP_BATCH: i64 = 100;
/// A deletion still in the outbox after this long is enqueued again.
const DELETION_RETRY_SECONDS: i64 = 5 * 60;

/// The Cron Trigger: releases reservations past their grace period (and deletes their objects),
/// re-enqueues lingering deletions, and forgets refresh tokens and sessions dead for a day.
pub async fn sweep(cron: &str, env: Env) {
    let started = now();
    let result = sweep_once(&env, started).await;
    match result {
        Ok(report) => console_log!(
            "{}",
            json!({"level": "info", "msg": "sweep", "cron": cron, "report": report, "duration_ms": now().0 - started.0})
        ),
        Err(e) => console_error!(
            "{}",
            json!({"level": "error", "msg": "sweep failed", "cron": cron, "error": e.to_string()})
        ),
    }
}

async fn sweep_once(
    env: &Env,
    started: crate::domain::time::Millis,
) -> ApiResult<serde_json::Value> {
    let db = Db::new(
        env.d1("DB")
            .map_err(|e| ApiError::internal(e.to_string()))?,
    );
    let files = Files::new(env)?;
    let now_text = started.rfc3339();
    let expired = db
        .all::<UploadKeyRow>(
            &sql::expired_uploads(),
            &[Arg::Text(&now_text), SWEEP_BATCH.into()],
        )
        .await?;
    let mut released = 0;
    for upload in &expired {
        if release_upload(
            &db,
            &files,
            &upload.id,
            &upload.object_key,
            &now_text,
            "expired",
        )
        .await?
        {
            released += 1;
        }
    }
    let retry_before = started.plus_seconds(-DELETION_RETRY_SECONDS).rfc3339();
    let lingering = db
        .all::<serde_json::Value>(
            sql::LINGERING_DELETIONS,
            &[
                Arg::Text(&retry_before),
                SWEEP_BATCH.into(),
                Arg::Text(&now_text),
            ],
        )
        .await?;
    let tasks: Vec<Task> = lingering
        .iter()
        .filter_map(|row| row["object_key"].as_str())
        .map(|key| Task::DeleteFile {
            key: key.to_owned(),
        })
        .collect();
    let requeued = tasks.len();
    if !tasks.is_empty() {
        enqueue(env, tasks).await?;
    }
    let (processing_requeued, processing_abandoned) = requeue_processing(env, &db, started).await?;
    let cutoff = started.plus_seconds(-24 * 3600).rfc3339();
    let tokens = db
        .run(sql::PURGE_EXPIRED_REFRESH, &[Arg::Text(&cutoff)])
        .await?;
    let sessions = db
        .run(sql::PURGE_DEAD_SESSIONS, &[Arg::Text(&cutoff)])
        .await?;
    let rate_windows = db
        .run(
            sql::RATE_SWEEP,
            &[crate::domain::rate::Window::stale_before(started).into()],
        )
        .await?;
    Ok(json!({
        "uploads_released": released,
        "deletions_requeued": requeued,
        "processing_requeued": processing_requeued,
        "processing_abandoned": processing_abandoned,
        "rate_windows_purged": rate_windows,
        "refresh_tokens_purged": tokens,
        "sessions_purged": sessions,
    }))
}

#[derive(serde::Deserialize)]
struct StaleRow {
    id: String,
    pdf_info: i64,
    thumbnail: i64,
}

/// Re-enqueues processing still pending after [`jobs::REQUEUE_AFTER_SECONDS`] (its message was
/// lost, e.g. a failed send after the score was created) and gives up on what is still pending
/// after [`jobs::ABANDON_AFTER_SECONDS`]. Tasks are idempotent, so a duplicate is harmless.
async fn requeue_processing(
    env: &Env,
    db: &Db,
    started: crate::domain::time::Millis,
) -> ApiResult<(usize, usize)> {
    let before = started.plus_seconds(-jobs::REQUEUE_AFTER_SECONDS).rfc3339();
    let after = started.plus_seconds(-jobs::ABANDON_AFTER_SECONDS).rfc3339();
    let abandoned = db
        .run(
            sql::ABANDON_STALE_PDF_INFO,
            &[Arg::Text(&after), jobs::NEVER_FINISHED.into()],
        )
        .await?
        + db.run(
            sql::ABANDON_STALE_THUMBNAIL,
            &[Arg::Text(&after), jobs::NEVER_FINISHED.into()],
        )
        .await?;
    let stale = db
        .all::<StaleRow>(
            sql::STALE_PROCESSING,
            &[Arg::Text(&before), Arg::Text(&after), SWEEP_BATCH.into()],
        )
        .await?;
    let mut tasks = Vec::new();
    for row in stale {
        if row.pdf_info != 0 {
            tasks.push(Task::PdfInfo {
                score_id: row.id.clone(),
            });
        }
        if row.thumbnail != 0 {
            tasks.push(Task::Thumbnail { score_id: row.id });
        }
    }
    let count = tasks.len();
    if !tasks.is_empty() {
        enqueue(env, tasks).await?;
    }
    Ok((count, abandoned))
}
