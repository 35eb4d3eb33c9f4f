//! The imperative shell: the Worker's entry points and its adapters to the platform.
//!
//! Only this module imports `worker`. It reads the clock, randomness and settings, calls the core,
//! and talks to D1, R2 and the Queue.

// Two Worker scripts are built from this crate (README "Two Worker scripts"): `api` gives the
// fetch handler, the live rooms' Durable Object and the Cron sweep; `consumer` the queue
// consumer, with the renderer only it uses. The default build has both (tests, clippy).
#[cfg(feature = "api")]
mod accounts;
#[cfg(feature = "api")]
mod activity;
#[cfg(feature = "api")]
mod admin;
#[cfg(feature = "api")]
mod annotations;
mod assets;
#[cfg(feature = "api")]
mod blobs;
#[cfg(feature = "api")]
mod bookmarks;
#[cfg(feature = "api")]
mod books;
#[cfg(feature = "api")]
mod call;
#[cfg(feature = "api")]
mod cron;
// Shared by both scripts; read sessions, verified puts and the request's Env are the API's.
#[cfg_attr(not(feature = "api"), allow(dead_code))]
mod ctx;
#[cfg_attr(not(feature = "api"), allow(dead_code))]
mod d1;
#[cfg(feature = "api")]
mod exports;
mod faults;
#[cfg(feature = "api")]
mod http;
#[cfg(feature = "api")]
mod imports;
#[cfg(feature = "api")]
mod library;
#[cfg(feature = "api")]
mod limits;
#[cfg(feature = "api")]
mod live;
#[cfg(feature = "api")]
mod parts;
#[cfg_attr(not(feature = "api"), allow(dead_code, unused_imports))]
mod phases;
#[cfg(feature = "api")]
mod presets;
#[cfg(feature = "consumer")]
mod queue;
#[cfg_attr(not(feature = "api"), allow(dead_code))]
mod r2;
#[cfg(feature = "api")]
mod room;
#[cfg(feature = "api")]
mod setlists;

use worker::{event, Env};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// Per-invocation set-up shared by the entry points.
fn prepare(env: &Env) {
    if let Ok(config) = ctx::config(env) {
        faults::install(env, config.e2e_faults);
    }
}

#[cfg(feature = "api")]
#[event(fetch)]
async fn fetch(
    req: worker::Request,
    env: Env,
    ctx: worker::Context,
) -> worker::Result<worker::Response> {
    prepare(&env);
    Ok(http::serve(req, env, ctx).await)
}

#[cfg(feature = "consumer")]
#[event(queue)]
async fn queue(
    batch: worker::MessageBatch<serde_json::Value>,
    env: Env,
    _ctx: worker::Context,
) -> worker::Result<()> {
    prepare(&env);
    queue::consume(batch, env).await;
    Ok(())
}

#[cfg(feature = "api")]
#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    prepare(&env);
    cron::sweep(&event.cron(), env).await;
}
