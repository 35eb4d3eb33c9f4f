//! The library's use cases (SPEC §2, §3): quota reservations and upload URLs, scores created
//! from verified uploads, reading, editing, deleting and listing them, and download URLs of a
//! file or of one of its pages (rendered by the queue).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::views;
use crate::domain::fields::Fields;
use crate::domain::ids;
use crate::domain::score::{ScoreFields, UploadRequest, PDF_MIME, SCORE_FIELDS, ZIP_MIME};
use crate::domain::task::Task;
use crate::error::{ApiError, ApiResult};
use crate::media::PAGE_WIDTH;
use crate::media::PDF_MAGIC;
use crate::ports::{changed, Blobs, Db, Ports, Tasks};
use crate::storage::presign::{self, UploadSpec};
use crate::storage::{keys, sigv4};
use crate::store::library::{self as q, NewScore, NewUpload, PageImage};
use crate::store::processing::Of;
use crate::store::rows::{IdRow, ScoreRow, ScoreSummaryRow, UploadRow, UsageRow};
use crate::store::search::ListQuery;
use crate::store::{accounts, Stmt};

use super::{limits, Cx};

/// 409 `DUPLICATE_SCORE` naming the score that already holds the file.
pub(super) fn duplicate(score_id: String) -> ApiError {
    let mut extra = Map::new();
    extra.insert("score_id".into(), Value::String(score_id));
    ApiError::Conflict {
        code: "DUPLICATE_SCORE",
        message: "you already have a score with this file".into(),
        extra,
    }
}

/// The answer to an upload that is no longer open.
fn upload_state_error(upload: &UploadRow) -> ApiError {
    if upload.state == "consumed" {
        let mut extra = Map::new();
        extra.insert("score_id".into(), json!(upload.score_id));
        ApiError::Conflict {
            code: "UPLOAD_CONSUMED",
            message: "this upload already became a score".into(),
            extra,
        }
    } else {
        ApiError::conflict(
            "UPLOAD_EXPIRED",
            "this upload has expired; request a new upload URL",
        )
    }
}

/// The answer to bytes that do not start with `%PDF-` (nothing of them is kept).
pub fn not_a_pdf() -> ApiError {
    ApiError::UnsupportedMediaType("the file is not a PDF (it must start with %PDF-)")
}

/// `POST /v1/uploads`: validate, count against the upload-URL limit, dedupe, reserve quota
/// atomically, presign. Returns the upload view.
///
/// # Errors
/// 415 for another media type, 422 per field, 429, 409 `DUPLICATE_SCORE` (nothing reserved),
/// 413 `QUOTA_EXCEEDED` with the figures.
pub async fn create_upload<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    body: Map<String, Value>,
) -> ApiResult<views::Upload> {
    UploadRequest::check_media_type(&body)?;
    let mut f = Fields::new(body, &["filename", "size", "mime", "sha256"]);
    let request = UploadRequest::parse(
        &mut f,
        (cx.config.max_upload_bytes, cx.config.max_import_bytes),
    );
    f.finish()?;
    let request =
        request.ok_or_else(|| ApiError::internal("upload fields reported valid but missing"))?;
    // One round trip: count the request for the user's upload-URL limit and look for the file
    // among their scores (a duplicate answers 409 and reserves nothing; an archive to import is
    // never a score's file).
    let per_user = limits::window(cx, "upload-urls", user_id, cx.config.rate_upload_urls);
    let mut stmts = Vec::with_capacity(2);
    if let Some(w) = &per_user {
        stmts.push(crate::store::limits::hit(w));
    }
    if !request.is_archive() {
        stmts.push(q::score_id_by_hash(user_id, &request.sha256));
    }
    let outcomes = if stmts.is_empty() {
        Vec::new()
    } else {
        cx.db().batch(stmts).await?
    };
    if let Some(w) = &per_user {
        w.check(limits::hits(outcomes.first())?)?;
    }
    if let Some(row) = outcomes
        .last()
        .filter(|_| !request.is_archive())
        .map(|o| o.first::<IdRow>())
        .transpose()?
        .flatten()
    {
        return Err(duplicate(row.id));
    }
    let upload_id = cx.id("upl")?;
    let key = if request.is_archive() {
        keys::import_archive(user_id, &upload_id)
    } else {
        keys::score_pdf(user_id, &upload_id)
    };
    let now = cx.now_text();
    let expires = cx
        .now
        .plus_seconds(i64::from(cx.config.upload_url_ttl_seconds));
    let expires_at = expires.rfc3339();
    let consumable_until = expires
        .plus_seconds(cx.config.upload_grace_seconds)
        .rfc3339();
    let reserved = cx
        .db()
        .batch(
            q::reserve_upload(&NewUpload {
                id: &upload_id,
                user_id,
                filename: &request.filename,
                size: request.size,
                mime: &request.mime,
                sha256: &request.sha256,
                object_key: &key,
                expires_at: &expires_at,
                consumable_until: &consumable_until,
                now: &now,
            })
            .into(),
        )
        .await?;
    if !changed(&reserved, 0) {
        let usage = cx
            .db()
            .first::<UsageRow>(q::usage(user_id))
            .await?
            .ok_or(ApiError::NotFound)?;
        return Err(ApiError::QuotaExceeded {
            quota_bytes: usage.quota_bytes,
            used_bytes: usage.used_bytes,
            reserved_bytes: usage.reserved_bytes,
            requested_bytes: request.size,
        });
    }
    let presigned = presign::upload(
        &cx.config.presign,
        cx.config.blob_key()?,
        cx.base_url,
        &UploadSpec {
            key: &key,
            upload_id: &upload_id,
            size: u64::try_from(request.size).unwrap_or(0),
            sha256_hex: &request.sha256,
            mime: &request.mime,
        },
        cx.now,
        cx.config.upload_url_ttl_seconds,
    );
    Ok(views::upload(&upload_id, &presigned))
}

/// Gives an open upload's reserved bytes back and marks it `state` (`released` or `expired`), in
/// one batch that also records its object in the deletion outbox; then deletes the object. Only
/// the call whose state change won touches the object: a request that lost a race to a create
/// (or to the sweep) must not delete what is now a score's file. Safe to repeat. Whether this
/// call released it.
///
/// # Errors
/// Database errors (a failed object delete is left to the outbox).
pub async fn release_upload<P: Ports>(
    cx: &Cx<'_, P>,
    upload_id: &str,
    object_key: &str,
    state: &str,
) -> ApiResult<bool> {
    let now = cx.now_text();
    let outcomes = cx
        .db()
        .batch(q::release_upload(upload_id, &now, state).into())
        .await?;
    let won = changed(&outcomes, 1);
    if won && cx.blobs().delete(object_key).await.is_ok() {
        cx.db().run(q::deletion_done(object_key, &now)).await?;
    }
    Ok(won)
}

/// The answer to a create that found its upload no longer open: it became a score meanwhile (a
/// concurrent or retried create won), or expired.
pub(super) async fn current_state_error<P: Ports>(cx: &Cx<'_, P>, upload: &UploadRow) -> ApiError {
    match cx
        .db()
        .first::<UploadRow>(q::upload(&upload.id, &upload.user_id))
        .await
    {
        Ok(Some(current)) => upload_state_error(&current),
        Ok(None) => ApiError::NotFound,
        Err(e) => e,
    }
}

/// Releases `upload` because it cannot become a score (`err`); if the release lost a race (the
/// upload became a score or expired meanwhile) the answer is the upload's current state instead.
pub(super) async fn release_with<P: Ports>(
    cx: &Cx<'_, P>,
    upload: &UploadRow,
    err: ApiError,
) -> ApiError {
    match release_upload(cx, &upload.id, &upload.object_key, "released").await {
        Ok(true) => err,
        Ok(false) => current_state_error(cx, upload).await,
        Err(e) => e,
    }
}

/// The upload's stored object, there and of the declared size.
///
/// # Errors
/// 409 `UPLOAD_INCOMPLETE` before the PUT; 400 for another size; 502.
pub(super) async fn stored_object<P: Ports>(
    cx: &Cx<'_, P>,
    upload: &UploadRow,
) -> ApiResult<crate::ports::ObjectInfo> {
    let info = cx.blobs().head(&upload.object_key).await?.ok_or_else(|| {
        ApiError::conflict(
            "UPLOAD_INCOMPLETE",
            "the file has not been uploaded yet: PUT it to the upload URL first",
        )
    })?;
    if i64::try_from(info.size).ok() != Some(upload.size_bytes) {
        return Err(ApiError::ContentMismatch(format!(
            "the stored file has {} bytes, not the {} declared",
            info.size, upload.size_bytes
        )));
    }
    Ok(info)
}

/// Checks that the stored object is the declared one (size, SHA-256, the PDF magic); a stored
/// object that is not a PDF releases the upload.
async fn verify_object<P: Ports>(cx: &Cx<'_, P>, upload: &UploadRow) -> ApiResult<()> {
    let blobs = cx.blobs();
    let info = stored_object(cx, upload).await?;
    let hash = match info.sha256 {
        Some(h) => Some(h),
        None => blobs.sha256(&upload.object_key).await?,
    };
    if hash.map(|h| sigv4::hex(&h)).as_deref() != Some(upload.sha256.as_str()) {
        return Err(ApiError::ContentMismatch(
            "the stored file does not match the declared sha256".into(),
        ));
    }
    let magic_len = PDF_MAGIC.len() as u64;
    let head = blobs
        .read(&upload.object_key, Some((0, magic_len)))
        .await?
        .unwrap_or_default();
    if upload.state == "reserved" && head != PDF_MAGIC {
        return Err(release_with(cx, upload, not_a_pdf()).await);
    }
    Ok(())
}

/// The caller's upload `upload_id` of type `mime`, still open and consumable (the first step of
/// making a score, a part or an import from it).
///
/// # Errors
/// 404 for a malformed id or another user's upload; 422 on `upload_id` for an upload of another
/// type (an archive to import is no score, a PDF no archive); 409
/// `UPLOAD_CONSUMED`/`UPLOAD_EXPIRED`.
pub(super) async fn open_upload<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    upload_id: &str,
    mime: &str,
) -> ApiResult<UploadRow> {
    if !ids::is_well_formed("upl", upload_id) {
        return Err(ApiError::NotFound);
    }
    let upload = cx
        .db()
        .first::<UploadRow>(q::upload(upload_id, user_id))
        .await?
        .ok_or(ApiError::NotFound)?;
    if upload.mime != mime {
        let message = if upload.mime == ZIP_MIME {
            "is an archive upload (application/zip): import it with POST /v1/imports"
        } else {
            "is not an archive upload (application/zip)"
        };
        let mut fields = crate::error::FieldErrors::new();
        fields.insert("upload_id".into(), message.into());
        return Err(ApiError::Validation(fields));
    }
    if !matches!(upload.state.as_str(), "reserved" | "stored")
        || upload.consumable_until <= cx.now_text()
    {
        return Err(upload_state_error(&upload));
    }
    Ok(upload)
}

/// Checks an open upload before it is consumed: a file the caller already has (`duplicate`, the
/// answer naming it) releases the upload; the stored object must be the declared PDF.
///
/// # Errors
/// The duplicate's answer (or the upload's current state when the release lost a race); as
/// [`verify_object`].
pub(super) async fn check_upload<P: Ports>(
    cx: &Cx<'_, P>,
    upload: &UploadRow,
    duplicate: Option<ApiError>,
) -> ApiResult<()> {
    if let Some(err) = duplicate {
        return Err(release_with(cx, upload, err).await);
    }
    verify_object(cx, upload).await
}

/// `POST /v1/scores`: a verified upload becomes a score (reservation → usage in the same batch)
/// and its processing is queued. Returns the score's JSON.
///
/// # Errors
/// 422 per field; 404 for another user's upload; 409 `UPLOAD_CONSUMED`/`UPLOAD_EXPIRED`/
/// `UPLOAD_INCOMPLETE`/`DUPLICATE_SCORE`; 400/415 when the stored bytes are not the declared PDF.
pub async fn create_score<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut allowed = SCORE_FIELDS.to_vec();
    allowed.push("upload_id");
    let mut f = Fields::new(body, &allowed);
    let upload_id = f.string("upload_id");
    let fields = ScoreFields::parse(&mut f, true);
    f.finish()?;
    let upload_id =
        upload_id.ok_or_else(|| ApiError::internal("upload_id reported valid but missing"))?;
    let upload = open_upload(cx, user_id, &upload_id, PDF_MIME).await?;
    let now = cx.now_text();
    let existing = || {
        cx.db()
            .first::<IdRow>(q::score_id_by_hash(user_id, &upload.sha256))
    };
    check_upload(cx, &upload, existing().await?.map(|row| duplicate(row.id))).await?;
    let score_id = cx.id("sco")?;
    let batch = cx
        .db()
        .batch(
            q::create_score(&NewScore {
                id: &score_id,
                user_id,
                upload_id: &upload.id,
                fields: &fields,
                now: &now,
            })
            .into(),
        )
        .await;
    let outcomes = match batch {
        Ok(outcomes) => outcomes,
        // A concurrent create of the same content won the unique index; the batch rolled back.
        Err(e) => match existing().await? {
            Some(row) => return Err(release_with(cx, &upload, duplicate(row.id)).await),
            None => return Err(e),
        },
    };
    if !changed(&outcomes, 2) {
        // Someone consumed it, or the sweep expired it, between our read and our write.
        return Err(current_state_error(cx, &upload).await);
    }
    let tasks = vec![
        Task::PdfInfo {
            score_id: score_id.clone(),
        },
        Task::Thumbnail {
            score_id: score_id.clone(),
        },
    ];
    // A failed send leaves the tasks pending; the sweep sends them again.
    let _ = cx.tasks().send(tasks).await;
    let row = load(cx, &score_id, user_id)
        .await?
        .ok_or_else(|| ApiError::internal("score vanished after insert"))?;
    Ok(score_view(cx, &row))
}

/// A short-lived URL for a thumbnail, if there is one (and the signing key is configured).
pub fn thumbnail_url<P>(cx: &Cx<'_, P>, key: Option<&str>) -> Option<String> {
    let blob_key = cx.config.blob_key().ok()?;
    Some(
        presign::download(
            &cx.config.presign,
            blob_key,
            cx.base_url,
            key?,
            "image/png",
            cx.now,
            cx.config.download_url_ttl_seconds,
        )
        .url,
    )
}

/// The score object as JSON text, with a short-lived `thumbnail_url` when a thumbnail exists.
pub fn score_view<P>(cx: &Cx<'_, P>, row: &ScoreRow) -> String {
    let url = thumbnail_url(cx, row.thumbnail_key.as_deref());
    views::score_json(&row.json, url.as_deref())
}

async fn load<P: Ports>(cx: &Cx<'_, P>, id: &str, owner: &str) -> ApiResult<Option<ScoreRow>> {
    if !ids::is_well_formed("sco", id) {
        return Ok(None);
    }
    cx.db().first::<ScoreRow>(q::score(id, owner)).await
}

/// `GET /v1/scores/{id}`: the owner's score as JSON.
///
/// # Errors
/// 404 for a missing or another user's score.
pub async fn get_score<P: Ports>(cx: &Cx<'_, P>, user_id: &str, id: &str) -> ApiResult<String> {
    let row = load(cx, id, user_id).await?.ok_or(ApiError::NotFound)?;
    Ok(score_view(cx, &row))
}

/// `PATCH /v1/scores/{id}`: absent keeps a field, `null` clears it, `tags` replaces the list;
/// a change records a version (the database's trigger) and the history keeps the newest.
///
/// # Errors
/// 422 per field, 404.
pub async fn patch_score<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, SCORE_FIELDS);
    let fields = ScoreFields::parse(&mut f, false);
    f.finish()?;
    if !ids::is_well_formed("sco", id) {
        return Err(ApiError::NotFound);
    }
    let now = cx.now_text();
    let outcomes = cx
        .db()
        .batch(q::patch_score(
            id,
            user_id,
            &fields,
            cx.config.score_versions_max,
            &now,
        ))
        .await?;
    if !changed(&outcomes, 0) {
        return Err(ApiError::NotFound);
    }
    get_score(cx, user_id, id).await
}

/// `GET /v1/scores`: one statement both checks the session and reads the page (one round
/// trip); only an empty page needs a second look, to tell "no scores" from "session revoked".
/// Returns `{scores, next_cursor}` as JSON text, each row a score summary (decision 136) spliced
/// as SQL built it.
///
/// # Errors
/// 422 for a bad query or cursor, 401 for a revoked session.
pub async fn list_scores<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    session_id: &str,
    query: &[(String, String)],
) -> ApiResult<String> {
    let key = cx.config.cursor_key()?;
    let list = ListQuery::parse(query, key)?;
    let (sql, args) = list.sql(&q::score_summary_columns(), user_id, Some(session_id));
    let rows = cx.db().all::<ScoreSummaryRow>(Stmt::new(sql, args)).await?;
    if rows.is_empty()
        && cx
            .db()
            .first::<Value>(accounts::authenticate(session_id, user_id))
            .await?
            .is_none()
    {
        return Err(ApiError::InvalidToken("session revoked"));
    }
    let (rows, next_cursor) = list
        .pager(key)
        .page(rows, |last| list.position(last.sort_key.as_ref(), &last.id));
    let mut body =
        String::with_capacity(rows.iter().map(|r| r.json.len() + 32).sum::<usize>() + 64);
    body.push_str("{\"scores\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        let url = thumbnail_url(cx, row.thumbnail_key.as_deref());
        body.push_str(&views::score_json(&row.json, url.as_deref()));
    }
    body.push_str("],\"next_cursor\":");
    body.push_str(&Value::from(next_cursor).to_string());
    body.push('}');
    Ok(body)
}

/// `?page=N` (the only parameter of a download-url call).
///
/// # Errors
/// 422 for an unknown parameter or a page that is not a number from 1.
pub fn page_param(query: &[(String, String)]) -> ApiResult<Option<usize>> {
    let mut f = Fields::new(Map::new(), &[]);
    let mut page = None;
    for (k, v) in query {
        match k.as_str() {
            "page" => match v.parse::<usize>() {
                Ok(n) if n >= 1 => page = Some(n),
                _ => f.error("page", "must be a page number (1, 2, …)"),
            },
            other => f.error(other, "unknown parameter"),
        }
    }
    f.finish().map(|()| page)
}

/// What a download URL needs to know of a score's file (or of a part's own).
pub struct StoredFile<'a> {
    /// Whose file it is: page images are recorded on, and counted against, that score or part.
    pub of: Of,
    pub id: &'a str,
    /// The `pdf_info` task's state and reason: page images wait for the page count.
    pub inspection: (&'a str, Option<&'a str>),
    pub object_key: &'a str,
    pub pages: Option<u64>,
    pub size_bytes: i64,
}

/// A download: a short-lived URL, or (for a page image the queue is still making) pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    Ready {
        url: String,
        expires_at: String,
    },
    /// A bookmark's pages: the songbook's URL (or the extracted PDF's) with the range.
    Pages {
        url: String,
        expires_at: String,
        first_page: i64,
        last_page: i64,
    },
    /// Asked for; the queue has not started on it.
    Pending,
    /// The queue is making it.
    Running,
}

/// `GET /v1/scores/{id}/download-url?page=`: the owner's file, or one of its pages.
///
/// # Errors
/// 422 for a bad `page`; 404.
pub async fn download_url<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    id: &str,
    query: &[(String, String)],
) -> ApiResult<Download> {
    let page = page_param(query);
    let row = load(cx, id, user_id).await?.ok_or(ApiError::NotFound)?;
    let page = page?;
    let stored: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
    let inspected = &stored["processing"]["pdf_info"];
    let file = StoredFile {
        of: Of::Score,
        id: &row.id,
        inspection: (
            inspected["state"].as_str().unwrap_or("pending"),
            inspected["reason"].as_str(),
        ),
        object_key: &row.object_key,
        pages: stored["pages"].as_u64(),
        size_bytes: stored["size_bytes"].as_i64().unwrap_or(0),
    };
    file_url(cx, &file, page).await
}

/// The URL of the PDF, or of page `page` once the queue has rendered it.
///
/// # Errors
/// 422 for a page the file lacks or cannot render (remembered), or over the score's budget of
/// derived images; 429 past the owner's render limit.
pub async fn file_url<P: Ports>(
    cx: &Cx<'_, P>,
    file: &StoredFile<'_>,
    page: Option<usize>,
) -> ApiResult<Download> {
    let (key, mime) = match page {
        None => (file.object_key.to_owned(), PDF_MIME),
        Some(n) => match page_image(cx, file, n).await? {
            Some(key) => (key, "image/png"),
            None => return Ok(Download::Pending),
        },
    };
    let p = presign::download(
        &cx.config.presign,
        cx.config.blob_key()?,
        cx.base_url,
        &key,
        mime,
        cx.now,
        cx.config.download_url_ttl_seconds,
    );
    Ok(Download::Ready {
        url: p.url,
        expires_at: p.expires_at.rfc3339(),
    })
}

#[derive(Deserialize)]
struct RenderState {
    state: Option<String>,
    reason: Option<String>,
    full: Option<i64>,
}

/// The key of page `number` rendered for reading, or `None` while the queue renders it. The
/// request never renders: the first one for a page inserts its pending row and sends the one
/// render message (single flight per page and width); a failure is remembered with its reason
/// and answered as 422 without rendering again; a score (or part) whose derived images fill their
/// budget gets no more; no page is rendered before the page count is known.
async fn page_image<P: Ports>(
    cx: &Cx<'_, P>,
    file: &StoredFile<'_>,
    number: usize,
) -> ApiResult<Option<String>> {
    match file.inspection {
        ("pending", _) => return Ok(None),
        ("failed", reason) => {
            return Err(ApiError::field(
                "page",
                format!(
                    "the file cannot be read: {}",
                    reason.unwrap_or("inspection failed")
                ),
            ))
        }
        _ => {}
    }
    let whose = match file.of {
        Of::Score => "score",
        Of::Part => "part",
    };
    if let Some(pages) = file.pages {
        if number as u64 > pages {
            return Err(ApiError::field(
                "page",
                format!("the {whose} has {pages} pages"),
            ));
        }
    }
    let limit = cx.config.whole_file_max_bytes;
    if file.size_bytes > limit {
        return Err(ApiError::field(
            "page",
            format!(
                "pages of files over {} are not rendered",
                crate::domain::human_bytes(limit)
            ),
        ));
    }
    let page = u32::try_from(number).map_err(|_| ApiError::field("page", "is too large"))?;
    let image = PageImage {
        of: file.of,
        id: file.id,
        page,
        width: PAGE_WIDTH,
        pdf_bytes: file.size_bytes,
        floor: cx.config.derived_min_bytes,
    };
    let mut current = cx.db().first::<RenderState>(q::page_render(&image)).await?;
    if current.as_ref().is_some_and(|r| r.state.is_none()) {
        // Each new render is queue work the owner's library pays for: counted per owner, whoever
        // asks (the owner, a member, a public link).
        let owner = keys::owner_of(file.object_key);
        let renders = limits::window(cx, "renders", owner, cx.config.rate_renders);
        limits::hit(cx, &[renders]).await?;
        let asked = cx
            .db()
            .run(q::request_render(&image, &cx.now_text()))
            .await?;
        if asked > 0 {
            let (id, width) = (file.id.to_owned(), PAGE_WIDTH);
            let task = match file.of {
                Of::Score => Task::RenderPage {
                    score_id: id,
                    page,
                    width,
                },
                Of::Part => Task::PartRenderPage {
                    part_id: id,
                    page,
                    width,
                },
            };
            // The row stays pending; the sweep sends the message again if this one is lost.
            let _ = cx.tasks().send(vec![task]).await;
            return Ok(None);
        }
        current = cx.db().first::<RenderState>(q::page_render(&image)).await?;
    }
    match current {
        Some(RenderState {
            state: Some(state),
            reason,
            ..
        }) => match state.as_str() {
            "ok" => Ok(Some(keys::page_image(file.object_key, page, PAGE_WIDTH))),
            "failed" => Err(ApiError::field(
                "page",
                reason.unwrap_or_else(|| "cannot be rendered".into()),
            )),
            _ => Ok(None),
        },
        Some(RenderState { full: Some(1), .. }) => Err(ApiError::field(
            "page",
            format!("the page images of this {whose} fill its storage budget"),
        )),
        // The score (or part) was deleted meanwhile.
        _ => Err(ApiError::NotFound),
    }
}

/// `GET /v1/me/usage`.
///
/// # Errors
/// 404 when the user is gone.
pub async fn usage<P: Ports>(cx: &Cx<'_, P>, user_id: &str) -> ApiResult<views::Usage> {
    // Sharded, a member's layers on others' setlists are charged to the user's copy in the
    // owner's database (`domain::shard`): the usage is every copy's (with one database, its
    // one row).
    let mut total: Option<UsageRow> = None;
    for db in cx.ports.dbs() {
        let Some(copy) = db.first::<UsageRow>(q::usage(user_id)).await? else {
            continue;
        };
        match total.as_mut() {
            None => total = Some(copy),
            Some(t) => {
                t.used_bytes += copy.used_bytes;
                t.reserved_bytes += copy.reserved_bytes;
            }
        }
    }
    Ok(views::usage(&total.ok_or(ApiError::NotFound)?))
}

/// The upload a Worker-mode `PUT /v1/blobs/{token}` writes to, while it is still open.
///
/// # Errors
/// 404; 409 `UPLOAD_CONSUMED`/`UPLOAD_EXPIRED`.
pub async fn upload_to_fill<P: Ports>(
    cx: &Cx<'_, P>,
    upload_id: &str,
    owner: &str,
) -> ApiResult<UploadRow> {
    let upload = cx
        .db()
        .first::<UploadRow>(q::upload(upload_id, owner))
        .await?
        .ok_or(ApiError::NotFound)?;
    match upload.state.as_str() {
        "reserved" | "stored" => Ok(upload),
        _ => Err(upload_state_error(&upload)),
    }
}

/// A Worker-mode PUT landed and was verified.
///
/// # Errors
/// Database errors.
pub async fn upload_stored<P: Ports>(cx: &Cx<'_, P>, upload_id: &str) -> ApiResult<()> {
    cx.db()
        .run(q::mark_upload_stored(upload_id, &cx.now_text()))
        .await
        .map(drop)
}
