//! The admin use cases run natively through the ports: each one refused (404) to everyone but
//! admins, the users list paged by signed cursors bound to its search, changes to users (and
//! their sessions), the overview, and failed tasks with their re-run.

mod common;

use common::ports::{block_on, World};
use serde_json::{json, Map, Value};

use scoremate::domain::task::Task;
use scoremate::error::{ApiError, ApiResult};
use scoremate::ports::Db;
use scoremate::service::{accounts, admin};
use scoremate::store::accounts as q;
use scoremate::store::rows::UserRow;

const T: &str = "2026-03-01T12:00:00.000Z";

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

fn fields(e: &ApiError) -> Value {
    assert_eq!(code(e), "VALIDATION_FAILED", "{e:?}");
    e.envelope()["error"]["fields"].clone()
}

fn row(w: &World, id: &str) -> UserRow {
    block_on(w.ports.db.first::<UserRow>(q::user(id)))
        .unwrap()
        .unwrap()
}

/// A user (role `user`) and an admin: their rows.
fn people(w: &World) -> (UserRow, UserRow) {
    let admin = w.user("root@example.com", 1000);
    w.db()
        .execute("update users set role = 'admin' where id = ?1", [&admin])
        .unwrap();
    let ann = w.user("ann@example.com", 1000);
    (row(w, &ann), row(w, &admin))
}

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn users(w: &World, caller: &UserRow, pairs: &[(&str, &str)]) -> ApiResult<Value> {
    block_on(admin::users(&w.cx(), caller, &query(pairs)))
        .map(|text| serde_json::from_str(&text).unwrap())
}

fn emails(page: &Value) -> Vec<String> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

fn patch(w: &World, caller: &UserRow, id: &str, v: Value) -> ApiResult<Value> {
    let body: Map<String, Value> = v.as_object().cloned().unwrap();
    block_on(admin::patch_user(&w.cx(), caller, id, body))
        .map(|text| serde_json::from_str(&text).unwrap())
}

fn tasks(w: &World, caller: &UserRow, pairs: &[(&str, &str)]) -> ApiResult<Vec<Value>> {
    block_on(admin::tasks(&w.cx(), caller, &query(pairs)))
        .map(|text| serde_json::from_str(&text).unwrap())
}

/// A score of `user` whose `pdf_info` failed.
fn failed_score(w: &World, user: &str, id: &str) {
    w.db()
        .execute(
            "insert into scores (id, user_id, upload_id, object_key, filename, title, content_hash, \
               size_bytes, pages, pdf_info_state, pdf_info_reason, thumbnail_state, created_at, updated_at) \
             values (?1, ?2, 'u_' || ?1, 'k/' || ?1, 'f.pdf', 'T', 'h_' || ?1, 10, 3, 'failed', \
               'not a PDF', 'pending', ?3, ?3)",
            rusqlite::params![id, user, T],
        )
        .unwrap();
}

fn dead_letter(w: &World, id: &str, detail: &str) {
    w.db()
        .execute(
            "insert into task_runs (id, task, state, attempts, detail, created_at, updated_at) \
             values (?1, 'dead_letter', 'dead', 1, ?2, ?3, ?3)",
            rusqlite::params![id, detail, T],
        )
        .unwrap();
}

fn pdf_info_state(w: &World, score: &str) -> String {
    w.db()
        .query_row(
            "select pdf_info_state from scores where id = ?1",
            [score],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn every_admin_use_case_answers_anyone_else_404_and_changes_nothing() {
    let w = World::new();
    let (ann, _) = people(&w);
    let bob = row(&w, &w.user("bob@example.com", 1000));
    failed_score(&w, &bob.id, "sco_1");
    let refused: Vec<ApiError> = vec![
        users(&w, &ann, &[]).unwrap_err(),
        patch(
            &w,
            &ann,
            &bob.id,
            json!({"disabled": true, "quota_bytes": 1}),
        )
        .unwrap_err(),
        patch(&w, &ann, &ann.id, json!({"role": "admin"})).unwrap_err(),
        block_on(admin::stats(&w.cx(), &ann)).unwrap_err(),
        tasks(&w, &ann, &[]).unwrap_err(),
        block_on(admin::retry_task(&w.cx(), &ann, "pdf_info:sco_1")).unwrap_err(),
        // Even a malformed request: the route does not exist for them.
        users(&w, &ann, &[("limit", "0"), ("nope", "1")]).unwrap_err(),
    ];
    for e in &refused {
        assert_eq!((code(e), e.status()), ("NOT_FOUND", 404), "{e:?}");
    }
    let bob_after = row(&w, &bob.id);
    assert_eq!(bob_after.quota_bytes, 1000);
    assert_eq!(row(&w, &ann.id).role, "user");
    assert_eq!(
        w.count("select count(*) from users where disabled_at is not null"),
        0
    );
    assert_eq!(pdf_info_state(&w, "sco_1"), "failed");
    assert!(w.ports.tasks.drain().is_empty());
}

#[test]
fn users_are_paged_by_email_with_cursors_until_the_last_page() {
    let w = World::new();
    let (_, root) = people(&w);
    for i in 0..5 {
        w.user(&format!("user{i}@example.com"), 1000);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut pairs = vec![("limit", "2")];
        if let Some(c) = &cursor {
            pairs.push(("cursor", c.as_str()));
        }
        let page = users(&w, &root, &pairs).unwrap();
        assert!(emails(&page).len() <= 2);
        seen.extend(emails(&page));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..5).map(|i| format!("user{i}@example.com")).collect();
    expected.extend(["ann@example.com".into(), "root@example.com".into()]);
    expected.sort();
    assert_eq!(seen, expected, "every user once, in email order");
    assert_eq!(pages, 4);
    let first = users(&w, &root, &[]).unwrap();
    assert_eq!(emails(&first), expected, "one page by default");
    assert_eq!(first["next_cursor"], Value::Null);
    assert!(first["users"][0].get("password_hash").is_none());
    assert_eq!(first["users"][0]["disabled"], false);
}

#[test]
fn without_a_limit_a_page_holds_twenty_users_and_at_most_two_hundred_can_be_asked() {
    let w = World::new();
    let (_, root) = people(&w);
    for i in 0..25 {
        w.user(&format!("u{i:02}@example.com"), 1000);
    }
    let page = users(&w, &root, &[]).unwrap();
    assert_eq!(emails(&page).len(), 20);
    assert!(page["next_cursor"].is_string());
    assert_eq!(
        emails(&users(&w, &root, &[("limit", "200")]).unwrap()).len(),
        27
    );
    for bad in ["0", "201", "x", "1.5"] {
        let e = users(&w, &root, &[("limit", bad)]).unwrap_err();
        assert!(fields(&e)["limit"].is_string(), "{bad}");
    }
}

#[test]
fn a_cursor_serves_only_the_search_it_was_made_for() {
    let w = World::new();
    let (_, root) = people(&w);
    for name in ["bob1", "bob2", "bob3", "carl"] {
        w.user(&format!("{name}@example.com"), 1000);
    }
    let first = users(&w, &root, &[("q", "BOB"), ("limit", "1")]).unwrap();
    assert_eq!(emails(&first), ["bob1@example.com"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let next = users(
        &w,
        &root,
        &[("q", " bob "), ("cursor", &cursor), ("limit", "5")],
    )
    .unwrap();
    assert_eq!(
        emails(&next),
        ["bob2@example.com", "bob3@example.com"],
        "the same search (normalised), any limit"
    );
    for other in [vec![("q", "carl")], vec![]] {
        let mut pairs = other.clone();
        pairs.push(("cursor", &cursor));
        let e = users(&w, &root, &pairs).unwrap_err();
        assert_eq!(
            fields(&e)["cursor"],
            "belongs to another list, ordering or filter"
        );
    }
    let mut forged = cursor.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let e = users(&w, &root, &[("q", "bob"), ("cursor", &forged)]).unwrap_err();
    assert_eq!(fields(&e)["cursor"], "is not a valid cursor");
    let e = users(&w, &root, &[("after", "bob1@example.com")]).unwrap_err();
    assert!(
        fields(&e)["after"].is_string(),
        "the old parameter is unknown"
    );
}

#[test]
fn the_search_is_literal_and_bounded() {
    let w = World::new();
    let (_, root) = people(&w);
    w.user("bob_50%@example.com", 1000);
    w.user("bobby@example.com", 1000);
    assert_eq!(
        emails(&users(&w, &root, &[("q", "_50%")]).unwrap()),
        ["bob_50%@example.com"]
    );
    assert!(emails(&users(&w, &root, &[("q", "b_b")]).unwrap()).is_empty());
    assert_eq!(
        emails(&users(&w, &root, &[("q", "  ")]).unwrap()).len(),
        4,
        "blank is everyone"
    );
    let long = "y".repeat(255);
    assert!(fields(&users(&w, &root, &[("q", &long)]).unwrap_err())["q"].is_string());
}

#[test]
fn an_admin_changes_quota_and_role_and_disabling_ends_every_session_at_once() {
    let w = World::new();
    let (_, root) = people(&w);
    let victim = block_on(accounts::register(
        &w.cx(),
        "192.0.2.1",
        json!({"email": "vic@example.com", "password": "correct horse 42", "display_name": "V"})
            .as_object()
            .cloned()
            .unwrap(),
    ))
    .unwrap();
    let login = || {
        block_on(accounts::login(
            &w.cx(),
            "192.0.2.1",
            json!({"email": "vic@example.com", "password": "correct horse 42"})
                .as_object()
                .cloned()
                .unwrap(),
        ))
    };
    let sessions = [login().unwrap(), login().unwrap()];
    let changed = patch(
        &w,
        &root,
        &victim.id,
        json!({"quota_bytes": 2048, "role": "admin"}),
    )
    .unwrap();
    assert_eq!(
        (changed["quota_bytes"].clone(), changed["role"].clone()),
        (json!(2048), json!("admin"))
    );
    assert_eq!(row(&w, &victim.id).quota_bytes, 2048);
    let disabled = patch(&w, &root, &victim.id, json!({"disabled": true})).unwrap();
    assert_eq!(disabled["disabled"], true);
    assert_eq!(disabled["quota_bytes"], 2048, "kept");
    for s in &sessions {
        assert_eq!(
            code(&block_on(accounts::authenticate(&w.cx(), Some(&s.access))).unwrap_err()),
            "INVALID_TOKEN"
        );
    }
    assert_eq!(
        w.count("select count(*) from sessions where revoked_reason = 'disabled'"),
        2
    );
    assert_eq!(code(&login().unwrap_err()), "FORBIDDEN");
    let first_disabled = disabled["disabled_at"].clone();
    w.advance(60);
    let again = patch(&w, &root, &victim.id, json!({"disabled": true})).unwrap();
    assert_eq!(
        again["disabled_at"], first_disabled,
        "the first time is kept"
    );
    let enabled = patch(&w, &root, &victim.id, json!({"disabled": false})).unwrap();
    assert_eq!(enabled["disabled"], false);
    assert!(login().is_ok());
}

#[test]
fn bad_changes_unknown_users_and_locking_oneself_out_are_refused() {
    let w = World::new();
    let (ann, root) = people(&w);
    let e = patch(
        &w,
        &root,
        &ann.id,
        json!({"quota_bytes": -5, "role": "god", "disabled": "no"}),
    )
    .unwrap_err();
    let f = fields(&e);
    for name in ["quota_bytes", "role", "disabled"] {
        assert!(f[name].is_string(), "{name}");
    }
    assert!(fields(&patch(&w, &root, &ann.id, json!({})).unwrap_err())["quota_bytes"].is_string());
    let unknown = patch(
        &w,
        &root,
        &format!("usr_{}", "0".repeat(32)),
        json!({"quota_bytes": 1}),
    )
    .unwrap_err();
    assert_eq!(code(&unknown), "NOT_FOUND");
    let own = patch(
        &w,
        &root,
        &root.id,
        json!({"disabled": true, "role": "user"}),
    )
    .unwrap_err();
    let f = fields(&own);
    assert!(f["disabled"].is_string() && f["role"].is_string());
    assert!(
        patch(&w, &root, &root.id, json!({"quota_bytes": 5})).is_ok(),
        "their own quota"
    );
    let root_after = row(&w, &root.id);
    assert_eq!(
        (root_after.role.as_str(), root_after.quota_bytes),
        ("admin", 5)
    );
    assert_eq!(
        row(&w, &ann.id).quota_bytes,
        1000,
        "a refused change changed nothing"
    );
}

#[test]
fn the_overview_counts_users_scores_and_what_went_wrong() {
    let w = World::new();
    let (ann, root) = people(&w);
    failed_score(&w, &ann.id, "sco_1");
    dead_letter(&w, "dead:m1", r#"{"task":"thumbnail","score_id":"sco_1"}"#);
    let stats: Value =
        serde_json::from_str(&block_on(admin::stats(&w.cx(), &root)).unwrap()).unwrap();
    assert_eq!(stats["users"], 2);
    assert_eq!(stats["admins"], 1);
    assert_eq!(stats["scores"], 1);
    assert_eq!(stats["pages"], 3);
    assert_eq!(stats["processing_failed"], 1);
    assert_eq!(stats["processing_pending"], 1);
    assert_eq!(stats["dead_letters"], 1);
}

#[test]
fn failed_tasks_are_listed_twenty_by_default_and_at_most_five_hundred() {
    let w = World::new();
    let (ann, root) = people(&w);
    for i in 0..25 {
        failed_score(&w, &ann.id, &format!("sco_{i:02}"));
    }
    assert_eq!(tasks(&w, &root, &[]).unwrap().len(), 20);
    assert_eq!(tasks(&w, &root, &[("limit", "500")]).unwrap().len(), 25);
    assert_eq!(tasks(&w, &root, &[("limit", "3")]).unwrap().len(), 3);
    for bad in [("limit", "501"), ("limit", "0"), ("cursor", "x")] {
        let e = tasks(&w, &root, &[bad]).unwrap_err();
        assert!(fields(&e)[bad.0].is_string(), "{bad:?}");
    }
}

#[test]
fn a_failed_task_is_re_run_once_with_its_attempt_counts_forgotten() {
    let w = World::new();
    let (ann, root) = people(&w);
    failed_score(&w, &ann.id, "sco_1");
    w.db()
        .execute(
            "insert into task_runs (id, task, state, attempts, failures, crashes, created_at, updated_at) \
             values ('pdf_info:sco_1', 'pdf_info', 'failed', 5, 5, 1, ?1, ?1)",
            [T],
        )
        .unwrap();
    let listed = tasks(&w, &root, &[]).unwrap();
    assert_eq!(listed[0]["id"], "pdf_info:sco_1");
    let task = block_on(admin::retry_task(&w.cx(), &root, "pdf_info:sco_1")).unwrap();
    assert_eq!(
        task,
        json!({"id": "pdf_info:sco_1", "task": "pdf_info", "record_id": "pdf_info:sco_1", "state": "pending"})
    );
    assert_eq!(pdf_info_state(&w, "sco_1"), "pending");
    assert_eq!(
        w.count("select failures + crashes from task_runs where id = 'pdf_info:sco_1'"),
        0
    );
    assert_eq!(
        w.ports.tasks.drain(),
        [Task::PdfInfo {
            score_id: "sco_1".into()
        }]
    );
    let again = block_on(admin::retry_task(&w.cx(), &root, "pdf_info:sco_1")).unwrap_err();
    assert_eq!(code(&again), "NOT_FOUND", "it is no longer failed");
    for id in [
        "thumbnail:sco_1",
        "pdf_info:sco_404",
        "nonsense",
        "dead:none",
    ] {
        let e = block_on(admin::retry_task(&w.cx(), &root, id)).unwrap_err();
        assert_eq!(code(&e), "NOT_FOUND", "{id}");
    }
    assert!(w.ports.tasks.drain().is_empty());
}

#[test]
fn a_dead_letter_is_re_run_as_its_task_unless_it_is_none() {
    let w = World::new();
    let (ann, root) = people(&w);
    failed_score(&w, &ann.id, "sco_1");
    w.db()
        .execute(
            "update scores set thumbnail_state = 'failed' where id = 'sco_1'",
            [],
        )
        .unwrap();
    dead_letter(&w, "dead:m1", r#"{"task":"thumbnail","score_id":"sco_1"}"#);
    dead_letter(&w, "dead:m2", "not json at all");
    let task = block_on(admin::retry_task(&w.cx(), &root, "dead:m1")).unwrap();
    assert_eq!(task["task"], "thumbnail");
    assert_eq!(
        w.ports.tasks.drain(),
        [Task::Thumbnail {
            score_id: "sco_1".into()
        }]
    );
    assert_eq!(
        w.count("select count(*) from scores where thumbnail_state = 'pending'"),
        1
    );
    assert_eq!(
        w.count("select count(*) from task_runs where id = 'dead:m1' and state = 'dead'"),
        0
    );
    let e = block_on(admin::retry_task(&w.cx(), &root, "dead:m1")).unwrap_err();
    assert_eq!(code(&e), "NOT_FOUND", "handled once");
    let e = block_on(admin::retry_task(&w.cx(), &root, "dead:m2")).unwrap_err();
    assert_eq!(code(&e), "NOT_RETRYABLE");
    assert_eq!(
        w.count("select count(*) from task_runs where id = 'dead:m2' and state = 'dead'"),
        1,
        "kept for the record"
    );
    assert!(w.ports.tasks.drain().is_empty());
}

#[test]
fn a_re_run_the_queue_refuses_is_502() {
    let w = World::new();
    let (ann, root) = people(&w);
    failed_score(&w, &ann.id, "sco_1");
    w.ports.tasks.refuse.set(true);
    let e = block_on(admin::retry_task(&w.cx(), &root, "pdf_info:sco_1")).unwrap_err();
    assert_eq!(e.status(), 502);
}
