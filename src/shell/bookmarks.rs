//! Songbook bookmarks (SPEC §10): each handler takes the request apart, calls its use case in
//! `service::bookmarks`, and replies.

use crate::api::views::{BookmarkImport, ImportError};
use crate::error::ApiResult;
use crate::service::bookmarks;

use super::call::{Call, Reply};

/// `{"bookmark": …}` around a bookmark's JSON text.
fn bookmark_reply(status: u16, bookmark: &str) -> Reply {
    Reply::JsonText(status, format!("{{\"bookmark\":{bookmark}}}"))
}

/// `POST /v1/scores/{id}/bookmarks`.
pub async fn create(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let b = bookmarks::create(&call.cx(), call.user_id()?, call.param(0), body).await?;
    Ok(bookmark_reply(201, &b))
}

/// `POST /v1/scores/{id}/bookmarks/import`.
pub async fn import(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let done = bookmarks::import(&call.cx(), call.user_id()?, call.param(0), body).await?;
    Reply::view(
        201,
        &BookmarkImport {
            created: i64::try_from(done.created).unwrap_or(i64::MAX),
            errors: done
                .errors
                .into_iter()
                .map(|e| ImportError {
                    line: i64::try_from(e.line).unwrap_or(i64::MAX),
                    message: e.message,
                })
                .collect(),
        },
    )
}

/// `GET /v1/bookmarks`.
pub async fn list(call: Call) -> ApiResult<Reply> {
    let body = bookmarks::list(&call.cx(), call.user_id()?, &call.query).await?;
    Ok(Reply::JsonText(200, body))
}

pub async fn get(call: Call) -> ApiResult<Reply> {
    let b = bookmarks::get(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(bookmark_reply(200, &b))
}

pub async fn patch(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let b = bookmarks::patch(&call.cx(), call.user_id()?, call.param(0), body).await?;
    Ok(bookmark_reply(200, &b))
}

/// `DELETE /v1/bookmarks/{id}`: the setlists that played it hear of their changed items.
pub async fn delete(call: Call) -> ApiResult<Reply> {
    let (user, id) = (call.user_id()?, call.param(0));
    let rooms = crate::service::live::setlists_with_bookmark(&call.cx(), user, id)
        .await
        .unwrap_or_default();
    bookmarks::delete(&call.cx(), user, id).await?;
    super::live::items_changed(&call, rooms);
    Ok(Reply::NoContent)
}

/// `GET /v1/bookmarks/{id}/download-url?extract=&page=`.
pub async fn download_url(call: Call) -> ApiResult<Reply> {
    let d =
        bookmarks::download_url(&call.cx(), call.user_id()?, call.param(0), &call.query).await?;
    Ok(Reply::download(d))
}
