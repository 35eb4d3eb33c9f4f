//! Uploads and scores (SPEC §2, §3): quota reservation, score creation from a verified upload,
//! list/search, read, edit, delete, and download URLs.

use serde_json::{json, Map, Value};

use crate::api::fields::Fields;
use crate::api::views;
use crate::domain::ids;
use crate::domain::score::{ScoreFields, UploadRequest, PDF_MIME, SCORE_FIELDS};
use crate::error::{ApiError, ApiResult};
use crate::jobs::Task;
use crate::storage::keys;
use crate::storage::presign::{self, UploadSpec};
use crate::store::rows::{IdRow, ScoreRow, UploadRow, UsageRow, UserRow};
use crate::store::search::ListQuery;
use crate::store::sql;

use super::blobs::not_a_pdf;
use super::ctx::Ctx;
use super::d1::{self, Arg, Db};
use super::http::{Call, Reply};
use super::limits;
use super::r2::Files;
use crate::media::{thumbnail, PDF_MAGIC};

fn base_url<'a>(ctx: &'a Ctx, origin: &'a str) -> &'a str {
    ctx.config.public_base_url.as_deref().unwrap_or(origin)
}

fn duplicate(score_id: String) -> ApiError {
    let mut extra = Map::new();
    extra.insert("score_id".into(), Value::String(score_id));
    ApiError::Conflict {
        code: "DUPLICATE_SCORE",
        message: "you already have a score with this file".into(),
        extra,
    }
}

async fn existing_score_with_hash(
    ctx: &Ctx,
    user_id: &str,
    sha256: &str,
) -> ApiResult<Option<String>> {
    Ok(ctx
        .db
        .first::<IdRow>(sql::SCORE_ID_BY_HASH, &[user_id.into(), sha256.into()])
        .await?
        .map(|r| r.id))
}

/// `POST /v1/uploads`: validate, dedupe, reserve quota atomically, presign.
pub async fn create_upload(call: Call) -> ApiResult<Reply> {
    let user = call.caller()?.user.clone();
    let Call {
        ctx, body, origin, ..
    } = call;
    UploadRequest::check_media_type(&body)?;
    let mut f = Fields::new(body, &["filename", "size", "mime", "sha256"]);
    let request = UploadRequest::parse(&mut f, ctx.config.max_upload_bytes);
    f.finish()?;
    let request =
        request.ok_or_else(|| ApiError::internal("upload fields reported valid but missing"))?;
    // One round trip: count the request for the user's upload-URL limit and look for the file
    // among their scores (a duplicate answers 409 and reserves nothing).
    let per_user = limits::window(&ctx, "upload-urls", &user.id, ctx.config.rate_upload_urls);
    let mut stmts = Vec::with_capacity(2);
    if let Some(w) = &per_user {
        stmts.push(limits::hit_stmt(&ctx, w)?);
    }
    stmts.push(ctx.db.stmt(
        sql::SCORE_ID_BY_HASH,
        &[(&user.id).into(), (&request.sha256).into()],
    )?);
    let results = ctx.db.batch_results(stmts).await?;
    let mut results = results.iter();
    if let Some(w) = &per_user {
        w.check(limits::hits(results.next())?)?;
    }
    let existing = results
        .next()
        .map(|r| r.results::<IdRow>())
        .transpose()
        .map_err(|e| ApiError::internal(format!("dedupe row: {e}")))?
        .and_then(|rows| rows.into_iter().next());
    if let Some(row) = existing {
        return Err(duplicate(row.id));
    }
    let upload_id = ctx.id("upl")?;
    let key = keys::score_pdf(&user.id, &upload_id);
    let now = ctx.now.rfc3339();
    let expires = ctx
        .now
        .plus_seconds(i64::from(ctx.config.upload_url_ttl_seconds));
    let consumable_until = expires
        .plus_seconds(ctx.config.upload_grace_seconds)
        .rfc3339();
    let expires_text = expires.rfc3339();
    let changes = ctx
        .db
        .batch(vec![
            ctx.db.stmt(
                sql::RESERVE_UPLOAD,
                &[
                    (&upload_id).into(),
                    (&user.id).into(),
                    (&request.filename).into(),
                    request.size.into(),
                    (&request.mime).into(),
                    (&request.sha256).into(),
                    (&key).into(),
                    (&expires_text).into(),
                    (&consumable_until).into(),
                    (&now).into(),
                ],
            )?,
            ctx.db.stmt(
                sql::CHARGE_RESERVATION,
                &[(&upload_id).into(), (&user.id).into(), (&now).into()],
            )?,
        ])
        .await?;
    if !d1::changed(&changes, 0) {
        let usage = ctx
            .db
            .first::<UsageRow>(sql::USAGE, &[(&user.id).into()])
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
        &ctx.config.presign,
        ctx.config.blob_key()?,
        base_url(&ctx, &origin),
        &UploadSpec {
            key: &key,
            upload_id: &upload_id,
            size: u64::try_from(request.size).unwrap_or(0),
            sha256_hex: &request.sha256,
            mime: PDF_MIME,
        },
        ctx.now,
        ctx.config.upload_url_ttl_seconds,
    );
    Ok(Reply::Json(201, views::upload(&upload_id, &presigned)))
}

/// Releases an open upload's reservation and its object (dedupe at create time, a non-PDF);
/// whether this call released it.
async fn release(ctx: &Ctx, upload: &UploadRow, state: &str) -> ApiResult<bool> {
    let files = ctx.files()?;
    release_upload(
        &ctx.db,
        &files,
        &upload.id,
        &upload.object_key,
        &ctx.now.rfc3339(),
        state,
    )
    .await
}

/// The answer to a create that found its upload no longer open: it became a score meanwhile
/// (a concurrent or retried create won), or expired.
async fn current_state_error(ctx: &Ctx, upload: &UploadRow) -> ApiError {
    match ctx
        .db
        .first::<UploadRow>(
            sql::UPLOAD_BY_ID,
            &[(&upload.id).into(), (&upload.user_id).into()],
        )
        .await
    {
        Ok(Some(current)) => upload_state_error(&current),
        Ok(None) => ApiError::NotFound,
        Err(e) => e,
    }
}

/// Gives an open upload's reserved bytes back and marks it `state` (`released` or `expired`) in
/// one batch that also records its object in the deletion outbox, then deletes the object. Only
/// the call whose state change won touches the object: a request that lost a race to a create
/// (or the sweep) must not delete what is now a score's file. Safe to repeat. Returns whether
/// this call released it.
pub async fn release_upload(
    db: &Db,
    files: &Files,
    upload_id: &str,
    object_key: &str,
    now: &str,
    state: &str,
) -> ApiResult<bool> {
    let changes = db
        .batch(vec![
            db.stmt(&sql::release_charge(), &[upload_id.into(), now.into()])?,
            db.stmt(
                &sql::release_upload(),
                &[upload_id.into(), now.into(), state.into()],
            )?,
            db.stmt(
                sql::QUEUE_RELEASE_DELETION,
                &[upload_id.into(), now.into(), state.into()],
            )?,
        ])
        .await?;
    let won = d1::changed(&changes, 1);
    // Best effort: the outbox row deletes it later if this fails.
    if won && files.delete(object_key).await.is_ok() {
        db.run(sql::DELETION_DONE, &[object_key.into(), now.into()])
            .await?;
    }
    Ok(won)
}

/// Checks that the stored object is the declared one (size, sha256, PDF magic).
async fn verify_object(ctx: &Ctx, upload: &UploadRow) -> ApiResult<()> {
    let files = ctx.files()?;
    let info = files.head(&upload.object_key).await?.ok_or_else(|| {
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
    let hash = match info.sha256 {
        Some(h) => Some(h),
        None => files.sha256_of(&upload.object_key).await?,
    };
    if hash.map(|h| crate::storage::sigv4::hex(&h)).as_deref() != Some(upload.sha256.as_str()) {
        return Err(ApiError::ContentMismatch(
            "the stored file does not match the declared sha256".into(),
        ));
    }
    if upload.state == "reserved"
        && files
            .prefix(&upload.object_key, PDF_MAGIC.len() as u64)
            .await?
            != PDF_MAGIC
    {
        release(ctx, upload, "released").await?;
        return Err(not_a_pdf());
    }
    Ok(())
}

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

/// `POST /v1/scores`: turn a verified upload into a score; reservation → usage in the same batch.
pub async fn create_score(call: Call) -> ApiResult<Reply> {
    let user = call.caller()?.user.clone();
    let Call {
        ctx, body, origin, ..
    } = call;
    let mut allowed = SCORE_FIELDS.to_vec();
    allowed.push("upload_id");
    let mut f = Fields::new(body, &allowed);
    let upload_id = f.string("upload_id");
    let fields = ScoreFields::parse(&mut f, true);
    f.finish()?;
    let upload_id =
        upload_id.ok_or_else(|| ApiError::internal("upload_id reported valid but missing"))?;
    if !ids::is_well_formed("upl", &upload_id) {
        return Err(ApiError::NotFound);
    }
    let upload = ctx
        .db
        .first::<UploadRow>(sql::UPLOAD_BY_ID, &[(&upload_id).into(), (&user.id).into()])
        .await?
        .ok_or(ApiError::NotFound)?;
    let now_text = ctx.now.rfc3339();
    if !matches!(upload.state.as_str(), "reserved" | "stored")
        || upload.consumable_until <= now_text
    {
        return Err(upload_state_error(&upload));
    }
    if let Some(score_id) = existing_score_with_hash(&ctx, &user.id, &upload.sha256).await? {
        if !release(&ctx, &upload, "released").await? {
            return Err(current_state_error(&ctx, &upload).await);
        }
        return Err(duplicate(score_id));
    }
    verify_object(&ctx, &upload).await?;

    let score_id = ctx.id("sco")?;
    let text = |v: &Option<Option<String>>| v.clone().flatten();
    let (composer, arranger, instrumentation, key, notes) = (
        text(&fields.composer),
        text(&fields.arranger),
        text(&fields.instrumentation),
        text(&fields.key),
        text(&fields.notes),
    );
    let title = fields.title.clone().unwrap_or_default();
    let tags = serde_json::to_string(&fields.tags.clone().unwrap_or_default())
        .unwrap_or_else(|_| "[]".into());
    let batch = ctx
        .db
        .batch(vec![
            ctx.db.stmt(
                &sql::consume_charge(),
                &[(&user.id).into(), (&upload.id).into(), (&now_text).into()],
            )?,
            ctx.db.stmt(
                &sql::consume_upload(),
                &[
                    (&user.id).into(),
                    (&upload.id).into(),
                    (&now_text).into(),
                    (&score_id).into(),
                ],
            )?,
            ctx.db.stmt(
                sql::INSERT_SCORE,
                &[
                    (&score_id).into(),
                    (&upload.id).into(),
                    (&title).into(),
                    composer.as_ref().into(),
                    arranger.as_ref().into(),
                    instrumentation.as_ref().into(),
                    key.as_ref().into(),
                    notes.as_ref().into(),
                    fields.rating.flatten().into(),
                    fields.difficulty.flatten().into(),
                    fields.duration.flatten().into(),
                    (&now_text).into(),
                    (&tags).into(),
                ],
            )?,
            ctx.db
                .stmt(sql::INSERT_TAGS, &[(&score_id).into(), (&tags).into()])?,
        ])
        .await;
    let changes = match batch {
        Ok(changes) => changes,
        Err(e) => {
            // A concurrent create of the same content wins the unique index; the batch rolled back.
            if let Some(existing) = existing_score_with_hash(&ctx, &user.id, &upload.sha256).await?
            {
                if !release(&ctx, &upload, "released").await? {
                    return Err(current_state_error(&ctx, &upload).await);
                }
                return Err(duplicate(existing));
            }
            return Err(e);
        }
    };
    if !d1::changed(&changes, 2) {
        // Someone consumed or the sweep expired it between our read and our write.
        return Err(current_state_error(&ctx, &upload).await);
    }
    let tasks = vec![
        Task::PdfInfo {
            score_id: score_id.clone(),
        },
        Task::Thumbnail {
            score_id: score_id.clone(),
        },
    ];
    if let Err(e) = ctx.enqueue(tasks).await {
        // The score exists with its tasks pending; the sweep re-enqueues stale pending work.
        worker::console_error!(
            "{}",
            json!({"level": "error", "msg": "enqueue failed", "score_id": score_id, "error": e.to_string()})
        );
    }
    let row = load_score(&ctx, &score_id, &user.id)
        .await?
        .ok_or_else(|| ApiError::internal("score vanished after insert"))?;
    Ok(score_reply(201, &ctx, &row, &origin))
}

/// A short-lived URL for a thumbnail, if there is one (and the signing key is configured).
pub fn thumbnail_url(ctx: &Ctx, origin: &str, key: Option<&str>) -> Option<String> {
    let blob_key = ctx.config.blob_key().ok()?;
    Some(
        presign::download(
            &ctx.config.presign,
            blob_key,
            base_url(ctx, origin),
            key?,
            "image/png",
            ctx.now,
            ctx.config.download_url_ttl_seconds,
        )
        .url,
    )
}

/// The score object as JSON text, with a short-lived `thumbnail_url` when a thumbnail exists.
pub fn score_view(ctx: &Ctx, row: &ScoreRow, origin: &str) -> String {
    let url = thumbnail_url(ctx, origin, row.thumbnail_key.as_deref());
    views::score_json(&row.json, url.as_deref())
}

/// `{"score": …}` around a score's JSON text.
fn score_reply(status: u16, ctx: &Ctx, row: &ScoreRow, origin: &str) -> Reply {
    Reply::JsonText(
        status,
        format!("{{\"score\":{}}}", score_view(ctx, row, origin)),
    )
}

async fn load_score(ctx: &Ctx, id: &str, owner: &str) -> ApiResult<Option<ScoreRow>> {
    if !ids::is_well_formed("sco", id) {
        return Ok(None);
    }
    ctx.db
        .first::<ScoreRow>(&sql::score_by_id(), &[id.into(), owner.into()])
        .await
}

fn path_id(call: &Call) -> &str {
    call.params.first().map_or("", String::as_str)
}

pub async fn get_score(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let row = load_score(&call.ctx, path_id(&call), &user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(score_reply(200, &call.ctx, &row, &call.origin))
}

pub async fn patch_score(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let id = path_id(&call).to_owned();
    let Call {
        ctx, body, origin, ..
    } = call;
    let mut f = Fields::new(body, SCORE_FIELDS);
    let fields = ScoreFields::parse(&mut f, false);
    f.finish()?;
    if load_score(&ctx, &id, &user_id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let now = ctx.now.rfc3339();
    let set = |v: &Option<Option<String>>| -> (bool, Option<String>) {
        (v.is_some(), v.clone().flatten())
    };
    let seti = |v: &Option<Option<i64>>| -> (bool, Option<i64>) { (v.is_some(), v.flatten()) };
    let (composer, arranger, instrumentation, key, notes) = (
        set(&fields.composer),
        set(&fields.arranger),
        set(&fields.instrumentation),
        set(&fields.key),
        set(&fields.notes),
    );
    let (rating, difficulty, duration) = (
        seti(&fields.rating),
        seti(&fields.difficulty),
        seti(&fields.duration),
    );
    let tags_json = fields
        .tags
        .as_ref()
        .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()));
    let mut stmts = vec![ctx.db.stmt(
        sql::UPDATE_SCORE,
        &[
            (&id).into(),
            (&user_id).into(),
            (&now).into(),
            fields.title.is_some().into(),
            fields.title.as_ref().into(),
            composer.0.into(),
            composer.1.as_ref().into(),
            arranger.0.into(),
            arranger.1.as_ref().into(),
            instrumentation.0.into(),
            instrumentation.1.as_ref().into(),
            key.0.into(),
            key.1.as_ref().into(),
            notes.0.into(),
            notes.1.as_ref().into(),
            rating.0.into(),
            rating.1.into(),
            difficulty.0.into(),
            difficulty.1.into(),
            duration.0.into(),
            duration.1.into(),
            tags_json.is_some().into(),
            tags_json.as_ref().into(),
        ],
    )?];
    if let Some(tags) = &tags_json {
        stmts.push(ctx.db.stmt(sql::DELETE_TAGS, &[(&id).into()])?);
        stmts.push(
            ctx.db
                .stmt(sql::INSERT_TAGS, &[(&id).into(), tags.into()])?,
        );
    }
    // The update's trigger recorded a version; the history keeps the newest few.
    stmts.push(ctx.db.stmt(
        crate::store::activity_sql::PRUNE_VERSIONS,
        &[(&id).into(), ctx.config.score_versions_max.into()],
    )?);
    let changes = ctx.db.batch(stmts).await?;
    if !d1::changed(&changes, 0) {
        return Err(ApiError::NotFound);
    }
    let row = load_score(&ctx, &id, &user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(score_reply(200, &ctx, &row, &origin))
}

/// Deletes the row and releases its bytes at once; the objects go through the outbox and the
/// `delete_file` task (retried by the sweep until gone).
pub async fn delete_score(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let id = path_id(&call).to_owned();
    let ctx = call.ctx;
    let Some(row) = load_score(&ctx, &id, &user_id).await? else {
        return Err(ApiError::NotFound);
    };
    let now = ctx.now.rfc3339();
    let args: [Arg<'_>; 3] = [(&id).into(), (&user_id).into(), (&now).into()];
    let changes = ctx
        .db
        .batch(vec![
            ctx.db.stmt(sql::RELEASE_SCORE_BYTES, &args)?,
            ctx.db.stmt(sql::QUEUE_SCORE_DELETION, &args)?,
            ctx.db.stmt(sql::DELETE_TAGS, &[(&id).into()])?,
            ctx.db
                .stmt(sql::DELETE_SCORE, &[(&id).into(), (&user_id).into()])?,
        ])
        .await?;
    if !d1::changed(&changes, 3) {
        return Err(ApiError::NotFound);
    }
    if let Err(e) = ctx
        .enqueue(vec![Task::DeleteFile {
            key: row.object_key.clone(),
        }])
        .await
    {
        worker::console_error!(
            "{}",
            json!({"level": "error", "msg": "enqueue failed", "score_id": id, "error": e.to_string()})
        );
    }
    Ok(Reply::NoContent)
}

pub async fn download_url(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let page = page_param(&call.query);
    let row = load_score(&call.ctx, path_id(&call), &user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let page = page?;
    let stored: Value = serde_json::from_str(&row.json).unwrap_or(Value::Null);
    let inspected = &stored["processing"]["pdf_info"];
    let file = StoredFile {
        score_id: &row.id,
        inspection: (
            inspected["state"].as_str().unwrap_or("pending"),
            inspected["reason"].as_str(),
        ),
        object_key: &row.object_key,
        pages: stored["pages"].as_u64(),
        size_bytes: stored["size_bytes"].as_i64().unwrap_or(0),
    };
    file_url(&call.ctx, &call.origin, &file, page).await
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

/// What a download URL needs to know of a score's file.
pub struct StoredFile<'a> {
    pub score_id: &'a str,
    /// The `pdf_info` task's state and reason: page images wait for the page count.
    pub inspection: (&'a str, Option<&'a str>),
    pub object_key: &'a str,
    pub pages: Option<u64>,
    pub size_bytes: i64,
}

/// `{url, expires_at}` for the PDF, or for page `page` once the queue has rendered it (202
/// `{state: "pending"}` until then).
///
/// # Errors
/// 422 for a page the file lacks or cannot render (remembered), or over the score's budget of
/// derived images; storage errors.
pub async fn file_url(
    ctx: &Ctx,
    origin: &str,
    file: &StoredFile<'_>,
    page: Option<usize>,
) -> ApiResult<Reply> {
    let (key, mime) = match page {
        None => (file.object_key.to_owned(), PDF_MIME),
        Some(n) => match page_image(ctx, file, n).await? {
            Some(key) => (key, "image/png"),
            None => return Ok(Reply::Pending),
        },
    };
    let p = presign::download(
        &ctx.config.presign,
        ctx.config.blob_key()?,
        base_url(ctx, origin),
        &key,
        mime,
        ctx.now,
        ctx.config.download_url_ttl_seconds,
    );
    Ok(Reply::Json(
        200,
        json!({ "url": p.url, "expires_at": p.expires_at.rfc3339() }),
    ))
}

/// `GET /v1/scores`: one statement both checks the session and reads the page (one D1 round
/// trip). Only an empty page needs a second look, to tell "no scores" from "session revoked".
pub async fn list_scores(call: Call) -> ApiResult<Reply> {
    let claims = call
        .claims
        .clone()
        .ok_or(ApiError::InvalidToken("missing bearer token"))?;
    let ctx = &call.ctx;
    let query = ListQuery::parse(&call.query, ctx.config.cursor_key()?)?;
    let (list_sql, params) = query.sql(&sql::score_columns(), &claims.sub, Some(&claims.sid));
    let args: Vec<Arg<'_>> = params.iter().map(Arg::from).collect();
    let mut rows = ctx.db.all::<ScoreRow>(&list_sql, &args).await?;
    if rows.is_empty()
        && ctx
            .db
            .first::<UserRow>(
                &sql::authenticate(),
                &[(&claims.sid).into(), (&claims.sub).into()],
            )
            .await?
            .is_none()
    {
        return Err(ApiError::InvalidToken("session revoked"));
    }
    let limit = usize::try_from(query.limit).unwrap_or(20);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Value::String(query.next_cursor(
            ctx.config.cursor_key()?,
            last.sort_key.as_ref().unwrap_or(&Value::Null),
            &last.id,
        )),
        _ => Value::Null,
    };
    let mut body =
        String::with_capacity(rows.iter().map(|r| r.json.len() + 32).sum::<usize>() + 64);
    body.push_str("{\"scores\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&score_view(ctx, row, &call.origin));
    }
    body.push_str("],\"next_cursor\":");
    body.push_str(&next_cursor.to_string());
    body.push('}');
    Ok(Reply::JsonText(200, body))
}

#[derive(serde::Deserialize)]
struct RenderState {
    state: Option<String>,
    reason: Option<String>,
    full: Option<i64>,
}

/// The R2 key of page `number` rendered for reading, or `None` while the queue renders it. The
/// request never renders: the first one for a page inserts its pending row and sends the one
/// render message (single-flight per page and width); a failure is remembered with its reason
/// and answered as 422 without rendering again; a score whose derived images fill their budget
/// gets no more.
async fn page_image(ctx: &Ctx, file: &StoredFile<'_>, number: usize) -> ApiResult<Option<String>> {
    // No render before the page count is known: a page the file lacks is refused here, not by
    // a task that reads the whole file to find out.
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
    if let Some(pages) = file.pages {
        if number as u64 > pages {
            return Err(ApiError::field(
                "page",
                format!("the score has {pages} pages"),
            ));
        }
    }
    let limit = ctx.config.whole_file_max_bytes;
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
    let width = thumbnail::PAGE_WIDTH;
    let budget: [Arg<'_>; 2] = [file.size_bytes.into(), ctx.config.derived_min_bytes.into()];
    let at: [Arg<'_>; 3] = [
        file.score_id.into(),
        i64::from(page).into(),
        i64::from(width).into(),
    ];
    let args = [budget[0], budget[1], at[0], at[1], at[2]];
    let mut current = ctx.db.first::<RenderState>(sql::PAGE_RENDER, &args).await?;
    if current.as_ref().is_some_and(|r| r.state.is_none()) {
        // Each new render is queue work the owner's library pays for: counted per owner,
        // whoever asks (the owner, a member, a public link).
        let owner = keys::owner_of(file.object_key);
        let renders = limits::window(ctx, "renders", owner, ctx.config.rate_renders);
        limits::hit(ctx, &[renders]).await?;
        let now = ctx.now.rfc3339();
        let asked = ctx
            .db
            .run(
                sql::REQUEST_RENDER,
                &[budget[0], budget[1], at[0], at[1], at[2], (&now).into()],
            )
            .await?;
        if asked > 0 {
            let task = Task::RenderPage {
                score_id: file.score_id.to_owned(),
                page,
                width,
            };
            if let Err(e) = ctx.enqueue(vec![task]).await {
                // The row stays pending; the sweep sends the message again.
                worker::console_error!(
                    "{}",
                    json!({"level": "error", "msg": "enqueue failed", "error": e.to_string()})
                );
            }
            return Ok(None);
        }
        current = ctx.db.first::<RenderState>(sql::PAGE_RENDER, &args).await?;
    }
    match current {
        Some(RenderState {
            state: Some(state),
            reason,
            ..
        }) => match state.as_str() {
            "ok" => Ok(Some(keys::page_image(file.object_key, page, width))),
            "failed" => Err(ApiError::field(
                "page",
                reason.unwrap_or_else(|| "cannot be rendered".into()),
            )),
            _ => Ok(None),
        },
        Some(RenderState { full: Some(1), .. }) => Err(ApiError::field(
            "page",
            "the page images of this score fill its storage budget",
        )),
        // The score was deleted meanwhile.
        _ => Err(ApiError::NotFound),
    }
}
