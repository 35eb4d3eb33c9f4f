//! Library exports (SPEC §11): `POST /v1/exports` asks the queue for one ZIP of the caller's
//! library — `manifest.json` first, then `index.csv`, then every PDF under `files/` — and `GET`
//! tells how it stands, with a short-lived download URL once done. At most one export per user is
//! pending or running; a second request is answered with that one (decision 95).
//!
//! The queue's task ([`run`]) writes the archive through an R2 multipart upload, streaming each
//! PDF in ranges of [`CHUNK_BYTES`] into `archive::ArchiveWriter` and uploading each full part as
//! it comes, so memory holds about one part and one chunk whatever the size of a file or the
//! library. Each chunk is hashed on the way; a PDF whose bytes do not match its recorded sha256,
//! or that is missing, fails the export with a reason naming the file (never a corrupt archive).
//! A delivery takes the export over (`attempt`), aborts the upload of any delivery before it and
//! starts the archive again (decision 96); every failure path aborts its upload or leaves it in
//! the abort outbox the sweep empties, so no multipart upload stays open.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::archive::{ArchiveError, ArchiveWriter, PART_BYTES};
use crate::domain::manifest::{
    self, Manifest, FORMAT, INDEX_NAME, MANIFEST_MAX_BYTES, MANIFEST_NAME,
};
use crate::domain::score::ZIP_MIME;
use crate::domain::task::{self as jobs, Task};
use crate::domain::{hex, human_bytes, ids};
use crate::error::{ApiError, ApiResult};
use crate::ports::{changed, Blobs, Db, Ports, Tasks};
use crate::storage::{keys, presign};
use crate::store::exports::{self as q, AbortRow, ExportRow, JobRow};

use super::{limits, Cx};

/// An export is deleted this long after it ends (done or failed).
pub const EXPORT_TTL_SECONDS: i64 = 7 * 24 * 3600;
/// `GET /v1/exports` lists at most this many, newest first.
pub const LIST_LIMIT: i64 = 20;
/// A PDF is read from storage in ranges of this many bytes (under a part, so memory holds at
/// most a part and a chunk).
pub const CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// R2 assembles at most this many parts (so an archive of at most about 48 GiB).
pub const MAX_PARTS: u64 = 10_000;
/// Most rows the sweep handles per kind.
const SWEEP_BATCH: i64 = 100;

/// An export as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportView {
    pub id: String,
    /// `pending`, `running`, `done` or `failed`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// A short-lived download URL of the archive, once done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When the export itself is deleted (once it ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: String,
}

fn view<P: Ports>(cx: &Cx<'_, P>, row: ExportRow) -> ApiResult<ExportView> {
    let url = if row.state == "done" {
        let p = presign::download(
            &cx.config.presign,
            cx.config.blob_key()?,
            cx.base_url,
            &row.object_key,
            ZIP_MIME,
            cx.now,
            cx.config.download_url_ttl_seconds,
        );
        Some(p.url)
    } else {
        None
    };
    Ok(ExportView {
        id: row.id,
        state: row.state,
        size_bytes: row.size_bytes,
        url,
        expires_at: row.expires_at,
        reason: row.reason,
        created_at: row.created_at,
    })
}

/// `POST /v1/exports`: a new export of the caller's library asked of the queue, or the one
/// already pending or running (decision 95).
///
/// # Errors
/// 429 past the caller's export limit (a new export only).
pub async fn request<P: Ports>(cx: &Cx<'_, P>, user: &str) -> ApiResult<ExportView> {
    if let Some(open) = cx.db().first::<ExportRow>(q::open(user)).await? {
        return view(cx, open);
    }
    let window = limits::window(cx, "exports", user, cx.config.rate_exports);
    limits::hit(cx, &[window]).await?;
    let id = cx.id("exp")?;
    let key = keys::export_zip(user, &id);
    if cx
        .db()
        .run(q::create(&id, user, &key, &cx.now_text()))
        .await?
        > 0
    {
        // The row stays pending; the sweep sends the message again if this one is lost.
        let _ = cx.tasks().send(vec![Task::Export { export_id: id }]).await;
    }
    // Ours, or the one a racing request made first.
    let row = cx
        .db()
        .first::<ExportRow>(q::open(user))
        .await?
        .ok_or_else(|| ApiError::internal("an export asked for is not there"))?;
    view(cx, row)
}

/// `GET /v1/exports/{id}`.
///
/// # Errors
/// 404 for an id that is not one of the caller's exports.
pub async fn get<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<ExportView> {
    if !ids::is_well_formed("exp", id) {
        return Err(ApiError::NotFound);
    }
    let row = cx
        .db()
        .first::<ExportRow>(q::get(id, user))
        .await?
        .ok_or(ApiError::NotFound)?;
    view(cx, row)
}

/// `GET /v1/exports`: the caller's newest exports (at most [`LIST_LIMIT`]).
///
/// # Errors
/// Database errors.
pub async fn list<P: Ports>(cx: &Cx<'_, P>, user: &str) -> ApiResult<Vec<ExportView>> {
    let rows = cx.db().all::<ExportRow>(q::list(user, LIST_LIMIT)).await?;
    rows.into_iter().map(|r| view(cx, r)).collect()
}

// ---- the manifest ----

/// A PDF the archive holds: its entry, where it is stored, its hash and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSource {
    pub name: String,
    pub object_key: String,
    pub sha256: String,
    pub size_bytes: u64,
}

/// What an export writes: the manifest and, in its order, the PDFs it names.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    pub manifest: Manifest,
    pub files: Vec<FileSource>,
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn json_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn size(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `user`'s library as a manifest (format 1) and the PDFs it names: the live scores with their
/// tags, parts, bookmarks and the user's own annotations and settings; the user's setlists with
/// their items of live scores (renumbered 1, 2, 3, … where a trashed score's item is left out),
/// and only the annotations and settings of items the manifest holds. Read in one batch, so the
/// manifest is one consistent picture. `Err` is why it cannot be exported (permanent).
///
/// # Errors
/// Database errors.
pub async fn library<P: Ports>(cx: &Cx<'_, P>, user: &str) -> ApiResult<Result<Library, String>> {
    #[derive(serde::Deserialize)]
    struct Bytes {
        bytes: i64,
    }
    let personal = cx
        .db()
        .first::<Bytes>(q::personal_bytes(user))
        .await?
        .map_or(0, |b| b.bytes);
    if size(personal) > MANIFEST_MAX_BYTES as u64 {
        return Ok(Err(too_large()));
    }
    let read = cx
        .db()
        .batch(vec![
            q::scores(user),
            q::parts(user),
            q::bookmarks(user),
            q::annotations(user),
            q::settings(user),
            q::setlists(user),
            q::items(user),
        ])
        .await?;
    let mut read = read.into_iter();
    let mut next = || read.next().unwrap_or_default();
    let scores = next().rows::<q::ScoreRow>()?;
    let mut parts = group(next().rows::<q::PartRow>()?, |p| p.score_id.clone());
    let mut bookmarks = group(next().rows::<q::BookmarkRow>()?, |b| b.score_id.clone());
    let mut annotations = group(next().rows::<q::AnnotationRow>()?, |a| a.score_id.clone());
    let mut settings = group(next().rows::<q::SettingRow>()?, |s| s.score_id.clone());
    let setlists = next().rows::<q::SetlistRow>()?;
    let mut items = group(next().rows::<q::ItemRow>()?, |i| i.setlist_id.clone());

    let setlists: Vec<manifest::Setlist> = setlists
        .into_iter()
        .map(|l| manifest::Setlist {
            items: items
                .remove(&l.id)
                .unwrap_or_default()
                .into_iter()
                .zip(1..)
                .map(|(i, position)| manifest::Item {
                    id: i.id,
                    position,
                    score_id: i.score_id,
                    bookmark_id: i.bookmark_id,
                    notes: i.notes,
                })
                .collect(),
            id: l.id,
            name: l.name,
            description: l.description,
            event_date: l.event_date,
            venue: l.venue,
            notes: l.notes,
            created_at: l.created_at,
            updated_at: l.updated_at,
        })
        .collect();
    let held: HashSet<&str> = setlists
        .iter()
        .flat_map(|l| l.items.iter().map(|i| i.id.as_str()))
        .collect();
    // A layer or setting on an item the manifest does not hold (another owner's setlist, a
    // trashed score's item) stays behind: the manifest names only what it holds.
    let item_ref = |item_id: String| -> Option<Option<String>> {
        if item_id.is_empty() {
            Some(None)
        } else {
            held.contains(item_id.as_str()).then_some(Some(item_id))
        }
    };

    let mut files = Vec::new();
    let mut out = Vec::with_capacity(scores.len());
    for s in scores {
        let file = manifest::score_file(&s.id, &s.title);
        files.push(FileSource {
            name: file.clone(),
            object_key: s.object_key,
            sha256: s.content_hash.clone(),
            size_bytes: size(s.size_bytes),
        });
        let mut score_parts = Vec::new();
        for p in parts.remove(&s.id).unwrap_or_default() {
            let upload = match (p.source.as_str(), p.object_key, p.content_hash) {
                ("upload", Some(key), Some(hash)) => {
                    let name = manifest::part_file(&s.id, &p.id, &p.name);
                    files.push(FileSource {
                        name: name.clone(),
                        object_key: key,
                        sha256: hash.clone(),
                        size_bytes: size(p.size_bytes),
                    });
                    Some((name, hash, size(p.size_bytes)))
                }
                _ => None,
            };
            score_parts.push(manifest::Part {
                id: p.id,
                name: p.name,
                source: if upload.is_some() {
                    manifest::PartSource::Upload
                } else {
                    manifest::PartSource::Pages
                },
                first_page: p.first_page,
                last_page: p.last_page,
                file: upload.as_ref().map(|u| u.0.clone()),
                sha256: upload.as_ref().map(|u| u.1.clone()),
                size_bytes: upload.map(|u| u.2),
            });
        }
        out.push(manifest::Score {
            file,
            sha256: s.content_hash,
            size_bytes: size(s.size_bytes),
            title: s.title,
            composer: s.composer,
            arranger: s.arranger,
            instrumentation: s.instrumentation,
            key: s.key,
            notes: s.notes,
            tags: json_list(&s.tags),
            rating: s.rating,
            difficulty: s.difficulty,
            duration: s.duration,
            pages: s.pages,
            created_at: s.created_at,
            updated_at: s.updated_at,
            parts: score_parts,
            bookmarks: bookmarks
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .map(|b| manifest::Bookmark {
                    tags: json_list(&b.tags),
                    id: b.id,
                    title: b.title,
                    composer: b.composer,
                    key: b.key,
                    first_page: b.first_page,
                    last_page: b.last_page,
                })
                .collect(),
            annotations: annotations
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|a| {
                    Some(manifest::Annotation {
                        item_id: item_ref(a.item_id)?,
                        data: json_value(&a.data),
                        layer: a.layer,
                        shared: a.shared != 0,
                    })
                })
                .collect(),
            settings: settings
                .remove(&s.id)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|x| {
                    Some(manifest::Setting {
                        item_id: item_ref(x.item_id)?,
                        data: json_value(&x.data),
                    })
                })
                .collect(),
            id: s.id,
        });
    }
    Ok(Ok(Library {
        manifest: Manifest {
            format: FORMAT,
            generator: "scoremate".to_owned(),
            exported_at: cx.now_text(),
            scores: out,
            setlists,
        },
        files,
    }))
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> HashMap<String, Vec<T>> {
    let mut map: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(key(&row)).or_default().push(row);
    }
    map
}

fn too_large() -> String {
    format!(
        "the library's metadata is over {}, more than manifest.json may hold",
        human_bytes(MANIFEST_MAX_BYTES as i64)
    )
}

/// The manifest as written, checked as an import will read it (so what an import would refuse
/// is never written), or why it cannot be.
fn manifest_bytes(m: &Manifest) -> Result<Vec<u8>, String> {
    let bytes = serde_json::to_vec_pretty(m).map_err(|e| format!("manifest: {e}"))?;
    if bytes.len() > MANIFEST_MAX_BYTES {
        return Err(too_large());
    }
    Manifest::parse(&bytes).map_err(|e| format!("the manifest would not read back: {e}"))?;
    Ok(bytes)
}

// ---- the queue's task ----

/// Why a delivery stopped writing.
enum Stop {
    /// The export cannot be made (permanent): its reason.
    Failed(String),
    /// Another delivery took the export over, or it was deleted: this one has nothing to do.
    Superseded,
}

impl From<ArchiveError> for Stop {
    fn from(e: ArchiveError) -> Self {
        Self::Failed(format!("the archive could not be written: {e}"))
    }
}

/// What a run of the task came to: done (with a note for the task record), or failed for good
/// with a reason.
pub type Outcome = Result<&'static str, String>;

fn expiry<P>(cx: &Cx<'_, P>) -> String {
    cx.now.plus_seconds(EXPORT_TTL_SECONDS).rfc3339()
}

/// `export`: takes export `id` over, aborts the upload of any delivery before this one, builds
/// the manifest and writes the archive (see the module's documentation). A permanent failure is
/// recorded on the export and returned as `Ok(Err(reason))`; a transient one aborts this
/// delivery's upload and is `Err` (retried, the next delivery starting again).
///
/// # Errors
/// Transient failures (storage or database).
pub async fn run<P: Ports>(cx: &Cx<'_, P>, id: &str) -> ApiResult<Outcome> {
    let Some(job) = cx.db().first::<JobRow>(q::job(id)).await? else {
        return Ok(Ok("export no longer exists"));
    };
    if !matches!(job.state.as_str(), "pending" | "running") {
        return Ok(Ok("no longer asked for"));
    }
    let now = cx.now_text();
    let took = cx
        .db()
        .batch(q::take_over(id, job.attempt, &now).into())
        .await?;
    if !changed(&took, 1) {
        return Ok(Ok("taken over by another delivery"));
    }
    let attempt = job.attempt + 1;
    if let Some(old) = &job.upload_id {
        // The delivery before this one died or failed mid-archive: its upload is in the outbox.
        abort_upload(cx, &job.object_key, old).await;
    }
    let library = match library(cx, &job.user_id).await? {
        Ok(library) => library,
        Err(reason) => return fail(cx, (id, attempt), (&job.object_key, None), reason).await,
    };
    let upload_id = cx
        .blobs()
        .multipart_start(&job.object_key, ZIP_MIME)
        .await?;
    match cx
        .db()
        .run(q::upload_started(id, attempt, &upload_id, &now))
        .await
    {
        Ok(0) => {
            orphan(cx, &job.object_key, &upload_id).await;
            return Ok(Ok("taken over by another delivery"));
        }
        Ok(_) => {}
        Err(e) => {
            orphan(cx, &job.object_key, &upload_id).await;
            return Err(e);
        }
    }
    let mut upload = Upload {
        cx,
        job: &job,
        attempt,
        upload_id: &upload_id,
        etags: Vec::new(),
        bytes: 0,
    };
    match write(&mut upload, &library).await {
        Ok(Ok(())) => {}
        Ok(Err(Stop::Superseded)) => return Ok(Ok("taken over by another delivery")),
        Ok(Err(Stop::Failed(reason))) => {
            let ours = (job.object_key.as_str(), Some(upload_id.as_str()));
            return fail(cx, (id, attempt), ours, reason).await;
        }
        Err(e) => {
            if !still_ours(cx, id, attempt).await {
                return Ok(Ok("taken over by another delivery"));
            }
            release(cx, (id, attempt), &job.object_key, &upload_id).await;
            return Err(e);
        }
    }
    let parts = i64::try_from(upload.etags.len()).unwrap_or(i64::MAX);
    let size = i64::try_from(upload.bytes).unwrap_or(i64::MAX);
    let etags = std::mem::take(&mut upload.etags);
    if let Err(e) = cx
        .blobs()
        .multipart_complete(&job.object_key, &upload_id, etags)
        .await
    {
        release(cx, (id, attempt), &job.object_key, &upload_id).await;
        return Err(e);
    }
    if cx
        .db()
        .run(q::done((id, attempt), size, parts, &now, &expiry(cx)))
        .await?
        == 0
    {
        // Taken over meanwhile (the delivery that took it writes the same key again), or
        // deleted: then this archive is nobody's (the deletion's outbox entry may have run).
        if cx.db().first::<JobRow>(q::job(id)).await?.is_none() {
            super::processing::discard(cx, &job.object_key).await?;
            return Ok(Ok("export no longer exists"));
        }
        return Ok(Ok("taken over by another delivery"));
    }
    Ok(Ok("exported"))
}

/// The parts of one delivery's upload so far.
struct Upload<'a, 'c, P> {
    cx: &'a Cx<'c, P>,
    job: &'a JobRow,
    attempt: i64,
    upload_id: &'a str,
    etags: Vec<(u16, String)>,
    bytes: u64,
}

impl<P: Ports> Upload<'_, '_, P> {
    /// Uploads `parts` in order, telling the row after each (the row's answer says whether this
    /// delivery still owns the export).
    async fn send(&mut self, parts: Vec<Vec<u8>>) -> ApiResult<Result<(), Stop>> {
        for part in parts {
            let number = self.etags.len() + 1;
            let Some(number) = u16::try_from(number)
                .ok()
                .filter(|n| u64::from(*n) <= MAX_PARTS)
            else {
                return Ok(Err(Stop::Failed(over_parts())));
            };
            self.bytes += part.len() as u64;
            let etag = self
                .cx
                .blobs()
                .multipart_part(&self.job.object_key, self.upload_id, number, part)
                .await?;
            self.etags.push((number, etag));
            let told = self
                .cx
                .db()
                .run(q::progress(
                    &self.job.id,
                    self.attempt,
                    i64::from(number),
                    &self.cx.now_text(),
                ))
                .await?;
            if told == 0 {
                return Ok(Err(Stop::Superseded));
            }
        }
        Ok(Ok(()))
    }
}

fn over_parts() -> String {
    format!(
        "the library is too large for one archive (over {} parts of {})",
        MAX_PARTS,
        human_bytes(PART_BYTES as i64)
    )
}

/// Writes the archive: the manifest, the index, then each PDF streamed in chunks, every full
/// part uploaded as soon as it is cut.
async fn write<P: Ports>(
    upload: &mut Upload<'_, '_, P>,
    library: &Library,
) -> ApiResult<Result<(), Stop>> {
    let estimate: u64 = library.files.iter().map(|f| f.size_bytes).sum();
    if estimate / PART_BYTES as u64 >= MAX_PARTS {
        return Ok(Err(Stop::Failed(over_parts())));
    }
    let mut w = ArchiveWriter::new(PART_BYTES);
    let manifest = match manifest_bytes(&library.manifest) {
        Ok(bytes) => bytes,
        Err(reason) => return Ok(Err(Stop::Failed(reason))),
    };
    let added = w
        .add(MANIFEST_NAME, &manifest)
        .and_then(|()| w.add(INDEX_NAME, library.manifest.index_csv().as_bytes()));
    drop(manifest);
    if let Err(e) = added {
        return Ok(Err(e.into()));
    }
    if let Err(stop) = upload.send(w.take_parts()).await? {
        return Ok(Err(stop));
    }
    for file in &library.files {
        if let Err(stop) = stream_file(upload, &mut w, file).await? {
            return Ok(Err(stop));
        }
    }
    match w.finish() {
        Ok(parts) => upload.send(parts).await,
        Err(e) => Ok(Err(e.into())),
    }
}

/// One PDF into the archive, read in ranges of [`CHUNK_BYTES`] and hashed on the way: a missing
/// object, a short one or one whose bytes are not its recorded sha256 fails the export, naming
/// the file.
async fn stream_file<P: Ports>(
    upload: &mut Upload<'_, '_, P>,
    w: &mut ArchiveWriter,
    file: &FileSource,
) -> ApiResult<Result<(), Stop>> {
    let failed = |why: &str| Ok(Err(Stop::Failed(format!("{}: {why}", file.name))));
    if let Err(e) = w.start(&file.name, file.size_bytes) {
        return Ok(Err(e.into()));
    }
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < file.size_bytes {
        let len = CHUNK_BYTES.min(file.size_bytes - offset);
        let Some(chunk) = upload
            .cx
            .blobs()
            .read(&file.object_key, Some((offset, len)))
            .await?
        else {
            return failed("the file is missing from storage");
        };
        if chunk.len() as u64 != len {
            return failed("the stored file is shorter than recorded");
        }
        hasher.update(&chunk);
        if let Err(e) = w.write(&chunk) {
            return Ok(Err(e.into()));
        }
        drop(chunk);
        if let Err(stop) = upload.send(w.take_parts()).await? {
            return Ok(Err(stop));
        }
        offset += len;
    }
    if hex(&hasher.finalize()) != file.sha256 {
        return failed("the stored file does not match its sha256 (it is damaged)");
    }
    match w.end() {
        Ok(()) => Ok(Ok(())),
        Err(e) => Ok(Err(e.into())),
    }
}

/// Whether attempt `attempt` still owns export `id` (taken to be so when the database cannot
/// tell).
async fn still_ours<P: Ports>(cx: &Cx<'_, P>, id: &str, attempt: i64) -> bool {
    match cx.db().first::<JobRow>(q::job(id)).await {
        Ok(Some(job)) => job.attempt == attempt && job.state == "running",
        Ok(None) => false,
        Err(_) => true,
    }
}

/// Aborts upload `upload_id` of the outbox and forgets it; a failure leaves it to the sweep.
async fn abort_upload<P: Ports>(cx: &Cx<'_, P>, key: &str, upload_id: &str) -> bool {
    if cx.blobs().multipart_abort(key, upload_id).await.is_ok() {
        let _ = cx.db().run(q::aborted(key, upload_id)).await;
        true
    } else {
        false
    }
}

/// An upload no row records (this delivery lost the export before recording it): into the
/// outbox, then aborted.
async fn orphan<P: Ports>(cx: &Cx<'_, P>, key: &str, upload_id: &str) {
    let _ = cx
        .db()
        .run(q::remember_abort(key, upload_id, &cx.now_text()))
        .await;
    abort_upload(cx, key, upload_id).await;
}

/// A transient failure: this delivery's upload into the outbox and off the row, then aborted
/// (the retry starts a new one). If the database cannot record it, the row still names the
/// upload and the next delivery aborts it.
async fn release<P: Ports>(cx: &Cx<'_, P>, (id, attempt): (&str, i64), key: &str, upload_id: &str) {
    let _ = cx
        .db()
        .batch(q::release_upload(id, attempt, &cx.now_text()).into())
        .await;
    abort_upload(cx, key, upload_id).await;
}

/// A permanent failure: the export fails with `reason` (the row's upload, this attempt's, into
/// the outbox), then this attempt's upload (if it started one) is aborted. An attempt taken over
/// meanwhile changes no row and aborts only its own upload.
async fn fail<P: Ports>(
    cx: &Cx<'_, P>,
    (id, attempt): (&str, i64),
    (key, upload_id): (&str, Option<&str>),
    reason: String,
) -> ApiResult<Outcome> {
    cx.db()
        .batch(q::failed((id, Some(attempt)), &reason, &cx.now_text(), &expiry(cx)).into())
        .await?;
    if let Some(upload_id) = upload_id {
        abort_upload(cx, key, upload_id).await;
    }
    Ok(Err(reason))
}

/// The consumer gives the export up (failed or crashed too often): failed with `reason`, its
/// upload left to the sweep's abort.
///
/// # Errors
/// Database errors.
pub async fn give_up<P: Ports>(cx: &Cx<'_, P>, id: &str, reason: &str) -> ApiResult<()> {
    cx.db()
        .batch(q::failed((id, None), reason, &cx.now_text(), &expiry(cx)).into())
        .await
        .map(drop)
}

// ---- the sweep ----

/// What the sweep did with exports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Sent again: pending or running with no sign of life for [`jobs::REQUEUE_AFTER_SECONDS`].
    pub requeued: usize,
    /// Given up after [`jobs::ABANDON_AFTER_SECONDS`].
    pub abandoned: usize,
    /// Deleted at their `expires_at` (their archives through the deletion outbox).
    pub expired: usize,
    /// Multipart uploads of the outbox aborted.
    pub uploads_aborted: usize,
}

/// The sweep's share: gives up exports that never finished, deletes expired ones, re-sends
/// those that stopped moving (a lost message, or a delivery that died), and aborts the uploads
/// the outbox holds.
///
/// # Errors
/// Database errors (the next sweep runs again).
pub async fn sweep<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<Swept> {
    let now = cx.now_text();
    let abandon_before = cx.now.plus_seconds(-jobs::ABANDON_AFTER_SECONDS).rfc3339();
    let abandoned = cx
        .db()
        .batch(q::abandon(&abandon_before, jobs::NEVER_FINISHED, &now, &expiry(cx)).into())
        .await?
        .get(1)
        .map_or(0, |o| o.changes);
    let expired = cx.db().run(q::expire(&now, SWEEP_BATCH)).await?;
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let before = cx.now.plus_seconds(-jobs::REQUEUE_AFTER_SECONDS).rfc3339();
    let stale: Vec<Task> = cx
        .db()
        .all::<Id>(q::stale(&before, SWEEP_BATCH))
        .await?
        .into_iter()
        .map(|r| Task::Export { export_id: r.id })
        .collect();
    let requeued = stale.len();
    if !stale.is_empty() {
        cx.tasks().send(stale).await?;
    }
    let mut uploads_aborted = 0;
    for row in cx
        .db()
        .all::<AbortRow>(q::pending_aborts(SWEEP_BATCH))
        .await?
    {
        if abort_upload(cx, &row.object_key, &row.upload_id).await {
            uploads_aborted += 1;
        }
    }
    Ok(Swept {
        requeued,
        abandoned,
        expired,
        uploads_aborted,
    })
}
