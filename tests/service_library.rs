//! The library's use cases run natively through the ports (SQLite with the real migrations, an
//! in-memory object store with injectable failures, a recording queue): reservations and the
//! quota ledger, dedupe, expired and consumed uploads, races a request loses, storage failing
//! between two database writes, deletion and the outbox, page images — the ledger checked after
//! each.

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use scoremate::domain::task::Task;
use scoremate::error::ApiError;
use scoremate::service::library::{self, Download};
use scoremate::service::processing;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn sha(bytes: &[u8]) -> String {
    scoremate::domain::hex(&Sha256::digest(bytes))
}

/// Asks for an upload URL for `bytes`: the upload id and its object key.
fn reserve(w: &World, user: &str, bytes: &[u8]) -> Result<(String, String), ApiError> {
    let up = block_on(library::create_upload(
        &w.cx(),
        user,
        body(
            json!({"filename": "a.pdf", "size": bytes.len(), "mime": "application/pdf", "sha256": sha(bytes)}),
        ),
    ))?;
    let id = up.upload_id.clone();
    Ok((id.clone(), format!("u/{user}/s/{id}.pdf")))
}

fn create(w: &World, user: &str, upload_id: &str, title: &str) -> Result<Value, ApiError> {
    block_on(library::create_score(
        &w.cx(),
        user,
        body(json!({"upload_id": upload_id, "title": title})),
    ))
    .map(|text| serde_json::from_str(&text).unwrap())
}

/// The whole flow: reserve, PUT, create. The score.
fn uploaded(w: &World, user: &str, bytes: &[u8]) -> Value {
    let (id, key) = reserve(w, user, bytes).unwrap();
    w.ports.blobs.store(&key, bytes);
    create(w, user, &id, "Nocturne").unwrap()
}

fn usage(w: &World, user: &str) -> (i64, i64) {
    let u = block_on(library::usage(&w.cx(), user)).unwrap();
    (u.used_bytes, u.reserved_bytes)
}

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

#[test]
fn a_reservation_becomes_usage_when_the_score_is_created_and_processing_is_queued() {
    let w = World::new();
    let u = w.user("ann@example.com", 1 << 30);
    let bytes = pdf(2, "flow");
    let (id, key) = reserve(&w, &u, &bytes).unwrap();
    assert_eq!(usage(&w, &u), (0, bytes.len() as i64));
    w.ports.blobs.store(&key, &bytes);
    let score = create(&w, &u, &id, "Clair de lune").unwrap();
    assert_eq!(score["title"], "Clair de lune");
    assert_eq!(score["size_bytes"], bytes.len());
    assert_eq!(usage(&w, &u), (bytes.len() as i64, 0));
    let sent = w.ports.tasks.drain();
    assert_eq!(sent.len(), 2);
    assert!(
        matches!(&sent[0], Task::PdfInfo { score_id } if score_id == score["id"].as_str().unwrap())
    );
    w.assert_ledger();
}

#[test]
fn a_file_you_own_is_a_duplicate_and_reserves_nothing() {
    let w = World::new();
    let u = w.user("dup@example.com", 1 << 30);
    let bytes = pdf(1, "dup");
    let score = uploaded(&w, &u, &bytes);
    let err = reserve(&w, &u, &bytes).unwrap_err();
    assert_eq!(code(&err), "DUPLICATE_SCORE");
    assert_eq!(err.envelope()["score_id"], score["id"]);
    assert_eq!(usage(&w, &u).1, 0);
    w.assert_ledger();
}

#[test]
fn reservations_stop_exactly_at_the_quota() {
    let bytes: Vec<Vec<u8>> = (0..5).map(|i| pdf(1, &format!("q{i}"))).collect();
    let size = bytes.iter().map(Vec::len).max().unwrap();
    let w = World::new();
    let u = w.user("quota@example.com", (size * 3) as i64);
    let results: Vec<_> = bytes
        .iter()
        .map(|b| {
            let padded = [b.as_slice(), &vec![b' '; size - b.len()]].concat();
            reserve(&w, &u, &padded)
        })
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    let over = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(code(over), "QUOTA_EXCEEDED");
    w.assert_ledger();
}

#[test]
fn an_upload_is_consumed_once_and_an_expired_one_never() {
    let w = World::new();
    let u = w.user("once@example.com", 1 << 30);
    let bytes = pdf(1, "once");
    let (id, key) = reserve(&w, &u, &bytes).unwrap();
    w.ports.blobs.store(&key, &bytes);
    let score = create(&w, &u, &id, "First").unwrap();
    let again = create(&w, &u, &id, "Again").unwrap_err();
    assert_eq!(code(&again), "UPLOAD_CONSUMED");
    assert_eq!(again.envelope()["score_id"], score["id"]);
    let late = pdf(1, "late");
    let (id, key) = reserve(&w, &u, &late).unwrap();
    w.ports.blobs.store(&key, &late);
    // The URL lives 15 minutes and the grace an hour: past both, the upload is expired.
    w.advance(900 + 3600 + 1);
    assert_eq!(
        code(&create(&w, &u, &id, "x").unwrap_err()),
        "UPLOAD_EXPIRED"
    );
    assert_eq!(usage(&w, &u).0, bytes.len() as i64);
    w.assert_ledger();
}

#[test]
fn a_create_before_the_bytes_is_409_and_bytes_that_differ_are_refused() {
    let w = World::new();
    let u = w.user("incomplete@example.com", 1 << 30);
    let bytes = pdf(1, "declared");
    let (id, key) = reserve(&w, &u, &bytes).unwrap();
    assert_eq!(
        code(&create(&w, &u, &id, "x").unwrap_err()),
        "UPLOAD_INCOMPLETE"
    );
    let mut other = bytes.clone();
    *other.last_mut().unwrap() = b' ';
    w.ports.blobs.store(&key, &other);
    assert_eq!(
        code(&create(&w, &u, &id, "x").unwrap_err()),
        "CONTENT_MISMATCH"
    );
    w.ports.blobs.store(&key, &bytes);
    assert!(create(&w, &u, &id, "x").is_ok());
    w.assert_ledger();
}

#[test]
fn stored_bytes_that_are_not_a_pdf_release_the_reservation_and_the_object() {
    let w = World::new();
    let u = w.user("notpdf@example.com", 1 << 30);
    let bytes = b"GIF89a not a pdf at all".to_vec();
    let (id, key) = reserve(&w, &u, &bytes).unwrap();
    w.ports.blobs.store(&key, &bytes);
    let err = create(&w, &u, &id, "x").unwrap_err();
    assert_eq!(code(&err), "UNSUPPORTED_MEDIA_TYPE");
    assert!(!w.ports.blobs.has(&key));
    assert_eq!(usage(&w, &u), (0, 0));
    w.assert_ledger();
}

#[test]
fn a_release_that_lost_to_a_create_leaves_the_new_scores_file() {
    let w = World::new();
    let u = w.user("race@example.com", 1 << 30);
    let bytes = pdf(1, "race");
    let (id, key) = reserve(&w, &u, &bytes).unwrap();
    w.ports.blobs.store(&key, &bytes);
    create(&w, &u, &id, "Winner").unwrap();
    // A loser that read the upload open now finds the winner's score and releases: nothing.
    let released = block_on(library::release_upload(&w.cx(), &id, &key, "released")).unwrap();
    assert!(!released);
    assert!(w.ports.blobs.has(&key), "the winner's file was deleted");
    assert_eq!(w.count("select count(*) from deletions"), 0);
    w.assert_ledger();
}

#[test]
fn storage_failing_between_the_release_and_its_delete_leaves_the_object_to_the_outbox() {
    let w = World::new();
    let u = w.user("outbox@example.com", 1 << 30);
    let bytes = pdf(1, "outbox");
    let (id, key) = reserve(&w, &u, &bytes).unwrap();
    w.ports.blobs.store(&key, &bytes);
    w.ports.blobs.fail_next("delete", &id, 1);
    assert!(block_on(library::release_upload(&w.cx(), &id, &key, "released")).unwrap());
    assert!(w.ports.blobs.has(&key), "the delete failed");
    assert_eq!(
        usage(&w, &u),
        (0, 0),
        "the reservation is released all the same"
    );
    // Once the URL has expired the sweep sends the deletion again, and it goes.
    w.advance(901);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["deletions_requeued"], 1);
    let task = w.ports.tasks.drain().pop().unwrap();
    block_on(processing::run(&w.cx(), &task, "m1")).unwrap();
    assert!(!w.ports.blobs.has(&key));
    assert_eq!(w.count("select count(*) from deletions"), 0);
    w.assert_ledger();
}

#[test]
fn the_create_batch_failing_changes_nothing_and_a_retry_succeeds() {
    let w = World::new();
    let u = w.user("batch@example.com", 1 << 30);
    let bytes = pdf(1, "batch");
    let (id, key) = reserve(&w, &u, &bytes).unwrap();
    w.ports.blobs.store(&key, &bytes);
    w.ports.db.fail_next("insert into scores", 1);
    assert_eq!(code(&create(&w, &u, &id, "x").unwrap_err()), "INTERNAL");
    assert_eq!(usage(&w, &u), (0, bytes.len() as i64));
    w.assert_ledger();
    create(&w, &u, &id, "x").unwrap();
    w.assert_ledger();
}

#[test]
fn a_queue_that_refuses_leaves_the_score_pending_for_the_sweep() {
    let w = World::new();
    let u = w.user("queue@example.com", 1 << 30);
    w.ports.tasks.refuse.set(true);
    let score = uploaded(&w, &u, &pdf(1, "queue"));
    assert_eq!(score["processing"]["pdf_info"]["state"], "pending");
    w.ports.tasks.refuse.set(false);
    w.advance(31 * 60);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["processing_requeued"], 2);
}

#[test]
fn deleting_releases_the_bytes_at_once_and_the_task_removes_the_objects() {
    let w = World::new();
    let u = w.user("delete@example.com", 1 << 30);
    let score = uploaded(&w, &u, &pdf(1, "delete"));
    let id = score["id"].as_str().unwrap();
    w.ports.tasks.drain();
    block_on(common::ports::delete_for_good(&w.cx(), &u, id)).unwrap();
    assert_eq!(usage(&w, &u), (0, 0));
    assert_eq!(
        code(&block_on(library::get_score(&w.cx(), &u, id)).unwrap_err()),
        "NOT_FOUND"
    );
    let task = w.ports.tasks.drain().pop().unwrap();
    assert!(matches!(task, Task::DeleteFile { .. }));
    block_on(processing::run(&w.cx(), &task, "m")).unwrap();
    assert!(w.ports.blobs.keys().is_empty());
    w.assert_ledger();
}

#[test]
fn another_users_score_is_not_found_everywhere() {
    let w = World::new();
    let owner = w.user("owner@example.com", 1 << 30);
    let other = w.user("other@example.com", 1 << 30);
    let score = uploaded(&w, &owner, &pdf(1, "mine"));
    let id = score["id"].as_str().unwrap();
    let cx = w.cx();
    for err in [
        block_on(library::get_score(&cx, &other, id)).unwrap_err(),
        block_on(library::patch_score(
            &cx,
            &other,
            id,
            body(json!({"title": "x"})),
        ))
        .unwrap_err(),
        block_on(common::ports::delete_for_good(&cx, &other, id)).unwrap_err(),
        block_on(library::download_url(&cx, &other, id, &[])).unwrap_err(),
    ] {
        assert_eq!(code(&err), "NOT_FOUND");
    }
}

#[test]
fn a_page_image_is_rendered_once_by_the_queue_after_the_page_count_is_known() {
    let w = World::new();
    let u = w.user("pages@example.com", 1 << 30);
    let score = uploaded(&w, &u, &pdf(3, "pages"));
    let id = score["id"].as_str().unwrap();
    let page = |n: &str| {
        block_on(library::download_url(
            &w.cx(),
            &u,
            id,
            &[("page".into(), n.into())],
        ))
    };
    // Before pdf_info: pending, and no render is asked for.
    let tasks = w.ports.tasks.drain();
    assert_eq!(page("2").unwrap(), Download::Pending);
    assert!(w.ports.tasks.drain().is_empty());
    for t in &tasks {
        block_on(processing::run(&w.cx(), t, "m")).unwrap();
    }
    assert_eq!(code(&page("4").unwrap_err()), "VALIDATION_FAILED");
    assert_eq!(page("2").unwrap(), Download::Pending);
    assert_eq!(page("2").unwrap(), Download::Pending);
    let renders = w.ports.tasks.drain();
    assert_eq!(renders.len(), 1, "single flight");
    block_on(processing::run(&w.cx(), &renders[0], "m")).unwrap();
    let Download::Ready { url, .. } = page("2").unwrap() else {
        panic!("not ready")
    };
    assert!(url.starts_with("https://scoremate.test/v1/blobs/"));
    assert!(w
        .ports
        .blobs
        .keys()
        .iter()
        .any(|k| k.ends_with("/page-2-1240.png")));
}

#[test]
fn patches_keep_what_is_absent_clear_what_is_null_and_keep_the_newest_versions() {
    let w = World::with(&[("SCORE_VERSIONS_MAX", "3")]);
    let u = w.user("patch@example.com", 1 << 30);
    let score = uploaded(&w, &u, &pdf(1, "patch"));
    let id = score["id"].as_str().unwrap();
    let patch = |v: Value| -> Value {
        serde_json::from_str(&block_on(library::patch_score(&w.cx(), &u, id, body(v))).unwrap())
            .unwrap()
    };
    let s = patch(json!({"composer": "Debussy", "tags": ["Gig", "gig", "night"]}));
    assert_eq!(s["composer"], "Debussy");
    assert_eq!(s["tags"], json!(["gig", "night"]));
    let s = patch(json!({"composer": null}));
    assert_eq!(s["composer"], Value::Null);
    assert_eq!(s["tags"], json!(["gig", "night"]));
    for i in 0..5 {
        patch(json!({"title": format!("T{i}")}));
    }
    assert_eq!(w.count("select count(*) from score_versions"), 3);
}
