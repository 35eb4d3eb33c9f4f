//! The trash's use cases natively (SQLite with the real migrations, the in-memory object store,
//! the recording queue): `DELETE` of a score hides it everywhere but keeps its bytes counted,
//! its setlist items stay in place shown as trashed (title to the owner only), a restore brings
//! all of it back (items in their positions, parts, bookmarks, annotations, favorites), a live
//! duplicate makes a restore 409, and a purge — one, the whole trash, or the sweep after
//! `TRASH_RETENTION_DAYS` — releases exactly the score's bytes and removes its objects.

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde_json::{json, Map, Value};

use scoremate::api::shape::conforms;
use scoremate::api::views::Setlist;
use scoremate::domain::task::Task;
use scoremate::error::ApiError;
use scoremate::service::annotations::{self, Place};
use scoremate::service::{activity, bookmarks, library, parts, processing, setlists, trash};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

fn used(w: &World, user: &str) -> i64 {
    w.count(&format!("select used_bytes from users where id = '{user}'"))
}

fn view(w: &World, user: &str, setlist: &str) -> Value {
    let v = parse(&block_on(setlists::get(&w.cx(), user, setlist)).unwrap());
    conforms::<Setlist>(&v).unwrap();
    v
}

fn trash_page(w: &World, user: &str) -> Value {
    parse(&block_on(trash::list(&w.cx(), user, &[])).unwrap())
}

/// An owner with three scores in a setlist shared with a viewer; the middle one has a part, a
/// bookmark, an annotation layer and is a favorite.
struct Band {
    w: World,
    owner: String,
    viewer: String,
    setlist: String,
    scores: [String; 3],
}

fn band() -> Band {
    let w = World::new();
    let owner = w.user("owner@trash.example", 1 << 30);
    let viewer = w.user("viewer@trash.example", 1 << 30);
    let scores = [
        w.score(&owner, &pdf(2, "one"), "One"),
        w.score(&owner, &pdf(4, "two"), "Two"),
        w.score(&owner, &pdf(1, "three"), "Three"),
    ];
    let (setlist, _) = w.setlist(
        &owner,
        "Gig",
        &[("viewer@trash.example", "viewer")],
        &scores[0],
    );
    for s in &scores[1..] {
        block_on(setlists::post_items(
            &w.cx(),
            &owner,
            &setlist,
            body(json!({"score_id": s})),
        ))
        .unwrap();
    }
    let two = &scores[1];
    block_on(parts::create_part(
        &w.cx(),
        &owner,
        two,
        body(json!({"name": "Bass", "pages": {"first": 2, "last": 3}})),
    ))
    .unwrap();
    block_on(bookmarks::create(
        &w.cx(),
        &owner,
        two,
        body(json!({"title": "Bridge", "first_page": 3, "last_page": 4})),
    ))
    .unwrap();
    block_on(annotations::put(
        &w.cx(),
        &owner,
        Place::Score(two),
        "pencil",
        body(json!({"data": {"strokes": [[1, 2, 3, 4]]}})),
    ))
    .unwrap();
    block_on(activity::favorite(&w.cx(), &owner, two)).unwrap();
    w.ports.tasks.drain();
    Band {
        w,
        owner,
        viewer,
        setlist,
        scores,
    }
}

#[test]
fn a_deleted_score_leaves_every_list_but_keeps_its_bytes_and_its_place_in_setlists() {
    let b = band();
    let (w, two) = (&b.w, b.scores[1].as_str());
    let before = used(w, &b.owner);
    let version = view(w, &b.owner, &b.setlist)["version"].as_i64().unwrap();
    block_on(trash::trash_score(&w.cx(), &b.owner, two)).unwrap();
    assert_eq!(used(w, &b.owner), before, "trashed bytes still count");
    assert!(w.ports.tasks.drain().is_empty(), "nothing is deleted yet");
    // Gone from reads of live scores.
    for err in [
        block_on(library::get_score(&w.cx(), &b.owner, two)).unwrap_err(),
        block_on(library::download_url(&w.cx(), &b.owner, two, &[])).unwrap_err(),
        block_on(parts::list_parts(&w.cx(), &b.owner, two)).unwrap_err(),
        block_on(annotations::list(&w.cx(), &b.owner, Place::Score(two))).unwrap_err(),
        block_on(activity::favorite(&w.cx(), &b.owner, two)).unwrap_err(),
        block_on(trash::trash_score(&w.cx(), &b.owner, two)).unwrap_err(),
    ] {
        assert_eq!(code(&err), "NOT_FOUND");
    }
    let favorites = parse(&block_on(activity::favorites(&w.cx(), &b.owner, &[])).unwrap());
    assert_eq!(favorites["favorites"], json!([]));
    let marks = parse(&block_on(bookmarks::list(&w.cx(), &b.owner, &[])).unwrap());
    assert_eq!(marks["bookmarks"], json!([]));
    let stats = parse(&block_on(activity::stats(&w.cx(), &b.owner)).unwrap());
    assert_eq!(
        (&stats["stats"]["scores"], &stats["stats"]["trashed"]),
        (&json!(2), &json!(1))
    );
    // In the trash, with when.
    let page = trash_page(w, &b.owner);
    assert_eq!(page["trash"].as_array().unwrap().len(), 1);
    assert_eq!(page["trash"][0]["score"]["id"], two);
    assert_eq!(
        page["trash"][0]["trashed_at"],
        page["trash"][0]["score"]["trashed_at"]
    );
    assert_eq!(trash_page(w, &b.viewer)["trash"], json!([]));
    // The setlist keeps the item in place: the owner sees its title, the viewer only that it is
    // trashed; no URLs; the version moved on with a history entry.
    let owners = view(w, &b.owner, &b.setlist);
    assert_eq!(owners["version"].as_i64().unwrap(), version + 1);
    assert_eq!(
        owners["items"][1],
        json!({"id": owners["items"][1]["id"], "position": 2, "trashed": true,
               "score_id": two, "title": "Two"})
    );
    assert_eq!(owners["items"][0]["trashed"], false);
    assert_eq!(owners["history"][0]["kind"], "score_trashed");
    let viewers = view(w, &b.viewer, &b.setlist);
    let item = viewers["items"][1].clone();
    assert_eq!(
        item,
        json!({"id": item["id"], "position": 2, "trashed": true})
    );
    assert_eq!(viewers["items"][2]["title"], "Three");
    let err = block_on(setlists::item_download_url(
        &w.cx(),
        &b.viewer,
        &b.setlist,
        item["id"].as_str().unwrap(),
        &[],
    ))
    .unwrap_err();
    assert_eq!(code(&err), "NOT_FOUND");
    // Nobody can add a trashed score to a setlist: it is as unknown as a score never made.
    let add = |score: &str| {
        block_on(setlists::post_items(
            &w.cx(),
            &b.owner,
            &b.setlist,
            body(json!({"score_id": score})),
        ))
        .unwrap_err()
    };
    let (trashed, unknown) = (add(two), add("sco_00000000000000000000000000000000"));
    assert_eq!(code(&trashed), "VALIDATION_FAILED");
    assert_eq!(format!("{trashed:?}"), format!("{unknown:?}"));
    w.assert_ledger();
}

#[test]
fn a_restore_brings_everything_back_where_it_was() {
    let b = band();
    let (w, two) = (&b.w, b.scores[1].as_str());
    let before = view(w, &b.owner, &b.setlist);
    block_on(trash::trash_score(&w.cx(), &b.owner, two)).unwrap();
    // The order may change meanwhile: the trashed item keeps its own position.
    let restored = parse(&block_on(trash::restore(&w.cx(), &b.owner, two)).unwrap());
    assert_eq!(restored["id"], two);
    assert_eq!(restored["trashed_at"], Value::Null);
    let after = view(w, &b.owner, &b.setlist);
    let ids = |v: &Value| -> Vec<Value> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].clone())
            .collect()
    };
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(after["items"][1]["title"], "Two");
    assert_eq!(after["items"][1]["trashed"], false);
    assert_eq!(after["history"][0]["kind"], "score_restored");
    assert_eq!(
        after["version"].as_i64().unwrap(),
        before["version"].as_i64().unwrap() + 2
    );
    let parts = parse(&block_on(parts::list_parts(&w.cx(), &b.owner, two)).unwrap());
    assert_eq!(parts["parts"][0]["name"], "Bass");
    let marks = parse(&block_on(bookmarks::list(&w.cx(), &b.owner, &[])).unwrap());
    assert_eq!(marks["bookmarks"][0]["title"], "Bridge");
    let layers = parse(&block_on(annotations::list(&w.cx(), &b.owner, Place::Score(two))).unwrap());
    assert_eq!(layers["annotations"][0]["layer"], "pencil");
    let favorites = parse(&block_on(activity::favorites(&w.cx(), &b.owner, &[])).unwrap());
    assert_eq!(favorites["favorites"][0]["score"]["id"], two);
    assert_eq!(trash_page(w, &b.owner)["trash"], json!([]));
    // Restoring what is not in the trash, or another user's, is 404.
    for (user, id) in [(&b.owner, two), (&b.viewer, two), (&b.owner, "sco_nope")] {
        let err = block_on(trash::restore(&w.cx(), user, id)).unwrap_err();
        assert_eq!(code(&err), "NOT_FOUND");
    }
    w.assert_ledger();
}

#[test]
fn a_restore_is_refused_while_a_live_score_has_the_same_file() {
    let w = World::new();
    let u = w.user("dup@trash.example", 1 << 30);
    let file = pdf(1, "same");
    let first = w.score(&u, &file, "First");
    block_on(trash::trash_score(&w.cx(), &u, &first)).unwrap();
    // Dedupe considers live scores only: the same file uploads again.
    let second = w.score(&u, &file, "Second");
    let err = block_on(trash::restore(&w.cx(), &u, &first)).unwrap_err();
    assert_eq!(code(&err), "DUPLICATE_SCORE");
    assert!(format!("{err:?}").contains(&second), "{err:?}");
    // With the live one trashed too, either one comes back, but not both.
    block_on(trash::trash_score(&w.cx(), &u, &second)).unwrap();
    block_on(trash::restore(&w.cx(), &u, &first)).unwrap();
    let err = block_on(trash::restore(&w.cx(), &u, &second)).unwrap_err();
    assert_eq!(code(&err), "DUPLICATE_SCORE");
    w.assert_ledger();
}

#[test]
fn a_purge_releases_exactly_the_scores_bytes_and_removes_its_objects_and_items() {
    let b = band();
    let (w, two) = (&b.w, b.scores[1].as_str());
    let everything = used(w, &b.owner);
    let own: i64 = w.count(&format!(
        "select size_bytes + (select coalesce(sum(bytes), 0) from annotations where score_id = '{two}') \
         from scores where id = '{two}'"
    ));
    // A live score cannot be purged: only what is in the trash.
    let err = block_on(trash::purge_one(&w.cx(), &b.owner, two)).unwrap_err();
    assert_eq!(code(&err), "NOT_FOUND");
    block_on(trash::trash_score(&w.cx(), &b.owner, two)).unwrap();
    let err = block_on(trash::purge_one(&w.cx(), &b.viewer, two)).unwrap_err();
    assert_eq!(code(&err), "NOT_FOUND");
    block_on(trash::purge_one(&w.cx(), &b.owner, two)).unwrap();
    assert_eq!(used(w, &b.owner), everything - own);
    let tasks = w.ports.tasks.drain();
    assert!(matches!(&tasks[..], [Task::DeleteFile { .. }]), "{tasks:?}");
    for task in &tasks {
        block_on(processing::run(&w.cx(), task, "m")).unwrap();
    }
    assert!(!w.ports.blobs.keys().iter().any(|k| k.contains(two)));
    let v = view(w, &b.owner, &b.setlist);
    let titles: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["One", "Three"]);
    assert_eq!(v["items"][1]["position"], 2, "positions stay dense");
    assert_eq!(v["history"][0]["kind"], "score_deleted");
    for table in [
        "bookmarks",
        "score_parts",
        "annotations",
        "favorites",
        "score_tags",
    ] {
        assert_eq!(
            w.count(&format!(
                "select count(*) from {table} where score_id = '{two}'"
            )),
            0,
            "{table}"
        );
    }
    let err = block_on(trash::purge_one(&w.cx(), &b.owner, two)).unwrap_err();
    assert_eq!(code(&err), "NOT_FOUND", "a second purge finds nothing");
    w.assert_ledger();
}

#[test]
fn emptying_the_trash_purges_only_the_callers_trashed_scores() {
    let b = band();
    let w = &b.w;
    let theirs = w.score(&b.viewer, &pdf(1, "viewer's"), "Viewer's");
    block_on(trash::trash_score(&w.cx(), &b.viewer, &theirs)).unwrap();
    for s in &b.scores[..2] {
        block_on(trash::trash_score(&w.cx(), &b.owner, s)).unwrap();
    }
    let emptied = block_on(trash::empty(&w.cx(), &b.owner)).unwrap();
    assert_eq!((emptied.purged, emptied.more), (2, false));
    assert_eq!(emptied.setlists, vec![b.setlist.clone()]);
    assert_eq!(trash_page(w, &b.owner)["trash"], json!([]));
    assert_eq!(trash_page(w, &b.viewer)["trash"][0]["score"]["id"], theirs);
    assert_eq!(
        view(w, &b.owner, &b.setlist)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    w.assert_ledger();
}

#[test]
fn the_sweep_purges_what_was_trashed_longer_ago_than_the_retention() {
    let w = World::with(&[("TRASH_RETENTION_DAYS", "2")]);
    let u = w.user("sweep@trash.example", 1 << 30);
    let old = w.score(&u, &pdf(1, "old"), "Old");
    let young = w.score(&u, &pdf(1, "young"), "Young");
    block_on(trash::trash_score(&w.cx(), &u, &old)).unwrap();
    w.advance(36 * 3600);
    block_on(trash::trash_score(&w.cx(), &u, &young)).unwrap();
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(
        report["trash_purged"], 0,
        "neither is two days in the trash"
    );
    w.advance(13 * 3600);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["trash_purged"], 1);
    let page = trash_page(&w, &u);
    assert_eq!(page["trash"].as_array().unwrap().len(), 1);
    assert_eq!(page["trash"][0]["score"]["id"], young);
    assert_eq!(
        w.count("select count(*) from deletions"),
        1,
        "the old file is queued for deletion"
    );
    w.assert_ledger();
}

#[test]
fn a_purge_racing_a_restore_changes_nothing() {
    let w = World::new();
    let u = w.user("race@trash.example", 1 << 30);
    let s = w.score(&u, &pdf(1, "race"), "Race");
    let before = used(&w, &u);
    block_on(trash::trash_score(&w.cx(), &u, &s)).unwrap();
    block_on(trash::restore(&w.cx(), &u, &s)).unwrap();
    // The purge batch of a request that read the score as trashed before the restore landed.
    for stmt in scoremate::store::library::purge_score(&s, &u, "2026-06-01T00:00:00.000Z") {
        assert_eq!(common::exec(w.db(), &stmt), 0, "{}", stmt.sql);
    }
    assert_eq!(used(&w, &u), before);
    block_on(library::get_score(&w.cx(), &u, &s)).unwrap();
}
