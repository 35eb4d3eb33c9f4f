//! Sizes and query costs behind `docs/scaling.md`: how many libraries one D1 database holds and
//! serves.
//!
//! usage: `cargo run --release --example scaling -- OUT.db [LIBRARIES] [SCORES_PER_LIBRARY]`
//! (defaults 200 × 500 = 100 000 scores). Builds a SQLite file with the real migrations and
//! fills it through the statements the product runs (`store::*`: upload, create, processing
//! results, edits, renders, favorites, opens), plus setlists, sessions and annotations written
//! directly with realistic sizes. Prints the bytes of every table with its indexes (`dbstat`),
//! per score and per library, then the time of the hot statements on that data (the list page
//! with its session check, search, one score, the setlist list, a write), in microseconds:
//! median and mean of many runs on a warm page cache. Delete OUT.db afterwards (≈ 0.4 GB).

// The native tests' helpers: the migrations and statement parameters, as they apply them.
#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use rusqlite::{types::Value, Connection};
use scoremate::domain::score::ScoreFields;
use scoremate::storage::signed::SigningKey;
use scoremate::store::library::{self as lib, NewScore, NewUpload, PageImage};
use scoremate::store::paging::CURSOR_PURPOSE;
use scoremate::store::processing::{self, Of};
use scoremate::store::search::ListQuery;
use scoremate::store::{accounts, activity, setlists, SqlValue, Stmt};

const COMPOSERS: &[&str] = &[
    "Johann Sebastian Bach",
    "Frédéric Chopin",
    "Claude Debussy",
    "Wolfgang Amadeus Mozart",
    "Antonín Dvořák",
    "Duke Ellington",
    "Traditional",
    "Erik Satie",
    "Clara Schumann",
    "Astor Piazzolla",
];
const FORMS: &[&str] = &[
    "Nocturne",
    "Etude",
    "Prelude",
    "Sonata",
    "Waltz",
    "Ballade",
    "Suite",
    "Fugue",
    "Air",
    "Reel",
    "Standard",
    "Hymn",
    "Partita",
    "Romance",
    "Impromptu",
];
const KEYS: &[&str] = &[
    "C major",
    "E-flat major",
    "A minor",
    "F-sharp minor",
    "D major",
    "B-flat major",
];
const TAGS: &[&str] = &[
    "baroque",
    "classical",
    "romantic",
    "modern",
    "jazz",
    "folk",
    "exam",
    "concert",
    "practice",
    "gig",
    "wedding",
    "sacred",
    "solo",
    "duet",
    "trio",
    "quartet",
    "choir",
    "sight-reading",
    "memorised",
    "encore",
    "slow",
    "fast",
    "christmas",
    "funeral",
    "lesson",
    "grade-5",
    "grade-8",
    "jam",
    "lead-sheet",
    "arrangement",
];
const T0: &str = "2026-01-01T00:00:00.000Z";

/// A deterministic generator: the same data every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).unwrap_or(0) % n
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| {
                char::from_digit(u32::try_from(self.below(16)).unwrap_or(0), 16).unwrap_or('0')
            })
            .collect()
    }
}

/// Runs one statement (rows it returns are read and dropped, as D1 would hand them over).
fn exec(c: &Connection, s: &Stmt) -> usize {
    let mut st = c.prepare_cached(&s.sql).unwrap();
    let columns = st.column_count();
    let mut rows = st.query(common::params_from(&s.args)).unwrap();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap() {
        for i in 0..columns {
            let _: Value = row.get(i).unwrap();
        }
        n += 1;
    }
    n
}

fn at(day: usize, second: usize) -> String {
    let (h, m, s) = (second / 3600 % 24, second / 60 % 60, second % 60);
    format!(
        "2025-{:02}-{:02}T{h:02}:{m:02}:{s:02}.000Z",
        1 + day / 28 % 12,
        1 + day % 28
    )
}

/// One library: a user, their sessions, scores and everything that grows with use.
#[expect(clippy::too_many_lines, reason = "one generator, read top to bottom")]
fn library(c: &Connection, rng: &mut Rng, n: usize, scores: usize) -> String {
    let user = format!("usr_{:032x}", n + 1);
    c.execute(
        "insert into users (id, email, password_hash, display_name, preferences, quota_bytes, created_at, updated_at) \
         values (?1, ?2, ?3, ?4, ?5, 10737418240, ?6, ?6)",
        rusqlite::params![
            user,
            format!("musician{n}@example.com"),
            format!("$argon2id$v=19$m=19456,t=2,p=1${}${}", rng.hex(22), rng.hex(43)),
            format!("Musician {n}"),
            r#"{"theme":"dark","page_turn":"half","metronome":{"bpm":96},"view":"grid"}"#,
            T0,
        ],
    )
    .unwrap();
    // Three devices, each with the refresh tokens of a month of rotation (every 15 minutes of use).
    for d in 0..3 {
        let sid = format!("ses_{}", rng.hex(32));
        c.execute(
            "insert into sessions (id, user_id, created_at, last_used_at, expires_at) values (?1, ?2, ?3, ?3, ?3)",
            rusqlite::params![sid, user, at(d, 0)],
        )
        .unwrap();
        for t in 0..10 {
            c.execute(
                "insert into refresh_tokens (jti, session_id, user_id, issued_at, expires_at, used_at, replaced_by) \
                 values (?1, ?2, ?3, ?4, ?4, ?4, ?5)",
                rusqlite::params![format!("rt_{}", rng.hex(32)), sid, user, at(t, d), format!("rt_{}", rng.hex(32))],
            )
            .unwrap();
        }
    }
    let mut ids = Vec::with_capacity(scores);
    for i in 0..scores {
        let upload = format!("upl_{}", rng.hex(32));
        let id = format!("sco_{}", rng.hex(32));
        let now = at(i % 300, i);
        let key = format!("u/{user}/s/{upload}.pdf");
        let size = i64::try_from(40_000 + rng.below(4_000_000)).unwrap_or(0);
        exec_all(
            c,
            &lib::reserve_upload(&NewUpload {
                id: &upload,
                user_id: &user,
                filename: &format!("{}-{i}.pdf", rng.pick(FORMS).to_lowercase()),
                size,
                mime: "application/pdf",
                sha256: &rng.hex(64),
                object_key: &key,
                expires_at: "2099-01-01T00:00:00.000Z",
                consumable_until: "2099-01-01T00:00:00.000Z",
                now: &now,
            }),
        );
        let mut tags: Vec<String> = (0..rng.below(6))
            .map(|_| rng.pick(TAGS).to_owned())
            .collect();
        tags.sort();
        tags.dedup();
        let composer = rng.pick(COMPOSERS);
        let fields = ScoreFields {
            title: Some(format!(
                "{} in {}, Op. {} No. {}",
                rng.pick(FORMS),
                rng.pick(KEYS),
                1 + rng.below(80),
                1 + rng.below(12)
            )),
            composer: Some(Some(composer.to_owned())),
            arranger: Some(rng.chance(20).then(|| "arr. J. Smith".to_owned())),
            instrumentation: Some(rng.chance(60).then(|| "violin and piano".to_owned())),
            key: Some(rng.chance(50).then(|| rng.pick(KEYS).to_owned())),
            notes: Some(rng.chance(20).then(|| {
                "Take the repeat only at the concert; breathe after bar 16, slower in the coda."
                    .to_owned()
            })),
            tags: Some(tags),
            rating: Some(
                rng.chance(50)
                    .then(|| 1 + i64::try_from(rng.below(5)).unwrap_or(0)),
            ),
            difficulty: Some(
                rng.chance(40)
                    .then(|| 1 + i64::try_from(rng.below(5)).unwrap_or(0)),
            ),
            duration: Some(
                rng.chance(50)
                    .then(|| 60 + i64::try_from(rng.below(600)).unwrap_or(0)),
            ),
        };
        exec_all(
            c,
            &lib::create_score(&NewScore {
                id: &id,
                user_id: &user,
                upload_id: &upload,
                fields: &fields,
                now: &now,
            }),
        );
        // The queue's two tasks: their runs are kept (`task_runs`), their results written.
        for task in ["pdf_info", "thumbnail"] {
            let run = format!("{task}:{id}");
            exec(c, &processing::task_starts(&run, task, &now));
            exec(c, &processing::task_stops(&run, false));
        }
        let pages = 1 + rng.below(24);
        let meta = format!(
            r#"{{"title":"{}","author":"{composer}","subject":null,"keywords":"{}","creator":"LilyPond 2.24.3","producer":"Ghostscript 10.02","created_at":"2024-03-0{}T10:00:00Z","modified_at":null}}"#,
            fields.title.as_deref().unwrap_or(""),
            rng.pick(TAGS),
            1 + rng.below(9)
        );
        let suggestions = format!(
            r#"{{"title":"{}","composer":"{composer}"}}"#,
            rng.pick(FORMS)
        );
        exec(
            c,
            &processing::pdf_info_ok(
                Of::Score,
                &id,
                u32::try_from(pages).unwrap_or(1),
                &meta,
                &suggestions,
            ),
        );
        exec(
            c,
            &processing::thumbnail_ok(Of::Score, &id, &format!("{key}.thumb-320.png"), 18_000),
        );
        // A third of the scores edited once (the trigger keeps the version).
        if rng.chance(33) {
            let edit = ScoreFields {
                rating: Some(Some(1 + i64::try_from(rng.below(5)).unwrap_or(0))),
                ..ScoreFields::default()
            };
            exec_all(
                c,
                &lib::patch_score(&id, &user, &edit, 50, &at(i % 300 + 1, i)),
            );
        }
        // A fifth read on screen page by page: three page images each, with their task runs.
        if rng.chance(20) {
            for page in 1..=3 {
                let image = PageImage {
                    of: Of::Score,
                    id: &id,
                    page,
                    width: 1240,
                    pdf_bytes: size,
                    floor: 8 << 20,
                };
                exec(c, &lib::request_render(&image, &now));
                exec(c, &lib::render_ok(&image, 150_000, &now));
                let run = format!("render_page:{id}:{page}:1240");
                exec(c, &processing::task_starts(&run, "render_page", &now));
                exec(c, &processing::task_stops(&run, false));
            }
        }
        if rng.chance(5) {
            exec(c, &activity::favorite(&user, &id, &now));
        }
        // A tenth annotated: one layer of pen strokes (≈ 3 KB of JSON), counted in the quota.
        if rng.chance(10) {
            let strokes: Vec<String> = (0..40)
                .map(|_| {
                    format!(
                        "[{},{},{},{}]",
                        rng.below(999),
                        rng.below(999),
                        rng.below(999),
                        rng.below(999)
                    )
                })
                .collect();
            let data = format!(r#"{{"pages":{{"1":{{"pen":[{}]}}}}}}"#, strokes.join(","));
            c.execute(
                "insert into annotations (user_id, score_id, item_id, layer, data, bytes, version, created_at, updated_at) \
                 values (?1, ?2, '', 'pencil', ?3, length(?3), 1, ?4, ?4)",
                rusqlite::params![user, id, data, now],
            )
            .unwrap();
        }
        ids.push(id);
    }
    // The history keeps the newest 1 000 opens.
    for k in 0..scores.min(500) * 2 {
        let score = &ids[rng.below(ids.len())];
        exec(c, &activity::record_open(&user, score, &at(k % 300, k)));
    }
    // A setlist per 50 scores: 15 items, 2 members, a link, 20 history events.
    for s in 0..scores.div_ceil(50) {
        let setlist = format!("set_{}", rng.hex(32));
        let fields = scoremate::domain::setlist::SetlistFields {
            name: Some(format!("Concert {s}")),
            venue: Some(Some("St. Mary's Hall".to_owned())),
            event_date: Some(Some("2026-05-01".to_owned())),
            ..Default::default()
        };
        exec(
            c,
            &setlists::insert(&setlists::NewSetlist {
                id: &setlist,
                owner: &user,
                fields: &fields,
                now: T0,
            }),
        );
        for p in 0..15 {
            c.execute(
                "insert into setlist_items (id, setlist_id, score_id, position, notes, added_by, created_at, updated_at) \
                 values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                rusqlite::params![format!("itm_{}", rng.hex(32)), setlist, ids[rng.below(ids.len())], p + 1,
                    rng.chance(30).then_some("capo 2, skip the second verse"), user, T0],
            )
            .unwrap();
        }
        for e in 0..20 {
            c.execute(
                "insert into setlist_events (setlist_id, kind, detail, created_at) values (?1, 'item_added', ?2, ?3)",
                rusqlite::params![setlist, format!(r#"{{"item_id":"itm_{}","score_id":"{}"}}"#, rng.hex(32), ids[e % ids.len()]), T0],
            )
            .unwrap();
        }
        c.execute(
            "insert into setlist_links (id, setlist_id, expires_at, created_at) values (?1, ?2, ?3, ?3)",
            rusqlite::params![format!("lnk_{}", rng.hex(32)), setlist, T0],
        )
        .unwrap();
        // The band: the two libraries made before this one.
        for m in n.saturating_sub(2)..n {
            c.execute(
                "insert into setlist_members (setlist_id, user_id, role, created_at) values (?1, ?2, 'viewer', ?3)",
                rusqlite::params![setlist, format!("usr_{:032x}", m + 1), T0],
            )
            .unwrap();
        }
    }
    user
}

fn exec_all(c: &Connection, stmts: &[Stmt]) {
    for s in stmts {
        exec(c, s);
    }
}

/// Bytes of each table with its indexes (FTS shadow tables under their virtual table), and of
/// those the indexes' (all of an FTS table's).
fn sizes(c: &Connection) -> BTreeMap<String, (i64, i64)> {
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut st = c
        .prepare(
            "select d.name, coalesce(s.tbl_name, d.name), sum(d.pgsize) from dbstat d \
             left join sqlite_schema s on s.name = d.name group by d.name",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (name, table, bytes) = row.unwrap();
        let table = ["scores_fts", "bookmarks_fts"]
            .into_iter()
            .find(|fts| table.starts_with(fts))
            .map_or(table, str::to_owned);
        let e = out.entry(table.clone()).or_default();
        e.0 += bytes;
        if name != table {
            e.1 += bytes;
        }
    }
    out
}

/// Median and mean microseconds of `runs` runs of `stmt`.
fn time(c: &Connection, stmt: &Stmt, runs: usize) -> (f64, f64, usize) {
    let rows = exec(c, stmt);
    let mut us: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            exec(c, stmt);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    #[expect(clippy::cast_precision_loss, reason = "a count of runs")]
    let mean = us.iter().sum::<f64>() / runs as f64;
    (us[runs / 2], mean, rows)
}

fn list(user: &str, session: &str, pairs: &[(&str, &str)]) -> Stmt {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let q = ListQuery::parse(&pairs, &SigningKey::derive(b"k", CURSOR_PURPOSE)).unwrap();
    let (sql, args) = q.sql(&lib::score_columns(), user, Some(session));
    Stmt::new(sql, args)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: scaling OUT.db [LIBRARIES] [SCORES_PER_LIBRARY]");
    let libraries: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let per: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(500);
    // `--reuse`: time the statements again on a file made before (loading takes minutes).
    let reuse = args.next().is_some_and(|a| a == "--reuse");
    if !reuse {
        let _ = std::fs::remove_file(&path);
    }
    let mut c = Connection::open(&path).unwrap();
    c.execute_batch(
        "pragma journal_mode = wal; pragma synchronous = off; pragma foreign_keys = on;",
    )
    .unwrap();
    let users = if reuse {
        let mut st = c.prepare("select id from users order by rowid").unwrap();
        let users: Vec<String> = st
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        users
    } else {
        load(&mut c, libraries, per)
    };
    report(&c, &path, &users, libraries, per);
}

/// Makes the schema and the libraries; their users' ids.
fn load(c: &mut Connection, libraries: usize, per: usize) -> Vec<String> {
    common::migrate(c);
    let empty = sizes(c).values().map(|v| v.0).sum::<i64>();
    let started = Instant::now();
    let mut rng = Rng(17);
    let mut users = Vec::new();
    for n in 0..libraries {
        let tx = c.transaction().unwrap();
        users.push(library(&tx, &mut rng, n, per));
        tx.commit().unwrap();
    }
    c.execute_batch("pragma wal_checkpoint(truncate); vacuum; analyze;")
        .unwrap();
    eprintln!(
        "loaded {libraries} × {per} in {:.0} s (empty schema: {empty} bytes)",
        started.elapsed().as_secs_f64()
    );
    users
}

/// Prints the sizes and the statements' times (and writes the statements for local D1).
#[expect(clippy::cast_precision_loss, reason = "byte counts far below 2^52")]
fn report(c: &Connection, path: &str, users: &[String], libraries: usize, per: usize) {
    let scores = (libraries * per) as f64;
    let sizes = sizes(c);
    let total: i64 = sizes.values().map(|v| v.0).sum();
    println!("## bytes (dbstat, pages) — {libraries} libraries × {per} scores");
    println!("| table (with its indexes) | bytes | of which indexes (FTS: all) | per score | per library |");
    println!("|---|---|---|---|---|");
    let mut rows: Vec<_> = sizes.iter().filter(|(_, v)| v.0 > 8192).collect();
    rows.sort_by_key(|(_, v)| -v.0);
    for (name, (bytes, idx)) in rows {
        println!(
            "| {name} | {bytes} | {idx} | {:.0} | {:.0} |",
            *bytes as f64 / scores,
            *bytes as f64 / libraries as f64
        );
    }
    println!(
        "| **total** | {total} | | {:.0} | {:.0} |",
        total as f64 / scores,
        total as f64 / libraries as f64
    );
    println!("file: {} bytes", std::fs::metadata(path).unwrap().len());

    // Queries, as the product sends them, for one library in the middle.
    let user = &users[libraries / 2];
    let (session, score): (String, String) = c
        .query_row(
            "select (select id from sessions where user_id = ?1 limit 1), \
               (select id from scores where user_id = ?1 limit 1)",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let runs = 2000;
    println!("\n## statements on that data ({runs} runs each, µs)");
    println!("| statement | median | mean | rows |");
    println!("|---|---|---|---|");
    // The same statements for `bench/scaling-d1.mjs`, which times them through local D1.
    let queries = std::cell::RefCell::new(Vec::new());
    let report = |name: &str, s: &Stmt| {
        let (median, mean, n) = time(c, s, runs);
        println!("| {name} | {median:.1} | {mean:.1} | {n} |");
        let args: Vec<serde_json::Value> = s
            .args
            .iter()
            .map(|v| match v {
                SqlValue::Text(t) => t.clone().into(),
                SqlValue::Int(i) => (*i).into(),
                SqlValue::Null => serde_json::Value::Null,
            })
            .collect();
        queries
            .borrow_mut()
            .push(serde_json::json!({ "name": name, "sql": s.sql, "args": args }));
    };
    report(
        "authenticate (every authenticated request)",
        &accounts::authenticate(&session, user),
    );
    let lists: [(&str, &[(&str, &str)]); 5] = [
        ("GET /v1/scores (page of 20 + session check)", &[]),
        ("GET /v1/scores?ordering=title", &[("ordering", "title")]),
        ("GET /v1/scores?tag=gig", &[("tag", "gig")]),
        ("GET /v1/scores?query=nocturne", &[("query", "nocturne")]),
        (
            "GET /v1/scores?query=in (a word in every title)",
            &[("query", "in")],
        ),
    ];
    for (name, pairs) in lists {
        report(name, &list(user, &session, pairs));
    }
    report("GET /v1/scores/{id}", &lib::score(&score, user));
    report("GET /v1/setlists", &setlists::list(user, false, None, 21));
    report("GET /v1/favorites", &activity::favorites(user, None, 21));
    // A write: the PATCH batch (score update, FTS and version triggers, version pruning), in one
    // transaction as D1 runs a batch.
    let mut n = 0_i64;
    let (median, mean) = {
        let mut us: Vec<f64> = (0..runs)
            .map(|_| {
                n += 1;
                let f = ScoreFields {
                    notes: Some(Some(format!("rehearsal note {n}"))),
                    ..ScoreFields::default()
                };
                let stmts = lib::patch_score(
                    &score,
                    user,
                    &f,
                    50,
                    &at(0, usize::try_from(n).unwrap_or(0)),
                );
                let t = Instant::now();
                let tx = c.unchecked_transaction().unwrap();
                exec_all(&tx, &stmts);
                tx.commit().unwrap();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        us.sort_by(f64::total_cmp);
        (us[runs / 2], us.iter().sum::<f64>() / runs as f64)
    };
    println!(
        "| PATCH /v1/scores/{{id}} (batch of 2, in a transaction) | {median:.1} | {mean:.1} | – |"
    );
    std::fs::write(
        format!("{path}.queries.json"),
        serde_json::to_string_pretty(&queries.into_inner()).unwrap(),
    )
    .unwrap();
}
