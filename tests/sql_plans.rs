//! Every list route's statement reads by index (issue 17): `EXPLAIN QUERY PLAN` of the very
//! statements the core builds, on the real migrations with libraries of some size seeded, must
//! show no `SCAN` of a table (only `SEARCH … USING … INDEX`, a full-text match, or a scan of the
//! statement's own subqueries), without statistics (D1 keeps none unless asked: the planner
//! must not need them) and with them (`ANALYZE`).

mod common;
use common::{migrated, params_from, seed};

use rusqlite::{params, Connection};
use scoremate::storage::signed::SigningKey;
use scoremate::store::paging::CURSOR_PURPOSE;
use scoremate::store::search::{self, ListQuery};
use scoremate::store::{
    activity, admin, annotations, bookmarks, exports, library, parts, presets, setlists, Stmt,
};

const T: &str = "2026-01-01T00:00:00.000Z";

/// Two libraries (1 000 and 300 scores, tags, favorites, opens, versions, bookmarks, parts,
/// annotations, presets), 40 setlists with items, members, comments and links, and a user with
/// nothing. Returns (big, other, empty).
fn seeded() -> (Connection, [String; 3]) {
    let c = migrated();
    let big = seed::user(&c, 1);
    let other = seed::user(&c, 2);
    let empty = seed::user(&c, 3);
    // A thousand more accounts, each with a session, a few scores, a favorite, an open, a
    // preset and a setlist: with statistics (`ANALYZE`), the planner must see what production
    // has, many users each owning a sliver of every table.
    for n in 10..1010 {
        let u = seed::user(&c, n);
        let ids = seed::scores(&c, &u, 3, |i| format!("Minuet {i}"), |_| "gig");
        c.execute_batch(&format!(
            "insert into sessions (id, user_id, created_at, last_used_at, expires_at) values ('ses_{n}', '{u}', '{T}', '{T}', '{T}');
             insert into favorites (user_id, score_id, created_at) values ('{u}', '{id}', '{T}');
             insert into score_opens (user_id, score_id, opened_at) values ('{u}', '{id}', '{T}');
             insert into presets (id, user_id, kind, name, created_at) values ('pre_u{n}', '{u}', 'genre', 'Tango', '{T}');
             insert into setlists (id, owner_id, name, created_at, updated_at) values ('set_u{n}', '{u}', 'Gig', '{T}', '{T}');
             insert into setlist_members (setlist_id, user_id, role, created_at) values ('set_u{}', '{u}', 'viewer', '{T}');",
            n.max(11) - 1,
            id = ids[0]
        ))
        .unwrap();
    }
    let title = |i: usize| format!("Nocturne No. {i} in C");
    let tag = |i: usize| if i % 2 == 0 { "gig" } else { "exam" };
    let mine = seed::scores(&c, &big, 1000, title, tag);
    let theirs = seed::scores(&c, &other, 300, title, tag);
    let tx = c.unchecked_transaction().unwrap();
    for (n, (owner, ids)) in [(&big, &mine), (&other, &theirs)].into_iter().enumerate() {
        for (i, id) in ids.iter().enumerate().take(200) {
            tx.execute(
                "insert into favorites (user_id, score_id, created_at) values (?1, ?2, ?3)",
                params![owner, id, T],
            )
            .unwrap();
            tx.execute(
                "insert into score_opens (user_id, score_id, opened_at) values (?1, ?2, ?3)",
                params![owner, id, T],
            )
            .unwrap();
            tx.execute(
                "insert into bookmarks (id, user_id, score_id, title, first_page, last_page, created_at, updated_at) \
                 values (?1, ?2, ?3, 'Ave Maria ' || ?4, 1, 2, ?5, ?5)",
                params![format!("bmk_{n}_{i}"), owner, id, i, T],
            )
            .unwrap();
            tx.execute(
                "insert into annotations (user_id, score_id, layer, data, bytes, version, created_at, updated_at) \
                 values (?1, ?2, 'pencil', '{}', 2, 1, ?3, ?3)",
                params![owner, id, T],
            )
            .unwrap();
            tx.execute(
                "insert into score_parts (id, score_id, user_id, name, source, first_page, last_page, created_at, updated_at) \
                 values (?1, ?2, ?3, 'Violin', 'pages', 1, 2, ?4, ?4)",
                params![format!("prt_{n}_{i}"), id, owner, T],
            )
            .unwrap();
            tx.execute("update scores set rating = 3 where id = ?1", [id])
                .unwrap();
        }
        for s in 0..20 {
            let setlist = format!("set_{n}_{s}");
            tx.execute(
                "insert into setlists (id, owner_id, name, created_at, updated_at) values (?1, ?2, 'Gig', ?3, ?3)",
                params![setlist, owner, T],
            )
            .unwrap();
            for (p, id) in ids.iter().take(10).enumerate() {
                tx.execute(
                    "insert into setlist_items (id, setlist_id, score_id, position, added_by, created_at, updated_at) \
                     values (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    params![format!("itm_{n}_{s}_{p}"), setlist, id, p + 1, owner, T],
                )
                .unwrap();
                tx.execute(
                    "insert into item_comments (id, setlist_id, item_id, author_id, body, created_at) \
                     values (?1, ?2, ?3, ?4, 'ok', ?5)",
                    params![format!("cmt_{n}_{s}_{p}"), setlist, format!("itm_{n}_{s}_{p}"), owner, T],
                )
                .unwrap();
            }
            tx.execute(
                "insert into setlist_links (id, setlist_id, created_at) values (?1, ?2, ?3)",
                params![format!("lnk_{n}_{s}"), setlist, T],
            )
            .unwrap();
        }
        tx.execute(
            "insert into presets (id, user_id, kind, name, created_at) values (?1, ?2, 'genre', 'Tango', ?3)",
            params![format!("pre_{n}"), owner, T],
        )
        .unwrap();
    }
    // The other user is a member of ten of the big library's setlists.
    for s in 0..10 {
        tx.execute(
            "insert into setlist_members (setlist_id, user_id, role, created_at) values (?1, ?2, 'viewer', ?3)",
            params![format!("set_0_{s}"), other, T],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    (c, [big, other, empty])
}

/// The statement's query plan, one line per step.
fn plan(c: &Connection, s: &Stmt) -> Vec<String> {
    c.prepare(&format!("explain query plan {}", s.sql))
        .unwrap_or_else(|e| panic!("{e}: {}", s.sql))
        .query_map(params_from(&s.args), |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The names a statement's `from` and `join` clauses give real tables (the table and its alias).
fn table_names(c: &Connection, sql: &str) -> Vec<String> {
    let tables: Vec<String> = c
        .prepare("select name from sqlite_master where type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut words: Vec<String> = sql
        .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.push(String::new());
    let mut names = Vec::new();
    for w in words.windows(3) {
        if (w[0] == "from" || w[0] == "join") && tables.contains(&w[1]) {
            names.push(w[1].clone());
            if ![
                "", "where", "on", "join", "left", "cross", "inner", "order", "group", "limit",
            ]
            .contains(&w[2].as_str())
            {
                names.push(w[2].clone());
            }
        }
    }
    names
}

/// Partial indexes: a scan of one reads only the rows it holds.
fn partial_indexes(c: &Connection) -> Vec<String> {
    c.prepare("select name from sqlite_master where type = 'index' and sql like '% where %'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The plan's scans of real tables (neither a full-text match through its index nor a walk of
/// a partial index is one).
fn scans(c: &Connection, s: &Stmt) -> Vec<String> {
    let names = table_names(c, &s.sql);
    let partial = partial_indexes(c);
    plan(c, s)
        .into_iter()
        .filter(|line| {
            let Some(rest) = line.strip_prefix("SCAN ") else {
                return false;
            };
            let target = rest.split(' ').next().unwrap_or_default();
            let fts_match = rest.contains("VIRTUAL TABLE INDEX")
                && rest.rsplit(':').next().is_some_and(|idx| idx.contains('M'));
            let partial_walk = rest
                .split(" INDEX ")
                .nth(1)
                .is_some_and(|i| partial.iter().any(|p| p == i));
            names.iter().any(|n| n == target) && !fts_match && !partial_walk
        })
        .collect()
}

/// Every statement of a list route, named.
fn list_statements(users: &[String; 3]) -> Vec<(String, Stmt)> {
    let [big, other, empty] = users;
    let key = SigningKey::derive(b"k", CURSOR_PURPOSE);
    let mut out = Vec::new();
    let mut score_list = |name: String, pairs: &[(&str, &str)], user: &str| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let q = ListQuery::parse(&pairs, &key).unwrap();
        // A second page: the same statement with the keyset condition.
        let cursor = q.pager(&key).cursor(q.position(None, "sco_x"));
        let mut next = pairs.clone();
        next.push(("cursor".into(), cursor));
        let q2 = ListQuery::parse(&next, &key).unwrap();
        for (page, q) in [("", q), (" page 2", q2)] {
            let (sql, args) = q.sql(&library::score_columns(), user, Some("ses_1"));
            out.push((format!("GET /v1/scores {name}{page}"), Stmt::new(sql, args)));
        }
    };
    for ordering in search::ordering_names() {
        for o in [ordering.to_owned(), format!("-{ordering}")] {
            score_list(format!("ordering={o}"), &[("ordering", &o)], big);
            score_list(
                format!("ordering={o}&query=no in"),
                &[("ordering", &o), ("query", "no in")],
                big,
            );
        }
    }
    for (name, pairs) in [
        ("query=etude", vec![("query", "etude")]),
        ("query=nocturnes", vec![("query", "nocturnes")]),
        ("tag=gig", vec![("tag", "gig")]),
        ("tag=gig&tag=exam", vec![("tag", "gig"), ("tag", "exam")]),
        ("composer", vec![("composer", "Antonín Dvořák")]),
        ("instrumentation", vec![("instrumentation", "piano")]),
        ("preset", vec![("preset", "pre_solo_piano")]),
        (
            "query&tag&composer",
            vec![("query", "noc"), ("tag", "gig"), ("composer", "x")],
        ),
    ] {
        score_list(name.into(), &pairs, big);
        score_list(format!("{name} (empty library)"), &pairs, empty);
    }
    out.push(("GET /v1/trash".into(), library::trash(big, None, 21)));
    out.push((
        "GET /v1/trash page 2".into(),
        library::trash(big, Some((T, "sco_x")), 21),
    ));
    out.push((
        "GET /v1/favorites".into(),
        activity::favorites(big, None, 21),
    ));
    out.push((
        "GET /v1/favorites page 2".into(),
        activity::favorites(big, Some((T, "sco_x")), 21),
    ));
    out.push(("GET /v1/history".into(), activity::history(big, None, 21)));
    out.push((
        "GET /v1/history page 2".into(),
        activity::history(big, Some(100), 21),
    ));
    let score = "sco_000001_000000";
    out.push((
        "GET /v1/scores/{id}/versions".into(),
        activity::versions(score, big, 0, 21),
    ));
    out.push(("GET /v1/scores/{id}/parts".into(), parts::parts(score, big)));
    out.push((
        "GET /v1/scores/{id}/annotations".into(),
        annotations::own_layers(big, score, ""),
    ));
    for (name, terms, tags, songbook) in [
        ("", vec![], vec![], None),
        (" query", search::terms("ave ma"), vec![], None),
        (" long query", search::terms("ave mariaaaaa"), vec![], None),
        (" tag", vec![], vec!["gig".to_owned()], None),
        (" score_id", vec![], vec![], Some(score)),
    ] {
        for (page, after) in [("", None), (" page 2", Some(("Ave", "bmk_x")))] {
            out.push((
                format!("GET /v1/bookmarks{name}{page}"),
                bookmarks::list(big, &terms, &tags, songbook, after, 21),
            ));
        }
    }
    for user in [big, other, empty] {
        for shared in [false, true] {
            for (page, after) in [("", None), (" page 2", Some((T, "set_x")))] {
                out.push((
                    format!("GET /v1/setlists?shared={shared}{page} ({user})"),
                    setlists::list(user, shared, after, 21),
                ));
            }
        }
    }
    out.push((
        "GET /v1/setlists/{id}/items/{item_id}/comments".into(),
        setlists::comments("set_0_1", "itm_0_1_1"),
    ));
    out.push((
        "GET /v1/setlists/{id}/links".into(),
        setlists::links("set_0_1", big),
    ));
    out.push(("GET /v1/exports".into(), exports::list(big, 21)));
    out.push(("GET /v1/presets".into(), presets::list(big, None)));
    out.push((
        "GET /v1/presets?kind".into(),
        presets::list(big, Some("genre")),
    ));
    out.push(("GET /v1/admin/tasks".into(), admin::failed_tasks(20)));
    out.push(("GET /v1/admin/users".into(), admin::users(None, None, 21)));
    out.push((
        "GET /v1/admin/users page 2".into(),
        admin::users(None, Some("a@example.com"), 21),
    ));
    out
}

#[test]
fn no_list_route_scans_a_table() {
    let (c, users) = seeded();
    let statements = list_statements(&users);
    let mut bad = Vec::new();
    for analyzed in [false, true] {
        if analyzed {
            c.execute_batch("analyze").unwrap();
        }
        for (name, s) in &statements {
            let found = scans(&c, s);
            if !found.is_empty() {
                bad.push(format!(
                    "{name} (analyze: {analyzed}): {found:?}\n  {}",
                    plan(&c, s).join("\n  ")
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_scan_detector_sees_a_scan() {
    let (c, _) = seeded();
    let s = Stmt::new(
        "select s.id from scores s where s.title = ?1",
        vec!["x".into()],
    );
    assert!(scans(&c, &s)[0].starts_with("SCAN s"));
    let s = Stmt::new(
        "select rowid from scores_fts where scores_fts match ?1",
        vec!["x".into()],
    );
    assert!(scans(&c, &s).is_empty());
    let s = Stmt::new("select rowid from scores_fts", vec![]);
    assert_eq!(scans(&c, &s).len(), 1);
}
