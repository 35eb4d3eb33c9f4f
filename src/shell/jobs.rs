//! Queue consumer and Cron sweep. Each message is acked or retried on its own; a message that
//! can never succeed is recorded and acked, and the dead-letter queue's messages are recorded for
//! admins.

use serde_json::json;
use worker::{
    console_error, console_log, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, RawMessage,
};

use crate::domain::time::Millis;
use crate::error::ApiResult;
use crate::jobs::{self, AfterError, Start, Task};
use crate::store::sql;

use super::ctx::now;
use super::ctx::{config, enqueue};
use super::d1::{Arg, Db};
use super::faults::{self, Fault};
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
    let queue = batch.queue();
    let messages: Vec<RawMessage> = batch.raw_iter().collect();
    if queue.ends_with(DLQ_SUFFIX) {
        for message in &messages {
            let body = body_of(message);
            let outcome = dead_letter(&db, &body, &message.id()).await;
            finish_plain(message, &queue, &body, outcome);
        }
        return;
    }
    let mut work = Vec::with_capacity(messages.len());
    for message in &messages {
        let body = body_of(message);
        match jobs::parse(&body) {
            Ok(task) => work.push((message, body, task)),
            // Poison: it will never parse, so retrying is pointless. Record and ack.
            Err(why) => {
                let id = message.id();
                let outcome = record(
                    &db,
                    &format!("poison:{id}"),
                    "unknown",
                    "failed",
                    Some(&why),
                    &id,
                )
                .await;
                finish_plain(message, &queue, &body, outcome);
            }
        }
    }
    // A task whose last delivery started and never finished stopped the isolate: it runs after
    // every other message has been acked, so a second crash takes none of them along.
    let suspects = unfinished(&db, work.iter().map(|(_, _, t)| t.record_id())).await;
    work.sort_by_key(|(_, _, task)| suspects.contains(&task.record_id()));
    for (message, body, task) in work {
        run_message(&env, &db, &queue, message, &body, &task).await;
    }
}

fn body_of(message: &RawMessage) -> serde_json::Value {
    serde_wasm_bindgen::from_value(message.body()).unwrap_or(serde_json::Value::Null)
}

/// Acks or retries a message that is not a task run (dead letters, poison), and logs it.
fn finish_plain(
    message: &RawMessage,
    queue: &str,
    body: &serde_json::Value,
    outcome: ApiResult<()>,
) {
    let result = match outcome {
        Ok(()) => {
            message.ack();
            "ack"
        }
        Err(e) => {
            message.retry();
            console_error!(
                "{}",
                json!({"level": "error", "msg": "task failed", "error": e.to_string()})
            );
            "retry"
        }
    };
    log_task(queue, body, result, now());
}

thread_local! {
    /// The largest wasm linear memory this isolate has reported (MiB).
    static MEMORY_HIGH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Logs (as a warning, kept at every log level) each time the isolate's wasm memory grows past
/// its previous high: a Worker has 128 MB, and memory a wasm module takes is never given back.
fn report_memory() {
    let mib = core::arch::wasm32::memory_size(0) * 64 / 1024;
    if mib > MEMORY_HIGH.with(std::cell::Cell::get) {
        MEMORY_HIGH.with(|m| m.set(mib));
        worker::console_warn!(
            "{}",
            json!({"level": "warn", "msg": "wasm memory grew", "wasm_memory_mib": mib})
        );
    }
}

fn log_task(queue: &str, body: &serde_json::Value, outcome: &str, started: Millis) {
    report_memory();
    console_log!(
        "{}",
        json!({
            "level": if outcome == "ack" { "info" } else { "warn" },
            "msg": "task",
            "queue": queue,
            "task": body.get("task").and_then(|t| t.as_str()).unwrap_or("unknown"),
            "outcome": outcome,
            "duration_ms": now().0 - started.0,
        })
    );
}

/// Record ids among `ids` whose last delivery started and never finished.
async fn unfinished(db: &Db, ids: impl Iterator<Item = String>) -> Vec<String> {
    let ids: Vec<String> = ids.collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    db.all::<Id>(sql::UNFINISHED_TASKS, &[(&list).into()])
        .await
        .map(|rows| rows.into_iter().map(|r| r.id).collect())
        .unwrap_or_default()
}

#[derive(serde::Deserialize)]
struct Counts {
    crashes: i64,
}

#[derive(serde::Deserialize)]
struct Failures {
    failures: i64,
}

/// Runs one task message: deferred near the CPU limit (not counted as an attempt), given up
/// after repeated crashes or errors (counted by the consumer, not the queue), otherwise run and
/// acked, or retried with back-off on a transient error.
async fn run_message(
    env: &Env,
    db: &Db,
    queue: &str,
    message: &RawMessage,
    body: &serde_json::Value,
    task: &Task,
) {
    let started = now();
    let id = task.record_id();
    // Earlier messages used this invocation's CPU budget: leave the rest to a fresh invocation
    // rather than be cut off mid-task.
    if worker::signal::is_near_cpu_limit()
        || faults::take("queue.defer", &id).await == Some(Fault::Defer)
    {
        message.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(jobs::DEFER_SECONDS)
                .build(),
        );
        log_task(queue, body, "deferred", started);
        return;
    }
    let start = db
        .first::<Counts>(
            sql::TASK_STARTS,
            &[
                (&id).into(),
                task.name().into(),
                (&started.rfc3339()).into(),
            ],
        )
        .await;
    let outcome = match start.map(|c| jobs::start(c.map_or(0, |c| c.crashes))) {
        Err(e) => Err(e),
        Ok(Start::GiveUp) => give_up(db, task, jobs::CRASHED, &message.id()).await,
        Ok(Start::Run | Start::RunLast) => match faults::take("queue.run", &id).await {
            Some(Fault::Trap) => faults::trap("queue.run"),
            Some(Fault::Fail) => Err(ApiError::Storage("injected fault".into())),
            _ => run(env, db, task, &message.id()).await,
        },
    };
    let result = match outcome {
        Ok(()) => match db.run(sql::TASK_STOPS, &[(&id).into(), 0.into()]).await {
            Ok(_) => {
                message.ack();
                "ack"
            }
            Err(_) => {
                message.retry();
                "retry"
            }
        },
        Err(e) => {
            console_error!(
                "{}",
                json!({"level": "error", "msg": "task failed", "task": task.name(), "error": e.to_string()})
            );
            let failures = db
                .first::<Failures>(sql::TASK_STOPS, &[(&id).into(), 1.into()])
                .await
                .ok()
                .flatten()
                .map_or(1, |f| f.failures);
            match jobs::after_error(failures) {
                AfterError::RetryIn(seconds) => {
                    message.retry_with_options(
                        &QueueRetryOptionsBuilder::new()
                            .with_delay_seconds(seconds)
                            .build(),
                    );
                    "retry"
                }
                AfterError::GiveUp => {
                    if give_up(db, task, jobs::FAILED_REPEATEDLY, &message.id())
                        .await
                        .is_ok()
                    {
                        message.ack();
                        "gave_up"
                    } else {
                        message.retry();
                        "retry"
                    }
                }
            }
        }
    };
    log_task(queue, body, result, started);
}

/// Ends a task for good: its score task or page render is marked failed with `reason` (so it
/// never stays `pending`), the outcome recorded, and its counters reset so an explicit re-run
/// starts afresh. A deletion stays in the outbox, which the sweep retries.
async fn give_up(db: &Db, task: &Task, reason: &str, message_id: &str) -> ApiResult<()> {
    mark_failed(db, task, reason).await?;
    record(
        db,
        &task.record_id(),
        task.name(),
        "failed",
        Some(reason),
        message_id,
    )
    .await?;
    db.run(sql::TASK_RESET, &[(&task.record_id()).into()])
        .await
        .map(drop)
}

/// Marks what a task was producing as failed with `reason` (only while still pending).
async fn mark_failed(db: &Db, task: &Task, reason: &str) -> ApiResult<()> {
    match task {
        Task::PdfInfo { score_id } => {
            db.run(sql::PDF_INFO_GAVE_UP, &[score_id.into(), reason.into()])
                .await?;
        }
        Task::Thumbnail { score_id } => {
            db.run(sql::THUMBNAIL_GAVE_UP, &[score_id.into(), reason.into()])
                .await?;
        }
        Task::RenderPage {
            score_id,
            page,
            width,
        } => {
            db.run(
                sql::RENDER_FAILED,
                &[
                    score_id.into(),
                    i64::from(*page).into(),
                    i64::from(*width).into(),
                    reason.into(),
                    (&now().rfc3339()).into(),
                ],
            )
            .await?;
        }
        Task::Ping { .. } | Task::DeleteFile { .. } => {}
    }
    Ok(())
}

/// Records a dead-lettered message for admins and marks what its task was producing failed, so
/// nothing stays `pending`. (The consumer gives up on tasks itself; the dead-letter queue is the
/// backstop for messages delivered more times than the queue allows.)
async fn dead_letter(db: &Db, body: &serde_json::Value, message_id: &str) -> ApiResult<()> {
    if let Ok(task) = jobs::parse(body) {
        mark_failed(db, &task, jobs::GAVE_UP).await?;
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
        Task::RenderPage {
            score_id,
            page,
            width,
        } => render_page(env, db, task, score_id, (*page, *width), message_id).await,
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
            let files = Files::new(env)?;
            let size = i64::try_from(thumb.png.len()).unwrap_or(i64::MAX);
            files.put_bytes(&key, thumb.png, "image/png").await?;
            // Stored first, recorded second: if the score was deleted meanwhile the row update
            // changes nothing and the image goes (the score's delete_file may have run already).
            let kept = db
                .run(
                    sql::THUMBNAIL_OK,
                    &[score_id.into(), (&key).into(), size.into()],
                )
                .await?;
            if kept == 0 {
                files.delete(&key).await?;
            }
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

#[derive(serde::Deserialize)]
struct RenderJob {
    state: String,
    object_key: String,
    size_bytes: i64,
}

/// Renders one page image requested by `download-url?page=N` and records its outcome on the
/// render's row: stored and counted within the score's budget, or failed with the reason later
/// requests are told (never rendered twice). Idempotent: a row no longer pending is done.
async fn render_page(
    env: &Env,
    db: &Db,
    task: &Task,
    score_id: &str,
    (page, width): (u32, u32),
    message_id: &str,
) -> ApiResult<()> {
    let at: [Arg<'_>; 3] = [
        score_id.into(),
        i64::from(page).into(),
        i64::from(width).into(),
    ];
    let record_id = task.record_id();
    let done = |detail| record(db, &record_id, task.name(), "ok", Some(detail), message_id);
    let Some(job) = db.first::<RenderJob>(sql::RENDER_JOB, &at).await? else {
        return done("no longer requested").await;
    };
    if job.state != "pending" {
        return done("already rendered").await;
    }
    let file = ScoreFileRow {
        id: score_id.to_owned(),
        object_key: job.object_key,
        size_bytes: job.size_bytes,
    };
    let rendered = match load_pdf(env, &file).await? {
        Ok(bytes) => {
            let number = usize::try_from(page).unwrap_or(usize::MAX);
            let limits = thumbnail::Limits::page(width);
            thumbnail::page_png(bytes, number, limits).map_err(|f| f.to_string())
        }
        Err(reason) => Err(reason),
    };
    let now_text = now().rfc3339();
    let image = match rendered {
        Ok(image) => image,
        Err(reason) => {
            db.run(
                sql::RENDER_FAILED,
                &[at[0], at[1], at[2], (&reason).into(), (&now_text).into()],
            )
            .await?;
            return record(
                db,
                &task.record_id(),
                task.name(),
                "failed",
                Some(&reason),
                message_id,
            )
            .await;
        }
    };
    let key = keys::page_image(&file.object_key, page, width);
    let size = i64::try_from(image.png.len()).unwrap_or(i64::MAX);
    let files = Files::new(env)?;
    files.put_bytes(&key, image.png, "image/png").await?;
    let config = config(env)?;
    let stored = db
        .run(
            sql::RENDER_OK,
            &[
                file.size_bytes.into(),
                config.derived_min_bytes.into(),
                at[0],
                at[1],
                at[2],
                size.into(),
                (&now_text).into(),
            ],
        )
        .await?;
    if stored == 0 {
        // The score was deleted meanwhile, or the image does not fit its budget: it goes.
        files.delete(&key).await?;
        let reason = "the page images of this score fill its storage budget";
        db.run(
            sql::RENDER_FAILED,
            &[at[0], at[1], at[2], reason.into(), (&now_text).into()],
        )
        .await?;
    }
    done("rendered").await
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
    let (renders_requeued, renders_abandoned) = requeue_renders(env, &db, started).await?;
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
        "renders_requeued": renders_requeued,
        "renders_abandoned": renders_abandoned,
        "rate_windows_purged": rate_windows,
        "refresh_tokens_purged": tokens,
        "sessions_purged": sessions,
    }))
}

/// A page render pending this long lost its message (a failed send): it is sent again.
const RENDER_REQUEUE_SECONDS: i64 = 5 * 60;

#[derive(serde::Deserialize)]
struct StaleRender {
    score_id: String,
    page: u32,
    width: u32,
}

/// Re-sends renders pending for [`RENDER_REQUEUE_SECONDS`] and gives up on those pending after
/// [`jobs::ABANDON_AFTER_SECONDS`] (renders are idempotent, so a duplicate is harmless).
async fn requeue_renders(env: &Env, db: &Db, started: Millis) -> ApiResult<(usize, usize)> {
    let abandon_before = started.plus_seconds(-jobs::ABANDON_AFTER_SECONDS).rfc3339();
    let abandoned = db
        .run(
            sql::ABANDON_STALE_RENDERS,
            &[Arg::Text(&abandon_before), jobs::NEVER_FINISHED.into()],
        )
        .await?;
    let before = started.plus_seconds(-RENDER_REQUEUE_SECONDS).rfc3339();
    let now_text = started.rfc3339();
    let stale = db
        .all::<StaleRender>(
            sql::STALE_RENDERS,
            &[Arg::Text(&before), SWEEP_BATCH.into(), Arg::Text(&now_text)],
        )
        .await?;
    let tasks: Vec<Task> = stale
        .into_iter()
        .map(|r| Task::RenderPage {
            score_id: r.score_id,
            page: r.page,
            width: r.width,
        })
        .collect();
    let count = tasks.len();
    if !tasks.is_empty() {
        enqueue(env, tasks).await?;
    }
    Ok((count, abandoned))
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
