//! The trash (SPEC §11): `DELETE /v1/scores/{id}` moves a score there instead of deleting it,
//! `GET /v1/trash` lists it, a restore brings the score back everywhere it was, and a purge (of
//! one score, of the whole trash, or by the sweep after `TRASH_RETENTION_DAYS`) is the delete of
//! old: the row, its parts, bookmarks, annotations and settings go, its objects go through the
//! outbox and `delete_file`, its bytes are released.
//!
//! A trashed score keeps its row and everything attached to it; every read of live scores says
//! `trashed_at is null` (the store), so it leaves lists, search, favorites and setlist views
//! (where its items stay in place, shown as `trashed`) without anything being moved, and a
//! restore is one conditional update: items come back in the positions they held. Its bytes
//! count until it is purged.

use serde::Deserialize;

use crate::domain::ids;
use crate::domain::task::Task;
use crate::error::{ApiError, ApiResult};
use crate::ports::{changed, Db, Ports, Tasks};
use crate::store::library as q;
use crate::store::rows::ScoreRow;

use super::activity::timed_list;
use super::Cx;

/// Scores one `DELETE /v1/trash` or one sweep purges; more wait for the next call or sweep.
pub const PURGE_BATCH: i64 = 100;

/// `DELETE /v1/scores/{id}`: the owner's live score goes to the trash.
///
/// # Errors
/// 404 for a missing, trashed or another user's score.
pub async fn trash_score<P: Ports>(cx: &Cx<'_, P>, owner: &str, id: &str) -> ApiResult<()> {
    if !ids::is_well_formed("sco", id) {
        return Err(ApiError::NotFound);
    }
    match cx
        .db()
        .run(q::trash_score(id, owner, &cx.now_text()))
        .await?
    {
        0 => Err(ApiError::NotFound),
        _ => Ok(()),
    }
}

/// `GET /v1/trash?limit=&cursor=`: the owner's trashed scores, most recently trashed first, as
/// `{trash: [{trashed_at, score}], next_cursor}` JSON text.
///
/// # Errors
/// 422 for a bad limit or cursor.
pub async fn list<P: Ports>(
    cx: &Cx<'_, P>,
    owner: &str,
    query: &[(String, String)],
) -> ApiResult<String> {
    timed_list(cx, query, "trash", "trashed_at", |after, fetch| {
        q::trash(owner, after, fetch)
    })
    .await
}

/// `POST /v1/trash/{id}/restore`: the score is live again, in every setlist it was in, at the
/// positions its items held; its score JSON.
///
/// # Errors
/// 404 when it is not in the owner's trash; 409 `DUPLICATE_SCORE` (naming the live score) when
/// a live score now has the same file.
pub async fn restore<P: Ports>(cx: &Cx<'_, P>, owner: &str, id: &str) -> ApiResult<String> {
    let row = trashed(cx, owner, id).await?;
    if cx.db().run(q::restore_score(id, owner)).await? == 0 {
        // Not restored: a live duplicate, or it left the trash meanwhile.
        #[derive(Deserialize)]
        struct Hash {
            content_hash: String,
        }
        let hash = serde_json::from_str::<Hash>(&row.json)
            .map_err(|e| ApiError::internal(format!("score json: {e}")))?;
        // A live score with its file, other than itself (restored meanwhile by a racing call).
        if let Some(live) = cx
            .db()
            .first::<crate::store::rows::IdRow>(q::score_id_by_hash(owner, &hash.content_hash))
            .await?
            .filter(|live| live.id != id)
        {
            return Err(super::library::duplicate(live.id));
        }
        return Err(ApiError::NotFound);
    }
    super::library::get_score(cx, owner, id).await
}

/// `DELETE /v1/trash/{id}`: purges one trashed score now.
///
/// # Errors
/// 404 when it is not in the owner's trash.
pub async fn purge_one<P: Ports>(cx: &Cx<'_, P>, owner: &str, id: &str) -> ApiResult<()> {
    trashed(cx, owner, id).await?;
    if purge(cx, owner, id).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// What emptying the trash did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emptied {
    pub purged: usize,
    /// More remain: the client calls again (or the sweep gets to them).
    pub more: bool,
    /// The owner's setlists that held a trashed score (their rooms hear of it).
    pub setlists: Vec<String>,
}

/// `DELETE /v1/trash`: purges up to [`PURGE_BATCH`] of the owner's trashed scores.
///
/// # Errors
/// Database errors (what was purged stays purged).
pub async fn empty<P: Ports>(cx: &Cx<'_, P>, owner: &str) -> ApiResult<Emptied> {
    let setlists = cx
        .db()
        .all::<crate::store::live::LinkSetlist>(crate::store::live::setlists_with_trash(owner))
        .await?
        .into_iter()
        .map(|r| r.setlist)
        .collect();
    let rows = cx
        .db()
        .all::<Purgeable>(q::purgeable(None, Some(owner), PURGE_BATCH + 1))
        .await?;
    let more = rows.len() > PURGE_BATCH as usize;
    let mut purged = 0;
    for r in rows.iter().take(PURGE_BATCH as usize) {
        if purge(cx, &r.user_id, &r.id).await? {
            purged += 1;
        }
    }
    Ok(Emptied {
        purged,
        more,
        setlists,
    })
}

/// The sweep's part: purges up to [`PURGE_BATCH`] scores trashed more than
/// `TRASH_RETENTION_DAYS` ago; how many.
///
/// # Errors
/// Database errors (the next sweep goes on).
pub async fn purge_expired<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<usize> {
    let before = cx
        .now
        .plus_seconds(-cx.config.trash_retention_days * 24 * 3600)
        .rfc3339();
    let rows = cx
        .db()
        .all::<Purgeable>(q::purgeable(Some(&before), None, PURGE_BATCH))
        .await?;
    let mut purged = 0;
    for r in &rows {
        if purge(cx, &r.user_id, &r.id).await? {
            purged += 1;
        }
    }
    Ok(purged)
}

#[derive(Deserialize)]
struct Purgeable {
    id: String,
    user_id: String,
}

/// The owner's trashed score, or 404.
async fn trashed<P: Ports>(cx: &Cx<'_, P>, owner: &str, id: &str) -> ApiResult<ScoreRow> {
    if !ids::is_well_formed("sco", id) {
        return Err(ApiError::NotFound);
    }
    cx.db()
        .first::<ScoreRow>(q::trashed_score(id, owner))
        .await?
        .ok_or(ApiError::NotFound)
}

/// Purges a trashed score: one batch releases its bytes and its parts', queues their objects in
/// the outbox and removes the rows; then their `delete_file` tasks are sent (a failed send is
/// retried by the sweep from the outbox). Whether this call purged it (false: no longer in the
/// trash — restored or purged meanwhile).
async fn purge<P: Ports>(cx: &Cx<'_, P>, owner: &str, id: &str) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Key {
        object_key: String,
    }
    let Some(row) = cx
        .db()
        .first::<ScoreRow>(q::trashed_score(id, owner))
        .await?
    else {
        return Ok(false);
    };
    let parts = cx
        .db()
        .all::<Key>(crate::store::parts::part_keys(id, owner))
        .await?;
    let outcomes = cx
        .db()
        .batch(q::purge_score(id, owner, &cx.now_text()).into())
        .await?;
    if !changed(&outcomes, 5) {
        return Ok(false);
    }
    let mut deletions = vec![Task::DeleteFile {
        key: row.object_key,
    }];
    // Parts made from uploads have objects of their own (already in the outbox).
    deletions.extend(
        parts
            .into_iter()
            .map(|k| Task::DeleteFile { key: k.object_key }),
    );
    let _ = cx.tasks().send(deletions).await;
    Ok(true)
}
