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
    block_on(common::ports::delete_for_good(&w.cx(), &u, &score)).unwrap();
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

mod who_plays_what {
    use super::*;
    use scoremate::service::library::Download;
    use scoremate::service::setlists::{self as uc, Posted};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    /// A setlist of `owner` holding `score`, with `members` (email, part) as viewers: the setlist
    /// and item ids.
    fn band(
        w: &World,
        owner: &str,
        score: &str,
        members: &[(&str, Option<&str>)],
    ) -> (String, String) {
        let set =
            parse(&block_on(uc::create(&w.cx(), owner, body(json!({"name": "Gig"})))).unwrap());
        let set = set["id"].as_str().unwrap().to_owned();
        let Posted::Added(view) = block_on(uc::post_items(
            &w.cx(),
            owner,
            &set,
            body(json!({"score_id": score})),
        ))
        .unwrap() else {
            panic!("an add answered as a reorder")
        };
        let item = parse(&view)["items"][0]["id"].as_str().unwrap().to_owned();
        for (email, part) in members {
            let member = block_on(uc::add_member(
                &w.cx(),
                owner,
                &set,
                body(json!({"email": email, "role": "viewer"})),
            ))
            .unwrap();
            if let Some(part) = part {
                let id = member["user_id"].as_str().unwrap();
                let patched = block_on(uc::patch_member(
                    &w.cx(),
                    owner,
                    &set,
                    id,
                    body(json!({"part": part})),
                ))
                .unwrap();
                assert_eq!(patched["part"], *part);
            }
        }
        (set, item)
    }

    fn url(d: Download) -> String {
        match d {
            Download::Ready { url, .. } | Download::Pages { url, .. } => url,
            other => panic!("{other:?}"),
        }
    }

    fn download(
        w: &World,
        user: &str,
        set: &str,
        item: &str,
        query: &[(&str, &str)],
    ) -> Result<Download, ApiError> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        block_on(uc::item_download_url(&w.cx(), user, set, item, &query))
    }

    #[test]
    fn each_member_sees_and_downloads_the_part_they_play() {
        let w = World::new();
        let owner = w.user("leader@example.com", 1 << 30);
        let trumpet = w.user("trumpet@example.com", 1 << 30);
        let bass = w.user("bass@example.com", 1 << 30);
        let singer = w.user("singer@example.com", 1 << 30);
        let score = processed_score(&w, &owner, 4, "Chart");
        let up = upload(&w, &owner, &pdf(2, "trumpet part"));
        let tpt = create(
            &w,
            &owner,
            &score,
            json!({"name": "Trumpet 1", "upload_id": up}),
        )
        .unwrap();
        let bs = create(
            &w,
            &owner,
            &score,
            json!({"name": "Bass", "pages": {"first": 3, "last": 4}}),
        )
        .unwrap();
        run_queue(&w);
        let (set, item) = band(
            &w,
            &owner,
            &score,
            &[
                ("trumpet@example.com", Some("trumpet 1")),
                ("bass@example.com", Some("BASS")),
                ("singer@example.com", Some("Vocals")),
            ],
        );
        let part_of = |user: &str| {
            parse(&block_on(uc::get(&w.cx(), user, &set)).unwrap())["items"][0]["part"].clone()
        };
        assert_eq!(part_of(&trumpet)["id"], tpt["id"]);
        assert_eq!(part_of(&trumpet)["page_count"], 2);
        assert_eq!(part_of(&bass)["id"], bs["id"]);
        assert_eq!(part_of(&bass)["pages"], json!({"first": 3, "last": 4}));
        assert_eq!(part_of(&singer), Value::Null, "no such part: none");
        assert_eq!(
            part_of(&owner),
            Value::Null,
            "the owner plays no assigned part"
        );

        let full = url(download(&w, &singer, &set, &item, &[]).unwrap());
        let theirs = url(download(&w, &trumpet, &set, &item, &[]).unwrap());
        let low = url(download(&w, &bass, &set, &item, &[]).unwrap());
        assert_ne!(theirs, full);
        assert_eq!(
            url(download(&w, &trumpet, &set, &item, &[("part", "full")]).unwrap()),
            full
        );
        let chosen = download(
            &w,
            &singer,
            &set,
            &item,
            &[("part", tpt["id"].as_str().unwrap())],
        );
        assert_eq!(url(chosen.unwrap()), theirs);
        // A pages part is the score's own file, with its range.
        assert_eq!(low, full);
        assert!(matches!(
            download(&w, &bass, &set, &item, &[]).unwrap(),
            Download::Pages {
                first_page: 3,
                last_page: 4,
                ..
            }
        ));
        let missing = download(
            &w,
            &singer,
            &set,
            &item,
            &[("part", "prt_00000000000000000000000000000000")],
        );
        assert_eq!(missing.unwrap_err().status(), 404);
        assert_eq!(
            download(&w, &singer, &set, &item, &[("part", "x")])
                .unwrap_err()
                .status(),
            422
        );
        let outsider = w.user("out@example.com", 1 << 30);
        assert_eq!(
            download(&w, &outsider, &set, &item, &[])
                .unwrap_err()
                .status(),
            404
        );
    }

    #[test]
    fn a_member_reads_a_page_of_the_uploaded_part_they_play() {
        let w = World::new();
        let owner = w.user("leader3@example.com", 1 << 30);
        let cello = w.user("cello2@example.com", 1 << 30);
        let score = processed_score(&w, &owner, 4, "Quartet");
        let up = upload(&w, &owner, &pdf(2, "cello part"));
        let part = create(
            &w,
            &owner,
            &score,
            json!({"name": "Cello", "upload_id": up}),
        )
        .unwrap();
        run_queue(&w);
        let (set, item) = band(&w, &owner, &score, &[("cello2@example.com", Some("cello"))]);
        let asked = download(&w, &cello, &set, &item, &[("page", "2")]).unwrap();
        assert_eq!(asked, Download::Pending);
        let sent = w.ports.tasks.drain();
        assert_eq!(
            sent,
            [Task::PartRenderPage {
                part_id: part["id"].as_str().unwrap().to_owned(),
                page: 2,
                width: 1240,
            }]
        );
        run_queue_of(&w, sent);
        assert!(w
            .ports
            .blobs
            .has(&format!("u/{owner}/s/{up}/page-2-1240.png")));
        assert!(matches!(
            download(&w, &cello, &set, &item, &[("page", "2")]).unwrap(),
            Download::Ready { .. }
        ));
        // The full score's page 2 is the score's own image, asked for separately.
        let full = download(&w, &cello, &set, &item, &[("page", "2"), ("part", "full")]);
        assert_eq!(full.unwrap(), Download::Pending);
        assert!(matches!(
            w.ports.tasks.drain().as_slice(),
            [Task::RenderPage { page: 2, .. }]
        ));
    }

    fn run_queue_of(w: &World, tasks: Vec<Task>) {
        for task in tasks {
            block_on(processing::run(&w.cx(), &task, "m")).unwrap();
        }
    }

    #[test]
    fn a_member_chooses_their_own_part_but_not_their_role_nor_anyone_elses() {
        let w = World::new();
        let owner = w.user("own2@example.com", 1 << 30);
        let a = w.user("a@example.com", 1 << 30);
        let b = w.user("b@example.com", 1 << 30);
        let score = processed_score(&w, &owner, 2, "Song");
        let (set, _) = band(
            &w,
            &owner,
            &score,
            &[("a@example.com", None), ("b@example.com", None)],
        );
        let patch = |by: &str, who: &str, v: Value| {
            block_on(uc::patch_member(&w.cx(), by, &set, who, body(v)))
        };
        assert_eq!(
            patch(&a, &a, json!({"part": "Alto Sax"})).unwrap()["part"],
            "Alto Sax"
        );
        assert_eq!(
            patch(&a, &a, json!({"part": null})).unwrap()["part"],
            Value::Null
        );
        assert_eq!(
            patch(&a, &a, json!({"role": "editor"}))
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            patch(&a, &b, json!({"part": "Drums"}))
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            patch(&owner, &b, json!({"role": "editor", "part": "Drums"})).unwrap()["role"],
            "editor"
        );
        assert_eq!(
            patch(&owner, &b, json!({"part": "x".repeat(101)}))
                .unwrap_err()
                .status(),
            422
        );
        let stranger = w.user("s@example.com", 1 << 30);
        assert_eq!(
            patch(&owner, &stranger, json!({"part": "Tuba"}))
                .unwrap_err()
                .status(),
            404
        );
    }
}

#[test]
fn the_setlist_view_finds_each_items_part_through_the_name_index_in_its_one_statement() {
    let w = World::new();
    let stmt = scoremate::store::setlists::items(scoremate::store::setlists::Via::Member {
        setlist: "set_1",
        user: "usr_1",
    });
    let mut q = w
        .db()
        .prepare(&format!("explain query plan {}", stmt.sql))
        .unwrap();
    let plan: Vec<String> = q
        .query_map(common::params_from(&stmt.args), |r| r.get(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter().any(|step| step.contains("score_parts_name")),
        "{plan:#?}"
    );
}

#[test]
fn a_parts_failed_processing_is_recorded_on_the_part_and_an_admin_re_runs_it() {
    let w = World::new();
    let u = w.user("broken@example.com", 1 << 30);
    let score = processed_score(&w, &u, 2, "Broken");
    let up = upload(&w, &u, &pdf(1, "broken part"));
    let part = create(&w, &u, &score, json!({"name": "Oboe", "upload_id": up})).unwrap();
    let id = part["id"].as_str().unwrap().to_owned();
    // Storage fails on every one of the consumer's five attempts: given up, recorded on the part.
    w.ports.tasks.drain();
    w.ports.blobs.fail_next("read", &up, 5);
    let record = format!("part_info:{id}");
    for _ in 0..5 {
        let task = Task::PartInfo {
            part_id: id.clone(),
        };
        block_on(processing::start(&w.cx(), &task)).unwrap();
        let outcome = block_on(processing::run(&w.cx(), &task, "m"));
        assert!(outcome.is_err());
        let _ = block_on(processing::finish(&w.cx(), &task, outcome, "m"));
    }
    let state: String = w
        .db()
        .query_row(
            "select pdf_info_state from score_parts where id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(state, "failed");
    let root_id = w.user("root@example.com", 1 << 30);
    w.db()
        .execute("update users set role = 'admin' where id = ?1", [&root_id])
        .unwrap();
    let root = scoremate::store::rows::UserRow {
        id: root_id,
        email: "root@example.com".into(),
        display_name: "Root".into(),
        role: "admin".into(),
        preferences: "{}".into(),
        quota_bytes: 1 << 30,
        used_bytes: 0,
        reserved_bytes: 0,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
    };
    w.ports.tasks.drain();
    let listed = block_on(scoremate::service::admin::tasks(&w.cx(), &root, &[])).unwrap();
    assert!(listed.contains(&record), "{listed}");
    let retried = block_on(scoremate::service::admin::retry_task(
        &w.cx(),
        &root,
        &record,
    ))
    .unwrap();
    assert_eq!(retried["task"], "part_info");
    assert_eq!(
        w.ports.tasks.drain(),
        [Task::PartInfo {
            part_id: id.clone()
        }]
    );
    block_on(processing::run(
        &w.cx(),
        &Task::PartInfo {
            part_id: id.clone(),
        },
        "m",
    ))
    .unwrap();
    let listed: Value =
        serde_json::from_str(&block_on(parts::list_parts(&w.cx(), &u, &score)).unwrap()).unwrap();
    assert_eq!(listed["parts"][0]["processing"]["pdf_info"]["state"], "ok");
    assert_eq!(listed["parts"][0]["page_count"], 1);
}

/// Page images of a part uploaded as its own PDF: rendered, recorded and counted on the part as a
/// score's are on the score (the same functions, given the part's file).
mod part_pages {
    use super::*;
    use scoremate::service::library::Download;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

    /// A processed score with an uploaded part of `pages` pages: the score id, the part id and the
    /// part's upload id (its object `u/{user}/s/{upload}.pdf`). The part's processing ran
    /// unless `processed` is false.
    fn uploaded_part(
        w: &World,
        user: &str,
        pages: usize,
        nonce: &str,
        processed: bool,
    ) -> (String, String, String) {
        let score = processed_score(w, user, 3, &format!("{nonce} score"));
        let up = upload(w, user, &pdf(pages, nonce));
        let part = create(w, user, &score, json!({"name": nonce, "upload_id": up})).unwrap();
        if processed {
            run_queue(w);
        }
        (score, part["id"].as_str().unwrap().to_owned(), up)
    }

    fn page(w: &World, user: &str, score: &str, part: &str, n: u32) -> Result<Download, ApiError> {
        let query = [("page".to_owned(), n.to_string())];
        block_on(parts::download_url(&w.cx(), user, score, part, &query))
    }

    fn render_row(w: &World, part: &str, page: u32) -> Option<(String, Option<String>, i64)> {
        w.db()
            .query_row(
                "select state, reason, bytes from part_page_renders where part_id = ?1 and page = ?2",
                rusqlite::params![part, page],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok()
    }

    #[test]
    fn an_uploaded_parts_page_is_rendered_once_by_the_queue_under_the_parts_prefix() {
        let w = World::new();
        let u = w.user("pages-of-part@example.com", 1 << 30);
        let (score, part, up) = uploaded_part(&w, &u, 2, "Horn", false);
        w.ports.tasks.drain();
        // No render before the part's page count is known.
        assert_eq!(page(&w, &u, &score, &part, 2).unwrap(), Download::Pending);
        assert!(w.ports.tasks.drain().is_empty());
        run_queue(&w);
        let sent = w.ports.tasks.drain();
        assert!(sent.is_empty(), "{sent:?}");
        for task in [
            Task::PartInfo {
                part_id: part.clone(),
            },
            Task::PartThumbnail {
                part_id: part.clone(),
            },
        ] {
            block_on(processing::run(&w.cx(), &task, "m")).unwrap();
        }

        assert_eq!(page(&w, &u, &score, &part, 2).unwrap(), Download::Pending);
        assert_eq!(page(&w, &u, &score, &part, 2).unwrap(), Download::Pending);
        let sent = w.ports.tasks.drain();
        let render = Task::PartRenderPage {
            part_id: part.clone(),
            page: 2,
            width: 1240,
        };
        assert_eq!(
            sent,
            std::slice::from_ref(&render),
            "one message per page (single flight)"
        );
        block_on(processing::run(&w.cx(), &render, "m")).unwrap();

        let key = format!("u/{u}/s/{up}/page-2-1240.png");
        let image = w.ports.blobs.objects.borrow()[&key].clone();
        assert!(image.starts_with(PNG));
        assert_eq!(
            render_row(&w, &part, 2),
            Some(("ok".into(), None, image.len() as i64)),
            "recorded on the part at its size"
        );
        assert_eq!(
            w.count("select count(*) from page_renders"),
            0,
            "not the score's"
        );
        assert!(matches!(
            page(&w, &u, &score, &part, 2).unwrap(),
            Download::Ready { .. }
        ));
        assert!(w.ports.tasks.drain().is_empty());
        let past = page(&w, &u, &score, &part, 3).unwrap_err();
        assert_eq!(past.status(), 422);
        w.assert_ledger();
    }

    #[test]
    fn a_parts_failed_render_is_remembered_and_answered_422_without_rendering_again() {
        let w = World::new();
        let u = w.user("broken-part@example.com", 1 << 30);
        let (score, part, up) = uploaded_part(&w, &u, 2, "Oboe", true);
        // The object damaged after its inspection: the render fails for good.
        w.ports
            .blobs
            .store(&format!("u/{u}/s/{up}.pdf"), b"%PDF-1.7\nbroken\n");
        assert_eq!(page(&w, &u, &score, &part, 1).unwrap(), Download::Pending);
        let render = w.ports.tasks.drain().pop().unwrap();
        block_on(processing::run(&w.cx(), &render, "m")).unwrap();
        assert_eq!(render_row(&w, &part, 1).unwrap().0, "failed");
        let err = page(&w, &u, &score, &part, 1).unwrap_err();
        assert_eq!(err.status(), 422);
        assert!(w.ports.tasks.drain().is_empty(), "not asked again");
    }

    /// A part with its page 1 rendered: the score, the part, the image's key.
    fn rendered(w: &World, user: &str, nonce: &str) -> (String, String, String) {
        let (score, part, up) = uploaded_part(w, user, 1, nonce, true);
        page(w, user, &score, &part, 1).unwrap();
        run_queue(w);
        let key = format!("u/{user}/s/{up}/page-1-1240.png");
        assert!(w.ports.blobs.has(&key));
        (score, part, key)
    }

    #[test]
    fn deleting_a_part_deletes_its_page_images() {
        let w = World::new();
        let u = w.user("drop-part@example.com", 1 << 30);
        let (score, part, key) = rendered(&w, &u, "Tuba");
        block_on(parts::delete_part(&w.cx(), &u, &score, &part)).unwrap();
        assert_eq!(w.count("select count(*) from part_page_renders"), 0);
        run_queue(&w);
        assert!(!w.ports.blobs.has(&key));
        w.assert_ledger();
    }

    #[test]
    fn deleting_a_score_deletes_its_parts_page_images() {
        let w = World::new();
        let u = w.user("drop-score@example.com", 1 << 30);
        let (score, _, key) = rendered(&w, &u, "Flute");
        block_on(common::ports::delete_for_good(&w.cx(), &u, &score)).unwrap();
        assert_eq!(w.count("select count(*) from part_page_renders"), 0);
        run_queue(&w);
        assert!(!w.ports.blobs.has(&key));
        assert!(
            w.ports.blobs.keys().is_empty(),
            "{:?}",
            w.ports.blobs.keys()
        );
        w.assert_ledger();
    }

    #[test]
    fn a_parts_page_images_stop_at_its_budget() {
        let w = World::with(&[("DERIVED_MIN_BYTES", "0")]);
        let u = w.user("budget-part@example.com", 1 << 30);
        let (score, part, up) = uploaded_part(&w, &u, 3, "Viola", true);
        // Room for page 1 when asked, none once it is rendered: the image goes.
        assert_eq!(page(&w, &u, &score, &part, 1).unwrap(), Download::Pending);
        let render = w.ports.tasks.drain().pop().unwrap();
        w.db()
            .execute(
                "update score_parts set thumbnail_bytes = size_bytes * 2 where id = ?1",
                [&part],
            )
            .unwrap();
        block_on(processing::run(&w.cx(), &render, "m")).unwrap();
        let (state, reason, _) = render_row(&w, &part, 1).unwrap();
        assert_eq!(state, "failed");
        assert!(reason.unwrap().contains("budget"));
        assert!(!w.ports.blobs.has(&format!("u/{u}/s/{up}/page-1-1240.png")));
        // The budget full: refused when asked, nothing queued.
        let err = page(&w, &u, &score, &part, 2).unwrap_err();
        assert_eq!(err.status(), 422);
        assert!(format!("{err:?}").contains("budget"), "{err:?}");
        assert!(w.ports.tasks.drain().is_empty());
        assert_eq!(render_row(&w, &part, 2), None);
    }

    #[test]
    fn the_sweep_resends_a_parts_lost_render() {
        let w = World::new();
        let u = w.user("lost-render@example.com", 1 << 30);
        let (score, part, _) = uploaded_part(&w, &u, 1, "Harp", true);
        page(&w, &u, &score, &part, 1).unwrap();
        let lost = w.ports.tasks.drain();
        w.advance(3600);
        block_on(processing::sweep(&w.cx())).unwrap();
        let resent: Vec<Task> = w
            .ports
            .tasks
            .drain()
            .into_iter()
            .filter(|t| matches!(t, Task::PartRenderPage { .. }))
            .collect();
        assert_eq!(resent, lost);
    }
}
