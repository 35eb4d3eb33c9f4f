//! Setlists' use cases (SPEC §5): create, read, edit and delete a setlist and list them; add,
//! move, annotate, remove and reorder items; members; public links and what they show; comments
//! on items; items' files through a setlist.
//!
//! Who may do what is `domain::setlist::decide`, asked by every use case with the caller's
//! party (owner, editor, viewer, link holder or outsider, as the database reports it).
//!
//! Writes are a batch that opens with a compare-and-swap on the setlist's version ([`write`]).
//! A client that names the version it saw gets 409 when it is stale; one that does not is
//! retried up to [`WRITE_ATTEMPTS`] times against the latest version.

use serde_json::{Map, Value};

use crate::api::views;
use crate::auth::links;
use crate::domain::fields::Fields;
use crate::domain::ids;
use crate::domain::setlist::{
    check_order, decide, parse_comment, parse_link_expiry, parse_member, Action, ItemPatch,
    ItemTarget, ItemsRequest, MemberPatch, Party, SetlistFields, ITEMS_MAX, ITEM_PATCH_FIELDS,
    SETLIST_FIELDS,
};
use crate::error::{ApiError, ApiResult};
use crate::ports::{changed, Db, Outcome, Ports};
use crate::store::paging::Pager;
use crate::store::processing::Of;
use crate::store::setlists::{
    self as q, AccessRow, AuthorRow, Claim, CountRow, Expect, ItemFileRow, ItemMove, ItemPartRow,
    ItemPos, LinkRow, ListRow, NewComment, NewItem, NewSetlist, UserIdRow, Via, ViewRow,
};
use crate::store::Stmt;

use super::activity::{page_query, position};
use super::bookmarks;
use super::library::{file_url, page_param, thumbnail_url, Download, StoredFile};
use super::parts;
use super::Cx;
use crate::store::parts::PartRow;

/// Attempts at a write whose client did not name a version, before 409.
pub const WRITE_ATTEMPTS: usize = 4;
/// Most setlists a page of the list may ask for.
pub const LIST_LIMIT_MAX: i64 = 100;

/// The caller's relation to setlist `id` (their row, and the party it makes them), once the
/// policy allows them `action`.
///
/// # Errors
/// 404 for a malformed id, an outsider, or a party the policy hides the action from; 403 when
/// the policy forbids it.
async fn access<P: Ports>(
    cx: &Cx<'_, P>,
    id: &str,
    user: &str,
    action: Action,
) -> ApiResult<(AccessRow, Party)> {
    if !ids::is_well_formed("set", id) {
        return Err(ApiError::NotFound);
    }
    let row = cx.db().first::<AccessRow>(q::access(id, user)).await?;
    let party = Party::from_role(row.as_ref().map(|r| r.role.as_str()));
    decide(party, action).check()?;
    Ok((row.ok_or(ApiError::NotFound)?, party))
}

/// 409 `VERSION_CONFLICT` with the current version.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claiming {
    /// The client named the version it saw: 409 when stale.
    Version(i64),
    /// The client did not: run against the latest version, retrying if another write lands
    /// between the read and the batch (the batch depends on what was read).
    Latest,
    /// The batch computes everything it needs itself (an add without a version).
    Always,
}

impl Claiming {
    fn from(version: Option<i64>) -> Self {
        version.map_or(Self::Latest, Self::Version)
    }
}

/// A setlist with no room for `adds` more items.
fn full() -> ApiError {
    ApiError::field(
        "score_id",
        format!("a setlist holds at most {ITEMS_MAX} items"),
    )
}

/// Runs a write of `action` on setlist `id`: `build(token, items)` makes the statements that
/// follow the claim, from the items as they were at the claimed version (read after the
/// version, so a change in between fails the claim). The write adds `adds` items: the claim
/// itself holds only while they fit under [`ITEMS_MAX`], so concurrent adds cannot pass it.
/// A claim that lost is retried (fresh access check, fresh read) when the client named no
/// version, at most [`WRITE_ATTEMPTS`] times. Returns the batch's outcomes (index 0 is the
/// claim).
///
/// # Errors
/// As [`access`]; what `build` refuses; 422 when full; 409 `VERSION_CONFLICT` when the named
/// version is stale or every attempt lost.
async fn write<P: Ports>(
    cx: &Cx<'_, P>,
    id: &str,
    user: &str,
    action: Action,
    claiming: Claiming,
    adds: usize,
    build: impl Fn(&str, &[ItemPos]) -> ApiResult<Vec<Stmt>>,
) -> ApiResult<Vec<Outcome>> {
    let now = cx.now_text();
    let room = (adds > 0).then(|| i64::try_from(ITEMS_MAX.saturating_sub(adds)).unwrap_or(0));
    for _ in 0..WRITE_ATTEMPTS {
        let (row, _) = access(cx, id, user, action).await?;
        let token = cx.id("wrt")?;
        let expect = match claiming {
            Claiming::Version(v) if v != row.version => return Err(stale(row.version)),
            Claiming::Version(v) => Expect::Version(v),
            Claiming::Latest => Expect::Version(row.version),
            Claiming::Always => Expect::Any,
        };
        let claim = q::claim(&Claim {
            setlist: id,
            expect,
            token: &token,
            now: &now,
            room,
        });
        let items = cx.db().all::<ItemPos>(q::item_positions(id)).await?;
        if adds > 0 && items.len() + adds > ITEMS_MAX {
            return Err(full());
        }
        let mut stmts = vec![claim];
        stmts.extend(build(&token, &items)?);
        let outcomes = cx.db().batch(stmts).await?;
        if changed(&outcomes, 0) {
            return Ok(outcomes);
        }
        if adds > 0 && item_count(cx, id).await? + adds > ITEMS_MAX {
            return Err(full());
        }
        if let Claiming::Version(_) = claiming {
            let (row, _) = access(cx, id, user, Action::Read).await?;
            return Err(stale(row.version));
        }
        // Lost a race (or the setlist was deleted meanwhile: the next access read says so).
    }
    Err(ApiError::conflict(
        "VERSION_CONFLICT",
        "the setlist is changing too fast; try again",
    ))
}

async fn item_count<P: Ports>(cx: &Cx<'_, P>, id: &str) -> ApiResult<usize> {
    Ok(cx
        .db()
        .first::<CountRow>(q::item_count(id))
        .await?
        .map_or(0, |c| c.n))
}

// ---- the view ----

/// The `json` column of each row, as one array's text.
fn json_column(rows: Vec<ViewRow>) -> String {
    views::json_array(rows.into_iter().map(|r| r.json))
}

/// The full setlist view (head, items in order, history, members) in one batch, one round trip,
/// as JSON text: SQL builds each object, the Worker only splices (a 40-item setlist is the hot
/// path). What the reader sees of it is the policy's: members only to members, their emails
/// only to the owner.
///
/// # Errors
/// 404 when the reader may not see the setlist (or it does not exist).
async fn view<P: Ports>(cx: &Cx<'_, P>, via: Via<'_>) -> ApiResult<String> {
    // Through a link the party is known before the batch; a member's role comes with the head
    // (and every member role sees the members).
    let with_members = match via {
        Via::Link { .. } => decide(Party::Link, Action::SeeMembers).allowed(),
        Via::Member { .. } => true,
    };
    let mut outcomes = cx
        .db()
        .batch_rows::<ViewRow>(q::view(via, with_members))
        .await?
        .into_iter();
    let head = outcomes
        .next()
        .unwrap_or_default()
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)?;
    let party = Party::from_role(head.role.as_deref());
    decide(party, Action::Read).check()?;
    let items = views::json_array(outcomes.next().unwrap_or_default().into_iter().map(|item| {
        if item.trashed == Some(1) {
            return item.json;
        }
        let url = thumbnail_url(cx, item.thumbnail_key.as_deref());
        let part = item.part_json.as_deref().map_or_else(
            || "null".to_owned(),
            |json| {
                let url = thumbnail_url(cx, item.part_thumbnail_key.as_deref());
                views::score_json(json, url.as_deref())
            },
        );
        views::prepend_fields(
            &item.json,
            &[
                ("thumbnail_url", &views::json_string_or_null(url.as_deref())),
                ("part", &part),
            ],
        )
    }));
    let history = json_column(outcomes.next().unwrap_or_default());
    let role = views::json_string_or_null(head.role.as_deref());
    let mut fields = vec![
        ("role", role.as_str()),
        ("items", items.as_str()),
        ("history", history.as_str()),
    ];
    let members = match outcomes.next() {
        Some(rows) if decide(party, Action::SeeMembers).allowed() => {
            Some(members_json(party, rows))
        }
        _ => None,
    };
    if let Some(members) = &members {
        fields.push(("members", members));
    }
    Ok(views::prepend_fields(&head.json, &fields))
}

/// A member's object as `party` may see it: with the email only when the policy allows.
fn member_json(party: Party, row: &ViewRow) -> String {
    match (&row.email, decide(party, Action::SeeMemberEmails).allowed()) {
        (Some(email), true) => views::prepend_fields(
            &row.json,
            &[("email", &views::json_string_or_null(Some(email)))],
        ),
        _ => row.json.clone(),
    }
}

fn members_json(party: Party, rows: Vec<ViewRow>) -> String {
    views::json_array(rows.iter().map(|r| member_json(party, r)))
}

/// The view for member (or owner) `user`.
async fn member_view<P: Ports>(cx: &Cx<'_, P>, id: &str, user: &str) -> ApiResult<String> {
    view(cx, Via::Member { setlist: id, user }).await
}

// ---- setlists ----

/// `GET /v1/setlists?shared=&limit=&cursor=`: the caller's setlists (or, `shared=true`, those
/// shared with them), most recently changed first, each with the caller's `role`; JSON text.
///
/// # Errors
/// 422 for a bad parameter, or a cursor of the other list.
pub async fn list<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    query: &[(String, String)],
) -> ApiResult<String> {
    let mut f = Fields::new(Map::new(), &[]);
    let mut shared = false;
    let (limit, cursor) = page_query(query, LIST_LIMIT_MAX, &mut f, |name, v, f| {
        if name != "shared" {
            return false;
        }
        match v {
            "true" => shared = true,
            "false" => shared = false,
            _ => f.error("shared", "must be true or false"),
        }
        true
    });
    let scope = if shared { "shared" } else { "own" };
    let pager = Pager::new(cx.config.cursor_key()?, "setlists", scope, limit);
    let after: Option<(String, String)> = position(&pager, cursor.as_deref(), &mut f);
    f.finish()?;
    let after = after.as_ref().map(|(at, id)| (at.as_str(), id.as_str()));
    let stmt = q::list(user, shared, after, pager.fetch());
    let rows = if shared {
        // What is shared with a user lives in each owner's database (`domain::shard`): one
        // page from each, merged in the list's order.
        let mut rows = Vec::new();
        for db in cx.ports.dbs() {
            rows.extend(db.all::<ListRow>(stmt.clone()).await?);
        }
        rows.sort_by(|a, b| (&b.updated_at, &b.id).cmp(&(&a.updated_at, &a.id)));
        rows.truncate(usize::try_from(pager.fetch()).unwrap_or(0));
        rows
    } else {
        cx.db().all::<ListRow>(stmt).await?
    };
    let (rows, next) = pager.page(rows, |r| (r.updated_at.clone(), r.id.clone()));
    let setlists = views::json_array(rows.iter().map(|r| {
        views::prepend_fields(
            &r.json,
            &[("role", &views::json_string_or_null(Some(&r.role)))],
        )
    }));
    Ok(format!(
        "{{\"setlists\":{setlists},\"next_cursor\":{}}}",
        Value::from(next)
    ))
}

/// `POST /v1/setlists`: the caller's new setlist, as JSON text.
///
/// # Errors
/// 422 per field.
pub async fn create<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let allowed: Vec<&str> = SETLIST_FIELDS
        .iter()
        .copied()
        .filter(|f| *f != "version")
        .collect();
    let mut f = Fields::new(body, &allowed);
    let fields = SetlistFields::parse(&mut f, true);
    f.finish()?;
    let id = cx.id("set")?;
    cx.db()
        .run(q::insert(&NewSetlist {
            id: &id,
            owner: user,
            fields: &fields,
            now: &cx.now_text(),
        }))
        .await?;
    member_view(cx, &id, user).await
}

/// `GET /v1/setlists/{id}`: JSON text.
///
/// # Errors
/// 404 for anyone but the owner and members.
pub async fn get<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<String> {
    if !ids::is_well_formed("set", id) {
        return Err(ApiError::NotFound);
    }
    member_view(cx, id, user).await
}

/// `PATCH /v1/setlists/{id}`: absent keeps a field, `null` clears it; `version` makes it
/// conditional. JSON text.
///
/// # Errors
/// 422 per field; 404/403 as the policy says; 409 `VERSION_CONFLICT`.
pub async fn patch<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, SETLIST_FIELDS);
    let fields = SetlistFields::parse(&mut f, false);
    f.finish()?;
    let claiming = Claiming::from(fields.version);
    write(
        cx,
        id,
        user,
        Action::EditDetails,
        claiming,
        0,
        |token, _| Ok(vec![q::update(id, token, &fields)]),
    )
    .await?;
    member_view(cx, id, user).await
}

/// `DELETE /v1/setlists/{id}`.
///
/// # Errors
/// 404/403 as the policy says.
pub async fn delete<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<()> {
    access(cx, id, user, Action::Delete).await?;
    cx.db().run(q::delete(id, user)).await.map(drop)
}

// ---- items ----

/// What `POST /v1/setlists/{id}/items` did, with the setlist's JSON text after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Added(String),
    Reordered(String),
}

const NOT_OWNERS_SCORE: &str = "no such score in the setlist owner's library";

/// `POST /v1/setlists/{id}/items`: add one item (at `position`, clamped; at the end without),
/// or replace the whole order (naming the version it was read at).
///
/// # Errors
/// 422 per field, for a score that is not the owner's, a full setlist or an order that does
/// not name each item once; 404/403 as the policy says; 409 `VERSION_CONFLICT`.
pub async fn post_items<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<Posted> {
    let mut f = Fields::new(
        body,
        &[
            "score_id",
            "bookmark_id",
            "position",
            "notes",
            "version",
            "order",
        ],
    );
    let request = ItemsRequest::parse(&mut f);
    f.finish()?;
    let request = request.ok_or_else(|| ApiError::field("order", "is invalid"))?;
    match request {
        ItemsRequest::Add(item) => {
            let item_id = cx.id("itm")?;
            let now = cx.now_text();
            let (score_id, bookmark_id) = match &item.target {
                ItemTarget::Score(score_id) => {
                    let owned = cx
                        .db()
                        .first::<Value>(q::owners_score(id, score_id))
                        .await?;
                    if owned.is_none() {
                        // Who asks decides the answer: an outsider learns nothing of the setlist.
                        access(cx, id, user, Action::EditItems).await?;
                        return Err(ApiError::field("score_id", NOT_OWNERS_SCORE));
                    }
                    (score_id.clone(), None)
                }
                ItemTarget::Bookmark(bookmark_id) => {
                    #[derive(serde::Deserialize)]
                    struct Songbook {
                        score_id: String,
                    }
                    let songbook = cx
                        .db()
                        .first::<Songbook>(q::owners_bookmark(id, bookmark_id))
                        .await?;
                    let Some(songbook) = songbook else {
                        // Only the owner's own bookmarks: any other is not found (after the
                        // access check, so an outsider learns nothing of the setlist).
                        access(cx, id, user, Action::EditItems).await?;
                        return Err(ApiError::NotFound);
                    };
                    (songbook.score_id, Some(bookmark_id.as_str()))
                }
            };
            // The position is clamped to the end inside the batch, so an add does not depend on
            // what was read and needs no retry unless the client named a version.
            let claiming = item.version.map_or(Claiming::Always, Claiming::Version);
            let outcomes = write(cx, id, user, Action::EditItems, claiming, 1, |token, _| {
                Ok(q::add_item(&NewItem {
                    setlist: id,
                    token,
                    id: &item_id,
                    score_id: &score_id,
                    bookmark_id,
                    position: item.position,
                    notes: item.notes.as_deref(),
                    added_by: user,
                    now: &now,
                })
                .into())
            })
            .await?;
            if !changed(&outcomes, 2) {
                // The score (or bookmark) was deleted between the check and the batch; the same
                // guard kept the shift from applying, only the version moved.
                if bookmark_id.is_some() {
                    return Err(ApiError::NotFound);
                }
                return Err(ApiError::field("score_id", NOT_OWNERS_SCORE));
            }
            Ok(Posted::Added(member_view(cx, id, user).await?))
        }
        ItemsRequest::Reorder { order, version } => {
            let claiming = Claiming::Version(version);
            write(
                cx,
                id,
                user,
                Action::EditItems,
                claiming,
                0,
                |token, items| {
                    let current: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
                    check_order(&order, &current).map_err(|m| ApiError::field("order", m))?;
                    Ok(vec![q::reorder(id, token, &order)])
                },
            )
            .await?;
            Ok(Posted::Reordered(member_view(cx, id, user).await?))
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

/// `PATCH /v1/setlists/{id}/items/{item_id}`: move it (clamped to the list) and/or change its
/// notes. JSON text.
///
/// # Errors
/// 422 per field; 404 for an item not in the setlist; 404/403 as the policy says; 409.
pub async fn patch_item<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    item_id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, ITEM_PATCH_FIELDS);
    let p = ItemPatch::parse(&mut f);
    f.finish()?;
    let now = cx.now_text();
    let claiming = Claiming::from(p.version);
    write(
        cx,
        id,
        user,
        Action::EditItems,
        claiming,
        0,
        |token, items| {
            let from = position_of(items, item_id)?;
            let last = i64::try_from(items.len()).unwrap_or(1);
            let to = p.position.map_or(from, |n| n.clamp(1, last));
            Ok(vec![q::move_item(&ItemMove {
                setlist: id,
                token,
                item: item_id,
                from,
                to,
                notes: p.notes.as_ref().map(Option::as_deref),
                now: &now,
            })])
        },
    )
    .await?;
    member_view(cx, id, user).await
}

/// `DELETE /v1/setlists/{id}/items/{item_id}?version=`: the gap closes.
///
/// # Errors
/// 422 for a bad `version`; 404 for an item not in the setlist; 404/403 as the policy says; 409.
pub async fn delete_item<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    item_id: &str,
    query: &[(String, String)],
) -> ApiResult<()> {
    let mut f = Fields::new(Map::new(), &[]);
    let mut version = None;
    for (k, v) in query {
        match (k.as_str(), v.parse::<i64>()) {
            ("version", Ok(n)) if n >= 1 => version = Some(n),
            ("version", _) => f.error("version", "must be a positive integer"),
            (other, _) => f.error(other, "unknown parameter"),
        }
    }
    f.finish()?;
    let claiming = Claiming::from(version);
    write(
        cx,
        id,
        user,
        Action::EditItems,
        claiming,
        0,
        |token, items| {
            let position = position_of(items, item_id)?;
            Ok(q::remove_item(id, token, item_id, position).into())
        },
    )
    .await?;
    Ok(())
}

/// The URL of an item's file (or page image), read in the statement that also says who asks.
/// An item that plays a bookmark answers the songbook's URL with the bookmark's range, or with
/// `?extract=true` the PDF of just those pages (made once by the queue).
async fn item_file_url<P: Ports>(
    cx: &Cx<'_, P>,
    stmt: Stmt,
    query: &[(String, String)],
) -> ApiResult<Download> {
    let (page, extract) = bookmarks::download_params(query)?;
    let file = cx.db().first::<ItemFileRow>(stmt).await?;
    let party = Party::from_role(file.as_ref().map(|f| f.role.as_str()));
    decide(party, Action::DownloadItem).check()?;
    let file = file.ok_or(ApiError::NotFound)?;
    let stored = StoredFile {
        of: Of::Score,
        id: &file.score_id,
        inspection: (&file.pdf_info_state, file.pdf_info_reason.as_deref()),
        object_key: &file.object_key,
        pages: file.pages,
        size_bytes: file.size_bytes,
    };
    match (&file.bookmark_id, file.first_page.zip(file.last_page)) {
        (Some(bookmark), _) if extract => bookmarks::extract_url(cx, bookmark, None).await,
        (Some(_), Some(range)) => bookmarks::range_url(cx, &stored, page, range).await,
        _ if extract => Err(ApiError::field(
            "extract",
            "only an item that plays a bookmark has pages to extract",
        )),
        _ => file_url(cx, &stored, page).await,
    }
}

/// Which file of an item a reader asks for (`?part=`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum PartChoice {
    /// The reader's assigned part when the score has it, else the full score (the default).
    Mine,
    /// `?part=full`.
    Full,
    /// `?part={part_id}`.
    Id(String),
}

/// `?part=` taken out of the query; the rest is the file's own parameters.
fn part_choice(query: &[(String, String)]) -> ApiResult<(PartChoice, Vec<(String, String)>)> {
    let mut choice = PartChoice::Mine;
    let mut rest = Vec::with_capacity(query.len());
    for (k, v) in query {
        match (k.as_str(), v.as_str()) {
            ("part", "full") => choice = PartChoice::Full,
            ("part", id) if ids::is_well_formed("prt", id) => {
                choice = PartChoice::Id(id.to_owned())
            }
            ("part", _) => {
                return Err(ApiError::field(
                    "part",
                    "must be full or the id of one of the score's parts",
                ))
            }
            _ => rest.push((k.clone(), v.clone())),
        }
    }
    Ok((choice, rest))
}

/// `GET /v1/setlists/{id}/items/{item_id}/download-url?part=&page=`: members reach the owner's
/// file: by default the part they play (their assigned part, matched by name in any case) when
/// the item's score has it, else the full score; `?part=full` the score, `?part={part_id}` any of
/// its parts.
///
/// # Errors
/// 404 for anyone the policy does not let download, an item not in the setlist, or a part not of
/// its score; 422 for a bad page or part.
pub async fn item_download_url<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    item_id: &str,
    query: &[(String, String)],
) -> ApiResult<Download> {
    if !ids::is_well_formed("set", id) {
        return Err(ApiError::NotFound);
    }
    let (choice, rest) = part_choice(query)?;
    let wanted = match &choice {
        PartChoice::Full => None,
        PartChoice::Mine => Some(None),
        PartChoice::Id(part) => Some(Some(part.as_str())),
    };
    if let Some(wanted) = wanted {
        let found = cx
            .db()
            .first::<ItemPartRow>(q::item_part(id, item_id, user, wanted))
            .await?;
        let party = Party::from_role(found.as_ref().map(|f| f.role.as_str()));
        decide(party, Action::DownloadItem).check()?;
        let found = found.ok_or(ApiError::NotFound)?;
        match (found.part_id, wanted) {
            (Some(part), _) => {
                let page = page_param(&rest)?;
                let row = cx
                    .db()
                    .first::<PartRow>(crate::store::parts::part(
                        &found.score_id,
                        &part,
                        &found.owner_id,
                    ))
                    .await?
                    .ok_or(ApiError::NotFound)?;
                return parts::part_file_url(cx, &row, page).await;
            }
            (None, Some(_)) => return Err(ApiError::NotFound),
            // No part of theirs in this score: the full score.
            (None, None) => {}
        }
    }
    item_file_url(cx, q::item_file(id, item_id, user), &rest).await
}

// ---- members ----

/// `POST /v1/setlists/{id}/members` `{email, role}`: adds a registered user (or changes their
/// role). The member as the owner sees it.
///
/// # Errors
/// 422 per field, or for an email of no other registered user; 404/403 as the policy says.
pub async fn add_member<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<Value> {
    let mut f = Fields::new(body, &["email", "role"]);
    let member = parse_member(&mut f);
    f.finish()?;
    let (email, role) = member.ok_or_else(|| ApiError::field("email", "is required"))?;
    access(cx, id, user, Action::ManageMembers).await?;
    let added = cx
        .db()
        .first::<UserIdRow>(q::upsert_member(
            id,
            user,
            &email,
            role.as_str(),
            &cx.now_text(),
        ))
        .await?
        .ok_or_else(|| {
            ApiError::field("email", "no registered user other than you has this email")
        })?;
    let setlist: Value = serde_json::from_str(&member_view(cx, id, user).await?)
        .map_err(|e| ApiError::internal(format!("setlist json: {e}")))?;
    Ok(setlist["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["user_id"] == added.user_id.as_str()))
        .cloned()
        .unwrap_or(Value::Null))
}

/// `PATCH /v1/setlists/{id}/members/{user_id}` `{role?, part?}`: the owner changes anyone's; a
/// member chooses their own `part` (not their role). The member as the caller sees it.
///
/// # Errors
/// 422 per field; 404 for no such member; 404/403 as the policy says.
pub async fn patch_member<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    member: &str,
    body: Map<String, Value>,
) -> ApiResult<Value> {
    let mut f = Fields::new(body, &["role", "part"]);
    let patch = MemberPatch::parse(&mut f);
    f.finish()?;
    let action = if member == user && patch.role.is_none() {
        Action::ChooseOwnPart
    } else {
        Action::ManageMembers
    };
    access(cx, id, user, action).await?;
    let stmt = q::patch_member(
        id,
        member,
        patch.role.map(|r| r.as_str()),
        patch.part.as_ref().map(Option::as_deref),
    );
    if cx.db().run(stmt).await? == 0 {
        return Err(ApiError::NotFound);
    }
    let setlist: Value = serde_json::from_str(&member_view(cx, id, user).await?)
        .map_err(|e| ApiError::internal(format!("setlist json: {e}")))?;
    Ok(setlist["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["user_id"] == member))
        .cloned()
        .unwrap_or(Value::Null))
}

/// `DELETE /v1/setlists/{id}/members/{user_id}`: the owner removes anyone; a member may leave.
///
/// # Errors
/// 404 for no such member; 404/403 as the policy says.
pub async fn remove_member<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    member: &str,
) -> ApiResult<()> {
    let action = if member == user {
        Action::Leave
    } else {
        Action::ManageMembers
    };
    access(cx, id, user, action).await?;
    if cx.db().run(q::delete_member(id, user, member)).await? == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

// ---- public links ----

/// A view as the JSON the shell answers with.
fn to_json(view: &impl serde::Serialize) -> ApiResult<Value> {
    serde_json::to_value(view).map_err(|e| ApiError::internal(format!("view: {e}")))
}

/// A link as its owner sees it: with its token and URL (never stored: made again from the id).
fn link_json<P: Ports>(cx: &Cx<'_, P>, row: &LinkRow) -> ApiResult<Value> {
    let token = links::token(cx.config.link_key()?, &row.id);
    let now = cx.now_text();
    let active = row.revoked_at.is_none() && row.expires_at.as_ref().is_none_or(|e| *e > now);
    let url = format!("{}/v1/shared/{token}", cx.base_url);
    to_json(&views::Link {
        id: row.id.clone(),
        token,
        url,
        expires_at: row.expires_at.clone(),
        revoked_at: row.revoked_at.clone(),
        created_at: row.created_at.clone(),
        active,
    })
}

/// `POST /v1/setlists/{id}/links` `{expires_at?}`: a new public link.
///
/// # Errors
/// 422 for an expiry in the past or too far ahead; 404/403 as the policy says.
pub async fn create_link<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<Value> {
    let mut f = Fields::new(body, &["expires_at"]);
    let expires = parse_link_expiry(&mut f, cx.now.to_datetime());
    f.finish()?;
    access(cx, id, user, Action::ManageLinks).await?;
    let link_id = cx.id("lnk")?;
    let now = cx.now_text();
    let expires_at = expires.flatten();
    cx.db()
        .run(q::insert_link(
            &link_id,
            id,
            user,
            expires_at.as_deref(),
            &now,
        ))
        .await?;
    link_json(
        cx,
        &LinkRow {
            id: link_id,
            expires_at,
            revoked_at: None,
            created_at: now,
        },
    )
}

/// `GET /v1/setlists/{id}/links`: newest first, revoked and expired ones too (`active` says).
///
/// # Errors
/// 404/403 as the policy says.
pub async fn list_links<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<Value> {
    access(cx, id, user, Action::ManageLinks).await?;
    let rows = cx.db().all::<LinkRow>(q::links(id, user)).await?;
    let links = rows
        .iter()
        .map(|r| link_json(cx, r))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Value::Array(links))
}

/// `DELETE /v1/setlists/{id}/links/{link_id}` (idempotent while the link exists).
///
/// # Errors
/// 404 for no such link of the setlist; 404/403 as the policy says.
pub async fn revoke_link<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    link_id: &str,
) -> ApiResult<()> {
    access(cx, id, user, Action::ManageLinks).await?;
    if cx
        .db()
        .run(q::revoke_link(id, user, link_id, &cx.now_text()))
        .await?
        == 0
    {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// Admission of a public-link request before any database work. Public-link routes are open to
/// anyone holding a link, so the shell counts each request per client address and per link
/// (Rate Limiting bindings, no D1 work) and refuses it over either limit; `link` is `None` for
/// a forged token (counted per address only).
#[expect(
    async_fn_in_trait,
    reason = "a Worker is single-threaded: no Send bound is wanted"
)]
pub trait LinkGate {
    /// # Errors
    /// 429 over a limit.
    async fn admit(&self, link: Option<&str>) -> ApiResult<()>;
}

/// The link id `token` carries, once `gate` admitted the request.
///
/// # Errors
/// 429 from the gate; then 404 for a forged token.
pub async fn link_of<P: Ports>(
    cx: &Cx<'_, P>,
    gate: &impl LinkGate,
    token: &str,
) -> ApiResult<String> {
    let link = links::link_id(cx.config.link_key()?, token);
    gate.admit(link.as_deref()).await?;
    link.ok_or(ApiError::NotFound)
}

/// `GET /v1/shared/{token}`: the setlist read-only, as a link holder may see it (no members);
/// one round trip, whose head statement checks the link (live, owner enabled). JSON text.
///
/// # Errors
/// 429 from the gate; 404 for a forged, revoked or expired link, all alike.
pub async fn shared<P: Ports>(
    cx: &Cx<'_, P>,
    gate: &impl LinkGate,
    token: &str,
) -> ApiResult<String> {
    let link = link_of(cx, gate, token).await?;
    let now = cx.now_text();
    view(
        cx,
        Via::Link {
            link: &link,
            now: &now,
        },
    )
    .await
}

/// `GET /v1/shared/{token}/items/{item_id}/download-url?page=`: the link is checked in the
/// statement that reads the item's file.
///
/// # Errors
/// 429 from the gate; 404 for a dead link or an item not in its setlist; 422 for a bad page.
pub async fn shared_download_url<P: Ports>(
    cx: &Cx<'_, P>,
    gate: &impl LinkGate,
    token: &str,
    item_id: &str,
    query: &[(String, String)],
) -> ApiResult<Download> {
    let link = link_of(cx, gate, token).await?;
    let stmt = q::item_file_by_link(&link, item_id, &cx.now_text());
    item_file_url(cx, stmt, query).await
}

// ---- comments ----

/// `GET /v1/setlists/{id}/items/{item_id}/comments`: the newest 200, newest first, as
/// `{"comments": […]}` JSON text.
///
/// # Errors
/// 404 for an item not in the setlist; 404/403 as the policy says.
pub async fn list_comments<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    item_id: &str,
) -> ApiResult<String> {
    access(cx, id, user, Action::Comment).await?;
    let rows = cx.db().all::<ViewRow>(q::comments(id, item_id)).await?;
    if rows.is_empty()
        && !cx
            .db()
            .all::<ItemPos>(q::item_positions(id))
            .await?
            .iter()
            .any(|i| i.id == item_id)
    {
        return Err(ApiError::NotFound);
    }
    Ok(format!("{{\"comments\":{}}}", json_column(rows)))
}

/// Who writes a comment.
pub struct Author<'a> {
    pub id: &'a str,
    pub display_name: &'a str,
}

/// `POST /v1/setlists/{id}/items/{item_id}/comments` `{body}`: the comment.
///
/// # Errors
/// 422 for a bad body; 404 for an item not in the setlist; 404/403 as the policy says.
pub async fn add_comment<P: Ports>(
    cx: &Cx<'_, P>,
    author: &Author<'_>,
    id: &str,
    item_id: &str,
    body: Map<String, Value>,
) -> ApiResult<Value> {
    let mut f = Fields::new(body, &["body"]);
    let text = parse_comment(&mut f);
    f.finish()?;
    let text = text.ok_or_else(|| ApiError::field("body", "is required"))?;
    access(cx, id, author.id, Action::Comment).await?;
    let comment_id = cx.id("cmt")?;
    let now = cx.now_text();
    let added = cx
        .db()
        .run(q::insert_comment(&NewComment {
            id: &comment_id,
            setlist: id,
            item: item_id,
            author: author.id,
            body: &text,
            now: &now,
        }))
        .await?;
    if added == 0 {
        return Err(ApiError::NotFound);
    }
    to_json(&views::Comment {
        id: comment_id,
        author: views::Person {
            id: author.id.to_owned(),
            display_name: author.display_name.to_owned(),
        },
        body: text,
        created_at: now,
    })
}

/// `DELETE /v1/setlists/{id}/items/{item_id}/comments/{comment_id}`: by its author, or anyone's
/// by whom the policy allows (the owner).
///
/// # Errors
/// 404 for no such comment; 403 for someone else's; 404 as the policy says.
pub async fn delete_comment<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    item_id: &str,
    comment_id: &str,
) -> ApiResult<()> {
    let (_, party) = access(cx, id, user, Action::DeleteComment { own: true }).await?;
    let any = decide(party, Action::DeleteComment { own: false }).allowed();
    let removed = cx
        .db()
        .run(q::delete_comment(id, item_id, comment_id, user, any))
        .await?;
    if removed > 0 {
        return Ok(());
    }
    // No such comment, or someone else's: the policy tells a member which.
    match cx
        .db()
        .first::<AuthorRow>(q::comment_author(id, item_id, comment_id))
        .await?
    {
        Some(row) if row.author_id != user => {
            decide(party, Action::DeleteComment { own: false }).check()?;
            Err(ApiError::NotFound)
        }
        _ => Err(ApiError::NotFound),
    }
}
