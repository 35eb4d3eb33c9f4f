//! Rate limits that belong to the platform (SPEC §6): the client's address as Cloudflare
//! reports it, and the Workers Rate Limiting bindings — the soft per-user ceiling on every
//! authenticated request (`USER_LIMITER`, no D1 write on hot read paths) and the public-link
//! limits. The hard limits (D1 fixed windows) are use-case policy in `service::limits`.

use worker::{Env, Request};

use crate::domain::rate;
use crate::error::{ApiError, ApiResult};

use super::call::Call;

/// Period of every Rate Limiting binding (wrangler.toml `[[ratelimits]]`; 10 or 60 s).
const BINDING_PERIOD_SECONDS: u64 = 60;

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

/// The public-link limits: per client address and per link, by Rate Limiting bindings (a flood
/// over the limit costs no D1 work).
pub struct Bindings<'a> {
    call: &'a Call,
}

impl<'a> Bindings<'a> {
    pub fn of(call: &'a Call) -> Self {
        Self { call }
    }
}

impl crate::service::setlists::LinkGate for Bindings<'_> {
    async fn admit(&self, link: Option<&str>) -> ApiResult<()> {
        let ip = client_ip(&self.call.req);
        public_link(&self.call.ctx.env, &ip, link).await
    }
}
