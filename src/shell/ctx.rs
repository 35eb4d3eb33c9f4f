//! Per-invocation context: clock, randomness, settings and bindings, read once at the edge.

use std::cell::RefCell;
use std::rc::Rc;

use worker::Env;

use crate::api::replicas::Start;
use crate::config::Config;
use crate::domain::shard;
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
    /// The database the invocation is routed to (`domain::shard`): the owner's of the id it
    /// is about, or the caller's.
    pub d1: D1,
    /// Every database when there are several (`D1_SHARDS`), `d1` among them at `routed`;
    /// empty with one.
    shards: Vec<D1>,
    routed: usize,
    /// The virtual shard of the owner the invocation works for: the ids it makes carry it.
    vshard: Option<u8>,
    pub blobs: Files,
    pub queue: Queue,
}

impl Ctx {
    /// The context of the queue, the sweep, the live rooms and work after a response about the
    /// rows of the owner of `id`: their database, plain binding.
    ///
    /// # Errors
    /// As [`Ctx::on_shard`].
    pub fn for_id(env: &Env, id: &str) -> ApiResult<Self> {
        let config = config(env)?;
        let routed = shard::database_of(id, config.d1_shards.len());
        let mut ctx = Self::build(env, config, routed, None)?;
        ctx.vshard = shard::vshard(id);
        Ok(ctx)
    }

    /// The context of database `index` of `D1_SHARDS` (the sweep visits each; the first holds
    /// what is no one's in particular): plain binding, every statement reads the primary.
    ///
    /// # Errors
    /// 500 when a setting is malformed or a binding (D1, R2) is missing.
    pub fn on_shard(env: &Env, index: usize) -> ApiResult<Self> {
        Self::build(env, config(env)?, index, None)
    }

    /// The context of a request routed by `key` (an id whose owner's rows it works on, or the
    /// caller's id; `None`: the first database), whose statements there run in a session
    /// started at `start` (`api::replicas`).
    ///
    /// # Errors
    /// As [`Ctx::on_shard`].
    pub fn for_request(env: &Env, key: Option<&str>, start: &Start) -> ApiResult<Self> {
        let config = config(env)?;
        let routed = key.map_or(0, |k| shard::database_of(k, config.d1_shards.len()));
        let mut ctx = Self::build(env, config, routed, Some(start))?;
        // A request with no owner makes ids of its own (a new account's): random, or where the
        // e2e suite puts every user (`E2E_VSHARD`).
        ctx.vshard = key.and_then(shard::vshard).or(ctx.config.e2e_vshard);
        Ok(ctx)
    }

    fn build(
        env: &Env,
        config: Rc<Config>,
        routed: usize,
        start: Option<&Start>,
    ) -> ApiResult<Self> {
        let names = &config.d1_shards;
        let name = names
            .get(routed)
            .ok_or_else(|| ApiError::internal(format!("no database {routed} in D1_SHARDS")))?;
        let plain = d1::binding_named(env, name)?;
        let d1 = match start {
            Some(start) => D1::session(plain, start)?,
            None => D1::new(plain),
        };
        // Another database is reached in a session of its own (a bookmark names one database:
        // a read there starts anywhere, a write on its primary).
        let other_start = match start {
            Some(Start::After(_)) => Some(&Start::Anywhere),
            other => other,
        };
        let shards = if names.len() > 1 {
            let mut all = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let plain = || d1::binding_named(env, name);
                all.push(match other_start {
                    _ if i == routed => d1.clone(),
                    Some(start) => D1::session(plain()?, start)?,
                    None => D1::new(plain()?),
                });
            }
            all
        } else {
            Vec::new()
        };
        Ok(Self {
            env: env.clone(),
            now: now(),
            d1,
            shards,
            routed,
            vshard: None,
            blobs: Files::new(env)?,
            queue: Queue(env.clone()),
            config,
        })
    }

    /// Every database's connection, the request's own first (the bookmark the response
    /// carries is the first that has one).
    pub fn sessions(&self) -> Vec<D1> {
        let mut all = vec![self.d1.clone()];
        all.extend(
            self.shards
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != self.routed)
                .map(|(_, d)| d.clone()),
        );
        all
    }

    /// Moves every database's session to its primary (`D1::to_primary`): whether any moved.
    ///
    /// # Errors
    /// As [`D1::session`].
    pub fn to_primary(&self) -> ApiResult<bool> {
        let mut moved = false;
        for db in self.sessions() {
            moved |= db.to_primary()?;
        }
        Ok(moved)
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

    fn db_of(&self, id: &str) -> &D1 {
        match shard::database_of(id, self.shards.len()) {
            i if i == self.routed || self.shards.is_empty() => &self.d1,
            i => &self.shards[i],
        }
    }

    fn dbs(&self) -> &[D1] {
        if self.shards.is_empty() {
            std::slice::from_ref(&self.d1)
        } else {
            &self.shards
        }
    }

    fn vshard(&self) -> Option<u8> {
        self.vshard
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
