//! A small exported library for the import's tests: two scores (one with an uploaded part, a
//! pages part, two bookmarks, a layer and settings), a third PDF as a songbook, and a setlist of
//! three items (one playing a bookmark) with an item's layer — as a manifest value and as the
//! archive the export would write (`archive::ArchiveWriter`).

#![allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use scoremate::domain::manifest::{part_file, score_file, Manifest, INDEX_NAME, MANIFEST_NAME};

pub fn sha(bytes: &[u8]) -> String {
    scoremate::domain::hex(&Sha256::digest(bytes))
}

/// The library's PDFs: score A, score B, the songbook C, and A's uploaded part.
pub struct Files {
    pub a: Vec<u8>,
    pub b: Vec<u8>,
    pub c: Vec<u8>,
    pub part: Vec<u8>,
}

impl Files {
    pub fn new(nonce: &str) -> Self {
        Self {
            a: super::pdf::pdf(2, &format!("A {nonce}")),
            b: super::pdf::pdf(3, &format!("B {nonce}")),
            c: super::pdf::pdf(12, &format!("C {nonce}")),
            part: super::pdf::pdf(1, &format!("A's trumpet part {nonce}")),
        }
    }

    pub fn total(&self) -> u64 {
        (self.a.len() + self.b.len() + self.c.len() + self.part.len()) as u64
    }
}

fn score(id: &str, title: &str, bytes: &[u8], pages: i64) -> Value {
    json!({
        "id": id, "file": score_file(id, title), "sha256": sha(bytes), "size_bytes": bytes.len(),
        "title": title, "composer": "Kosma", "arranger": null, "instrumentation": null,
        "key": "Gm", "notes": null, "tags": ["Jazz", "ballad"], "rating": 4, "difficulty": null,
        "duration": null, "pages": pages, "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z", "parts": [], "bookmarks": [], "annotations": [],
        "settings": []
    })
}

/// The manifest of the library (source ids `s1`, `s2`, `s3`, `p1`, `p2`, `b1`, `b2`, `l1`, …).
pub fn manifest(f: &Files) -> Value {
    let mut a = score("s1", "Autumn Leaves", &f.a, 2);
    a["parts"] = json!([
        {"id": "p1", "name": "Trumpet", "source": "upload", "first_page": null, "last_page": null,
         "file": part_file("s1", "p1", "Trumpet"), "sha256": sha(&f.part), "size_bytes": f.part.len()},
        {"id": "p2", "name": "Bass", "source": "pages", "first_page": 2, "last_page": 2,
         "file": null, "sha256": null, "size_bytes": null}
    ]);
    a["annotations"] = json!([
        {"layer": "pencil", "item_id": null, "shared": true, "data": {"1": {"strokes": [[1, 2, 3]]}}},
        {"layer": "gig", "item_id": "i1", "shared": false, "data": {"2": {"text": "breathe"}}}
    ]);
    a["settings"] = json!([
        {"item_id": null, "data": {"bpm": 120, "half_page_turn": true}},
        {"item_id": "i1", "data": {"last_page": 2}}
    ]);
    let b = score("s2", "Blue Bossa", &f.b, 3);
    let mut c = score("s3", "Real Book", &f.c, 12);
    c["bookmarks"] = json!([
        {"id": "b1", "title": "Solar", "composer": "Davis", "key": null, "tags": ["Standard"],
         "first_page": 3, "last_page": 4},
        {"id": "b2", "title": "Nardis", "composer": null, "key": "Em", "tags": [],
         "first_page": 10, "last_page": 12}
    ]);
    json!({
        "format": 1, "generator": "scoremate", "exported_at": "2026-11-30T00:00:00Z",
        "scores": [a, b, c],
        "setlists": [{
            "id": "l1", "name": "Friday gig", "description": null, "event_date": "2026-12-04",
            "venue": "Blue Note", "notes": null, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "items": [
                {"id": "i2", "position": 2, "score_id": "s3", "bookmark_id": "b1", "notes": "take it slow"},
                {"id": "i1", "position": 1, "score_id": "s1", "bookmark_id": null, "notes": null},
                {"id": "i3", "position": 3, "score_id": "s2", "bookmark_id": null, "notes": null}
            ]
        }]
    })
}

pub fn parsed(v: &Value) -> Manifest {
    Manifest::parse(&serde_json::to_vec(v).unwrap()).unwrap()
}

/// The entries of the archive of `manifest` (which must parse): the manifest, the files of `f`
/// under the names it gives (by hash), the index.
pub fn entries(manifest: &Value, f: &Files) -> Vec<(String, Vec<u8>)> {
    let m = parsed(manifest);
    let by_hash = |h: &str| {
        [&f.a, &f.b, &f.c, &f.part]
            .into_iter()
            .find(|b| sha(b) == h)
            .cloned()
            .unwrap_or_default()
    };
    let mut out = vec![(
        MANIFEST_NAME.to_owned(),
        serde_json::to_vec(manifest).unwrap(),
    )];
    out.extend(m.files().map(|r| (r.name.to_owned(), by_hash(r.sha256))));
    out.push((INDEX_NAME.to_owned(), m.index_csv().into_bytes()));
    out
}

/// The archive of `manifest` as the export writes it (`extra`: more entries after the rest).
pub fn archive(manifest: &Value, f: &Files, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let all = entries(manifest, f);
    let mut refs: Vec<(&str, &[u8])> = all
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    refs.extend_from_slice(extra);
    super::zip::export_style(&refs)
}
