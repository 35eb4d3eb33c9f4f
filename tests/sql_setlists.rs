//! Setlists, favorites, history and versions SQL on SQLite against the real migrations, through
//! the statements the core builds: the compare-and-swap writes, dense positions, score deletion
//! leaving setlists, who sees what, the version trigger and statistics.

mod common;

use common::{batch, exec, migrated, rows};
use rusqlite::{params, Connection};
use scoremate::domain::setlist::SetlistFields;
use scoremate::store::setlists::{self as q, Claim, Expect, ItemMove, NewItem, NewSetlist, Via};
use scoremate::store::{activity, Stmt};

const NOW: &str = "2026-03-01T12:00:00.000Z";
const LATER: &str = "2026-03-02T12:00:00.000Z";

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
    // The ledger counts it, so the library's own delete batch can release it.
    c.execute(
        "update users set used_bytes = used_bytes + 10 where id = ?1",
        [owner],
    )
    .unwrap();
}

fn setlist(c: &Connection, id: &str, owner: &str) {
    let fields = SetlistFields {
        name: Some("Gig".into()),
        ..SetlistFields::default()
    };
    let changed = exec(
        c,
        &q::insert(&NewSetlist {
            id,
            owner,
            fields: &fields,
            now: NOW,
        }),
    );
    assert_eq!(changed, 1);
}

fn version(c: &Connection, id: &str) -> i64 {
    c.query_row("select version from setlists where id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

fn claim(set: &str, expect: Expect, token: &str, room: Option<i64>) -> Stmt {
    q::claim(&Claim {
        setlist: set,
        expect,
        token,
        now: NOW,
        room,
    })
}

/// The add-item batch as the service builds it; returns whether the item was inserted.
fn add(c: &mut Connection, set: &str, expect: Expect, item: &str, score: &str, at: i64) -> bool {
    let token = format!("t-{item}");
    let mut stmts = vec![claim(set, expect, &token, None)];
    stmts.extend(q::add_item(&NewItem {
        setlist: set,
        token: &token,
        id: item,
        score_id: score,
        bookmark_id: None,
        position: Some(at),
        notes: None,
        added_by: "u1",
        now: NOW,
    }));
    let changes = batch(c, &stmts).unwrap();
    changes[0] == 1 && changes[2] == 1
}

fn order(c: &Connection, set: &str) -> Vec<(String, i64)> {
    rows(c, &q::item_positions(set), |r| Ok((r.get(0)?, r.get(1)?)))
}

fn ids(c: &Connection, set: &str) -> Vec<String> {
    order(c, set).into_iter().map(|(i, _)| i).collect()
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

/// Version 1, 2, … : the next expected version of a fresh setlist after `n` writes.
fn v(n: i64) -> Expect {
    Expect::Version(n)
}

#[test]
fn a_claim_for_an_add_holds_only_while_the_item_fits_under_the_limit() {
    let mut c = band();
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    assert!(add(&mut c, "set1", v(2), "i2", "s2", 2));
    // With a limit of 2 items, an add must find at most 1 item: it finds 2, so nothing changes.
    assert_eq!(exec(&c, &claim("set1", Expect::Any, "a", Some(1))), 0);
    assert_eq!(
        version(&c, "set1"),
        3,
        "a refused claim leaves the version alone"
    );
    assert_eq!(
        exec(&c, &claim("set1", v(3), "b", Some(2))),
        1,
        "with a limit of 3 items the add fits"
    );
}

#[test]
fn an_add_without_a_version_claims_whatever_the_version() {
    let mut c = band();
    assert!(add(&mut c, "set1", Expect::Any, "i1", "s1", 1));
    assert!(add(&mut c, "set1", Expect::Any, "i2", "s2", 1));
    assert_eq!(ids(&c, "set1"), vec!["i2", "i1"]);
    assert_eq!(version(&c, "set1"), 3);
}

#[test]
fn items_keep_dense_positions_through_adds_moves_and_deletes() {
    let mut c = band();
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    assert!(add(&mut c, "set1", v(2), "i2", "s2", 2));
    assert!(
        add(&mut c, "set1", v(3), "i3", "s1", 1),
        "a reprise, inserted first"
    );
    assert_eq!(ids(&c, "set1"), vec!["i3", "i1", "i2"]);
    assert_eq!(
        order(&c, "set1")
            .iter()
            .map(|(_, p)| *p)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // Move i3 from 1 to 3, with notes.
    let moved = batch(
        &mut c,
        &[
            claim("set1", v(4), "m", None),
            q::move_item(&ItemMove {
                setlist: "set1",
                token: "m",
                item: "i3",
                from: 1,
                to: 3,
                notes: Some(Some("segue")),
                now: LATER,
            }),
        ],
    )
    .unwrap();
    assert_eq!(moved[0], 1);
    assert_eq!(ids(&c, "set1"), vec!["i1", "i2", "i3"]);
    let notes: Option<String> = c
        .query_row("select notes from setlist_items where id = 'i3'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(notes.as_deref(), Some("segue"));
    // Delete the middle one and close the gap.
    let mut stmts = vec![claim("set1", v(5), "d", None)];
    stmts.extend(q::remove_item("set1", "d", "i2", 2));
    batch(&mut c, &stmts).unwrap();
    assert_eq!(order(&c, "set1"), vec![("i1".into(), 1), ("i3".into(), 2)]);
}

#[test]
fn a_stale_version_changes_nothing_and_only_the_owners_scores_can_be_added() {
    let mut c = band();
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    assert!(!add(&mut c, "set1", v(1), "i2", "s2", 1), "stale version");
    assert_eq!(order(&c, "set1").len(), 1);
    assert!(!add(&mut c, "set1", v(2), "i3", "x1", 1), "u2's score");
    assert_eq!(order(&c, "set1"), vec![("i1".into(), 1)], "nothing shifted");
    assert!(!rows(&c, &q::owners_score("set1", "s1"), |_| Ok(())).is_empty());
    assert!(rows(&c, &q::owners_score("set1", "x1"), |_| Ok(())).is_empty());
}

#[test]
fn steps_under_a_token_that_no_longer_holds_change_nothing() {
    let mut c = band();
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    assert!(add(&mut c, "set1", v(2), "i2", "s2", 2));
    // "a" claims, then "b" claims over it before a's steps run: a's steps are void.
    assert_eq!(exec(&c, &claim("set1", v(3), "a", None)), 1);
    assert_eq!(exec(&c, &claim("set1", v(4), "b", None)), 1);
    let metadata = SetlistFields {
        name: Some("Hijacked".into()),
        ..SetlistFields::default()
    };
    assert_eq!(exec(&c, &q::update("set1", "a", &metadata)), 0);
    assert_eq!(
        exec(&c, &q::reorder("set1", "a", &["i2".into(), "i1".into()])),
        0
    );
    assert_eq!(
        batch(&mut c, &q::remove_item("set1", "a", "i1", 1)).unwrap(),
        vec![0, 0]
    );
    assert_eq!(ids(&c, "set1"), vec!["i1", "i2"]);
    assert_eq!(exec(&c, &q::update("set1", "b", &metadata)), 1);
}

#[test]
fn a_patch_keeps_what_was_not_sent_and_clears_what_was_sent_null() {
    let c = band();
    let patch = SetlistFields {
        venue: Some(Some("Blue Note".into())),
        notes: Some(Some("bring the capo".into())),
        ..SetlistFields::default()
    };
    exec(&c, &claim("set1", v(1), "p", None));
    assert_eq!(exec(&c, &q::update("set1", "p", &patch)), 1);
    let clear = SetlistFields {
        notes: Some(None),
        ..SetlistFields::default()
    };
    exec(&c, &claim("set1", v(2), "p2", None));
    exec(&c, &q::update("set1", "p2", &clear));
    let row: (String, Option<String>, Option<String>) = c
        .query_row(
            "select name, venue, notes from setlists where id = 'set1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(row, ("Gig".into(), Some("Blue Note".into()), None));
}

#[test]
fn two_reorders_from_the_same_version_one_wins_the_other_changes_nothing() {
    let mut c = band();
    for (n, (item, score)) in [("i1", "s1"), ("i2", "s2"), ("i3", "s3")]
        .iter()
        .enumerate()
    {
        assert!(add(
            &mut c,
            "set1",
            v(n as i64 + 1),
            item,
            score,
            n as i64 + 1
        ));
    }
    let at = version(&c, "set1");
    let reorder = |c: &mut Connection, token: &str, new: &[&str]| -> usize {
        let new: Vec<String> = new.iter().map(|s| (*s).to_owned()).collect();
        let changes = batch(
            c,
            &[
                claim("set1", v(at), token, None),
                q::reorder("set1", token, &new),
            ],
        )
        .unwrap();
        changes[0]
    };
    assert_eq!(reorder(&mut c, "a", &["i3", "i1", "i2"]), 1);
    assert_eq!(reorder(&mut c, "b", &["i2", "i3", "i1"]), 0);
    assert_eq!(
        order(&c, "set1"),
        vec![("i3".into(), 1), ("i1".into(), 2), ("i2".into(), 3)]
    );
}

#[test]
fn deleting_a_score_leaves_every_setlist_dense_with_a_history_entry() {
    let mut c = band();
    setlist(&c, "set2", "u1");
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    assert!(add(&mut c, "set1", v(2), "i2", "s2", 2));
    assert!(add(&mut c, "set1", v(3), "i3", "s1", 3));
    assert!(add(&mut c, "set1", v(4), "i4", "s3", 4));
    assert!(add(&mut c, "set2", v(1), "j1", "s1", 1));
    let before = (version(&c, "set1"), version(&c, "set2"));
    let deleted = batch(&mut c, &common::delete_for_good("s1", "u1", NOW)).unwrap();
    assert!(deleted[6] > 0);
    assert_eq!(order(&c, "set1"), vec![("i2".into(), 1), ("i4".into(), 2)]);
    assert!(order(&c, "set2").is_empty());
    assert_eq!(
        (version(&c, "set1"), version(&c, "set2")),
        (before.0 + 2, before.1 + 2),
        "trashed, then purged"
    );
    let via = Via::Member {
        setlist: "set1",
        user: "u1",
    };
    let events: Vec<String> = rows(&c, &q::events(via), |r| r.get(0));
    assert_eq!(
        events.len(),
        2,
        "one entry each even though the score was in it twice"
    );
    assert!(events[0].contains("\"score_id\":\"s1\"") && events[0].contains("Title s1"));
    assert!(events[0].contains("score_deleted") && events[1].contains("score_trashed"));
    assert!(
        !events[1].contains("Title s1"),
        "a trashed score's title is not told"
    );
}

#[test]
fn members_are_upserted_by_email_never_the_owner_and_leave_on_their_own() {
    let c = band();
    let add = |email: &str, role: &str, by: &str| -> Option<String> {
        rows(&c, &q::upsert_member("set1", by, email, role, NOW), |r| {
            r.get(0)
        })
        .into_iter()
        .next()
    };
    assert_eq!(add("u2@example.com", "viewer", "u1").as_deref(), Some("u2"));
    assert_eq!(add("u2@example.com", "editor", "u1").as_deref(), Some("u2"));
    assert_eq!(add("u1@example.com", "editor", "u1"), None, "the owner");
    assert_eq!(add("nobody@example.com", "editor", "u1"), None);
    assert_eq!(add("u3@example.com", "editor", "u2"), None, "not the owner");
    let role = |u: &str| -> Vec<String> { rows(&c, &q::access("set1", u), |r| r.get(1)) };
    assert_eq!(role("u2"), vec!["editor"]);
    assert_eq!(role("u1"), vec!["owner"]);
    assert!(role("u3").is_empty(), "an outsider has no row");
    // u3 cannot remove u2; u2 can leave.
    assert_eq!(exec(&c, &q::delete_member("set1", "u3", "u2")), 0);
    assert_eq!(exec(&c, &q::delete_member("set1", "u2", "u2")), 1);
    assert!(role("u2").is_empty());
}

#[test]
fn a_disabled_owner_shares_nothing() {
    let c = band();
    rows(
        &c,
        &q::upsert_member("set1", "u1", "u2@example.com", "viewer", NOW),
        |_| Ok(()),
    );
    exec(&c, &q::insert_link("lnk1", "set1", "u1", None, NOW));
    c.execute("update users set disabled_at = ?1 where id = 'u1'", [NOW])
        .unwrap();
    assert!(rows(&c, &q::access("set1", "u2"), |_| Ok(())).is_empty());
    let head = |via| rows(&c, &q::view(via, true)[0], |_| Ok(())).len();
    assert_eq!(
        head(Via::Member {
            setlist: "set1",
            user: "u2"
        }),
        0
    );
    assert_eq!(
        head(Via::Link {
            link: "lnk1",
            now: NOW
        }),
        0
    );
    assert!(rows(&c, &q::list("u2", true, None, 10), |_| Ok(())).is_empty());
}

#[test]
fn the_view_is_one_batch_whose_head_alone_decides_access() {
    let mut c = band();
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    rows(
        &c,
        &q::upsert_member("set1", "u1", "u2@example.com", "viewer", NOW),
        |_| Ok(()),
    );
    let member = Via::Member {
        setlist: "set1",
        user: "u2",
    };
    let stmts = q::view(member, true);
    assert_eq!(stmts.len(), 4, "head, items, history, members");
    let head: Vec<(String, String)> = rows(&c, &stmts[0], |r| Ok((r.get(0)?, r.get(1)?)));
    assert_eq!(head[0].1, "viewer");
    let items: Vec<(String, Option<String>, String)> =
        rows(&c, &stmts[1], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
    assert_eq!(items[0].0, "i1");
    assert!(items[0].2.contains("\"title\":\"Title s1\""));
    let members: Vec<(String, String)> = rows(&c, &stmts[3], |r| Ok((r.get(0)?, r.get(1)?)));
    assert_eq!(members.len(), 1);
    assert!(!members[0].0.contains("email"), "emails come apart");
    assert_eq!(members[0].1, "u2@example.com");
    let outsider = Via::Member {
        setlist: "set1",
        user: "u3",
    };
    assert!(rows(&c, &q::view(outsider, true)[0], |_| Ok(())).is_empty());
    // Through a link: no members statement at all, and the link must be live.
    exec(&c, &q::insert_link("lnk1", "set1", "u1", Some(LATER), NOW));
    let link = |now| Via::Link { link: "lnk1", now };
    assert_eq!(q::view(link(NOW), true).len(), 3);
    let head = |via| -> Vec<String> { rows(&c, &q::view(via, false)[0], |r| r.get(1)) };
    assert_eq!(head(link(NOW)), vec!["link"]);
    let link_items: Vec<String> = rows(&c, &q::view(link(NOW), false)[1], |r| r.get(0));
    assert_eq!(link_items, vec!["i1"]);
    assert!(head(link(LATER)).is_empty(), "expired");
    assert_eq!(
        exec(&c, &q::revoke_link("set1", "u2", "lnk1", NOW)),
        0,
        "not the owner"
    );
    assert_eq!(exec(&c, &q::revoke_link("set1", "u1", "lnk1", NOW)), 1);
    assert!(head(link(NOW)).is_empty(), "revoked");
}

#[test]
fn an_items_file_names_the_readers_role_and_nothing_for_anyone_else() {
    let mut c = band();
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    rows(
        &c,
        &q::upsert_member("set1", "u1", "u2@example.com", "editor", NOW),
        |_| Ok(()),
    );
    let role = |u: &str| -> Vec<String> { rows(&c, &q::item_file("set1", "i1", u), |r| r.get(6)) };
    assert_eq!(role("u1"), vec!["owner"]);
    assert_eq!(role("u2"), vec!["editor"]);
    assert!(role("u3").is_empty());
    assert!(rows(&c, &q::item_file("set1", "nope", "u1"), |_| Ok(())).is_empty());
    exec(&c, &q::insert_link("lnk1", "set1", "u1", None, NOW));
    let by_link: Vec<(String, String)> = rows(&c, &q::item_file_by_link("lnk1", "i1", NOW), |r| {
        Ok((r.get(1)?, r.get(6)?))
    });
    assert_eq!(by_link, vec![("k/s1".to_owned(), "link".to_owned())]);
}

#[test]
fn the_list_pages_by_last_change_and_shows_each_callers_role() {
    let c = band();
    setlist(&c, "set2", "u1");
    c.execute(
        "update setlists set updated_at = ?1 where id = 'set2'",
        [LATER],
    )
    .unwrap();
    rows(
        &c,
        &q::upsert_member("set1", "u1", "u2@example.com", "editor", NOW),
        |_| Ok(()),
    );
    let page =
        |user: &str, shared: bool, after: Option<(&str, &str)>| -> Vec<(String, String, String)> {
            rows(&c, &q::list(user, shared, after, 10), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(3)?))
            })
        };
    let mine = page("u1", false, None);
    assert_eq!(
        mine.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        vec!["set2", "set1"]
    );
    assert!(mine.iter().all(|r| r.2 == "owner"));
    let after = page("u1", false, Some((&mine[0].1, &mine[0].0)));
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, "set1");
    assert_eq!(
        page("u2", true, None),
        vec![("set1".into(), NOW.into(), "editor".into())]
    );
    assert!(page("u2", false, None).is_empty());
}

#[test]
fn comments_are_on_an_item_of_the_setlist_and_deleted_by_whom_the_service_says() {
    let mut c = band();
    assert!(add(&mut c, "set1", v(1), "i1", "s1", 1));
    setlist(&c, "set2", "u1");
    let comment = |id: &str, set: &str, author: &str| {
        exec(
            &c,
            &q::insert_comment(&q::NewComment {
                id,
                setlist: set,
                item: "i1",
                author,
                body: "count-in is 4 bars",
                now: NOW,
            }),
        )
    };
    assert_eq!(comment("c1", "set1", "u2"), 1);
    assert_eq!(comment("c2", "set2", "u2"), 0, "i1 is not in set2");
    let listed: Vec<String> = rows(&c, &q::comments("set1", "i1"), |r| r.get(0));
    assert!(listed[0].contains("\"display_name\":\"u2\""));
    let author: Vec<String> = rows(&c, &q::comment_author("set1", "i1", "c1"), |r| r.get(0));
    assert_eq!(author, vec!["u2"]);
    assert_eq!(
        exec(&c, &q::delete_comment("set1", "i1", "c1", "u3", false)),
        0
    );
    assert_eq!(
        exec(&c, &q::delete_comment("set1", "i1", "c1", "u1", true)),
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
    let versions: Vec<(i64, String, String)> =
        rows(&c, &activity::versions("s1", "u1", 0, 100), |r| {
            Ok((r.get(0)?, r.get(2)?, r.get(3)?))
        });
    assert_eq!(
        versions.len(),
        2,
        "no-op and processing updates are not versions"
    );
    assert!(
        versions[0].1.contains("\"title\":\"Title s1\"")
            && versions[0].2.contains("\"title\":\"Renamed\"")
    );
    assert!(versions[1].2.contains("\"key\":\"G major\""));
    let after_first: Vec<i64> = rows(&c, &activity::versions("s1", "u1", 1, 100), |r| r.get(0));
    assert_eq!(after_first, vec![2]);
    let at: Vec<i64> = rows(&c, &activity::versions_at("s1", "u1", 2, 2), |r| r.get(0));
    assert_eq!(
        at,
        vec![1, 2],
        "version 1 always comes along (its before is version 0)"
    );
    // The PATCH batch keeps the newest N versions: with N = 1 only version 2 remains.
    exec(&c, &activity::prune_versions("s1", 1));
    let left: Vec<i64> = c
        .prepare("select version from score_versions where score_id = 's1'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, vec![2]);
    assert!(
        rows(&c, &activity::versions("s1", "u2", 0, 100), |_| Ok(())).is_empty(),
        "only the owner reads versions"
    );
}

#[test]
fn favorites_opens_and_stats() {
    let c = band();
    assert_eq!(exec(&c, &activity::favorite("u1", "s1", NOW)), 1);
    assert_eq!(
        exec(&c, &activity::favorite("u1", "s1", NOW)),
        0,
        "idempotent"
    );
    assert_eq!(
        exec(&c, &activity::favorite("u1", "x1", NOW)),
        0,
        "not mine"
    );
    assert_eq!(exec(&c, &activity::favorite("u1", "s2", LATER)), 1);
    let favs: Vec<String> = rows(&c, &activity::favorites("u1", None, 10), |r| r.get(0));
    assert_eq!(favs, vec!["s2", "s1"], "newest first");
    let rest: Vec<String> = rows(
        &c,
        &activity::favorites("u1", Some((LATER, "s2")), 10),
        |r| r.get(0),
    );
    assert_eq!(rest, vec!["s1"]);
    for (s, n) in [("s1", 3), ("s2", 1), ("x1", 5)] {
        for _ in 0..n {
            exec(&c, &activity::record_open("u1", s, NOW));
        }
    }
    exec(&c, &activity::trim_opens("u1", 3));
    let opens: i64 = c
        .query_row("select count(*) from score_opens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(opens, 3, "x1 is not u1's; the history keeps the newest 3");
    let history: Vec<(String, i64)> = rows(&c, &activity::history("u1", None, 10), |r| {
        Ok((r.get(0)?, r.get(5)?))
    });
    assert_eq!(history[0].0, "s2");
    let older: Vec<String> = rows(&c, &activity::history("u1", Some(history[0].1), 10), |r| {
        r.get(0)
    });
    assert_eq!(older, vec!["s1", "s1"]);
    exec(&c, &activity::unfavorite("u1", "s2"));
    let stats: Vec<String> = rows(
        &c,
        &activity::stats("u1", "2026-02-01T00:00:00.000Z"),
        |r| r.get(0),
    );
    let stats: serde_json::Value = serde_json::from_str(&stats[0]).unwrap();
    assert_eq!(stats["scores"], 3);
    assert_eq!(stats["pages"], 6);
    assert_eq!(stats["favorites"], 1);
    assert_eq!(stats["setlists"], 1);
    assert_eq!(stats["top_opened"][0]["score_id"], "s1");
    assert_eq!(stats["top_opened"][0]["opens"], 2);
}
