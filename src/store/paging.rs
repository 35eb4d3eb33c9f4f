//! Keyset paging, one way for every list (scores, setlists, favorites, history, versions, admin
//! users): `limit` (default [`DEFAULT_LIMIT`], at most the list's maximum) and an opaque `cursor`
//! that names the last row returned. The cursor is signed and bound to its list and to a scope
//! (the ordering, the filters, the parent resource), so a client can neither forge a position
//! nor replay one against another query, where it would silently skip or repeat rows.
//!
//! Each list fetches `limit + 1` rows ordered by its key; [`Pager::page`] cuts the extra row off
//! and turns the last kept row's key into `next_cursor` (`null` on the last page).

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::storage::signed::{self, SigningKey};

/// Purpose of the key that signs cursors (derived from the server secret).
pub const CURSOR_PURPOSE: &str = "scoremate/list-cursor/v1";

/// Items per page when `limit` is absent, for every list.
pub const DEFAULT_LIMIT: i64 = 20;

/// `limit` as given: an integer from 1 to `max`.
///
/// # Errors
/// The field message for a 422.
pub fn limit(raw: &str, max: i64) -> Result<i64, String> {
    match raw.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("must be an integer from 1 to {max}")),
    }
}

#[derive(Serialize, Deserialize)]
struct Cursor<P> {
    /// The list.
    l: String,
    /// Digest of the scope.
    s: String,
    /// The last row's position (its keyset values).
    p: P,
}

/// Paging of one request of one list.
pub struct Pager<'k> {
    key: &'k SigningKey,
    list: &'static str,
    scope: String,
    /// Rows per page.
    pub limit: i64,
}

impl<'k> Pager<'k> {
    /// `scope` is everything besides the position that decides which rows follow which: the
    /// ordering, the filters, a parent id. Two requests share cursors only if it is equal.
    pub fn new(key: &'k SigningKey, list: &'static str, scope: &str, limit: i64) -> Self {
        let digest = crate::storage::sigv4::sha256_hex(scope.as_bytes());
        Self {
            key,
            list,
            scope: digest[..16].to_owned(),
            limit,
        }
    }

    /// The position a `cursor` names.
    ///
    /// # Errors
    /// The field message for a 422: forged or garbled, or made for another list or scope.
    pub fn position<P: DeserializeOwned>(&self, raw: &str) -> Result<P, String> {
        match signed::verify::<Cursor<P>>(self.key, raw) {
            Ok(c) if c.l == self.list && c.s == self.scope => Ok(c.p),
            Ok(_) => Err("belongs to another list, ordering or filter".into()),
            Err(_) => Err("is not a valid cursor".into()),
        }
    }

    /// The cursor that continues after `position`.
    pub fn cursor<P: Serialize>(&self, position: P) -> String {
        signed::sign(
            self.key,
            &Cursor {
                l: self.list.to_owned(),
                s: self.scope.clone(),
                p: position,
            },
        )
    }

    /// Rows to fetch: one more than a page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the `limit + 1` rows fetched to a page, and the cursor after its last row when
    /// more follow.
    pub fn page<T, P: Serialize>(
        &self,
        mut rows: Vec<T>,
        position: impl FnOnce(&T) -> P,
    ) -> (Vec<T>, Option<String>) {
        let limit = usize::try_from(self.limit).unwrap_or(0);
        if rows.len() <= limit {
            return (rows, None);
        }
        rows.truncate(limit);
        let next = rows.last().map(|r| self.cursor(position(r)));
        (rows, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::derive(b"secret", CURSOR_PURPOSE)
    }

    #[test]
    fn a_page_continues_after_its_last_row_and_the_last_page_has_no_cursor() {
        let k = key();
        let p = Pager::new(&k, "things", "by name", 2);
        assert_eq!(p.fetch(), 3);
        let (rows, next) = p.page(vec!["a", "b", "c"], |r| (*r).to_owned());
        assert_eq!(rows, ["a", "b"]);
        let after: String = p.position(&next.unwrap()).unwrap();
        assert_eq!(after, "b");
        let (rows, next) = p.page(vec!["c"], |r| (*r).to_owned());
        assert_eq!((rows, next), (vec!["c"], None));
    }

    #[test]
    fn a_cursor_serves_only_its_list_and_scope() {
        let k = key();
        let cursor = Pager::new(&k, "things", "by name", 2).cursor(("b", 7));
        for other in [
            Pager::new(&k, "others", "by name", 2),
            Pager::new(&k, "things", "by date", 2),
        ] {
            assert_eq!(
                other.position::<(String, i64)>(&cursor).unwrap_err(),
                "belongs to another list, ordering or filter"
            );
        }
        let forged = Pager::new(
            &SigningKey::derive(b"other", CURSOR_PURPOSE),
            "things",
            "by name",
            2,
        )
        .cursor(("b", 7));
        let p = Pager::new(&k, "things", "by name", 2);
        assert_eq!(
            p.position::<(String, i64)>(&forged).unwrap_err(),
            "is not a valid cursor"
        );
        assert_eq!(
            p.position::<(String, i64)>("garbage").unwrap_err(),
            "is not a valid cursor"
        );
        assert!(
            p.position::<(i64, i64)>(&cursor).is_err(),
            "a position of another shape"
        );
        assert_eq!(
            p.position::<(String, i64)>(&cursor).unwrap(),
            ("b".into(), 7)
        );
    }

    #[test]
    fn limits_are_whole_numbers_within_the_lists_maximum() {
        assert_eq!(limit("1", 100), Ok(1));
        assert_eq!(limit("100", 100), Ok(100));
        for bad in ["0", "101", "-1", "1.5", "", "ten"] {
            assert!(limit(bad, 100).is_err(), "{bad}");
        }
    }
}
