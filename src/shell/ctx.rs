//! Per-invocation context: clock, randomness, settings and bindings, read once at the edge.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::config::Config;
use crate::domain::time::Millis;
use crate::error::{ApiError, ApiResult};

use super::d1::{self, D1};
use super::r2::Files;

/// The bindings a use case reaches the world through ([`crate::ports::Ports`]), the settings
/// and the time of the invocation.
pub struct Ctx {
    pub env: Env,
    pub config: Rc<Config>,
    pub now: Millis,
    pub d1: D1,
    pub blobs: Files,
    pub queue: Queue,
}

impl Ctx {
    /// The context of the queue, the cron sweep, the live rooms and work after a response: D1's
    /// plain binding, so every statement reads the primary.
    ///
    /// # Errors
    /// 500 when a setting is malformed or a binding (D1, R2) is missing.
    pub fn new(env: &Env) -> ApiResult<Self> {
        Self::with_db(env, D1::new(d1::binding(env)?))
    }

    /// The context of a request whose statements run in `d1` (its session).
    ///
    /// # Errors
    /// As [`Ctx::new`].
    pub fn with_db(env: &Env, d1: D1) -> ApiResult<Self> {
        Ok(Self {
            env: env.clone(),
            config: config(env)?,
            now: now(),
            d1,
            blobs: Files::new(env)?,
            queue: Queue(env.clone()),
        })
    }

    /// The context of a use case run for a request that came to `origin` (Worker-mode blob URLs
    /// point at `PUBLIC_BASE_URL`, or at it), or off a request (empty).
    pub fn cx<'a>(&'a self, origin: &'a str) -> crate::service::Cx<'a, Self> {
        crate::service::Cx {
            ports: self,
            config: &self.config,
            now: self.now,
            base_url: self.config.public_base_url.as_deref().unwrap_or(origin),
        }
    }
}

/// The `JOBS` queue as the use cases' [`crate::ports::Tasks`].
pub struct Queue(Env);

impl crate::ports::Tasks for Queue {
    async fn send(&self, tasks: Vec<crate::domain::task::Task>) -> ApiResult<()> {
        let result = enqueue(&self.0, tasks).await;
        if let Err(e) = &result {
            // Callers that can go on without the message (the sweep sends it again) ignore the
            // error; the operator still sees it.
            worker::console_error!(
                "{}",
                serde_json::json!({"level": "error", "msg": "enqueue failed", "error": e.to_string()})
            );
        }
        result
    }
}

impl crate::ports::Ports for Ctx {
    type Db = D1;
    type Blobs = Files;
    type Tasks = Queue;

    fn db(&self) -> &D1 {
        &self.d1
    }

    fn blobs(&self) -> &Files {
        &self.blobs
    }

    fn tasks(&self) -> &Queue {
        &self.queue
    }

    fn random(&self, out: &mut [u8]) -> ApiResult<()> {
        getrandom::fill(out).map_err(|e| ApiError::internal(format!("getrandom: {e}")))
    }
}

/// Sends tasks to the `JOBS` queue in one call.
///
/// # Errors
/// 500 without the binding, 502 when the queue refuses them.
pub async fn enqueue(env: &Env, tasks: Vec<crate::domain::task::Task>) -> ApiResult<()> {
    let queue = env
        .queue("JOBS")
        .map_err(|e| ApiError::Misconfigured(format!("queue binding JOBS: {e}")))?;
    queue
        .send_batch(tasks)
        .await
        .map_err(|e| ApiError::Storage(format!("queue send: {e}")))
}

thread_local! {
    /// Settings parsed once per isolate: vars and secrets cannot change while it lives.
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

/// The isolate's settings, parsed on first use.
///
/// # Errors
/// 500 when a setting is malformed (re-checked on every call until it parses).
pub fn config(env: &Env) -> ApiResult<Rc<Config>> {
    if let Some(config) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(config);
    }
    let config = Rc::new(
        Config::from_lookup(|name| env.var(name).ok().map(|v| v.to_string()))
            .map_err(ApiError::Misconfigured)?,
    );
    CONFIG.with(|c| *c.borrow_mut() = Some(Rc::clone(&config)));
    Ok(config)
}

pub fn now() -> Millis {
    // The clock is a float of milliseconds; truncation to whole milliseconds is intended.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "milliseconds fit an i64 for 292 million years"
    )]
    Millis(js_sys::Date::now() as i64)
}
