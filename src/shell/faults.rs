//! Test-only fault injection, so the end-to-end suite can make D1, R2 and the queue consumer
//! fail, stall or trap part-way through a use case and then check that nothing was lost.
//!
//! Off unless the `E2E_FAULTS` var is `on` (never in `wrangler.toml`): then every D1 and R2 call
//! and every queued task first looks in the `e2e_faults` table (created by the test harness, not
//! by a migration) for a planned fault whose `op` matches and whose `pattern` occurs in the
//! call's subject (the SQL text, the object key, the task id), and spends one of its `remaining`
//! uses. Production never pays for the lookup: the flag is read once per isolate.

use std::cell::RefCell;
use std::time::Duration;

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use crate::error::{ApiError, ApiResult};

thread_local! {
    /// The bindings (whose D1 holds the plan), when injection is on.
    static PLAN: RefCell<Option<Env>> = const { RefCell::new(None) };
}

/// Turns injection on for this isolate when the settings ask for it.
pub fn install(env: &Env, enabled: bool) {
    if !enabled || PLAN.with(|p| p.borrow().is_some()) {
        return;
    }
    PLAN.with(|p| *p.borrow_mut() = Some(env.clone()));
}

#[derive(Deserialize)]
struct Planned {
    action: String,
    delay_ms: Option<f64>,
}

/// What a planned fault does to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails (D1: an internal error; R2: a storage error; a task: a transient error).
    Fail,
    /// The isolate traps (a panic under `panic = "abort"`), as when it runs out of memory.
    Trap,
    /// The queue consumer behaves as if the invocation were near its CPU limit.
    Defer,
}

const TAKE: &str = "update e2e_faults set remaining = remaining - 1 \
     where rowid = (select rowid from e2e_faults where op = ?1 and instr(?2, pattern) > 0 \
                    and remaining > 0 order by rowid limit 1) \
     returning action, delay_ms";

/// Consults the plan before `op` on `subject`: sleeps for a planned delay, and returns a
/// planned fault. Without a plan (the normal case) it does nothing.
pub async fn take(op: &str, subject: &str) -> Option<Fault> {
    let env = PLAN.with(|p| p.borrow().clone())?;
    let db: D1Database = env.d1("DB").ok()?;
    let planned = db
        .prepare(TAKE)
        .bind(&[JsValue::from_str(op), JsValue::from_str(subject)])
        .ok()?
        .first::<Planned>(None)
        .await
        .ok()
        .flatten()?;
    if let Some(ms) = planned.delay_ms.filter(|ms| *ms > 0.0) {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a test's delay in milliseconds"
        )]
        worker::Delay::from(Duration::from_millis(ms as u64)).await;
    }
    match planned.action.as_str() {
        "fail" => Some(Fault::Fail),
        "trap" => Some(Fault::Trap),
        "defer" => Some(Fault::Defer),
        _ => None,
    }
}

/// [`take`] for a storage or database call: a planned failure becomes `error`, a planned trap
/// aborts the isolate.
///
/// # Errors
/// The planned failure.
pub async fn check(op: &str, subject: &str, error: impl FnOnce() -> ApiError) -> ApiResult<()> {
    match take(op, subject).await {
        Some(Fault::Fail) => Err(error()),
        Some(Fault::Trap) => trap(op),
        Some(Fault::Defer) | None => Ok(()),
    }
}

/// Aborts the isolate the way an out-of-memory or a panic does.
pub fn trap(op: &str) -> ! {
    panic!("injected trap at {op}")
}
