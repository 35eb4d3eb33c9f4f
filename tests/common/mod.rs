//! Shared helpers for the SQL tests: the real migrations on an in-memory SQLite, and the
//! statement parameters the core builds, as rusqlite values.

use rusqlite::{limits::Limit, types::Value, Connection};
use scoremate::store::SqlValue;

/// An in-memory SQLite with every migration applied in order, with D1's foreign keys and
/// limits (LIKE patterns of at most 50 bytes, at most 100 bound parameters per statement), so a
/// statement that production D1 would refuse fails here too.
pub fn migrated() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("pragma foreign_keys = on;").unwrap();
    conn.set_limit(Limit::SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50)
        .unwrap();
    conn.set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, 100)
        .unwrap();
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
