//! Statements of the platform itself: the health check's question to the database.

use super::Stmt;

/// Whether the database answers (`/health`): one row, `one` = 1.
pub fn ping() -> Stmt {
    Stmt::new("select 1 as one", Vec::new())
}
