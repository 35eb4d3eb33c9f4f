//! Setlists, their items, members, public links and item comments (SPEC §5): each handler takes
//! the request apart, calls its use case in `service::setlists`, and replies. The public-link
//! routes' Rate Limiting bindings are the shell's part of those use cases (`limits::Bindings`).

use serde_json::json;

use crate::domain::live::Change;
use crate::error::ApiResult;
use crate::service::setlists::{self as uc, Author, Posted};

use super::call::{Call, Reply};
use super::limits::Bindings;
use super::live::{changed, version_of};
use super::room::Notice;

/// Tells the setlist's live room, after the response, what this committed write changed.
fn tell(call: &Call, notice: Notice) {
    super::live::notify(&call.context, &call.ctx.env, notice);
}

/// `{"setlist": …}` around the view's JSON text.
fn setlist_reply(status: u16, setlist: &str) -> Reply {
    Reply::JsonText(status, format!("{{\"setlist\":{setlist}}}"))
}

pub async fn list(call: Call) -> ApiResult<Reply> {
    let body = uc::list(&call.cx(), call.user_id()?, &call.query).await?;
    Ok(Reply::JsonText(200, body))
}

pub async fn create(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let setlist = uc::create(&call.cx(), call.user_id()?, body).await?;
    Ok(setlist_reply(201, &setlist))
}

pub async fn get(call: Call) -> ApiResult<Reply> {
    let setlist = uc::get(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(setlist_reply(200, &setlist))
}

pub async fn patch(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let setlist = uc::patch(&call.cx(), call.user_id()?, call.param(0), body).await?;
    tell(
        &call,
        changed(call.param(0), Change::Details, version_of(&setlist)),
    );
    Ok(setlist_reply(200, &setlist))
}

pub async fn delete(call: Call) -> ApiResult<Reply> {
    uc::delete(&call.cx(), call.user_id()?, call.param(0)).await?;
    tell(
        &call,
        Notice {
            setlist: call.param(0).to_owned(),
            deleted: true,
            ..Notice::default()
        },
    );
    Ok(Reply::NoContent)
}

/// `POST /v1/setlists/{id}/items`: add one item (201), or replace the whole order (200).
pub async fn post_items(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let (status, setlist) =
        match uc::post_items(&call.cx(), call.user_id()?, call.param(0), body).await? {
            Posted::Added(setlist) => (201, setlist),
            Posted::Reordered(setlist) => (200, setlist),
        };
    tell(
        &call,
        changed(call.param(0), Change::Items, version_of(&setlist)),
    );
    Ok(setlist_reply(status, &setlist))
}

pub async fn patch_item(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let (id, item) = (call.param(0), call.param(1));
    let setlist = uc::patch_item(&call.cx(), call.user_id()?, id, item, body).await?;
    tell(&call, changed(id, Change::Items, version_of(&setlist)));
    Ok(setlist_reply(200, &setlist))
}

pub async fn delete_item(call: Call) -> ApiResult<Reply> {
    let (id, item) = (call.param(0), call.param(1));
    uc::delete_item(&call.cx(), call.user_id()?, id, item, &call.query).await?;
    tell(&call, changed(id, Change::Items, None));
    Ok(Reply::NoContent)
}

/// `GET /v1/setlists/{id}/items/{item_id}/download-url`: members reach the owner's file.
pub async fn item_download_url(call: Call) -> ApiResult<Reply> {
    let (id, item) = (call.param(0), call.param(1));
    let download =
        uc::item_download_url(&call.cx(), call.user_id()?, id, item, &call.query).await?;
    Ok(Reply::download(download))
}

pub async fn add_member(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let member = uc::add_member(&call.cx(), call.user_id()?, call.param(0), body).await?;
    tell(&call, changed(call.param(0), Change::Members, None));
    Ok(Reply::Json(201, json!({ "member": member })))
}

/// `PATCH /v1/setlists/{id}/members/{user_id}`.
pub async fn patch_member(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let (id, member) = (call.param(0), call.param(1));
    let member = uc::patch_member(&call.cx(), call.user_id()?, id, member, body).await?;
    tell(&call, changed(id, Change::Members, None));
    Ok(Reply::Json(200, json!({ "member": member })))
}

pub async fn remove_member(call: Call) -> ApiResult<Reply> {
    let (id, member) = (call.param(0), call.param(1));
    uc::remove_member(&call.cx(), call.user_id()?, id, member).await?;
    tell(
        &call,
        Notice {
            removed_user: Some(member.to_owned()),
            ..changed(id, Change::Members, None)
        },
    );
    Ok(Reply::NoContent)
}

pub async fn create_link(call: Call) -> ApiResult<Reply> {
    let body = call.body.clone();
    let link = uc::create_link(&call.cx(), call.user_id()?, call.param(0), body).await?;
    tell(&call, changed(call.param(0), Change::Links, None));
    Ok(Reply::Json(201, json!({ "link": link })))
}

pub async fn list_links(call: Call) -> ApiResult<Reply> {
    let links = uc::list_links(&call.cx(), call.user_id()?, call.param(0)).await?;
    Ok(Reply::Json(200, json!({ "links": links })))
}

pub async fn revoke_link(call: Call) -> ApiResult<Reply> {
    let (id, link) = (call.param(0), call.param(1));
    uc::revoke_link(&call.cx(), call.user_id()?, id, link).await?;
    tell(
        &call,
        Notice {
            revoked_link: Some(link.to_owned()),
            ..changed(id, Change::Links, None)
        },
    );
    Ok(Reply::NoContent)
}

/// `GET /v1/shared/{token}`: the setlist, read-only, without members.
pub async fn shared(call: Call) -> ApiResult<Reply> {
    let gate = Bindings::of(&call);
    let setlist = uc::shared(&call.cx(), &gate, call.param(0)).await?;
    Ok(setlist_reply(200, &setlist))
}

/// `GET /v1/shared/{token}/items/{item_id}/download-url`.
pub async fn shared_download_url(call: Call) -> ApiResult<Reply> {
    let gate = Bindings::of(&call);
    let (token, item) = (call.param(0), call.param(1));
    let download = uc::shared_download_url(&call.cx(), &gate, token, item, &call.query).await?;
    Ok(Reply::download(download))
}

pub async fn list_comments(call: Call) -> ApiResult<Reply> {
    let (id, item) = (call.param(0), call.param(1));
    let comments = uc::list_comments(&call.cx(), call.user_id()?, id, item).await?;
    Ok(Reply::JsonText(200, comments))
}

pub async fn add_comment(call: Call) -> ApiResult<Reply> {
    let user = &call.caller()?.user;
    let author = Author {
        id: &user.id,
        display_name: &user.display_name,
    };
    let body = call.body.clone();
    let (id, item) = (call.param(0), call.param(1));
    let comment = uc::add_comment(&call.cx(), &author, id, item, body).await?;
    tell(&call, changed(id, Change::Comments, None));
    Ok(Reply::Json(201, json!({ "comment": comment })))
}

pub async fn delete_comment(call: Call) -> ApiResult<Reply> {
    let (id, item, comment) = (call.param(0), call.param(1), call.param(2));
    uc::delete_comment(&call.cx(), call.user_id()?, id, item, comment).await?;
    tell(&call, changed(id, Change::Comments, None));
    Ok(Reply::NoContent)
}
