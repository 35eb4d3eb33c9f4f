//! Library exports (SPEC §11): each handler takes the request apart, calls its use case in
//! `service::exports`, and replies.

use crate::error::ApiResult;
use crate::service::exports;

use super::call::{Call, Reply};

/// `{"export": …}`.
fn export_reply(status: u16, export: &exports::ExportView) -> ApiResult<Reply> {
    Reply::view(status, &serde_json::json!({ "export": export }))
}

/// `POST /v1/exports`.
pub async fn request(call: Call) -> ApiResult<Reply> {
    let export = exports::request(&call.cx(), call.user_id()?).await?;
    export_reply(202, &export)
}

/// `GET /v1/exports/{id}`.
pub async fn get(call: Call) -> ApiResult<Reply> {
    let export = exports::get(&call.cx(), call.user_id()?, call.param(0)).await?;
    export_reply(200, &export)
}

/// `GET /v1/exports`.
pub async fn list(call: Call) -> ApiResult<Reply> {
    let list = exports::list(&call.cx(), call.user_id()?).await?;
    Reply::view(200, &serde_json::json!({ "exports": list }))
}
