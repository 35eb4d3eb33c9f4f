//! Setlist books natively through the ports (SQLite with the real migrations, the queue's task
//! run by the consumer's code): a member's book holds their part of each piece, a bookmark's
//! range and whole scores otherwise, in order, with an outline entry each; the owner's book the
//! full scores; asked twice at one version it is made once; a change to the setlist makes it
//! stale and the next request makes the new version (the old object goes to the outbox); a
//! source that cannot be read fails the book with a reason that is told, not retried.

mod common;

use common::pdf::{outline, pdf};
use common::ports::{block_on, World};
use lopdf::Document;
use serde_json::{json, Map, Value};

use scoremate::domain::task::Task;
use scoremate::error::ApiError;
use scoremate::service::{bookmarks, books, parts, setlists, trash};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// A score of `pages` pages, processed (its page count known).
fn score(w: &World, user: &str, pages: usize, title: &str) -> String {
    w.processed_score(user, &pdf(pages, title), title)
}

fn upload_part(w: &World, user: &str, score: &str, name: &str, pages: usize) {
    w.uploaded_part(
        user,
        score,
        name,
        &pdf(pages, &format!("{name} part of {score}")),
    );
}

struct Band {
    w: World,
    owner: String,
    trumpet: String,
    setlist: String,
}

/// Items: "Autumn" (3 pages; a pages part "Trumpet" = page 2), "Bossa" (2 pages; an uploaded
/// part "trumpet" of 4 pages), bookmark "Blue" = pages 5–7 of a 10-page songbook.
fn band() -> Band {
    let w = World::new();
    let owner = w.user("owner@books.example", 1 << 30);
    let trumpet = w.user("trumpet@books.example", 1 << 30);
    let autumn = score(&w, &owner, 3, "Autumn");
    let bossa = score(&w, &owner, 2, "Bossa");
    let songbook = score(&w, &owner, 10, "Songbook");
    block_on(parts::create_part(
        &w.cx(),
        &owner,
        &autumn,
        body(json!({"name": "Trumpet", "pages": {"first": 2, "last": 2}})),
    ))
    .unwrap();
    upload_part(&w, &owner, &bossa, "trumpet", 4);
    let blue = parse(
        &block_on(bookmarks::create(
            &w.cx(),
            &owner,
            &songbook,
            body(json!({"title": "Blue", "first_page": 5, "last_page": 7})),
        ))
        .unwrap(),
    );
    let setlist = parse(
        &block_on(setlists::create(
            &w.cx(),
            &owner,
            body(json!({"name": "Friday gig"})),
        ))
        .unwrap(),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    block_on(setlists::add_member(
        &w.cx(),
        &owner,
        &setlist,
        body(json!({"email": "trumpet@books.example", "role": "viewer"})),
    ))
    .unwrap();
    block_on(setlists::patch_member(
        &w.cx(),
        &trumpet,
        &setlist,
        &trumpet,
        body(json!({"part": "TRUMPET"})),
    ))
    .unwrap();
    for item in [
        json!({"score_id": autumn}),
        json!({"score_id": bossa}),
        json!({"bookmark_id": blue["id"]}),
    ] {
        block_on(setlists::post_items(&w.cx(), &owner, &setlist, body(item))).unwrap();
    }
    w.ports.tasks.drain();
    Band {
        w,
        owner,
        trumpet,
        setlist,
    }
}

/// The stored book of `(setlist, part_key)`: its pages and its outline's titles.
fn read_book(w: &World, setlist: &str, part_key: &str) -> (usize, Vec<String>) {
    let key: String = w
        .db()
        .query_row(
            "select object_key from setlist_books where setlist_id = ?1 and part_key = ?2",
            [setlist, part_key],
            |r| r.get(0),
        )
        .unwrap();
    let bytes = w.ports.blobs.objects.borrow()[&key].clone();
    let pages = Document::load_mem(&bytes).unwrap().get_pages().len();
    (
        pages,
        outline(&bytes)
            .into_iter()
            .map(|(title, _)| title)
            .collect(),
    )
}

#[test]
fn a_members_book_holds_their_parts_and_the_owners_the_full_scores() {
    let b = band();
    let asked = block_on(books::request(&b.w.cx(), &b.trumpet, &b.setlist)).unwrap();
    assert_eq!((asked.state.as_str(), asked.stale), ("pending", false));
    // Asked again at the same version: no second message.
    block_on(books::request(&b.w.cx(), &b.trumpet, &b.setlist)).unwrap();
    let ran = b.w.run_tasks();
    assert_eq!(
        ran.iter()
            .filter(|t| matches!(t, Task::SetlistBook { .. }))
            .count(),
        1
    );
    let made = block_on(books::get(&b.w.cx(), &b.trumpet, &b.setlist)).unwrap();
    assert_eq!((made.state.as_str(), made.pages), ("ok", Some(1 + 4 + 3)));
    assert_eq!(
        read_book(&b.w, &b.setlist, "trumpet"),
        (
            8,
            vec![
                "Autumn — Trumpet".to_owned(),
                "Bossa — trumpet".to_owned(),
                "Blue".to_owned()
            ]
        )
    );
    // The owner plays no part: the full scores.
    block_on(books::request(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    b.w.run_tasks();
    let full = block_on(books::get(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert_eq!(full.pages, Some(3 + 2 + 3));
    assert_eq!(
        read_book(&b.w, &b.setlist, "").1,
        ["Autumn", "Bossa", "Blue"]
    );
}

#[test]
fn a_change_makes_the_book_stale_and_the_next_request_makes_the_new_version() {
    let b = band();
    block_on(books::request(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    b.w.run_tasks();
    let first = block_on(books::get(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    block_on(setlists::patch(
        &b.w.cx(),
        &b.owner,
        &b.setlist,
        body(json!({"venue": "Main stage"})),
    ))
    .unwrap();
    let stale = block_on(books::get(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert_eq!(
        (stale.state.as_str(), stale.stale, stale.version),
        ("ok", true, first.version)
    );
    let again = block_on(books::request(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert_eq!((again.state.as_str(), again.stale), ("pending", false));
    assert!(again.version > first.version);
    b.w.run_tasks();
    assert_eq!(
        block_on(books::get(&b.w.cx(), &b.owner, &b.setlist))
            .unwrap()
            .state,
        "ok"
    );
    // The first version's object waits in the outbox; deleting the setlist queues the second.
    assert_eq!(
        b.w.count("select count(*) from deletions where object_key like '%/books/%-v%'"),
        1
    );
    block_on(setlists::delete(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert_eq!(
        b.w.count("select count(*) from deletions where object_key like '%/books/%'"),
        2
    );
}

#[test]
fn a_trashed_score_leaves_the_book_and_its_restore_makes_the_book_stale_again() {
    let b = band();
    block_on(books::request(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    b.w.run_tasks();
    let bossa: String =
        b.w.db()
            .query_row("select id from scores where title = 'Bossa'", [], |r| {
                r.get(0)
            })
            .unwrap();
    let stale_after = |change: &dyn Fn() -> Result<(), scoremate::error::ApiError>| {
        change().unwrap();
        assert!(
            block_on(books::get(&b.w.cx(), &b.owner, &b.setlist))
                .unwrap()
                .stale
        );
    };
    stale_after(&|| block_on(trash::trash_score(&b.w.cx(), &b.owner, &bossa)));
    block_on(books::request(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    b.w.run_tasks();
    assert_eq!(
        read_book(&b.w, &b.setlist, ""),
        (3 + 3, vec!["Autumn".to_owned(), "Blue".to_owned()])
    );
    stale_after(&|| block_on(trash::restore(&b.w.cx(), &b.owner, &bossa)).map(drop));
}

#[test]
fn an_unreadable_source_fails_the_book_once_with_its_reason() {
    let b = band();
    let key: String =
        b.w.db()
            .query_row(
                "select object_key from scores where title = 'Bossa'",
                [],
                |r| r.get(0),
            )
            .unwrap();
    b.w.ports.blobs.store(&key, b"%PDF-1.7 this is no PDF");
    block_on(books::request(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    b.w.run_tasks();
    let failed = block_on(books::get(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert_eq!(failed.state, "failed");
    assert!(
        failed.reason.as_deref().unwrap().starts_with("item 2:"),
        "{failed:?}"
    );
    block_on(books::request(&b.w.cx(), &b.owner, &b.setlist)).unwrap();
    assert!(
        b.w.ports.tasks.drain().is_empty(),
        "a failure is told, not repeated"
    );
}

#[test]
fn outsiders_get_nothing_and_nothing_is_asked_before_anyone_asks() {
    let b = band();
    let outsider = b.w.user("outsider@books.example", 1 << 30);
    assert!(matches!(
        block_on(books::request(&b.w.cx(), &outsider, &b.setlist)),
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        block_on(books::get(&b.w.cx(), &b.owner, &b.setlist)),
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        block_on(books::get(&b.w.cx(), &b.owner, "set_x")),
        Err(ApiError::NotFound)
    ));
}
