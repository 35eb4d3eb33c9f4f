//! Setlists: CRUD, items (add, move, annotate, remove, replace the order), members, public
//! links, item comments, and scores seen through a setlist (SPEC §5).
//!
//! Who may do what: the owner everything; an editor the items and comments; a viewer reads and
//! comments; anyone else — and a malformed id — gets 404, never 403, so an outsider cannot learn a
//! setlist exists. A member asking for an owner-only action gets 403 (they know it exists).
//!
//! Writes are a D1 batch that opens with a compare-and-swap on the setlist's version. A client
//! that names the version it saw gets 409 when it is stale; one that does not is retried a few
//! times against the latest version.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::views;
use crate::auth::links;
use crate::domain::fields::Fields;
use crate::domain::ids;
use crate::domain::setlist::{
    check_order, parse_comment, parse_link_expiry, parse_member, ItemPatch, ItemsRequest,
    SetlistFields, ITEMS_MAX, ITEM_PATCH_FIELDS, SETLIST_FIELDS,
};
use crate::error::{ApiError, ApiResult};
use crate::store::setlists as q;

use super::call::{Call, Reply};
use super::ctx::Ctx;
use super::d1::{self, Arg};
use crate::service::library::{file_url, page_param, thumbnail_url, StoredFile};

/// Attempts at a write whose client did not name a version.
const WRITE_ATTEMPTS: usize = 4;
const LIST_LIMIT_MAX: i64 = 100;

#[derive(Debug, Deserialize)]
struct AccessRow {
    owner_id: String,
    version: i64,
    role: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any member (or the owner).
    Read,
    /// The owner or an editor.
    Edit,
    /// The owner only.
    Own,
}

/// The caller's access to setlist `id`, or the error their role earns for `need`.
async fn access(ctx: &Ctx, id: &str, user_id: &str, need: Need) -> ApiResult<AccessRow> {
    if !ids::is_well_formed("set", id) {
        return Err(ApiError::NotFound);
    }
    let row = ctx
        .db
        .first::<AccessRow>(q::ACCESS, &[id.into(), user_id.into()])
        .await?
        .ok_or(ApiError::NotFound)?;
    let allowed = match need {
        Need::Read => true,
        Need::Edit => row.role == "owner" || row.role == "editor",
        Need::Own => row.role == "owner",
    };
    if allowed {
        Ok(row)
    } else if need == Need::Own {
        Err(ApiError::Forbidden("only the setlist's owner may do this"))
    } else {
        Err(ApiError::Forbidden("viewers cannot change this setlist"))
    }
}

fn stale(current: i64) -> ApiError {
    let mut extra = Map::new();
    extra.insert("version".into(), current.into());
    ApiError::Conflict {
        code: "VERSION_CONFLICT",
        message: "the setlist changed since you read it; reload and try again".into(),
        extra,
    }
}

/// How a write is opened.
#[derive(Debug, Clone, Copy)]
enum Claim {
    /// The client named the version it saw: 409 when stale.
    Version(i64),
    /// The client did not: run against the latest version, retrying if another write lands
    /// between the read and the batch (the batch depends on what was read).
    Latest,
    /// The batch computes everything it needs itself (an add without a version).
    Always,
}

impl Claim {
    fn from(version: Option<i64>) -> Self {
        version.map_or(Self::Latest, Self::Version)
    }
}

/// Runs a write: `build(token, items)` makes the batch after the claim from the items as they
/// were at the claimed version (read after the version, so a change in between fails the claim).
/// `adds` items are added by the write: the claim itself holds only while they fit under
/// [`ITEMS_MAX`], so concurrent adds cannot pass it. Returns the changes of the batch's
/// statements (index 0 is the claim).
async fn write<F>(
    ctx: &Ctx,
    id: &str,
    user_id: &str,
    need: Need,
    claim: Claim,
    adds: usize,
    build: F,
) -> ApiResult<Vec<usize>>
where
    F: Fn(&str, &[ItemPos]) -> ApiResult<Vec<super::d1::Stmt>>,
{
    let now = ctx.now.rfc3339();
    let room: Option<i64> =
        (adds > 0).then(|| i64::try_from(ITEMS_MAX.saturating_sub(adds)).unwrap_or(0));
    let full = || {
        ApiError::field(
            "score_id",
            format!("a setlist holds at most {ITEMS_MAX} items"),
        )
    };
    for _ in 0..WRITE_ATTEMPTS {
        let row = access(ctx, id, user_id, need).await?;
        let token = ctx.id("wrt")?;
        let (sql, expected): (&str, Arg<'_>) = match claim {
            Claim::Version(v) if v != row.version => return Err(stale(row.version)),
            Claim::Version(v) => (q::CLAIM, v.into()),
            Claim::Latest => (q::CLAIM, row.version.into()),
            Claim::Always => (q::CLAIM_ANY, Arg::Null),
        };
        let claim_stmt = ctx.db.stmt(
            sql,
            &[
                id.into(),
                expected,
                (&token).into(),
                (&now).into(),
                room.into(),
            ],
        )?;
        let items = item_positions(ctx, id).await?;
        if adds > 0 && items.len() + adds > ITEMS_MAX {
            return Err(full());
        }
        let mut stmts = vec![claim_stmt];
        stmts.extend(build(&token, &items)?);
        let changes = ctx.db.batch(stmts).await?;
        if d1::changed(&changes, 0) {
            return Ok(changes);
        }
        if adds > 0 && item_count(ctx, id).await? + adds > ITEMS_MAX {
            return Err(full());
        }
        if let Claim::Version(_) = claim {
            let row = access(ctx, id, user_id, Need::Read).await?;
            return Err(stale(row.version));
        }
        // Lost a race (or the setlist was deleted meanwhile: the next access read says so).
    }
    Err(ApiError::conflict(
        "VERSION_CONFLICT",
        "the setlist is changing too fast; try again",
    ))
}

async fn item_count(ctx: &Ctx, setlist_id: &str) -> ApiResult<usize> {
    #[derive(Deserialize)]
    struct Count {
        n: usize,
    }
    Ok(ctx
        .db
        .first::<Count>(q::ITEM_COUNT, &[setlist_id.into()])
        .await?
        .map_or(0, |c| c.n))
}

fn path(call: &Call, i: usize) -> &str {
    call.params.get(i).map_or("", String::as_str)
}

fn user_id(call: &Call) -> ApiResult<String> {
    Ok(call.caller()?.user.id.clone())
}

/// A row of any statement of the view batch: each selects a `json` column; the head adds the
/// caller's `role`, items their `thumbnail_key` (presigned here, not in SQL).
#[derive(Deserialize)]
struct ViewRow {
    json: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    thumbnail_key: Option<String>,
}

/// The full setlist view (head, items in order, members, history) in one D1 round trip, as
/// JSON text: SQL builds each object, the Worker only splices (a 40-item setlist is the hot path).
/// `viewer` is the caller's user id; without one (a public link) members are hidden.
async fn view(
    ctx: &Ctx,
    origin: &str,
    head: (String, Vec<Arg<'_>>),
    setlist_id: &str,
    viewer: Option<&str>,
) -> ApiResult<String> {
    let via_link = viewer.is_none();
    // Through a link, `setlist_id` is the link's id: no lookup before the batch.
    let of = if via_link {
        q::Setlist::Link
    } else {
        q::Setlist::Id
    };
    let mut stmts = vec![
        ctx.db.stmt(&head.0, &head.1)?,
        ctx.db.stmt(&q::items(of), &[setlist_id.into()])?,
        ctx.db.stmt(&q::events(of), &[setlist_id.into()])?,
    ];
    if let Some(viewer) = viewer {
        stmts.push(
            ctx.db
                .stmt(q::MEMBERS, &[setlist_id.into(), viewer.into()])?,
        );
    }
    let mut rows = ctx.db.batch_rows::<ViewRow>(stmts).await?.into_iter();
    let head = rows
        .next()
        .and_then(|r| r.into_iter().next())
        .ok_or(ApiError::NotFound)?;
    let items = views::json_array(rows.next().unwrap_or_default().into_iter().map(|item| {
        let url = thumbnail_url(&ctx.cx(origin), item.thumbnail_key.as_deref());
        views::prepend_fields(
            &item.json,
            &[("thumbnail_url", &views::json_string_or_null(url.as_deref()))],
        )
    }));
    let history = json_column(rows.next());
    let role = views::json_string_or_null(head.role.as_deref());
    let mut fields = vec![
        ("role", role.as_str()),
        ("items", items.as_str()),
        ("history", history.as_str()),
    ];
    let members = (!via_link).then(|| json_column(rows.next()));
    if let Some(members) = &members {
        fields.push(("members", members));
    }
    Ok(views::prepend_fields(&head.json, &fields))
}

/// The `json` column of each row, as one array's text.
fn json_column(rows: Option<Vec<ViewRow>>) -> String {
    views::json_array(rows.unwrap_or_default().into_iter().map(|r| r.json))
}

async fn member_view(ctx: &Ctx, origin: &str, id: &str, user_id: &str) -> ApiResult<String> {
    view(
        ctx,
        origin,
        (q::head(), vec![id.into(), user_id.into()]),
        id,
        Some(user_id),
    )
    .await
}

async fn setlist_reply(status: u16, call: &Call, id: &str) -> ApiResult<Reply> {
    let user_id = user_id(call)?;
    let setlist = member_view(&call.ctx, &call.origin, id, &user_id).await?;
    Ok(setlist_text(status, &setlist))
}

/// `{"setlist": …}` around the view's JSON text.
fn setlist_text(status: u16, setlist: &str) -> Reply {
    Reply::JsonText(status, format!("{{\"setlist\":{setlist}}}"))
}

// ---- setlists ----

#[derive(Deserialize)]
struct ListRow {
    id: String,
    updated_at: String,
    json: String,
    role: String,
}

#[derive(serde::Serialize, Deserialize)]
struct ListCursor {
    k: String,
    shared: bool,
    at: String,
    id: String,
}

pub async fn list(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let ctx = &call.ctx;
    let key = ctx.config.cursor_key()?;
    let mut f = Fields::new(Map::new(), &[]);
    let (mut shared, mut limit, mut after) = (false, 50, None);
    for (k, v) in &call.query {
        match k.as_str() {
            "shared" => match v.as_str() {
                "true" => shared = true,
                "false" => shared = false,
                _ => f.error("shared", "must be true or false"),
            },
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=LIST_LIMIT_MAX).contains(&n) => limit = n,
                _ => f.error("limit", format!("must be 1 to {LIST_LIMIT_MAX}")),
            },
            "cursor" => match crate::storage::signed::verify::<ListCursor>(key, v) {
                Ok(c) if c.k == "setlists" => after = Some(c),
                _ => f.error("cursor", "is not a cursor of this list"),
            },
            other => f.error(other, "unknown parameter"),
        }
    }
    f.finish()?;
    if after.as_ref().is_some_and(|c| c.shared != shared) {
        return Err(ApiError::field("cursor", "is not a cursor of this list"));
    }
    let (at, after_id) = after.map_or((None, None), |c| (Some(c.at), Some(c.id)));
    let list_sql = q::list();
    let rows = ctx
        .db
        .all::<ListRow>(
            &list_sql,
            &[
                (&user_id).into(),
                i64::from(shared).into(),
                at.as_deref().into(),
                after_id.as_deref().into(),
                (limit + 1).into(),
            ],
        )
        .await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(50);
    let rows = &rows[..rows.len().min(usize::try_from(limit).unwrap_or(50))];
    let next = match (more, rows.last()) {
        (true, Some(last)) => Value::String(crate::storage::signed::sign(
            key,
            &ListCursor {
                k: "setlists".into(),
                shared,
                at: last.updated_at.clone(),
                id: last.id.clone(),
            },
        )),
        _ => Value::Null,
    };
    let setlists: Vec<Value> = rows
        .iter()
        .filter_map(|r| {
            let mut obj: Map<String, Value> = serde_json::from_str(&r.json).ok()?;
            obj.insert("role".into(), r.role.clone().into());
            Some(Value::Object(obj))
        })
        .collect();
    Ok(Reply::Json(
        200,
        json!({ "setlists": setlists, "next_cursor": next }),
    ))
}

pub async fn create(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let allowed: Vec<&str> = SETLIST_FIELDS
        .iter()
        .copied()
        .filter(|f| *f != "version")
        .collect();
    let mut f = Fields::new(call.body.clone(), &allowed);
    let s = SetlistFields::parse(&mut f, true);
    f.finish()?;
    let ctx = &call.ctx;
    let id = ctx.id("set")?;
    let now = ctx.now.rfc3339();
    ctx.db
        .run(
            q::INSERT,
            &[
                (&id).into(),
                (&user_id).into(),
                s.name.as_ref().into(),
                s.description.clone().flatten().as_ref().into(),
                s.event_date.clone().flatten().as_ref().into(),
                s.venue.clone().flatten().as_ref().into(),
                s.notes.clone().flatten().as_ref().into(),
                (&now).into(),
            ],
        )
        .await?;
    setlist_reply(201, &call, &id).await
}

pub async fn get(call: Call) -> ApiResult<Reply> {
    let id = path(&call, 0).to_owned();
    if !ids::is_well_formed("set", &id) {
        return Err(ApiError::NotFound);
    }
    setlist_reply(200, &call, &id).await
}

pub async fn patch(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let id = path(&call, 0).to_owned();
    let mut f = Fields::new(call.body.clone(), SETLIST_FIELDS);
    let s = SetlistFields::parse(&mut f, false);
    f.finish()?;
    let ctx = &call.ctx;
    let set = |v: &Option<Option<String>>| (i64::from(v.is_some()), v.clone().flatten());
    let (description, event_date, venue, notes) = (
        set(&s.description),
        set(&s.event_date),
        set(&s.venue),
        set(&s.notes),
    );
    write(
        ctx,
        &id,
        &user_id,
        Need::Own,
        Claim::from(s.version),
        0,
        |token, _| {
            Ok(vec![ctx.db.stmt(
                q::UPDATE,
                &[
                    id.as_str().into(),
                    token.into(),
                    i64::from(s.name.is_some()).into(),
                    s.name.as_ref().into(),
                    description.0.into(),
                    description.1.as_ref().into(),
                    event_date.0.into(),
                    event_date.1.as_ref().into(),
                    venue.0.into(),
                    venue.1.as_ref().into(),
                    notes.0.into(),
                    notes.1.as_ref().into(),
                ],
            )?])
        },
    )
    .await?;
    setlist_reply(200, &call, &id).await
}

pub async fn delete(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let id = path(&call, 0);
    access(&call.ctx, id, &user_id, Need::Own).await?;
    call.ctx
        .db
        .run(q::DELETE, &[id.into(), (&user_id).into()])
        .await?;
    Ok(Reply::NoContent)
}

// ---- items ----

#[derive(Deserialize)]
struct ItemPos {
    id: String,
    position: i64,
}

async fn item_positions(ctx: &Ctx, setlist_id: &str) -> ApiResult<Vec<ItemPos>> {
    ctx.db
        .all::<ItemPos>(q::ITEM_IDS, &[setlist_id.into()])
        .await
}

/// `POST /v1/setlists/{id}/items`: add one item, or replace the whole order.
pub async fn post_items(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let id = path(&call, 0).to_owned();
    let mut f = Fields::new(
        call.body.clone(),
        &["score_id", "position", "notes", "version", "order"],
    );
    let request = ItemsRequest::parse(&mut f);
    f.finish()?;
    let request = request.ok_or_else(|| ApiError::field("order", "is invalid"))?;
    let ctx = &call.ctx;
    let now = ctx.now.rfc3339();
    match request {
        ItemsRequest::Add(item) => {
            let item_id = ctx.id("itm")?;
            let owned = ctx
                .db
                .first::<Value>(
                    q::OWNERS_SCORE,
                    &[id.as_str().into(), item.score_id.as_str().into()],
                )
                .await?;
            if owned.is_none() {
                access(ctx, &id, &user_id, Need::Edit).await?;
                return Err(ApiError::field(
                    "score_id",
                    "no such score in the setlist owner's library",
                ));
            }
            // The position is clamped to the end inside the batch, so an add does not depend on
            // what was read and needs no retry unless the client named a version.
            let claim = item.version.map_or(Claim::Always, Claim::Version);
            let changes = write(ctx, &id, &user_id, Need::Edit, claim, 1, |token, _| {
                Ok(vec![
                    ctx.db.stmt(
                        q::SHIFT_DOWN_FROM,
                        &[
                            id.as_str().into(),
                            token.into(),
                            item.position.into(),
                            Arg::Null,
                            item.score_id.as_str().into(),
                        ],
                    )?,
                    ctx.db.stmt(
                        q::INSERT_ITEM,
                        &[
                            id.as_str().into(),
                            token.into(),
                            item.position.into(),
                            item_id.as_str().into(),
                            item.score_id.as_str().into(),
                            item.notes.as_ref().into(),
                            user_id.as_str().into(),
                            now.as_str().into(),
                        ],
                    )?,
                ])
            })
            .await?;
            if !d1::changed(&changes, 2) {
                // The score was deleted between the check and the batch; the same guard kept
                // the shift from applying, only the version moved.
                return Err(ApiError::field(
                    "score_id",
                    "no such score in the setlist owner's library",
                ));
            }
            setlist_reply(201, &call, &id).await
        }
        ItemsRequest::Reorder { order, version } => {
            let order_json = serde_json::to_string(&order).unwrap_or_else(|_| "[]".into());
            let claim = Claim::Version(version);
            write(ctx, &id, &user_id, Need::Edit, claim, 0, |token, items| {
                let current: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
                check_order(&order, &current).map_err(|m| ApiError::field("order", m))?;
                Ok(vec![ctx.db.stmt(
                    q::REORDER,
                    &[id.as_str().into(), token.into(), order_json.as_str().into()],
                )?])
            })
            .await?;
            setlist_reply(200, &call, &id).await
        }
    }
}

/// Position of `item_id` among `items`, or 404.
fn position_of(items: &[ItemPos], item_id: &str) -> ApiResult<i64> {
    items
        .iter()
        .find(|i| i.id == item_id)
        .map(|i| i.position)
        .ok_or(ApiError::NotFound)
}

/// `PATCH /v1/setlists/{id}/items/{item_id}`: move it and/or change its notes.
pub async fn patch_item(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, item_id) = (path(&call, 0).to_owned(), path(&call, 1).to_owned());
    let mut f = Fields::new(call.body.clone(), ITEM_PATCH_FIELDS);
    let p = ItemPatch::parse(&mut f);
    f.finish()?;
    let ctx = &call.ctx;
    let now = ctx.now.rfc3339();
    let notes = (i64::from(p.notes.is_some()), p.notes.clone().flatten());
    let claim = Claim::from(p.version);
    write(ctx, &id, &user_id, Need::Edit, claim, 0, |token, items| {
        let from = position_of(items, &item_id)?;
        let last = i64::try_from(items.len()).unwrap_or(1);
        let to = p.position.map_or(from, |n| n.clamp(1, last));
        Ok(vec![ctx.db.stmt(
            q::MOVE_ITEM,
            &[
                id.as_str().into(),
                token.into(),
                item_id.as_str().into(),
                from.into(),
                to.into(),
                notes.0.into(),
                notes.1.as_ref().into(),
                now.as_str().into(),
            ],
        )?])
    })
    .await?;
    setlist_reply(200, &call, &id).await
}

pub async fn delete_item(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, item_id) = (path(&call, 0).to_owned(), path(&call, 1).to_owned());
    let mut f = Fields::new(Map::new(), &[]);
    let mut version = None;
    for (k, v) in &call.query {
        match (k.as_str(), v.parse::<i64>()) {
            ("version", Ok(n)) if n >= 1 => version = Some(n),
            ("version", _) => f.error("version", "must be a positive integer"),
            (other, _) => f.error(other, "unknown parameter"),
        }
    }
    f.finish()?;
    let ctx = &call.ctx;
    write(
        ctx,
        &id,
        &user_id,
        Need::Edit,
        Claim::from(version),
        0,
        |token, items| {
            let position = position_of(items, &item_id)?;
            Ok(vec![
                ctx.db.stmt(
                    q::DELETE_ITEM,
                    &[id.as_str().into(), token.into(), item_id.as_str().into()],
                )?,
                ctx.db.stmt(
                    q::CLOSE_GAP,
                    &[id.as_str().into(), token.into(), position.into()],
                )?,
            ])
        },
    )
    .await?;
    Ok(Reply::NoContent)
}

#[derive(Deserialize)]
struct ItemFile {
    score_id: String,
    pdf_info_state: String,
    pdf_info_reason: Option<String>,
    object_key: String,
    pages: Option<u64>,
    size_bytes: i64,
}

/// `{url, expires_at}` for an item's file (or page image), read by `sql` with `args` in the
/// same statement that checks who may read it: 404 for anyone else.
async fn item_file_url(ctx: &Ctx, call: &Call, sql: &str, args: &[Arg<'_>]) -> ApiResult<Reply> {
    let page = page_param(&call.query)?;
    let file = ctx
        .db
        .first::<ItemFile>(sql, args)
        .await?
        .ok_or(ApiError::NotFound)?;
    let stored = StoredFile {
        score_id: &file.score_id,
        inspection: (&file.pdf_info_state, file.pdf_info_reason.as_deref()),
        object_key: &file.object_key,
        pages: file.pages,
        size_bytes: file.size_bytes,
    };
    Ok(Reply::download(
        file_url(&ctx.cx(&call.origin), &stored, page).await?,
    ))
}

/// `GET /v1/setlists/{id}/items/{item_id}/download-url`: members reach the owner's file.
pub async fn item_download_url(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, item_id) = (path(&call, 0), path(&call, 1));
    if !ids::is_well_formed("set", id) {
        return Err(ApiError::NotFound);
    }
    let args = [id.into(), item_id.into(), user_id.as_str().into()];
    item_file_url(&call.ctx, &call, q::ITEM_FILE, &args).await
}

// ---- members ----

pub async fn add_member(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let id = path(&call, 0).to_owned();
    let mut f = Fields::new(call.body.clone(), &["email", "role"]);
    let member = parse_member(&mut f);
    f.finish()?;
    let (email, role) = member.ok_or_else(|| ApiError::field("email", "is required"))?;
    let ctx = &call.ctx;
    access(ctx, &id, &user_id, Need::Own).await?;
    let now = ctx.now.rfc3339();
    #[derive(Deserialize)]
    struct Added {
        user_id: String,
    }
    let added = ctx
        .db
        .first::<Added>(
            q::UPSERT_MEMBER,
            &[
                id.as_str().into(),
                user_id.as_str().into(),
                email.as_str().into(),
                role.as_str().into(),
                now.as_str().into(),
            ],
        )
        .await?
        .ok_or_else(|| {
            ApiError::field("email", "no registered user other than you has this email")
        })?;
    let setlist: Value =
        serde_json::from_str(&member_view(ctx, &call.origin, &id, &user_id).await?)
            .map_err(|e| ApiError::internal(format!("setlist json: {e}")))?;
    let member = setlist["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["user_id"] == added.user_id.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(Reply::Json(201, json!({ "member": member })))
}

pub async fn remove_member(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, member) = (path(&call, 0).to_owned(), path(&call, 1).to_owned());
    let ctx = &call.ctx;
    // A member may leave; only the owner removes others.
    let need = if member == user_id {
        Need::Read
    } else {
        Need::Own
    };
    access(ctx, &id, &user_id, need).await?;
    let removed = ctx
        .db
        .run(
            q::DELETE_MEMBER,
            &[
                id.as_str().into(),
                user_id.as_str().into(),
                member.as_str().into(),
            ],
        )
        .await?;
    if removed == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(Reply::NoContent)
}

// ---- public links ----

#[derive(Deserialize)]
struct LinkRow {
    id: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    created_at: String,
}

fn link_json(ctx: &Ctx, origin: &str, row: &LinkRow) -> ApiResult<Value> {
    let token = links::token(ctx.config.link_key()?, &row.id);
    let base = ctx.config.public_base_url.as_deref().unwrap_or(origin);
    let now = ctx.now.rfc3339();
    let active = row.revoked_at.is_none() && row.expires_at.as_ref().is_none_or(|e| *e > now);
    Ok(json!({
        "id": row.id,
        "token": token,
        "url": format!("{base}/v1/shared/{token}"),
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "created_at": row.created_at,
        "active": active,
    }))
}

pub async fn create_link(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let id = path(&call, 0).to_owned();
    let ctx = &call.ctx;
    let mut f = Fields::new(call.body.clone(), &["expires_at"]);
    let expires = parse_link_expiry(&mut f, ctx.now.to_datetime());
    f.finish()?;
    access(ctx, &id, &user_id, Need::Own).await?;
    let link_id = ctx.id("lnk")?;
    let now = ctx.now.rfc3339();
    let expires_at = expires.flatten();
    ctx.db
        .run(
            q::INSERT_LINK,
            &[
                link_id.as_str().into(),
                id.as_str().into(),
                user_id.as_str().into(),
                expires_at.as_deref().into(),
                now.as_str().into(),
            ],
        )
        .await?;
    let row = LinkRow {
        id: link_id,
        expires_at,
        revoked_at: None,
        created_at: now,
    };
    Ok(Reply::Json(
        201,
        json!({ "link": link_json(ctx, &call.origin, &row)? }),
    ))
}

pub async fn list_links(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let id = path(&call, 0).to_owned();
    let ctx = &call.ctx;
    access(ctx, &id, &user_id, Need::Own).await?;
    let rows = ctx
        .db
        .all::<LinkRow>(q::LINKS, &[id.as_str().into(), user_id.as_str().into()])
        .await?;
    let links = rows
        .iter()
        .map(|r| link_json(ctx, &call.origin, r))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Reply::Json(200, json!({ "links": links })))
}

pub async fn revoke_link(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, link_id) = (path(&call, 0).to_owned(), path(&call, 1).to_owned());
    let ctx = &call.ctx;
    access(ctx, &id, &user_id, Need::Own).await?;
    let now = ctx.now.rfc3339();
    let changed = ctx
        .db
        .run(
            q::REVOKE_LINK,
            &[
                id.as_str().into(),
                user_id.as_str().into(),
                link_id.as_str().into(),
                now.as_str().into(),
            ],
        )
        .await?;
    if changed == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(Reply::NoContent)
}

/// The link id a token carries, once the request is counted: public-link routes are open to
/// anyone holding a link, so each request is first counted per client address and per link (a
/// forged token per address only) and refused over either limit; a forged token is 404.
async fn link_id(ctx: &Ctx, req: &worker::Request, token: &str) -> ApiResult<String> {
    let link_id = links::link_id(ctx.config.link_key()?, token);
    let ip = super::limits::client_ip(req);
    super::limits::public_link(&ctx.env, &ip, link_id.as_deref()).await?;
    link_id.ok_or(ApiError::NotFound)
}

/// `GET /v1/shared/{token}`: the setlist, read-only, without members.
pub async fn shared(call: Call) -> ApiResult<Reply> {
    let ctx = &call.ctx;
    let link_id = link_id(ctx, &call.req, path(&call, 0)).await?;
    let now = ctx.now.rfc3339();
    // One round trip: the head statement checks the link (live, owner enabled).
    let setlist = view(
        ctx,
        &call.origin,
        (
            q::head_by_link(),
            vec![link_id.as_str().into(), now.as_str().into()],
        ),
        &link_id,
        None,
    )
    .await?;
    Ok(setlist_text(200, &setlist))
}

/// `GET /v1/shared/{token}/items/{item_id}/download-url`: the link is checked in the statement
/// that reads the item's file.
pub async fn shared_download_url(call: Call) -> ApiResult<Reply> {
    let ctx = &call.ctx;
    let link_id = link_id(ctx, &call.req, path(&call, 0)).await?;
    let now = ctx.now.rfc3339();
    let args = [
        link_id.as_str().into(),
        path(&call, 1).into(),
        now.as_str().into(),
    ];
    item_file_url(ctx, &call, q::ITEM_FILE_BY_LINK, &args).await
}

// ---- comments ----

pub async fn list_comments(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, item_id) = (path(&call, 0).to_owned(), path(&call, 1).to_owned());
    let ctx = &call.ctx;
    access(ctx, &id, &user_id, Need::Read).await?;
    let rows = ctx
        .db
        .all::<ViewRow>(q::COMMENTS, &[id.as_str().into(), item_id.as_str().into()])
        .await?;
    if rows.is_empty()
        && !item_positions(ctx, &id)
            .await?
            .iter()
            .any(|i| i.id == item_id)
    {
        return Err(ApiError::NotFound);
    }
    Ok(Reply::JsonText(
        200,
        format!("{{\"comments\":{}}}", json_column(Some(rows))),
    ))
}

pub async fn add_comment(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, item_id) = (path(&call, 0).to_owned(), path(&call, 1).to_owned());
    let mut f = Fields::new(call.body.clone(), &["body"]);
    let body = parse_comment(&mut f);
    f.finish()?;
    let body = body.ok_or_else(|| ApiError::field("body", "is required"))?;
    let ctx = &call.ctx;
    access(ctx, &id, &user_id, Need::Read).await?;
    let comment_id = ctx.id("cmt")?;
    let now = ctx.now.rfc3339();
    let added = ctx
        .db
        .run(
            q::INSERT_COMMENT,
            &[
                comment_id.as_str().into(),
                id.as_str().into(),
                item_id.as_str().into(),
                user_id.as_str().into(),
                body.as_str().into(),
                now.as_str().into(),
            ],
        )
        .await?;
    if added == 0 {
        return Err(ApiError::NotFound);
    }
    let caller = call.caller()?;
    Ok(Reply::Json(
        201,
        json!({ "comment": {
            "id": comment_id,
            "author": { "id": user_id, "display_name": caller.user.display_name },
            "body": body,
            "created_at": now,
        }}),
    ))
}

pub async fn delete_comment(call: Call) -> ApiResult<Reply> {
    let user_id = user_id(&call)?;
    let (id, item_id, comment_id) = (
        path(&call, 0).to_owned(),
        path(&call, 1).to_owned(),
        path(&call, 2).to_owned(),
    );
    let ctx = &call.ctx;
    let row = access(ctx, &id, &user_id, Need::Read).await?;
    let is_owner = i64::from(row.owner_id == user_id);
    let removed = ctx
        .db
        .run(
            q::DELETE_COMMENT,
            &[
                id.as_str().into(),
                item_id.as_str().into(),
                comment_id.as_str().into(),
                user_id.as_str().into(),
                is_owner.into(),
            ],
        )
        .await?;
    if removed == 0 {
        // Either no such comment, or someone else's: tell them apart for a member.
        let exists = ctx
            .db
            .all::<Value>(q::COMMENTS, &[id.as_str().into(), item_id.as_str().into()])
            .await?
            .iter()
            .any(|r| r["json"].as_str().is_some_and(|j| j.contains(&comment_id)));
        return Err(if exists {
            ApiError::Forbidden("only its author or the setlist's owner may delete a comment")
        } else {
            ApiError::NotFound
        });
    }
    Ok(Reply::NoContent)
}
