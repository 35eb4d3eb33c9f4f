//! How full-text search was scoped to one user (issue 17, decision 110): times candidate FTS5
//! layouts natively (rusqlite, the real migrations) over 300 200 scores — one user with
//! 100 000, twenty with 10 000, one with 200, their rows interleaved as years of uploads leave
//! them, every title saying "No." and "in", one in a hundred an Etude.
//!
//! usage: `cargo run --release --example search_scope [-- ROUNDS [LAYOUT]]`
//! Prints, per layout (load time, index size) and library size, the mean milliseconds of a
//! first page of 21 (newest update first) for each query, over ROUNDS (default 10).

use std::time::Instant;

use rusqlite::{params, Connection};
use scoremate::store::fts;
use scoremate::store::search::{self, ListQuery};
use scoremate::store::SqlValue;

#[path = "common/library_text.rs"]
mod library_text;
use library_text::{pick, score_text, user_id, Rand};

const QUERIES: &[&str] = &["etude", "no in", "dvorak", "sonata", "zzz"];

/// A layout: the schema after the migrations up to `until`, changed by `ddl`, and how a page
/// is asked for.
struct Layout {
    name: &'static str,
    until: &'static str,
    ddl: &'static str,
    query: fn(&str, &str) -> (String, Vec<SqlValue>),
}

/// The shared index of migration 0002: the match runs over every user's entries.
fn shared_index(user: &str, q: &str) -> (String, Vec<SqlValue>) {
    let m = search::terms(q)
        .iter()
        .map(|t| format!("\"{t}\"*"))
        .collect::<Vec<_>>()
        .join(" ");
    in_list(user, m)
}

/// An owner column holding the user's key, which every match must also match.
fn owner_column(user: &str, q: &str) -> (String, Vec<SqlValue>) {
    let (_, args) = shared_index(user, q);
    let SqlValue::Text(m) = &args[1] else {
        unreachable!()
    };
    in_list(user, format!("owner : {} AND ({m})", fts::key(user)))
}

/// The key glued to each word (migration 0018), read as one list of hits.
fn glued_in_list(user: &str, q: &str) -> (String, Vec<SqlValue>) {
    in_list(user, fts::matcher(user, &search::terms(q)))
}

/// What the Worker runs (`ListQuery::sql`): one of three ways by the count of hits.
fn glued_three_ways(user: &str, q: &str) -> (String, Vec<SqlValue>) {
    let pairs = [("query".to_owned(), q.to_owned())];
    let key = scoremate::storage::signed::SigningKey::derive(b"k", "c");
    ListQuery::parse(&pairs, &key)
        .unwrap()
        .sql("s.id", user, None)
}

fn in_list(user: &str, m: String) -> (String, Vec<SqlValue>) {
    (
        "select s.id from scores s where s.user_id = ?1 and s.trashed_at is null \
         and s.seq in (select rowid from scores_fts where scores_fts match ?2) \
         order by s.updated_at desc, s.id desc limit 21"
            .into(),
        vec![user.into(), m.into()],
    )
}

const LAYOUTS: &[Layout] = &[
    Layout {
        name: "shared index (0002)",
        until: "0018",
        ddl: "",
        query: shared_index,
    },
    Layout {
        name: "owner column + prefix='2 3'",
        until: "0018",
        ddl: "drop trigger scores_fts_insert; drop trigger scores_fts_delete; drop trigger scores_fts_update;
              drop table scores_fts;
              create virtual table scores_fts using fts5(owner, title, composer, notes, content = '',
                contentless_delete = 1, prefix = '2 3', tokenize = 'unicode61 remove_diacritics 2');
              create trigger scores_fts_insert after insert on scores begin
                insert into scores_fts (rowid, owner, title, composer, notes)
                values (new.seq, 'k' || hex(substr(new.user_id, -8)), new.title, new.composer, new.notes);
              end;",
        query: owner_column,
    },
    Layout {
        name: "key glued to each word (0018), one list of hits",
        until: "9999",
        ddl: "",
        query: glued_in_list,
    },
    Layout {
        name: "key glued to each word (0018), three ways (chosen)",
        until: "9999",
        ddl: "",
        query: glued_three_ways,
    },
];

/// Loads the 300 200 scores through the layout's triggers; the users (200, 100 000, 10 000…).
fn load(c: &Connection, layout: &Layout) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir("migrations")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap() < layout.until)
        .collect();
    files.sort();
    for f in files {
        c.execute_batch(&std::fs::read_to_string(f).unwrap())
            .unwrap();
    }
    c.execute_batch(layout.ddl).unwrap();
    let users: Vec<String> = (0..22).map(user_id).collect();
    let mut left: Vec<usize> = [200, 100_000].into_iter().chain([10_000; 20]).collect();
    let total: usize = left.iter().sum();
    let mut r = Rand(42);
    let tx = c.unchecked_transaction().unwrap();
    {
        for u in &users {
            tx.execute(
                "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
                 values (?1, ?1 || '@example.test', 'h', 'U', 0, '2025-01-01', '2025-01-01')",
                [u],
            )
            .unwrap();
        }
        let mut ins = tx
            .prepare(
                "insert into scores (id, user_id, upload_id, object_key, filename, title, composer, notes, \
                   content_hash, size_bytes, created_at, updated_at) \
                 values (?1, ?2, ?1, ?1, 'f.pdf', ?3, ?4, ?5, ?1, 1, ?6, ?6)",
            )
            .unwrap();
        for seq in 0..total {
            let u = pick(&mut r, &mut left);
            let text = score_text(&mut r);
            let at = format!(
                "2025-{:02}-{:02}T{:02}:{:02}:00.000Z",
                1 + r.next(12),
                1 + r.next(28),
                r.next(24),
                r.next(60)
            );
            ins.execute(params![
                format!("sco_{seq:032x}"),
                users[u],
                text.title,
                text.composer,
                text.notes,
                at
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    users
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let only = std::env::args().nth(2).unwrap_or_default();
    for layout in LAYOUTS.iter().filter(|l| l.name.contains(&only)) {
        let c = Connection::open_in_memory().unwrap();
        let t = Instant::now();
        let users = load(&c, layout);
        let bytes: i64 = c
            .query_row(
                "select sum(pgsize) from dbstat where name like 'scores_fts%'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        println!(
            "## {} (load {:.1} s, index {:.1} MB)",
            layout.name,
            t.elapsed().as_secs_f64(),
            bytes as f64 / 1e6
        );
        for (label, user) in [
            ("200", &users[0]),
            ("10 000", &users[2]),
            ("100 000", &users[1]),
        ] {
            let mut line = format!("{label:>8} scores:");
            for q in QUERIES {
                let (sql, args) = (layout.query)(user, q);
                let args: Vec<rusqlite::types::Value> = args
                    .into_iter()
                    .map(|a| match a {
                        SqlValue::Text(s) => s.into(),
                        SqlValue::Int(i) => i.into(),
                        SqlValue::Null => rusqlite::types::Value::Null,
                    })
                    .collect();
                let mut st = c.prepare(&sql).unwrap();
                let mut n = 0;
                let t = Instant::now();
                for _ in 0..rounds {
                    n = st
                        .query_map(rusqlite::params_from_iter(&args), |_| Ok(()))
                        .unwrap()
                        .count();
                }
                let ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(rounds);
                line += &format!("  {q} {ms:.3} ms ({n})");
            }
            let mut st = c
                .prepare(
                    "select s.id from scores s where s.user_id = ?1 and s.trashed_at is null \
                     order by s.updated_at desc, s.id desc limit 21",
                )
                .unwrap();
            let t = Instant::now();
            for _ in 0..rounds {
                st.query_map([user], |_| Ok(())).unwrap().count();
            }
            let ms = t.elapsed().as_secs_f64() * 1e3 / f64::from(rounds);
            println!("{line}  | plain list {ms:.3} ms");
        }
    }
}
