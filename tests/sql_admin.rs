//! Admin SQL on SQLite against the real migrations: search with literal wildcards, patching and
//! disabling, the overview, and failed tasks with retry.

mod common;

use common::{batch, exec, migrated};
use rusqlite::{params, Connection};
use scoremate::domain::admin::search_term;
use scoremate::store::admin::{self as q, UserChange};
use scoremate::store::Stmt;
use serde_json::Value;

const NOW: &str = "2026-03-01T12:00:00.000Z";

fn user(c: &Connection, id: &str, email: &str) {
    c.execute(
        "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
         values (?1, ?2, 'x', 'Name ' || ?1, 1000, ?3, ?3)",
        params![id, email, NOW],
    )
    .unwrap();
}

/// The `json` column of each row, parsed.
fn rows(c: &Connection, s: &Stmt) -> Vec<Value> {
    common::rows(c, s, |r| r.get::<_, String>("json"))
        .iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect()
}

fn users(c: &Connection, q: Option<&str>, after: Option<&str>) -> Vec<Value> {
    let term = q.map(|q| search_term(q).unwrap());
    rows(c, &q::users(term.as_deref(), after, 10))
}

/// Runs an admin's change (its writes; the batch ends by reading the user back); what each
/// write changed.
fn patch(
    c: &mut Connection,
    quota_bytes: Option<i64>,
    role: Option<&str>,
    disabled: Option<bool>,
    now: &str,
) -> Vec<usize> {
    let stmts = q::patch_user(&UserChange {
        id: "usr_1",
        quota_bytes,
        role,
        disabled,
        now,
    });
    let (read, writes) = stmts.split_last().unwrap();
    assert_eq!(read, &q::user("usr_1"));
    batch(c, writes).unwrap()
}

#[test]
fn search_is_literal_paginated_and_hides_hashes() {
    let c = migrated();
    user(&c, "usr_1", "ann@example.com");
    user(&c, "usr_2", "bob_50%@example.com");
    user(&c, "usr_3", "bobby@example.com");
    let all = users(&c, None, None);
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|u| u.get("password_hash").is_none()));
    assert_eq!(all[0]["disabled"], Value::Bool(false));
    assert_eq!(all[0]["scores"], 0);
    let literal = users(&c, Some("bo_b"), None);
    assert!(literal.is_empty(), "_ is not a wildcard");
    let pct = users(&c, Some("50%"), None);
    assert_eq!(pct.len(), 1);
    let page = users(&c, Some("bob"), Some("bob_50%@example.com"));
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["email"], "bobby@example.com");
}

#[test]
fn a_search_longer_than_d1s_like_pattern_limit_still_matches() {
    let c = migrated();
    let long = format!("a-very-long-address-{}@example.com", "x".repeat(40));
    user(&c, "usr_1", &long);
    user(&c, "usr_2", "short@example.com");
    let found = users(&c, Some(&long[..60]), None);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["email"], long.as_str());
    let upper = users(&c, Some("SHORT@"), None);
    assert_eq!(upper.len(), 1, "matching ignores ASCII case");
}

#[test]
fn patching_changes_only_what_is_sent_and_disabling_ends_sessions() {
    let mut c = migrated();
    user(&c, "usr_1", "ann@example.com");
    c.execute(
        "insert into sessions (id, user_id, created_at, last_used_at, expires_at) values ('ses_1', 'usr_1', ?1, ?1, ?1)",
        params![NOW],
    )
    .unwrap();
    let changed = patch(&mut c, Some(5000), None, Some(true), NOW);
    assert_eq!(changed[..2], [1, 1], "the change and the session ended");
    let u = &rows(&c, &q::user("usr_1"))[0];
    assert_eq!(u["quota_bytes"], 5000);
    assert_eq!(u["role"], "user");
    assert_eq!(u["disabled"], Value::Bool(true));
    let revoked: Option<String> = c
        .query_row(
            "select revoked_at from sessions where id = 'ses_1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(revoked.as_deref(), Some(NOW));
    // Disabling again keeps the first time; enabling clears it.
    patch(
        &mut c,
        None,
        Some("admin"),
        Some(true),
        "2027-01-01T00:00:00.000Z",
    );
    assert_eq!(rows(&c, &q::user("usr_1"))[0]["disabled_at"], NOW);
    assert_eq!(
        patch(&mut c, None, None, Some(false), NOW).len(),
        1,
        "enabling ends no session"
    );
    let u = &rows(&c, &q::user("usr_1"))[0];
    assert_eq!(u["disabled"], Value::Bool(false));
    assert_eq!(u["role"], "admin");
}

#[test]
fn the_overview_and_failed_tasks_count_what_went_wrong() {
    let c = migrated();
    user(&c, "usr_1", "ann@example.com");
    c.execute(
        "insert into scores (id, user_id, upload_id, object_key, filename, title, content_hash, size_bytes, pages, \
           pdf_info_state, pdf_info_reason, thumbnail_state, created_at, updated_at) \
         values ('sco_1', 'usr_1', 'u1', 'k1', 'f.pdf', 'T', 'h1', 10, 3, 'failed', 'not a PDF', 'pending', ?1, ?1)",
        params![NOW],
    )
    .unwrap();
    c.execute(
        "insert into task_runs (id, task, state, attempts, detail, created_at, updated_at) \
         values ('dead:m1', 'dead_letter', 'dead', 1, '{\"task\":\"thumbnail\",\"score_id\":\"sco_1\"}', ?1, ?1)",
        params![NOW],
    )
    .unwrap();
    let stats: Value =
        serde_json::from_str(&common::rows(&c, &q::stats(), |r| r.get::<_, String>(0)).remove(0))
            .unwrap();
    assert_eq!(stats["users"], 1);
    assert_eq!(stats["scores"], 1);
    assert_eq!(stats["pages"], 3);
    assert_eq!(stats["processing_failed"], 1);
    assert_eq!(stats["processing_pending"], 1);
    assert_eq!(stats["dead_letters"], 1);
    let tasks = rows(&c, &q::failed_tasks(10));
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"pdf_info:sco_1") && ids.contains(&"dead:m1"));
    let dead = tasks.iter().find(|t| t["id"] == "dead:m1").unwrap();
    assert_eq!(dead["message"]["task"], "thumbnail");
    assert_eq!(
        exec(
            &c,
            &q::retry_pdf_info(scoremate::store::processing::Of::Score, "sco_1")
        ),
        1
    );
    assert_eq!(
        exec(
            &c,
            &q::retry_pdf_info(scoremate::store::processing::Of::Score, "sco_1")
        ),
        0,
        "only failed tasks"
    );
    assert_eq!(
        exec(
            &c,
            &q::retry_thumbnail(scoremate::store::processing::Of::Score, "sco_1")
        ),
        0,
        "not failed"
    );
    assert_eq!(
        common::rows(&c, &q::dead_letter("dead:m1"), |r| r.get::<_, String>(0)).len(),
        1
    );
    assert_eq!(exec(&c, &q::dead_letter_retried("dead:m1", NOW)), 1);
    assert!(common::rows(&c, &q::dead_letter("dead:m1"), |r| r.get::<_, String>(0)).is_empty());
    assert!(rows(&c, &q::failed_tasks(10)).is_empty());
}
