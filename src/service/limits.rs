//! Hard rate limits (SPEC §6): fixed windows counted in the database, one upsert per counted
//! request, batched with the use case's own statements where it can.

use serde::Deserialize;

use crate::domain::rate::{Rate, Window};
use crate::error::ApiResult;
use crate::ports::{Db, Outcome, Ports};
use crate::store::limits;

use super::Cx;

/// The window of `kind` for `subject` at this time (`None` when the limit is off).
pub fn window<P>(cx: &Cx<'_, P>, kind: &str, subject: &str, rate: Option<Rate>) -> Option<Window> {
    rate.map(|r| Window::new(kind, subject, r, cx.now))
}

/// The count a [`limits::hit`] statement returned.
///
/// # Errors
/// 500 when the outcome has no count.
pub fn hits(outcome: Option<&Outcome>) -> ApiResult<i64> {
    #[derive(Deserialize)]
    struct Hits {
        hits: i64,
    }
    Ok(outcome
        .map(Outcome::first::<Hits>)
        .transpose()?
        .flatten()
        .map_or(0, |h| h.hits))
}

/// Counts this request in every window (one round trip) and refuses it if any is over.
///
/// # Errors
/// 429 with `Retry-After`; database errors.
pub async fn hit<P: Ports>(cx: &Cx<'_, P>, windows: &[Option<Window>]) -> ApiResult<()> {
    let windows: Vec<&Window> = windows.iter().flatten().collect();
    if windows.is_empty() {
        return Ok(());
    }
    let outcomes = cx
        .db()
        .batch(windows.iter().map(|w| limits::hit(w)).collect())
        .await?;
    for (w, outcome) in windows.iter().zip(outcomes.iter()) {
        w.check(hits(Some(outcome))?)?;
    }
    Ok(())
}
