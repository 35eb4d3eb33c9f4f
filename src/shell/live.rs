//! Live rooms on the Worker's side (SPEC §9): ticket routes, the WebSocket upgrade handed to the
//! setlist's room (`ROOMS`, [`super::room::LiveRoom`]), and the notices REST writes send the room
//! after they commit — through `wait_until`, so a notice never fails or slows the write; a
//! failed one is logged.

use std::rc::Rc;

use serde_json::json;
use worker::{console_error, Context, Env, Headers, Method, Request, RequestInit};

use crate::domain::live::Change;
use crate::error::{ApiError, ApiResult};
use crate::service::live as uc;

use super::call::{Call, Reply};
use super::ctx::Ctx;
use super::limits::Bindings;
use super::room::{Admission, Notice};

/// `POST /v1/setlists/{id}/live/ticket`.
pub async fn member_ticket(call: Call) -> ApiResult<Reply> {
    let ticket = uc::member_ticket(&call.cx(), call.user_id()?, call.param(0)).await?;
    Reply::view(201, &ticket)
}

/// `POST /v1/shared/{token}/live/ticket`.
pub async fn guest_ticket(call: Call) -> ApiResult<Reply> {
    let gate = Bindings::of(&call);
    let ticket = uc::guest_ticket(&call.cx(), &gate, call.param(0)).await?;
    Reply::view(201, &ticket)
}

/// `GET /v1/live/{ticket}` with `Upgrade: websocket`: 101 from the room; a bad, expired or
/// spent ticket 404 before any upgrade; a plain GET 426 (the ticket stays unspent).
pub async fn connect(call: Call) -> ApiResult<Reply> {
    let (ticket, standing) = uc::admit(&call.cx(), call.param(0)).await?;
    let since = since(&call.query)?;
    let upgrade = call.req.headers().get("upgrade").ok().flatten();
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(ApiError::UpgradeRequired);
    }
    let admission = Admission {
        ticket: ticket.id,
        expires: ticket.expires,
        setlist: ticket.setlist.clone(),
        bearer: ticket.bearer,
        role: standing.role().to_owned(),
        display_name: standing.display_name,
        version: standing.version,
        until: standing.until,
    };
    let url = match since {
        Some(s) => format!("https://room/connect?since={s}"),
        None => "https://room/connect".to_owned(),
    };
    let headers = Headers::new();
    let text = serde_json::to_string(&admission).map_err(|e| ApiError::internal(e.to_string()))?;
    headers.set("upgrade", "websocket").map_err(room_err)?;
    headers.set("x-live", &text).map_err(room_err)?;
    let req = Request::new_with_init(
        &url,
        RequestInit::new()
            .with_method(Method::Get)
            .with_headers(headers),
    )
    .map_err(room_err)?;
    let response = room(&call.ctx.env, &ticket.setlist)?
        .fetch_with_request(req)
        .await
        .map_err(room_err)?;
    match response.status_code() {
        101 => Ok(Reply::Raw(101, response)),
        404 => Err(ApiError::NotFound),
        503 => Err(ApiError::Unavailable("the room is full")),
        status => Err(ApiError::internal(format!("room answered {status}"))),
    }
}

/// `?since=SEQ`: a whole number; nothing else may be asked of the route.
fn since(query: &[(String, String)]) -> ApiResult<Option<u64>> {
    let mut since = None;
    for (k, v) in query {
        match k.as_str() {
            "since" => {
                since = Some(v.parse::<u64>().map_err(|_| {
                    ApiError::field("since", "must be a whole number (a seq from this room)")
                })?);
            }
            other => return Err(ApiError::field(other, "unknown parameter")),
        }
    }
    Ok(since)
}

fn room_err(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("live room: {e}"))
}

fn room(env: &Env, setlist: &str) -> ApiResult<worker::Stub> {
    env.durable_object("ROOMS")
        .and_then(|ns| ns.id_from_name(setlist)?.get_stub())
        .map_err(room_err)
}

/// Tells the setlist's room about a committed write, after the response (`wait_until`) — if
/// the room was ever opened (a deletion is always told: the row that would say is gone).
pub fn notify(context: &Rc<Context>, env: &Env, notice: Notice) {
    let env = env.clone();
    context.wait_until(async move { tell(&env, &notice).await });
}

/// [`notify`]'s work: a failure is logged, never the write's.
async fn tell(env: &Env, notice: &Notice) {
    let told = async {
        if !notice.deleted {
            let ctx = Ctx::for_id(env, &notice.setlist)?;
            if !uc::is_live(&ctx.cx(""), &notice.setlist).await? {
                return Ok(());
            }
        }
        send(env, notice).await
    };
    if let Err(e) = told.await {
        log_failure(&notice.setlist, &e);
    }
}

fn log_failure(setlist: &str, e: &ApiError) {
    console_error!(
        "{}",
        json!({"level": "error", "msg": "live notice failed", "setlist": setlist, "error": e.to_string()})
    );
}

/// The rooms of the owner's setlists that hold `score` hear that their items changed (one of the
/// score's parts was added, renamed or removed: the items' `part` may differ), after the response.
pub fn parts_changed(call: &Call, owner: &str, score: &str) {
    let env = call.ctx.env.clone();
    let (owner, score) = (owner.to_owned(), score.to_owned());
    call.context.wait_until(async move {
        let setlists = match Ctx::for_id(&env, &owner) {
            Ok(ctx) => uc::setlists_with_score(&ctx.cx(""), &owner, &score).await,
            Err(e) => Err(e),
        };
        match setlists {
            Ok(setlists) => {
                for setlist in setlists {
                    tell(&env, &changed(&setlist, Change::Items, None)).await;
                }
            }
            Err(e) => log_failure(&score, &e),
        }
    });
}

async fn send(env: &Env, notice: &Notice) -> ApiResult<()> {
    let body = serde_json::to_string(notice).map_err(|e| ApiError::internal(e.to_string()))?;
    let headers = Headers::new();
    headers
        .set("content-type", "application/json")
        .map_err(room_err)?;
    let req = Request::new_with_init(
        "https://room/notify",
        RequestInit::new()
            .with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into())),
    )
    .map_err(room_err)?;
    let response = room(env, &notice.setlist)?
        .fetch_with_request(req)
        .await
        .map_err(room_err)?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(ApiError::internal(format!("room answered {status}"))),
    }
}

/// Tells each of `setlists`' rooms that its items changed (a score or bookmark they played was
/// deleted), after the response.
pub fn items_changed(call: &Call, setlists: Vec<String>) {
    for setlist in setlists {
        notify(
            &call.context,
            &call.ctx.env,
            changed(&setlist, Change::Items, None),
        );
    }
}

/// The room's own figures (`GET /stats`), as JSON text.
pub async fn stats(env: &Env, setlist: &str) -> ApiResult<String> {
    let mut response = room(env, setlist)?
        .fetch_with_str("https://room/stats")
        .await
        .map_err(room_err)?;
    response.text().await.map_err(room_err)
}

/// A notice of `what` changing in `setlist` (at `version`, when the write knows it).
pub fn changed(setlist: &str, what: Change, version: Option<i64>) -> Notice {
    Notice {
        setlist: setlist.to_owned(),
        what: Some(what),
        version,
        ..Notice::default()
    }
}

/// The `version` of a setlist view's JSON text.
pub fn version_of(setlist_json: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct V {
        version: i64,
    }
    serde_json::from_str::<V>(setlist_json)
        .ok()
        .map(|v| v.version)
}
