//! Accounts and sessions (SPEC §1): each handler takes the request apart (the client's address,
//! the body, the caller), calls its use case in `service::accounts`, and replies.

use serde_json::json;

use crate::api::views;
use crate::error::ApiResult;
use crate::service::accounts;

use super::call::{Call, Reply};
use super::limits::client_ip;

/// `POST /v1/auth/register`.
pub async fn register(call: Call) -> ApiResult<Reply> {
    let ip = client_ip(&call.req);
    let user = accounts::register(&call.cx(), &ip, call.body.clone()).await?;
    Ok(Reply::Json(201, json!({ "user": views::user(&user) })))
}

/// `POST /v1/auth/login`.
pub async fn login(call: Call) -> ApiResult<Reply> {
    let ip = client_ip(&call.req);
    let tokens = accounts::login(&call.cx(), &ip, call.body.clone()).await?;
    Reply::view(200, &tokens.view())
}

/// `POST /v1/auth/refresh`.
pub async fn refresh(call: Call) -> ApiResult<Reply> {
    let ip = client_ip(&call.req);
    let tokens = accounts::refresh(&call.cx(), &ip, call.body.clone()).await?;
    Reply::view(200, &tokens.view())
}

/// `POST /v1/auth/logout`.
pub async fn logout(call: Call) -> ApiResult<Reply> {
    accounts::logout(&call.cx(), call.user_id()?, call.body.clone()).await?;
    Ok(Reply::NoContent)
}

/// `POST /v1/auth/logout_all`.
pub async fn logout_all(call: Call) -> ApiResult<Reply> {
    accounts::logout_all(&call.cx(), call.user_id()?).await?;
    Ok(Reply::NoContent)
}

/// `GET /v1/me`: the caller, as authentication found it.
pub fn get_me(call: Call) -> ApiResult<Reply> {
    Ok(Reply::Json(
        200,
        json!({ "user": views::user(&call.caller()?.user) }),
    ))
}

/// `PATCH /v1/me`.
pub async fn patch_me(call: Call) -> ApiResult<Reply> {
    let user = accounts::patch_me(&call.cx(), call.user_id()?, call.body.clone()).await?;
    Ok(Reply::Json(200, json!({ "user": views::user(&user) })))
}

/// `POST /v1/me/password`.
pub async fn change_password(call: Call) -> ApiResult<Reply> {
    let caller = call.caller()?;
    accounts::change_password(
        &call.cx(),
        &caller.user,
        &caller.session_id,
        call.body.clone(),
    )
    .await?;
    Ok(Reply::NoContent)
}
