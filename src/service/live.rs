//! Live rooms' use cases (SPEC §9) on the Worker's side of the room: tickets for members and
//! link holders, and who a ticket's bearer is to the setlist *now* — asked when the socket
//! connects and again before every `lead` and `goto`, through the same policy the REST routes
//! ask ([`decide`]).

use crate::api::views::LiveTicket;
use crate::auth::tickets::{Bearer, Ticket};
use crate::domain::ids;
use crate::domain::live::role_name;
use crate::domain::setlist::{decide, Action, Party};
use crate::domain::time::Millis;
use crate::error::{ApiError, ApiResult};
use crate::ports::{Db, Ports};
use crate::store::live as q;

use super::setlists::{link_of, LinkGate};
use super::Cx;

/// Who is in the room, as the database says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub party: Party,
    pub display_name: String,
    pub version: i64,
    /// When this standing ends by itself (a link's expiry), in milliseconds.
    pub until: Option<i64>,
    /// Whether the setlist's room was ever opened (a ticket was issued for it).
    pub live: bool,
}

impl Standing {
    pub fn role(&self) -> &'static str {
        role_name(self.party)
    }

    /// Whether this standing may lead the room (the setlist policy's answer).
    pub fn may_lead(&self) -> bool {
        decide(self.party, Action::Lead).allowed()
    }
}

/// The bearer's standing on `setlist` at `now`: an outsider (no row) when they have none.
///
/// # Errors
/// 500 when the database fails.
pub async fn standing<P: Ports>(
    cx: &Cx<'_, P>,
    setlist: &str,
    bearer: &Bearer,
) -> ApiResult<Option<Standing>> {
    let stmt = match bearer {
        Bearer::User(user) => q::user_standing(setlist, user),
        Bearer::Link(link) => q::link_standing(setlist, link, &cx.now_text()),
    };
    Ok(cx.db().first::<q::Standing>(stmt).await?.map(|r| Standing {
        party: Party::from_role(Some(&r.role)),
        display_name: r.display_name,
        version: r.version,
        until: r
            .until
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_millis()),
        live: r.live != 0,
    }))
}

/// Whether `item` is an item of `setlist` now.
///
/// # Errors
/// 500 when the database fails.
pub async fn is_item<P: Ports>(cx: &Cx<'_, P>, setlist: &str, item: &str) -> ApiResult<bool> {
    if !ids::is_well_formed("itm", item) {
        return Ok(false);
    }
    Ok(cx
        .db()
        .first::<q::Id>(q::item(setlist, item))
        .await?
        .is_some())
}

/// The setlist's version, if it still exists.
///
/// # Errors
/// 500 when the database fails.
pub async fn version<P: Ports>(cx: &Cx<'_, P>, setlist: &str) -> ApiResult<Option<i64>> {
    Ok(cx
        .db()
        .first::<q::Version>(q::version(setlist))
        .await?
        .map(|v| v.version))
}

/// Whether the setlist's room was ever opened: REST writes to a setlist that never was send its
/// room nothing.
///
/// # Errors
/// 500 when the database fails.
pub async fn is_live<P: Ports>(cx: &Cx<'_, P>, setlist: &str) -> ApiResult<bool> {
    Ok(cx
        .db()
        .first::<q::Live>(q::is_live(setlist))
        .await?
        .is_some())
}

/// The opened rooms a user has a place in: `(setlist, owned)`.
///
/// # Errors
/// 500 when the database fails.
pub async fn live_rooms_of<P: Ports>(cx: &Cx<'_, P>, user: &str) -> ApiResult<Vec<(String, bool)>> {
    // A member's places are in the owners' databases (`domain::shard`).
    let mut rooms = Vec::new();
    for db in cx.ports.dbs() {
        let rows = db.all::<q::LiveRoom>(q::live_rooms_of(user)).await?;
        rooms.extend(rows.into_iter().map(|r| (r.setlist, r.owned != 0)));
    }
    Ok(rooms)
}

/// The setlists whose rooms a deletion of `score` will change (read before deleting).
///
/// # Errors
/// 500 when the database fails.
pub async fn setlists_with_score<P: Ports>(
    cx: &Cx<'_, P>,
    owner: &str,
    score: &str,
) -> ApiResult<Vec<String>> {
    Ok(cx
        .db()
        .all::<q::LinkSetlist>(q::setlists_with_score(owner, score))
        .await?
        .into_iter()
        .map(|r| r.setlist)
        .collect())
}

/// The setlists holding bookmark `bookmark` of `owner` (to tell their rooms it is going).
///
/// # Errors
/// Database errors.
pub async fn setlists_with_bookmark<P: Ports>(
    cx: &Cx<'_, P>,
    owner: &str,
    bookmark: &str,
) -> ApiResult<Vec<String>> {
    Ok(cx
        .db()
        .all::<q::LinkSetlist>(q::setlists_with_bookmark(owner, bookmark))
        .await?
        .into_iter()
        .map(|r| r.setlist)
        .collect())
}

/// The WebSocket URL of a ticket: the API's origin with `ws`/`wss`.
fn socket_url(base_url: &str, token: &str) -> String {
    let origin = base_url
        .strip_prefix("https://")
        .map(|rest| format!("wss://{rest}"))
        .or_else(|| {
            base_url
                .strip_prefix("http://")
                .map(|rest| format!("ws://{rest}"))
        })
        .unwrap_or_else(|| base_url.to_owned());
    format!("{origin}/v1/live/{token}")
}

/// A signed ticket for `bearer`; the setlist is marked live first (once), so every REST write
/// from now on tells its room.
async fn issue<P: Ports>(
    cx: &Cx<'_, P>,
    setlist: &str,
    live: bool,
    bearer: Bearer,
) -> ApiResult<LiveTicket> {
    if !live {
        cx.db().run(q::mark_live(setlist, &cx.now_text())).await?;
    }
    let ticket = Ticket::new(cx.id("tkt")?, setlist.to_owned(), bearer, cx.now);
    let token = ticket.sign(cx.config.ticket_key()?);
    Ok(LiveTicket {
        url: socket_url(cx.base_url, &token),
        ticket: token,
        expires_at: Millis(ticket.expires).rfc3339(),
    })
}

/// `POST /v1/setlists/{id}/live/ticket`: a ticket for the owner or a member.
///
/// # Errors
/// 404 for anyone else (and for a setlist that does not exist).
pub async fn member_ticket<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    setlist: &str,
) -> ApiResult<LiveTicket> {
    if !ids::is_well_formed("set", setlist) {
        return Err(ApiError::NotFound);
    }
    let bearer = Bearer::User(user.to_owned());
    let standing = standing(cx, setlist, &bearer).await?;
    let party = standing.as_ref().map_or(Party::Outsider, |s| s.party);
    decide(party, Action::Follow).check()?;
    issue(cx, setlist, standing.is_some_and(|s| s.live), bearer).await
}

/// `POST /v1/shared/{token}/live/ticket`: a guest's ticket through a live public link.
///
/// # Errors
/// 429 from the gate; 404 for a forged, revoked or expired link.
pub async fn guest_ticket<P: Ports>(
    cx: &Cx<'_, P>,
    gate: &impl LinkGate,
    token: &str,
) -> ApiResult<LiveTicket> {
    let link = link_of(cx, gate, token).await?;
    let row = cx
        .db()
        .first::<q::LinkSetlist>(q::link_setlist(&link, &cx.now_text()))
        .await?
        .ok_or(ApiError::NotFound)?;
    decide(Party::Link, Action::Follow).check()?;
    issue(cx, &row.setlist, row.live != 0, Bearer::Link(link)).await
}

/// `GET /v1/live/{ticket}`: the ticket, if genuine and unexpired, and its bearer's standing,
/// if they may still follow. Whether it was spent is the room's to say.
///
/// # Errors
/// 404 for a forged or expired ticket, or a bearer who may no longer join.
pub async fn admit<P: Ports>(cx: &Cx<'_, P>, token: &str) -> ApiResult<(Ticket, Standing)> {
    let ticket = Ticket::open(cx.config.ticket_key()?, token, cx.now).ok_or(ApiError::NotFound)?;
    let standing = standing(cx, &ticket.setlist, &ticket.bearer)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !decide(standing.party, Action::Follow).allowed() {
        return Err(ApiError::NotFound);
    }
    Ok((ticket, standing))
}

#[cfg(test)]
mod tests {
    use super::socket_url;

    #[test]
    fn the_socket_url_follows_the_api_scheme() {
        assert_eq!(
            socket_url("https://api.example", "t"),
            "wss://api.example/v1/live/t"
        );
        assert_eq!(
            socket_url("http://127.0.0.1:8787", "t"),
            "ws://127.0.0.1:8787/v1/live/t"
        );
    }
}
