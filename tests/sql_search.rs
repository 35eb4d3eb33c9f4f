//! Full-text search scoped to one user (migration 0018, `store::fts`) on real SQLite with the
//! real migrations: every way a page is read (few, more, very many hits) returns what a plain
//! filter would, a user's search matches only their own index entries, folding is as before,
//! and the migration rebuilds the index of existing rows.

mod common;
use common::{migrated, rows, seed};

use rusqlite::{params, Connection};
use scoremate::storage::signed::SigningKey;
use scoremate::store::paging::CURSOR_PURPOSE;
use scoremate::store::search::{self, ListQuery};
use scoremate::store::{bookmarks, fts, library as lib};

/// Ids of the first `pages` pages of `user`'s list for `pairs`, each page following the
/// previous one's cursor.
fn pages(c: &Connection, user: &str, pairs: &[(&str, &str)], pages: usize) -> Vec<Vec<String>> {
    let key = SigningKey::derive(b"k", CURSOR_PURPOSE);
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..pages {
        let mut all: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        if let Some(c) = &cursor {
            all.push(("cursor".into(), c.clone()));
        }
        let q = ListQuery::parse(&all, &key).unwrap();
        let (sql, args) = q.sql(&lib::score_columns(), user, None);
        let got = rows(c, &scoremate::store::Stmt::new(sql, args), |r| {
            Ok((
                r.get::<_, String>("id")?,
                r.get::<_, Option<rusqlite::types::Value>>("sort_key")?,
            ))
        });
        let sort_key = |v: &Option<rusqlite::types::Value>| match v {
            Some(rusqlite::types::Value::Text(t)) => serde_json::json!(t),
            Some(rusqlite::types::Value::Integer(i)) => serde_json::json!(i),
            _ => serde_json::Value::Null,
        };
        let (page, next) = q
            .pager(&key)
            .page(got, |(id, k)| q.position(Some(&sort_key(k)), id));
        out.push(page.into_iter().map(|(id, _)| id).collect());
        cursor = next;
    }
    out
}

/// The first `pages` pages of 5 of `ids` (newest update first: highest index first) that
/// `keep` selects.
fn expected(ids: &[String], keep: impl Fn(usize) -> bool, pages: usize) -> Vec<Vec<String>> {
    let all: Vec<String> = (0..ids.len())
        .rev()
        .filter(|&i| keep(i))
        .map(|i| ids[i].clone())
        .collect();
    (0..pages)
        .map(|p| all.iter().skip(p * 5).take(5).cloned().collect())
        .collect()
}

fn title(i: usize) -> String {
    let form = match i {
        _ if i % 1000 == 7 => "Etude",
        _ if i % 3 == 0 => "Nocturne",
        _ => "Sonata",
    };
    let extra = if i % 2 == 0 { " Humoresque" } else { "" };
    format!("{form} No. {i} in C{extra}")
}

#[test]
fn every_way_of_reading_a_page_agrees_with_a_plain_filter() {
    let c = migrated();
    let big = seed::user(&c, 1);
    let small = seed::user(&c, 2);
    // More rows than the "very many" threshold, so each way is taken.
    let n = usize::try_from(fts::MANY_HITS).unwrap() + 500;
    let ids = seed::scores(
        &c,
        &big,
        n,
        title,
        |i| if i % 4 == 0 { "gig" } else { "exam" },
    );
    let small_ids = seed::scores(&c, &small, 50, title, |_| "gig");
    let cases: [(&str, &dyn Fn(usize) -> bool); 6] = [
        // Few hits (11): sorted from the hits.
        ("etude", &|i| i % 1000 == 7),
        // More (3 500): the ordering index filtered by the list of hits.
        ("noct", &|i| i % 3 == 0 && i % 1000 != 7),
        // Every row, a served prefix: checked row by row.
        ("no in", &|_| true),
        // Every other row, a prefix longer than the prefix indexes: never row by row.
        ("humoresque", &|i| i % 2 == 0),
        // Accents and case fold; a prefix of the composer.
        ("DVOŘ", &|_| true),
        ("zzz", &|_| false),
    ];
    for (query, keep) in cases {
        let got = pages(&c, &big, &[("query", query), ("limit", "5")], 3);
        assert_eq!(got, expected(&ids, keep, 3), "query {query}");
    }
    // With another filter (a tag on every fourth row), each way still agrees.
    let got = pages(
        &c,
        &big,
        &[("query", "no in"), ("tag", "gig"), ("limit", "5")],
        2,
    );
    assert_eq!(got, expected(&ids, |i| i % 4 == 0, 2));
    let got = pages(
        &c,
        &big,
        &[("query", "noct"), ("tag", "gig"), ("limit", "5")],
        2,
    );
    assert_eq!(got, expected(&ids, |i| i % 12 == 0, 2));
    // Another ordering: oldest first.
    let got = pages(
        &c,
        &big,
        &[("query", "no"), ("ordering", "created_at"), ("limit", "5")],
        1,
    );
    assert_eq!(got, vec![ids[..5].to_vec()]);
    // The small library sees its own rows only.
    let got = pages(&c, &small, &[("query", "sonata"), ("limit", "100")], 1);
    let mine: Vec<String> = (0..50)
        .rev()
        .filter(|i| i % 3 != 0 && i % 1000 != 7)
        .map(|i| small_ids[i].clone())
        .collect();
    assert_eq!(got, vec![mine]);
}

#[test]
fn a_search_reads_only_the_searching_users_index_entries() {
    let c = migrated();
    let a = seed::user(&c, 0xa);
    let b = seed::user(&c, 0xb);
    seed::scores(&c, &a, 30, title, |_| "gig");
    seed::scores(&c, &b, 30, title, |_| "gig");
    // Every word in the index carries its owner's key: the dictionary has a range per user.
    let (ka, kb) = (fts::key(&a).to_lowercase(), fts::key(&b).to_lowercase());
    let terms: Vec<String> = c
        .prepare("create virtual table temp.v using fts5vocab(main, scores_fts, 'row')")
        .and_then(|mut s| s.execute([]))
        .and_then(|_| c.prepare("select term from temp.v"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!terms.is_empty());
    assert!(
        terms
            .iter()
            .all(|t| t.starts_with(&ka) || t.starts_with(&kb)),
        "{terms:?}"
    );
    // So a match under B's key finds B's rows only, with nothing filtered after.
    let seqs = |user: &str| -> Vec<i64> {
        c.prepare("select rowid from scores_fts where scores_fts match ?1")
            .unwrap()
            .query_map([fts::matcher(user, &search::terms("sonata no"))], |r| {
                r.get(0)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let owners: Vec<String> = seqs(&b)
        .iter()
        .map(|s| {
            c.query_row("select user_id from scores where seq = ?1", [s], |r| {
                r.get(0)
            })
            .unwrap()
        })
        .collect();
    assert_eq!(owners.len(), 19);
    assert!(owners.iter().all(|o| *o == b));
    // The key computed here is the one the triggers write.
    for id in [a.as_str(), "usr_1", "ü-ñ-漢字-user"] {
        let sql: String = c
            .query_row(
                &format!("select {}", fts::KEY_SQL.replace("user_id", "?1")),
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sql, fts::key(id), "{id}");
    }
}

#[test]
fn case_accents_decomposed_text_and_combining_scripts_fold_as_one_word() {
    let c = migrated();
    let u = seed::user(&c, 3);
    let titles = [
        "Étude",
        "E\u{301}TUDE op. 10",
        "Ètude",
        "किताब संगीत",
        "Smetana: Vltava",
        "Møller",
    ];
    let ids = seed::scores(&c, &u, titles.len(), |i| titles[i].to_owned(), |_| "gig");
    let found = |q: &str| -> Vec<String> {
        let mut got = pages(&c, &u, &[("query", q), ("limit", "100")], 1).remove(0);
        got.sort();
        got
    };
    let etudes = ids[..3].to_vec();
    for q in ["etude", "ÉTUDE", "e\u{301}tu", "Ètu"] {
        assert_eq!(found(q), etudes, "{q}");
    }
    assert_eq!(found("किताब"), vec![ids[3].clone()]);
    assert_eq!(found("कि"), vec![ids[3].clone()]);
    assert_eq!(found("vltava smetana"), vec![ids[4].clone()]);
    assert_eq!(found("MØLL"), vec![ids[5].clone()]);
    assert_eq!(found("op 10 etude"), vec![ids[1].clone()]);
    // A word is a prefix, never a middle.
    assert!(found("tude").is_empty());
}

#[test]
fn updates_renames_and_deletes_follow_the_index() {
    let c = migrated();
    let u = seed::user(&c, 4);
    let ids = seed::scores(&c, &u, 2, |i| format!("Prelude {i}"), |_| "gig");
    let found = |q: &str| pages(&c, &u, &[("query", q)], 1).remove(0);
    c.execute(
        "update scores set title = 'Toccata', notes = 'Wedding' where id = ?1",
        [&ids[0]],
    )
    .unwrap();
    assert_eq!(found("prelude"), vec![ids[1].clone()]);
    assert_eq!(found("toccata wedding"), vec![ids[0].clone()]);
    c.execute("update scores set rating = 5 where id = ?1", [&ids[0]])
        .unwrap();
    assert_eq!(found("toccata"), vec![ids[0].clone()]);
    c.execute("delete from scores where id = ?1", [&ids[0]])
        .unwrap();
    assert!(found("toccata").is_empty());
    // The scratch index the triggers tokenize with is left empty.
    let left: i64 = c
        .query_row("select count(*) from search_scratch_words", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(left, 0);
}

fn bookmark(c: &Connection, owner: &str, score: &str, id: &str, title: &str, seq: i64) {
    c.execute(
        "insert into bookmarks (seq, id, user_id, score_id, title, composer, first_page, last_page, created_at, updated_at) \
         values (?5, ?1, ?2, ?3, ?4, 'Franz Schubert', 1, 2, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
        params![id, owner, score, title, seq],
    )
    .unwrap();
}

fn bookmark_ids(c: &Connection, owner: &str, query: &str) -> Vec<String> {
    let s = bookmarks::list(owner, &search::terms(query), &[], None, None, 100);
    rows(c, &s, |r| r.get("id"))
}

#[test]
fn bookmark_search_is_scoped_to_its_owner_and_folds_like_scores() {
    let c = migrated();
    let a = seed::user(&c, 5);
    let b = seed::user(&c, 6);
    let sa = seed::scores(&c, &a, 1, |_| "Songbook".into(), |_| "gig");
    let sb = seed::scores(&c, &b, 1, |_| "Songbook".into(), |_| "gig");
    bookmark(&c, &a, &sa[0], "bmk_a1", "Ständchen", 1);
    bookmark(&c, &a, &sa[0], "bmk_a2", "Erlkönig", 2);
    bookmark(&c, &b, &sb[0], "bmk_b1", "Ständchen", 3);
    assert_eq!(bookmark_ids(&c, &a, "standchen"), ["bmk_a1"]);
    assert_eq!(bookmark_ids(&c, &b, "STÄND"), ["bmk_b1"]);
    assert_eq!(bookmark_ids(&c, &a, "schubert"), ["bmk_a2", "bmk_a1"]);
    c.execute(
        "update bookmarks set title = 'Der Lindenbaum' where id = 'bmk_a2'",
        [],
    )
    .unwrap();
    assert_eq!(bookmark_ids(&c, &a, "linden"), ["bmk_a2"]);
    assert!(bookmark_ids(&c, &a, "erlk").is_empty());
    c.execute("delete from bookmarks where id = 'bmk_a1'", [])
        .unwrap();
    assert!(bookmark_ids(&c, &a, "standchen").is_empty());
    assert_eq!(bookmark_ids(&c, &b, "standchen"), ["bmk_b1"]);
}

#[test]
fn the_migration_indexes_the_rows_that_were_there() {
    let c = Connection::open_in_memory().unwrap();
    let (before, after): (Vec<_>, Vec<_>) = common::migration_files()
        .into_iter()
        .partition(|p| p.file_name().unwrap().to_str().unwrap() < "0018");
    for f in &before {
        c.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    let a = seed::user(&c, 7);
    let b = seed::user(&c, 8);
    let sa = seed::scores(&c, &a, 3, |i| format!("Impromptu {i}"), |_| "gig");
    seed::scores(&c, &b, 3, |i| format!("Impromptu {i}"), |_| "gig");
    bookmark(&c, &a, &sa[0], "bmk_a1", "Ave Maria", 1);
    for f in &after {
        c.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    let mut got = pages(&c, &a, &[("query", "impromptu")], 1).remove(0);
    got.sort();
    assert_eq!(got, sa);
    assert_eq!(bookmark_ids(&c, &a, "maria"), ["bmk_a1"]);
    assert!(bookmark_ids(&c, &b, "maria").is_empty());
    // New rows are indexed by the new triggers.
    let more = seed::scores(&c, &a, 1, |_| "Fantaisie-Impromptu".into(), |_| "gig");
    assert_eq!(pages(&c, &a, &[("query", "fantaisie")], 1).remove(0), more);
}
