//! Shared helpers for the SQL tests: the real migrations on an in-memory SQLite, and the
//! statement parameters the core builds, as rusqlite values.

use rusqlite::{types::Value, Connection};
use scoremate::store::SqlValue;

/// An in-memory SQLite with every migration applied in order, foreign keys on (as in D1).
pub fn migrated() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("pragma foreign_keys = on;").unwrap();
    let mut files: Vec<_> = std::fs::read_dir("migrations")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        conn.execute_batch(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    conn
}

/// Core-built parameters as rusqlite values.
#[allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]
pub fn params(values: Vec<SqlValue>) -> impl Iterator<Item = Value> {
    values.into_iter().map(|p| match p {
        SqlValue::Text(s) => Value::Text(s),
        SqlValue::Int(i) => Value::Integer(i),
        SqlValue::Null => Value::Null,
    })
}
