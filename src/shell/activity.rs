//! Favorites, open history, score versions and the caller's statistics (SPEC §3, §6): each
//! handler takes the request apart, calls its use case in `service::activity`, and replies.

use crate::error::ApiResult;
use crate::service::activity as uc;

use super::call::{Call, Reply};

pub async fn favorite(call: Call) -> ApiResult<Reply> {
    uc::favorite(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(Reply::NoContent)
}

pub async fn unfavorite(call: Call) -> ApiResult<Reply> {
    uc::unfavorite(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(Reply::NoContent)
}

pub async fn opened(call: Call) -> ApiResult<Reply> {
    uc::opened(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(Reply::NoContent)
}

pub async fn favorites(call: Call) -> ApiResult<Reply> {
    let body = uc::favorites(&call.cx(), call.user_id()?, &call.query).await?;
    Ok(Reply::JsonText(200, body))
}

pub async fn history(call: Call) -> ApiResult<Reply> {
    let body = uc::history(&call.cx(), call.user_id()?, &call.query).await?;
    Ok(Reply::JsonText(200, body))
}

pub async fn list_versions(call: Call) -> ApiResult<Reply> {
    let body = uc::list_versions(&call.cx(), call.user_id()?, call.param(0), &call.query).await?;
    Ok(Reply::Json(200, body))
}

pub async fn compare_versions(call: Call) -> ApiResult<Reply> {
    let body =
        uc::compare_versions(&call.cx(), call.user_id()?, call.param(0), &call.query).await?;
    Ok(Reply::Json(200, body))
}

pub async fn stats(call: Call) -> ApiResult<Reply> {
    Ok(Reply::JsonText(
        200,
        uc::stats(&call.cx(), call.user_id()?).await?,
    ))
}
