//! SQL as data: every statement the shell sends to D1, with its `?N` parameters documented.
//!
//! Keeping the text here (not in the shell) lets native tests run each statement on real SQLite
//! against the real migrations; the shell only binds values and reads typed rows.

pub mod activity_sql;
pub mod admin_sql;
pub mod preset_sql;
pub mod rows;
pub mod search;
pub mod setlist_sql;
pub mod sql;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
    Null,
}
