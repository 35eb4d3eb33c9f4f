//! The queue consumer as the runtime sees it: messages are taken apart,
//! each task is run by `service::processing`, and the [`Disposition`] it decides is applied
//! (ack, retry after a delay). Near the CPU limit the rest of a batch is handed to a fresh
//! invocation; a message whose last delivery crashed the isolate runs after its batch-mates.

use serde_json::{json, Value};
use worker::{
    console_error, console_log, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, RawMessage,
};

use crate::domain::task::{self as jobs, Start, Task};
use crate::domain::time::Millis;
use crate::error::ApiError;
use crate::media::fonts;
use crate::service::processing::{self, Disposition};

use super::ctx::{now, Ctx};
use super::faults::{self, Fault};

/// Queue names ending in this suffix are dead-letter queues.
const DLQ_SUFFIX: &str = "-dlq";

/// A message taken apart once: its body, and the task it holds (or why it holds none).
struct Taken {
    message: RawMessage,
    body: Value,
    task: Result<Task, String>,
}

pub async fn consume(batch: MessageBatch<Value>, env: Env) {
    let queue = batch.queue();
    // Each message, dead letters included, is handled in its owner's database, a group at a time.
    let databases = super::ctx::config(&env).map_or(1, |c| c.d1_shards.len());
    let mut groups: std::collections::BTreeMap<usize, Vec<Taken>> = Default::default();
    for message in batch.raw_iter() {
        let body = body_of(&message);
        let task = jobs::parse(&body);
        let database = jobs::database_of_message(&task, databases);
        groups.entry(database).or_default().push(Taken {
            message,
            body,
            task,
        });
    }
    for (database, taken) in groups {
        consume_on(&env, database, &queue, taken).await;
    }
}

/// Installs the renderer's standard fonts from the script's static assets (`FONTS`: `fonts/`
/// of build/assets, copied from the repository's `fonts/`), once per isolate (`media::fonts`).
async fn install_fonts(env: &Env) -> Result<(), String> {
    let fetches = fonts::FILES.iter().map(|(_, file)| async move {
        if faults::take("assets.fetch", file).await == Some(Fault::Fail) {
            return Err(format!("{file}: injected fault"));
        }
        match super::assets::read(env, "FONTS", &format!("fonts/{file}")).await {
            Ok(Some(asset)) => Ok((*file, asset.bytes)),
            Ok(None) => Err(format!("{file}: not among the assets")),
            Err(e) => Err(format!("{file}: {e}")),
        }
    });
    let mut files = futures_util::future::join_all(fetches)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let fonts = fonts::Fonts::from_files(|wanted| {
        let at = files.iter().position(|(file, _)| *file == wanted)?;
        Some(files.swap_remove(at).1)
    })?;
    fonts::install(fonts);
    Ok(())
}

/// [`consume`]'s work for the messages whose rows are in database `database`.
async fn consume_on(env: &Env, database: usize, queue: &str, taken: Vec<Taken>) {
    let ctx = match Ctx::on_shard(env, database) {
        Ok(ctx) => ctx,
        Err(e) => {
            console_error!(
                "{}",
                json!({"level": "error", "msg": "queue: no context", "error": e.to_string()})
            );
            for t in &taken {
                t.message.retry();
            }
            return;
        }
    };
    let cx = ctx.cx("");
    if queue.ends_with(DLQ_SUFFIX) {
        for t in &taken {
            let outcome = processing::dead_letter(&cx, &t.body, &t.message.id()).await;
            apply(&t.message, queue, &t.body, plain(outcome), now());
        }
        return;
    }
    let mut work = Vec::with_capacity(taken.len());
    for t in &taken {
        match &t.task {
            Ok(task) => work.push((&t.message, &t.body, task)),
            // Poison: it will never parse, so retrying is pointless. Record and ack.
            Err(why) => {
                let outcome = processing::poison(&cx, &t.message.id(), why).await;
                apply(&t.message, queue, &t.body, plain(outcome), now());
            }
        }
    }
    if work.iter().any(|(_, _, task)| task.renders()) && !fonts::installed() {
        if let Err(why) = install_fonts(env).await {
            // Rendering without them would store thumbnails without their text: try again later.
            console_error!(
                "{}",
                json!({"level": "error", "msg": "queue: no standard fonts", "error": why})
            );
            for (message, _, _) in &work {
                message.retry();
            }
            return;
        }
    }
    let tasks: Vec<&Task> = work.iter().map(|(_, _, t)| *t).collect();
    let suspects = processing::unfinished(&cx, &tasks).await;
    work.sort_by_key(|(_, _, task)| suspects.contains(&task.record_id()));
    for (message, body, task) in work {
        let started = now();
        let id = task.record_id();
        // Earlier messages used this invocation's CPU budget: leave the rest to a fresh
        // invocation rather than be cut off mid-task (no attempt is counted).
        if worker::signal::is_near_cpu_limit()
            || faults::take("queue.defer", &id).await == Some(Fault::Defer)
        {
            message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(jobs::DEFER_SECONDS)
                    .build(),
            );
            log(queue, body, "deferred", started);
            continue;
        }
        let disposition = match processing::start(&cx, task).await {
            Err(_) => Disposition::Retry,
            Ok(Start::GiveUp) => {
                plain(processing::give_up(&cx, task, jobs::CRASHED, &message.id()).await)
            }
            Ok(Start::Run | Start::RunLast) => {
                let outcome = match faults::take("queue.run", &id).await {
                    Some(Fault::Trap) => faults::trap("queue.run"),
                    Some(Fault::Fail) => Err(ApiError::Storage("injected fault".into())),
                    _ => processing::run(&cx, task, &message.id()).await,
                };
                if let Err(e) = &outcome {
                    console_error!(
                        "{}",
                        json!({"level": "error", "msg": "task failed", "task": task.name(), "error": e.to_string()})
                    );
                }
                processing::finish(&cx, task, outcome, &message.id()).await
            }
        };
        apply(message, queue, body, disposition, started);
    }
}

fn body_of(message: &RawMessage) -> Value {
    serde_wasm_bindgen::from_value(message.body()).unwrap_or(Value::Null)
}

/// Recorded: ack; the record failed (the database is down): retry.
fn plain(outcome: crate::error::ApiResult<()>) -> Disposition {
    match outcome {
        Ok(()) => Disposition::Ack,
        Err(_) => Disposition::Retry,
    }
}

fn apply(message: &RawMessage, queue: &str, body: &Value, d: Disposition, started: Millis) {
    let outcome = match d {
        Disposition::Ack => {
            message.ack();
            "ack"
        }
        Disposition::RetryIn(seconds) => {
            message.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(seconds)
                    .build(),
            );
            "retry"
        }
        Disposition::Retry => {
            message.retry();
            "retry"
        }
    };
    log(queue, body, outcome, started);
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

fn log(queue: &str, body: &Value, outcome: &str, started: Millis) {
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
