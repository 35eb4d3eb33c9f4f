//! Setlist books (SPEC §11): `POST /v1/setlists/{id}/book` asks the queue for the setlist's
//! pieces as one PDF — each member's own part where one is assigned, a bookmark's range, the
//! whole score otherwise — and `GET` tells how it stands. A book is per setlist version and part:
//! asking again after the setlist changed makes the current version; asking again at the same
//! version changes nothing (a failure is told, not repeated).

use serde::Serialize;

use crate::domain::ids;
use crate::domain::setlist::{decide, Action, Party};
use crate::domain::task::Task;
use crate::error::{ApiError, ApiResult};
use crate::ports::{Db, Ports, Tasks};
use crate::storage::presign;
use crate::store::books::{self as q, BookRow, Reader};

use super::{limits, Cx};

/// A book as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookView {
    pub state: String,
    /// The setlist version it is (being) made from.
    pub version: i64,
    /// The setlist changed since: a new `POST` makes the current version.
    pub stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The caller's part key on the setlist, once the policy lets them have its files.
async fn reader<P: Ports>(cx: &Cx<'_, P>, user: &str, setlist: &str) -> ApiResult<Reader> {
    if !ids::is_well_formed("set", setlist) {
        return Err(ApiError::NotFound);
    }
    let row = cx.db().first::<Reader>(q::reader(setlist, user)).await?;
    let party = Party::from_role(row.as_ref().map(|r| r.role.as_str()));
    decide(party, Action::DownloadItem).check()?;
    row.ok_or(ApiError::NotFound)
}

fn view<P: Ports>(cx: &Cx<'_, P>, row: BookRow) -> ApiResult<BookView> {
    let (url, expires_at) = match (row.state.as_str(), row.object_key.as_deref()) {
        ("ok", Some(key)) => {
            let p = presign::download(
                &cx.config.presign,
                cx.config.blob_key()?,
                cx.base_url,
                key,
                "application/pdf",
                cx.now,
                cx.config.download_url_ttl_seconds,
            );
            (Some(p.url), Some(p.expires_at.rfc3339()))
        }
        _ => (None, None),
    };
    Ok(BookView {
        stale: row.version < row.current,
        state: row.state,
        version: row.version,
        url,
        expires_at,
        pages: row.pages,
        reason: row.reason,
    })
}

/// `POST /v1/setlists/{id}/book`: the book of the caller's part at the setlist's current
/// version, asked of the queue unless it already was (202 either way, with how it stands).
///
/// # Errors
/// 404 for anyone the policy does not let download (and a setlist that does not exist); 429 past
/// the owner's render limit (books are queue work the owner's library pays for).
pub async fn request<P: Ports>(cx: &Cx<'_, P>, user: &str, setlist: &str) -> ApiResult<BookView> {
    let reader = reader(cx, user, setlist).await?;
    let current = cx
        .db()
        .first::<BookRow>(q::book(setlist, &reader.part_key))
        .await?;
    if let Some(book) = current.filter(|b| b.version == b.current) {
        // Asked for already at this version: made, being made, or failed for good.
        return view(cx, book);
    }
    let renders = limits::window(cx, "renders", &reader.owner, cx.config.rate_renders);
    limits::hit(cx, &[renders]).await?;
    if cx
        .db()
        .run(q::request(setlist, &reader.part_key, &cx.now_text()))
        .await?
        > 0
    {
        // The row stays pending; the sweep sends the message again if this one is lost.
        let _ = cx
            .tasks()
            .send(vec![Task::SetlistBook {
                setlist_id: setlist.to_owned(),
                part_key: reader.part_key.clone(),
            }])
            .await;
    }
    let row = cx
        .db()
        .first::<BookRow>(q::book(setlist, &reader.part_key))
        .await?
        .ok_or(ApiError::NotFound)?;
    view(cx, row)
}

/// `GET /v1/setlists/{id}/book`: the newest book asked for the caller's part.
///
/// # Errors
/// 404 as [`request`], and when none was ever asked for.
pub async fn get<P: Ports>(cx: &Cx<'_, P>, user: &str, setlist: &str) -> ApiResult<BookView> {
    let reader = reader(cx, user, setlist).await?;
    let row = cx
        .db()
        .first::<BookRow>(q::book(setlist, &reader.part_key))
        .await?
        .ok_or(ApiError::NotFound)?;
    view(cx, row)
}
