//! Library imports (SPEC §11): each handler takes the request apart, calls its use case in
//! `service::imports`, and replies.

use crate::error::ApiResult;
use crate::service::imports;

use super::call::{Call, Reply};

/// `{"import": …}`.
fn import_reply(status: u16, import: &imports::ImportView) -> ApiResult<Reply> {
    Reply::view(status, &serde_json::json!({ "import": import }))
}

/// `POST /v1/imports`.
pub async fn create(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let import = imports::create(&call.cx(), call.user_id()?, body).await?;
    import_reply(202, &import)
}

/// `GET /v1/imports/{id}`.
pub async fn get(call: Call) -> ApiResult<Reply> {
    let import = imports::get(&call.cx(), call.user_id()?, call.param(0)).await?;
    import_reply(200, &import)
}
