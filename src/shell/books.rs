//! Setlist books (SPEC §11): each handler takes the request apart, calls its use case in
//! `service::books`, and replies.

use crate::error::ApiResult;
use crate::service::books;

use super::call::{Call, Reply};

/// `{"book": …}`.
fn book_reply(status: u16, book: &books::BookView) -> ApiResult<Reply> {
    Reply::view(status, &serde_json::json!({ "book": book }))
}

/// `POST /v1/setlists/{id}/book`.
pub async fn request(call: Call) -> ApiResult<Reply> {
    let book = books::request(&call.cx(), call.user_id()?, call.param(0)).await?;
    book_reply(202, &book)
}

/// `GET /v1/setlists/{id}/book`.
pub async fn get(call: Call) -> ApiResult<Reply> {
    let book = books::get(&call.cx(), call.user_id()?, call.param(0)).await?;
    book_reply(200, &book)
}
