//! Worker presign mode: `PUT /v1/blobs/{token}` streams an upload into R2 enforcing the declared
//! size, type and sha256; `GET /v1/blobs/{token}` serves an object with HTTP Range.
//! The signed token is the credential (no access token).

use std::collections::HashMap;

use serde_json::json;
use worker::{Headers, Range, Response, ResponseBuilder};

use crate::api::body::is_json;
use crate::archive::read::ZIP_MAGIC;
use crate::domain::score::ZIP_MIME;
use crate::error::{ApiError, ApiResult};
use crate::media::PDF_MAGIC;
use crate::service::imports::not_a_zip;
use crate::service::library::{self, not_a_pdf};
use crate::storage::keys;
use crate::storage::presign::{verify_blob, BlobClaims, BlobOp, BlobTokenError};
use crate::storage::range::{self, RangeOutcome};

use super::call::{Call, Reply};
use super::ctx::Ctx;

fn claims(ctx: &Ctx, token: Option<&String>, op: BlobOp) -> ApiResult<BlobClaims> {
    let token = token.ok_or(ApiError::NotFound)?;
    verify_blob(ctx.config.blob_key()?, token, op, ctx.now).map_err(|e| match e {
        BlobTokenError::Expired => ApiError::InvalidToken("upload or download link expired"),
        BlobTokenError::Invalid | BlobTokenError::WrongOperation => {
            ApiError::InvalidToken("invalid link")
        }
    })
}

fn header(headers: &Headers, name: &str) -> Option<String> {
    headers.get(name).ok().flatten()
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

pub async fn put(call: Call) -> ApiResult<Reply> {
    let Call {
        ctx, req, params, ..
    } = call;
    let claims = claims(&ctx, params.first(), BlobOp::Put)?;
    let (Some(upload_id), Some(size), Some(sha256), Some(mime)) =
        (claims.u, claims.n, claims.h, claims.t)
    else {
        return Err(ApiError::InvalidToken("invalid link"));
    };
    let headers = req.headers();
    let content_type = header(headers, "content-type").unwrap_or_default();
    if is_json(Some(&content_type)) || essence(&content_type) != mime {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be sent with the content-type declared for this upload",
        ));
    }
    let declared = header(headers, "content-length").and_then(|v| v.trim().parse::<u64>().ok());
    if declared != Some(size) {
        return Err(ApiError::ContentMismatch(format!(
            "content-length must be exactly {size} bytes, as declared for this upload"
        )));
    }
    let cx = ctx.cx("");
    library::upload_to_fill(&cx, &upload_id, keys::owner_of(&claims.k)).await?;
    let body = req
        .inner()
        .body()
        .ok_or_else(|| ApiError::ContentMismatch("the body is empty".into()))?;
    let files = &ctx.blobs;
    let mut metadata = HashMap::new();
    metadata.insert("upload_id".to_owned(), upload_id.clone());
    if let Err(e) = files
        .put_verified(
            &claims.k,
            body,
            &mime,
            crate::storage::sigv4::unhex(&sha256),
            metadata,
        )
        .await
    {
        // R2 refuses a mismatched object as a whole; delete anyway so nothing partial remains.
        files.delete(&claims.k).await.ok();
        return Err(e);
    }
    let stored = files.head(&claims.k).await?;
    if stored.as_ref().map(|o| o.size) != Some(size) {
        files.delete(&claims.k).await.ok();
        return Err(ApiError::ContentMismatch(
            "the body does not match the declared size".into(),
        ));
    }
    let (magic, refusal): (&[u8], fn() -> ApiError) = if mime == ZIP_MIME {
        (ZIP_MAGIC, not_a_zip)
    } else {
        (PDF_MAGIC, not_a_pdf)
    };
    if files.prefix(&claims.k, magic.len() as u64).await? != magic {
        files.delete(&claims.k).await.ok();
        return Err(refusal());
    }
    library::upload_stored(&cx, &upload_id).await?;
    Ok(Reply::Json(
        200,
        json!({ "upload_id": upload_id, "size": size, "sha256": sha256 }),
    ))
}

pub async fn get(call: Call) -> ApiResult<Reply> {
    let Call {
        ctx, req, params, ..
    } = call;
    let claims = claims(&ctx, params.first(), BlobOp::Get)?;
    let files = &ctx.blobs;
    let info = files.head(&claims.k).await?.ok_or(ApiError::NotFound)?;
    let headers = req.headers();
    let head_only = req.method() == worker::Method::Head;
    let out = Headers::new();
    let content_type = claims
        .t
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let _ = out.set("content-type", &content_type);
    let _ = out.set("etag", &info.etag);
    let _ = out.set("accept-ranges", "bytes");
    if header(headers, "if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == info.etag))
    {
        return Ok(Reply::Raw(
            304,
            ResponseBuilder::new()
                .with_status(304)
                .with_headers(out)
                .empty(),
        ));
    }
    let (status, r2_range) = match range::parse(header(headers, "range").as_deref(), info.size) {
        RangeOutcome::Full => (200, None),
        RangeOutcome::Partial(r) => {
            let _ = out.set("content-range", &r.content_range(info.size));
            (
                206,
                Some(Range::OffsetWithLength {
                    offset: r.start,
                    length: r.length(),
                }),
            )
        }
        RangeOutcome::Unsatisfiable => {
            return Err(ApiError::RangeNotSatisfiable { size: info.size })
        }
    };
    if head_only {
        let len = match &r2_range {
            Some(Range::OffsetWithLength { length, .. }) => *length,
            _ => info.size,
        };
        let _ = out.set("content-length", &len.to_string());
        return Ok(Reply::Raw(
            status,
            ResponseBuilder::new()
                .with_status(status)
                .with_headers(out)
                .empty(),
        ));
    }
    let object = files
        .get(&claims.k, r2_range)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = object
        .body()
        .ok_or(ApiError::NotFound)?
        .response_body()
        .map_err(|e| ApiError::Storage(format!("R2 body: {e}")))?;
    let response: Response = ResponseBuilder::new()
        .with_status(status)
        .with_headers(out)
        .body(body);
    Ok(Reply::Raw(status, response))
}
