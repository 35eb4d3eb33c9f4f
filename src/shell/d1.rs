//! D1 adapter: binds typed arguments, maps every D1 failure to [`ApiError::Internal`] with its
//! cause (logged, never shown), and returns typed rows.

use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::error::{ApiError, ApiResult};
use crate::ports::Outcome;
use crate::store::{SqlValue, Stmt as Statement};

use super::faults;

/// One bound parameter.
#[derive(Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Null,
}

impl From<&Arg<'_>> for JsValue {
    fn from(arg: &Arg<'_>) -> Self {
        match arg {
            Arg::Text(s) => JsValue::from_str(s),
            // D1 numbers are JS doubles; every integer we store is far below 2^53.
            #[expect(clippy::cast_precision_loss, reason = "values are below 2^53")]
            Arg::Int(i) => JsValue::from_f64(*i as f64),
            Arg::Null => JsValue::NULL,
        }
    }
}

impl<'a> From<&'a SqlValue> for Arg<'a> {
    fn from(v: &'a SqlValue) -> Self {
        match v {
            SqlValue::Text(s) => Arg::Text(s),
            SqlValue::Int(i) => Arg::Int(*i),
            SqlValue::Null => Arg::Null,
        }
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::Null, Arg::Int)
    }
}

impl<'a> From<Option<&'a String>> for Arg<'a> {
    fn from(v: Option<&'a String>) -> Self {
        v.map_or(Arg::Null, |s| Arg::Text(s))
    }
}

impl From<bool> for Arg<'_> {
    fn from(b: bool) -> Self {
        Arg::Int(i64::from(b))
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Arg::Null, Arg::Text)
    }
}

pub fn db_err(context: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("D1 {context}: {e}"))
}

/// A bound statement and its SQL text (which names it in logs and in injected faults).
pub struct Stmt {
    sql: String,
    prepared: D1PreparedStatement,
}

pub struct Db(D1Database);

/// A planned fault (tests only) before a D1 call on `subject`.
async fn fault(op: &str, subject: &str) -> ApiResult<()> {
    faults::check(op, subject, || db_err(op, "injected fault")).await
}

impl Db {
    pub fn new(db: D1Database) -> Self {
        Self(db)
    }

    /// Prepares and binds a statement (for [`Db::batch`] or a single call).
    ///
    /// # Errors
    /// 500 if binding fails.
    pub fn stmt(&self, sql: &str, args: &[Arg<'_>]) -> ApiResult<Stmt> {
        let values: Vec<JsValue> = args.iter().map(JsValue::from).collect();
        let prepared = self
            .0
            .prepare(sql)
            .bind(&values)
            .map_err(|e| db_err("bind", e))?;
        Ok(Stmt {
            sql: sql.to_owned(),
            prepared,
        })
    }

    /// # Errors
    /// 500 on any D1 failure.
    pub async fn first<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
    ) -> ApiResult<Option<T>> {
        let stmt = self.stmt(sql, args)?;
        fault("d1.first", sql).await?;
        stmt.prepared
            .first::<T>(None)
            .await
            .map_err(|e| db_err(sql, e))
    }

    /// # Errors
    /// 500 on any D1 failure.
    pub async fn all<T: DeserializeOwned>(&self, sql: &str, args: &[Arg<'_>]) -> ApiResult<Vec<T>> {
        let stmt = self.stmt(sql, args)?;
        fault("d1.all", sql).await?;
        let result = stmt.prepared.all().await.map_err(|e| db_err(sql, e))?;
        result.results::<T>().map_err(|e| db_err(sql, e))
    }

    /// Runs a write and returns the number of rows it changed.
    ///
    /// # Errors
    /// 500 on any D1 failure.
    pub async fn run(&self, sql: &str, args: &[Arg<'_>]) -> ApiResult<usize> {
        let stmt = self.stmt(sql, args)?;
        fault("d1.run", sql).await?;
        let result = stmt.prepared.run().await.map_err(|e| db_err(sql, e))?;
        Ok(changes(&result))
    }

    /// Runs statements atomically (one implicit transaction) and returns each one's changes.
    ///
    /// # Errors
    /// 500 on any D1 failure; nothing is applied then.
    pub async fn batch(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<usize>> {
        let results = self.batch_results(stmts).await?;
        Ok(results.iter().map(changes).collect())
    }

    /// Runs statements together (one round trip, one transaction) and returns their raw results,
    /// for batches whose statements return rows of different shapes.
    ///
    /// # Errors
    /// 500 on any D1 failure; nothing is applied then.
    pub async fn batch_results(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<D1Result>> {
        let (texts, prepared): (Vec<String>, Vec<D1PreparedStatement>) =
            stmts.into_iter().map(|s| (s.sql, s.prepared)).unzip();
        fault("d1.batch", &texts.join("\n")).await?;
        self.0.batch(prepared).await.map_err(|e| db_err("batch", e))
    }

    /// Runs reads together (one round trip, one consistent snapshot) and returns each one's rows.
    ///
    /// # Errors
    /// 500 on any D1 failure.
    pub async fn batch_rows<T: DeserializeOwned>(
        &self,
        stmts: Vec<Stmt>,
    ) -> ApiResult<Vec<Vec<T>>> {
        self.batch_results(stmts)
            .await?
            .iter()
            .map(|r| r.results::<T>().map_err(|e| db_err("batch rows", e)))
            .collect()
    }
}

/// Whether statement `i` of a batch changed any row. D1's `changes` also counts work done by
/// triggers (the FTS index), so only "zero or not" is meaningful, never the exact number.
pub fn changed(changes: &[usize], i: usize) -> bool {
    changes.get(i).is_some_and(|c| *c > 0)
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

    fn prepare(&self, stmt: &Statement) -> ApiResult<D1PreparedStatement> {
        let values: Vec<JsValue> = stmt
            .args
            .iter()
            .map(|a| JsValue::from(&Arg::from(a)))
            .collect();
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

    async fn batch(&self, stmts: Vec<Statement>) -> ApiResult<Vec<Outcome>> {
        let prepared = stmts
            .iter()
            .map(|s| self.prepare(s))
            .collect::<ApiResult<Vec<_>>>()?;
        let texts: Vec<&str> = stmts.iter().map(|s| s.sql.as_ref()).collect();
        fault("d1.batch", &texts.join("\n")).await?;
        let results = self
            .0
            .batch(prepared)
            .await
            .map_err(|e| db_err("batch", e))?;
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
