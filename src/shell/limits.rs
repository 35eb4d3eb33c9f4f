//! Rate limits in the shell (SPEC §6). Hard limits are D1 fixed-window counters — one upsert per
//! counted request, batched with the handler's own statements where it can — and
//! `domain::rate` does the arithmetic. The soft per-user ceiling on every authenticated request
//! is the Workers Rate Limiting binding (`USER_LIMITER`): no D1 write on hot read paths.

use serde::Deserialize;
use worker::{D1Result, Env, Request};

use crate::domain::rate::{self, Rate, Window};
use crate::error::{ApiError, ApiResult};
use crate::store::sql;

use super::ctx::Ctx;
use super::d1::{db_err, Stmt};

/// Period of every Rate Limiting binding (wrangler.toml `[[ratelimits]]`; 10 or 60 s).
const BINDING_PERIOD_SECONDS: u64 = 60;

#[derive(Deserialize)]
struct Hits {
    hits: i64,
}

/// The client's address as Cloudflare reports it (a client cannot set this header itself).
pub fn client_ip(req: &Request) -> String {
    rate::ip_subject(
        req.headers()
            .get("cf-connecting-ip")
            .ok()
            .flatten()
            .as_deref(),
    )
}

/// The per-IP window shared by register, login and refresh.
pub fn auth_ip(ctx: &Ctx, ip: &str) -> Option<Window> {
    window(ctx, "auth-ip", ip, ctx.config.rate_auth_per_ip)
}

pub fn window(ctx: &Ctx, kind: &str, subject: &str, rate: Option<Rate>) -> Option<Window> {
    rate.map(|r| Window::new(kind, subject, r, ctx.now))
}

/// Counts one event in `w`; the statement returns the count including it.
pub fn hit_stmt(ctx: &Ctx, w: &Window) -> ApiResult<Stmt> {
    ctx.db
        .stmt(sql::RATE_HIT, &[w.bucket.as_str().into(), w.start.into()])
}

/// Gives back one event counted in `w` by [`hit_stmt`] (a password that proved right).
pub fn give_back_stmt(ctx: &Ctx, w: &Window) -> ApiResult<Stmt> {
    ctx.db.stmt(
        sql::RATE_GIVE_BACK,
        &[w.bucket.as_str().into(), w.start.into()],
    )
}

/// The window of password failures for one normalised email, shared by login and password
/// change (SPEC §6: 10 per 15 min, counted whether or not the account exists).
pub fn password_failures(ctx: &Ctx, normalised_email: &str) -> Option<Window> {
    window(
        ctx,
        "login-failures",
        &rate::email_subject(normalised_email),
        ctx.config.rate_login_failures,
    )
}

/// The count a [`hit_stmt`] returned.
pub fn hits(result: Option<&D1Result>) -> ApiResult<i64> {
    let result = result.ok_or_else(|| ApiError::internal("rate batch: missing result"))?;
    Ok(result
        .results::<Hits>()
        .map_err(|e| db_err("rate hits", e))?
        .first()
        .map_or(0, |h| h.hits))
}

/// Counts this request in every window (one round trip) and refuses it if any is over.
///
/// # Errors
/// 429 with `Retry-After`; D1 errors.
pub async fn hit(ctx: &Ctx, windows: &[Option<Window>]) -> ApiResult<()> {
    let windows: Vec<&Window> = windows.iter().flatten().collect();
    if windows.is_empty() {
        return Ok(());
    }
    let stmts = windows
        .iter()
        .map(|w| hit_stmt(ctx, w))
        .collect::<ApiResult<Vec<_>>>()?;
    let results = ctx.db.batch_results(stmts).await?;
    for (w, result) in windows.iter().zip(results.iter()) {
        w.check(hits(Some(result))?)?;
    }
    Ok(())
}

/// The soft ceiling on one user's requests. Without the binding (a deployment that removed it)
/// there is no ceiling; the hard limits above still apply.
///
/// # Errors
/// 429 with `Retry-After` when the binding says the user is over.
pub async fn user_ceiling(env: &Env, user_id: &str) -> ApiResult<()> {
    binding_limit(env, "USER_LIMITER", user_id).await
}

/// Public-link routes, counted per client address and per link by the Rate Limiting bindings
/// `LINK_IP_LIMITER` and `LINK_LIMITER` (wrangler.toml): no D1 work, so a flood over the limit
/// costs next to nothing, and none on the hot path of an honest band either.
///
/// # Errors
/// 429 with `Retry-After` when either says the caller is over.
pub async fn public_link(env: &Env, ip: &str, link_id: Option<&str>) -> ApiResult<()> {
    binding_limit(env, "LINK_IP_LIMITER", ip).await?;
    match link_id {
        Some(id) => binding_limit(env, "LINK_LIMITER", id).await,
        None => Ok(()),
    }
}

/// One key counted by a Rate Limiting binding (every binding here has a 60 s period).
async fn binding_limit(env: &Env, binding: &str, key: &str) -> ApiResult<()> {
    let Ok(limiter) = env.rate_limiter(binding) else {
        return Ok(());
    };
    match limiter.limit(key.to_owned()).await {
        Ok(outcome) if !outcome.success => Err(ApiError::RateLimited {
            retry_after_seconds: BINDING_PERIOD_SECONDS,
        }),
        // A limiter failure must not take the API down with it.
        _ => Ok(()),
    }
}
