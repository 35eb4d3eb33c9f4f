//! Static files read through an assets binding: the API's Swagger UI (`ASSETS`) and the
//! consumer's standard fonts (`FONTS`), both from the folder scripts/build.sh fills
//! (build/assets).

use worker::Env;

use crate::error::{ApiError, ApiResult};

/// One file's bytes and the content type the assets service gave it.
pub struct Asset {
    pub bytes: Vec<u8>,
    /// What the docs route answers with (the fonts need none).
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    pub content_type: Option<String>,
}

/// The file at `path` (from the folder's root) behind `binding`; `None` when there is none.
///
/// # Errors
/// 500: the binding is missing (misconfigured), or the fetch fails or answers other than 200 or
/// 404.
pub async fn read(env: &Env, binding: &str, path: &str) -> ApiResult<Option<Asset>> {
    let assets = env
        .assets(binding)
        .map_err(|e| ApiError::Misconfigured(format!("assets binding {binding}: {e}")))?;
    let mut response = assets
        .fetch(format!("https://assets.invalid/{path}"), None)
        .await
        .map_err(|e| ApiError::internal(format!("assets fetch: {e}")))?;
    match response.status_code() {
        200 => {}
        404 => return Ok(None),
        other => return Err(ApiError::internal(format!("assets answered {other}"))),
    }
    let content_type = response.headers().get("content-type").ok().flatten();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ApiError::internal(format!("assets body: {e}")))?;
    Ok(Some(Asset {
        bytes,
        content_type,
    }))
}
