//! Score parts through the ports (SQLite with the real migrations, an in-memory store, a
//! recording queue): parts made from uploads (the score's upload flow, quota and processing) and
//! from page ranges, names and ranges refused, deletion with the score, and a setlist member's
//! part resolved in the setlist view and the item download. The ledger is checked after each.

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use scoremate::domain::task::Task;
use scoremate::error::ApiError;
use scoremate::service::{library, parts, processing};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

/// Reserves and PUTs `bytes`: the upload id.
fn upload(w: &World, user: &str, bytes: &[u8]) -> String {
    let up = block_on(library::create_upload(
        &w.cx(),
        user,
        body(json!({
            "filename": "part.pdf", "size": bytes.len(), "mime": "application/pdf",
            "sha256": scoremate::domain::hex(&Sha256::digest(bytes)),
        })),
    ))
    .unwrap();
    w.ports
        .blobs
        .store(&format!("u/{user}/s/{}.pdf", up.upload_id), bytes);
    up.upload_id
}

fn create(w: &World, user: &str, score: &str, v: Value) -> Result<Value, ApiError> {
    block_on(parts::create_part(&w.cx(), user, score, body(v)))
        .map(|t| serde_json::from_str(&t).unwrap())
}

fn usage(w: &World, user: &str) -> (i64, i64) {
    let u = block_on(library::usage(&w.cx(), user)).unwrap();
    (u.used_bytes, u.reserved_bytes)
}

/// Runs every queued task (processing of scores and parts, deletions).
fn run_queue(w: &World) {
    for task in w.ports.tasks.drain() {
        block_on(processing::run(&w.cx(), &task, "m")).unwrap();
    }
}

/// A score with `pages` pages whose processing ran (its page count known).
fn processed_score(w: &World, user: &str, pages: usize, title: &str) -> String {
    let id = w.score(user, &pdf(pages, title), title);
    for task in [
        Task::PdfInfo {
            score_id: id.clone(),
        },
        Task::Thumbnail {
            score_id: id.clone(),
        },
    ] {
        block_on(processing::run(&w.cx(), &task, "m")).unwrap();
    }
    id
}

#[test]
fn an_uploaded_part_converts_its_reservation_once_and_is_processed_like_a_score() {
    let w = World::new();
    let u = w.user("band@example.com", 1 << 30);
    let score = processed_score(&w, &u, 4, "Suite");
    let (used, _) = usage(&w, &u);
    let bytes = pdf(2, "trumpet");
    let upload_id = upload(&w, &u, &bytes);
    assert_eq!(usage(&w, &u), (used, bytes.len() as i64));
    let part = create(
        &w,
        &u,
        &score,
        json!({"name": "Trumpet 1", "upload_id": upload_id}),
    )
    .unwrap();
    assert_eq!(part["source"], "upload");
    assert_eq!(part["pages"], Value::Null);
    assert_eq!(part["processing"]["pdf_info"]["state"], "pending");
    assert_eq!(usage(&w, &u), (used + bytes.len() as i64, 0));
    w.assert_ledger();
    let id = part["id"].as_str().unwrap().to_owned();
    let sent = w.ports.tasks.drain();
    assert_eq!(
        sent,
        [
            Task::PartInfo {
                part_id: id.clone()
            },
            Task::PartThumbnail {
                part_id: id.clone()
            }
        ]
    );
    for task in &sent {
        block_on(processing::run(&w.cx(), task, "m")).unwrap();
    }
    let listed: Value =
        serde_json::from_str(&block_on(parts::list_parts(&w.cx(), &u, &score)).unwrap()).unwrap();
    let part = &listed["parts"][0];
    assert_eq!(part["page_count"], 2);
    assert_eq!(part["processing"]["pdf_info"]["state"], "ok");
    assert_eq!(part["processing"]["thumbnail"]["state"], "ok");
    assert!(part["thumbnail_url"].is_string());
    // The same upload a second time: what a second POST /v1/scores would be told.
    let again = create(
        &w,
        &u,
        &score,
        json!({"name": "Trumpet 2", "upload_id": upload_id}),
    );
    assert_eq!(code(&again.unwrap_err()), "UPLOAD_CONSUMED");
    w.assert_ledger();
}

#[test]
fn a_part_with_the_file_of_one_of_your_scores_is_refused_and_its_upload_released() {
    let w = World::new();
    let u = w.user("dupe@example.com", 1 << 30);
    let score = processed_score(&w, &u, 2, "Dupe");
    let bytes = pdf(1, "horn");
    let first = upload(&w, &u, &bytes);
    create(&w, &u, &score, json!({"name": "Horn", "upload_id": first})).unwrap();
    // Same content again (a second score would be refused at reservation; a part at creation).
    let other = processed_score(&w, &u, 2, "Other");
    let second = upload(&w, &u, &bytes);
    let err = create(&w, &u, &other, json!({"name": "Horn", "upload_id": second})).unwrap_err();
    assert_eq!(code(&err), "DUPLICATE_PART");
    assert_eq!(usage(&w, &u).1, 0, "the refused upload was released");
    w.assert_ledger();
}

#[test]
fn racing_creates_with_one_upload_convert_it_once() {
    let w = World::new();
    let u = w.user("race@example.com", 1 << 30);
    let score = processed_score(&w, &u, 3, "Race");
    let other = processed_score(&w, &u, 3, "Other race");
    let bytes = pdf(1, "sax");
    let upload_id = upload(&w, &u, &bytes);
    // A score and a part both made from the same upload: one wins, the other is told it was
    // consumed, and the bytes are counted once.
    let part = create(
        &w,
        &u,
        &score,
        json!({"name": "Sax", "upload_id": upload_id}),
    );
    let as_score = block_on(library::create_score(
        &w.cx(),
        &u,
        body(json!({"upload_id": upload_id, "title": "Sax"})),
    ));
    assert!(part.is_ok());
    assert_eq!(code(&as_score.unwrap_err()), "UPLOAD_CONSUMED");
    let again = create(
        &w,
        &u,
        &other,
        json!({"name": "Sax", "upload_id": upload_id}),
    );
    assert_eq!(code(&again.unwrap_err()), "UPLOAD_CONSUMED");
    w.assert_ledger();
}

#[test]
fn a_pages_part_needs_no_file_and_stays_within_the_score() {
    let w = World::new();
    let u = w.user("pages@example.com", 1 << 30);
    let score = processed_score(&w, &u, 6, "Big band");
    let (used, reserved) = usage(&w, &u);
    let part = create(
        &w,
        &u,
        &score,
        json!({"name": "Bass", "pages": {"first": 5, "last": 6}}),
    )
    .unwrap();
    assert_eq!(part["source"], "pages");
    assert_eq!(part["pages"], json!({"first": 5, "last": 6}));
    assert_eq!(part["page_count"], 2);
    assert!(w.ports.tasks.drain().is_empty(), "nothing to process");
    assert_eq!(usage(&w, &u), (used, reserved));
    let past = create(
        &w,
        &u,
        &score,
        json!({"name": "Drums", "pages": {"first": 6, "last": 7}}),
    )
    .unwrap_err();
    assert_eq!(past.status(), 422);
    let id = part["id"].as_str().unwrap();
    let moved = block_on(parts::patch_part(
        &w.cx(),
        &u,
        &score,
        id,
        body(json!({"pages": {"first": 4, "last": 7}})),
    ))
    .unwrap_err();
    assert_eq!(moved.status(), 422);
    let renamed: Value = serde_json::from_str(
        &block_on(parts::patch_part(
            &w.cx(),
            &u,
            &score,
            id,
            body(json!({"name": "Bass guitar", "pages": {"first": 4, "last": 6}})),
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(renamed["name"], "Bass guitar");
    assert_eq!(renamed["page_count"], 3);
    w.assert_ledger();
}

#[test]
fn part_names_are_unique_per_score_in_any_case() {
    let w = World::new();
    let u = w.user("names@example.com", 1 << 30);
    let score = processed_score(&w, &u, 4, "Names");
    let other = processed_score(&w, &u, 4, "Other names");
    create(
        &w,
        &u,
        &score,
        json!({"name": "Flute", "pages": {"first": 1, "last": 1}}),
    )
    .unwrap();
    let taken = create(
        &w,
        &u,
        &score,
        json!({"name": "FLUTE", "pages": {"first": 2, "last": 2}}),
    )
    .unwrap_err();
    assert_eq!(code(&taken), "PART_EXISTS");
    // An upload part refused for its name keeps its upload open for another try.
    let bytes = pdf(1, "flute");
    let upload_id = upload(&w, &u, &bytes);
    let taken = create(
        &w,
        &u,
        &score,
        json!({"name": "flute", "upload_id": upload_id}),
    )
    .unwrap_err();
    assert_eq!(code(&taken), "PART_EXISTS");
    create(
        &w,
        &u,
        &score,
        json!({"name": "Flute 2", "upload_id": upload_id}),
    )
    .unwrap();
    // Another score may have its own Flute.
    create(
        &w,
        &u,
        &other,
        json!({"name": "flute", "pages": {"first": 1, "last": 1}}),
    )
    .unwrap();
    w.assert_ledger();
}

#[test]
fn another_users_score_has_no_parts_for_you() {
    let w = World::new();
    let u = w.user("own@example.com", 1 << 30);
    let them = w.user("them@example.com", 1 << 30);
    let score = processed_score(&w, &u, 2, "Mine");
    let err = create(
        &w,
        &them,
        &score,
        json!({"name": "X", "pages": {"first": 1, "last": 1}}),
    )
    .unwrap_err();
    assert_eq!(err.status(), 404);
    assert_eq!(
        block_on(parts::list_parts(&w.cx(), &them, &score))
            .unwrap_err()
            .status(),
        404
    );
}

#[test]
fn deleting_a_score_deletes_its_parts_and_releases_their_bytes_exactly() {
    let w = World::new();
    let u = w.user("delete@example.com", 1 << 30);
    let before = usage(&w, &u);
    let score = processed_score(&w, &u, 3, "Gone");
    let a = upload(&w, &u, &pdf(1, "a"));
    let b = upload(&w, &u, &pdf(2, "b"));
    create(&w, &u, &score, json!({"name": "A", "upload_id": a})).unwrap();
    create(&w, &u, &score, json!({"name": "B", "upload_id": b})).unwrap();
    create(
        &w,
        &u,
        &score,
        json!({"name": "C", "pages": {"first": 1, "last": 2}}),
    )
    .unwrap();
    run_queue(&w);
    w.assert_ledger();
    block_on(library::delete_score(&w.cx(), &u, &score)).unwrap();
    assert_eq!(usage(&w, &u), before);
    assert_eq!(w.count("select count(*) from score_parts"), 0);
    w.assert_ledger();
    run_queue(&w);
    assert!(
        w.ports.blobs.keys().is_empty(),
        "every object went: {:?}",
        w.ports.blobs.keys()
    );
    // The outbox keeps each key until its upload URL expires (a late PUT could bring it back).
    assert_eq!(w.count("select count(*) from deletions"), 3);
}

#[test]
fn deleting_a_part_releases_its_bytes_and_its_file() {
    let w = World::new();
    let u = w.user("onepart@example.com", 1 << 30);
    let score = processed_score(&w, &u, 3, "Keep");
    let (used, _) = usage(&w, &u);
    let up = upload(&w, &u, &pdf(1, "gone"));
    let part = create(&w, &u, &score, json!({"name": "Gone", "upload_id": up})).unwrap();
    run_queue(&w);
    let id = part["id"].as_str().unwrap();
    block_on(parts::delete_part(&w.cx(), &u, &score, id)).unwrap();
    assert_eq!(usage(&w, &u).0, used);
    run_queue(&w);
    assert!(!w.ports.blobs.keys().iter().any(|k| k.contains(&up)));
    assert_eq!(
        block_on(parts::delete_part(&w.cx(), &u, &score, id))
            .unwrap_err()
            .status(),
        404
    );
    w.assert_ledger();
}
