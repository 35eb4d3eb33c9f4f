//! Score parts (SPEC §10): each handler takes the request apart, calls its use case in
//! `service::parts`, and replies; the live rooms of setlists holding the score hear of a part
//! added, renamed or removed (their items' `part` may change).

use crate::error::ApiResult;
use crate::service::parts;

use super::call::{Call, Reply};

/// `{"part": …}` around a part's JSON text.
fn part_reply(status: u16, part: &str) -> Reply {
    Reply::JsonText(status, format!("{{\"part\":{part}}}"))
}

/// `POST /v1/scores/{id}/parts`.
pub async fn create_part(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let part = parts::create_part(&call.cx(), call.user_id()?, call.param(0), body).await?;
    super::live::parts_changed(&call, call.user_id()?, call.param(0));
    Ok(part_reply(201, &part))
}

/// `GET /v1/scores/{id}/parts`.
pub async fn list_parts(call: Call) -> ApiResult<Reply> {
    let body = parts::list_parts(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(Reply::JsonText(200, body))
}

/// `PATCH /v1/scores/{id}/parts/{part_id}`.
pub async fn patch_part(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let (score, part) = (call.param(0), call.param(1));
    let part = parts::patch_part(&call.cx(), call.user_id()?, score, part, body).await?;
    super::live::parts_changed(&call, call.user_id()?, score);
    Ok(part_reply(200, &part))
}

/// `DELETE /v1/scores/{id}/parts/{part_id}`.
pub async fn delete_part(call: Call) -> ApiResult<Reply> {
    let (score, part) = (call.param(0), call.param(1));
    parts::delete_part(&call.cx(), call.user_id()?, score, part).await?;
    super::live::parts_changed(&call, call.user_id()?, score);
    Ok(Reply::NoContent)
}

/// `GET /v1/scores/{id}/parts/{part_id}/download-url?page=`.
pub async fn download_url(call: Call) -> ApiResult<Reply> {
    let (score, part) = (call.param(0), call.param(1));
    let download =
        parts::download_url(&call.cx(), call.user_id()?, score, part, &call.query).await?;
    Ok(Reply::download(download))
}
