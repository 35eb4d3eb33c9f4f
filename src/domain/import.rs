//! The library import's plan (SPEC §11): from a checked manifest and what the account already
//! holds, every row the import will create, every file it will copy, the bytes it needs and the
//! report — before anything is written. Pure: the account's state, the time and the randomness
//! (a per-import seed) are passed in.
//!
//! What already exists is not made again (decision 102): a score whose file (sha256) is one of
//! the account's live scores, or an earlier score of the same archive, is a *duplicate* — its
//! bookmarks and setlist items go to that score, while its parts, annotations and settings stay
//! the existing score's own; a bookmark of a duplicate that the score already has (same title and
//! pages) is that bookmark; a setlist an earlier import made from the same source id (and that
//! still exists), or one of the account's own with that id, is not made again. So importing the
//! same archive twice creates nothing the second time. New ids derive from the seed and the
//! source's kind and id, so a redelivered task plans the very same ids and object keys.
//!
//! Metadata is held to the API's own rules (the same parsers); a manifest the export would not
//! write is refused whole, with the reason naming the thing. Things skipped for the account's
//! state (a bookmark past a duplicate's pages, a part whose file you already have) are reported
//! in `errors` and the rest imported.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::annotations::{is_layer_name, DATA_MAX_BYTES, LAYERS_MAX};
use crate::domain::bookmark::{BookmarkFields, BOOKMARK_FIELDS, PER_SCORE_MAX};
use crate::domain::fields::Fields;
use crate::domain::ids::{new_id, ID_RANDOM_BYTES};
use crate::domain::manifest::{self, Manifest, PartSource};
use crate::domain::part::{self, PARTS_MAX};
use crate::domain::score::{opt_text, ScoreFields, SCORE_FIELDS};
use crate::domain::setlist::{SetlistFields, ITEMS_MAX, ITEM_NOTES_MAX_CHARS};
use crate::domain::settings::{self, SETTINGS_MAX_BYTES};
use crate::error::ApiError;

/// What an import did (or, for a dry run, would do): SPEC §11's names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub scores_created: u64,
    pub scores_skipped_duplicate: u64,
    pub setlists_created: u64,
    pub bookmarks_created: u64,
    /// What was left out, one line each (the rest was imported).
    pub errors: Vec<String>,
}

/// Most lines a report keeps (an archive of 10 000 unknown entries would make a megabyte).
pub const ERRORS_MAX: usize = 100;

impl Report {
    /// Keeps the first [`ERRORS_MAX`] lines and says how many more there were.
    pub fn cap(&mut self) {
        if self.errors.len() > ERRORS_MAX {
            let more = self.errors.len() - (ERRORS_MAX - 1);
            self.errors.truncate(ERRORS_MAX - 1);
            self.errors.push(format!("… and {more} more"));
        }
    }
}

/// A live score of the account whose file an archive may hold again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    /// Its page count, once processing told it.
    pub pages: Option<i64>,
    /// Its bookmarks: `(title, first_page, last_page)` → id.
    pub bookmarks: HashMap<(String, i64, i64), String>,
    /// How many bookmarks it has.
    pub bookmark_count: usize,
}

/// What the account holds that the plan must not make again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// Live scores by file (sha256).
    pub scores: HashMap<String, Existing>,
    /// Files (sha256) of the account's parts: a part's file is one part's only.
    pub part_files: HashSet<String>,
    /// Setlists already there, by source id: an earlier import's, or the account's own of that
    /// id (an export of this very account imported back).
    pub setlists: HashMap<String, String>,
    /// The account's virtual shard, which every id the plan makes carries (`domain::shard`).
    pub vshard: Option<u8>,
}

/// A file to copy from the archive to its new object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copy {
    /// The entry name.
    pub entry: String,
    pub object_key: String,
    pub sha256: String,
    pub size: u64,
}

/// The upload a copied file is recorded as (consumed at once by its score or part), so every
/// file of the library has the upload row it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRow {
    pub id: String,
    pub object_key: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    /// The score or part it became.
    pub became: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub id: String,
    pub upload_id: String,
    pub object_key: String,
    pub filename: String,
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
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRow {
    pub id: String,
    pub score_id: String,
    pub name: String,
    /// `upload` or `pages`.
    pub source: String,
    pub first_page: Option<i64>,
    pub last_page: Option<i64>,
    pub upload_id: Option<String>,
    pub object_key: Option<String>,
    pub size: u64,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookmarkRow {
    pub id: String,
    pub score_id: String,
    pub title: String,
    pub composer: Option<String>,
    pub key: Option<String>,
    pub tags: Vec<String>,
    pub first_page: i64,
    pub last_page: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetlistRow {
    pub id: String,
    /// The manifest's id: recorded as the setlist's origin.
    pub source_id: String,
    pub name: String,
    pub description: Option<String>,
    pub event_date: Option<String>,
    pub venue: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRow {
    pub id: String,
    pub setlist_id: String,
    pub score_id: String,
    pub bookmark_id: Option<String>,
    pub position: i64,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotationRow {
    pub score_id: String,
    /// `""` for the score's own layer.
    pub item_id: String,
    pub layer: String,
    /// The document as JSON text (what is stored and counted).
    pub data: String,
    pub shared: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingRow {
    pub score_id: String,
    pub item_id: String,
    /// The checked settings as JSON text (`null`s clear, as a PUT's).
    pub data: String,
}

/// Everything an import will write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub copies: Vec<Copy>,
    pub uploads: Vec<UploadRow>,
    pub scores: Vec<ScoreRow>,
    pub parts: Vec<PartRow>,
    pub bookmarks: Vec<BookmarkRow>,
    pub setlists: Vec<SetlistRow>,
    pub items: Vec<ItemRow>,
    pub annotations: Vec<AnnotationRow>,
    pub settings: Vec<SettingRow>,
    pub report: Report,
    /// Bytes of the files to copy (they count in the quota as the files of uploads do).
    pub file_bytes: u64,
    /// Bytes of the annotation layers to create (they count as a PUT's do).
    pub annotation_bytes: u64,
}

impl Plan {
    /// Everything the import needs room for in the quota.
    pub fn bytes_needed(&self) -> u64 {
        self.file_bytes + self.annotation_bytes
    }
}

/// The per-import randomness ids derive from: `id(kind, source)` is as random as the seed and
/// the same every time it is asked.
pub struct Ids<'a> {
    pub seed: &'a [u8],
    pub vshard: Option<u8>,
}

impl Ids<'_> {
    pub fn id(&self, prefix: &str, kind: &str, source: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(kind.as_bytes());
        h.update([0]);
        h.update(source.as_bytes());
        let digest = h.finalize();
        let mut bytes = [0u8; ID_RANDOM_BYTES];
        bytes.copy_from_slice(&digest[..ID_RANDOM_BYTES]);
        if let Some(v) = self.vshard {
            crate::domain::shard::stamp(v, &mut bytes);
        }
        new_id(prefix, &bytes)
    }
}

/// `what: field: message; field: message` from a 422's fields.
fn reason(what: &str, e: ApiError) -> String {
    match e {
        ApiError::Validation(fields) => {
            let lines: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!("{what}: {}", lines.join("; "))
        }
        other => format!("{what}: {other}"),
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The manifest's score metadata through the API's own parser.
fn score_fields(s: &manifest::Score) -> Result<ScoreFields, String> {
    let mut f = Fields::new(
        object(json!({
            "title": s.title, "composer": s.composer, "arranger": s.arranger,
            "instrumentation": s.instrumentation, "key": s.key, "notes": s.notes,
            "tags": s.tags, "rating": s.rating, "difficulty": s.difficulty, "duration": s.duration,
        })),
        SCORE_FIELDS,
    );
    let fields = ScoreFields::parse(&mut f, true);
    f.finish()
        .map_err(|e| reason(&format!("score {:?}", s.id), e))?;
    Ok(fields)
}

fn bookmark_fields(score: &str, b: &manifest::Bookmark) -> Result<BookmarkFields, String> {
    let mut f = Fields::new(
        object(json!({
            "title": b.title, "first_page": b.first_page, "last_page": b.last_page,
            "composer": b.composer, "key": b.key, "tags": b.tags,
        })),
        BOOKMARK_FIELDS,
    );
    let fields = BookmarkFields::parse(&mut f, true);
    f.finish()
        .map_err(|e| reason(&format!("bookmark {:?} of score {score:?}", b.id), e))?;
    Ok(fields)
}

fn setlist_fields(l: &manifest::Setlist) -> Result<SetlistFields, String> {
    let mut f = Fields::new(
        object(json!({
            "name": l.name, "description": l.description, "event_date": l.event_date,
            "venue": l.venue, "notes": l.notes,
        })),
        &["name", "description", "event_date", "venue", "notes"],
    );
    let fields = SetlistFields::parse(&mut f, true);
    f.finish()
        .map_err(|e| reason(&format!("setlist {:?}", l.id), e))?;
    Ok(fields)
}

fn item_notes(l: &manifest::Setlist, i: &manifest::Item) -> Result<Option<String>, String> {
    let mut f = Fields::new(object(json!({ "notes": i.notes })), &["notes"]);
    let notes = opt_text(&mut f, "notes", ITEM_NOTES_MAX_CHARS);
    f.finish()
        .map_err(|e| reason(&format!("item {:?} of setlist {:?}", i.id, l.id), e))?;
    Ok(notes.flatten())
}

fn text(v: Option<Option<String>>) -> Option<String> {
    v.flatten()
}

/// The last segment of an entry name (`files/a.pdf` → `a.pdf`): the upload's file name.
fn filename(entry: &str) -> String {
    entry.rsplit('/').next().unwrap_or(entry).to_owned()
}

/// Where a manifest score's things go.
enum Target {
    /// A score this import creates (index into `plan.scores`).
    New(usize),
    /// A score of the archive whose file an earlier one of the archive has: that score's.
    Twin(usize),
    /// One of the account's live scores.
    Existing(String),
}

struct Planner<'a> {
    account: &'a Account,
    ids: Ids<'a>,
    key: &'a dyn Fn(&str) -> String,
    plan: Plan,
    /// sha256 → index of the new score holding it.
    new_files: HashMap<String, usize>,
    /// Every file (sha256) a part of this import takes.
    part_files: HashSet<String>,
    /// Every file (sha256) of a score, the account's or this import's.
    score_files: HashSet<String>,
    /// Bookmarks planned on each new score: `(title, first, last)` → id.
    new_bookmarks: HashMap<usize, HashMap<(String, i64, i64), String>>,
    /// Manifest score id → the score it maps to.
    score_map: HashMap<String, String>,
    /// Manifest bookmark id → the bookmark it maps to (`None`: left out).
    bookmark_map: HashMap<String, Option<String>>,
    /// Manifest item id → the item this import creates.
    item_map: HashMap<String, String>,
}

/// Plans the import of `manifest` into `account` (see the module's documentation); `key` builds
/// an object key from an upload id.
///
/// # Errors
/// The reason the manifest is refused (metadata the API would refuse, a duplicate part name,
/// too many parts, bookmarks, items or layers, a layer or settings of the wrong shape).
pub fn plan(
    manifest: &Manifest,
    account: &Account,
    seed: &[u8],
    key: &dyn Fn(&str) -> String,
) -> Result<Plan, String> {
    let mut p = Planner {
        account,
        ids: Ids {
            seed,
            vshard: account.vshard,
        },
        key,
        plan: Plan::default(),
        new_files: HashMap::new(),
        part_files: HashSet::new(),
        score_files: account.scores.keys().cloned().collect(),
        new_bookmarks: HashMap::new(),
        score_map: HashMap::new(),
        bookmark_map: HashMap::new(),
        item_map: HashMap::new(),
    };
    p.score_files
        .extend(manifest.scores.iter().map(|s| s.sha256.clone()));
    let mut targets = Vec::with_capacity(manifest.scores.len());
    for s in &manifest.scores {
        let target = p.score(s)?;
        targets.push(target);
    }
    for (s, target) in manifest.scores.iter().zip(&targets) {
        p.bookmarks(s, target)?;
        if let Target::New(index) = target {
            p.parts(s, *index)?;
        }
    }
    for l in &manifest.setlists {
        p.setlist(l)?;
    }
    for (s, target) in manifest.scores.iter().zip(&targets) {
        if let Target::New(index) = target {
            p.layers(s, *index)?;
        }
    }
    Ok(p.plan)
}

impl Planner<'_> {
    fn file(
        &mut self,
        kind: &str,
        source: &str,
        entry: &str,
        sha256: &str,
        size: u64,
    ) -> (String, String) {
        let upload = self.ids.id("upl", kind, source);
        let object_key = (self.key)(&upload);
        self.plan.copies.push(Copy {
            entry: entry.to_owned(),
            object_key: object_key.clone(),
            sha256: sha256.to_owned(),
            size,
        });
        self.plan.file_bytes += size;
        (upload, object_key)
    }

    fn score(&mut self, s: &manifest::Score) -> Result<Target, String> {
        let fields = score_fields(s)?;
        if let Some(existing) = self.account.scores.get(&s.sha256) {
            self.plan.report.scores_skipped_duplicate += 1;
            self.score_map.insert(s.id.clone(), existing.id.clone());
            return Ok(Target::Existing(existing.id.clone()));
        }
        if let Some(&index) = self.new_files.get(&s.sha256) {
            // The same file twice in one archive: one score.
            self.plan.report.scores_skipped_duplicate += 1;
            let id = self.plan.scores[index].id.clone();
            self.score_map.insert(s.id.clone(), id);
            return Ok(Target::Twin(index));
        }
        let id = self.ids.id("sco", "score", &s.id);
        let (upload, object_key) = self.file("score", &s.id, &s.file, &s.sha256, s.size_bytes);
        self.plan.uploads.push(UploadRow {
            id: upload.clone(),
            object_key: object_key.clone(),
            filename: filename(&s.file),
            size: s.size_bytes,
            sha256: s.sha256.clone(),
            became: id.clone(),
        });
        let index = self.plan.scores.len();
        self.plan.scores.push(ScoreRow {
            id: id.clone(),
            upload_id: upload,
            object_key,
            filename: filename(&s.file),
            title: fields.title.unwrap_or_default(),
            composer: text(fields.composer),
            arranger: text(fields.arranger),
            instrumentation: text(fields.instrumentation),
            key: text(fields.key),
            notes: text(fields.notes),
            tags: fields.tags.unwrap_or_default(),
            rating: fields.rating.flatten(),
            difficulty: fields.difficulty.flatten(),
            duration: fields.duration.flatten(),
            sha256: s.sha256.clone(),
            size: s.size_bytes,
        });
        self.plan.report.scores_created += 1;
        self.new_files.insert(s.sha256.clone(), index);
        self.score_map.insert(s.id.clone(), id);
        Ok(Target::New(index))
    }

    fn bookmarks(&mut self, s: &manifest::Score, target: &Target) -> Result<(), String> {
        if matches!(target, Target::New(_)) && s.bookmarks.len() > PER_SCORE_MAX {
            return Err(format!(
                "score {:?} has {} bookmarks; at most {PER_SCORE_MAX}",
                s.id,
                s.bookmarks.len()
            ));
        }
        for b in &s.bookmarks {
            let fields = bookmark_fields(&s.id, b)?;
            let (first, last) = (b.first_page, b.last_page);
            let title = fields.title.clone().unwrap_or_default();
            let key = (title.clone(), first, last);
            let (score_id, found, room) = match target {
                Target::Existing(id) => {
                    let existing = self
                        .account
                        .scores
                        .get(&s.sha256)
                        .ok_or_else(|| "planner: existing score lost".to_owned())?;
                    if let Some(pages) = existing.pages.filter(|p| last > *p) {
                        self.plan.report.errors.push(format!(
                            "bookmark {:?} ({:?}, pages {first}–{last}) of score {:?}: your copy of this file has {pages} pages; left out",
                            b.id, title, s.id
                        ));
                        self.bookmark_map.insert(b.id.clone(), None);
                        continue;
                    }
                    let planned = self.planned_on(id);
                    let found = existing.bookmarks.get(&key).cloned();
                    (
                        id.clone(),
                        found,
                        existing.bookmark_count + planned < PER_SCORE_MAX,
                    )
                }
                Target::New(index) | Target::Twin(index) => {
                    let id = self.plan.scores[*index].id.clone();
                    let found = self
                        .new_bookmarks
                        .get(index)
                        .and_then(|m| m.get(&key))
                        .cloned();
                    let planned = self.new_bookmarks.get(index).map_or(0, HashMap::len);
                    (id, found, planned < PER_SCORE_MAX)
                }
            };
            let found = found.or_else(|| {
                // A bookmark already planned on an existing score (two archive scores, one file).
                self.plan
                    .bookmarks
                    .iter()
                    .find(|r| {
                        r.score_id == score_id
                            && (r.title.clone(), r.first_page, r.last_page) == key
                    })
                    .map(|r| r.id.clone())
            });
            if let Some(id) = found {
                self.bookmark_map.insert(b.id.clone(), Some(id));
                continue;
            }
            if !room {
                self.plan.report.errors.push(format!(
                    "bookmark {:?} of score {:?}: the score has {PER_SCORE_MAX} bookmarks already; left out",
                    b.id, s.id
                ));
                self.bookmark_map.insert(b.id.clone(), None);
                continue;
            }
            let id = self.ids.id("bmk", "bookmark", &b.id);
            if let Target::New(index) | Target::Twin(index) = target {
                self.new_bookmarks
                    .entry(*index)
                    .or_default()
                    .insert(key, id.clone());
            }
            self.plan.bookmarks.push(BookmarkRow {
                id: id.clone(),
                score_id,
                title,
                composer: text(fields.composer),
                key: text(fields.key),
                tags: fields.tags.unwrap_or_default(),
                first_page: first,
                last_page: last,
            });
            self.plan.report.bookmarks_created += 1;
            self.bookmark_map.insert(b.id.clone(), Some(id));
        }
        Ok(())
    }

    fn planned_on(&self, score: &str) -> usize {
        self.plan
            .bookmarks
            .iter()
            .filter(|b| b.score_id == score)
            .count()
    }

    fn parts(&mut self, s: &manifest::Score, index: usize) -> Result<(), String> {
        if s.parts.len() > PARTS_MAX {
            return Err(format!(
                "score {:?} has {} parts; at most {PARTS_MAX}",
                s.id,
                s.parts.len()
            ));
        }
        let score_id = self.plan.scores[index].id.clone();
        let mut names = HashSet::new();
        for p in &s.parts {
            let name = part::name(&p.name)
                .map_err(|m| format!("part {:?} of score {:?}: name: {m}", p.id, s.id))?;
            if !names.insert(name.to_lowercase()) {
                return Err(format!(
                    "score {:?} has two parts named {name:?} (names compare in any case)",
                    s.id
                ));
            }
            let id = self.ids.id("prt", "part", &p.id);
            match p.source {
                PartSource::Pages => {
                    let (first, last) = (p.first_page.unwrap_or(1), p.last_page.unwrap_or(1));
                    if last > crate::domain::bookmark::PAGE_MAX {
                        return Err(format!(
                            "part {:?} of score {:?}: pages past {}",
                            p.id,
                            s.id,
                            crate::domain::bookmark::PAGE_MAX
                        ));
                    }
                    self.plan.parts.push(PartRow {
                        id,
                        score_id: score_id.clone(),
                        name,
                        source: "pages".into(),
                        first_page: Some(first),
                        last_page: Some(last),
                        upload_id: None,
                        object_key: None,
                        size: 0,
                        sha256: None,
                    });
                }
                PartSource::Upload => {
                    let (Some(file), Some(sha256), Some(size)) =
                        (p.file.as_deref(), p.sha256.as_deref(), p.size_bytes)
                    else {
                        return Err(format!("part {:?} needs file, sha256 and size_bytes", p.id));
                    };
                    let taken = if self.account.part_files.contains(sha256)
                        || self.part_files.contains(sha256)
                    {
                        Some("you already have a part with this file")
                    } else if self.score_files.contains(sha256) {
                        Some("its file is a score's")
                    } else {
                        None
                    };
                    if let Some(why) = taken {
                        self.plan.report.errors.push(format!(
                            "part {:?} ({name:?}) of score {:?}: {why}; left out",
                            p.id, s.id
                        ));
                        continue;
                    }
                    self.part_files.insert(sha256.to_owned());
                    let (upload, object_key) = self.file("part", &p.id, file, sha256, size);
                    self.plan.uploads.push(UploadRow {
                        id: upload.clone(),
                        object_key: object_key.clone(),
                        filename: filename(file),
                        size,
                        sha256: sha256.to_owned(),
                        became: id.clone(),
                    });
                    self.plan.parts.push(PartRow {
                        id,
                        score_id: score_id.clone(),
                        name,
                        source: "upload".into(),
                        first_page: None,
                        last_page: None,
                        upload_id: Some(upload),
                        object_key: Some(object_key),
                        size,
                        sha256: Some(sha256.to_owned()),
                    });
                }
            }
        }
        Ok(())
    }

    fn setlist(&mut self, l: &manifest::Setlist) -> Result<(), String> {
        let fields = setlist_fields(l)?;
        if l.items.len() > ITEMS_MAX {
            return Err(format!(
                "setlist {:?} has {} items; at most {ITEMS_MAX}",
                l.id,
                l.items.len()
            ));
        }
        if self.account.setlists.contains_key(&l.id) {
            return Ok(());
        }
        let id = self.ids.id("set", "setlist", &l.id);
        let mut items: Vec<&manifest::Item> = l.items.iter().collect();
        items.sort_by_key(|i| i.position);
        let mut position = 0;
        for i in items {
            let notes = item_notes(l, i)?;
            let score_id = self
                .score_map
                .get(&i.score_id)
                .cloned()
                .ok_or_else(|| format!("item {:?}: its score is not in the manifest", i.id))?;
            let bookmark_id = match &i.bookmark_id {
                None => None,
                Some(b) => match self.bookmark_map.get(b) {
                    Some(Some(target)) => Some(target.clone()),
                    _ => {
                        self.plan.report.errors.push(format!(
                            "item {:?} of setlist {:?}: its bookmark was left out, so is it",
                            i.id, l.id
                        ));
                        continue;
                    }
                },
            };
            position += 1;
            let item = self.ids.id("itm", "item", &i.id);
            self.item_map.insert(i.id.clone(), item.clone());
            self.plan.items.push(ItemRow {
                id: item,
                setlist_id: id.clone(),
                score_id,
                bookmark_id,
                position,
                notes,
            });
        }
        self.plan.setlists.push(SetlistRow {
            id,
            source_id: l.id.clone(),
            name: fields.name.unwrap_or_default(),
            description: text(fields.description),
            event_date: text(fields.event_date),
            venue: text(fields.venue),
            notes: text(fields.notes),
        });
        self.plan.report.setlists_created += 1;
        Ok(())
    }

    /// The annotation layers and settings of a new score: its own, and those of items this
    /// import creates (an item that already existed keeps what it has).
    fn layers(&mut self, s: &manifest::Score, index: usize) -> Result<(), String> {
        let score_id = self.plan.scores[index].id.clone();
        let mut seen = HashSet::new();
        let mut per_place: HashMap<String, usize> = HashMap::new();
        for a in &s.annotations {
            let what = || format!("annotation layer {:?} of score {:?}", a.layer, s.id);
            if !is_layer_name(&a.layer) {
                return Err(format!("{}: the name must be [a-z0-9-]{{1,40}}", what()));
            }
            let Value::Object(_) = &a.data else {
                return Err(format!("{}: data must be a JSON object", what()));
            };
            let data = a.data.to_string();
            if data.len() > DATA_MAX_BYTES {
                return Err(format!("{}: over {DATA_MAX_BYTES} bytes", what()));
            }
            let item_id = match &a.item_id {
                None => String::new(),
                Some(item) => match self.item_map.get(item) {
                    Some(target) => target.clone(),
                    None => continue,
                },
            };
            if !seen.insert((item_id.clone(), a.layer.clone())) {
                return Err(format!("{} appears twice", what()));
            }
            let count = per_place.entry(item_id.clone()).or_default();
            *count += 1;
            if *count > LAYERS_MAX {
                return Err(format!(
                    "score {:?} has over {LAYERS_MAX} layers in one place",
                    s.id
                ));
            }
            self.plan.annotation_bytes += data.len() as u64;
            self.plan.annotations.push(AnnotationRow {
                score_id: score_id.clone(),
                shared: a.shared && item_id.is_empty(),
                item_id,
                layer: a.layer.clone(),
                data,
            });
        }
        let mut places = HashSet::new();
        for x in &s.settings {
            let what = || format!("settings of score {:?}", s.id);
            let Value::Object(map) = &x.data else {
                return Err(format!("{}: must be a JSON object", what()));
            };
            let checked = settings::patch(map.clone(), None).map_err(|e| reason(&what(), e))?;
            let data = Value::Object(checked).to_string();
            if data.len() > SETTINGS_MAX_BYTES {
                return Err(format!("{}: over {SETTINGS_MAX_BYTES} bytes", what()));
            }
            let item_id = match &x.item_id {
                None => String::new(),
                Some(item) => match self.item_map.get(item) {
                    Some(target) => target.clone(),
                    None => continue,
                },
            };
            if !places.insert(item_id.clone()) {
                return Err(format!("{} appear twice for one place", what()));
            }
            self.plan.settings.push(SettingRow {
                score_id: score_id.clone(),
                item_id,
                data,
            });
        }
        Ok(())
    }
}
