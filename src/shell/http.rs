//! HTTP plumbing: route, read the body within limits, authenticate, dispatch, and turn every
//! outcome into a response with the envelope and security headers. One JSON log line per request.

use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use std::rc::Rc;

use worker::{console_error, console_log, Context, Env, Headers, Request, Response};

use crate::api::body::{self, MAX_JSON_BODY_BYTES};
use crate::api::cors;
use crate::api::openapi::Audience;
use crate::api::replicas::{self, Start};
use crate::api::routes::{match_route, Access, BodyKind, Endpoint, Match, RouteDef};
use crate::api::routing;
use crate::auth::jwt::SessionClaims;
use crate::error::{ApiError, ApiResult};
use crate::service::platform::{self, Health};
use crate::service::{accounts as sessions, admin as admins};

use super::annotations::On;
use super::call::{Call, Caller, Reply};
use super::ctx::{self, Ctx};
use super::d1::{self, D1};
use super::phases;
use super::{
    accounts, activity, admin, annotations, blobs, bookmarks, books, exports, imports, library,
    limits, live, parts, presets, setlists,
};

struct LogLine {
    method: String,
    route: &'static str,
    user_id: Option<String>,
    /// The request's D1 sessions (its database's first), for the bookmark its response carries.
    dbs: Vec<D1>,
}

pub async fn serve(req: Request, env: Env, context: Context) -> Response {
    let started = ctx::now();
    phases::start(&env);
    let mut log = LogLine {
        method: req.method().to_string(),
        route: "unmatched",
        user_id: None,
        dbs: Vec::new(),
    };
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let origin = header("origin");
    let bookmark = header(replicas::HEADER);
    // Only an OPTIONS request can be a preflight: no second header read on every other call.
    let preflight = (log.method == "OPTIONS")
        .then(|| header("access-control-request-method"))
        .flatten();
    let cors_origins = ctx::config(&env).ok().map(|c| c.cors_origins.clone());
    let outcome = handle(req, env, Rc::new(context), bookmark.as_deref(), &mut log).await;
    let (status, mut response) = match outcome {
        Ok(reply) => reply_response(reply),
        Err(err) => {
            if err.is_server_fault() {
                // The cause goes to the log only; the client sees the opaque envelope.
                console_error!(
                    "{}",
                    json!({"level": "error", "route": log.route, "error": err.to_string()})
                );
            }
            (err.status(), error_response(&err))
        }
    };
    security_headers(response.headers_mut(), log.route);
    let latest = log.dbs.iter().find_map(D1::bookmark);
    if let Some(b) = replicas::answer(latest.as_deref(), bookmark.as_deref()) {
        let _ = response.headers_mut().set(replicas::HEADER, b);
    }
    if let Some(origins) = &cors_origins {
        let headers = match &preflight {
            // A preflight is granted only by a successful OPTIONS answer listing the methods.
            Some(method) if log.method == "OPTIONS" => {
                let allow = response.headers().get("allow").ok().flatten();
                let allow = allow.filter(|_| status == 204).unwrap_or_default();
                let methods: Vec<&str> = allow.split(", ").collect();
                cors::preflight_headers(origins, origin.as_deref(), method, &methods)
            }
            _ => cors::response_headers(origins, origin.as_deref()),
        };
        for (name, value) in headers {
            let _ = response.headers_mut().set(name, &value);
        }
    }
    let duration_ms = ctx::now().0 - started.0;
    if phases::skip('L') {
        return response;
    }
    console_log!(
        "{}",
        json!({
            "level": "info",
            "msg": "request",
            "method": log.method,
            "route": log.route,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": log.user_id,
        })
    );
    response
}

async fn handle(
    mut req: Request,
    env: Env,
    context: Rc<Context>,
    bookmark: Option<&str>,
    log: &mut LogLine,
) -> ApiResult<Reply> {
    // The raw method: the `worker` crate maps names it does not know (QUERY, PROPFIND, …) to GET,
    // which would serve them as reads.
    let method = req.inner().method();
    let path = req.path();
    let (route, params) = match match_route(&method, &path) {
        Match::Found { route, params } => (route, params),
        Match::MethodNotAllowed { allow } if method == "OPTIONS" => {
            return Ok(Reply::Allow(allow));
        }
        Match::MethodNotAllowed { allow } => return Err(ApiError::MethodNotAllowed { allow }),
        Match::NotFound => return Err(ApiError::NotFound),
    };
    log.route = route.template;
    let start = replicas::start(route, bookmark);
    if route.endpoint == Endpoint::Health {
        return health(&req, &env, &start, log).await;
    }
    if route.endpoint == Endpoint::OpenApi {
        return Ok(Reply::JsonText(200, openapi_text(&env, Audience::Public)));
    }
    if matches!(route.endpoint, Endpoint::Docs | Endpoint::DocsAsset) {
        return docs(&env, params.first().map_or("index.html", String::as_str)).await;
    }
    // The access token is verified once: its subject routes the request, then its session is
    // checked (a batched route checks it in its one statement).
    let config = ctx::config(&env)?;
    let now = ctx::now();
    let claims = match route.access {
        Access::Public => None,
        _ => Some(sessions::verify_access(
            &config,
            now,
            bearer_token(&req).as_deref(),
        )),
    };
    let caller_id = claims
        .as_ref()
        .and_then(|c| c.as_ref().ok())
        .map(|c| c.sub.as_str());
    let keys = routing::TokenKeys {
        link: config.link_key().ok(),
        ticket: config.ticket_key().ok(),
        blob: config.blob_key().ok(),
    };
    let key = routing::routing_key(route, &params, keys, now, caller_id);
    let ctx = Ctx::for_request(&env, key.as_deref(), &start)?;
    let claims = claims.unwrap_or_else(|| access_claims(&req, &ctx));
    log.dbs = ctx.sessions();
    // The caller is checked before the body is read (SPEC §6): without a valid token every
    // non-open route answers 401, whatever the body; admin routes answer anyone else 404, as
    // if they did not exist (a malformed body must not answer 400 first).
    let (caller, claims) = match route.access {
        Access::Public => (None, None),
        Access::User => (Some(caller_of(claims, &ctx).await?), None),
        Access::UserBatched => (None, Some(claims?)),
        Access::Admin => match caller_of(claims, &ctx).await {
            Ok(caller) if admins::is_admin(&caller.user) => (Some(caller), None),
            Err(e) if e.is_server_fault() => return Err(e),
            _ => return Err(ApiError::NotFound),
        },
    };
    let body = match route.body {
        BodyKind::Json => read_json_body(&mut req).await?,
        BodyKind::Raw => Map::new(),
    };
    log.user_id = caller
        .as_ref()
        .map(|c| c.user.id.clone())
        .or_else(|| claims.as_ref().map(|c| c.sub.clone()));
    if let Some(user_id) = log.user_id.as_ref().filter(|_| !phases::skip('R')) {
        limits::user_ceiling(&env, user_id).await?;
    }
    let url = req
        .url()
        .map_err(|e| ApiError::BadRequest(format!("bad URL: {e}")))?;
    let query = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let origin = url.origin().ascii_serialization();
    dispatch(
        route,
        Call {
            ctx,
            context,
            req,
            params,
            query,
            origin,
            body,
            caller,
            claims,
        },
    )
    .await
}

async fn dispatch(route: &RouteDef, call: Call) -> ApiResult<Reply> {
    match route.endpoint {
        Endpoint::Health | Endpoint::OpenApi | Endpoint::Docs | Endpoint::DocsAsset => Err(
            ApiError::internal("health, the OpenAPI document and docs are served before dispatch"),
        ),
        Endpoint::Register => accounts::register(call).await,
        Endpoint::Login => accounts::login(call).await,
        Endpoint::Refresh => accounts::refresh(call).await,
        Endpoint::Logout => accounts::logout(call).await,
        Endpoint::LogoutAll => accounts::logout_all(call).await,
        Endpoint::GetMe => accounts::get_me(call),
        Endpoint::PatchMe => accounts::patch_me(call).await,
        Endpoint::ChangePassword => accounts::change_password(call).await,
        Endpoint::Usage => library::usage(call).await,
        Endpoint::CreateUpload => library::create_upload(call).await,
        Endpoint::PutBlob => blobs::put(call).await,
        Endpoint::GetBlob => blobs::get(call).await,
        Endpoint::CreateScore => library::create_score(call).await,
        Endpoint::ListScores => library::list_scores(call).await,
        Endpoint::GetScore => library::get_score(call).await,
        Endpoint::PatchScore => library::patch_score(call).await,
        Endpoint::DeleteScore => library::delete_score(call).await,
        Endpoint::DownloadUrl => library::download_url(call).await,
        Endpoint::CreatePart => parts::create_part(call).await,
        Endpoint::ListParts => parts::list_parts(call).await,
        Endpoint::PatchPart => parts::patch_part(call).await,
        Endpoint::DeletePart => parts::delete_part(call).await,
        Endpoint::PartDownloadUrl => parts::download_url(call).await,
        Endpoint::ListTrash => library::list_trash(call).await,
        Endpoint::RestoreScore => library::restore_score(call).await,
        Endpoint::PurgeScore => library::purge_score(call).await,
        Endpoint::EmptyTrash => library::empty_trash(call).await,
        Endpoint::Favorite => activity::favorite(call).await,
        Endpoint::Unfavorite => activity::unfavorite(call).await,
        Endpoint::Favorites => activity::favorites(call).await,
        Endpoint::Opened => activity::opened(call).await,
        Endpoint::History => activity::history(call).await,
        Endpoint::Versions => activity::list_versions(call).await,
        Endpoint::CompareVersions => activity::compare_versions(call).await,
        Endpoint::Stats => activity::stats(call).await,
        Endpoint::CreateBookmark => bookmarks::create(call).await,
        Endpoint::ImportBookmarks => bookmarks::import(call).await,
        Endpoint::ListBookmarks => bookmarks::list(call).await,
        Endpoint::GetBookmark => bookmarks::get(call).await,
        Endpoint::PatchBookmark => bookmarks::patch(call).await,
        Endpoint::DeleteBookmark => bookmarks::delete(call).await,
        Endpoint::BookmarkDownloadUrl => bookmarks::download_url(call).await,
        Endpoint::ListSetlists => setlists::list(call).await,
        Endpoint::CreateSetlist => setlists::create(call).await,
        Endpoint::GetSetlist => setlists::get(call).await,
        Endpoint::PatchSetlist => setlists::patch(call).await,
        Endpoint::DeleteSetlist => setlists::delete(call).await,
        Endpoint::PostItems => setlists::post_items(call).await,
        Endpoint::PatchItem => setlists::patch_item(call).await,
        Endpoint::DeleteItem => setlists::delete_item(call).await,
        Endpoint::ItemDownloadUrl => setlists::item_download_url(call).await,
        Endpoint::RequestBook => books::request(call).await,
        Endpoint::GetBook => books::get(call).await,
        Endpoint::RequestExport => exports::request(call).await,
        Endpoint::ListExports => exports::list(call).await,
        Endpoint::GetExport => exports::get(call).await,
        Endpoint::CreateImport => imports::create(call).await,
        Endpoint::GetImport => imports::get(call).await,
        Endpoint::ListComments => setlists::list_comments(call).await,
        Endpoint::ListScoreAnnotations => annotations::list(call, On::Score).await,
        Endpoint::ListItemAnnotations => annotations::list(call, On::Item).await,
        Endpoint::PutScoreAnnotation => annotations::put(call, On::Score).await,
        Endpoint::PutItemAnnotation => annotations::put(call, On::Item).await,
        Endpoint::DeleteScoreAnnotation => annotations::delete(call, On::Score).await,
        Endpoint::DeleteItemAnnotation => annotations::delete(call, On::Item).await,
        Endpoint::GetScoreSettings => annotations::get_settings(call, On::Score).await,
        Endpoint::GetItemSettings => annotations::get_settings(call, On::Item).await,
        Endpoint::PutScoreSettings => annotations::put_settings(call, On::Score).await,
        Endpoint::PutItemSettings => annotations::put_settings(call, On::Item).await,
        Endpoint::AddComment => setlists::add_comment(call).await,
        Endpoint::DeleteComment => setlists::delete_comment(call).await,
        Endpoint::AddMember => setlists::add_member(call).await,
        Endpoint::RemoveMember => setlists::remove_member(call).await,
        Endpoint::PatchMember => setlists::patch_member(call).await,
        Endpoint::CreateLink => setlists::create_link(call).await,
        Endpoint::ListLinks => setlists::list_links(call).await,
        Endpoint::RevokeLink => setlists::revoke_link(call).await,
        Endpoint::Shared => setlists::shared(call).await,
        Endpoint::SharedDownloadUrl => setlists::shared_download_url(call).await,
        Endpoint::LiveTicket => live::member_ticket(call).await,
        Endpoint::SharedLiveTicket => live::guest_ticket(call).await,
        Endpoint::LiveConnect => live::connect(call).await,
        Endpoint::ListPresets => presets::list(call).await,
        Endpoint::CreatePreset => presets::create(call).await,
        Endpoint::DeletePreset => presets::delete(call).await,
        Endpoint::AdminUsers => admin::users(call).await,
        Endpoint::AdminPatchUser => admin::patch_user(call).await,
        Endpoint::AdminStats => admin::stats(call).await,
        Endpoint::AdminLiveRoom => admin::live_room(call).await,
        Endpoint::AdminTasks => admin::tasks(call).await,
        Endpoint::AdminRetryTask => admin::retry_task(call).await,
        Endpoint::AdminOpenApi => Ok(Reply::JsonText(
            200,
            openapi_text(&call.ctx.env, Audience::Admin),
        )),
    }
}

/// `GET /health`: `ok` or `degraded` (503 when D1 does not answer) for everyone; the version,
/// D1's state and configuration problems only for an admin's token (`service::platform`).
async fn health(req: &Request, env: &Env, start: &Start, log: &mut LogLine) -> ApiResult<Reply> {
    let problems = match ctx::config(env) {
        Ok(config) => config.problems(),
        Err(why) => vec![why.to_string()],
    };
    let db = d1::binding(env).and_then(|b| D1::session(b, start)).ok();
    log.dbs = db.iter().cloned().collect();
    let database = match &db {
        Some(db) => platform::database(db).await,
        None => "missing",
    };
    let health = Health::new(problems, database);
    if !health.problems.is_empty() {
        // Operators read the reasons here: without a usable secret no admin can sign in.
        console_error!(
            "{}",
            json!({"level": "error", "msg": "health degraded", "problems": health.problems})
        );
    }
    let admin = match db.map(|_| Ctx::for_request(env, None, start)) {
        Some(Ok(ctx)) if req.headers().has("authorization").unwrap_or(false) => {
            authenticate(req, &ctx)
                .await
                .is_ok_and(|caller| admins::is_admin(&caller.user))
        }
        _ => false,
    };
    Ok(Reply::Json(
        health.status,
        health.view(admin, crate::VERSION),
    ))
}

/// Reads a JSON object body within [`MAX_JSON_BODY_BYTES`]; a chunked body is bounded while it
/// streams, so a huge upload is cut off early instead of buffered.
async fn read_json_body(req: &mut Request) -> ApiResult<Map<String, Value>> {
    let headers = req.headers();
    let content_length = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = headers
        .get("transfer-encoding")
        .ok()
        .flatten()
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let content_type = headers.get("content-type").ok().flatten();
    let has_stream = req.inner().body().is_some();
    body::precheck(
        content_length,
        content_type.as_deref(),
        chunked || (has_stream && content_length.is_none()),
    )?;
    if !has_stream {
        return Ok(Map::new());
    }
    let mut stream = req
        .stream()
        .map_err(|e| ApiError::BadRequest(format!("unreadable body: {e}")))?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("unreadable body: {e}")))?;
        if (bytes.len() + chunk.len()) as u64 > MAX_JSON_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit_bytes: MAX_JSON_BODY_BYTES,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    body::parse_object(&bytes)
}

/// The bearer token of the request, if it has one.
fn bearer_token(req: &Request) -> Option<String> {
    let header = req.headers().get("authorization").ok().flatten()?;
    bearer(&header).map(str::to_owned)
}

/// Verifies the bearer access token's signature, type and times (not yet its session).
fn access_claims(req: &Request, ctx: &Ctx) -> ApiResult<SessionClaims> {
    sessions::access_claims(&ctx.cx(""), bearer_token(req).as_deref())
}

/// Verifies the bearer access token and that its session is live and its account enabled.
async fn authenticate(req: &Request, ctx: &Ctx) -> ApiResult<Caller> {
    caller_of(access_claims(req, ctx), ctx).await
}

/// The caller behind a verified access token (or the token's refusal): its session must be live
/// and its account enabled. A revoked session read on a replica is confirmed on the primary: the
/// replica may not yet have a session signed in a moment ago, and a client without a bookmark
/// would be signed out.
async fn caller_of(claims: ApiResult<SessionClaims>, ctx: &Ctx) -> ApiResult<Caller> {
    let claims = claims?;
    let mut session = sessions::session_of(&ctx.cx(""), claims.clone()).await;
    if d1::may_lag(&session) && ctx.to_primary()? {
        session = sessions::session_of(&ctx.cx(""), claims).await;
    }
    let session = session?;
    Ok(Caller {
        user: session.user,
        session_id: session.session_id,
    })
}

fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn reply_response(reply: Reply) -> (u16, Response) {
    match reply {
        Reply::Json(status, value) => (status, json_response(status, &value)),
        Reply::Raw(status, response) => (status, response),
        Reply::JsonText(status, text) => (status, json_bytes(status, text.into_bytes())),
        Reply::NoContent => (
            204,
            Response::empty()
                .unwrap_or_else(|_| fallback())
                .with_status(204),
        ),
        Reply::Pending | Reply::Running => {
            let state = if matches!(reply, Reply::Running) {
                "running"
            } else {
                "pending"
            };
            let mut response = json_response(202, &json!({ "state": state }));
            let _ = response.headers_mut().set("retry-after", "2");
            (202, response)
        }
        Reply::Allow(allow) => {
            let mut response = Response::empty()
                .unwrap_or_else(|_| fallback())
                .with_status(204);
            let _ = response.headers_mut().set("allow", &allow.join(", "));
            (204, response)
        }
    }
}

pub fn json_response(status: u16, value: &Value) -> Response {
    json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
}

fn json_bytes(status: u16, body: Vec<u8>) -> Response {
    let mut response = Response::from_bytes(body)
        .unwrap_or_else(|_| fallback())
        .with_status(status);
    let _ = response
        .headers_mut()
        .set("content-type", "application/json; charset=utf-8");
    response
}

fn error_response(err: &ApiError) -> Response {
    let mut response = json_response(err.status(), &err.envelope());
    for (name, value) in err.headers() {
        let _ = response.headers_mut().set(name, &value);
    }
    response
}

fn fallback() -> Response {
    Response::builder().with_status(500).fixed(Vec::new())
}

thread_local! {
    /// The OpenAPI documents, rendered once per isolate (they depend only on the code).
    static OPENAPI: [std::cell::OnceCell<std::rc::Rc<str>>; 2] =
        const { [std::cell::OnceCell::new(), std::cell::OnceCell::new()] };
}

fn openapi_text(env: &Env, audience: Audience) -> String {
    OPENAPI.with(|cells| {
        cells[usize::from(audience == Audience::Admin)]
            .get_or_init(|| {
                // The document states this deployment's bounds (the largest upload).
                let settings = ctx::config(env).map_or_else(
                    |_| crate::api::openapi::Settings::default(),
                    |c| crate::api::openapi::Settings {
                        max_upload_bytes: c.max_upload_bytes,
                        max_import_bytes: c.max_import_bytes,
                    },
                );
                crate::api::openapi::document(env!("CARGO_PKG_VERSION"), audience, &settings)
                    .to_string()
                    .into()
            })
            .to_string()
    })
}

/// Swagger UI's page: its own scripts and styles only (no inline script, no CDN), images from
/// itself or data: URIs, requests to this origin only, never framed.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The asset behind a docs path: `/docs/live` is the live-room page.
fn asset_name(file: &str) -> &str {
    if file == "live" {
        "live.html"
    } else {
        file
    }
}

/// Serves one Swagger UI file from the static assets (`ASSETS`, filled by scripts/build.sh).
async fn docs(env: &Env, file: &str) -> ApiResult<Reply> {
    if !crate::api::routes::is_docs_file(file) {
        return Err(ApiError::NotFound);
    }
    let asset = super::assets::read(env, "ASSETS", &format!("docs/{}", asset_name(file)))
        .await?
        .ok_or(ApiError::NotFound)?;
    // A fetched response's headers are immutable: the body goes into one of ours, so the
    // security headers (and the docs CSP) can be set on it.
    let mut own =
        Response::from_bytes(asset.bytes).map_err(|e| ApiError::internal(e.to_string()))?;
    if let Some(ct) = asset.content_type {
        let _ = own.headers_mut().set("content-type", &ct);
    }
    Ok(Reply::Raw(200, own))
}

/// SPEC §6 headers on every response. The API serves JSON only, so its CSP forbids everything;
/// the Swagger UI page gets [`DOCS_CSP`].
fn security_headers(headers: &mut Headers, route: &str) {
    let csp = if route.starts_with("/docs") {
        DOCS_CSP
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    for (name, value) in [
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", csp),
        ("cache-control", "no-store"),
    ] {
        let _ = headers.set(name, value);
    }
}
