//! Statements of background processing (SPEC §4): what the tasks read and record on a score,
//! the consumer's own attempt accounting (`task_runs`), and what the sweep finds lingering.

use crate::args;

use super::Stmt;

/// Whose file a processing task reads and records on: a score, or a part uploaded as its own
/// PDF (the same columns in `score_parts`, so the same statements serve both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of {
    Score,
    Part,
}

impl Of {
    pub const fn table(self) -> &'static str {
        match self {
            Self::Score => "scores",
            Self::Part => "score_parts",
        }
    }
}

/// What the processors need of a score or part ([`super::rows::ScoreFileRow`]); a pages part has
/// no file of its own and is never processed.
pub fn score_file(of: Of, id: &str) -> Stmt {
    Stmt::new(
        format!(
            "select id, object_key, size_bytes from {} where id = ?1 and object_key is not null",
            of.table()
        ),
        args![id],
    )
}

/// `pdf_info` succeeded. Processing results are not user edits: `updated_at` is left alone, and
/// running it twice writes the same values (idempotent). A part keeps its page count only.
pub fn pdf_info_ok(of: Of, id: &str, pages: u32, meta_json: &str, suggestions_json: &str) -> Stmt {
    match of {
        Of::Score => Stmt::new(
            "update scores set pages = ?2, pdf_meta = ?3, suggestions = ?4, pdf_info_state = 'ok', \
               pdf_info_reason = null where id = ?1",
            args![id, pages, meta_json, suggestions_json],
        ),
        Of::Part => Stmt::new(
            "update score_parts set pages = ?2, pdf_info_state = 'ok', pdf_info_reason = null where id = ?1",
            args![id, pages],
        ),
    }
}

/// An image stored for a score that no longer takes it (deleted meanwhile, or over its budget)
/// whose delete failed: put in the outbox, so the sweep sends its deletion (the image never
/// outlives its score). Changes nothing when the key is already there.
pub fn discard_later(key: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into deletions (object_key, requested_at) values (?1, ?2) \
         on conflict (object_key) do nothing",
        args![key, now],
    )
}

/// `pdf_info` failed for good.
pub fn pdf_info_failed(of: Of, id: &str, reason: &str) -> Stmt {
    Stmt::new(
        format!(
            "update {} set pdf_info_state = 'failed', pdf_info_reason = ?2 where id = ?1",
            of.table()
        ),
        args![id, reason],
    )
}

/// The thumbnail (`bytes` long) is stored at `key`. Changes nothing when the score (or part) was
/// deleted meanwhile (the task then deletes the image it stored).
pub fn thumbnail_ok(of: Of, id: &str, key: &str, bytes: i64) -> Stmt {
    Stmt::new(
        format!(
            "update {} set thumbnail_key = ?2, thumbnail_bytes = ?3, thumbnail_state = 'ok', \
               thumbnail_reason = null where id = ?1",
            of.table()
        ),
        args![id, key, bytes],
    )
}

/// The thumbnail failed for good.
pub fn thumbnail_failed(of: Of, id: &str, reason: &str) -> Stmt {
    Stmt::new(
        format!(
            "update {} set thumbnail_state = 'failed', thumbnail_reason = ?2 where id = ?1",
            of.table()
        ),
        args![id, reason],
    )
}

/// A processing task was given up (repeated failures, crashes, the dead-letter queue): marked
/// only while still pending (a late success stands).
pub fn pdf_info_gave_up(of: Of, id: &str, reason: &str) -> Stmt {
    Stmt::new(
        format!(
            "update {} set pdf_info_state = 'failed', pdf_info_reason = ?2 \
             where id = ?1 and pdf_info_state = 'pending'",
            of.table()
        ),
        args![id, reason],
    )
}

pub fn thumbnail_gave_up(of: Of, id: &str, reason: &str) -> Stmt {
    Stmt::new(
        format!(
            "update {} set thumbnail_state = 'failed', thumbnail_reason = ?2 \
             where id = ?1 and thumbnail_state = 'pending'",
            of.table()
        ),
        args![id, reason],
    )
}

/// Scores (or upload parts) with a task still pending, created between `after` and `before`,
/// oldest first, at most `limit` (`id`, `pdf_info`, `thumbnail`: whether each is pending); served
/// by the partial indexes `scores_processing_pending` and `score_parts_processing_pending`.
pub fn stale_processing(of: Of, before: &str, after: &str, limit: i64) -> Stmt {
    Stmt::new(
        format!(
            "select id, pdf_info_state = 'pending' as pdf_info, thumbnail_state = 'pending' as thumbnail \
             from {} where (pdf_info_state = 'pending' or thumbnail_state = 'pending') \
               and created_at < ?1 and created_at >= ?2 order by created_at limit ?3",
            of.table()
        ),
        args![before, after, limit],
    )
}

/// Gives up on tasks still pending for scores (or parts) created before `before`.
pub fn abandon_stale_processing(of: Of, before: &str, reason: &str) -> [Stmt; 2] {
    [
        Stmt::new(
            format!(
                "update {} set pdf_info_state = 'failed', pdf_info_reason = ?2 \
                 where pdf_info_state = 'pending' and created_at < ?1",
                of.table()
            ),
            args![before, reason],
        ),
        Stmt::new(
            format!(
                "update {} set thumbnail_state = 'failed', thumbnail_reason = ?2 \
                 where thumbnail_state = 'pending' and created_at < ?1",
                of.table()
            ),
            args![before, reason],
        ),
    ]
}

// ---- the consumer's record of each task ----

/// Records a task's outcome idempotently: redelivery updates the row and counts the attempt.
pub fn record_task(
    id: &str,
    task: &str,
    state: &str,
    detail: Option<&str>,
    message_id: &str,
    now: &str,
) -> Stmt {
    Stmt::new(
        "insert into task_runs (id, task, state, attempts, detail, message_id, created_at, updated_at) \
         values (?1, ?2, ?3, 1, ?4, ?5, ?6, ?6) \
         on conflict (id) do update set state = excluded.state, attempts = task_runs.attempts + 1, \
           detail = excluded.detail, message_id = excluded.message_id, updated_at = excluded.updated_at",
        args![id, task, state, detail, message_id, now],
    )
}

/// A delivery starts task `id` (named `task`): returns `crashes` (counting the previous delivery
/// if it started and never finished: its `started_at` is still set) and `failures`.
pub fn task_starts(id: &str, task: &str, now: &str) -> Stmt {
    Stmt::new(
        "insert into task_runs (id, task, state, attempts, created_at, updated_at, started_at) \
         values (?1, ?2, 'pending', 0, ?3, ?3, ?3) \
         on conflict (id) do update set crashes = task_runs.crashes + (task_runs.started_at is not null), \
           started_at = excluded.started_at, updated_at = excluded.updated_at \
         returning crashes, failures",
        args![id, task, now],
    )
}

/// Of `ids`, those whose last delivery started and never finished (it crashed the isolate).
pub fn unfinished_tasks(ids: &[String]) -> Stmt {
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    Stmt::new(
        "select id from task_runs where id in (select value from json_each(?1)) and started_at is not null",
        args![list],
    )
}

/// The delivery of task `id` ended without crashing: a transient error (`failed`) counts one
/// failure; a finished run clears the counts. Returns `failures`.
pub fn task_stops(id: &str, failed: bool) -> Stmt {
    Stmt::new(
        "update task_runs set started_at = null, \
           failures = case when ?2 then failures + 1 else 0 end, \
           crashes = case when ?2 then crashes else 0 end \
         where id = ?1 returning failures",
        args![id, failed],
    )
}

/// Task `id` was given up (or explicitly re-run): its counts start again from zero.
pub fn task_reset(id: &str) -> Stmt {
    Stmt::new(
        "update task_runs set started_at = null, failures = 0, crashes = 0 where id = ?1",
        args![id],
    )
}
