//! The Cron sweep as the runtime sees it (`service::processing::sweep`): run in the API script,
//! which has every binding it needs; the queue consumer's script has no Cron Trigger.

use serde_json::json;
use worker::{console_error, console_log, Env};

use crate::service::processing;

use super::ctx::{now, Ctx};

/// The Cron Trigger (`service::processing::sweep`), once in each database of `D1_SHARDS`.
pub async fn sweep(cron: &str, env: Env) {
    let databases = super::ctx::config(&env).map_or(1, |c| c.d1_shards.len());
    for database in 0..databases {
        let started = now();
        let result = match Ctx::on_shard(&env, database) {
            Ok(ctx) => processing::sweep(&ctx.cx("")).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(report) => console_log!(
                "{}",
                json!({"level": "info", "msg": "sweep", "cron": cron, "database": database, "report": report, "duration_ms": now().0 - started.0})
            ),
            Err(e) => console_error!(
                "{}",
                json!({"level": "error", "msg": "sweep failed", "cron": cron, "database": database, "error": e.to_string()})
            ),
        }
    }
}
