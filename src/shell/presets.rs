//! Presets (issue 6): each handler takes the request apart, calls its use case in
//! `service::presets`, and replies.

use crate::error::ApiResult;
use crate::service::presets;

use super::call::{Call, Reply};

/// `GET /v1/presets?kind=`.
pub async fn list(call: Call) -> ApiResult<Reply> {
    let presets = presets::list(&call.cx(), call.user_id()?, &call.query).await?;
    Ok(Reply::JsonText(200, format!("{{\"presets\":{presets}}}")))
}

/// `POST /v1/presets`.
pub async fn create(call: Call) -> ApiResult<Reply> {
    let preset = presets::create(&call.cx(), call.user_id()?, call.body.clone()).await?;
    Ok(Reply::JsonText(201, format!("{{\"preset\":{preset}}}")))
}

/// `DELETE /v1/presets/{id}`.
pub async fn delete(call: Call) -> ApiResult<Reply> {
    presets::delete(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(Reply::NoContent)
}
