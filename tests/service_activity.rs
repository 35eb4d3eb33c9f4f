//! What a musician does with their own scores, run natively through the ports: favorites and the
//! open history (idempotence, another user's score is 404 and changes nothing, paging by the
//! one pager), metadata versions and comparing them, and the statistics against the rows.

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde_json::{json, Map, Value};

use scoremate::error::{ApiError, ApiResult};
use scoremate::service::{activity, library};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

/// The field errors of a 422.
fn fields(e: &ApiError) -> Value {
    assert_eq!(code(e), "VALIDATION_FAILED", "{e:?}");
    e.envelope()["error"]["fields"].clone()
}

/// A score of `user` made by the whole upload flow: its id.
fn score(w: &World, user: &str, nonce: &str) -> String {
    w.score(user, &pdf(1, nonce), &format!("Score {nonce}"))
}

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn json_of(text: ApiResult<String>) -> ApiResult<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap())
}

fn favorites(w: &World, user: &str, query: &[(&str, &str)]) -> ApiResult<Value> {
    json_of(block_on(activity::favorites(&w.cx(), user, &q(query))))
}

fn history(w: &World, user: &str, query: &[(&str, &str)]) -> ApiResult<Value> {
    json_of(block_on(activity::history(&w.cx(), user, &q(query))))
}

/// The score ids of a favorites or history page, in order.
fn ids(page: &Value, list: &str) -> Vec<String> {
    page[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn favorite_rows(w: &World) -> i64 {
    w.count("select count(*) from favorites")
}

// ---- favorites ----

#[test]
fn favoriting_is_idempotent_both_ways() {
    let w = World::new();
    let u = w.user("fav@example.com", 1 << 30);
    let s = score(&w, &u, "fav");
    let cx = w.cx();
    block_on(activity::favorite(&cx, &u, &s)).unwrap();
    let first: String = w
        .db()
        .query_row("select created_at from favorites", [], |r| r.get(0))
        .unwrap();
    w.advance(60);
    block_on(activity::favorite(&w.cx(), &u, &s)).unwrap();
    assert_eq!(favorite_rows(&w), 1);
    let again: String = w
        .db()
        .query_row("select created_at from favorites", [], |r| r.get(0))
        .unwrap();
    assert_eq!(first, again, "a second favorite changes nothing");
    let page = favorites(&w, &u, &[]).unwrap();
    assert_eq!(ids(&page, "favorites"), vec![s.clone()]);
    assert_eq!(page["favorites"][0]["favorited_at"], first.as_str());
    block_on(activity::unfavorite(&w.cx(), &u, &s)).unwrap();
    block_on(activity::unfavorite(&w.cx(), &u, &s)).unwrap();
    assert_eq!(favorite_rows(&w), 0);
    assert_eq!(
        favorites(&w, &u, &[]).unwrap(),
        json!({"favorites": [], "next_cursor": null})
    );
}

#[test]
fn another_users_score_is_404_and_nothing_changes() {
    let w = World::new();
    let owner = w.user("owner@example.com", 1 << 30);
    let other = w.user("other@example.com", 1 << 30);
    let s = score(&w, &owner, "mine");
    let cx = w.cx();
    block_on(activity::favorite(&cx, &owner, &s)).unwrap();
    block_on(activity::opened(&cx, &owner, &s)).unwrap();
    for err in [
        block_on(activity::favorite(&cx, &other, &s)).unwrap_err(),
        block_on(activity::unfavorite(&cx, &other, &s)).unwrap_err(),
        block_on(activity::opened(&cx, &other, &s)).unwrap_err(),
        block_on(activity::list_versions(&cx, &other, &s, &[])).unwrap_err(),
        block_on(activity::compare_versions(
            &cx,
            &other,
            &s,
            &q(&[("from", "0"), ("to", "0")]),
        ))
        .unwrap_err(),
    ] {
        assert_eq!(code(&err), "NOT_FOUND", "{err:?}");
    }
    assert_eq!(
        w.count("select count(*) from favorites where user_id = (select id from users where email = 'owner@example.com')"),
        1,
        "the owner's favorite stays"
    );
    assert_eq!(favorite_rows(&w), 1);
    assert_eq!(w.count("select count(*) from score_opens"), 1);
    assert!(ids(&favorites(&w, &other, &[]).unwrap(), "favorites").is_empty());
    assert!(ids(&history(&w, &other, &[]).unwrap(), "history").is_empty());
}

#[test]
fn ids_that_are_no_score_ids_or_name_no_score_are_404() {
    let w = World::new();
    let u = w.user("bad@example.com", 1 << 30);
    let cx = w.cx();
    let unknown = format!("sco_{}", "0".repeat(32));
    for id in [
        "",
        "nope",
        "sco_",
        "usr_00000000000000000000000000000000",
        &unknown,
    ] {
        assert_eq!(
            code(&block_on(activity::favorite(&cx, &u, id)).unwrap_err()),
            "NOT_FOUND",
            "{id:?}"
        );
        assert_eq!(
            code(&block_on(activity::opened(&cx, &u, id)).unwrap_err()),
            "NOT_FOUND",
            "{id:?}"
        );
    }
    assert_eq!(favorite_rows(&w), 0);
    assert_eq!(w.count("select count(*) from score_opens"), 0);
}

#[test]
fn a_favorite_the_database_refuses_is_an_error_and_stores_nothing() {
    let w = World::new();
    let u = w.user("down@example.com", 1 << 30);
    let s = score(&w, &u, "down");
    w.ports.db.fail_next("insert into favorites", 1);
    assert_eq!(
        block_on(activity::favorite(&w.cx(), &u, &s))
            .unwrap_err()
            .status(),
        500
    );
    assert_eq!(favorite_rows(&w), 0);
}

// ---- paging ----

#[test]
fn favorites_page_newest_first_by_twenty_and_the_cursor_continues_exactly() {
    let w = World::new();
    let u = w.user("pages@example.com", 1 << 30);
    let mut made = Vec::new();
    for i in 0..25 {
        let s = score(&w, &u, &format!("p{i}"));
        block_on(activity::favorite(&w.cx(), &u, &s)).unwrap();
        made.push(s);
        w.advance(1);
    }
    // Two favorited in the same millisecond: the id breaks the tie, nothing lost or repeated.
    let (a, b) = (score(&w, &u, "tie-a"), score(&w, &u, "tie-b"));
    block_on(activity::favorite(&w.cx(), &u, &a)).unwrap();
    block_on(activity::favorite(&w.cx(), &u, &b)).unwrap();
    let first = favorites(&w, &u, &[]).unwrap();
    let first_ids = ids(&first, "favorites");
    assert_eq!(first_ids.len(), 20, "the default limit");
    let mut tie = [a, b];
    tie.sort();
    tie.reverse();
    assert_eq!(first_ids[..2], tie[..]);
    assert_eq!(first_ids[2], made[24], "newest first");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = favorites(&w, &u, &[("cursor", cursor)]).unwrap();
    let second_ids = ids(&second, "favorites");
    assert_eq!(second_ids.len(), 7);
    assert_eq!(second["next_cursor"], Value::Null);
    let mut all: Vec<String> = first_ids.into_iter().chain(second_ids).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 27, "each favorite exactly once");
    let small = favorites(&w, &u, &[("limit", "5")]).unwrap();
    assert_eq!(ids(&small, "favorites").len(), 5);
    assert!(small["next_cursor"].is_string());
}

#[test]
fn bad_limits_tampered_cursors_and_cursors_of_another_list_are_refused() {
    let w = World::new();
    let u = w.user("cursor@example.com", 1 << 30);
    for i in 0..3 {
        let s = score(&w, &u, &format!("c{i}"));
        block_on(activity::favorite(&w.cx(), &u, &s)).unwrap();
        block_on(activity::opened(&w.cx(), &u, &s)).unwrap();
        w.advance(1);
    }
    for limit in ["0", "101", "-1", "x", ""] {
        let err = favorites(&w, &u, &[("limit", limit)]).unwrap_err();
        assert!(fields(&err)["limit"].is_string(), "{limit:?}");
        let err = history(&w, &u, &[("limit", limit)]).unwrap_err();
        assert!(fields(&err)["limit"].is_string(), "{limit:?}");
    }
    assert_eq!(
        ids(
            &favorites(&w, &u, &[("limit", "100")]).unwrap(),
            "favorites"
        )
        .len(),
        3
    );
    let fav_cursor = favorites(&w, &u, &[("limit", "1")]).unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let hist_cursor = history(&w, &u, &[("limit", "1")]).unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = fav_cursor.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (list, cursor) in [
        ("favorites", tampered.as_str()),
        ("favorites", hist_cursor.as_str()),
        ("favorites", "garbage"),
        ("history", fav_cursor.as_str()),
        ("history", "garbage"),
    ] {
        let err = if list == "favorites" {
            favorites(&w, &u, &[("cursor", cursor)])
        } else {
            history(&w, &u, &[("cursor", cursor)])
        }
        .unwrap_err();
        assert!(fields(&err)["cursor"].is_string(), "{list} {cursor}");
    }
    let err = favorites(&w, &u, &[("sort", "title")]).unwrap_err();
    assert!(fields(&err)["sort"].is_string());
}

#[test]
fn the_history_lists_every_open_newest_first_and_pages_by_its_cursor() {
    let w = World::new();
    let u = w.user("hist@example.com", 1 << 30);
    let (a, b) = (score(&w, &u, "a"), score(&w, &u, "b"));
    for s in [&a, &b, &a, &a, &b] {
        block_on(activity::opened(&w.cx(), &u, s)).unwrap();
        w.advance(1);
    }
    let first = history(&w, &u, &[("limit", "2")]).unwrap();
    assert_eq!(ids(&first, "history"), vec![b.clone(), a.clone()]);
    let second = history(
        &w,
        &u,
        &[
            ("limit", "2"),
            ("cursor", first["next_cursor"].as_str().unwrap()),
        ],
    )
    .unwrap();
    assert_eq!(ids(&second, "history"), vec![a.clone(), b.clone()]);
    let third = history(
        &w,
        &u,
        &[
            ("limit", "2"),
            ("cursor", second["next_cursor"].as_str().unwrap()),
        ],
    )
    .unwrap();
    assert_eq!(ids(&third, "history"), vec![a.clone()]);
    assert_eq!(third["next_cursor"], Value::Null);
    let opened_at = first["history"][0]["opened_at"].as_str().unwrap();
    assert!(opened_at > third["history"][0]["opened_at"].as_str().unwrap());
    assert_eq!(ids(&history(&w, &u, &[]).unwrap(), "history").len(), 5);
}

#[test]
fn the_history_keeps_only_the_newest_opens() {
    let w = World::new();
    let u = w.user("keep@example.com", 1 << 30);
    let other = w.user("keep2@example.com", 1 << 30);
    let s = score(&w, &u, "keep");
    let theirs = score(&w, &other, "keep2");
    block_on(activity::opened(&w.cx(), &other, &theirs)).unwrap();
    let keep = activity::HISTORY_KEEP;
    for _ in 0..keep + 5 {
        block_on(activity::opened(&w.cx(), &u, &s)).unwrap();
    }
    assert_eq!(
        w.count(&format!(
            "select count(*) from score_opens where user_id = '{u}'"
        )),
        keep
    );
    assert_eq!(
        w.count(&format!(
            "select count(*) from score_opens where user_id = '{other}'"
        )),
        1,
        "another user's history is not trimmed"
    );
}

// ---- versions ----

fn patch(w: &World, user: &str, id: &str, v: Value) {
    block_on(library::patch_score(&w.cx(), user, id, body(v))).unwrap();
}

fn versions(w: &World, user: &str, id: &str, query: &[(&str, &str)]) -> ApiResult<Value> {
    block_on(activity::list_versions(&w.cx(), user, id, &q(query)))
}

fn numbers(page: &Value) -> Vec<i64> {
    page["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}

#[test]
fn versions_list_the_score_as_created_first_and_page_by_their_cursor() {
    let w = World::new();
    let u = w.user("ver@example.com", 1 << 30);
    let s = score(&w, &u, "ver");
    assert_eq!(
        numbers(&versions(&w, &u, &s, &[]).unwrap()),
        Vec::<i64>::new()
    );
    for title in ["One", "Two", "Three"] {
        patch(&w, &u, &s, json!({"title": title}));
    }
    let all = versions(&w, &u, &s, &[]).unwrap();
    assert_eq!(numbers(&all), vec![0, 1, 2, 3]);
    assert_eq!(all["versions"][0]["fields"]["title"], "Score ver");
    assert_eq!(
        all["versions"][2]["changes"],
        json!([{"field": "title", "from": "One", "to": "Two"}])
    );
    assert_eq!(all["next_cursor"], Value::Null);
    let first = versions(&w, &u, &s, &[("limit", "2")]).unwrap();
    assert_eq!(numbers(&first), vec![0, 1], "version 0 takes a place");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = versions(&w, &u, &s, &[("limit", "2"), ("cursor", cursor)]).unwrap();
    assert_eq!(numbers(&second), vec![2, 3]);
    assert_eq!(second["next_cursor"], Value::Null);
    // A cursor of another score's versions, or of another list, is refused.
    let t = score(&w, &u, "ver2");
    let err = versions(&w, &u, &t, &[("cursor", cursor)]).unwrap_err();
    assert!(fields(&err)["cursor"].is_string());
    block_on(activity::favorite(&w.cx(), &u, &s)).unwrap();
    block_on(activity::favorite(&w.cx(), &u, &t)).unwrap();
    let fav_cursor = favorites(&w, &u, &[("limit", "1")]).unwrap()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let err = versions(&w, &u, &s, &[("cursor", &fav_cursor)]).unwrap_err();
    assert!(fields(&err)["cursor"].is_string());
    assert_eq!(
        code(&versions(&w, &u, "sco_bad", &[]).unwrap_err()),
        "NOT_FOUND"
    );
}

#[test]
fn a_first_page_of_one_shows_version_0_alone_and_the_cursor_continues_at_1() {
    let w = World::new();
    let u = w.user("one@example.com", 1 << 30);
    let s = score(&w, &u, "one");
    patch(&w, &u, &s, json!({"title": "One"}));
    patch(&w, &u, &s, json!({"title": "Two"}));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1")];
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let page = versions(&w, &u, &s, &query).unwrap();
        let got = numbers(&page);
        assert_eq!(got.len(), 1, "a full page of one: {page}");
        seen.extend(got);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec![0, 1, 2]);
}

fn compare(w: &World, user: &str, id: &str, query: &[(&str, &str)]) -> ApiResult<Value> {
    block_on(activity::compare_versions(&w.cx(), user, id, &q(query)))
}

#[test]
fn comparing_two_versions_lists_what_changed_and_bad_versions_are_named() {
    let w = World::with(&[("SCORE_VERSIONS_MAX", "3")]);
    let u = w.user("cmp@example.com", 1 << 30);
    let s = score(&w, &u, "cmp");
    patch(&w, &u, &s, json!({"title": "One", "composer": "Satie"}));
    patch(&w, &u, &s, json!({"title": "Two"}));
    let diff = compare(&w, &u, &s, &[("from", "0"), ("to", "2")]).unwrap();
    assert_eq!(
        diff,
        json!({"from": 0, "to": 2, "changes": [
            {"field": "composer", "from": null, "to": "Satie"},
            {"field": "title", "from": "Score cmp", "to": "Two"},
        ]})
    );
    let back = compare(&w, &u, &s, &[("from", "2"), ("to", "1")]).unwrap();
    assert_eq!(
        back["changes"],
        json!([{"field": "title", "from": "Two", "to": "One"}])
    );
    assert_eq!(
        compare(&w, &u, &s, &[("from", "1"), ("to", "1")]).unwrap()["changes"],
        json!([])
    );
    let err = compare(&w, &u, &s, &[]).unwrap_err();
    let f = fields(&err);
    assert!(f["from"].is_string() && f["to"].is_string(), "{f}");
    for bad in ["-1", "x", "1.5", ""] {
        let err = compare(&w, &u, &s, &[("from", bad), ("to", "1")]).unwrap_err();
        assert!(fields(&err)["from"].is_string(), "{bad:?}");
    }
    let err = compare(&w, &u, &s, &[("from", "0"), ("to", "9")]).unwrap_err();
    assert!(fields(&err)["to"].is_string());
    let err = compare(&w, &u, &s, &[("from", "0"), ("to", "1"), ("x", "1")]).unwrap_err();
    assert!(fields(&err)["x"].is_string());
    // Versions beyond the kept ones are gone, version 0 with version 1.
    for title in ["Three", "Four"] {
        patch(&w, &u, &s, json!({ "title": title }));
    }
    let err = compare(&w, &u, &s, &[("from", "0"), ("to", "4")]).unwrap_err();
    assert!(fields(&err)["from"].is_string());
    assert_eq!(
        numbers(&versions(&w, &u, &s, &[]).unwrap()),
        vec![2, 3, 4],
        "no version 0 once version 1 is pruned"
    );
    assert_eq!(
        code(&compare(&w, &u, "nope", &[("from", "0"), ("to", "1")]).unwrap_err()),
        "NOT_FOUND"
    );
}

// ---- stats ----

#[test]
fn the_statistics_match_the_rows_and_count_only_the_callers() {
    let w = World::new();
    let u = w.user("stats@example.com", 1 << 30);
    let other = w.user("stats2@example.com", 1 << 30);
    let (a, b, c) = (
        score(&w, &u, "sa"),
        score(&w, &u, "sb"),
        score(&w, &u, "sc"),
    );
    let theirs = score(&w, &other, "so");
    w.db()
        .execute("update scores set pages = 4 where id in (?1, ?2)", [&a, &b])
        .unwrap();
    block_on(activity::favorite(&w.cx(), &u, &a)).unwrap();
    block_on(activity::favorite(&w.cx(), &u, &c)).unwrap();
    block_on(activity::favorite(&w.cx(), &other, &theirs)).unwrap();
    // An old open (outside the 30 days) counts for nothing in top_opened.
    block_on(activity::opened(&w.cx(), &u, &c)).unwrap();
    block_on(activity::opened(&w.cx(), &u, &c)).unwrap();
    block_on(activity::opened(&w.cx(), &u, &c)).unwrap();
    w.advance(31 * 24 * 3600);
    for s in [&a, &b, &b] {
        block_on(activity::opened(&w.cx(), &u, s)).unwrap();
    }
    for _ in 0..5 {
        block_on(activity::opened(&w.cx(), &other, &theirs)).unwrap();
    }
    let stats: Value = json_of(block_on(activity::stats(&w.cx(), &u))).unwrap();
    let stats = &stats["stats"];
    let bytes = w.count(&format!(
        "select sum(size_bytes) from scores where user_id = '{u}'"
    ));
    assert_eq!(stats["scores"], 3);
    assert_eq!(stats["pages"], 8);
    assert_eq!(stats["bytes"], bytes);
    assert_eq!(stats["favorites"], 2);
    assert_eq!(stats["setlists"], 0);
    assert_eq!(stats["setlists_shared_by_me"], 0);
    assert_eq!(stats["setlists_shared_with_me"], 0);
    let top: Vec<(String, i64)> = stats["top_opened"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["score_id"].as_str().unwrap().to_owned(),
                t["opens"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(top, vec![(b, 2), (a, 1)]);
    let empty: Value = json_of(block_on(activity::stats(
        &w.cx(),
        &w.user("new@example.com", 1),
    )))
    .unwrap();
    assert_eq!(
        empty["stats"],
        json!({"scores": 0, "pages": 0, "bytes": 0, "trashed": 0, "setlists": 0, "setlists_shared_by_me": 0,
               "setlists_shared_with_me": 0, "favorites": 0, "top_opened": []})
    );
    w.ports.db.fail_next("json_object(", 1);
    assert!(block_on(activity::stats(&w.cx(), &u)).is_err());
}
