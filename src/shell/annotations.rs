//! Annotation layers and performance settings (SPEC §10): each handler takes the request apart,
//! calls its use case in `service::annotations`, and replies.

use crate::error::ApiResult;
use crate::service::annotations::{self as uc, Place};

use super::call::{Call, Reply};

/// Which routes a handler serves: `/v1/scores/{id}/…` or `/v1/setlists/{id}/items/{item_id}/…`.
#[derive(Debug, Clone, Copy)]
pub enum On {
    Score,
    Item,
}

impl On {
    /// The place the path names, and how many path parameters name it.
    fn place(self, call: &Call) -> (Place<'_>, usize) {
        match self {
            Self::Score => (Place::Score(call.param(0)), 1),
            Self::Item => (
                Place::Item {
                    setlist: call.param(0),
                    item: call.param(1),
                },
                2,
            ),
        }
    }
}

pub async fn list(call: Call, on: On) -> ApiResult<Reply> {
    let (place, _) = on.place(&call);
    let body = uc::list(&call.cx(), call.user_id()?, place).await?;
    Ok(Reply::JsonText(200, body))
}

pub async fn put(call: Call, on: On) -> ApiResult<Reply> {
    let (place, n) = on.place(&call);
    let written = uc::put(
        &call.cx(),
        call.user_id()?,
        place,
        call.param(n),
        call.body.clone(),
    )
    .await?;
    let status = if written.created { 201 } else { 200 };
    Ok(Reply::JsonText(
        status,
        format!("{{\"annotation\":{}}}", written.json),
    ))
}

pub async fn delete(call: Call, on: On) -> ApiResult<Reply> {
    let (place, n) = on.place(&call);
    uc::delete(&call.cx(), call.user_id()?, place, call.param(n)).await?;
    Ok(Reply::NoContent)
}

pub async fn get_settings(call: Call, on: On) -> ApiResult<Reply> {
    let (place, _) = on.place(&call);
    let body = uc::get_settings(&call.cx(), call.user_id()?, place).await?;
    Ok(Reply::JsonText(200, body))
}

pub async fn put_settings(call: Call, on: On) -> ApiResult<Reply> {
    let (place, _) = on.place(&call);
    let body = uc::put_settings(&call.cx(), call.user_id()?, place, call.body.clone()).await?;
    Ok(Reply::JsonText(200, body))
}
