//! Loads the growth benchmark's libraries (bench/growth.sh) straight into a migrated local D1
//! SQLite file, through the schema's own triggers (so the search index is built as the Worker
//! builds it): small@growth.test with 200 scores, big@growth.test with 100 000, mid@growth.test
//! and 19 others with 10 000 each — 300 200 scores, interleaved in upload order, with
//! generated titles, composers, notes and tags — and setlists: none for small, 20 for mid, 200
//! for big, 5 000 for each of the others (95 220). Every user has the password whose Argon2id
//! PHC string is given.
//!
//! usage: `cargo run --release --example growth_data -- DB.sqlite PHC [SCALE]`
//! (SCALE divides every library, for a quick try; default 1).

#[path = "common/library_text.rs"]
mod library_text;

use std::time::Instant;

use library_text::{pick, score_text, user_id, Rand};
use rusqlite::{params, Connection};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(phc)) = (args.next(), args.next()) else {
        eprintln!("usage: growth_data DB.sqlite PHC [SCALE]");
        std::process::exit(2);
    };
    let scale: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    // (email, scores, setlists)
    let mut libraries: Vec<(String, usize, usize)> = vec![
        ("small@growth.test".into(), 200, 0),
        ("big@growth.test".into(), 100_000, 200),
        ("mid@growth.test".into(), 10_000, 20),
    ];
    libraries.extend((1..20).map(|n| (format!("other{n}@growth.test"), 10_000, 5_000)));
    let mut left: Vec<usize> = libraries.iter().map(|(_, n, _)| n / scale).collect();
    let total: usize = left.iter().sum();

    let t = Instant::now();
    let mut c = Connection::open(&path).unwrap();
    c.execute_batch("pragma foreign_keys = on; pragma synchronous = off;")
        .unwrap();
    let tx = c.transaction().unwrap();
    let users: Vec<String> = (0..libraries.len()).map(|n| user_id(1000 + n)).collect();
    for ((email, _, _), id) in libraries.iter().zip(&users) {
        tx.execute(
            "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
             values (?1, ?2, ?3, ?2, 1099511627776, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')",
            params![id, email, phc],
        )
        .unwrap();
    }
    {
        let mut score = tx
            .prepare(
                "insert into scores (id, user_id, upload_id, object_key, filename, title, composer, instrumentation, \
                   notes, tags, content_hash, size_bytes, pages, pdf_info_state, thumbnail_state, created_at, updated_at) \
                 values (?1, ?2, 'upl_' || substr(?1, 5), 'u/' || ?2 || '/s/' || ?1 || '.pdf', 'score.pdf', ?3, ?4, ?5, \
                   ?6, ?7, substr(?1, 5) || substr(?1, 5), ?8, ?9, 'ok', 'ok', ?10, ?11)",
            )
            .unwrap();
        let mut tag = tx
            .prepare("insert into score_tags (score_id, tag) values (?1, ?2)")
            .unwrap();
        let mut r = Rand(7);
        for n in 0..total {
            let u = pick(&mut r, &mut left);
            let text = score_text(&mut r);
            // Uploaded over two years in order; edited at some time after.
            let created = 1_704_067_200 + (n as i64) * 63_072_000 / total as i64;
            let updated = created + r.next(30 * 86_400) as i64;
            let at = |secs: i64| {
                chrono::DateTime::from_timestamp(secs, 0)
                    .unwrap()
                    .format("%Y-%m-%dT%H:%M:%S.000Z")
                    .to_string()
            };
            let id = format!("sco_{n:032x}");
            score
                .execute(params![
                    id,
                    users[u],
                    text.title,
                    text.composer,
                    text.instrumentation,
                    text.notes,
                    serde_json::to_string(&text.tags).unwrap(),
                    40_000 + r.next(5_000_000),
                    1 + r.next(40),
                    at(created),
                    at(updated)
                ])
                .unwrap();
            for t in &text.tags {
                tag.execute(params![id, t]).unwrap();
            }
        }
    }
    let mut setlists = 0;
    {
        let mut setlist = tx
            .prepare(
                "insert into setlists (id, owner_id, name, created_at, updated_at) \
                 values (?1, ?2, 'Gig ' || ?3, ?4, ?4)",
            )
            .unwrap();
        for ((_, _, n), id) in libraries.iter().zip(&users) {
            for i in 0..n / scale {
                let at = format!("2025-{:02}-{:02}T12:00:00.000Z", 1 + i % 12, 1 + i % 28);
                setlist
                    .execute(params![format!("set_{setlists:032x}"), id, i, at])
                    .unwrap();
                setlists += 1;
            }
        }
    }
    tx.execute(
        "update users set used_bytes = (select coalesce(sum(size_bytes), 0) from scores s where s.user_id = users.id)",
        [],
    )
    .unwrap();
    tx.commit().unwrap();
    eprintln!(
        "growth_data: {} users, {total} scores, {setlists} setlists in {:.0} s -> {path}",
        users.len(),
        t.elapsed().as_secs_f64()
    );
}
