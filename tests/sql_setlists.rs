//! Setlists, favorites, history and versions SQL on SQLite against the real migrations: the
//! compare-and-swap writes, dense positions, score deletion leaving setlists, the version trigger
//! and statistics.

mod common;

use common::migrated;
use rusqlite::{params, Connection};
use scoremate::store::{activity, setlists};

const NOW: &str = "2026-03-01T12:00:00.000Z";

fn user(c: &Connection, id: &str) {
    c.execute(
        "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
         values (?1, ?1 || '@example.com', 'x', ?1, 1000, ?2, ?2)",
        params![id, NOW],
    )
    .unwrap();
}

fn score(c: &Connection, id: &str, owner: &str) {
    c.execute(
        "insert into scores (id, user_id, upload_id, object_key, filename, title, content_hash, size_bytes, pages, created_at, updated_at) \
         values (?1, ?2, 'up-' || ?1, 'k/' || ?1, 'f.pdf', 'Title ' || ?1, 'h-' || ?1, 10, 2, ?3, ?3)",
        params![id, owner, NOW],
    )
    .unwrap();
}

fn setlist(c: &Connection, id: &str, owner: &str) {
    c.execute(
        setlists::INSERT,
        params![
            id,
            owner,
            "Gig",
            None::<String>,
            None::<String>,
            None::<String>,
            None::<String>,
            NOW
        ],
    )
    .unwrap();
}

fn version(c: &Connection, id: &str) -> i64 {
    c.query_row("select version from setlists where id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

/// The add-item batch as the Worker runs it; returns whether the item was inserted.
fn add(c: &mut Connection, set: &str, expected: i64, item: &str, score: &str, at: i64) -> bool {
    let token = format!("t-{item}");
    let tx = c.transaction().unwrap();
    let claimed = tx
        .execute(
            setlists::CLAIM,
            params![set, expected, token, NOW, None::<i64>],
        )
        .unwrap();
    tx.execute(
        setlists::SHIFT_DOWN_FROM,
        params![set, token, at, None::<String>, score],
    )
    .unwrap();
    let inserted = tx
        .execute(
            setlists::INSERT_ITEM,
            params![set, token, at, item, score, None::<String>, "u1", NOW],
        )
        .unwrap();
    tx.commit().unwrap();
    claimed == 1 && inserted == 1
}

fn order(c: &Connection, set: &str) -> Vec<(String, i64)> {
    c.prepare(setlists::ITEM_IDS)
        .unwrap()
        .query_map([set], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn band() -> Connection {
    let c = migrated();
    for u in ["u1", "u2", "u3"] {
        user(&c, u);
    }
    for s in ["s1", "s2", "s3"] {
        score(&c, s, "u1");
    }
    score(&c, "x1", "u2");
    setlist(&c, "set1", "u1");
    c
}

#[test]
fn a_claim_for_an_add_holds_only_while_the_item_fits_under_the_limit() {
    let mut c = band();
    assert!(add(&mut c, "set1", 1, "i1", "s1", 1));
    assert!(add(&mut c, "set1", 2, "i2", "s2", 2));
    // With a limit of 2 items, an add must find at most 1 item: it finds 2, so nothing changes.
    let refused = c
        .execute(
            setlists::CLAIM_ANY,
            params!["set1", None::<i64>, "a", NOW, 1],
        )
        .unwrap();
    assert_eq!(refused, 0);
    assert_eq!(
        version(&c, "set1"),
        3,
        "a refused claim leaves the version alone"
    );
    let room = c
        .execute(setlists::CLAIM, params!["set1", 3, "b", NOW, 2])
        .unwrap();
    assert_eq!(room, 1, "with a limit of 3 items the add fits");
}

#[test]
fn items_keep_dense_positions_through_adds_moves_and_deletes() {
    let mut c = band();
    assert!(add(&mut c, "set1", 1, "i1", "s1", 1));
    assert!(add(&mut c, "set1", 2, "i2", "s2", 2));
    assert!(
        add(&mut c, "set1", 3, "i3", "s1", 1),
        "a reprise, inserted first"
    );
    let ids = |c: &Connection| {
        order(c, "set1")
            .into_iter()
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&c), vec!["i3", "i1", "i2"]);
    assert_eq!(
        order(&c, "set1")
            .iter()
            .map(|(_, p)| *p)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // Move i3 from 1 to 3.
    c.execute(setlists::CLAIM, params!["set1", 4, "m", NOW, None::<i64>])
        .unwrap();
    c.execute(
        setlists::MOVE_ITEM,
        params!["set1", "m", "i3", 1, 3, false, None::<String>, NOW],
    )
    .unwrap();
    assert_eq!(ids(&c), vec!["i1", "i2", "i3"]);
    // Delete the middle one and close the gap.
    c.execute(setlists::CLAIM, params!["set1", 5, "d", NOW, None::<i64>])
        .unwrap();
    c.execute(setlists::DELETE_ITEM, params!["set1", "d", "i2"])
        .unwrap();
    c.execute(setlists::CLOSE_GAP, params!["set1", "d", 2])
        .unwrap();
    assert_eq!(order(&c, "set1"), vec![("i1".into(), 1), ("i3".into(), 2)]);
}

#[test]
fn a_stale_version_changes_nothing_and_only_the_owners_scores_can_be_added() {
    let mut c = band();
    assert!(add(&mut c, "set1", 1, "i1", "s1", 1));
    assert!(!add(&mut c, "set1", 1, "i2", "s2", 1), "stale version");
    assert_eq!(order(&c, "set1").len(), 1);
    assert!(!add(&mut c, "set1", 2, "i3", "x1", 1), "u2's score");
    assert_eq!(order(&c, "set1"), vec![("i1".into(), 1)], "nothing shifted");
}

#[test]
fn two_reorders_from_the_same_version_one_wins_the_other_changes_nothing() {
    let mut c = band();
    for (n, (item, score)) in [("i1", "s1"), ("i2", "s2"), ("i3", "s3")]
        .iter()
        .enumerate()
    {
        assert!(add(&mut c, "set1", n as i64 + 1, item, score, n as i64 + 1));
    }
    let v = version(&c, "set1");
    let reorder = |c: &mut Connection, token: &str, new: &str| -> usize {
        let tx = c.transaction().unwrap();
        let claimed = tx
            .execute(setlists::CLAIM, params!["set1", v, token, NOW, None::<i64>])
            .unwrap();
        tx.execute(setlists::REORDER, params!["set1", token, new])
            .unwrap();
        tx.commit().unwrap();
        claimed
    };
    assert_eq!(reorder(&mut c, "a", r#"["i3","i1","i2"]"#), 1);
    assert_eq!(reorder(&mut c, "b", r#"["i2","i3","i1"]"#), 0);
    assert_eq!(
        order(&c, "set1"),
        vec![("i3".into(), 1), ("i1".into(), 2), ("i2".into(), 3)]
    );
}

#[test]
fn deleting_a_score_leaves_every_setlist_dense_with_a_history_entry() {
    let mut c = band();
    setlist(&c, "set2", "u1");
    assert!(add(&mut c, "set1", 1, "i1", "s1", 1));
    assert!(add(&mut c, "set1", 2, "i2", "s2", 2));
    assert!(add(&mut c, "set1", 3, "i3", "s1", 3));
    assert!(add(&mut c, "set1", 4, "i4", "s3", 4));
    assert!(add(&mut c, "set2", 1, "j1", "s1", 1));
    let before = (version(&c, "set1"), version(&c, "set2"));
    c.execute(
        "delete from scores where id = ?1 and user_id = ?2",
        params!["s1", "u1"],
    )
    .unwrap();
    assert_eq!(order(&c, "set1"), vec![("i2".into(), 1), ("i4".into(), 2)]);
    assert!(order(&c, "set2").is_empty());
    assert_eq!(
        (version(&c, "set1"), version(&c, "set2")),
        (before.0 + 1, before.1 + 1)
    );
    let events: Vec<String> = c
        .prepare(&setlists::events(setlists::Setlist::Id))
        .unwrap()
        .query_map(["set1"], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        events.len(),
        1,
        "one entry even though the score was in it twice"
    );
    assert!(events[0].contains("\"score_id\":\"s1\"") && events[0].contains("Title s1"));
}

#[test]
fn members_are_upserted_by_email_never_the_owner_and_leave_on_their_own() {
    let c = band();
    let add = |email: &str, role: &str, by: &str| -> Option<String> {
        c.query_row(
            setlists::UPSERT_MEMBER,
            params!["set1", by, email, role, NOW],
            |r| r.get(0),
        )
        .ok()
    };
    assert_eq!(add("u2@example.com", "viewer", "u1").as_deref(), Some("u2"));
    assert_eq!(add("u2@example.com", "editor", "u1").as_deref(), Some("u2"));
    assert_eq!(add("u1@example.com", "editor", "u1"), None, "the owner");
    assert_eq!(add("nobody@example.com", "editor", "u1"), None);
    assert_eq!(add("u3@example.com", "editor", "u2"), None, "not the owner");
    let role: String = c
        .query_row(setlists::ACCESS, params!["set1", "u2"], |r| r.get(3))
        .unwrap();
    assert_eq!(role, "editor");
    assert!(c
        .query_row(setlists::ACCESS, params!["set1", "u3"], |r| r
            .get::<_, String>(0))
        .is_err());
    // u3 cannot remove u2; u2 can leave.
    assert_eq!(
        c.execute(setlists::DELETE_MEMBER, params!["set1", "u3", "u2"])
            .unwrap(),
        0
    );
    assert_eq!(
        c.execute(setlists::DELETE_MEMBER, params!["set1", "u2", "u2"])
            .unwrap(),
        1
    );
}

#[test]
fn every_metadata_change_is_versioned_by_the_database() {
    let c = band();
    let patch = |title: &str, key: Option<&str>| {
        c.execute(
            "update scores set title = ?2, key = ?3, updated_at = ?4 where id = ?1",
            params!["s1", title, key, NOW],
        )
        .unwrap();
    };
    patch("Title s1", None);
    patch("Renamed", None);
    patch("Renamed", Some("G major"));
    c.execute(
        "update scores set pages = 9, pdf_info_state = 'ok' where id = 's1'",
        [],
    )
    .unwrap();
    let rows: Vec<(i64, String, String)> = c
        .prepare(activity::VERSIONS)
        .unwrap()
        .query_map(params!["s1", "u1", 0, 100], |r| {
            Ok((r.get(0)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows.len(),
        2,
        "no-op and processing updates are not versions"
    );
    assert!(
        rows[0].1.contains("\"title\":\"Title s1\"") && rows[0].2.contains("\"title\":\"Renamed\"")
    );
    assert!(rows[1].2.contains("\"key\":\"G major\""));
    // The PATCH batch keeps the newest N versions: with N = 1 only version 2 remains.
    let prune = activity::prune_versions("s1", 1);
    c.execute(&prune.sql, common::params_from(&prune.args))
        .unwrap();
    let left: Vec<i64> = c
        .prepare("select version from score_versions where score_id = 's1'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, vec![2]);
    let other: usize = c
        .prepare(activity::VERSIONS)
        .unwrap()
        .query_map(params!["s1", "u2", 0, 100], |_| Ok(()))
        .unwrap()
        .count();
    assert_eq!(other, 0, "only the owner reads versions");
}

#[test]
fn favorites_opens_and_stats() {
    let c = band();
    for _ in 0..2 {
        assert!(
            c.execute(activity::FAVORITE, params!["u1", "s1", NOW])
                .unwrap()
                <= 1
        );
    }
    assert_eq!(
        c.execute(activity::FAVORITE, params!["u1", "x1", NOW])
            .unwrap(),
        0,
        "not mine"
    );
    for (s, n) in [("s1", 3), ("s2", 1), ("x1", 5)] {
        for _ in 0..n {
            c.execute(activity::RECORD_OPEN, params!["u1", s, NOW])
                .unwrap();
        }
    }
    c.execute(activity::TRIM_OPENS, params!["u1", 3]).unwrap();
    let opens: i64 = c
        .query_row("select count(*) from score_opens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(opens, 3, "x1 is not u1's; the history keeps the newest 3");
    let stats: String = c
        .query_row(
            activity::STATS,
            params!["u1", "2026-02-01T00:00:00.000Z"],
            |r| r.get(0),
        )
        .unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["scores"], 3);
    assert_eq!(stats["pages"], 6);
    assert_eq!(stats["favorites"], 1);
    assert_eq!(stats["setlists"], 1);
    assert_eq!(stats["top_opened"][0]["score_id"], "s1");
    assert_eq!(stats["top_opened"][0]["opens"], 2);
}
