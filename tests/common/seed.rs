//! Rows inserted straight into the real schema (triggers and all), many at a time, for the
//! tests that need libraries of some size: search and query plans.

#![allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]

use rusqlite::{params, Connection};

/// A user with an id of the Worker's shape (`usr_` + 32 hex digits) ending in `n`.
pub fn user(c: &Connection, n: u32) -> String {
    let id = format!("usr_{n:032x}");
    c.execute(
        "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
         values (?1, ?2, 'h', 'U', 1099511627776, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
        params![id, format!("{id}@example.com")],
    )
    .unwrap();
    id
}

/// `n` more scores of `user`, the `i`-th (from 0) titled `title(i)` and tagged `tag(i)`, each
/// updated (and created) after the user's previous ones; their ids.
pub fn scores(
    c: &Connection,
    user: &str,
    n: usize,
    title: impl Fn(usize) -> String,
    tag: impl Fn(usize) -> &'static str,
) -> Vec<String> {
    let tx = c.unchecked_transaction().unwrap();
    let mut ids = Vec::with_capacity(n);
    {
        let mut score = tx
            .prepare(
                "insert into scores (id, user_id, upload_id, object_key, filename, title, composer, instrumentation, \
                   notes, tags, content_hash, size_bytes, created_at, updated_at) \
                 values (?1, ?2, 'upl_' || ?1, 'k/' || ?1, 'f.pdf', ?3, 'Antonín Dvořák', 'piano', 'gig notes', \
                   json_array(?4), 'h' || ?1, 1, ?5, ?5)",
            )
            .unwrap();
        let mut tags = tx
            .prepare("insert into score_tags (score_id, tag) values (?1, ?2)")
            .unwrap();
        let tail = &user[user.len() - 6..];
        let base: usize = tx
            .query_row(
                "select count(*) from scores where user_id = ?1",
                [user],
                |r| r.get(0),
            )
            .unwrap();
        for i in 0..n {
            let id = format!("sco_{tail}_{:06}", base + i);
            let at = format!("2026-01-01T00:00:00.{:06}Z", base + i);
            score
                .execute(params![id, user, title(i), tag(i), at])
                .unwrap();
            tags.execute(params![id, tag(i)]).unwrap();
            ids.push(id);
        }
    }
    tx.commit().unwrap();
    ids
}
