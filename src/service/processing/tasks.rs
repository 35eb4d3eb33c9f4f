//! What each task does: the queue consumer's work (SPEC §4), and the only caller of the
//! renderer. Compiled with the cargo feature `consumer` only, so the API script, built without
//! it, carries neither these task bodies nor hayro (README "Two Worker scripts").

use serde::Deserialize;

use crate::domain::task::Task;
use crate::error::ApiResult;
use crate::media::book::BookBuilder;
use crate::media::extract::{extract_pages, ExtractLimits, EXTRACT_LIMITS};
use crate::media::pdf_ranges::{self, RangeError};
use crate::media::{pdf_info, suggestions, thumbnail};
use crate::ports::{Blobs, Db, Ports};
use crate::service::{exports, imports, Cx, Stored, StoredRead};
use crate::storage::keys;
use crate::store::bookmarks;
use crate::store::books;
use crate::store::library::{self as lib, PageImage};
use crate::store::processing::{self as q, Of};
use crate::store::rows::ScoreFileRow;

use super::{discard, record, FAILED};

/// A stored task outcome's state, beside `FAILED`.
const OK: &str = "ok";

/// Runs one task. A file that cannot be processed is a permanent failure, recorded on the score
/// and returned as `Ok` (acked); storage or database errors are `Err` (transient: retried).
///
/// # Errors
/// Transient failures.
pub async fn run<P: Ports>(cx: &Cx<'_, P>, task: &Task, message_id: &str) -> ApiResult<()> {
    match task {
        Task::Ping { .. } => record(cx, task, OK, None, message_id).await,
        Task::PdfInfo { score_id } => inspect(cx, task, (Of::Score, score_id), message_id).await,
        Task::Thumbnail { score_id } => {
            thumbnail(cx, task, (Of::Score, score_id), message_id).await
        }
        Task::PartInfo { part_id } => inspect(cx, task, (Of::Part, part_id), message_id).await,
        Task::PartThumbnail { part_id } => {
            thumbnail(cx, task, (Of::Part, part_id), message_id).await
        }
        Task::RenderPage {
            score_id,
            page,
            width,
        } => render_page(cx, task, (Of::Score, score_id), (*page, *width), message_id).await,
        Task::PartRenderPage {
            part_id,
            page,
            width,
        } => render_page(cx, task, (Of::Part, part_id), (*page, *width), message_id).await,
        Task::ExtractBookmark { bookmark_id } => {
            extract_bookmark(cx, task, bookmark_id, message_id).await
        }
        Task::SetlistBook {
            setlist_id,
            part_key,
        } => setlist_book(cx, task, (setlist_id, part_key), message_id).await,
        Task::Export { export_id } => match exports::run(cx, export_id).await? {
            Ok(note) => record(cx, task, OK, Some(note), message_id).await,
            Err(reason) => record(cx, task, FAILED, Some(&reason), message_id).await,
        },
        Task::Import { import_id } => {
            // A refused import is told on its row; the task itself ran.
            let detail = imports::run(cx, import_id).await?;
            record(cx, task, OK, Some(&detail), message_id).await
        }
        Task::DeleteFile { key } => {
            cx.blobs().delete(key).await?;
            cx.blobs().delete_prefix(&keys::derived_prefix(key)).await?;
            cx.db().run(lib::deletion_done(key, &cx.now_text())).await?;
            record(cx, task, OK, None, message_id).await
        }
    }
}

const MISSING: &str = "the file is missing from storage";

/// The score (or part) a processing task works on, or `None` (recorded: it was deleted
/// meanwhile).
async fn score_of<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    (of, id): (Of, &str),
    message_id: &str,
) -> ApiResult<Option<ScoreFileRow>> {
    let score = cx.db().first::<ScoreFileRow>(q::score_file(of, id)).await?;
    if score.is_none() {
        let gone = match of {
            Of::Score => "score no longer exists",
            Of::Part => "part no longer exists",
        };
        record(cx, task, OK, Some(gone), message_id).await?;
    }
    Ok(score)
}

/// Reads the whole PDF (within the configured limit), or the permanent reason it cannot be.
async fn load_pdf<P: Ports>(
    cx: &Cx<'_, P>,
    object_key: &str,
    size_bytes: i64,
) -> ApiResult<Result<Vec<u8>, String>> {
    let limit = cx.config.whole_file_max_bytes;
    if size_bytes > limit {
        return Ok(Err(format!(
            "file too large to render (over {})",
            crate::domain::human_bytes(limit)
        )));
    }
    Ok(cx
        .blobs()
        .read(object_key, None)
        .await?
        .ok_or_else(|| MISSING.to_owned()))
}

/// `pdf_info`: page count, sizes, metadata and suggestions stored on the score. Files above the
/// whole-file limit are read by ranges (structure only).
async fn inspect<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    (of, score_id): (Of, &str),
    message_id: &str,
) -> ApiResult<()> {
    let Some(score) = score_of(cx, task, (of, score_id), message_id).await? else {
        return Ok(());
    };
    let outcome = if score.size_bytes > cx.config.whole_file_max_bytes {
        let source = Stored {
            blobs: cx.blobs(),
            key: &score.object_key,
        };
        let size = u64::try_from(score.size_bytes).unwrap_or(0);
        match pdf_ranges::inspect(&source, size, pdf_ranges::Limits::default()).await {
            Ok((info, _)) => Ok(info),
            Err(RangeError::Pdf(failure)) => Err(failure.reason()),
            Err(RangeError::Source(StoredRead::Missing)) => Err(MISSING.to_owned()),
            Err(RangeError::Source(StoredRead::Storage(e))) => return Err(e),
        }
    } else {
        match load_pdf(cx, &score.object_key, score.size_bytes).await? {
            Ok(bytes) => pdf_info::inspect(&bytes).map_err(|f| f.reason()),
            Err(reason) => Err(reason),
        }
    };
    match outcome {
        Ok(info) => {
            let meta = serde_json::to_string(&info).unwrap_or_else(|_| "{}".into());
            let suggested = serde_json::to_string(&suggestions::from_meta(&info.meta))
                .unwrap_or_else(|_| "{}".into());
            cx.db()
                .run(q::pdf_info_ok(of, score_id, info.pages, &meta, &suggested))
                .await?;
            record(cx, task, OK, None, message_id).await
        }
        Err(reason) => {
            cx.db()
                .run(q::pdf_info_failed(of, score_id, &reason))
                .await?;
            record(cx, task, FAILED, Some(&reason), message_id).await
        }
    }
}

/// `thumbnail`: the first page rendered to a PNG, stored, then recorded on the score
/// (idempotent: same key, same row). Unrenderable files are a permanent failure.
async fn thumbnail<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    (of, score_id): (Of, &str),
    message_id: &str,
) -> ApiResult<()> {
    let Some(score) = score_of(cx, task, (of, score_id), message_id).await? else {
        return Ok(());
    };
    let rendered = match load_pdf(cx, &score.object_key, score.size_bytes).await? {
        Ok(bytes) => thumbnail::first_page_png(bytes, thumbnail::Limits::default())
            .map_err(|f| f.to_string()),
        Err(reason) => Err(reason),
    };
    match rendered {
        Ok(thumb) => {
            let key = keys::thumbnail(&score.object_key);
            let size = i64::try_from(thumb.png.len()).unwrap_or(i64::MAX);
            cx.blobs().put(&key, thumb.png, "image/png").await?;
            // Stored first, recorded second: if the score was deleted meanwhile the row update
            // changes nothing and the image goes (the score's delete_file may have run already).
            if cx
                .db()
                .run(q::thumbnail_ok(of, score_id, &key, size))
                .await?
                == 0
            {
                discard(cx, &key).await?;
            }
            record(cx, task, OK, None, message_id).await
        }
        Err(reason) => {
            cx.db()
                .run(q::thumbnail_failed(of, score_id, &reason))
                .await?;
            record(cx, task, FAILED, Some(&reason), message_id).await
        }
    }
}

#[derive(Deserialize)]
struct RenderJob {
    state: String,
    object_key: String,
    size_bytes: i64,
}

/// `render_page` (and `part_render_page`): one page image asked for by `download-url?page=N`, its
/// outcome recorded on its row: stored under the file's derived prefix and counted within the
/// score's (or part's) budget, or failed with the reason later requests are told (never rendered
/// twice). Idempotent: a row no longer pending is done.
async fn render_page<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    (of, id): (Of, &str),
    (page, width): (u32, u32),
    message_id: &str,
) -> ApiResult<()> {
    let Some(job) = cx
        .db()
        .first::<RenderJob>(lib::render_job((of, id), page, width))
        .await?
    else {
        return record(cx, task, OK, Some("no longer requested"), message_id).await;
    };
    if job.state != "pending" {
        return record(cx, task, OK, Some("already rendered"), message_id).await;
    }
    let now = cx.now_text();
    let rendered = match load_pdf(cx, &job.object_key, job.size_bytes).await? {
        Ok(bytes) => {
            let number = usize::try_from(page).unwrap_or(usize::MAX);
            thumbnail::page_png(bytes, number, thumbnail::Limits::page(width))
                .map_err(|f| f.to_string())
        }
        Err(reason) => Err(reason),
    };
    let image = match rendered {
        Ok(image) => image,
        Err(reason) => {
            cx.db()
                .run(lib::render_failed((of, id), page, width, &reason, &now))
                .await?;
            return record(cx, task, FAILED, Some(&reason), message_id).await;
        }
    };
    let key = keys::page_image(&job.object_key, page, width);
    let size = i64::try_from(image.png.len()).unwrap_or(i64::MAX);
    cx.blobs().put(&key, image.png, "image/png").await?;
    let at = PageImage {
        of,
        id,
        page,
        width,
        pdf_bytes: job.size_bytes,
        floor: cx.config.derived_min_bytes,
    };
    if cx.db().run(lib::render_ok(&at, size, &now)).await? == 0 {
        // The score (or part) was deleted meanwhile, or the image does not fit its budget: it
        // goes.
        discard(cx, &key).await?;
        let reason = match of {
            Of::Score => "the page images of this score fill its storage budget",
            Of::Part => "the page images of this part fill its storage budget",
        };
        cx.db()
            .run(lib::render_failed((of, id), page, width, reason, &now))
            .await?;
    }
    record(cx, task, OK, Some("rendered"), message_id).await
}

/// The pages `first..=last` of `pdf` as a PDF of their own (inputs held to the whole-file
/// limit, what a Worker can load), or the permanent reason they cannot be.
fn extract(pdf: &[u8], first: i64, last: i64, max_input: i64) -> Result<Vec<u8>, String> {
    let limits = ExtractLimits {
        max_input_bytes: usize::try_from(max_input).unwrap_or(usize::MAX),
        ..EXTRACT_LIMITS
    };
    let page = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    extract_pages(pdf, page(first), page(last), &limits).map_err(|e| e.reason())
}

/// `extract_bookmark`: the bookmark's pages copied into a PDF of their own, stored under the
/// songbook's derived prefix and counted in its budget, or failed with the reason later
/// requests are told (never extracted twice). Idempotent: a bookmark no longer asked for, or
/// whose range changed meanwhile, is done.
async fn extract_bookmark<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    bookmark_id: &str,
    message_id: &str,
) -> ApiResult<()> {
    let floor = cx.config.derived_min_bytes;
    let Some(job) = cx
        .db()
        .first::<bookmarks::ExtractRow>(bookmarks::extract_job(bookmark_id, None, floor))
        .await?
    else {
        return record(cx, task, OK, Some("bookmark no longer exists"), message_id).await;
    };
    if !matches!(job.state.as_deref(), Some("pending" | "running")) {
        return record(cx, task, OK, Some("no longer asked for"), message_id).await;
    }
    let now = cx.now_text();
    let range = (job.first_page, job.last_page);
    cx.db()
        .run(bookmarks::extract_running(bookmark_id, range, &now))
        .await?;
    let made = match load_pdf(cx, &job.object_key, job.size_bytes).await? {
        Ok(bytes) => extract(
            &bytes,
            job.first_page,
            job.last_page,
            cx.config.whole_file_max_bytes,
        ),
        Err(reason) => Err(reason),
    };
    let pdf = match made {
        Ok(pdf) => pdf,
        Err(reason) => {
            cx.db()
                .run(bookmarks::extract_failed(bookmark_id, &reason))
                .await?;
            return record(cx, task, FAILED, Some(&reason), message_id).await;
        }
    };
    let key = keys::bookmark_pdf(&job.object_key, bookmark_id, range.0, range.1);
    let size = i64::try_from(pdf.len()).unwrap_or(i64::MAX);
    cx.blobs().put(&key, pdf, "application/pdf").await?;
    if cx
        .db()
        .run(bookmarks::extract_ok(bookmark_id, range, &key, size, floor))
        .await?
        == 0
    {
        // Deleted or changed meanwhile, or over the songbook's budget: the object goes.
        discard(cx, &key).await?;
        let reason = "the derived files of this songbook fill its storage budget";
        cx.db()
            .run(bookmarks::extract_failed(bookmark_id, reason))
            .await?;
    }
    record(cx, task, OK, Some("extracted"), message_id).await
}

/// The most a book may read (SPEC §11: its PDFs together).
pub const BOOK_MAX_INPUT_BYTES: i64 = 200 * 1024 * 1024;

/// `setlist_book`: the setlist's pieces as one PDF with an outline entry each, stored under the
/// owner's books prefix, or failed with the reason later requests are told. Each source is
/// fetched, copied and dropped in turn (one source in memory at a time, each held to the
/// whole-file limit); the book itself is held to twice that. Idempotent: a book no longer asked
/// for, or asked for again at a newer version meanwhile, is done.
async fn setlist_book<P: Ports>(
    cx: &Cx<'_, P>,
    task: &Task,
    (setlist, part_key): (&str, &str),
    message_id: &str,
) -> ApiResult<()> {
    let Some(row) = cx
        .db()
        .first::<books::BookRow>(books::book(setlist, part_key))
        .await?
    else {
        return record(cx, task, OK, Some("setlist no longer exists"), message_id).await;
    };
    if !matches!(row.state.as_str(), "pending" | "running") {
        return record(cx, task, OK, Some("no longer asked for"), message_id).await;
    }
    let now = cx.now_text();
    let version = row.version;
    cx.db()
        .run(books::running(setlist, part_key, version, &now))
        .await?;
    let sources = cx
        .db()
        .all::<books::Source>(books::sources(setlist, part_key))
        .await?;
    let made = make_book(cx, &row.name, &sources).await?;
    let (pdf, pages) = match made {
        Ok(book) => book,
        Err(reason) => {
            cx.db()
                .run(books::failed(setlist, part_key, version, &reason, &now))
                .await?;
            return record(cx, task, FAILED, Some(&reason), message_id).await;
        }
    };
    let key = keys::setlist_book(&row.owner, setlist, part_key, version);
    let size = i64::try_from(pdf.len()).unwrap_or(i64::MAX);
    cx.blobs().put(&key, pdf, "application/pdf").await?;
    let pages = i64::try_from(pages).unwrap_or(i64::MAX);
    if cx
        .db()
        .run(books::made(
            (setlist, part_key, version),
            &key,
            pages,
            size,
            &now,
        ))
        .await?
        == 0
    {
        // Asked for again at a newer version, or the setlist deleted, meanwhile.
        discard(cx, &key).await?;
    }
    record(cx, task, OK, Some("made"), message_id).await
}

/// The book of `sources`, and its page count, or the permanent reason it cannot be made.
async fn make_book<P: Ports>(
    cx: &Cx<'_, P>,
    title: &str,
    sources: &[books::Source],
) -> ApiResult<Result<(Vec<u8>, usize), String>> {
    if sources.is_empty() {
        return Ok(Err("the setlist has no items".into()));
    }
    let total: i64 = sources.iter().map(|s| s.size_bytes).sum();
    if total > BOOK_MAX_INPUT_BYTES {
        return Ok(Err(format!(
            "its PDFs together are over {}",
            crate::domain::human_bytes(BOOK_MAX_INPUT_BYTES)
        )));
    }
    let whole = usize::try_from(cx.config.whole_file_max_bytes).unwrap_or(usize::MAX);
    let limits = ExtractLimits {
        max_input_bytes: usize::try_from(BOOK_MAX_INPUT_BYTES).unwrap_or(usize::MAX),
        max_output_bytes: whole.saturating_mul(2),
        ..EXTRACT_LIMITS
    };
    let mut builder = BookBuilder::new(&limits);
    for (index, source) in sources.iter().enumerate() {
        let bytes = match load_pdf(cx, &source.object_key, source.size_bytes).await? {
            Ok(bytes) => bytes,
            Err(reason) => return Ok(Err(format!("item {}: {reason}", index + 1))),
        };
        let page = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        let range = source
            .first_page
            .zip(source.last_page)
            .map(|(f, l)| (page(f), page(l)));
        if let Err(e) = builder.add(index, &bytes, range, &source.title) {
            return Ok(Err(e.reason()));
        }
    }
    Ok(builder
        .finish(title)
        .map(|b| (b.bytes, b.pages))
        .map_err(|e| e.reason()))
}
