//! The imperative shell: the Worker's entry points and its adapters to the platform.
//!
//! Only this module imports `worker`. It reads the clock, randomness and settings, calls the core,
//! and talks to D1, R2 and the Queue.

mod accounts;
mod activity;
mod admin;
mod blobs;
mod ctx;
mod d1;
mod http;
mod jobs;
mod library;
mod limits;
mod presets;
mod r2;
mod setlists;

use worker::{
    event, Context, Env, MessageBatch, Request, Response, ScheduleContext, ScheduledEvent,
};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    Ok(http::serve(req, env).await)
}

#[event(queue)]
async fn queue(
    batch: MessageBatch<serde_json::Value>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    jobs::consume(batch, env).await;
    Ok(())
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    jobs::sweep(&event.cron(), env).await;
}
