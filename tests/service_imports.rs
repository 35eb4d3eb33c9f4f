//! Library imports natively through the ports (SQLite with the real migrations, the in-memory
//! store, the queue's tasks run by the consumer's code): a small exported library imports into
//! rows and objects as planned, with its report and the quota moved by exactly its bytes, and is
//! processed; a second import of it creates nothing; a dry run writes nothing and leaves the
//! archive for the import that follows; a storage or database failure part-way is retried into
//! one consistent result; every damaged or hostile archive fails with its reason and writes
//! nothing (no rows, no objects, the quota as it was); one import at a time, each user's own.

mod common;

use common::library::{archive, entries, manifest, sha, Files};
use common::ports::{block_on, World};
use common::zip::{build, Spec};
use serde_json::{json, Map, Value};

use scoremate::domain::task::Task;
use scoremate::error::ApiError;
use scoremate::service::{imports, library, processing};
use scoremate::store::fts;

const QUOTA: i64 = 50_000_000;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// An archive upload of `bytes` (its object stored as a client's PUT would).
fn upload_zip(w: &World, user: &str, bytes: &[u8]) -> String {
    let up = block_on(library::create_upload(
        &w.cx(),
        user,
        body(json!({
            "filename": "library.zip", "size": bytes.len(), "mime": "application/zip",
            "sha256": sha(bytes),
        })),
    ))
    .unwrap();
    w.ports
        .blobs
        .store(&format!("u/{user}/imports/{}.zip", up.upload_id), bytes);
    up.upload_id
}

fn ask(w: &World, user: &str, upload: &str, dry_run: bool) -> Result<Value, ApiError> {
    block_on(imports::create(
        &w.cx(),
        user,
        body(json!({"upload_id": upload, "dry_run": dry_run})),
    ))
    .map(|v| serde_json::to_value(v).unwrap())
}

fn state(w: &World, user: &str, id: &str) -> Value {
    serde_json::to_value(block_on(imports::get(&w.cx(), user, id)).unwrap()).unwrap()
}

/// Uploads `bytes`, imports them and runs the queue: the import as `GET` shows it.
fn import(w: &World, user: &str, bytes: &[u8], dry_run: bool) -> Value {
    let upload = upload_zip(w, user, bytes);
    let asked = ask(w, user, &upload, dry_run).unwrap();
    assert_eq!(asked["state"], "pending");
    w.run_tasks();
    state(w, user, asked["id"].as_str().unwrap())
}

/// A user with the small library's archive uploaded and its import asked for, not run yet:
/// `(user, files, import id)`.
fn pending(w: &World, email: &str) -> (String, Files, String) {
    let user = w.user(email, QUOTA);
    let f = Files::new(email);
    let zip = archive(&manifest(&f), &f, &[]);
    let upload = upload_zip(w, &user, &zip);
    let id = ask(w, &user, &upload, false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (user, f, id)
}

fn usage(w: &World, user: &str) -> (i64, i64) {
    w.db()
        .query_row(
            "select used_bytes, reserved_bytes from users where id = ?1",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

fn count(w: &World, sql: &str, user: &str) -> i64 {
    w.db().query_row(sql, [user], |r| r.get(0)).unwrap()
}

/// Rows of the user's library: scores, parts, bookmarks, setlists, items, layers, settings.
fn rows(w: &World, user: &str) -> [i64; 7] {
    [
        count(w, "select count(*) from scores where user_id = ?1", user),
        count(w, "select count(*) from score_parts where user_id = ?1", user),
        count(w, "select count(*) from bookmarks where user_id = ?1", user),
        count(w, "select count(*) from setlists where owner_id = ?1", user),
        count(w, "select count(*) from setlist_items i join setlists s on s.id = i.setlist_id where s.owner_id = ?1", user),
        count(w, "select count(*) from annotations where user_id = ?1", user),
        count(w, "select count(*) from performance_settings where user_id = ?1", user),
    ]
}

/// The user's PDF objects (and what is derived from them).
fn objects(w: &World, user: &str) -> Vec<String> {
    let prefix = format!("u/{user}/s/");
    w.ports
        .blobs
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

fn archives(w: &World, user: &str) -> usize {
    let prefix = format!("u/{user}/imports/");
    w.ports
        .blobs
        .keys()
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .count()
}

#[test]
fn a_small_library_imports_into_rows_and_objects_and_is_processed() {
    let w = World::new();
    let user = w.user("importer@example.com", QUOTA);
    let f = Files::new("small");
    let m = manifest(&f);
    let zip = archive(&m, &f, &[]);
    let done = import(&w, &user, &zip, false);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(
        done["report"],
        json!({"scores_created": 3, "scores_skipped_duplicate": 0, "setlists_created": 1,
               "bookmarks_created": 2, "errors": []})
    );
    assert_eq!(rows(&w, &user), [3, 2, 2, 1, 3, 2, 2]);
    // Four PDFs copied (three scores, the uploaded part), each byte for byte, and their
    // thumbnails made by the processing the import queued; the archive is gone.
    let pdfs: Vec<String> = objects(&w, &user)
        .into_iter()
        .filter(|k| k.ends_with(".pdf"))
        .collect();
    assert_eq!(pdfs.len(), 4, "{pdfs:?}");
    let stored: Vec<String> = pdfs
        .iter()
        .map(|k| sha(&w.ports.blobs.objects.borrow()[k]))
        .collect();
    for file in [&f.a, &f.b, &f.c, &f.part] {
        assert!(stored.contains(&sha(file)));
    }
    assert_eq!(archives(&w, &user), 0);
    // The quota grew by exactly the files and layers; nothing stays reserved.
    let layers = count(
        &w,
        "select sum(bytes) from annotations where user_id = ?1",
        &user,
    );
    assert_eq!(usage(&w, &user), (f.total() as i64 + layers, 0));
    w.assert_ledger();
    // Processing ran: pages known, thumbnails made, parts too.
    assert_eq!(
        count(&w, "select count(*) from scores where user_id = ?1 and pages is not null and thumbnail_state = 'ok'", &user),
        3
    );
    assert_eq!(
        count(&w, "select count(*) from score_parts where user_id = ?1 and source = 'upload' and pages = 1", &user),
        1
    );
    // The setlist in order, the bookmark's item playing it, notes kept; titles and tags searchable.
    let items: Vec<(String, Option<String>, i64)> = w
        .db()
        .prepare(
            "select coalesce(b.title, s.title), i.notes, i.position from setlist_items i \
             join scores s on s.id = i.score_id left join bookmarks b on b.id = i.bookmark_id \
             order by i.position",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        items,
        [
            ("Autumn Leaves".to_owned(), None, 1),
            ("Solar".to_owned(), Some("take it slow".to_owned()), 2),
            ("Blue Bossa".to_owned(), None, 3)
        ]
    );
    assert_eq!(
        w.db()
            .query_row(
                "select count(*) from scores_fts f join scores s on s.seq = f.rowid where s.user_id = ?1 and scores_fts match ?2",
                [&user, &fts::matcher(&user, &["autumn".to_owned()])],
                |r| r.get::<_, i64>(0)
            )
            .unwrap(),
        1,
        "the imported score is in its owner's part of the search index"
    );
    assert_eq!(
        count(&w, "select count(*) from score_tags t join scores s on s.id = t.score_id where s.user_id = ?1 and t.tag = 'jazz'", &user),
        3
    );
    // The item's own layer and settings are on the new item.
    assert_eq!(
        count(&w, "select count(*) from annotations a join setlist_items i on i.id = a.item_id where a.user_id = ?1 and a.layer = 'gig'", &user),
        1
    );
    assert_eq!(
        count(&w, "select count(*) from performance_settings p join setlist_items i on i.id = p.item_id where p.user_id = ?1 and json_extract(p.data, '$.last_page') = 2", &user),
        1
    );
    // Every file came from an upload row, consumed by what it became.
    assert_eq!(
        count(&w, "select count(*) from scores s join uploads u on u.id = s.upload_id and u.state = 'consumed' and u.score_id = s.id where s.user_id = ?1", &user),
        3
    );
    // The D1 statements the import ran are counted on its row.
    let statements = count(
        &w,
        "select statements from imports where user_id = ?1",
        &user,
    );
    assert!((20..40).contains(&statements), "{statements}");
}

#[test]
fn importing_the_same_archive_again_creates_nothing() {
    let w = World::new();
    let user = w.user("twice@example.com", QUOTA);
    let f = Files::new("twice");
    let zip = archive(&manifest(&f), &f, &[]);
    assert_eq!(import(&w, &user, &zip, false)["state"], "done");
    let before = (rows(&w, &user), objects(&w, &user), usage(&w, &user));
    let again = import(&w, &user, &zip, false);
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!(
        again["report"],
        json!({"scores_created": 0, "scores_skipped_duplicate": 3, "setlists_created": 0,
               "bookmarks_created": 0, "errors": []})
    );
    assert_eq!(
        (rows(&w, &user), objects(&w, &user), usage(&w, &user)),
        before
    );
    assert_eq!(archives(&w, &user), 0);
    w.assert_ledger();
    // The setlist deleted, a third import makes it again (and only it).
    w.db()
        .execute("delete from setlists where owner_id = ?1", [&user])
        .unwrap();
    let third = import(&w, &user, &zip, false);
    assert_eq!(third["report"]["setlists_created"], 1);
    assert_eq!(third["report"]["scores_created"], 0);
    assert_eq!(rows(&w, &user)[3..5], [1, 3]);
}

#[test]
fn a_dry_run_writes_nothing_and_leaves_the_archive_for_the_import() {
    let w = World::new();
    let user = w.user("dry@example.com", QUOTA);
    let f = Files::new("dry");
    let zip = archive(&manifest(&f), &f, &[("notes.txt", b"a note")]);
    let upload = upload_zip(&w, &user, &zip);
    let asked = ask(&w, &user, &upload, true).unwrap();
    assert_eq!(asked["dry_run"], true);
    w.run_tasks();
    let dry = state(&w, &user, asked["id"].as_str().unwrap());
    assert_eq!(dry["state"], "done");
    assert_eq!(dry["report"]["scores_created"], 3);
    assert_eq!(
        dry["report"]["errors"],
        json!(["entry \"notes.txt\" is not named by the manifest; ignored"])
    );
    assert_eq!(rows(&w, &user), [0; 7]);
    assert!(objects(&w, &user).is_empty());
    assert_eq!(
        usage(&w, &user),
        (0, zip.len() as i64),
        "the archive is still reserved"
    );
    assert_eq!(w.count("select count(*) from import_chunks"), 0);
    // The same upload, imported for real.
    let real = ask(&w, &user, &upload, false).unwrap();
    w.run_tasks();
    let real = state(&w, &user, real["id"].as_str().unwrap());
    assert_eq!(real["report"], dry["report"]);
    assert_eq!(rows(&w, &user)[0], 3);
    assert_eq!(usage(&w, &user).1, 0);
    // Imported once; a second import of the same upload is refused.
    let e = ask(&w, &user, &upload, false).unwrap_err();
    let ApiError::Conflict { code, extra, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(code, "UPLOAD_CONSUMED");
    assert_eq!(extra["import_id"], real["id"]);
}

/// Runs the queued import task once, as one delivery would: `Ok` or the transient error.
fn deliver(w: &World) -> Result<(), ApiError> {
    let tasks = w.ports.tasks.drain();
    let task = tasks
        .into_iter()
        .find(|t| matches!(t, Task::Import { .. }))
        .expect("an import task");
    let out = block_on(processing::run(&w.cx(), &task, "m1"));
    if out.is_err() {
        // The queue would deliver it again.
        w.ports.tasks.sent.borrow_mut().push(task);
    }
    out
}

#[test]
fn a_storage_failure_part_way_is_retried_into_one_consistent_result() {
    let w = World::new();
    let (user, f, id) = pending(&w, "flaky@example.com");
    let id = id.as_str();
    // The third copy's put fails: two objects are there, no rows.
    let first = deliver_with_failing_put(&w, 3);
    assert!(first.is_err());
    assert_eq!(rows(&w, &user), [0; 7]);
    assert_eq!(objects(&w, &user).len(), 2);
    assert_eq!(state(&w, &user, id)["state"], "running");
    // The commit fails once too.
    w.ports.db.fail_next("insert into scores", 1);
    assert!(deliver(&w).is_err());
    assert_eq!(rows(&w, &user), [0; 7]);
    // The redelivery resumes from what was staged: one result, nothing twice.
    deliver(&w).unwrap();
    assert_eq!(state(&w, &user, id)["state"], "done");
    assert_eq!(rows(&w, &user), [3, 2, 2, 1, 3, 2, 2]);
    assert_eq!(objects(&w, &user).len(), 4);
    w.run_tasks();
    w.assert_ledger();
    assert_eq!(
        usage(&w, &user).0
            - count(
                &w,
                "select sum(bytes) from annotations where user_id = ?1",
                &user
            ),
        f.total() as i64
    );
    // A late redelivery of the same message changes nothing.
    block_on(processing::run(
        &w.cx(),
        &Task::Import {
            import_id: id.to_owned(),
        },
        "m2",
    ))
    .unwrap();
    assert_eq!(rows(&w, &user), [3, 2, 2, 1, 3, 2, 2]);
}

/// The object key of the `nth` file the staged import copies.
fn staged_copy(w: &World, nth: usize) -> String {
    let staged: String = w
        .db()
        .query_row(
            "select rows from import_chunks where kind = 'copies'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let staged: Value = serde_json::from_str(&staged).unwrap();
    staged[nth - 1]["object_key"].as_str().unwrap().to_owned()
}

/// Delivers the import with its `nth` copy's put failing (the ones before it succeed).
fn deliver_with_failing_put(w: &World, nth: usize) -> Result<(), ApiError> {
    // The copies' keys, in order, are known once the import is staged: stage by failing the
    // very first put, read them, then fail the nth.
    let keys_before = w.ports.blobs.keys().len();
    w.ports.blobs.fail_next("put", "/s/upl_", 1);
    assert!(deliver(w).is_err());
    assert_eq!(w.ports.blobs.keys().len(), keys_before);
    w.ports.blobs.fail_next("put", &staged_copy(w, nth), 1);
    deliver(w)
}

#[test]
fn a_task_that_keeps_failing_is_given_up_and_leaves_nothing() {
    let w = World::new();
    let (user, _, id) = pending(&w, "doomed@example.com");
    // Two files copied, then the third's put fails every time: given up after five failures.
    let task = Task::Import {
        import_id: id.clone(),
    };
    w.ports.tasks.drain();
    assert!(deliver_with_failing_put_then(&w, &task, 3).is_err());
    for _ in 0..5 {
        // As the consumer does: start (its crash accounting), run, finish (failures counted).
        block_on(processing::start(&w.cx(), &task)).unwrap();
        let out = block_on(processing::run(&w.cx(), &task, "m"));
        block_on(processing::finish(&w.cx(), &task, out, "m"));
    }
    let failed = state(&w, &user, &id);
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["reason"]
        .as_str()
        .unwrap()
        .contains("failed repeatedly"));
    assert_eq!(rows(&w, &user), [0; 7]);
    assert_eq!(
        usage(&w, &user),
        (0, 0),
        "the archive's reservation is released"
    );
    // What was copied is in the outbox; the sweep's deletions take it away.
    w.advance(3600);
    block_on(processing::sweep(&w.cx())).unwrap();
    w.run_tasks();
    assert!(objects(&w, &user).is_empty(), "{:?}", objects(&w, &user));
    assert_eq!(archives(&w, &user), 0);
    w.assert_ledger();
}

fn deliver_with_failing_put_then(w: &World, task: &Task, nth: usize) -> Result<(), ApiError> {
    w.ports.tasks.sent.borrow_mut().push(task.clone());
    let out = deliver_with_failing_put(w, nth);
    w.ports.tasks.drain();
    // Every later put of that file fails too.
    w.ports.blobs.fail_next("put", &staged_copy(w, nth), 100);
    out
}

/// An archive of the library's entries written by our own writer, `damage` applied to the
/// entries first.
fn hostile(f: &Files, damage: impl Fn(&mut Vec<Spec>)) -> Vec<u8> {
    let mut specs: Vec<Spec> = entries(&manifest(f), f)
        .iter()
        .map(|(n, b)| Spec::new(n, b))
        .collect();
    damage(&mut specs);
    build(&specs, false)
}

fn spec<'a>(specs: &'a mut [Spec], name: &str) -> &'a mut Spec {
    specs.iter_mut().find(|s| s.name.contains(name)).unwrap()
}

/// The manifest's JSON in `specs`, changed by `change`.
fn remanifest(specs: &mut [Spec], change: impl Fn(&mut Value)) {
    let m = spec(specs, "manifest.json");
    let mut v: Value = serde_json::from_slice(&m.data).unwrap();
    change(&mut v);
    m.data = serde_json::to_vec(&v).unwrap();
}

#[test]
fn every_hostile_or_damaged_archive_fails_with_its_reason_and_writes_nothing() {
    let f = Files::new("hostile");
    let a_name = |specs: &[Spec]| {
        specs
            .iter()
            .find(|s| s.name.contains("Autumn"))
            .unwrap()
            .name
            .clone()
    };
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not a ZIP",
            b"PK\x03\x04 and then nothing an archive has".to_vec(),
            "not a ZIP archive",
        ),
        (
            "truncated",
            {
                let z = archive(&manifest(&f), &f, &[]);
                z[..z.len() - 100].to_vec()
            },
            "not a ZIP archive",
        ),
        (
            "duplicate names",
            hostile(&f, |s| {
                let copy = Spec::new(
                    &a_name(s).to_uppercase().replace("FILES/", "files/"),
                    b"%PDF-x",
                );
                s.push(copy);
            }),
            "appears twice",
        ),
        (
            "deflated entry",
            hostile(&f, |s| spec(s, "Blue").method = 8),
            "compressed (method 8, deflate)",
        ),
        (
            "encrypted entry",
            hostile(&f, |s| spec(s, "Blue").flags = 1),
            "is encrypted",
        ),
        (
            "a file the manifest names is missing",
            hostile(&f, |s| s.retain(|x| !x.name.contains("Blue"))),
            "is missing from the archive",
        ),
        (
            "a file of another size than the manifest's",
            hostile(&f, |s| spec(s, "Blue").data.extend_from_slice(b"\n%extra")),
            "in the manifest",
        ),
        (
            "a file whose sha256 differs",
            hostile(&f, |s| {
                let b = spec(s, "Blue");
                let n = b.data.len();
                b.data[n - 3] ^= 0x20;
            }),
            "its sha256 is not the manifest's",
        ),
        (
            "a file that is not a PDF",
            hostile(&f, |s| {
                let b = spec(s, "Blue");
                let data = b"GIF89a not a PDF, exactly this long".to_vec();
                b.data = data.clone();
                let size = data.len();
                remanifest(s, |m| {
                    m["scores"][1]["sha256"] = json!(sha(&data));
                    m["scores"][1]["size_bytes"] = json!(size);
                });
            }),
            "is not a PDF",
        ),
        (
            "a CRC mismatch",
            hostile(&f, |s| {
                // The local header defers to a descriptor: only the bytes can tell.
                let b = spec(s, "Blue");
                b.crc = Some(0xdead_beef);
                b.descriptor = true;
            }),
            "CRC-32 mismatch",
        ),
        (
            "an oversized manifest",
            hostile(&f, |s| {
                spec(s, "manifest.json").data = vec![b' '; 16 * 1024 * 1024 + 1];
            }),
            "manifest.json is 16777217 bytes; at most 16777216",
        ),
        (
            "over 10 000 entries",
            hostile(&f, |s| {
                for i in 0..10_000 {
                    s.push(Spec::new(&format!("junk/{i}"), b""));
                }
            }),
            "entries; at most 10000",
        ),
        (
            "an unknown manifest format",
            hostile(&f, |s| remanifest(s, |m| m["format"] = json!(2))),
            "manifest format 2 is not supported",
        ),
        (
            "a dangling reference",
            hostile(&f, |s| {
                remanifest(s, |m| {
                    m["setlists"][0]["items"][0]["score_id"] = json!("s9")
                });
            }),
            "refers to a score not in the manifest",
        ),
        (
            "overlapping entries",
            hostile(&f, |s| {
                let i = s.iter().position(|x| x.name.contains("Autumn")).unwrap();
                spec(s, "Blue").points_at = Some(i);
            }),
            "overlaps",
        ),
        (
            "no manifest",
            hostile(&f, |s| s.retain(|x| x.name != "manifest.json")),
            "no manifest.json",
        ),
    ];
    for name in ["../x.pdf", "/abs.pdf", "files/..\\x.pdf", "C:x"] {
        cases.push((
            "an unsafe name",
            hostile(&f, |s| s.push(Spec::new(name, b"%PDF-1.4"))),
            "unsafe entry name",
        ));
    }
    for (what, zip, why) in cases {
        let w = World::new();
        let user = w.user("victim@example.com", QUOTA);
        let out = import(&w, &user, &zip, false);
        assert_eq!(out["state"], "failed", "{what}: {out}");
        let reason = out["reason"].as_str().unwrap();
        assert!(
            reason.contains(why),
            "{what}: {reason:?} should say {why:?}"
        );
        assert_eq!(rows(&w, &user), [0; 7], "{what}");
        assert!(
            objects(&w, &user).is_empty(),
            "{what}: {:?}",
            objects(&w, &user)
        );
        assert_eq!(archives(&w, &user), 0, "{what}: the archive is deleted");
        assert_eq!(usage(&w, &user), (0, 0), "{what}");
        assert_eq!(w.count("select count(*) from import_chunks"), 0, "{what}");
        w.assert_ledger();
    }
}

#[test]
fn an_import_over_the_quota_fails_before_anything_is_written_and_the_archive_counts_once() {
    let f = Files::new("quota");
    let zip = archive(&manifest(&f), &f, &[]);
    // The archive's reservation holds room for everything it holds (it is larger), so an import
    // only finds the quota short when the quota was lowered meanwhile (an admin's PATCH).
    let w = World::new();
    let user = w.user("full@example.com", QUOTA);
    let upload = upload_zip(&w, &user, &zip);
    let id = ask(&w, &user, &upload, false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.db()
        .execute(
            "update users set quota_bytes = ?2, used_bytes = 20 where id = ?1",
            rusqlite::params![user, 20 + f.total() as i64 / 2],
        )
        .unwrap();
    w.run_tasks();
    let out = state(&w, &user, &id);
    assert_eq!(out["state"], "failed", "{out}");
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("quota exceeded: the import needs"),
        "{reason}"
    );
    assert_eq!(rows(&w, &user), [0; 7]);
    assert!(objects(&w, &user).is_empty());
    assert_eq!(usage(&w, &user), (20, 0));
    assert_eq!(archives(&w, &user), 0);
    // With room for the archive alone it imports: its reservation is traded for the files'
    // bytes, which it outweighs.
    let w = World::new();
    let user = w.user("snug@example.com", zip.len() as i64);
    let out = import(&w, &user, &zip, false);
    assert_eq!(out["state"], "done", "{out}");
    assert!(usage(&w, &user).0 < zip.len() as i64);
    w.assert_ledger();
}

#[test]
fn an_archive_is_not_a_score_and_an_import_is_its_owners_one_at_a_time() {
    let w = World::new();
    let owner = w.user("owner@example.com", QUOTA);
    let other = w.user("other@example.com", QUOTA);
    let f = Files::new("authz");
    let zip = archive(&manifest(&f), &f, &[]);
    let upload = upload_zip(&w, &owner, &zip);
    // No dedupe 409 for archives, and no score from one.
    let e = block_on(library::create_score(
        &w.cx(),
        &owner,
        body(json!({"upload_id": upload, "title": "zip"})),
    ))
    .unwrap_err();
    let ApiError::Validation(fields) = e else {
        panic!("{e:?}")
    };
    assert!(fields["upload_id"].contains("POST /v1/imports"));
    // Another user's upload and import are 404.
    assert_eq!(ask(&w, &other, &upload, false).unwrap_err().status(), 404);
    let asked = ask(&w, &owner, &upload, false).unwrap();
    let id = asked["id"].as_str().unwrap();
    assert_eq!(
        block_on(imports::get(&w.cx(), &other, id))
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        block_on(imports::get(&w.cx(), &owner, "imp_nope"))
            .unwrap_err()
            .status(),
        404
    );
    // One at a time: a second import while the first is pending is 409 naming it.
    let second = upload_zip(&w, &owner, &zip);
    let e = ask(&w, &owner, &second, true).unwrap_err();
    let ApiError::Conflict { code, extra, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(code, "IMPORT_RUNNING");
    assert_eq!(extra["import_id"], id);
    // A PDF upload is no archive.
    let pdf = common::pdf::pdf(1, "not an archive");
    let up = block_on(library::create_upload(
        &w.cx(),
        &owner,
        body(json!({"filename": "a.pdf", "size": pdf.len(), "mime": "application/pdf", "sha256": sha(&pdf)})),
    ))
    .unwrap();
    let e = ask(&w, &owner, &up.upload_id, false).unwrap_err();
    assert_eq!(e.status(), 422);
    // Bad bodies are 422.
    for bad in [
        json!({}),
        json!({"upload_id": upload, "dry_run": "yes"}),
        json!({"upload_id": upload, "extra": 1}),
    ] {
        let e = block_on(imports::create(&w.cx(), &owner, body(bad))).unwrap_err();
        assert_eq!(e.status(), 422);
    }
    // Bytes that are not a ZIP (S3 mode: unchecked on the way in) are refused and released.
    let junk = b"%PDF-1.7 not a zip".to_vec();
    w.run_tasks();
    let up = upload_zip(&w, &other, &junk);
    let e = ask(&w, &other, &up, false).unwrap_err();
    assert_eq!(e.status(), 415);
    assert_eq!(usage(&w, &other), (0, 0));
}

#[test]
fn a_lost_message_is_sent_again_and_an_import_that_never_finishes_fails() {
    let w = World::new();
    let (user, _, id) = pending(&w, "lost@example.com");
    w.ports.tasks.drain();
    w.advance(31 * 60);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["imports_requeued"], 1);
    assert_eq!(
        w.ports.tasks.drain(),
        vec![Task::Import {
            import_id: id.clone()
        }]
    );
    // Lost again, and a day passes: failed, the archive released (its reservation too).
    w.advance(24 * 3600);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["imports_abandoned"], 1);
    let out = state(&w, &user, &id);
    assert_eq!(out["state"], "failed");
    assert_eq!(out["reason"], imports::NEVER_FINISHED);
    assert_eq!(usage(&w, &user), (0, 0));
    assert_eq!(archives(&w, &user), 0);
    w.assert_ledger();
}
