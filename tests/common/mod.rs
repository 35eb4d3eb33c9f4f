//! Shared helpers for the SQL tests: the real migrations on an in-memory SQLite, and the
//! statement parameters the core builds, as rusqlite values.

pub mod library;
pub mod pdf;
pub mod ports;
pub mod seed;
pub mod tools;
pub mod zip;

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
    migrate(&conn);
    conn
}

/// The migration files, in the order they apply.
#[allow(dead_code, reason = "not every test binary uses it")]
pub fn migration_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("migrations")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

/// Applies every migration in order (also to the file `examples/scaling.rs` fills).
pub fn migrate(conn: &Connection) {
    let files = migration_files();
    assert!(!files.is_empty());
    for f in files {
        conn.execute_batch(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
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

/// A statement's arguments as rusqlite parameters.
#[allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]
pub fn params_from(args: &[SqlValue]) -> rusqlite::ParamsFromIter<Vec<Value>> {
    rusqlite::params_from_iter(params(args.to_vec()).collect::<Vec<_>>())
}

/// Runs one statement; its changes.
#[allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]
pub fn exec(c: &Connection, s: &scoremate::store::Stmt) -> usize {
    c.execute(&s.sql, params_from(&s.args))
        .unwrap_or_else(|e| panic!("{e}: {}", s.sql))
}

/// Runs statements as D1 runs a batch: in one transaction, all or nothing. Each statement's
/// changes, or the first error (and nothing changed).
#[allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]
pub fn batch(c: &mut Connection, stmts: &[scoremate::store::Stmt]) -> rusqlite::Result<Vec<usize>> {
    let tx = c.transaction()?;
    let mut out = Vec::with_capacity(stmts.len());
    for s in stmts {
        out.push(tx.execute(&s.sql, params_from(&s.args))?);
    }
    tx.commit()?;
    Ok(out)
}

/// The rows of a query, each mapped by `f`.
#[allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]
pub fn rows<T>(
    c: &Connection,
    s: &scoremate::store::Stmt,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    c.prepare(&s.sql)
        .unwrap_or_else(|e| panic!("{e}: {}", s.sql))
        .query_map(params_from(&s.args), f)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The statements of what `DELETE /v1/scores/{id}` did before the trash: to the trash and
/// purged in one batch (statement 6 is the purge's removal of the row).
#[allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]
pub fn delete_for_good(id: &str, owner: &str, now: &str) -> Vec<scoremate::store::Stmt> {
    use scoremate::store::library as lib;
    let mut stmts = vec![lib::trash_score(id, owner, now)];
    stmts.extend(lib::purge_score(id, owner, now));
    stmts
}
