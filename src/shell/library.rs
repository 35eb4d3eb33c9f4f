//! Uploads and scores (SPEC §2, §3): each handler takes the request apart, calls its use case in
//! `service::library`, and replies.

use crate::error::{ApiError, ApiResult};
use crate::service::{library, trash};

use super::call::{Call, Reply};

/// `POST /v1/uploads`.
pub async fn create_upload(call: Call) -> ApiResult<Reply> {
    let user_id = call.user_id()?.to_owned();
    let body = call.body.clone();
    let upload = library::create_upload(&call.cx(), &user_id, body).await?;
    Reply::view(201, &upload)
}

/// `POST /v1/scores`.
pub async fn create_score(call: Call) -> ApiResult<Reply> {
    let user_id = call.user_id()?.to_owned();
    let body = call.body.clone();
    let score = library::create_score(&call.cx(), &user_id, body).await?;
    Ok(score_reply(201, &score))
}

/// `{"score": …}` around a score's JSON text.
fn score_reply(status: u16, score: &str) -> Reply {
    Reply::JsonText(status, format!("{{\"score\":{score}}}"))
}

pub async fn get_score(call: Call) -> ApiResult<Reply> {
    let score = library::get_score(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(score_reply(200, &score))
}

pub async fn patch_score(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let score = library::patch_score(&call.cx(), call.user_id()?, call.param(0), body).await?;
    Ok(score_reply(200, &score))
}

/// `DELETE /v1/scores/{id}`: to the trash; the setlists that hold it hear of their changed items.
pub async fn delete_score(call: Call) -> ApiResult<Reply> {
    let (user, score) = (call.user_id()?, call.param(0));
    trash::trash_score(&call.cx(), user, score).await?;
    tell_rooms(&call, user, score).await;
    Ok(Reply::NoContent)
}

/// The rooms of the owner's setlists holding `score` hear that their items changed (a failure
/// to find them is the notice's, never the write's).
async fn tell_rooms(call: &Call, user: &str, score: &str) {
    let rooms = crate::service::live::setlists_with_score(&call.cx(), user, score)
        .await
        .unwrap_or_default();
    super::live::items_changed(call, rooms);
}

/// `GET /v1/trash`.
pub async fn list_trash(call: Call) -> ApiResult<Reply> {
    let body = trash::list(&call.cx(), call.user_id()?, &call.query).await?;
    Ok(Reply::JsonText(200, body))
}

/// `POST /v1/trash/{id}/restore`: the setlists that hold it hear of their changed items.
pub async fn restore_score(call: Call) -> ApiResult<Reply> {
    let (user, score) = (call.user_id()?, call.param(0));
    let body = trash::restore(&call.cx(), user, score).await?;
    tell_rooms(&call, user, score).await;
    Ok(score_reply(200, &body))
}

/// `DELETE /v1/trash/{id}`: the setlists that held it hear that its items are gone (found
/// before: the purge's triggers remove the items).
pub async fn purge_score(call: Call) -> ApiResult<Reply> {
    let (user, score) = (call.user_id()?, call.param(0));
    let rooms = crate::service::live::setlists_with_score(&call.cx(), user, score)
        .await
        .unwrap_or_default();
    trash::purge_one(&call.cx(), user, score).await?;
    super::live::items_changed(&call, rooms);
    Ok(Reply::NoContent)
}

/// `DELETE /v1/trash`: `{purged, more}`; the setlists that held a purged score hear of it.
pub async fn empty_trash(call: Call) -> ApiResult<Reply> {
    let emptied = trash::empty(&call.cx(), call.user_id()?).await?;
    super::live::items_changed(&call, emptied.setlists);
    Reply::view(
        200,
        &serde_json::json!({"purged": emptied.purged, "more": emptied.more}),
    )
}

pub async fn download_url(call: Call) -> ApiResult<Reply> {
    let download =
        library::download_url(&call.cx(), call.user_id()?, call.param(0), &call.query).await?;
    Ok(Reply::download(download))
}

/// `GET /v1/scores`: the access token was verified but its session not yet checked; the use
/// case checks it in the same statement as the page.
pub async fn list_scores(call: Call) -> ApiResult<Reply> {
    let claims = call
        .claims
        .as_ref()
        .ok_or(ApiError::InvalidToken("missing bearer token"))?;
    let cx = call.cx();
    if let Some(body) = super::phases::body() {
        if super::phases::skip('D') {
            return Ok(Reply::JsonText(200, body));
        }
        if super::phases::skip('1') {
            // The health check's ping: the same D1 call with the smallest statement.
            crate::service::platform::database(cx.db()).await;
            return Ok(Reply::JsonText(200, body));
        }
    }
    let list = || library::list_scores(&cx, &claims.sub, &claims.sid, &call.query);
    let mut body = list().await;
    // A revoked session read on a replica is confirmed on the primary (`shell::http`).
    if super::d1::may_lag(&body) && call.ctx.d1.to_primary()? {
        body = list().await;
    }
    let body = body?;
    super::phases::keep(&body);
    Ok(Reply::JsonText(200, body))
}

/// `GET /v1/me/usage`.
pub async fn usage(call: Call) -> ApiResult<Reply> {
    Reply::view(200, &library::usage(&call.cx(), call.user_id()?).await?)
}
