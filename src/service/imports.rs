//! Library imports (SPEC §11): `POST /v1/imports` takes an archive uploaded through the upload
//! flow (`mime` application/zip) and asks the queue for it; `GET /v1/imports/{id}` tells how it
//! stands. The queue's `import` task ([`run`]) does the work in four steps, each safe to repeat:
//!
//! 1. **check** — the archive's end records and central directory read by range
//!    (`archive::read`), the manifest read and parsed, every name, size and overlap checked, the
//!    account's state read and the import planned (`domain::import`), the quota checked: all
//!    before anything is written. A dry run ends here with its report.
//! 2. **stage** — the plan's rows and the files to copy written to `import_chunks`, invisible
//!    to the library, over as many batches as they take; a `meta` chunk written last marks the
//!    staging complete, and a redelivery resumes from it instead of planning again.
//! 3. **copy** — each new file streamed from its range of the archive to its own object at a
//!    key the server built, its CRC-32, SHA-256 and `%PDF-` checked against the central
//!    directory and the manifest (decision 104).
//! 4. **commit** — one batch makes every staged row visible at once, moves the quota (the
//!    files' bytes used, the archive's reservation released, conditionally on the quota) and
//!    releases the archive (decision 103); then processing is queued and the archive deleted.
//!
//! A damaged archive, a refused manifest, a file that is not what the manifest says or a quota
//! that does not hold fails the import with the reason: no rows, the objects it copied deleted,
//! the archive released. Storage and database errors are transient: the task is retried.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::archive::read::{self as zip, Entry, ReadError, ZIP_MAGIC};
use crate::domain::fields::Fields;
use crate::domain::import::{self as planner, Account, Existing, Plan, Report};
use crate::domain::manifest::{Manifest, MANIFEST_MAX_BYTES, MANIFEST_NAME};
use crate::domain::score::{PDF_MIME, ZIP_MIME};
use crate::domain::task::Task;
use crate::domain::{hex, human_bytes, ids};
use crate::error::{ApiError, ApiResult};
use crate::media::PDF_MAGIC;
use crate::ports::{changed, Blobs, Db, Outcome, Ports, Tasks};
use crate::storage::{keys, sigv4};
use crate::store::imports::{self as q, Chunk, Commit, Job};
use crate::store::library as lib;
use crate::store::rows::UploadRow;
use crate::store::Stmt;

use super::library::{current_state_error, open_upload, release_with, stored_object};
use super::{Cx, Stored, StoredRead};

/// Longest an import may take: its archive stays an open upload that long at most, and the
/// sweep fails an import still unfinished then.
pub const IMPORT_MAX_SECONDS: i64 = 24 * 3600;
/// An import whose row has not moved for this long lost its message (a queue delivery lasts 15
/// minutes at most): the sweep sends it again.
const REQUEUE_SECONDS: i64 = 30 * 60;
/// Largest staged chunk (D1 rows and bound values may be 2 MB).
const CHUNK_BYTES: usize = 512 * 1024;
/// Most staged bytes sent in one batch.
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Most messages in one queue send (the platform's batch limit).
const SEND_MAX: usize = 100;
/// The reason an import still unfinished after [`IMPORT_MAX_SECONDS`] ends with.
pub const NEVER_FINISHED: &str = "the import did not finish in time";

/// An import as the API shows it (SPEC §11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportView {
    pub id: String,
    pub state: String,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the import did (a dry run: would do); empty until it is done.
    pub report: Report,
}

/// The answer to bytes that are not a ZIP archive (nothing of them is kept).
pub fn not_a_zip() -> ApiError {
    ApiError::UnsupportedMediaType(
        "the file is not a ZIP archive (it must start with PK\\x03\\x04)",
    )
}

/// 409 `code` naming the import `import`.
fn conflict(code: &'static str, message: &str, import: String) -> ApiError {
    let mut extra = Map::new();
    extra.insert("import_id".into(), Value::String(import));
    ApiError::Conflict {
        code,
        message: message.into(),
        extra,
    }
}

/// 409 `UPLOAD_CONSUMED`: the archive was imported by import `import`.
fn imported_already(import: String) -> ApiError {
    conflict(
        "UPLOAD_CONSUMED",
        "this archive was imported already",
        import,
    )
}

/// The database, counting the statements an import runs (the benchmark's figure).
struct Counted<'c, 'a, P> {
    cx: &'c Cx<'a, P>,
    n: Cell<i64>,
}

impl<P: Ports> Counted<'_, '_, P> {
    fn add(&self, n: usize) {
        self.n
            .set(self.n.get() + i64::try_from(n).unwrap_or(i64::MAX));
    }

    async fn first<T: serde::de::DeserializeOwned>(&self, s: Stmt) -> ApiResult<Option<T>> {
        self.add(1);
        self.cx.db().first(s).await
    }

    async fn all<T: serde::de::DeserializeOwned>(&self, s: Stmt) -> ApiResult<Vec<T>> {
        self.add(1);
        self.cx.db().all(s).await
    }

    async fn run(&self, s: Stmt) -> ApiResult<usize> {
        self.add(1);
        self.cx.db().run(s).await
    }

    async fn batch(&self, s: Vec<Stmt>) -> ApiResult<Vec<Outcome>> {
        self.add(s.len());
        self.cx.db().batch(s).await
    }
}

fn view(row: q::ImportRow) -> ImportView {
    let report = row
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    ImportView {
        id: row.id,
        state: row.state,
        dry_run: row.dry_run != 0,
        reason: row.reason,
        report,
    }
}

/// The stored archive is the declared one: there, of its size (and hash, when the store
/// verified one), starting with a ZIP's local header — checked here for an upload whose bytes
/// were not checked on the way in (presigned S3 mode), which is released otherwise.
async fn check_archive<P: Ports>(cx: &Cx<'_, P>, upload: &UploadRow) -> ApiResult<()> {
    let blobs = cx.blobs();
    let info = stored_object(cx, upload).await?;
    // A checksum the store verified is compared; an archive stored without one is not hashed
    // here (up to 2 GiB on a request): its entries are checked by CRC-32 and the manifest's
    // SHA-256 as they are read.
    if info
        .sha256
        .is_some_and(|h| sigv4::hex(&h) != upload.sha256.as_str())
    {
        return Err(ApiError::ContentMismatch(
            "the stored archive does not match the declared sha256".into(),
        ));
    }
    if upload.state == "reserved" {
        let head = blobs
            .read(&upload.object_key, Some((0, ZIP_MAGIC.len() as u64)))
            .await?
            .unwrap_or_default();
        if head != ZIP_MAGIC {
            return Err(release_with(cx, upload, not_a_zip()).await);
        }
    }
    Ok(())
}

/// `POST /v1/imports` `{upload_id, dry_run?}`: the import of the caller's archive upload, asked
/// of the queue.
///
/// # Errors
/// 422 per field (and for an upload that is not an archive); 404 for another user's upload;
/// 409 `UPLOAD_INCOMPLETE`/`UPLOAD_EXPIRED`/`UPLOAD_CONSUMED` (imported already),
/// `IMPORT_RUNNING` (one import at a time); 400/415 when the stored bytes are not the declared
/// archive.
pub async fn create<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    body: Map<String, Value>,
) -> ApiResult<ImportView> {
    let mut f = Fields::new(body, &["upload_id", "dry_run"]);
    let upload_id = f.string("upload_id");
    let dry_run = match f.opt_value("dry_run") {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(_) => {
            f.error("dry_run", "must be true or false");
            false
        }
    };
    f.finish()?;
    let upload_id =
        upload_id.ok_or_else(|| ApiError::internal("upload_id reported valid but missing"))?;
    let upload = match open_upload(cx, user, &upload_id, ZIP_MIME).await {
        Ok(upload) => upload,
        Err(e @ ApiError::Conflict { .. }) => {
            // An archive no longer open because its import ended says so.
            let blocking = cx
                .db()
                .first::<q::Blocking>(q::blocking(user, &upload_id))
                .await?;
            return Err(match blocking.and_then(|b| b.imported) {
                Some(done) => imported_already(done),
                None => e,
            });
        }
        Err(e) => return Err(e),
    };
    check_archive(cx, &upload).await?;
    let id = cx.id("imp")?;
    let mut seed = [0u8; 16];
    cx.ports.random(&mut seed)?;
    let now = cx.now_text();
    let until = cx.now.plus_seconds(IMPORT_MAX_SECONDS).rfc3339();
    let created = cx
        .db()
        .batch(q::create(
            &id,
            user,
            &upload.id,
            dry_run,
            &hex(&seed),
            (&now, &until),
        ))
        .await?;
    if !changed(&created, 0) {
        let blocking = cx
            .db()
            .first::<q::Blocking>(q::blocking(user, &upload.id))
            .await?;
        return Err(match blocking {
            Some(q::Blocking {
                running: Some(running),
                ..
            }) => conflict(
                "IMPORT_RUNNING",
                "an import of yours is running: wait for it to end",
                running,
            ),
            Some(q::Blocking {
                imported: Some(done),
                ..
            }) if !dry_run => imported_already(done),
            _ => current_state_error(cx, &upload).await,
        });
    }
    // The row stays pending; the sweep sends the message again if this one is lost.
    let _ = cx
        .tasks()
        .send(vec![Task::Import {
            import_id: id.clone(),
        }])
        .await;
    Ok(ImportView {
        id,
        state: "pending".into(),
        dry_run,
        reason: None,
        report: Report::default(),
    })
}

/// `GET /v1/imports/{id}`: the caller's import.
///
/// # Errors
/// 404 for a malformed id or another user's import.
pub async fn get<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<ImportView> {
    if !ids::is_well_formed("imp", id) {
        return Err(ApiError::NotFound);
    }
    cx.db()
        .first::<q::ImportRow>(q::import(id, user))
        .await?
        .map(view)
        .ok_or(ApiError::NotFound)
}

const MISSING: &str = "the archive is missing from storage";

/// A read of the archive: `Ok(Err(reason))` when the archive is at fault (permanent), `Err`
/// when storage is (transient).
fn judged<T>(r: Result<T, ReadError<StoredRead>>) -> ApiResult<Result<T, String>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(ReadError::Damaged(reason)) => Ok(Err(reason)),
        Err(ReadError::Source(StoredRead::Missing)) => Ok(Err(MISSING.into())),
        Err(ReadError::Source(StoredRead::Storage(e))) => Err(e),
    }
}

/// A file to copy, with where it lies in the archive (staged as `copies`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CopyJob {
    entry: Entry,
    object_key: String,
    sha256: String,
}

/// The import's figures (staged as `meta`, last).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    report: Report,
    file_bytes: u64,
    annotation_bytes: u64,
    /// New scores and uploaded parts, whose processing is queued once they exist.
    scores: Vec<String>,
    parts: Vec<String>,
}

struct Prepared {
    plan: Plan,
    copies: Vec<CopyJob>,
}

/// What the account holds that the manifest's files and setlists may be.
async fn account<P: Ports>(
    db: &Counted<'_, '_, P>,
    user: &str,
    manifest: &Manifest,
) -> ApiResult<Account> {
    let hashes: Vec<&str> = manifest.files().map(|f| f.sha256).collect();
    let hashes = serde_json::to_string(&hashes).unwrap_or_else(|_| "[]".into());
    let sources: Vec<&str> = manifest.setlists.iter().map(|l| l.id.as_str()).collect();
    let sources = serde_json::to_string(&sources).unwrap_or_else(|_| "[]".into());
    let out = db
        .batch(vec![
            q::held_scores(user, &hashes),
            q::held_bookmarks(user, &hashes),
            q::held_part_files(user, &hashes),
            q::held_setlists(user, &sources),
        ])
        .await?;
    let rows = |i: usize| out.get(i).cloned().unwrap_or_default();
    let mut account = Account {
        vshard: crate::domain::shard::vshard(user),
        ..Account::default()
    };
    let mut by_id = std::collections::HashMap::new();
    for s in rows(0).rows::<q::HeldScore>()? {
        by_id.insert(s.id.clone(), s.content_hash.clone());
        account.scores.insert(
            s.content_hash,
            Existing {
                id: s.id,
                pages: s.pages,
                bookmarks: std::collections::HashMap::new(),
                bookmark_count: usize::try_from(s.bookmarks).unwrap_or(usize::MAX),
            },
        );
    }
    for b in rows(1).rows::<q::HeldBookmark>()? {
        if let Some(score) = by_id
            .get(&b.score_id)
            .and_then(|h| account.scores.get_mut(h))
        {
            score
                .bookmarks
                .insert((b.title, b.first_page, b.last_page), b.id);
        }
    }
    #[derive(Deserialize)]
    struct Hash {
        content_hash: String,
    }
    account.part_files = rows(2)
        .rows::<Hash>()?
        .into_iter()
        .map(|h| h.content_hash)
        .collect();
    account.setlists = rows(3)
        .rows::<q::HeldSetlist>()?
        .into_iter()
        .map(|l| (l.source_id, l.target_id))
        .collect();
    Ok(account)
}

/// Step 1: the archive read and checked, the import planned and the quota checked (see the
/// module's documentation); `Ok(Err(reason))` refuses it.
async fn prepare<P: Ports>(
    cx: &Cx<'_, P>,
    db: &Counted<'_, '_, P>,
    job: &Job,
) -> ApiResult<Result<Prepared, String>> {
    let src = Stored {
        blobs: cx.blobs(),
        key: &job.object_key,
    };
    let size = u64::try_from(job.archive_bytes).unwrap_or(0);
    let archive = match judged(zip::open(&src, size).await)? {
        Ok(a) => a,
        Err(reason) => return Ok(Err(reason)),
    };
    let Some(entry) = archive.entry(MANIFEST_NAME) else {
        return Ok(Err("the archive has no manifest.json".into()));
    };
    let bytes = match judged(zip::read_entry(&src, entry, MANIFEST_MAX_BYTES as u64).await)? {
        Ok(b) => b,
        Err(reason) => return Ok(Err(reason)),
    };
    let manifest = match Manifest::parse(&bytes) {
        Ok(m) => m,
        Err(reason) => return Ok(Err(reason)),
    };
    drop(bytes);
    let max_file = u64::try_from(cx.config.max_upload_bytes).unwrap_or(0);
    let ignored = match zip::check_against(&archive, &manifest, max_file) {
        Ok(lines) => lines,
        Err(reason) => return Ok(Err(reason)),
    };
    let account = account(db, &job.user_id, &manifest).await?;
    let seed = sigv4::unhex(&job.seed);
    let user = job.user_id.clone();
    let key = move |upload: &str| keys::score_pdf(&user, upload);
    let mut plan = match planner::plan(&manifest, &account, &seed, &key) {
        Ok(p) => p,
        Err(reason) => return Ok(Err(reason)),
    };
    plan.report.errors.splice(0..0, ignored);
    plan.report.cap();
    // The archive's own reservation is given back as the files are charged (decision 100).
    let free = job.quota_bytes - job.used_bytes - (job.reserved_bytes - job.archive_bytes).max(0);
    let needed = i64::try_from(plan.bytes_needed()).unwrap_or(i64::MAX);
    if needed > free {
        return Ok(Err(format!(
            "quota exceeded: the import needs {} ({needed} bytes) and {} ({} bytes) are free",
            human_bytes(needed),
            human_bytes(free.max(0)),
            free.max(0)
        )));
    }
    let mut copies = Vec::with_capacity(plan.copies.len());
    for c in &plan.copies {
        let entry = archive
            .entry(&c.entry)
            .cloned()
            .ok_or_else(|| ApiError::internal("a planned file has no entry"))?;
        copies.push(CopyJob {
            entry,
            object_key: c.object_key.clone(),
            sha256: c.sha256.clone(),
        });
    }
    Ok(Ok(Prepared { plan, copies }))
}

/// `rows` of `kind` as staged chunks of at most [`CHUNK_BYTES`] (one row alone may pass it).
fn chunks<T: Serialize>(kind: &'static str, rows: &[T]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut len = 0;
    for row in rows {
        let text = serde_json::to_string(row).unwrap_or_else(|_| "null".into());
        if !current.is_empty() && len + text.len() + 1 > CHUNK_BYTES {
            out.push((kind, format!("[{}]", current.join(","))));
            current.clear();
            len = 0;
        }
        len += text.len() + 1;
        current.push(text);
    }
    if !current.is_empty() {
        out.push((kind, format!("[{}]", current.join(","))));
    }
    out
}

/// Step 2: the plan staged (see the module's documentation); its figures.
async fn stage<P: Ports>(
    db: &Counted<'_, '_, P>,
    id: &str,
    prepared: &Prepared,
) -> ApiResult<Meta> {
    let plan = &prepared.plan;
    let meta = Meta {
        report: plan.report.clone(),
        file_bytes: plan.file_bytes,
        annotation_bytes: plan.annotation_bytes,
        scores: plan.scores.iter().map(|s| s.id.clone()).collect(),
        parts: plan
            .parts
            .iter()
            .filter(|p| p.source == "upload")
            .map(|p| p.id.clone())
            .collect(),
    };
    let mut all = chunks("copies", &prepared.copies);
    all.extend(chunks("uploads", &plan.uploads));
    all.extend(chunks("scores", &plan.scores));
    all.extend(chunks("parts", &plan.parts));
    all.extend(chunks("bookmarks", &plan.bookmarks));
    all.extend(chunks("setlists", &plan.setlists));
    all.extend(chunks("items", &plan.items));
    all.extend(chunks("annotations", &plan.annotations));
    all.extend(chunks("settings", &plan.settings));
    all.push((
        "meta",
        serde_json::to_string(&[&meta]).unwrap_or_else(|_| "[]".into()),
    ));
    let mut batch = vec![q::unstage(id)];
    let mut bytes = 0;
    let mut seq = std::collections::HashMap::<&str, usize>::new();
    for (kind, rows) in all {
        if bytes + rows.len() > BATCH_BYTES && !batch.is_empty() {
            db.batch(std::mem::take(&mut batch)).await?;
            bytes = 0;
        }
        let n = seq.entry(kind).or_default();
        bytes += rows.len();
        batch.push(q::stage(id, kind, *n, &rows));
        *n += 1;
    }
    db.batch(batch).await?;
    Ok(meta)
}

/// What a redelivery finds staged: the files to copy and the figures, if staging finished.
fn restaged(chunks: Vec<Chunk>) -> ApiResult<Option<(Vec<CopyJob>, Meta)>> {
    let mut copies = Vec::new();
    let mut meta = None;
    for c in chunks {
        let bad = |e: serde_json::Error| ApiError::internal(format!("staged {}: {e}", c.kind));
        match c.kind.as_str() {
            "copies" => copies.extend(serde_json::from_str::<Vec<CopyJob>>(&c.rows).map_err(bad)?),
            "meta" => {
                meta = serde_json::from_str::<Vec<Meta>>(&c.rows)
                    .map_err(bad)?
                    .into_iter()
                    .next();
            }
            _ => {}
        }
    }
    Ok(meta.map(|m| (copies, m)))
}

/// Step 3 for one file: its bytes streamed to its object and checked; `Ok(Err(reason))` when
/// they are not what the archive and the manifest say.
async fn copy<P: Ports>(
    cx: &Cx<'_, P>,
    archive: &str,
    c: &CopyJob,
) -> ApiResult<Result<(), String>> {
    let src = Stored {
        blobs: cx.blobs(),
        key: archive,
    };
    let name = &c.entry.name;
    let (at, _) = match judged(zip::locate(&src, &c.entry).await)? {
        Ok(v) => v,
        Err(reason) => return Ok(Err(reason)),
    };
    let Some(copied) = cx
        .blobs()
        .copy_range(archive, (at, c.entry.size), &c.object_key, PDF_MIME)
        .await?
    else {
        return Ok(Err(MISSING.into()));
    };
    Ok(if copied.size != c.entry.size {
        Err("the archive is truncated".into())
    } else if copied.crc32 != c.entry.crc32 {
        Err(format!(
            "entry {name:?}: CRC-32 mismatch (the archive is damaged)"
        ))
    } else if sigv4::hex(&copied.sha256) != c.sha256 {
        Err(format!("file {name:?}: its sha256 is not the manifest's"))
    } else if !copied.head.starts_with(PDF_MAGIC) {
        Err(format!(
            "file {name:?} is not a PDF (it must start with %PDF-)"
        ))
    } else {
        Ok(())
    })
}

/// Deletes `keys` now and takes those gone out of the outbox (what fails stays there for the
/// sweep).
async fn delete_now<P: Ports>(
    cx: &Cx<'_, P>,
    db: &Counted<'_, '_, P>,
    keys: &[String],
) -> ApiResult<()> {
    let mut gone = Vec::with_capacity(keys.len());
    for key in keys {
        if cx.blobs().delete(key).await.is_ok() {
            gone.push(key.as_str());
        }
    }
    if !gone.is_empty() {
        let json = serde_json::to_string(&gone).unwrap_or_else(|_| "[]".into());
        db.run(q::deleted(&json, &cx.now_text())).await?;
    }
    Ok(())
}

/// Ends the import failed with `reason` (see [`q::fail`]): `fresh` when no earlier delivery
/// staged it (only what this one `copied` may exist; else every staged copy may), the objects
/// this delivery copied deleted now, the archive deleted if this call released it.
async fn fail<P: Ports>(
    cx: &Cx<'_, P>,
    db: &Counted<'_, '_, P>,
    job: &Job,
    reason: &str,
    (fresh, copied): (bool, &[String]),
) -> ApiResult<String> {
    let keys = fresh.then(|| serde_json::to_string(copied).unwrap_or_else(|_| "[]".into()));
    let now = cx.now_text();
    let total = job.statements + db.n.get() + q::FAIL_STATEMENTS;
    let out = db
        .batch(q::fail(&job.id, reason, keys.as_deref(), total, &now))
        .await?;
    if changed(&out, 3) && cx.blobs().delete(&job.object_key).await.is_ok() {
        db.run(lib::deletion_done(&job.object_key, &now)).await?;
    }
    delete_now(cx, db, copied).await?;
    Ok(format!("failed: {reason}"))
}

/// Runs import `id` (the queue's `import` task): see the module's documentation. Returns what
/// happened, for the task's record; a refused import is recorded on its row, not an error.
///
/// # Errors
/// Storage and database errors (transient: the task is retried, and resumes).
pub async fn run<P: Ports>(cx: &Cx<'_, P>, id: &str) -> ApiResult<String> {
    let db = Counted {
        cx,
        n: Cell::new(0),
    };
    let Some(job) = db.first::<Job>(q::job(id)).await? else {
        return Ok("import no longer exists".into());
    };
    if !matches!(job.state.as_str(), "pending" | "running") {
        return Ok("already finished".into());
    }
    let now = cx.now_text();
    db.run(q::running(id, &now)).await?;
    let staged = restaged(db.all::<Chunk>(q::staged(id)).await?)?;
    let (copies, meta, fresh) = match staged {
        Some((copies, meta)) => (copies, meta, false),
        None => {
            let prepared = match prepare(cx, &db, &job).await? {
                Ok(p) => p,
                Err(reason) => return fail(cx, &db, &job, &reason, (true, &[])).await,
            };
            if job.dry_run != 0 {
                let report =
                    serde_json::to_string(&prepared.plan.report).unwrap_or_else(|_| "{}".into());
                let total = job.statements + db.n.get() + 1;
                db.run(q::dry_run_done(id, &report, total, &now)).await?;
                return Ok("dry run done".into());
            }
            let meta = stage(&db, id, &prepared).await?;
            (prepared.copies, meta, true)
        }
    };
    let mut copied = Vec::with_capacity(copies.len());
    for c in &copies {
        copied.push(c.object_key.clone());
        if let Err(reason) = copy(cx, &job.object_key, c).await? {
            return fail(cx, &db, &job, &reason, (fresh, &copied)).await;
        }
    }
    commit(cx, &db, &job, &meta, (fresh, &copied)).await
}

/// Step 4: the commit batch, then processing queued and the archive deleted; a commit refused
/// by its conditions fails the import with the reason.
async fn commit<P: Ports>(
    cx: &Cx<'_, P>,
    db: &Counted<'_, '_, P>,
    job: &Job,
    meta: &Meta,
    copied: (bool, &[String]),
) -> ApiResult<String> {
    let now = cx.now_text();
    let claim = cx.id("clm")?;
    let report = serde_json::to_string(&meta.report).unwrap_or_else(|_| "{}".into());
    let out = db
        .batch(q::commit(&Commit {
            id: &job.id,
            claim: &claim,
            report: &report,
            needed: meta.file_bytes + meta.annotation_bytes,
            file_bytes: meta.file_bytes,
            statements: job.statements + db.n.get() + q::COMMIT_STATEMENTS,
            now: &now,
        }))
        .await?;
    if !changed(&out, 0) {
        let Some(now_job) = db.first::<Job>(q::job(&job.id)).await? else {
            return Ok("import no longer exists".into());
        };
        if now_job.state != "running" {
            return Ok("already finished".into());
        }
        let reason = if !matches!(now_job.upload_state.as_str(), "reserved" | "stored")
            || now_job.consumable_until <= now
        {
            "the archive's upload expired before the import could finish".to_owned()
        } else {
            let free = now_job.quota_bytes
                - now_job.used_bytes
                - (now_job.reserved_bytes - now_job.archive_bytes).max(0);
            let needed = i64::try_from(meta.file_bytes + meta.annotation_bytes).unwrap_or(i64::MAX);
            format!(
                "quota exceeded: the import needs {} ({needed} bytes) and {} ({} bytes) are free",
                human_bytes(needed),
                human_bytes(free.max(0)),
                free.max(0)
            )
        };
        return fail(cx, db, &now_job, &reason, copied).await;
    }
    let mut tasks = Vec::with_capacity(2 * (meta.scores.len() + meta.parts.len()));
    for s in &meta.scores {
        tasks.push(Task::PdfInfo {
            score_id: s.clone(),
        });
        tasks.push(Task::Thumbnail {
            score_id: s.clone(),
        });
    }
    for p in &meta.parts {
        tasks.push(Task::PartInfo { part_id: p.clone() });
        tasks.push(Task::PartThumbnail { part_id: p.clone() });
    }
    for chunk in tasks.chunks(SEND_MAX) {
        // A failed send leaves the processing pending; the sweep sends it again.
        let _ = cx.tasks().send(chunk.to_vec()).await;
    }
    if cx.blobs().delete(&job.object_key).await.is_ok() {
        db.run(lib::deletion_done(&job.object_key, &now)).await?;
    }
    Ok(format!(
        "done: {} scores, {} files, {} D1 statements",
        meta.report.scores_created,
        meta.scores.len() + meta.parts.len(),
        job.statements + db.n.get()
    ))
}

/// Ends import `id` for good with `reason` (the task given up, or the import never finished):
/// nothing written, what may have been copied to the outbox, the archive released.
///
/// # Errors
/// Database errors.
pub async fn give_up<P: Ports>(cx: &Cx<'_, P>, id: &str, reason: &str) -> ApiResult<()> {
    let db = Counted {
        cx,
        n: Cell::new(0),
    };
    if let Some(job) = db.first::<Job>(q::job(id)).await? {
        if matches!(job.state.as_str(), "pending" | "running") {
            fail(cx, &db, &job, reason, (false, &[])).await?;
        }
    }
    Ok(())
}

/// The sweep's part: imports whose row has not moved for [`REQUEUE_SECONDS`] are sent again,
/// and those older than [`IMPORT_MAX_SECONDS`] failed. `(requeued, abandoned)`.
///
/// # Errors
/// Database errors.
pub async fn sweep<P: Ports>(cx: &Cx<'_, P>, limit: i64) -> ApiResult<(usize, usize)> {
    let before = cx.now.plus_seconds(-REQUEUE_SECONDS).rfc3339();
    let too_old = cx.now.plus_seconds(-IMPORT_MAX_SECONDS).rfc3339();
    let now = cx.now_text();
    let stale = cx
        .db()
        .all::<q::StaleImport>(q::stale(&before, limit))
        .await?;
    let (mut tasks, mut abandoned) = (Vec::new(), 0);
    for row in stale {
        if row.created_at < too_old {
            give_up(cx, &row.id, NEVER_FINISHED).await?;
            abandoned += 1;
        } else {
            cx.db().run(q::touched(&row.id, &now)).await?;
            tasks.push(Task::Import { import_id: row.id });
        }
    }
    let requeued = tasks.len();
    if !tasks.is_empty() {
        cx.tasks().send(tasks).await?;
    }
    Ok((requeued, abandoned))
}
