//! Admin API (SPEC §6): each handler takes the request apart, calls its use case in
//! `service::admin` (which answers anyone but an admin 404), and replies.

use crate::error::ApiResult;
use crate::service::admin;

use super::call::{Call, Reply};

/// `GET /v1/admin/users?q=&limit=&cursor=`.
pub async fn users(call: Call) -> ApiResult<Reply> {
    let page = admin::users(&call.cx(), &call.caller()?.user, &call.query).await?;
    Ok(Reply::JsonText(200, page))
}

/// `PATCH /v1/admin/users/{id}`.
pub async fn patch_user(call: Call) -> ApiResult<Reply> {
    let user = admin::patch_user(
        &call.cx(),
        &call.caller()?.user,
        call.param(0),
        call.body.clone(),
    )
    .await?;
    Ok(Reply::JsonText(200, format!("{{\"user\":{user}}}")))
}

/// `GET /v1/admin/stats`.
pub async fn stats(call: Call) -> ApiResult<Reply> {
    let stats = admin::stats(&call.cx(), &call.caller()?.user).await?;
    Ok(Reply::JsonText(200, format!("{{\"stats\":{stats}}}")))
}

/// `GET /v1/admin/tasks?limit=`.
pub async fn tasks(call: Call) -> ApiResult<Reply> {
    let tasks = admin::tasks(&call.cx(), &call.caller()?.user, &call.query).await?;
    Ok(Reply::JsonText(200, format!("{{\"tasks\":{tasks}}}")))
}

/// `POST /v1/admin/tasks/{id}/retry`.
pub async fn retry_task(call: Call) -> ApiResult<Reply> {
    let task = admin::retry_task(&call.cx(), &call.caller()?.user, call.param(0)).await?;
    Ok(Reply::Json(202, serde_json::json!({ "task": task })))
}
