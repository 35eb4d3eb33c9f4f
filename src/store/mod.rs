//! SQL as data: every statement the shell sends to D1, with its `?N` parameters documented.
//!
//! Keeping the text here (not in the shell) lets native tests run each statement on real SQLite
//! against the real migrations; the shell only binds values and reads typed rows.

pub mod rows;
pub mod sql;
