//! D1 adapter: binds typed arguments, maps every D1 failure to [`ApiError::Internal`] with its
//! cause (logged, never shown), and returns typed rows.

use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use crate::error::{ApiError, ApiResult};
use crate::ports::Outcome;
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

/// The D1 database as the use cases' [`crate::ports::Db`]: binds a statement's arguments,
/// maps every D1 failure to a 500 with its cause (logged, never shown), and deserializes rows.
pub struct D1(D1Database);

impl D1 {
    pub fn new(db: D1Database) -> Self {
        Self(db)
    }

    /// Runs statements as one D1 batch (one round trip, one transaction).
    async fn run_batch(&self, stmts: &[Statement]) -> ApiResult<Vec<worker::D1Result>> {
        let prepared = stmts
            .iter()
            .map(|s| self.prepare(s))
            .collect::<ApiResult<Vec<_>>>()?;
        let texts: Vec<&str> = stmts.iter().map(|s| s.sql.as_ref()).collect();
        fault("d1.batch", &texts.join("\n")).await?;
        self.0.batch(prepared).await.map_err(|e| db_err("batch", e))
    }

    fn prepare(&self, stmt: &Statement) -> ApiResult<D1PreparedStatement> {
        let values: Vec<JsValue> = stmt.args.iter().map(js_value).collect();
        self.0
            .prepare(stmt.sql.as_ref())
            .bind(&values)
            .map_err(|e| db_err("bind", e))
    }
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
