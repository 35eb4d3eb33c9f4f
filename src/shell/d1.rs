//! D1 adapter: binds typed arguments, maps every D1 failure to [`ApiError::Internal`] with its
//! cause (logged, never shown), and returns typed rows. A request's statements run in one D1
//! session (read replicas, `api::replicas`); the queue, the cron sweep and the live rooms use the
//! plain binding, which always goes to the primary.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1DatabaseSession, D1PreparedStatement, Env};

use crate::api::replicas::Start;
use crate::error::{ApiError, ApiResult};
use crate::ports::Outcome;
use crate::service::accounts::SESSION_REVOKED;
use crate::store::{SqlValue, Stmt as Statement};

use super::faults;

/// One bound parameter as D1 takes it.
fn js_value(v: &SqlValue) -> JsValue {
    match v {
        SqlValue::Text(s) => JsValue::from_str(s),
        // D1 numbers are JS doubles; every integer we store is far below 2^53.
        #[expect(clippy::cast_precision_loss, reason = "values are below 2^53")]
        SqlValue::Int(i) => JsValue::from_f64(*i as f64),
        SqlValue::Null => JsValue::NULL,
    }
}

pub fn db_err(context: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("D1 {context}: {e}"))
}

/// A planned fault (tests only) before a D1 call on `subject`.
async fn fault(op: &str, subject: &str) -> ApiResult<()> {
    faults::check(op, subject, || db_err(op, "injected fault")).await
}

pub fn changes(result: &worker::D1Result) -> usize {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

/// The `DB` binding.
///
/// # Errors
/// 500 (misconfigured) without it.
pub fn binding(env: &Env) -> ApiResult<D1Database> {
    binding_named(env, "DB")
}

/// The D1 binding `name` (one of `D1_SHARDS`).
///
/// # Errors
/// 500 (misconfigured) without it.
pub fn binding_named(env: &Env, name: &str) -> ApiResult<D1Database> {
    env.d1(name)
        .map_err(|e| ApiError::Misconfigured(format!("D1 binding {name}: {e}")))
}

/// The D1 database as the use cases' [`crate::ports::Db`]: binds a statement's arguments,
/// maps every D1 failure to a 500 with its cause (logged, never shown), and deserializes rows.
/// A clone shares the session, so the shell can read its bookmark after the handler is done.
#[derive(Clone)]
pub struct D1(Rc<Conn>);

struct Conn {
    db: D1Database,
    /// The request's session; `None` for the plain binding (always the primary).
    session: RefCell<Option<Rc<D1DatabaseSession>>>,
    /// Whether the statements start on the primary (the plain binding, or `first-primary`).
    primary: Cell<bool>,
}

impl D1 {
    /// The plain binding: every statement goes to the primary.
    pub fn new(db: D1Database) -> Self {
        Self(Rc::new(Conn {
            db,
            session: RefCell::new(None),
            primary: Cell::new(true),
        }))
    }

    /// A request's session, starting where `start` says.
    ///
    /// # Errors
    /// 500 when D1 refuses to open it (only for an empty constraint, which `Start` never is).
    pub fn session(db: D1Database, start: &Start) -> ApiResult<Self> {
        if super::phases::skip('S') {
            return Ok(Self::new(db));
        }
        let session = open(&db, start)?;
        Ok(Self(Rc::new(Conn {
            db,
            session: RefCell::new(Some(session)),
            primary: Cell::new(*start == Start::Primary),
        })))
    }

    /// The session's latest bookmark (none before its first statement, nor for the plain binding).
    pub fn bookmark(&self) -> Option<String> {
        let session = self.0.session.borrow().clone()?;
        session.get_bookmark().ok().flatten()
    }

    /// Moves the rest of the request to a session that starts on the primary, unless it already
    /// started there; says whether it moved. A negative answer read on a replica that may lag
    /// (a session signed in a moment ago reads as revoked) is confirmed there first.
    ///
    /// # Errors
    /// As [`D1::session`].
    pub fn to_primary(&self) -> ApiResult<bool> {
        if self.0.primary.get() {
            return Ok(false);
        }
        let primary = open(&self.0.db, &Start::Primary)?;
        *self.0.session.borrow_mut() = Some(primary);
        self.0.primary.set(true);
        Ok(true)
    }

    /// Runs statements as one D1 batch (one round trip, one transaction).
    async fn run_batch(&self, stmts: &[Statement]) -> ApiResult<Vec<worker::D1Result>> {
        let prepared = stmts
            .iter()
            .map(|s| self.prepare(s))
            .collect::<ApiResult<Vec<_>>>()?;
        let texts: Vec<&str> = stmts.iter().map(|s| s.sql.as_ref()).collect();
        fault("d1.batch", &texts.join("\n")).await?;
        // The session is taken out of the cell: nothing is borrowed across the await.
        let session = self.0.session.borrow().clone();
        match session {
            Some(session) => session.batch(prepared).await,
            None => self.0.db.batch(prepared).await,
        }
        .map_err(|e| db_err("batch", e))
    }

    fn prepare(&self, stmt: &Statement) -> ApiResult<D1PreparedStatement> {
        let values: Vec<JsValue> = stmt.args.iter().map(js_value).collect();
        match self.0.session.borrow().as_deref() {
            Some(session) => session.prepare(stmt.sql.as_ref()),
            None => self.0.db.prepare(stmt.sql.as_ref()),
        }
        .bind(&values)
        .map_err(|e| db_err("bind", e))
    }
}

/// Whether an answer read on a replica may only mean that the replica lags: a session signed in
/// a moment ago reads as revoked there. Such an answer is confirmed on the primary
/// ([`D1::to_primary`]) before it is given.
pub fn may_lag<T>(result: &ApiResult<T>) -> bool {
    matches!(result, Err(ApiError::InvalidToken(why)) if *why == SESSION_REVOKED)
}

fn open(db: &D1Database, start: &Start) -> ApiResult<Rc<D1DatabaseSession>> {
    db.with_session(Some(start.constraint()))
        .map(Rc::new)
        .map_err(|e| db_err("session", e))
}

impl crate::ports::Db for D1 {
    async fn first<T: DeserializeOwned>(&self, stmt: Statement) -> ApiResult<Option<T>> {
        let prepared = self.prepare(&stmt)?;
        fault("d1.first", &stmt.sql).await?;
        prepared
            .first::<T>(None)
            .await
            .map_err(|e| db_err(&stmt.sql, e))
    }

    async fn all<T: DeserializeOwned>(&self, stmt: Statement) -> ApiResult<Vec<T>> {
        let prepared = self.prepare(&stmt)?;
        fault("d1.all", &stmt.sql).await?;
        let result = prepared.all().await.map_err(|e| db_err(&stmt.sql, e))?;
        result.results::<T>().map_err(|e| db_err(&stmt.sql, e))
    }

    async fn run(&self, stmt: Statement) -> ApiResult<usize> {
        let prepared = self.prepare(&stmt)?;
        fault("d1.run", &stmt.sql).await?;
        let result = prepared.run().await.map_err(|e| db_err(&stmt.sql, e))?;
        Ok(changes(&result))
    }

    async fn batch_rows<T: DeserializeOwned>(
        &self,
        stmts: Vec<Statement>,
    ) -> ApiResult<Vec<Vec<T>>> {
        let results = self.run_batch(&stmts).await?;
        results
            .iter()
            .map(|r| r.results::<T>().map_err(|e| db_err("batch rows", e)))
            .collect()
    }

    async fn batch(&self, stmts: Vec<Statement>) -> ApiResult<Vec<Outcome>> {
        let results = self.run_batch(&stmts).await?;
        results
            .iter()
            .map(|r| {
                Ok(Outcome {
                    changes: changes(r),
                    rows: r
                        .results::<serde_json::Value>()
                        .map_err(|e| db_err("batch rows", e))?,
                })
            })
            .collect()
    }
}
