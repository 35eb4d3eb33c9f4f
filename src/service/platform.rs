//! The platform's health (`GET /health`): whether the database answers and what an operator
//! must fix. Everyone learns `ok` or `degraded`; only an admin the details, since which secret is
//! missing or short tells an attacker about the deployment.

use serde_json::{json, Value};

use crate::ports::Db;
use crate::store::platform;

/// How the database answered the ping: `ok` or `error`.
pub async fn database<D: Db>(db: &D) -> &'static str {
    match db.first::<Value>(platform::ping()).await {
        Ok(Some(_)) => "ok",
        Ok(None) | Err(_) => "error",
    }
}

/// The health report.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// 200, or 503 when the database does not answer.
    pub status: u16,
    /// Operator-facing problems (configuration, the database): for admins and the log only.
    pub problems: Vec<String>,
    /// `ok`, `error`, or `missing` (no binding).
    pub database: &'static str,
}

impl Health {
    /// The report from the configuration's problems and the database's state.
    pub fn new(mut problems: Vec<String>, database: &'static str) -> Self {
        if database != "ok" {
            problems.push(format!("D1: {database}"));
        }
        Self {
            status: if database == "ok" { 200 } else { 503 },
            problems,
            database,
        }
    }

    pub fn state(&self) -> &'static str {
        if self.problems.is_empty() {
            "ok"
        } else {
            "degraded"
        }
    }

    /// The answer: the state for everyone, the version and the details for an admin.
    pub fn view(&self, admin: bool, version: &str) -> Value {
        if admin {
            json!({
                "status": self.state(),
                "version": version,
                "d1": self.database,
                "problems": self.problems,
            })
        } else {
            json!({ "status": self.state() })
        }
    }
}
