//! Library exports natively through the ports (SQLite with the real migrations, the queue's task
//! run by the consumer's code, an in-memory store that keeps multipart uploads): a small library
//! — scores with tags, a pages part and an uploaded part, a bookmark, the owner's annotations and
//! settings, two setlists, a trashed score left out — exports to one ZIP that `unzip -t` and
//! Python's `zipfile` read, whose PDFs hash to the originals, whose manifest is what the database
//! holds (and valid against docs/export-manifest.schema.json), whose index has a line per score
//! and bookmark; a part upload failing part-way is retried into one complete archive with the
//! first upload aborted; a missing or damaged source fails the export with a reason naming the
//! file and aborts its upload; one export at a time per user; another user's export is 404; the
//! sweep re-sends, expires and aborts what was left.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::pdf::pdf;
use common::ports::{block_on, UploadState, World};
use common::tools::{installed, run, scratch};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use scoremate::domain::manifest::Manifest;
use scoremate::domain::task::Task;
use scoremate::error::ApiError;
use scoremate::service::annotations::{self, Place};
use scoremate::service::processing::{self, Disposition};
use scoremate::service::{bookmarks, exports, library, parts, setlists};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn sha(bytes: &[u8]) -> String {
    scoremate::domain::hex(&Sha256::digest(bytes))
}

/// A PDF of `pages` pages padded to about `size` bytes after its end (a comment no reader
/// minds), unique by `nonce`.
fn padded(pages: usize, nonce: &str, size: usize) -> Vec<u8> {
    let mut bytes = pdf(pages, nonce);
    bytes.extend_from_slice(b"\n%");
    let mut x = u32::from_le_bytes(Sha256::digest(nonce.as_bytes())[..4].try_into().unwrap()) | 1;
    while bytes.len() < size {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(b'a' + (x % 26) as u8);
    }
    bytes
}

fn score(w: &World, user: &str, bytes: &[u8], title: &str) -> String {
    w.processed_score(user, bytes, title)
}

/// An uploaded part `name` of `score`: its bytes.
fn upload_part(w: &World, user: &str, score: &str, name: &str) -> Vec<u8> {
    let bytes = pdf(2, &format!("{name} part of {score}"));
    w.uploaded_part(user, score, name, &bytes);
    bytes
}

struct Library {
    w: World,
    owner: String,
    member: String,
    /// Every PDF of the export by content: sha256 → bytes.
    pdfs: Vec<Vec<u8>>,
    friday: String,
}

/// "Autumn" (tags jazz, ballad; the owner's layer and settings), "Bossa" (a pages part "Bass"
/// and an uploaded part "Trumpet"), "Songbook" (bookmark "Blue", pages 2–3), "Gone" (trashed);
/// setlists "Friday" (Autumn, Blue, Gone — the owner's and a member's layers on Autumn's item)
/// and "Sunday" (Bossa).
fn small_library() -> Library {
    let w = World::new();
    let owner = w.user("owner@export.example", 1 << 30);
    let member = w.user("member@export.example", 1 << 30);
    let autumn_pdf = pdf(2, "Autumn");
    let bossa_pdf = pdf(3, "Bossa");
    let songbook_pdf = pdf(4, "Songbook");
    let autumn = score(&w, &owner, &autumn_pdf, "Autumn");
    let bossa = score(&w, &owner, &bossa_pdf, "Bossa");
    let songbook = score(&w, &owner, &songbook_pdf, "Songbook");
    let gone = score(&w, &owner, &pdf(1, "Gone"), "Gone");
    block_on(library::patch_score(
        &w.cx(),
        &owner,
        &autumn,
        body(json!({"tags": ["jazz", "ballad"], "composer": "Kosma", "key": "Gm"})),
    ))
    .unwrap();
    block_on(parts::create_part(
        &w.cx(),
        &owner,
        &bossa,
        body(json!({"name": "Bass", "pages": {"first": 2, "last": 3}})),
    ))
    .unwrap();
    let trumpet_pdf = upload_part(&w, &owner, &bossa, "Trumpet");
    let blue = parse(
        &block_on(bookmarks::create(
            &w.cx(),
            &owner,
            &songbook,
            body(json!({"title": "Blue", "first_page": 2, "last_page": 3, "key": "F"})),
        ))
        .unwrap(),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (friday, autumn_item) = w.setlist(
        &owner,
        "Friday",
        &[("member@export.example", "viewer")],
        &autumn,
    );
    for item in [json!({"bookmark_id": blue}), json!({"score_id": gone})] {
        block_on(setlists::post_items(&w.cx(), &owner, &friday, body(item))).unwrap();
    }
    w.setlist(&owner, "Sunday", &[], &bossa);
    let layer = |user: &str, place: Place<'_>, name: &str| {
        block_on(annotations::put(
            &w.cx(),
            user,
            place,
            name,
            body(json!({"data": {"strokes": [name]}})),
        ))
        .unwrap();
    };
    layer(&owner, Place::Score(&autumn), "pencil");
    let on_item = Place::Item {
        setlist: &friday,
        item: &autumn_item,
    };
    layer(&owner, on_item, "gig");
    layer(&member, on_item, "theirs");
    block_on(annotations::put_settings(
        &w.cx(),
        &owner,
        Place::Score(&autumn),
        body(json!({"bpm": 96})),
    ))
    .unwrap();
    // Trashed (the column the trash feature adds): out of the export, its item too.
    w.db()
        .execute(
            "update scores set trashed_at = '2026-01-01T00:00:00.000Z' where id = ?1",
            [&gone],
        )
        .unwrap();
    w.ports.tasks.drain();
    Library {
        w,
        owner,
        member,
        pdfs: vec![autumn_pdf, bossa_pdf, songbook_pdf, trumpet_pdf],
        friday,
    }
}

/// Asks for an export of `user`'s library and runs the queue: its id.
fn export(w: &World, user: &str) -> String {
    let asked = block_on(exports::request(&w.cx(), user)).unwrap();
    assert_eq!(asked.state, "pending");
    w.run_tasks();
    asked.id
}

/// The archive of export `id`, written to a scratch file.
fn archive(w: &World, id: &str, name: &str) -> PathBuf {
    let key: String = w
        .db()
        .query_row("select object_key from exports where id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    let bytes = w.ports.blobs.objects.borrow()[&key].clone();
    let path = scratch("exports", name).join("export.zip");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Python's reading of every entry: name → (sha256, size, stored).
fn entries(path: &Path) -> Vec<(String, String, u64, bool)> {
    let script = "import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist():\n    b = z.read(i)\n    print(i.filename, hashlib.sha256(b).hexdigest(), len(b), i.compress_type)\n";
    run("python3", &["-c", script, path.to_str().unwrap()])
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.rsplitn(4, ' ').collect();
            (
                f[3].to_owned(),
                f[2].to_owned(),
                f[1].parse().unwrap(),
                f[0] == "0",
            )
        })
        .collect()
}

fn entry(path: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("unzip")
        .args(["-p", path.to_str().unwrap(), name])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn a_small_library_exports_to_one_zip_whose_manifest_is_what_the_database_holds() {
    let lib = small_library();
    let w = &lib.w;
    let used_before = w.count("select used_bytes from users where email = 'owner@export.example'");
    let id = export(w, &lib.owner);
    let done = block_on(exports::get(&w.cx(), &lib.owner, &id)).unwrap();
    assert_eq!(done.state, "done", "{done:?}");
    assert!(done.url.as_deref().unwrap().contains("/v1/blobs/"));
    assert_eq!(
        done.expires_at.as_deref(),
        Some(w.now.get().plus_seconds(7 * 24 * 3600).rfc3339().as_str())
    );
    assert!(w.ports.blobs.uploads_in(UploadState::Open).is_empty());
    // Not counted in the quota.
    w.assert_ledger();
    assert_eq!(
        w.count("select used_bytes from users where email = 'owner@export.example'"),
        used_before
    );
    if !installed("unzip") || !installed("python3") {
        return;
    }
    let path = archive(w, &id, "small");
    run("unzip", &["-tq", path.to_str().unwrap()]);
    let listed = entries(&path);
    assert_eq!(
        done.size_bytes,
        Some(std::fs::metadata(&path).unwrap().len() as i64)
    );
    let names: Vec<&str> = listed.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        &names[..2],
        ["manifest.json", "index.csv"],
        "the manifest first"
    );
    assert_eq!(
        names.len(),
        2 + 4,
        "three live scores and one uploaded part"
    );
    assert!(listed.iter().all(|e| e.3), "stored, not recompressed");
    for pdf in &lib.pdfs {
        assert!(
            listed
                .iter()
                .any(|e| e.1 == sha(pdf) && e.2 == pdf.len() as u64),
            "every PDF as uploaded"
        );
    }

    let manifest = Manifest::parse(&entry(&path, "manifest.json")).unwrap();
    // What the database holds, read here on its own.
    let db_scores: Vec<(String, String, String, i64, Option<i64>)> = w
        .db()
        .prepare(
            "select id, title, content_hash, size_bytes, pages from scores \
             where trashed_at is null order by created_at, id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(manifest.scores.len(), db_scores.len());
    for (s, (id, title, hash, size, pages)) in manifest.scores.iter().zip(&db_scores) {
        assert_eq!(
            (&s.id, &s.title, &s.sha256, s.size_bytes as i64, s.pages),
            (id, title, hash, *size, *pages)
        );
        let file = listed.iter().find(|e| e.0 == s.file).unwrap();
        assert_eq!(file.1, s.sha256, "{}", s.file);
    }
    let titled = |title: &str| manifest.scores.iter().find(|s| s.title == title).unwrap();
    let autumn = titled("Autumn");
    assert_eq!(autumn.tags, ["ballad", "jazz"]);
    assert_eq!(
        (autumn.composer.as_deref(), autumn.key.as_deref()),
        (Some("Kosma"), Some("Gm"))
    );
    let layers: Vec<(&str, bool)> = autumn
        .annotations
        .iter()
        .map(|a| (a.layer.as_str(), a.item_id.is_some()))
        .collect();
    assert_eq!(
        layers,
        [("pencil", false), ("gig", true)],
        "the owner's only"
    );
    assert_eq!(autumn.annotations[0].data, json!({"strokes": ["pencil"]}));
    assert_eq!(autumn.settings.len(), 1);
    assert_eq!(autumn.settings[0].data["bpm"], 96);
    let bossa = titled("Bossa");
    let mut parts: Vec<(&str, Option<i64>, Option<&str>)> = bossa
        .parts
        .iter()
        .map(|p| (p.name.as_str(), p.first_page, p.sha256.as_deref()))
        .collect();
    parts.sort();
    assert_eq!(
        parts,
        [
            ("Bass", Some(2), None),
            ("Trumpet", None, Some(sha(&lib.pdfs[3]).as_str()))
        ]
    );
    let songbook = titled("Songbook");
    assert_eq!(songbook.bookmarks.len(), 1);
    assert_eq!(
        (
            songbook.bookmarks[0].title.as_str(),
            songbook.bookmarks[0].first_page,
            songbook.bookmarks[0].last_page
        ),
        ("Blue", 2, 3)
    );
    let mut lists: Vec<(&str, Vec<i64>)> = manifest
        .setlists
        .iter()
        .map(|l| {
            (
                l.name.as_str(),
                l.items.iter().map(|i| i.position).collect(),
            )
        })
        .collect();
    lists.sort();
    assert_eq!(
        lists,
        [("Friday", vec![1, 2]), ("Sunday", vec![1])],
        "the trashed score's item left out"
    );
    let friday = manifest
        .setlists
        .iter()
        .find(|l| l.id == lib.friday)
        .unwrap();
    assert_eq!(
        friday.items[1].bookmark_id.as_deref(),
        Some(songbook.bookmarks[0].id.as_str())
    );
    assert_eq!(
        autumn.annotations[1].item_id.as_deref(),
        Some(friday.items[0].id.as_str())
    );
    // The same library read again by the use case is this manifest (but for the time).
    let again = block_on(exports::library(&w.cx(), &lib.owner))
        .unwrap()
        .unwrap();
    assert_eq!(again.manifest.scores, manifest.scores);
    assert_eq!(again.manifest.setlists, manifest.setlists);

    let csv = String::from_utf8(entry(&path, "index.csv")).unwrap();
    assert_eq!(csv, manifest.index_csv());
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(
        lines.len(),
        1 + 3 + 1,
        "a header, three scores, one bookmark"
    );
    assert!(lines.contains(&format!("{},Autumn,Kosma,1,2,Gm,ballad;jazz", autumn.file).as_str()));
    assert!(lines.contains(&format!("{},Blue,,2,3,F,", songbook.file).as_str()));

    // The manifest against the committed JSON Schema.
    validate_against_schema(&path);
}

/// Python's `jsonschema` validates the manifest in `archive` against
/// docs/export-manifest.schema.json; the schema names exactly the fields the code writes; and a
/// manifest missing a required field or carrying an unknown one is refused by both.
fn validate_against_schema(archive: &Path) {
    if Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("note: python3 jsonschema missing; the schema check is skipped");
        return;
    }
    let manifest: Value = serde_json::from_slice(&entry(archive, "manifest.json")).unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string("docs/export-manifest.schema.json").unwrap())
            .unwrap();
    let dir = archive.parent().unwrap();
    let check = |doc: &Value, name: &str| -> bool {
        let file = dir.join(name);
        std::fs::write(&file, serde_json::to_vec(doc).unwrap()).unwrap();
        Command::new("python3")
            .args([
                "-c",
                "import json, sys, jsonschema\nschema = json.load(open(sys.argv[1]))\njsonschema.Draft202012Validator.check_schema(schema)\njsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)\n",
                "docs/export-manifest.schema.json",
                file.to_str().unwrap(),
            ])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(check(&manifest, "valid.json"), "the manifest is valid");
    // Each object the code writes has exactly the schema's properties.
    let props = |def: &str| -> Vec<String> {
        let node = if def.is_empty() {
            &schema
        } else {
            &schema["$defs"][def]
        };
        let mut keys: Vec<String> = node["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let titled = |title: &str| -> usize {
        manifest["scores"]
            .as_array()
            .unwrap()
            .iter()
            .position(|s| s["title"] == title)
            .unwrap()
    };
    let (autumn, bossa, songbook) = (titled("Autumn"), titled("Bossa"), titled("Songbook"));
    let s = &manifest["scores"];
    for (def, value) in [
        ("", &manifest),
        ("score", &s[autumn]),
        ("annotation", &s[autumn]["annotations"][0]),
        ("setting", &s[autumn]["settings"][0]),
        ("part", &s[bossa]["parts"][0]),
        ("bookmark", &s[songbook]["bookmarks"][0]),
        ("setlist", &manifest["setlists"][0]),
        ("item", &manifest["setlists"][0]["items"][0]),
    ] {
        assert_eq!(keys(value), props(def), "{def}");
    }
    let mut missing = manifest.clone();
    missing["scores"][0]
        .as_object_mut()
        .unwrap()
        .remove("sha256");
    let mut unknown = manifest.clone();
    unknown["setlists"][0]["owner"] = json!("someone");
    let mut wrong = manifest.clone();
    wrong["scores"][bossa]["parts"][0]["source"] = json!("scan");
    for (doc, name) in [(missing, "missing"), (unknown, "unknown"), (wrong, "wrong")] {
        assert!(!check(&doc, &format!("{name}.json")), "{name}: schema");
        assert!(
            Manifest::parse(&serde_json::to_vec(&doc).unwrap()).is_err(),
            "{name}: Manifest::parse"
        );
    }
}

/// Two scores of about 6 MiB each: an archive of three parts.
fn large_library() -> (World, String, Vec<Vec<u8>>) {
    let w = World::new();
    let owner = w.user("large@export.example", 1 << 30);
    let files: Vec<Vec<u8>> = (0..2)
        .map(|i| padded(1, &format!("large {i}"), 6 * 1024 * 1024))
        .collect();
    for (i, bytes) in files.iter().enumerate() {
        w.score(&owner, bytes, &format!("Large {i}"));
    }
    (w, owner, files)
}

fn state(w: &World, id: &str) -> (String, Option<String>) {
    w.db()
        .query_row(
            "select state, reason from exports where id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The reason export `id` failed with (it must have failed).
fn failure(w: &World, id: &str) -> String {
    let (state, reason) = state(w, id);
    assert_eq!(state, "failed");
    reason.unwrap()
}

#[test]
fn a_part_upload_failing_part_way_is_retried_into_one_complete_archive() {
    let (w, owner, files) = large_library();
    let asked = block_on(exports::request(&w.cx(), &owner)).unwrap();
    let task = w.ports.tasks.drain().pop().unwrap();
    w.ports.blobs.fail_next("multipart_part", "part 2", 1);
    let outcome = block_on(processing::run(&w.cx(), &task, "m1"));
    assert!(matches!(outcome, Err(ApiError::Storage(_))), "{outcome:?}");
    let disposition = block_on(processing::finish(&w.cx(), &task, outcome, "m1"));
    assert!(matches!(disposition, Disposition::RetryIn(_)));
    assert_eq!(state(&w, &asked.id).0, "running");
    // The failed delivery aborted its own upload: nothing open, nothing in the outbox.
    assert!(w.ports.blobs.uploads_in(UploadState::Open).is_empty());
    assert_eq!(w.ports.blobs.uploads_in(UploadState::Aborted).len(), 1);
    assert_eq!(w.count("select count(*) from multipart_aborts"), 0);

    // The retry starts again and completes one archive.
    let outcome = block_on(processing::run(&w.cx(), &task, "m1"));
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(state(&w, &asked.id).0, "done");
    assert_eq!(w.ports.blobs.uploads_in(UploadState::Completed).len(), 1);
    assert!(w.ports.blobs.uploads_in(UploadState::Open).is_empty());
    assert_eq!(
        w.count("select parts from exports"),
        3,
        "12 MiB and more in parts of 5 MiB"
    );
    if installed("unzip") && installed("python3") {
        let path = archive(&w, &asked.id, "retried");
        run("unzip", &["-tq", path.to_str().unwrap()]);
        let listed = entries(&path);
        for bytes in &files {
            assert!(listed.iter().any(|e| e.1 == sha(bytes)));
        }
    }
}

#[test]
fn a_delivery_that_died_mid_archive_is_taken_over_and_its_upload_aborted() {
    let (w, owner, _) = large_library();
    let asked = block_on(exports::request(&w.cx(), &owner)).unwrap();
    let task = w.ports.tasks.drain().pop().unwrap();
    // The first delivery "dies" after part 1: its part 2 fails, and so do its clean-ups (the
    // abort and the database), as when the isolate is gone.
    w.ports.blobs.fail_next("multipart_part", "part 2", 1);
    w.ports.blobs.fail_next("multipart_abort", "", 1);
    w.ports.db.fail_next("set upload_id = null", 1);
    assert!(block_on(processing::run(&w.cx(), &task, "m1")).is_err());
    let first = w.ports.blobs.uploads_in(UploadState::Open);
    assert_eq!(first.len(), 1, "left open by the dead delivery");
    let recorded: String = w
        .db()
        .query_row("select upload_id from exports", [], |r| r.get(0))
        .unwrap();
    assert_eq!(recorded, first[0], "the row names it");
    // The next delivery takes over, aborts it and starts again.
    block_on(processing::run(&w.cx(), &task, "m2")).unwrap();
    assert_eq!(state(&w, &asked.id).0, "done");
    assert!(w.ports.blobs.uploads_in(UploadState::Open).is_empty());
    assert_eq!(w.ports.blobs.uploads_in(UploadState::Aborted), first);
    assert_eq!(w.count("select attempt from exports"), 2);
    assert_eq!(w.count("select count(*) from multipart_aborts"), 0);
}

#[test]
fn a_missing_or_damaged_source_fails_the_export_naming_the_file_and_aborts_its_upload() {
    let (w, owner, files) = large_library();
    let keys: Vec<String> = w
        .db()
        .prepare("select object_key from scores order by created_at, id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // Damaged: the second file's bytes changed, its length kept.
    let mut damaged = files[1].clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    w.ports.blobs.store(&keys[1], &damaged);
    let id = export(&w, &owner);
    let reason = failure(&w, &id);
    assert!(
        reason.starts_with("files/Large 1--") && reason.contains("does not match its sha256"),
        "{reason}"
    );
    assert!(w.ports.blobs.uploads_in(UploadState::Open).is_empty());
    assert_eq!(w.ports.blobs.uploads_in(UploadState::Aborted).len(), 1);
    assert!(w.ports.blobs.uploads_in(UploadState::Completed).is_empty());
    let view = block_on(exports::get(&w.cx(), &owner, &id)).unwrap();
    assert_eq!(
        (view.state.as_str(), view.url, view.reason.as_deref()),
        ("failed", None, Some(reason.as_str()))
    );
    assert!(view.expires_at.is_some(), "a failed export goes too");

    // Missing: the first file gone. A new export may be asked for once the last one ended.
    w.ports.blobs.store(&keys[1], &files[1]);
    w.ports.blobs.objects.borrow_mut().remove(&keys[0]);
    let id = export(&w, &owner);
    let reason = failure(&w, &id);
    assert!(
        reason.starts_with("files/Large 0--") && reason.contains("missing"),
        "{reason}"
    );
    assert!(w.ports.blobs.uploads_in(UploadState::Open).is_empty());
    assert_eq!(w.ports.blobs.uploads_in(UploadState::Aborted).len(), 2);
    // Told once, not retried.
    let record: String = w
        .db()
        .query_row(
            "select state from task_runs where id = ?1",
            [format!("export:{id}")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(record, "failed");
}

#[test]
fn one_export_at_a_time_and_another_users_export_is_404() {
    let lib = small_library();
    let w = &lib.w;
    let first = block_on(exports::request(&w.cx(), &lib.owner)).unwrap();
    let again = block_on(exports::request(&w.cx(), &lib.owner)).unwrap();
    assert_eq!(again.id, first.id, "the one pending is the answer");
    assert_eq!(w.ports.tasks.drain().len(), 1, "one message");
    assert!(matches!(
        block_on(exports::get(&w.cx(), &lib.member, &first.id)),
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        block_on(exports::get(&w.cx(), &lib.owner, "exp_nonsense")),
        Err(ApiError::NotFound)
    ));
    assert!(block_on(exports::list(&w.cx(), &lib.member))
        .unwrap()
        .is_empty());
    let theirs = export(w, &lib.member);
    assert_eq!(
        block_on(exports::get(&w.cx(), &lib.member, &theirs))
            .unwrap()
            .state,
        "done",
        "a library of no scores exports too"
    );
    let mine = block_on(exports::list(&w.cx(), &lib.owner)).unwrap();
    assert_eq!(
        mine.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        [first.id.as_str()]
    );
}

#[test]
fn the_sweep_resends_stuck_exports_expires_old_ones_and_aborts_what_was_left() {
    let (w, owner, _) = large_library();
    let asked = block_on(exports::request(&w.cx(), &owner)).unwrap();
    w.ports.tasks.drain();
    // Lost message: resent once the export has not moved for half an hour.
    w.advance(31 * 60);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["exports_requeued"], 1);
    let resent: Vec<Task> = w
        .ports
        .tasks
        .drain()
        .into_iter()
        .filter(|t| matches!(t, Task::Export { .. }))
        .collect();
    assert_eq!(
        resent,
        [Task::Export {
            export_id: asked.id.clone()
        }]
    );
    // An upload a dead delivery left in the outbox is aborted by the sweep.
    w.ports.blobs.fail_next("multipart_part", "part 2", 1);
    w.ports.blobs.fail_next("multipart_abort", "", 1);
    let task = Task::Export {
        export_id: asked.id.clone(),
    };
    assert!(block_on(processing::run(&w.cx(), &task, "m1")).is_err());
    assert_eq!(w.count("select count(*) from multipart_aborts"), 1);
    assert_eq!(w.ports.blobs.uploads_in(UploadState::Open).len(), 1);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["export_uploads_aborted"], 1);
    assert!(w.ports.blobs.uploads_in(UploadState::Open).is_empty());
    assert_eq!(w.count("select count(*) from multipart_aborts"), 0);
    // Done, then gone seven days later: the row, and the archive through the deletion outbox.
    w.ports.tasks.drain();
    block_on(processing::run(&w.cx(), &task, "m2")).unwrap();
    assert_eq!(state(&w, &asked.id).0, "done");
    w.advance(7 * 24 * 3600 + 1);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["exports_expired"], 1);
    assert_eq!(w.count("select count(*) from exports"), 0);
    assert_eq!(
        w.count("select count(*) from deletions where object_key like '%/exports/exp_%.zip'"),
        1
    );
    // An export never finished is given up after a day, its upload to be aborted; deleting the
    // account takes the rest.
    block_on(exports::request(&w.cx(), &owner)).unwrap();
    w.ports.tasks.drain();
    w.advance(25 * 3600);
    let report = block_on(processing::sweep(&w.cx())).unwrap();
    assert_eq!(report["exports_abandoned"], 1);
    assert_eq!(
        w.count("select count(*) from exports where state = 'failed'"),
        1
    );
    w.db()
        .execute("delete from users where id = ?1", [&owner])
        .unwrap();
    assert_eq!(w.count("select count(*) from exports"), 0);
    assert_eq!(
        w.count("select count(*) from deletions where object_key like '%/exports/%'"),
        2
    );
}
