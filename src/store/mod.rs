//! SQL as data: every statement the use cases run, built by typed functions per area into a
//! [`Stmt`] (text and arguments). The shell's D1 adapter only executes them, and the native tests
//! run the very same statements on SQLite against the real migrations.

use std::borrow::Cow;

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod annotations;
pub mod bookmarks;
pub mod books;
pub mod exports;
pub mod fts;
pub mod imports;
pub mod library;
pub mod limits;
pub mod live;
pub mod paging;
pub mod parts;
pub mod platform;
pub mod presets;
pub mod processing;
pub mod rows;
pub mod search;
pub mod setlists;

/// A value bound to a statement parameter (the one parameter type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
    Null,
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<&String> for SqlValue {
    fn from(s: &String) -> Self {
        Self::Text(s.clone())
    }
}

impl From<i64> for SqlValue {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<u32> for SqlValue {
    fn from(i: u32) -> Self {
        Self::Int(i64::from(i))
    }
}

impl From<bool> for SqlValue {
    fn from(b: bool) -> Self {
        Self::Int(i64::from(b))
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

impl From<&Option<String>> for SqlValue {
    fn from(v: &Option<String>) -> Self {
        v.as_deref().map_or(Self::Null, Self::from)
    }
}

/// One statement: its text and its arguments (`?1`, `?2`, … in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    pub sql: Cow<'static, str>,
    pub args: Vec<SqlValue>,
}

impl Stmt {
    pub fn new(sql: impl Into<Cow<'static, str>>, args: Vec<SqlValue>) -> Self {
        Self {
            sql: sql.into(),
            args,
        }
    }
}

/// `args![a, b, …]`: statement arguments, each converted into a [`SqlValue`].
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        vec![$($crate::store::SqlValue::from($v)),*]
    };
}
