//! The Cron sweep as the runtime sees it (`service::processing::sweep`): run in the API script,
//! which has every binding it needs; the queue consumer's script has no Cron Trigger.

use serde_json::json;
use worker::{console_error, console_log, Env};

use crate::service::processing;

use super::ctx::{now, Ctx};

/// The Cron Trigger (`service::processing::sweep`).
pub async fn sweep(cron: &str, env: Env) {
    let started = now();
    let result = match Ctx::new(&env) {
        Ok(ctx) => processing::sweep(&ctx.cx("")).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => console_log!(
            "{}",
            json!({"level": "info", "msg": "sweep", "cron": cron, "report": report, "duration_ms": now().0 - started.0})
        ),
        Err(e) => console_error!(
            "{}",
            json!({"level": "error", "msg": "sweep failed", "cron": cron, "error": e.to_string()})
        ),
    }
}
