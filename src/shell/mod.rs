//! The imperative shell: the Worker's entry points and its adapters to the platform.
//!
//! Only this module imports `worker`. It reads the clock, randomness and settings, calls the core,
//! and talks to D1, R2 and the Queue.

mod accounts;
mod activity;
mod admin;
mod annotations;
mod blobs;
mod bookmarks;
mod books;
mod call;
mod ctx;
mod d1;
mod exports;
mod faults;
mod http;
mod imports;
mod library;
mod limits;
mod live;
mod parts;
mod presets;
mod queue;
mod r2;
mod room;
mod setlists;

use worker::{
    event, Context, Env, MessageBatch, Request, Response, ScheduleContext, ScheduledEvent,
};

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

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    prepare(&env);
    Ok(http::serve(req, env, ctx).await)
}

#[event(queue)]
async fn queue(
    batch: MessageBatch<serde_json::Value>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    prepare(&env);
    queue::consume(batch, env).await;
    Ok(())
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    prepare(&env);
    queue::sweep(&event.cron(), env).await;
}
