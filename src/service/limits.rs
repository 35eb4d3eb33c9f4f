//! Hard rate limits (SPEC §6): fixed windows counted in the database, one upsert per counted
//! request, batched with the use case's own statements where it can.

use serde::Deserialize;

use crate::domain::rate::{self, Rate, Window};
use crate::error::ApiResult;
use crate::ports::{Db, Outcome, Ports};
use crate::store::limits;

use super::Cx;

/// The window of `kind` for `subject` at this time (`None` when the limit is off).
pub fn window<P>(cx: &Cx<'_, P>, kind: &str, subject: &str, rate: Option<Rate>) -> Option<Window> {
    rate.map(|r| Window::new(kind, subject, r, cx.now))
}

/// The per-address window shared by register, login and refresh; `ip` is the client's address
/// as the platform reports it (`domain::rate::ip_subject`).
pub fn auth_ip<P>(cx: &Cx<'_, P>, ip: &str) -> Option<Window> {
    window(cx, "auth-ip", ip, cx.config.rate_auth_per_ip)
}

/// The window of password failures for one normalised email, shared by login and password
/// change (SPEC §6: 10 per 15 min, counted whether or not the account exists).
pub fn password_failures<P>(cx: &Cx<'_, P>, normalised_email: &str) -> Option<Window> {
    window(
        cx,
        "login-failures",
        &rate::email_subject(normalised_email),
        cx.config.rate_login_failures,
    )
}

/// The window of refreshes of one session (token family): a stolen refresh token cannot be
/// spun.
pub fn refresh_family<P>(cx: &Cx<'_, P>, session_id: &str) -> Option<Window> {
    window(
        cx,
        "refresh-family",
        session_id,
        cx.config.rate_refresh_per_family,
    )
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
    hit_in(cx, cx.db(), windows).await
}

/// [`hit`] counted in `db` (an email's window is counted in the first database, wherever the
/// request is routed: `domain::shard`).
///
/// # Errors
/// As [`hit`].
pub async fn hit_in<P: Ports>(
    _cx: &Cx<'_, P>,
    db: &P::Db,
    windows: &[Option<Window>],
) -> ApiResult<()> {
    let windows: Vec<&Window> = windows.iter().flatten().collect();
    if windows.is_empty() {
        return Ok(());
    }
    let outcomes = db
        .batch(windows.iter().map(|w| limits::hit(w)).collect())
        .await?;
    for (w, outcome) in windows.iter().zip(outcomes.iter()) {
        w.check(hits(Some(outcome))?)?;
    }
    Ok(())
}
