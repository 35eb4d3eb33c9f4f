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
use crate::media::{pdf_info, suggestions, thumbnail};
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
        let body: serde_json::Value =
            serde_wasm_bindgen::from_value(message.body()).unwrap_or(serde_json::Value::Null);
        let outcome = if dead_letters {
            record(
                &db,
                &format!("dead:{id}"),
                "dead_letter",
                "dead",
                Some(&body.to_string()),
                &id,
            )
            .await
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
            db.run(sql::DELETION_DONE, &[key.into()]).await?;
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
    let outcome = match load_pdf(env, &score).await? {
        Ok(bytes) => pdf_info::inspect(&bytes).map_err(|f| f.reason()),
        Err(reason) => Err(reason),
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

/// Reads the whole PDF (within the configured limit) and returns it, or the permanent reason it
/// cannot be processed. Storage errors are transient (`Err`).
async fn load_pdf(env: &Env, score: &ScoreFileRow) -> ApiResult<Result<Vec<u8>, String>> {
    let limit = config(env)?.pdf_info_max_bytes;
    if score.size_bytes > limit {
        return Ok(Err(format!(
            "file too large to process (over {} MiB)",
            limit / (1024 * 1024)
        )));
    }
    let Some(object) = Files::new(env)?.get(&score.object_key, None).await? else {
        return Ok(Err("the file is missing from storage".to_owned()));
    };
    let body = object
        .body()
        .ok_or_else(|| crate::error::ApiError::Storage("R2 object without body".into()))?;
    let bytes = body
        .bytes()
        .await
        .map_err(|e| crate::error::ApiError::Storage(format!("R2 read: {e}")))?;
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
            .map_err(|e| crate::error::ApiError::internal(e.to_string()))?,
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
            &[Arg::Text(&retry_before), SWEEP_BATCH.into()],
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
    let cutoff = started.plus_seconds(-24 * 3600).rfc3339();
    let tokens = db
        .run(sql::PURGE_EXPIRED_REFRESH, &[Arg::Text(&cutoff)])
        .await?;
    let sessions = db
        .run(sql::PURGE_DEAD_SESSIONS, &[Arg::Text(&cutoff)])
        .await?;
    Ok(json!({
        "uploads_released": released,
        "deletions_requeued": requeued,
        "refresh_tokens_purged": tokens,
        "sessions_purged": sessions,
    }))
}
