//! The library export's `manifest.json` and `index.csv` (SPEC §11): what an export writes
//! beside the PDFs and what an import reads back.
//!
//! The manifest is the archive's table of contents and the only source of metadata on import, so
//! [`Manifest::parse`] checks everything an import relies on before anything is planned: the
//! format version, its size, unique ids and file names, safe names, hashes and sizes of the right
//! shape, and that every reference (an item's score or bookmark, an annotation's item) points at
//! something in the same manifest. Whether the files it names are in the archive with those sizes
//! is the import's check. The JSON Schema of the format is `docs/export-manifest.schema.json`.
//!
//! Ids in a manifest are the exporting account's; an import maps them to new ones.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format this build writes and reads. A later format may add sources; an import refuses a
/// format it does not know rather than guess.
pub const FORMAT: u32 = 1;
/// `manifest.json` is at most this long (SPEC §11).
pub const MANIFEST_MAX_BYTES: usize = 16 * 1024 * 1024;
/// The manifest's name in the archive.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The index's name in the archive.
pub const INDEX_NAME: &str = "index.csv";
/// Where the PDFs are.
pub const FILES_DIR: &str = "files/";
/// Longest entry name, in bytes (the ZIP format allows 65 535; readers and file systems less).
pub const NAME_MAX_BYTES: usize = 255;

/// Whether `name` may be an entry: relative, `/`-separated, no `.` or `..` segment, no empty
/// segment, no backslash or control character, no `:` (drive letters, streams), within
/// [`NAME_MAX_BYTES`]. What the import will refuse, the export never writes.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX_BYTES
        && !name.starts_with('/')
        && !name.chars().any(|c| c == '\\' || c.is_control())
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && !name.contains(':')
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// `"scoremate"`.
    pub generator: String,
    /// RFC 3339 UTC.
    pub exported_at: String,
    pub scores: Vec<Score>,
    pub setlists: Vec<Setlist>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Score {
    pub id: String,
    /// The PDF's entry name (`files/….pdf`).
    pub file: String,
    /// Lowercase hex SHA-256 of the PDF.
    pub sha256: String,
    pub size_bytes: u64,
    pub title: String,
    pub composer: Option<String>,
    pub arranger: Option<String>,
    pub instrumentation: Option<String>,
    pub key: Option<String>,
    pub notes: Option<String>,
    pub tags: Vec<String>,
    pub rating: Option<i64>,
    pub difficulty: Option<i64>,
    pub duration: Option<i64>,
    pub pages: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub parts: Vec<Part>,
    pub bookmarks: Vec<Bookmark>,
    /// The owner's own annotation layers on this score (members' layers are theirs, not the
    /// owner's, and are not exported).
    pub annotations: Vec<Annotation>,
    /// The owner's performance settings for this score.
    pub settings: Vec<Setting>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub id: String,
    pub name: String,
    /// `pages` (a range of the score) or `upload` (a PDF of its own, in `file`).
    pub source: PartSource,
    pub first_page: Option<i64>,
    pub last_page: Option<i64>,
    pub file: Option<String>,
    pub sha256: Option<String>,
    pub size_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartSource {
    Pages,
    Upload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bookmark {
    pub id: String,
    pub title: String,
    pub composer: Option<String>,
    pub key: Option<String>,
    pub tags: Vec<String>,
    pub first_page: i64,
    pub last_page: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    pub layer: String,
    /// The setlist item the layer belongs to; `None` for the score's own layer.
    pub item_id: Option<String>,
    pub shared: bool,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// The setlist item the settings belong to; `None` for the score's own.
    pub item_id: Option<String>,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setlist {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub event_date: Option<String>,
    pub venue: Option<String>,
    pub notes: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    /// 1-based, dense within the setlist.
    pub position: i64,
    pub score_id: String,
    pub bookmark_id: Option<String>,
    pub notes: Option<String>,
}

/// A PDF the manifest names: its entry, hash and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileRef<'a> {
    pub name: &'a str,
    pub sha256: &'a str,
    pub size_bytes: u64,
}

/// The entry name of a score's PDF: readable (`files/Autumn Leaves--{id}.pdf`) and unique by id.
pub fn score_file(id: &str, title: &str) -> String {
    format!("{FILES_DIR}{}--{}.pdf", slug(title), slug(id))
}

/// The entry name of an uploaded part's PDF.
pub fn part_file(score_id: &str, part_id: &str, name: &str) -> String {
    format!(
        "{FILES_DIR}parts/{}--{}--{}.pdf",
        slug(name),
        slug(score_id),
        slug(part_id)
    )
}

/// `s` reduced to what every file system and ZIP reader takes: ASCII letters, digits, space,
/// `-`, `_`, `.` (never leading), at most 80 characters; `untitled` when nothing is left.
fn slug(s: &str) -> String {
    let kept: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let kept = kept.trim_matches(|c: char| c == '.' || c == ' ');
    if kept.is_empty() {
        "untitled".to_owned()
    } else {
        kept.to_owned()
    }
}

impl Manifest {
    /// Reads and checks a manifest (see the module's documentation).
    ///
    /// # Errors
    /// The reason, for the import's `reason`: too long, not JSON of this shape, an unknown format,
    /// a duplicate id or file, an unsafe name, a bad hash or size, a dangling reference.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MANIFEST_MAX_BYTES {
            return Err(format!(
                "manifest.json is {} bytes; at most {MANIFEST_MAX_BYTES}",
                bytes.len()
            ));
        }
        // The format first, so a later format is told as such and not as a shape error.
        let format = serde_json::from_slice::<Value>(bytes)
            .map_err(|e| format!("manifest.json is not JSON: {e}"))?
            .get("format")
            .and_then(Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(match format {
                Some(f) => {
                    format!("manifest format {f} is not supported (this server reads {FORMAT})")
                }
                None => "manifest.json has no format version".to_owned(),
            });
        }
        let m: Self = serde_json::from_slice(bytes)
            .map_err(|e| format!("manifest.json does not match format {FORMAT}: {e}"))?;
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        let mut unique = |kind: &str, id: &str| -> Result<(), String> {
            if id.is_empty() || id.len() > 100 {
                return Err(format!("{kind} id {id:?} must be 1 to 100 bytes"));
            }
            if ids.insert(format!("{kind}:{id}")) {
                Ok(())
            } else {
                Err(format!("{kind} id {id:?} appears twice"))
            }
        };
        let mut bookmarks = HashSet::new();
        for s in &self.scores {
            unique("score", &s.id)?;
            for p in &s.parts {
                unique("part", &p.id)?;
                match p.source {
                    PartSource::Pages => match (p.first_page, p.last_page) {
                        (Some(a), Some(b)) if 1 <= a && a <= b => {}
                        _ => {
                            return Err(format!("part {:?} needs 1 ≤ first_page ≤ last_page", p.id))
                        }
                    },
                    PartSource::Upload => {
                        if p.file.is_none() || p.sha256.is_none() || p.size_bytes.is_none() {
                            return Err(format!(
                                "part {:?} needs file, sha256 and size_bytes",
                                p.id
                            ));
                        }
                    }
                }
            }
            for b in &s.bookmarks {
                unique("bookmark", &b.id)?;
                if !(1 <= b.first_page && b.first_page <= b.last_page) {
                    return Err(format!(
                        "bookmark {:?} needs 1 ≤ first_page ≤ last_page",
                        b.id
                    ));
                }
                bookmarks.insert((s.id.as_str(), b.id.as_str()));
            }
        }
        let mut items = HashSet::new();
        let scores: HashSet<&str> = self.scores.iter().map(|s| s.id.as_str()).collect();
        for l in &self.setlists {
            unique("setlist", &l.id)?;
            let mut positions: Vec<i64> = l.items.iter().map(|i| i.position).collect();
            positions.sort_unstable();
            if positions.iter().zip(1..).any(|(p, n)| *p != n) {
                return Err(format!("setlist {:?}: positions must be 1, 2, 3, …", l.id));
            }
            for i in &l.items {
                unique("item", &i.id)?;
                items.insert(i.id.as_str());
                if !scores.contains(i.score_id.as_str()) {
                    return Err(format!(
                        "item {:?} refers to a score not in the manifest",
                        i.id
                    ));
                }
                if let Some(b) = &i.bookmark_id {
                    if !bookmarks.contains(&(i.score_id.as_str(), b.as_str())) {
                        return Err(format!(
                            "item {:?} refers to a bookmark not of its score",
                            i.id
                        ));
                    }
                }
            }
        }
        for s in &self.scores {
            let refs = s.annotations.iter().map(|a| &a.item_id);
            for item in refs.chain(s.settings.iter().map(|x| &x.item_id)).flatten() {
                if !items.contains(item.as_str()) {
                    return Err(format!(
                        "score {:?} refers to an item not in the manifest",
                        s.id
                    ));
                }
            }
        }
        let mut names = HashSet::new();
        for f in self.files() {
            if !f.name.starts_with(FILES_DIR) || !f.name.ends_with(".pdf") || !is_safe_name(f.name)
            {
                return Err(format!("file name {:?} is not allowed", f.name));
            }
            // Names compare case-insensitively: two that differ in case are one file on many
            // file systems.
            if !names.insert(f.name.to_lowercase()) {
                return Err(format!("file {:?} appears twice", f.name));
            }
            if f.sha256.len() != 64
                || !f
                    .sha256
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(format!(
                    "file {:?}: sha256 must be 64 lowercase hex digits",
                    f.name
                ));
            }
            if f.size_bytes == 0 {
                return Err(format!("file {:?}: size_bytes must be at least 1", f.name));
            }
        }
        Ok(())
    }

    /// Every PDF the manifest names: the scores' and the uploaded parts', in manifest order.
    pub fn files(&self) -> impl Iterator<Item = FileRef<'_>> {
        self.scores.iter().flat_map(|s| {
            let own = FileRef {
                name: &s.file,
                sha256: &s.sha256,
                size_bytes: s.size_bytes,
            };
            let parts = s.parts.iter().filter_map(|p| {
                Some(FileRef {
                    name: p.file.as_deref()?,
                    sha256: p.sha256.as_deref()?,
                    size_bytes: p.size_bytes?,
                })
            });
            std::iter::once(own).chain(parts)
        })
    }

    /// `index.csv`: a header, then one line per score and one per bookmark (`file, title,
    /// composer, first_page, last_page, key, tags`, tags joined by `;`), quoted as RFC 4180 says,
    /// lines ending in CRLF. A bookmark's file is its score's.
    pub fn index_csv(&self) -> String {
        let mut out = String::from("file,title,composer,first_page,last_page,key,tags\r\n");
        for s in &self.scores {
            let last = s.pages.map(|p| p.to_string()).unwrap_or_default();
            line(
                &mut out,
                [
                    &s.file,
                    &s.title,
                    opt(&s.composer),
                    "1",
                    &last,
                    opt(&s.key),
                    &s.tags.join(";"),
                ],
            );
            for b in &s.bookmarks {
                line(
                    &mut out,
                    [
                        &s.file,
                        &b.title,
                        opt(&b.composer),
                        &b.first_page.to_string(),
                        &b.last_page.to_string(),
                        opt(&b.key),
                        &b.tags.join(";"),
                    ],
                );
            }
        }
        out
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

fn line(out: &mut String, cells: [&str; 7]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn sample() -> Manifest {
        serde_json::from_value(json!({
            "format": 1, "generator": "scoremate", "exported_at": "2026-11-30T00:00:00Z",
            "scores": [{
                "id": "s1", "file": score_file("s1", "Autumn, \"Leaves\""), "sha256": HASH, "size_bytes": 10,
                "title": "Autumn, \"Leaves\"", "composer": "Kosma", "arranger": null, "instrumentation": null,
                "key": "Gm", "notes": null, "tags": ["jazz", "ballad"], "rating": 4, "difficulty": null,
                "duration": null, "pages": 12, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
                "parts": [
                    {"id": "p1", "name": "Bass", "source": "pages", "first_page": 3, "last_page": 4,
                     "file": null, "sha256": null, "size_bytes": null},
                    {"id": "p2", "name": "Drums", "source": "upload", "first_page": null, "last_page": null,
                     "file": part_file("s1", "p2", "Drums"), "sha256": HASH, "size_bytes": 5}
                ],
                "bookmarks": [{"id": "b1", "title": "Coda", "composer": null, "key": null, "tags": [],
                               "first_page": 10, "last_page": 12}],
                "annotations": [{"layer": "pencil", "item_id": "i2", "shared": false, "data": {"strokes": []}}],
                "settings": [{"item_id": null, "data": {"zoom": 1.2}}]
            }],
            "setlists": [{
                "id": "l1", "name": "Gig", "description": null, "event_date": null, "venue": null,
                "notes": null, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
                "items": [
                    {"id": "i1", "position": 1, "score_id": "s1", "bookmark_id": null, "notes": null},
                    {"id": "i2", "position": 2, "score_id": "s1", "bookmark_id": "b1", "notes": "cut"}
                ]
            }]
        }))
        .unwrap()
    }

    fn reparse(m: &Manifest) -> Result<Manifest, String> {
        Manifest::parse(&serde_json::to_vec(m).unwrap())
    }

    #[test]
    fn a_manifest_round_trips_field_by_field() {
        let m = sample();
        assert_eq!(reparse(&m).unwrap(), m);
        assert_eq!(m.files().count(), 2);
    }

    #[test]
    fn a_later_or_missing_format_is_refused_as_such() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["format"] = json!(2);
        let e = Manifest::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.contains("format 2 is not supported"), "{e}");
        v.as_object_mut().unwrap().remove("format");
        let e = Manifest::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.contains("no format"), "{e}");
        assert!(Manifest::parse(b"[").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn unknown_fields_and_an_oversized_manifest_are_refused() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["scores"][0]["owner"] = json!("someone");
        assert!(Manifest::parse(&serde_json::to_vec(&v).unwrap()).is_err());
        let big = vec![b' '; MANIFEST_MAX_BYTES + 1];
        assert!(Manifest::parse(&big).unwrap_err().contains("at most"));
    }

    #[test]
    fn unsafe_duplicate_or_misshapen_files_are_refused() {
        for (name, why) in [
            ("files/../../etc/passwd.pdf", "not allowed"),
            ("/files/a.pdf", "not allowed"),
            ("files/a.exe", "not allowed"),
            ("files\\a.pdf", "not allowed"),
            ("files/C:a.pdf", "not allowed"),
        ] {
            let mut m = sample();
            m.scores[0].file = name.to_owned();
            assert!(reparse(&m).unwrap_err().contains(why), "{name}");
        }
        let mut m = sample();
        m.scores[0].parts[1].file = Some(
            m.scores[0]
                .file
                .to_uppercase()
                .replace(".PDF", ".pdf")
                .replace("FILES/", "files/"),
        );
        assert!(reparse(&m).unwrap_err().contains("twice"));
        let mut m = sample();
        m.scores[0].sha256 = "ABC".into();
        assert!(reparse(&m).unwrap_err().contains("sha256"));
        let mut m = sample();
        m.scores[0].size_bytes = 0;
        assert!(reparse(&m).unwrap_err().contains("size_bytes"));
    }

    #[test]
    fn dangling_references_and_duplicate_ids_are_refused() {
        let mut m = sample();
        m.setlists[0].items[0].score_id = "nope".into();
        assert!(reparse(&m).unwrap_err().contains("score not in"));
        let mut m = sample();
        m.setlists[0].items[1].bookmark_id = Some("b9".into());
        assert!(reparse(&m).unwrap_err().contains("bookmark not of"));
        let mut m = sample();
        m.scores[0].annotations[0].item_id = Some("i9".into());
        assert!(reparse(&m).unwrap_err().contains("item not in"));
        let mut m = sample();
        m.scores.push(m.scores[0].clone());
        assert!(reparse(&m).unwrap_err().contains("appears twice"));
        let mut m = sample();
        m.setlists[0].items[1].position = 3;
        assert!(reparse(&m).unwrap_err().contains("positions"));
        let mut m = sample();
        m.scores[0].bookmarks[0].first_page = 0;
        assert!(reparse(&m).unwrap_err().contains("first_page"));
        let mut m = sample();
        m.scores[0].parts[1].sha256 = None;
        assert!(reparse(&m).unwrap_err().contains("needs file"));
    }

    #[test]
    fn file_names_are_safe_whatever_the_title() {
        for title in ["../../x", "a/b\\c:d", "", "...", "Ünïcødé", "\u{0}"] {
            let name = score_file("id/../1", title);
            assert!(is_safe_name(&name), "{name}");
            assert!(name.starts_with("files/") && name.ends_with(".pdf"));
        }
        assert_eq!(
            score_file("s1", "Autumn Leaves"),
            "files/Autumn Leaves--s1.pdf"
        );
    }

    #[test]
    fn the_index_has_a_line_per_score_and_bookmark_quoted_for_spreadsheets() {
        let csv = sample().index_csv();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "file,title,composer,first_page,last_page,key,tags"
        );
        assert_eq!(
            lines[1],
            r#"files/Autumn_ _Leaves_--s1.pdf,"Autumn, ""Leaves""",Kosma,1,12,Gm,jazz;ballad"#
        );
        assert_eq!(lines[2], "files/Autumn_ _Leaves_--s1.pdf,Coda,,10,12,,");
        assert_eq!(lines.len(), 4, "{csv}");
    }
}
