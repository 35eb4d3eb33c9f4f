//! Score parts' use cases (SPEC §10 "Parts"): a part made from an upload goes through the same
//! upload checks, consumption and quota conversion as a score (`library::open_upload`,
//! `check_upload`, `store::library::consume_upload`) and the same processing (`part_info`,
//! `part_thumbnail`, run by the same functions as a score's); a pages part is a checked range of
//! the score's own PDF. Listing, renaming, re-ranging, deleting (bytes released, the object
//! through the outbox) and download URLs for the owner.

use serde_json::{Map, Value};

use crate::api::views;
use crate::domain::fields::Fields;
use crate::domain::ids;
use crate::domain::part::{self, PartPatch, Source, PARTS_MAX};
use crate::domain::task::Task;
use crate::error::{ApiError, ApiResult};
use crate::ports::{changed, Db, Ports, Tasks};
use crate::store::parts::{self as q, NewPart, PartRow, ScoreOfParts};
use crate::store::processing::Of;
use crate::store::rows::IdRow;

use super::library::{
    self, check_upload, current_state_error, file_url, open_upload, page_param, release_with,
    thumbnail_url, Download, StoredFile,
};
use super::Cx;

/// 409 `PART_EXISTS`: the score already has a part of this name (in any case).
fn part_exists(part_id: String) -> ApiError {
    let mut extra = Map::new();
    extra.insert("part_id".into(), Value::String(part_id));
    ApiError::Conflict {
        code: "PART_EXISTS",
        message: "this score already has a part of this name".into(),
        extra,
    }
}

/// The answer to an upload whose content the caller already has: as a score (409
/// `DUPLICATE_SCORE`, as `POST /v1/scores` answers) or as a part (409 `DUPLICATE_PART`).
fn duplicate(id: String) -> ApiError {
    if id.starts_with("sco_") {
        return library::duplicate(id);
    }
    let mut extra = Map::new();
    extra.insert("part_id".into(), Value::String(id));
    ApiError::Conflict {
        code: "DUPLICATE_PART",
        message: "you already have a part with this file".into(),
        extra,
    }
}

fn full() -> ApiError {
    ApiError::field("name", format!("a score holds at most {PARTS_MAX} parts"))
}

/// The part object as JSON text, with a short-lived `thumbnail_url` when it has a thumbnail.
pub fn part_view<P>(cx: &Cx<'_, P>, row: &PartRow) -> String {
    let url = thumbnail_url(cx, row.thumbnail_key.as_deref());
    views::score_json(&row.json, url.as_deref())
}

/// The owner's score as parts need it, or 404.
async fn score_of<P: Ports>(cx: &Cx<'_, P>, user: &str, score: &str) -> ApiResult<ScoreOfParts> {
    if !ids::is_well_formed("sco", score) {
        return Err(ApiError::NotFound);
    }
    cx.db()
        .first::<ScoreOfParts>(q::score_of_parts(score, user))
        .await?
        .ok_or(ApiError::NotFound)
}

async fn load<P: Ports>(cx: &Cx<'_, P>, user: &str, score: &str, part: &str) -> ApiResult<PartRow> {
    if !ids::is_well_formed("sco", score) || !ids::is_well_formed("prt", part) {
        return Err(ApiError::NotFound);
    }
    cx.db()
        .first::<PartRow>(q::part(score, part, user))
        .await?
        .ok_or(ApiError::NotFound)
}

/// 409 when the name is taken on the score (by a part other than `except`).
async fn check_name<P: Ports>(
    cx: &Cx<'_, P>,
    score: &str,
    name: &str,
    except: Option<&str>,
) -> ApiResult<()> {
    match cx
        .db()
        .first::<IdRow>(q::named(score, name, except))
        .await?
    {
        Some(row) => Err(part_exists(row.id)),
        None => Ok(()),
    }
}

/// Why a write on score `score`'s parts changed nothing, asked again after it: the score is gone
/// (404), the name was taken meanwhile (409), the score is full or the range past its pages (422).
async fn refusal<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    score: &str,
    name: &str,
    except: Option<&str>,
    range: Option<part::Pages>,
) -> ApiError {
    let found = match score_of(cx, user, score).await {
        Ok(found) => found,
        Err(e) => return e,
    };
    if let Err(e) = check_name(cx, score, name, except).await {
        return e;
    }
    if let Some(Err(message)) = range.map(|r| r.within(found.pages)) {
        return ApiError::field("pages", message);
    }
    if except.is_none() && found.parts >= PARTS_MAX as i64 {
        return full();
    }
    ApiError::NotFound
}

/// `POST /v1/scores/{id}/parts` `{name, upload_id}` or `{name, pages: {first, last}}`: the new
/// part's JSON. An upload part's processing is queued.
///
/// # Errors
/// 422 per field (a range past the score's known page count, a full score); 404 for the score or
/// the upload; 409 `PART_EXISTS`, and for an upload exactly what `POST /v1/scores` answers
/// (`UPLOAD_CONSUMED`, `UPLOAD_EXPIRED`, `UPLOAD_INCOMPLETE`, `DUPLICATE_SCORE`; also
/// `DUPLICATE_PART`); 400/415 when the stored bytes are not the declared PDF.
pub async fn create_part<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    score: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, &["name", "upload_id", "pages"]);
    let parsed = part::parse_new(&mut f);
    f.finish()?;
    let (name, source) = parsed.ok_or_else(|| ApiError::field("name", "is required"))?;
    let found = score_of(cx, user, score).await?;
    if found.parts >= PARTS_MAX as i64 {
        return Err(full());
    }
    check_name(cx, score, &name, None).await?;
    let id = cx.id("prt")?;
    let now = cx.now_text();
    let new = NewPart {
        id: &id,
        score_id: score,
        user_id: user,
        name: &name,
        now: &now,
    };
    match source {
        Source::Pages(range) => {
            range
                .within(found.pages)
                .map_err(|m| ApiError::field("pages", m))?;
            if cx.db().run(q::create_pages_part(&new, range)).await? == 0 {
                return Err(refusal(cx, user, score, &name, None, Some(range)).await);
            }
        }
        Source::Upload(upload_id) => {
            let upload = open_upload(cx, user, &upload_id, crate::domain::score::PDF_MIME).await?;
            let existing = || {
                cx.db()
                    .first::<IdRow>(q::file_by_hash(user, &upload.sha256))
            };
            check_upload(cx, &upload, existing().await?.map(|r| duplicate(r.id))).await?;
            let outcomes = match cx.db().batch(q::create_upload_part(&new, &upload.id)).await {
                Ok(outcomes) => outcomes,
                // A concurrent create took the content or the name; the batch rolled back.
                Err(e) => {
                    if let Some(row) = existing().await? {
                        return Err(release_with(cx, &upload, duplicate(row.id)).await);
                    }
                    check_name(cx, score, &name, None).await?;
                    return Err(e);
                }
            };
            if !changed(&outcomes, 1) {
                // The score went or filled up, or the upload was consumed or expired meanwhile.
                return Err(match refusal(cx, user, score, &name, None, None).await {
                    ApiError::NotFound if score_of(cx, user, score).await.is_ok() => {
                        current_state_error(cx, &upload).await
                    }
                    other => other,
                });
            }
            let tasks = vec![
                Task::PartInfo {
                    part_id: id.clone(),
                },
                Task::PartThumbnail {
                    part_id: id.clone(),
                },
            ];
            // A failed send leaves the tasks pending; the sweep sends them again.
            let _ = cx.tasks().send(tasks).await;
        }
    }
    let row = load(cx, user, score, &id).await?;
    Ok(part_view(cx, &row))
}

/// `GET /v1/scores/{id}/parts`: `{"parts": […]}` by name, as JSON text.
///
/// # Errors
/// 404 for a missing or another user's score.
pub async fn list_parts<P: Ports>(cx: &Cx<'_, P>, user: &str, score: &str) -> ApiResult<String> {
    score_of(cx, user, score).await?;
    let rows = cx.db().all::<PartRow>(q::parts(score, user)).await?;
    let parts = views::json_array(rows.iter().map(|r| part_view(cx, r)));
    Ok(format!("{{\"parts\":{parts}}}"))
}

/// `PATCH /v1/scores/{id}/parts/{part_id}` `{name?, pages?}`: renames; re-ranges a pages part.
///
/// # Errors
/// 422 per field (`pages` of an upload part, or past the score's page count); 409 `PART_EXISTS`;
/// 404.
pub async fn patch_part<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    score: &str,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, &["name", "pages"]);
    let patch = PartPatch::parse(&mut f);
    f.finish()?;
    let row = load(cx, user, score, id).await?;
    if patch.pages.is_some() && row.source != "pages" {
        return Err(ApiError::field(
            "pages",
            "an uploaded part has its own PDF; only a pages part has a range",
        ));
    }
    if let Some(name) = &patch.name {
        check_name(cx, score, name, Some(id)).await?;
    }
    if let Some(range) = patch.pages {
        let found = score_of(cx, user, score).await?;
        range
            .within(found.pages)
            .map_err(|m| ApiError::field("pages", m))?;
    }
    let stmt = q::patch_part(
        score,
        id,
        user,
        patch.name.as_deref(),
        patch.pages,
        &cx.now_text(),
    );
    if cx.db().run(stmt).await? == 0 {
        let name = patch.name.as_deref().unwrap_or_default();
        return Err(refusal(cx, user, score, name, Some(id), patch.pages).await);
    }
    let row = load(cx, user, score, id).await?;
    Ok(part_view(cx, &row))
}

/// `DELETE /v1/scores/{id}/parts/{part_id}`: the row goes and its bytes are released at once; an
/// upload part's object goes through the outbox and the `delete_file` task.
///
/// # Errors
/// 404.
pub async fn delete_part<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    score: &str,
    id: &str,
) -> ApiResult<()> {
    let row = load(cx, user, score, id).await?;
    let outcomes = cx
        .db()
        .batch(q::delete_part(score, id, user, &cx.now_text()).into())
        .await?;
    if !changed(&outcomes, 2) {
        return Err(ApiError::NotFound);
    }
    if row.source == "upload" {
        // A failed send is retried by the sweep from the outbox.
        let _ = cx
            .tasks()
            .send(vec![Task::DeleteFile {
                key: row.object_key,
            }])
            .await;
    }
    Ok(())
}

/// The file a part reads, as a download needs it: its own PDF (whose page images are the
/// part's), or the score's for a pages part (whose page images are the score's).
pub fn stored_file(row: &PartRow) -> StoredFile<'_> {
    StoredFile {
        of: if row.source == "pages" {
            Of::Score
        } else {
            Of::Part
        },
        id: &row.file_id,
        inspection: (&row.pdf_info_state, row.pdf_info_reason.as_deref()),
        object_key: &row.object_key,
        pages: row.pages,
        size_bytes: row.size_bytes,
    }
}

/// The URL of a part's PDF, or of its page `page` once the queue has rendered it: an upload
/// part's own file and page images (rendered, recorded and counted on the part as a score's are
/// on the score); a pages part's is the score's file with the range (`first_page`,
/// `last_page`), and `page` N is page N of the range, the score's page image.
///
/// # Errors
/// 422 for a page past the part; as [`file_url`].
pub async fn part_file_url<P: Ports>(
    cx: &Cx<'_, P>,
    row: &PartRow,
    page: Option<usize>,
) -> ApiResult<Download> {
    let file = stored_file(row);
    match row.first_page.zip(row.last_page) {
        Some((first, last)) => {
            let page = match page {
                Some(n) if n as i64 > last - first + 1 => {
                    return Err(ApiError::field(
                        "page",
                        format!("the part has {} pages", last - first + 1),
                    ))
                }
                Some(n) => Some(usize::try_from(first - 1).unwrap_or(0) + n),
                None => None,
            };
            super::bookmarks::range_url(cx, &file, page, (first, last)).await
        }
        None => file_url(cx, &file, page).await,
    }
}

/// `GET /v1/scores/{id}/parts/{part_id}/download-url?page=`: the owner's part file.
///
/// # Errors
/// 422 for a bad page; 404.
pub async fn download_url<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    score: &str,
    id: &str,
    query: &[(String, String)],
) -> ApiResult<Download> {
    let page = page_param(query);
    let row = load(cx, user, score, id).await?;
    part_file_url(cx, &row, page?).await
}
