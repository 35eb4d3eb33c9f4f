//! Songbook bookmarks' use cases run natively through the ports (SQLite with the real
//! migrations and D1's limits, an in-memory object store, a recording queue): page ranges
//! checked against the songbook, the CSV index import (2 000 lines in one request, bad lines
//! reported), full-text search scoped to the caller, setlist items that play a bookmark, and the
//! extracted PDF made once by the queue and counted in the songbook's derived budget.

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use scoremate::api::shape::conforms;
use scoremate::api::views::{Bookmark, Setlist};
use scoremate::domain::task::Task;
use scoremate::error::ApiError;
use scoremate::media::pdf_info;
use scoremate::service::bookmarks as uc;
use scoremate::service::library::{self, Download};
use scoremate::service::processing;
use scoremate::service::setlists;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn fields(e: &ApiError) -> Vec<String> {
    match e {
        ApiError::Validation(f) => f.keys().cloned().collect(),
        other => panic!("not a 422: {other:?}"),
    }
}

/// Reserve, PUT, create: the score's id.
fn songbook(w: &World, user: &str, bytes: &[u8]) -> String {
    let up = block_on(library::create_upload(
        &w.cx(),
        user,
        body(json!({
            "filename": "book.pdf", "size": bytes.len(), "mime": "application/pdf",
            "sha256": scoremate::domain::hex(&Sha256::digest(bytes)),
        })),
    ))
    .unwrap();
    w.ports
        .blobs
        .store(&format!("u/{user}/s/{}.pdf", up.upload_id), bytes);
    let score = parse(
        &block_on(library::create_score(
            &w.cx(),
            user,
            body(json!({"upload_id": up.upload_id, "title": "Real Book"})),
        ))
        .unwrap(),
    );
    score["id"].as_str().unwrap().to_owned()
}

fn create(w: &World, user: &str, score: &str, v: Value) -> Result<Value, ApiError> {
    block_on(uc::create(&w.cx(), user, score, body(v))).map(|t| parse(&t))
}

fn list(w: &World, user: &str, q: &[(&str, &str)]) -> Value {
    parse(&block_on(uc::list(&w.cx(), user, &query(q))).unwrap())
}

fn titles(page: &Value) -> Vec<String> {
    page["bookmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["title"].as_str().unwrap().to_owned())
        .collect()
}

/// A user with a 12-page songbook, processed (its page count known).
fn band() -> (World, String, String) {
    let w = World::new();
    let u = w.user("player@example.com", 1 << 30);
    let s = songbook(&w, &u, &pdf(12, "book"));
    w.run_tasks();
    (w, u, s)
}

#[test]
fn a_bookmark_is_a_page_range_within_the_known_page_count() {
    let (w, u, s) = band();
    let b = create(
        &w,
        &u,
        &s,
        json!({"title": "Autumn Leaves", "first_page": 3, "last_page": 4, "composer": "Kosma", "tags": ["Jazz"]}),
    )
    .unwrap();
    conforms::<Bookmark>(&b).unwrap();
    assert_eq!(b["page_count"], 2);
    assert_eq!(b["songbook"], json!({"title": "Real Book", "pages": 12}));
    assert_eq!(b["extract"], json!({"state": "none"}));
    for (first, last, field) in [
        (5, 4, "last_page"),
        (12, 13, "last_page"),
        (13, 13, "first_page"),
    ] {
        let e = create(
            &w,
            &u,
            &s,
            json!({"title": "X", "first_page": first, "last_page": last}),
        )
        .unwrap_err();
        assert_eq!(fields(&e), [field], "{first}-{last}");
    }
    // Another user's songbook is not found.
    let other = w.user("other@example.com", 1 << 30);
    let e = create(
        &w,
        &other,
        &s,
        json!({"title": "X", "first_page": 1, "last_page": 1}),
    )
    .unwrap_err();
    assert_eq!(e.status(), 404);
    assert_eq!(
        block_on(uc::get(&w.cx(), &other, b["id"].as_str().unwrap()))
            .unwrap_err()
            .status(),
        404
    );
}

#[test]
fn pages_are_accepted_before_the_page_count_is_known() {
    let w = World::new();
    let u = w.user("early@example.com", 1 << 30);
    let s = songbook(&w, &u, &pdf(3, "early"));
    let b = create(
        &w,
        &u,
        &s,
        json!({"title": "Later", "first_page": 2, "last_page": 90}),
    )
    .unwrap();
    assert_eq!(b["songbook"]["pages"], Value::Null);
}

#[test]
fn an_index_of_two_thousand_lines_imports_in_five_statements_with_bad_lines_reported() {
    let w = World::new();
    let u = w.user("big@example.com", 1 << 30);
    let s = songbook(&w, &u, &pdf(3, "big"));
    let mut csv = String::from("\u{feff}Title,First,Last,Composer,Key\r\n");
    for i in 0..2_000 {
        csv.push_str(&format!(
            "\"Tune {i}, \"\"take\"\" {}\",{},{},Composer {},Bb\r\n",
            i % 7,
            i + 1,
            i + 2,
            i % 10
        ));
    }
    csv.push_str("Broken,ten,11\r\n\r\nBackwards,9,3\r\n");
    let done = block_on(uc::import(&w.cx(), &u, &s, body(json!({"csv": csv})))).unwrap();
    assert_eq!(done.created, 2_000);
    assert_eq!(
        done.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
        [2_002, 2_004]
    );
    // One read and one batch of ⌈2 000 / 500⌉ inserts, each with its rows in one parameter.
    assert_eq!(done.statements, 5);
    assert_eq!(
        w.count("select count(*) from bookmarks where title = 'Tune 1999, \"take\" 4' and composer = 'Composer 9' and key = 'Bb' and first_page = 2000"),
        1
    );
    assert_eq!(w.count("select count(*) from bookmarks_fts"), 2_000);
    // Past the songbook's limit: refused whole.
    let many = "a,1,1\n".repeat(3_001);
    let e = block_on(uc::import(&w.cx(), &u, &s, body(json!({"csv": many})))).unwrap_err();
    assert_eq!(fields(&e), ["csv"]);
    assert_eq!(w.count("select count(*) from bookmarks"), 2_000);
}

#[test]
fn an_import_checks_pages_against_the_songbook_and_refuses_oversized_text() {
    let (w, u, s) = band();
    let done = block_on(uc::import(
        &w.cx(),
        &u,
        &s,
        body(json!({"csv": "A,1,2\nB,11,13\nC,12,12\n"})),
    ))
    .unwrap();
    assert_eq!(done.created, 2);
    assert_eq!(done.errors.len(), 1);
    assert_eq!(done.errors[0].line, 2);
    assert!(
        done.errors[0].message.contains("12 pages"),
        "{:?}",
        done.errors
    );
    let e = block_on(uc::import(
        &w.cx(),
        &u,
        &s,
        body(json!({"csv": "a,1,1\n".repeat(5_001)})),
    ))
    .unwrap_err();
    assert_eq!(fields(&e), ["csv"]);
    let e = block_on(uc::import(&w.cx(), &u, &s, body(json!({})))).unwrap_err();
    assert_eq!(fields(&e), ["csv"]);
}

#[test]
fn search_finds_titles_and_composers_of_the_callers_bookmarks_only() {
    let (w, u, s) = band();
    block_on(uc::import(
        &w.cx(),
        &u,
        &s,
        body(json!({"csv": "Blue Bossa,1,1,Dorham\nBlue Monk,2,2,Monk\nAutumn Leaves,3,4,Kosma\nBody and Soul,5,5,Green\n"})),
    ))
    .unwrap();
    assert_eq!(
        titles(&list(&w, &u, &[("query", "blue")])),
        ["Blue Bossa", "Blue Monk"]
    );
    assert_eq!(titles(&list(&w, &u, &[("query", "monk")])), ["Blue Monk"]);
    assert_eq!(
        titles(&list(&w, &u, &[("query", "kosm")])),
        ["Autumn Leaves"]
    );
    // Another user's library: nothing, even searching the same words.
    let other = w.user("other@example.com", 1 << 30);
    assert_eq!(
        titles(&list(&w, &other, &[("query", "blue")])),
        Vec::<String>::new()
    );
    // Pages by title, with a cursor bound to the filters.
    let first = list(&w, &u, &[("limit", "3")]);
    assert_eq!(titles(&first), ["Autumn Leaves", "Blue Bossa", "Blue Monk"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = list(&w, &u, &[("limit", "3"), ("cursor", cursor)]);
    assert_eq!(titles(&second), ["Body and Soul"]);
    assert_eq!(second["next_cursor"], Value::Null);
    let e = block_on(uc::list(
        &w.cx(),
        &u,
        &query(&[("query", "blue"), ("cursor", cursor)]),
    ))
    .unwrap_err();
    assert_eq!(fields(&e), ["cursor"]);
    // Tags and the songbook filter.
    let id = list(&w, &u, &[("query", "body")])["bookmarks"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    block_on(uc::patch(
        &w.cx(),
        &u,
        &id,
        body(json!({"tags": ["Ballad"]})),
    ))
    .unwrap();
    assert_eq!(
        titles(&list(&w, &u, &[("tag", "ballad")])),
        ["Body and Soul"]
    );
    assert_eq!(
        list(&w, &u, &[("score_id", &s)])["bookmarks"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    for b in list(&w, &u, &[])["bookmarks"].as_array().unwrap() {
        conforms::<Bookmark>(b).unwrap();
    }
}

fn add_item(w: &World, user: &str, setlist: &str, v: Value) -> Result<Value, ApiError> {
    block_on(setlists::post_items(&w.cx(), user, setlist, body(v))).map(|p| match p {
        setlists::Posted::Added(t) | setlists::Posted::Reordered(t) => parse(&t),
    })
}

fn new_setlist(w: &World, user: &str) -> String {
    parse(
        &block_on(setlists::create(
            &w.cx(),
            user,
            body(json!({"name": "Gig"})),
        ))
        .unwrap(),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_setlist_item_plays_the_owners_bookmark_and_shows_it() {
    let (w, u, s) = band();
    let b = create(
        &w,
        &u,
        &s,
        json!({"title": "Stella", "first_page": 6, "last_page": 8, "composer": "Young", "key": "Bb"}),
    )
    .unwrap();
    let bid = b["id"].as_str().unwrap();
    let set = new_setlist(&w, &u);
    let view = add_item(&w, &u, &set, json!({"bookmark_id": bid})).unwrap();
    conforms::<Setlist>(&view).unwrap();
    let item = &view["items"][0];
    assert_eq!(item["score_id"], s.as_str());
    assert_eq!(
        item["bookmark"],
        json!({"id": bid, "title": "Stella", "first_page": 6, "last_page": 8})
    );
    assert_eq!(
        (item["title"].as_str(), item["pages"].as_i64()),
        (Some("Stella"), Some(3))
    );
    assert_eq!(item["key"], "Bb");
    // Both, or another user's bookmark.
    let e = add_item(&w, &u, &set, json!({"bookmark_id": bid, "score_id": s})).unwrap_err();
    assert_eq!(fields(&e), ["bookmark_id"]);
    let other = w.user("other@example.com", 1 << 30);
    let theirs = songbook(&w, &other, &pdf(2, "theirs"));
    let tb = create(
        &w,
        &other,
        &theirs,
        json!({"title": "T", "first_page": 1, "last_page": 1}),
    )
    .unwrap();
    let e = add_item(&w, &u, &set, json!({"bookmark_id": tb["id"]})).unwrap_err();
    assert_eq!(e.status(), 404);
    // Its download: the songbook's URL with the range.
    let item_id = item["id"].as_str().unwrap();
    let d = block_on(setlists::item_download_url(&w.cx(), &u, &set, item_id, &[])).unwrap();
    let Download::Pages {
        url,
        first_page,
        last_page,
        ..
    } = d
    else {
        panic!("{d:?}")
    };
    assert_eq!((first_page, last_page), (6, 8));
    assert!(url.contains("/v1/blobs/"));
}

#[test]
fn an_extract_is_made_once_by_the_queue_with_the_right_pages() {
    let (w, u, s) = band();
    let b = create(
        &w,
        &u,
        &s,
        json!({"title": "Stella", "first_page": 6, "last_page": 8}),
    )
    .unwrap();
    let bid = b["id"].as_str().unwrap();
    let extract = query(&[("extract", "true")]);
    let ask = || block_on(uc::download_url(&w.cx(), &u, bid, &extract));
    assert_eq!(ask().unwrap(), Download::Pending);
    assert_eq!(
        ask().unwrap(),
        Download::Pending,
        "asked once, still pending"
    );
    let sent = w.ports.tasks.drain();
    assert_eq!(
        sent,
        [Task::ExtractBookmark {
            bookmark_id: bid.to_owned()
        }],
        "one message for two requests"
    );
    for task in &sent {
        let outcome = block_on(processing::run(&w.cx(), task, "m1"));
        block_on(processing::finish(&w.cx(), task, outcome, "m1"));
    }
    let Download::Pages {
        first_page,
        last_page,
        ..
    } = ask().unwrap()
    else {
        panic!()
    };
    assert_eq!((first_page, last_page), (6, 8));
    let key = w
        .ports
        .blobs
        .keys()
        .into_iter()
        .find(|k| k.contains("/bookmark-"))
        .unwrap();
    let made = w.ports.blobs.objects.borrow()[&key].clone();
    let info = pdf_info::inspect(&made).unwrap();
    assert_eq!(info.pages, 3);
    // Counted in the songbook's derived budget.
    assert_eq!(
        w.count("select extract_bytes from bookmarks"),
        i64::try_from(made.len()).unwrap()
    );
    let shown = parse(&block_on(uc::get(&w.cx(), &u, bid)).unwrap());
    assert_eq!(shown["extract"], json!({"state": "ok"}));
    assert!(w.ports.tasks.drain().is_empty(), "never made twice");
    // A new range forgets it: the object goes through the outbox.
    block_on(uc::patch(&w.cx(), &u, bid, body(json!({"last_page": 9})))).unwrap();
    assert_eq!(
        w.ports.tasks.drain(),
        [Task::DeleteFile { key: key.clone() }]
    );
    let shown = parse(&block_on(uc::get(&w.cx(), &u, bid)).unwrap());
    assert_eq!(shown["extract"], json!({"state": "none"}));
}

#[test]
fn a_failed_extract_is_remembered_and_told_without_trying_again() {
    let w = World::new();
    let u = w.user("early@example.com", 1 << 30);
    let s = songbook(&w, &u, &pdf(3, "short"));
    w.ports.tasks.drain();
    // Accepted before the page count is known; the queue finds the pages missing.
    let b = create(
        &w,
        &u,
        &s,
        json!({"title": "Beyond", "first_page": 2, "last_page": 9}),
    )
    .unwrap();
    let bid = b["id"].as_str().unwrap();
    let extract = query(&[("extract", "true")]);
    assert_eq!(
        block_on(uc::download_url(&w.cx(), &u, bid, &extract)).unwrap(),
        Download::Pending
    );
    w.run_tasks();
    for _ in 0..2 {
        let e = block_on(uc::download_url(&w.cx(), &u, bid, &extract)).unwrap_err();
        assert_eq!(fields(&e), ["extract"]);
        let message = e.envelope()["error"]["fields"]["extract"].clone();
        assert!(
            message.as_str().unwrap().contains("pages 1 to 3"),
            "{message}"
        );
    }
    assert!(w.ports.tasks.drain().is_empty(), "never extracted twice");
    // A page and extract together.
    let e = block_on(uc::download_url(
        &w.cx(),
        &u,
        bid,
        &query(&[("extract", "true"), ("page", "2")]),
    ))
    .unwrap_err();
    assert_eq!(fields(&e), ["page"]);
}

#[test]
fn deleting_a_bookmark_or_its_songbook_takes_its_items_out_with_a_history_event() {
    let (w, u, s) = band();
    let set = new_setlist(&w, &u);
    let mut ids = Vec::new();
    for (title, first) in [("One", 1), ("Two", 3), ("Three", 5)] {
        let b = create(
            &w,
            &u,
            &s,
            json!({"title": title, "first_page": first, "last_page": first + 1}),
        )
        .unwrap();
        ids.push(b["id"].as_str().unwrap().to_owned());
        add_item(&w, &u, &set, json!({"bookmark_id": b["id"]})).unwrap();
    }
    block_on(uc::delete(&w.cx(), &u, &ids[0])).unwrap();
    let view = parse(&block_on(setlists::get(&w.cx(), &u, &set)).unwrap());
    let positions: Vec<i64> = view["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2]);
    assert_eq!(view["history"][0]["kind"], "bookmark_deleted");
    assert_eq!(view["history"][0]["detail"]["title"], "One");
    assert_eq!(
        block_on(uc::get(&w.cx(), &u, &ids[0]))
            .unwrap_err()
            .status(),
        404
    );
    block_on(common::ports::delete_for_good(&w.cx(), &u, &s)).unwrap();
    let view = parse(&block_on(setlists::get(&w.cx(), &u, &set)).unwrap());
    assert_eq!(view["items"], json!([]));
    assert_eq!(view["history"][0]["kind"], "score_deleted");
    assert_eq!(w.count("select count(*) from bookmarks"), 0);
    assert_eq!(w.count("select count(*) from bookmarks_fts"), 0);
}
