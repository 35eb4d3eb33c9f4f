//! Background processing run natively through the ports (SQLite with the real migrations, an
//! in-memory object store with injectable failures, a recording queue): the consumer's own
//! attempt accounting (start, finish, give up), which failures are permanent (recorded on the
//! score, acked) and which transient (retried with back-off), what each task leaves in the rows
//! and the store, a score deleted while its task ran, and what the Cron sweep finds lingering.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::pdf::pdf;
use common::ports::{block_on, MemBlobs, RecordingTasks, SqliteDb, TestPorts, World};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use scoremate::domain::task::{self as jobs, Start, Task};
use scoremate::error::{ApiError, ApiResult};
use scoremate::ports::{Blobs, Db, ObjectInfo, Outcome, Ports};
use scoremate::service::library::{self, Download};
use scoremate::service::processing::{self, Disposition};
use scoremate::service::Cx;
use scoremate::store::Stmt;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn sha(bytes: &[u8]) -> String {
    scoremate::domain::hex(&Sha256::digest(bytes))
}

/// Reserves, stores and creates a score of `bytes`: its id and object key. The tasks the create
/// sent are drained.
fn scored(w: &World, user: &str, bytes: &[u8]) -> (String, String) {
    let up = block_on(library::create_upload(
        &w.cx(),
        user,
        body(
            json!({"filename": "a.pdf", "size": bytes.len(), "mime": "application/pdf", "sha256": sha(bytes)}),
        ),
    ))
    .unwrap();
    let upload = up.upload_id.clone();
    let key = format!("u/{user}/s/{upload}.pdf");
    w.ports.blobs.store(&key, bytes);
    let text = block_on(library::create_score(
        &w.cx(),
        user,
        body(json!({"upload_id": upload, "title": "Nocturne"})),
    ))
    .unwrap();
    let score: Value = serde_json::from_str(&text).unwrap();
    w.ports.tasks.drain();
    (score["id"].as_str().unwrap().to_owned(), key)
}

fn info(id: &str) -> Task {
    Task::PdfInfo {
        score_id: id.into(),
    }
}

fn thumb(id: &str) -> Task {
    Task::Thumbnail {
        score_id: id.into(),
    }
}

/// `(pdf_info_state, pdf_info_reason, thumbnail_state, thumbnail_reason)` of a score.
fn states(w: &World, id: &str) -> (String, Option<String>, String, Option<String>) {
    w.db()
        .query_row(
            "select pdf_info_state, pdf_info_reason, thumbnail_state, thumbnail_reason \
             from scores where id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

/// A task's record: `(state, attempts, failures, crashes, started, detail)`.
#[derive(Debug, PartialEq)]
struct Run {
    state: String,
    attempts: i64,
    failures: i64,
    crashes: i64,
    started: bool,
    detail: Option<String>,
}

fn run_of(w: &World, record_id: &str) -> Option<Run> {
    w.db()
        .query_row(
            "select state, attempts, failures, crashes, started_at is not null, detail \
             from task_runs where id = ?1",
            [record_id],
            |r| {
                Ok(Run {
                    state: r.get(0)?,
                    attempts: r.get(1)?,
                    failures: r.get(2)?,
                    crashes: r.get(3)?,
                    started: r.get(4)?,
                    detail: r.get(5)?,
                })
            },
        )
        .ok()
}

fn transient() -> ApiResult<()> {
    Err(ApiError::Storage("storage is down".into()))
}

/// One delivery as the consumer makes it: start, then run (or give up on a crasher), then
/// finish. Its disposition.
fn deliver(w: &World, task: &Task, message: &str) -> Disposition {
    let cx = w.cx();
    match block_on(processing::start(&cx, task)) {
        Err(_) => Disposition::Retry,
        Ok(Start::GiveUp) => {
            match block_on(processing::give_up(&cx, task, jobs::CRASHED, message)) {
                Ok(()) => Disposition::Ack,
                Err(_) => Disposition::Retry,
            }
        }
        Ok(Start::Run | Start::RunLast) => {
            let outcome = block_on(processing::run(&cx, task, message));
            block_on(processing::finish(&cx, task, outcome, message))
        }
    }
}

// ---- start, unfinished, finish ----

#[test]
fn only_a_delivery_that_started_and_never_finished_is_unfinished() {
    let w = World::new();
    let cx = w.cx();
    assert!(block_on(processing::unfinished(&cx, &[])).is_empty());
    let (crashed, done, fresh) = (
        Task::Ping { id: "a".into() },
        Task::Ping { id: "b".into() },
        Task::Ping { id: "c".into() },
    );
    assert_eq!(
        block_on(processing::start(&cx, &crashed)).unwrap(),
        Start::Run
    );
    block_on(processing::start(&cx, &done)).unwrap();
    assert_eq!(
        block_on(processing::finish(&cx, &done, Ok(()), "m")),
        Disposition::Ack
    );
    let found = block_on(processing::unfinished(&cx, &[&crashed, &done, &fresh]));
    assert_eq!(found, vec!["ping:a".to_owned()]);
    // The database down: nothing is suspected (the batch runs in order) rather than failing.
    w.ports.db.fail_next("from task_runs", 1);
    assert!(block_on(processing::unfinished(&cx, &[&crashed])).is_empty());
}

#[test]
fn a_task_that_crashed_once_runs_last_and_twice_is_given_up_and_recorded() {
    let w = World::new();
    let u = w.user("crash@example.com", 1 << 30);
    let (id, _) = scored(&w, &u, &pdf(1, "crash"));
    let task = thumb(&id);
    let cx = w.cx();
    assert_eq!(block_on(processing::start(&cx, &task)).unwrap(), Start::Run);
    // The isolate died: the next delivery finds it started.
    assert_eq!(
        block_on(processing::start(&cx, &task)).unwrap(),
        Start::RunLast
    );
    assert_eq!(
        block_on(processing::start(&cx, &task)).unwrap(),
        Start::GiveUp
    );
    assert_eq!(run_of(&w, &task.record_id()).unwrap().crashes, 2);
    // What the consumer does on GiveUp: the score is not left pending.
    assert_eq!(deliver(&w, &task, "m3"), Disposition::Ack);
    let (pdf_info, _, thumbnail, reason) = states(&w, &id);
    assert_eq!(thumbnail, "failed");
    assert_eq!(reason.as_deref(), Some(jobs::CRASHED));
    assert_eq!(pdf_info, "pending", "the other task is not touched");
    let run = run_of(&w, &task.record_id()).unwrap();
    assert_eq!(run.state, "failed");
    assert_eq!((run.failures, run.crashes, run.started), (0, 0, false));
}

#[test]
fn a_crash_followed_by_a_finished_run_starts_afresh() {
    let w = World::new();
    let task = Task::Ping { id: "p".into() };
    let cx = w.cx();
    block_on(processing::start(&cx, &task)).unwrap();
    assert_eq!(
        block_on(processing::start(&cx, &task)).unwrap(),
        Start::RunLast
    );
    assert_eq!(
        block_on(processing::finish(&cx, &task, Ok(()), "m")),
        Disposition::Ack
    );
    assert_eq!(block_on(processing::start(&cx, &task)).unwrap(), Start::Run);
}

#[test]
fn a_start_the_database_refuses_is_an_error_and_counts_nothing() {
    let w = World::new();
    let task = Task::Ping { id: "p".into() };
    w.ports.db.fail_next("insert into task_runs", 1);
    assert!(block_on(processing::start(&w.cx(), &task)).is_err());
    assert!(run_of(&w, &task.record_id()).is_none());
    assert_eq!(deliver(&w, &task, "m"), Disposition::Ack);
}

#[test]
fn transient_errors_back_off_and_the_fifth_gives_up_marking_the_score_failed() {
    let w = World::new();
    let u = w.user("backoff@example.com", 1 << 30);
    let (id, _) = scored(&w, &u, &pdf(1, "backoff"));
    let task = info(&id);
    let cx = w.cx();
    let mut seen = Vec::new();
    for i in 0..5 {
        block_on(processing::start(&cx, &task)).unwrap();
        seen.push(block_on(processing::finish(
            &cx,
            &task,
            transient(),
            &format!("m{i}"),
        )));
        if i < 4 {
            assert_eq!(states(&w, &id).0, "pending", "still retried after {i}");
        }
    }
    assert_eq!(
        seen,
        [
            Disposition::RetryIn(10),
            Disposition::RetryIn(20),
            Disposition::RetryIn(40),
            Disposition::RetryIn(80),
            Disposition::Ack,
        ]
    );
    let (state, reason, thumbnail, _) = states(&w, &id);
    assert_eq!(state, "failed");
    assert_eq!(reason.as_deref(), Some(jobs::FAILED_REPEATEDLY));
    assert_eq!(thumbnail, "pending");
    let run = run_of(&w, &task.record_id()).unwrap();
    assert_eq!(run.state, "failed");
    assert_eq!(run.detail.as_deref(), Some(jobs::FAILED_REPEATEDLY));
    assert_eq!(run.failures, 0, "reset: an explicit re-run starts afresh");
}

#[test]
fn a_success_clears_the_failures_so_the_back_off_starts_again() {
    let w = World::new();
    let task = Task::Ping { id: "p".into() };
    let cx = w.cx();
    for _ in 0..3 {
        block_on(processing::start(&cx, &task)).unwrap();
        block_on(processing::finish(&cx, &task, transient(), "m"));
    }
    assert_eq!(run_of(&w, &task.record_id()).unwrap().failures, 3);
    block_on(processing::start(&cx, &task)).unwrap();
    assert_eq!(
        block_on(processing::finish(&cx, &task, Ok(()), "m")),
        Disposition::Ack
    );
    let run = run_of(&w, &task.record_id()).unwrap();
    assert_eq!((run.failures, run.started), (0, false));
    block_on(processing::start(&cx, &task)).unwrap();
    assert_eq!(
        block_on(processing::finish(&cx, &task, transient(), "m")),
        Disposition::RetryIn(10)
    );
}

#[test]
fn an_outcome_that_cannot_be_recorded_is_delivered_again() {
    let w = World::new();
    let u = w.user("norecord@example.com", 1 << 30);
    let (id, _) = scored(&w, &u, &pdf(1, "norecord"));
    let task = info(&id);
    let cx = w.cx();
    // A success whose stop cannot be written: retried (the task is idempotent).
    block_on(processing::start(&cx, &task)).unwrap();
    w.ports.db.fail_next("update task_runs", 1);
    assert_eq!(
        block_on(processing::finish(&cx, &task, Ok(()), "m")),
        Disposition::Retry
    );
    // A failure whose count cannot be read counts as the first: a short retry, never a give-up.
    w.ports.db.fail_next("update task_runs", 1);
    assert_eq!(
        block_on(processing::finish(&cx, &task, transient(), "m")),
        Disposition::RetryIn(10)
    );
    // The fifth failure whose give-up cannot be written: retried, the score still pending.
    w.db()
        .execute(
            "update task_runs set failures = 4 where id = ?1",
            [task.record_id()],
        )
        .unwrap();
    w.ports.db.fail_next("update scores set pdf_info_state", 1);
    assert_eq!(
        block_on(processing::finish(&cx, &task, transient(), "m")),
        Disposition::Retry
    );
    assert_eq!(states(&w, &id).0, "pending");
}

// ---- give_up, poison, dead_letter ----

#[test]
fn giving_up_marks_only_what_is_still_pending_and_a_deletion_stays_in_the_outbox() {
    let w = World::new();
    let u = w.user("giveup@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(1, "giveup"));
    let cx = w.cx();
    // A late success stands.
    block_on(processing::run(&cx, &info(&id), "m")).unwrap();
    block_on(processing::give_up(&cx, &info(&id), "why", "m")).unwrap();
    assert_eq!(states(&w, &id).0, "ok");
    assert_eq!(run_of(&w, &info(&id).record_id()).unwrap().state, "failed");
    block_on(processing::give_up(&cx, &thumb(&id), "why", "m")).unwrap();
    assert_eq!(states(&w, &id).3.as_deref(), Some("why"));
    // A deletion given up: the objects stay, and so does the outbox row the sweep retries.
    block_on(common::ports::delete_for_good(&cx, &u, &id)).unwrap();
    let delete = Task::DeleteFile { key: key.clone() };
    block_on(processing::give_up(&cx, &delete, "why", "m")).unwrap();
    assert_eq!(w.count("select count(*) from deletions"), 1);
    assert!(w.ports.blobs.has(&key));
    w.assert_ledger();
}

#[test]
fn a_poison_message_is_recorded_once_per_message_and_never_retried() {
    let w = World::new();
    let cx = w.cx();
    block_on(processing::poison(
        &cx,
        "msg-1",
        "unknown variant `explode`",
    ))
    .unwrap();
    block_on(processing::poison(
        &cx,
        "msg-1",
        "unknown variant `explode`",
    ))
    .unwrap();
    let run = run_of(&w, "poison:msg-1").unwrap();
    assert_eq!(run.state, "failed");
    assert_eq!(run.attempts, 2, "redelivery hits the same row");
    assert_eq!(run.detail.as_deref(), Some("unknown variant `explode`"));
    assert_eq!(w.count("select count(*) from task_runs"), 1);
    w.ports.db.fail_next("insert into task_runs", 1);
    assert!(block_on(processing::poison(&cx, "msg-2", "x")).is_err());
}

#[test]
fn a_dead_letter_is_recorded_and_what_it_was_producing_stops_being_pending() {
    let w = World::new();
    let u = w.user("dead@example.com", 1 << 30);
    let (id, _) = scored(&w, &u, &pdf(1, "dead"));
    let cx = w.cx();
    let message = serde_json::to_value(thumb(&id)).unwrap();
    block_on(processing::dead_letter(&cx, &message, "d1")).unwrap();
    let (pdf_info, _, thumbnail, reason) = states(&w, &id);
    assert_eq!(
        (pdf_info.as_str(), thumbnail.as_str()),
        ("pending", "failed")
    );
    assert_eq!(reason.as_deref(), Some(jobs::GAVE_UP));
    let run = run_of(&w, "dead:d1").unwrap();
    assert_eq!(run.state, "dead");
    assert_eq!(
        serde_json::from_str::<Value>(run.detail.as_deref().unwrap()).unwrap(),
        message
    );
    // Not a task: recorded all the same, nothing else changed.
    block_on(processing::dead_letter(
        &cx,
        &json!({"task": "explode"}),
        "d2",
    ))
    .unwrap();
    assert_eq!(run_of(&w, "dead:d2").unwrap().state, "dead");
    assert_eq!(states(&w, &id).0, "pending");
    // The database down: an error, so the message is delivered again.
    w.ports.db.fail_next("update scores", 1);
    let info_message = serde_json::to_value(info(&id)).unwrap();
    assert!(block_on(processing::dead_letter(&cx, &info_message, "d3")).is_err());
    assert!(run_of(&w, "dead:d3").is_none());
    assert_eq!(states(&w, &id).0, "pending");
}

// ---- run: what each task leaves ----

#[test]
fn a_real_pdf_gets_its_page_count_and_thumbnail_recorded_and_a_rerun_changes_nothing() {
    let w = World::new();
    let u = w.user("real@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(3, "real"));
    for task in [info(&id), thumb(&id)] {
        assert_eq!(deliver(&w, &task, "m1"), Disposition::Ack);
        assert_eq!(run_of(&w, &task.record_id()).unwrap().state, "ok");
    }
    let (pages, meta, thumb_key, thumb_bytes): (i64, String, String, i64) = w
        .db()
        .query_row(
            "select pages, pdf_meta, thumbnail_key, thumbnail_bytes from scores where id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(pages, 3);
    assert!(serde_json::from_str::<Value>(&meta).is_ok());
    assert_eq!(states(&w, &id), ("ok".into(), None, "ok".into(), None));
    let expected = format!("{}/thumb-320.png", key.trim_end_matches(".pdf"));
    assert_eq!(thumb_key, expected);
    let png = w.ports.blobs.objects.borrow()[&expected].clone();
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(thumb_bytes, png.len() as i64);
    // Redelivered: same rows, same single image.
    assert_eq!(deliver(&w, &thumb(&id), "m2"), Disposition::Ack);
    assert_eq!(w.ports.blobs.keys().len(), 2);
    assert_eq!(run_of(&w, &thumb(&id).record_id()).unwrap().attempts, 2);
    w.assert_ledger();
}

#[test]
fn a_corrupt_pdf_is_a_permanent_failure_recorded_once_and_not_retried() {
    let w = World::new();
    let u = w.user("corrupt@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(2, "corrupt"));
    w.ports
        .blobs
        .store(&key, b"%PDF-1.7\nthis is no pdf at all\n%%EOF\n");
    for task in [info(&id), thumb(&id)] {
        assert_eq!(
            deliver(&w, &task, "m"),
            Disposition::Ack,
            "{task:?}: acked, not retried"
        );
        let run = run_of(&w, &task.record_id()).unwrap();
        assert_eq!((run.state.as_str(), run.failures), ("failed", 0));
        assert!(run.detail.is_some());
    }
    let (a, a_reason, b, b_reason) = states(&w, &id);
    assert_eq!((a.as_str(), b.as_str()), ("failed", "failed"));
    assert!(a_reason.is_some_and(|r| !r.is_empty()));
    assert!(b_reason.is_some_and(|r| !r.is_empty()));
    assert_eq!(w.ports.blobs.keys(), vec![key], "no thumbnail stored");
    // Nothing pending: the sweep sends nothing again.
    w.advance(31 * 60);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["processing_requeued"], 0);
    assert!(w.ports.tasks.drain().is_empty());
}

#[test]
fn a_file_missing_from_storage_is_permanent_but_storage_failing_is_transient() {
    let w = World::new();
    let u = w.user("missing@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(1, "missing"));
    // The store failing: the task is retried, the score stays pending, no failure recorded.
    w.ports.blobs.fail_next("read", &key, 2);
    for task in [info(&id), thumb(&id)] {
        assert_eq!(
            deliver(&w, &task, "m"),
            Disposition::RetryIn(10),
            "{task:?}"
        );
        let run = run_of(&w, &task.record_id()).unwrap();
        assert_eq!((run.state.as_str(), run.failures), ("pending", 1));
    }
    assert_eq!(
        states(&w, &id),
        ("pending".into(), None, "pending".into(), None)
    );
    // The object gone: permanent, recorded, acked.
    w.ports.blobs.objects.borrow_mut().remove(&key);
    for task in [info(&id), thumb(&id)] {
        assert_eq!(deliver(&w, &task, "m"), Disposition::Ack, "{task:?}");
    }
    let (a, a_reason, b, b_reason) = states(&w, &id);
    assert_eq!((a.as_str(), b.as_str()), ("failed", "failed"));
    assert_eq!(
        a_reason.as_deref(),
        Some("the file is missing from storage")
    );
    assert_eq!(
        b_reason.as_deref(),
        Some("the file is missing from storage")
    );
}

#[test]
fn a_database_error_while_recording_a_result_is_transient() {
    let w = World::new();
    let u = w.user("dbdown@example.com", 1 << 30);
    let (id, _) = scored(&w, &u, &pdf(1, "dbdown"));
    w.ports.db.fail_next("update scores set pages", 1);
    assert_eq!(deliver(&w, &info(&id), "m"), Disposition::RetryIn(10));
    assert_eq!(states(&w, &id).0, "pending");
    assert_eq!(deliver(&w, &info(&id), "m"), Disposition::Ack);
    assert_eq!(states(&w, &id).0, "ok");
}

#[test]
fn a_thumbnail_that_cannot_be_stored_is_transient_and_nothing_is_recorded() {
    let w = World::new();
    let u = w.user("noput@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(1, "noput"));
    w.ports.blobs.fail_next("put", "thumb-320", 1);
    assert_eq!(deliver(&w, &thumb(&id), "m"), Disposition::RetryIn(10));
    assert_eq!(states(&w, &id).2, "pending");
    assert_eq!(w.ports.blobs.keys(), vec![key]);
    assert_eq!(deliver(&w, &thumb(&id), "m"), Disposition::Ack);
    assert_eq!(states(&w, &id).2, "ok");
}

#[test]
fn a_file_over_the_whole_file_limit_is_inspected_by_ranges_and_not_rendered() {
    let w = World::with(&[("WHOLE_FILE_MAX_BYTES", "1024")]);
    let u = w.user("large@example.com", 1 << 30);
    let bytes = pdf(12, "large");
    assert!(bytes.len() > 1024);
    let (id, key) = scored(&w, &u, &bytes);
    assert_eq!(deliver(&w, &info(&id), "m"), Disposition::Ack);
    assert_eq!(
        w.count(&format!("select pages from scores where id = '{id}'")),
        12
    );
    assert_eq!(deliver(&w, &thumb(&id), "m"), Disposition::Ack);
    let (a, _, b, b_reason) = states(&w, &id);
    assert_eq!((a.as_str(), b.as_str()), ("ok", "failed"));
    assert!(b_reason.unwrap().starts_with("file too large to render"));
    assert_eq!(w.ports.blobs.keys(), vec![key.clone()]);
    // By ranges too: a read failing is transient, a missing object permanent.
    let w = World::with(&[("WHOLE_FILE_MAX_BYTES", "1024")]);
    let u = w.user("large2@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &bytes);
    w.ports.blobs.fail_next("read", &key, 1);
    assert_eq!(deliver(&w, &info(&id), "m"), Disposition::RetryIn(10));
    assert_eq!(states(&w, &id).0, "pending");
    w.ports.blobs.objects.borrow_mut().remove(&key);
    assert_eq!(deliver(&w, &info(&id), "m"), Disposition::Ack);
    assert_eq!(
        states(&w, &id).1.as_deref(),
        Some("the file is missing from storage")
    );
}

#[test]
fn a_task_for_a_score_deleted_before_it_ran_records_that_and_stores_nothing() {
    let w = World::new();
    let u = w.user("gone@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(1, "gone"));
    block_on(common::ports::delete_for_good(&w.cx(), &u, &id)).unwrap();
    for task in w.ports.tasks.drain() {
        block_on(processing::run(&w.cx(), &task, "d")).unwrap();
    }
    for task in [info(&id), thumb(&id)] {
        assert_eq!(deliver(&w, &task, "m"), Disposition::Ack);
        let run = run_of(&w, &task.record_id()).unwrap();
        assert_eq!(run.state, "ok");
        assert_eq!(run.detail.as_deref(), Some("score no longer exists"));
    }
    assert!(!w.ports.blobs.has(&key));
    assert!(w.ports.blobs.keys().is_empty());
    w.assert_ledger();
}

#[test]
fn a_ping_is_recorded_and_a_deletion_removes_the_file_its_images_and_its_outbox_row() {
    let w = World::new();
    assert_eq!(
        deliver(&w, &Task::Ping { id: "x".into() }, "m"),
        Disposition::Ack
    );
    assert_eq!(run_of(&w, "ping:x").unwrap().state, "ok");
    let u = w.user("del@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(1, "del"));
    deliver(&w, &thumb(&id), "m");
    assert_eq!(w.ports.blobs.keys().len(), 2);
    // Past the upload URL's expiry, so the outbox row may go.
    w.advance(901);
    block_on(common::ports::delete_for_good(&w.cx(), &u, &id)).unwrap();
    let delete = w.ports.tasks.drain().pop().unwrap();
    assert_eq!(delete, Task::DeleteFile { key: key.clone() });
    // The store failing: transient, the row stays.
    w.ports.blobs.fail_next("delete", &key, 1);
    assert_eq!(deliver(&w, &delete, "m"), Disposition::RetryIn(10));
    assert_eq!(w.count("select count(*) from deletions"), 1);
    assert_eq!(deliver(&w, &delete, "m"), Disposition::Ack);
    assert!(w.ports.blobs.keys().is_empty());
    assert_eq!(w.count("select count(*) from deletions"), 0);
    w.assert_ledger();
}

// ---- page renders ----

/// A 3-page score with its page count known, and page 2 asked for: the render task.
fn render_asked(w: &World, user: &str, nonce: &str) -> (String, String, Task) {
    let (id, key) = scored(w, user, &pdf(3, nonce));
    deliver(w, &info(&id), "m");
    let asked = block_on(library::download_url(
        &w.cx(),
        user,
        &id,
        &[("page".into(), "2".into())],
    ))
    .unwrap();
    assert_eq!(asked, Download::Pending);
    let task = w.ports.tasks.drain().pop().unwrap();
    assert!(matches!(task, Task::RenderPage { page: 2, .. }));
    (id, key, task)
}

fn render_row(w: &World, id: &str) -> (String, Option<String>, i64) {
    w.db()
        .query_row(
            "select state, reason, bytes from page_renders where score_id = ?1 and page = 2",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

#[test]
fn a_page_render_is_stored_and_counted_once_and_a_redelivery_renders_nothing() {
    let w = World::new();
    let u = w.user("render@example.com", 1 << 30);
    let (id, _, task) = render_asked(&w, &u, "render");
    assert_eq!(deliver(&w, &task, "m"), Disposition::Ack);
    let (state, reason, bytes) = render_row(&w, &id);
    assert_eq!((state.as_str(), reason), ("ok", None));
    let image = w
        .ports
        .blobs
        .keys()
        .into_iter()
        .find(|k| k.ends_with("/page-2-1240.png"))
        .unwrap();
    assert_eq!(
        bytes,
        w.ports.blobs.objects.borrow()[&image].len() as i64,
        "counted at its size"
    );
    w.ports.blobs.objects.borrow_mut().remove(&image);
    assert_eq!(deliver(&w, &task, "m2"), Disposition::Ack);
    assert!(!w.ports.blobs.has(&image), "not rendered twice");
    assert_eq!(
        run_of(&w, &task.record_id()).unwrap().detail.as_deref(),
        Some("already rendered")
    );
}

#[test]
fn a_page_image_over_the_scores_budget_is_deleted_and_the_render_failed() {
    let w = World::with(&[("DERIVED_MIN_BYTES", "0")]);
    let u = w.user("budget@example.com", 1 << 30);
    let (id, key, task) = render_asked(&w, &u, "budget");
    // The budget is twice the PDF: a thumbnail already using it leaves no room.
    w.db()
        .execute(
            "update scores set thumbnail_bytes = size_bytes * 2 where id = ?1",
            [&id],
        )
        .unwrap();
    assert_eq!(deliver(&w, &task, "m"), Disposition::Ack);
    let (state, reason, bytes) = render_row(&w, &id);
    assert_eq!(state, "failed");
    assert!(reason.unwrap().contains("budget"));
    assert_eq!(bytes, 0);
    assert_eq!(w.ports.blobs.keys(), vec![key]);
}

#[test]
fn an_unrenderable_page_is_a_permanent_failure_and_a_render_for_a_deleted_score_is_done() {
    let w = World::new();
    let u = w.user("badpage@example.com", 1 << 30);
    let (id, key, task) = render_asked(&w, &u, "badpage");
    w.ports.blobs.store(&key, b"%PDF-1.7\nbroken\n");
    assert_eq!(deliver(&w, &task, "m"), Disposition::Ack);
    let (state, reason, _) = render_row(&w, &id);
    assert_eq!(state, "failed");
    assert!(reason.is_some());
    assert_eq!(run_of(&w, &task.record_id()).unwrap().state, "failed");
    // The score deleted: its rows went with it, and the task is simply done.
    let (id2, _, task2) = render_asked(&w, &u, "badpage2");
    block_on(common::ports::delete_for_good(&w.cx(), &u, &id2)).unwrap();
    assert_eq!(deliver(&w, &task2, "m"), Disposition::Ack);
    assert_eq!(
        run_of(&w, &task2.record_id()).unwrap().detail.as_deref(),
        Some("no longer requested")
    );
    // Storage failing while reading the PDF: transient, the row stays pending.
    let (id3, key3, task3) = render_asked(&w, &u, "badpage3");
    w.ports.blobs.fail_next("read", &key3, 1);
    assert_eq!(deliver(&w, &task3, "m"), Disposition::RetryIn(10));
    assert_eq!(render_row(&w, &id3).0, "pending");
}

// ---- a score deleted while its task runs ----

type Hook<'a> = Rc<RefCell<Option<(String, Box<dyn FnOnce() + 'a>)>>>;

/// Runs the hook if `what` (a statement's SQL, or `put <key>` for the store) contains its
/// pattern: at most once.
fn due(hook: &Hook<'_>, what: &str) {
    let ready = matches!(&*hook.borrow(), Some((p, _)) if what.contains(p.as_str()));
    if ready {
        let (_, f) = hook.borrow_mut().take().unwrap();
        f();
    }
}

/// The test ports, but `hook` runs right before the first statement whose SQL contains
/// `pattern`, or the first store `put` whose `put <key>` does: what another request did while
/// the task ran.
struct Interleaved<'a> {
    ports: &'a TestPorts,
    db: HookedDb<'a>,
    blobs: HookedBlobs<'a>,
}

struct HookedDb<'a> {
    inner: &'a SqliteDb,
    hook: Hook<'a>,
}

struct HookedBlobs<'a> {
    inner: &'a MemBlobs,
    hook: Hook<'a>,
}

impl Db for HookedDb<'_> {
    async fn first<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Option<T>> {
        due(&self.hook, &stmt.sql);
        self.inner.first(stmt).await
    }

    async fn all<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Vec<T>> {
        due(&self.hook, &stmt.sql);
        self.inner.all(stmt).await
    }

    async fn run(&self, stmt: Stmt) -> ApiResult<usize> {
        due(&self.hook, &stmt.sql);
        self.inner.run(stmt).await
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<Outcome>> {
        let texts: Vec<&str> = stmts.iter().map(|s| s.sql.as_ref()).collect();
        due(&self.hook, &texts.join("\n"));
        self.inner.batch(stmts).await
    }
}

impl Blobs for HookedBlobs<'_> {
    async fn head(&self, key: &str) -> ApiResult<Option<ObjectInfo>> {
        self.inner.head(key).await
    }

    async fn read(&self, key: &str, range: Option<(u64, u64)>) -> ApiResult<Option<Vec<u8>>> {
        self.inner.read(key, range).await
    }

    async fn sha256(&self, key: &str) -> ApiResult<Option<Vec<u8>>> {
        self.inner.sha256(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> ApiResult<()> {
        due(&self.hook, &format!("put {key}"));
        self.inner.put(key, bytes, content_type).await
    }

    async fn delete(&self, key: &str) -> ApiResult<()> {
        self.inner.delete(key).await
    }

    async fn delete_prefix(&self, prefix: &str) -> ApiResult<usize> {
        self.inner.delete_prefix(prefix).await
    }

    async fn multipart_start(&self, key: &str, content_type: &str) -> ApiResult<String> {
        self.inner.multipart_start(key, content_type).await
    }

    async fn multipart_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> ApiResult<String> {
        self.inner
            .multipart_part(key, upload_id, number, bytes)
            .await
    }

    async fn multipart_complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<(u16, String)>,
    ) -> ApiResult<()> {
        self.inner.multipart_complete(key, upload_id, parts).await
    }

    async fn multipart_abort(&self, key: &str, upload_id: &str) -> ApiResult<()> {
        self.inner.multipart_abort(key, upload_id).await
    }
}

impl<'a> Ports for Interleaved<'a> {
    type Db = HookedDb<'a>;
    type Blobs = HookedBlobs<'a>;
    type Tasks = RecordingTasks;

    fn db(&self) -> &HookedDb<'a> {
        &self.db
    }

    fn blobs(&self) -> &HookedBlobs<'a> {
        &self.blobs
    }

    fn tasks(&self) -> &RecordingTasks {
        &self.ports.tasks
    }

    fn random(&self, out: &mut [u8]) -> ApiResult<()> {
        self.ports.random(out)
    }
}

impl<'a> Interleaved<'a> {
    fn new(w: &'a World, pattern: &str, hook: impl FnOnce() + 'a) -> Self {
        let hook: Hook<'a> = Rc::new(RefCell::new(Some((pattern.to_owned(), Box::new(hook)))));
        Self {
            ports: &w.ports,
            db: HookedDb {
                inner: &w.ports.db,
                hook: Rc::clone(&hook),
            },
            blobs: HookedBlobs {
                inner: &w.ports.blobs,
                hook,
            },
        }
    }

    fn cx<'b>(&'b self, w: &'b World) -> Cx<'b, Self> {
        Cx {
            ports: self,
            config: &w.config,
            now: w.now.get(),
            base_url: "https://scoremate.test",
        }
    }

    /// Whether the hook ran.
    fn ran(&self) -> bool {
        self.db.hook.borrow().is_none()
    }
}

/// Deletes the score as its owner would, and runs the deletion task it sent.
fn delete_now(w: &World, user: &str, id: &str) {
    block_on(common::ports::delete_for_good(&w.cx(), user, id)).unwrap();
    for task in w.ports.tasks.drain() {
        block_on(processing::run(&w.cx(), &task, "d")).unwrap();
    }
}

#[test]
fn a_score_deleted_while_its_thumbnail_rendered_leaves_no_object_behind() {
    let w = World::new();
    let u = w.user("race@example.com", 1 << 30);
    let (id, _) = scored(&w, &u, &pdf(1, "race"));
    w.advance(901);
    let (w_ref, u_ref, id_ref) = (&w, u.clone(), id.clone());
    // Deleted (and its deletion task run) after the task read the score, before it stored
    // the image.
    let racing = Interleaved::new(&w, "put u/", move || {
        delete_now(w_ref, &u_ref, &id_ref);
    });
    block_on(processing::run(&racing.cx(&w), &thumb(&id), "m")).unwrap();
    assert!(racing.ran());
    assert!(
        w.ports.blobs.keys().is_empty(),
        "orphans: {:?}",
        w.ports.blobs.keys()
    );
    assert_eq!(w.count("select count(*) from deletions"), 0);
    w.assert_ledger();
}

#[test]
fn a_score_deleted_while_its_thumbnail_rendered_with_the_cleanup_failing_leaves_no_orphan() {
    let w = World::new();
    let u = w.user("race2@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(1, "race2"));
    // Past the upload URL's expiry: the score's deletion is done at once, outbox row and all.
    w.advance(901);
    let (w_ref, u_ref, id_ref) = (&w, u.clone(), id.clone());
    let racing = Interleaved::new(&w, "put u/", move || {
        delete_now(w_ref, &u_ref, &id_ref);
        w_ref.ports.blobs.fail_next("delete", "thumb-320", 1);
    });
    let first = block_on(processing::run(&racing.cx(&w), &thumb(&id), "m"));
    assert!(racing.ran());
    // Not retried (a retry finds the score gone and never comes back to the image): the image
    // is left to the outbox, which the sweep sends.
    assert!(first.is_ok(), "{first:?}");
    let image = format!("{}/thumb-320.png", key.trim_end_matches(".pdf"));
    assert!(w.ports.blobs.has(&image));
    assert_eq!(
        w.count(&format!(
            "select count(*) from deletions where object_key = '{image}'"
        )),
        1
    );
    w.advance(6 * 60);
    block_on(processing::sweep(&w.cx())).unwrap();
    for task in w.ports.tasks.drain() {
        assert_eq!(deliver(&w, &task, "s"), Disposition::Ack);
    }
    assert!(
        w.ports.blobs.keys().is_empty(),
        "orphans: {:?}",
        w.ports.blobs.keys()
    );
    assert_eq!(w.count("select count(*) from deletions"), 0);
    w.assert_ledger();
}

#[test]
fn a_score_deleted_while_its_page_rendered_with_the_cleanup_failing_leaves_no_orphan() {
    let w = World::new();
    let u = w.user("race3@example.com", 1 << 30);
    let (id, _, task) = render_asked(&w, &u, "race3");
    w.advance(901);
    let (w_ref, u_ref, id_ref) = (&w, u.clone(), id.clone());
    let racing = Interleaved::new(&w, "put u/", move || {
        delete_now(w_ref, &u_ref, &id_ref);
        w_ref.ports.blobs.fail_next("delete", "page-2-1240", 1);
    });
    let first = block_on(processing::run(&racing.cx(&w), &task, "m"));
    assert!(racing.ran());
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(
        w.count("select count(*) from deletions where object_key like '%/page-2-1240.png'"),
        1,
        "the image is left to the outbox"
    );
    w.advance(6 * 60);
    block_on(processing::sweep(&w.cx())).unwrap();
    for task in w.ports.tasks.drain() {
        assert_eq!(deliver(&w, &task, "s"), Disposition::Ack);
    }
    assert!(
        w.ports.blobs.keys().is_empty(),
        "orphans: {:?}",
        w.ports.blobs.keys()
    );
    w.assert_ledger();
}

// ---- the sweep ----

fn sweep(w: &World) -> Value {
    block_on(processing::sweep(&w.cx())).unwrap()
}

#[test]
fn the_sweep_releases_expired_uploads_with_their_objects_and_reports_it() {
    let w = World::new();
    let u = w.user("sweep@example.com", 1 << 30);
    let bytes = pdf(1, "expired");
    let up = block_on(library::create_upload(
        &w.cx(),
        &u,
        body(
            json!({"filename": "a.pdf", "size": bytes.len(), "mime": "application/pdf", "sha256": sha(&bytes)}),
        ),
    ))
    .unwrap();
    let key = format!("u/{u}/s/{}.pdf", up.upload_id);
    w.ports.blobs.store(&key, &bytes);
    let (kept, kept_key) = scored(&w, &u, &pdf(1, "kept"));
    // Within the grace: nothing.
    w.advance(900 + 3600 - 1);
    assert_eq!(sweep(&w)["uploads_released"], 0);
    w.advance(1);
    let report = sweep(&w);
    assert_eq!(report["uploads_released"], 1);
    assert!(!w.ports.blobs.has(&key));
    assert!(w.ports.blobs.has(&kept_key), "a score's file stays");
    assert_eq!(
        w.count("select count(*) from uploads where state = 'expired'"),
        1
    );
    assert_eq!(w.count("select reserved_bytes from users"), 0);
    assert_eq!(sweep(&w)["uploads_released"], 0, "released once");
    assert!(block_on(library::get_score(&w.cx(), &u, &kept)).is_ok());
    w.assert_ledger();
}

#[test]
fn the_sweep_resends_a_lingering_deletion_once_per_delay() {
    let w = World::new();
    let u = w.user("linger@example.com", 1 << 30);
    let (id, key) = scored(&w, &u, &pdf(1, "linger"));
    w.advance(901);
    w.ports.tasks.refuse.set(true);
    block_on(common::ports::delete_for_good(&w.cx(), &u, &id)).unwrap();
    w.ports.tasks.refuse.set(false);
    assert!(w.ports.blobs.has(&key), "the deletion was never sent");
    assert_eq!(sweep(&w)["deletions_requeued"], 0, "not yet lingering");
    w.advance(5 * 60 + 1);
    assert_eq!(sweep(&w)["deletions_requeued"], 1);
    assert_eq!(
        sweep(&w)["deletions_requeued"],
        0,
        "stamped: once per delay"
    );
    let sent = w.ports.tasks.drain();
    assert_eq!(sent, vec![Task::DeleteFile { key: key.clone() }]);
    assert_eq!(deliver(&w, &sent[0], "s"), Disposition::Ack);
    assert!(!w.ports.blobs.has(&key));
    assert_eq!(w.count("select count(*) from deletions"), 0);
    w.assert_ledger();
}

#[test]
fn the_sweep_resends_lost_processing_and_gives_up_after_a_day() {
    let w = World::new();
    let u = w.user("lost@example.com", 1 << 30);
    let (id, _) = scored(&w, &u, &pdf(1, "lost"));
    let (done, _) = scored(&w, &u, &pdf(1, "done"));
    deliver(&w, &info(&done), "m");
    deliver(&w, &thumb(&done), "m");
    w.advance(29 * 60);
    assert_eq!(sweep(&w)["processing_requeued"], 0, "not lost yet");
    w.advance(2 * 60);
    let report = sweep(&w);
    assert_eq!(report["processing_requeued"], 2);
    assert_eq!(report["processing_abandoned"], 0);
    let mut sent = w.ports.tasks.drain();
    sent.sort_by_key(Task::name);
    assert_eq!(sent, vec![info(&id), thumb(&id)]);
    // Only the thumbnail still pending: only it is sent.
    deliver(&w, &info(&id), "m");
    assert_eq!(sweep(&w)["processing_requeued"], 1);
    assert_eq!(w.ports.tasks.drain(), vec![thumb(&id)]);
    w.advance(24 * 3600);
    let report = sweep(&w);
    assert_eq!(report["processing_abandoned"], 1);
    assert_eq!(report["processing_requeued"], 0);
    let (a, _, b, reason) = states(&w, &id);
    assert_eq!((a.as_str(), b.as_str()), ("ok", "failed"));
    assert_eq!(reason.as_deref(), Some(jobs::NEVER_FINISHED));
    assert_eq!(states(&w, &done).2, "ok");
}

#[test]
fn the_sweep_resends_stale_renders_once_per_delay_and_gives_up_after_a_day() {
    let w = World::new();
    let u = w.user("stale@example.com", 1 << 30);
    let (id, _, task) = render_asked(&w, &u, "stale");
    assert_eq!(sweep(&w)["renders_requeued"], 0);
    w.advance(5 * 60 + 1);
    assert_eq!(sweep(&w)["renders_requeued"], 1);
    assert_eq!(sweep(&w)["renders_requeued"], 0, "touched: once per delay");
    assert_eq!(w.ports.tasks.drain(), vec![task]);
    w.advance(24 * 3600);
    let report = sweep(&w);
    assert_eq!(report["renders_abandoned"], 1);
    assert_eq!(report["renders_requeued"], 0);
    let (state, reason, _) = render_row(&w, &id);
    assert_eq!(state, "failed");
    assert_eq!(reason.as_deref(), Some(jobs::NEVER_FINISHED));
}

#[test]
fn the_sweep_forgets_stale_rate_windows_and_reports_every_figure() {
    let w = World::new();
    let now = w.now.get().seconds();
    w.db()
        .execute(
            "insert into rate_windows (bucket, window_start, hits) values ('old', ?1, 3), ('new', ?2, 1)",
            [now - 2 * 86_400, now - 60],
        )
        .unwrap();
    let report = sweep(&w);
    assert_eq!(
        report,
        json!({
            "uploads_released": 0,
            "deletions_requeued": 0,
            "processing_requeued": 0,
            "processing_abandoned": 0,
            "renders_requeued": 0,
            "renders_abandoned": 0,
            "extracts_requeued": 0,
            "books_requeued": 0,
            "trash_purged": 0,
            "exports_requeued": 0,
            "exports_abandoned": 0,
            "exports_expired": 0,
            "export_uploads_aborted": 0,
            "imports_requeued": 0,
            "imports_abandoned": 0,
            "refresh_tokens_purged": 0,
            "sessions_purged": 0,
            "rate_windows_purged": 1,
        })
    );
    assert_eq!(w.count("select count(*) from rate_windows"), 1);
}

#[test]
fn a_sweep_that_cannot_read_or_send_fails_and_the_next_one_does_the_work() {
    let w = World::new();
    let u = w.user("sweepfail@example.com", 1 << 30);
    scored(&w, &u, &pdf(1, "sweepfail"));
    w.advance(31 * 60);
    w.ports.db.fail_next("from uploads", 1);
    assert!(block_on(processing::sweep(&w.cx())).is_err());
    w.ports.tasks.refuse.set(true);
    assert!(block_on(processing::sweep(&w.cx())).is_err());
    w.ports.tasks.refuse.set(false);
    assert_eq!(sweep(&w)["processing_requeued"], 2);
}
