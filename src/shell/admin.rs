//! Admin API (SPEC §6): each handler takes the request apart, calls its use case in
//! `service::admin` (which answers anyone but an admin 404), and replies.

use crate::error::ApiResult;
use crate::service::admin;
use crate::service::live as live_uc;

use super::room::Notice;

use super::call::{Call, Reply};

/// `GET /v1/admin/users?q=&limit=&cursor=`.
pub async fn users(call: Call) -> ApiResult<Reply> {
    let page = admin::users(&call.cx(), &call.caller()?.user, &call.query).await?;
    Ok(Reply::JsonText(200, page))
}

/// `PATCH /v1/admin/users/{id}`. Disabling a user closes their place in every opened room: all
/// sockets of the rooms of setlists they own, their own sockets elsewhere.
pub async fn patch_user(call: Call) -> ApiResult<Reply> {
    let disabling = call.body.get("disabled") == Some(&serde_json::Value::Bool(true));
    let user = admin::patch_user(
        &call.cx(),
        &call.caller()?.user,
        call.param(0),
        call.body.clone(),
    )
    .await?;
    if disabling {
        let id = call.param(0);
        for (setlist, owned) in live_uc::live_rooms_of(&call.cx(), id).await? {
            let notice = Notice {
                setlist,
                closed: owned,
                removed_user: (!owned).then(|| id.to_owned()),
                ..Notice::default()
            };
            super::live::notify(&call.context, &call.ctx.env, notice);
        }
    }
    Ok(Reply::JsonText(200, format!("{{\"user\":{user}}}")))
}

/// `GET /v1/admin/stats`.
pub async fn stats(call: Call) -> ApiResult<Reply> {
    let stats = admin::stats(&call.cx(), &call.caller()?.user).await?;
    Ok(Reply::JsonText(200, format!("{{\"stats\":{stats}}}")))
}

/// `GET /v1/admin/live/{id}`.
pub async fn live_room(call: Call) -> ApiResult<Reply> {
    admin::live_room(&call.cx(), &call.caller()?.user, call.param(0)).await?;
    let stats = super::live::stats(&call.ctx.env, call.param(0)).await?;
    Ok(Reply::JsonText(200, format!("{{\"room\":{stats}}}")))
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
