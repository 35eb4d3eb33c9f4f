//! Admin SQL on SQLite against the real migrations: search with literal wildcards, patching and
//! disabling, the overview, and failed tasks with retry.

mod common;

use common::migrated;
use rusqlite::{params, Connection};
use scoremate::domain::admin::search_term;
use scoremate::store::admin as q;
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

fn rows(c: &Connection, sql: &str, args: impl rusqlite::Params) -> Vec<Value> {
    let mut stmt = c.prepare(sql).unwrap();
    let out: Vec<String> = stmt
        .query_map(args, |r| r.get::<_, String>("json"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    out.iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect()
}

#[test]
fn search_is_literal_paginated_and_hides_hashes() {
    let c = migrated();
    user(&c, "usr_1", "ann@example.com");
    user(&c, "usr_2", "bob_50%@example.com");
    user(&c, "usr_3", "bobby@example.com");
    let all = rows(&c, q::USERS, params![None::<String>, None::<String>, 10]);
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|u| u.get("password_hash").is_none()));
    assert_eq!(all[0]["disabled"], Value::Bool(false));
    assert_eq!(all[0]["scores"], 0);
    let literal = rows(
        &c,
        q::USERS,
        params![search_term("bo_b").unwrap(), None::<String>, 10],
    );
    assert!(literal.is_empty(), "_ is not a wildcard");
    let pct = rows(
        &c,
        q::USERS,
        params![search_term("50%").unwrap(), None::<String>, 10],
    );
    assert_eq!(pct.len(), 1);
    let page = rows(
        &c,
        q::USERS,
        params![search_term("bob").unwrap(), "bob_50%@example.com", 10],
    );
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["email"], "bobby@example.com");
}

#[test]
fn a_search_longer_than_d1s_like_pattern_limit_still_matches() {
    let c = migrated();
    let long = format!("a-very-long-address-{}@example.com", "x".repeat(40));
    user(&c, "usr_1", &long);
    user(&c, "usr_2", "short@example.com");
    let term = search_term(&long[..60]).unwrap();
    let found = rows(&c, q::USERS, params![term, None::<String>, 10]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["email"], long.as_str());
    let upper = rows(
        &c,
        q::USERS,
        params![search_term("SHORT@").unwrap(), None::<String>, 10],
    );
    assert_eq!(upper.len(), 1, "matching ignores ASCII case");
}

#[test]
fn patching_changes_only_what_is_sent_and_disabling_ends_sessions() {
    let c = migrated();
    user(&c, "usr_1", "ann@example.com");
    c.execute(
        "insert into sessions (id, user_id, created_at, last_used_at, expires_at) values ('ses_1', 'usr_1', ?1, ?1, ?1)",
        params![NOW],
    )
    .unwrap();
    c.execute(
        q::PATCH_USER,
        params!["usr_1", 5000, None::<String>, 1, NOW],
    )
    .unwrap();
    c.execute(q::REVOKE_SESSIONS, params!["usr_1", NOW])
        .unwrap();
    let u = &rows(&c, q::USER, params!["usr_1"])[0];
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
    c.execute(
        q::PATCH_USER,
        params!["usr_1", None::<i64>, "admin", 1, "2027-01-01T00:00:00.000Z"],
    )
    .unwrap();
    assert_eq!(rows(&c, q::USER, params!["usr_1"])[0]["disabled_at"], NOW);
    c.execute(
        q::PATCH_USER,
        params!["usr_1", None::<i64>, None::<String>, 0, NOW],
    )
    .unwrap();
    let u = &rows(&c, q::USER, params!["usr_1"])[0];
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
    let stats: Value = serde_json::from_str(
        &c.query_row(q::STATS, [], |r| r.get::<_, String>(0))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stats["users"], 1);
    assert_eq!(stats["scores"], 1);
    assert_eq!(stats["pages"], 3);
    assert_eq!(stats["processing_failed"], 1);
    assert_eq!(stats["processing_pending"], 1);
    assert_eq!(stats["dead_letters"], 1);
    let tasks = rows(&c, q::FAILED_TASKS, params![10]);
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"pdf_info:sco_1") && ids.contains(&"dead:m1"));
    let dead = tasks.iter().find(|t| t["id"] == "dead:m1").unwrap();
    assert_eq!(dead["message"]["task"], "thumbnail");
    assert_eq!(c.execute(q::RETRY_PDF_INFO, params!["sco_1"]).unwrap(), 1);
    assert_eq!(
        c.execute(q::RETRY_PDF_INFO, params!["sco_1"]).unwrap(),
        0,
        "only failed tasks"
    );
    assert_eq!(
        c.execute(q::DEAD_LETTER_RETRIED, params!["dead:m1", NOW])
            .unwrap(),
        1
    );
    assert!(rows(&c, q::FAILED_TASKS, params![10]).is_empty());
}
