//! Queue consumer and Cron sweep. Each message is acked or retried on its own; a message that
//! can never succeed is recorded and acked, and the dead-letter queue's messages are recorded for
//! admins.

use serde_json::json;
use worker::{console_error, console_log, Env, MessageBatch, MessageExt};

use crate::error::ApiResult;
use crate::jobs::{self, Task};
use crate::store::sql;

use super::ctx::now;
use super::d1::{Arg, Db};

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
                Ok(task) => run(&db, &task, &id).await,
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

async fn run(db: &Db, task: &Task, message_id: &str) -> ApiResult<()> {
    match task {
        Task::Ping { .. } => {
            record(db, &task.record_id(), task.name(), "ok", None, message_id).await
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

/// The Cron Trigger: forgets refresh tokens and sessions dead for more than a day.
pub async fn sweep(cron: &str, env: Env) {
    let started = now();
    let cutoff = started.plus_seconds(-24 * 3600).rfc3339();
    let result = async {
        let db = Db::new(
            env.d1("DB")
                .map_err(|e| crate::error::ApiError::internal(e.to_string()))?,
        );
        let tokens = db
            .run(sql::PURGE_EXPIRED_REFRESH, &[Arg::Text(&cutoff)])
            .await?;
        let sessions = db
            .run(sql::PURGE_DEAD_SESSIONS, &[Arg::Text(&cutoff)])
            .await?;
        ApiResult::Ok((tokens, sessions))
    }
    .await;
    match result {
        Ok((tokens, sessions)) => console_log!(
            "{}",
            json!({"level": "info", "msg": "sweep", "cron": cron, "refresh_tokens_purged": tokens, "sessions_purged": sessions, "duration_ms": now().0 - started.0})
        ),
        Err(e) => console_error!(
            "{}",
            json!({"level": "error", "msg": "sweep failed", "cron": cron, "error": e.to_string()})
        ),
    }
}
