//! D1 read replicas (the Sessions API): which database instance a request may start on, and the
//! `x-d1-bookmark` header that lets a client read its own writes wherever it is served from.
//!
//! A request runs in one D1 session. A read-only route may start on any replica
//! (`first-unconstrained`), or on one at least as fresh as the bookmark the client last saw; a
//! route that writes starts on the primary (`first-primary`), so the checks it reads before
//! writing are never stale. Every response carries the session's latest bookmark. Pure, so the
//! decision is tested natively; the shell opens the session (`shell::d1`).

use super::routes::{Endpoint, RouteDef};

/// The request and response header holding a bookmark.
pub const HEADER: &str = "x-d1-bookmark";

/// The longest bookmark taken from a client (D1's are 59 characters today).
pub const MAX_LEN: usize = 128;

/// Where a request's D1 session starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The primary: writes, and reads that decide a write.
    Primary,
    /// Any replica (a read from a client with no bookmark).
    Anywhere,
    /// Any replica at least as fresh as this bookmark (a read from a client that has one).
    After(String),
}

impl Start {
    /// The argument of `D1Database::withSession`: a constraint, or the bookmark.
    pub fn constraint(&self) -> &str {
        match self {
            Self::Primary => "first-primary",
            Self::Anywhere => "first-unconstrained",
            Self::After(bookmark) => bookmark,
        }
    }
}

/// What the client sent in [`HEADER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent<'a> {
    /// No header, or an empty one (clients that store `getBookmark() ?? ""` send that).
    Nothing,
    /// A bookmark as D1 writes them.
    Bookmark(&'a str),
    /// Anything else: not passed to D1, whose answer to it is unknown (a 500 at worst).
    Malformed,
}

/// Reads the header: a bookmark is one to [`MAX_LEN`] groups of lower-case hex digits joined by
/// single dashes (D1's are `00000001-00000002-00004e2f-<32 hex>`). The constraint words
/// (`first-primary`) are not bookmarks: a client cannot choose the primary for everyone's reads.
pub fn parse(header: Option<&str>) -> Sent<'_> {
    let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) else {
        return Sent::Nothing;
    };
    let well_formed = value.len() <= MAX_LEN
        && value
            .split('-')
            .all(|g| !g.is_empty() && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if well_formed {
        Sent::Bookmark(value)
    } else {
        Sent::Malformed
    }
}

/// Whether a route writes (or decides a write), so must start on the primary: every method but
/// `GET` and `HEAD`, and the `GET`s that write. Download URLs insert the pending row of a page
/// render or an extract, count it against the owner's render limit and enqueue it, after reading
/// whether one exists (a stale "none" would count a render twice). A live socket's admission
/// reads the membership a moment-old ticket was granted for, and a browser's WebSocket cannot
/// send a header to carry a bookmark.
pub fn writes(route: &RouteDef) -> bool {
    !matches!(route.method, "GET" | "HEAD")
        || matches!(
            route.endpoint,
            Endpoint::DownloadUrl
                | Endpoint::PartDownloadUrl
                | Endpoint::BookmarkDownloadUrl
                | Endpoint::ItemDownloadUrl
                | Endpoint::SharedDownloadUrl
                | Endpoint::LiveConnect
        )
}

/// Where `route`'s session starts given what the client sent. A write starts on the primary,
/// which is at least as fresh as any bookmark; so does a read with a malformed bookmark: the
/// header is ignored (never an error) without losing the client's own writes.
pub fn start(route: &RouteDef, header: Option<&str>) -> Start {
    if writes(route) {
        return Start::Primary;
    }
    match parse(header) {
        Sent::Nothing => Start::Anywhere,
        Sent::Bookmark(b) => Start::After(b.to_owned()),
        Sent::Malformed => Start::Primary,
    }
}

/// The bookmark a response carries: the session's latest, else (the request never reached the
/// database) the client's own if well formed, so a client that replaces its bookmark with each
/// answer's never loses it.
pub fn answer<'a>(session: Option<&'a str>, header: Option<&'a str>) -> Option<&'a str> {
    session.or(match parse(header) {
        Sent::Bookmark(b) => Some(b),
        Sent::Nothing | Sent::Malformed => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::routes::{match_route, Match, ROUTES};

    const REAL: &str = "00000001-00000002-00004e2f-0a83ea2fceebc654de0640c422be4653";

    fn route(method: &str, path: &str) -> &'static RouteDef {
        match match_route(method, path) {
            Match::Found { route, .. } => route,
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn bookmarks_as_d1_writes_them_are_taken() {
        assert_eq!(parse(Some(REAL)), Sent::Bookmark(REAL));
        assert_eq!(parse(Some(&format!(" {REAL} "))), Sent::Bookmark(REAL));
        assert_eq!(parse(Some("0")), Sent::Bookmark("0"));
        assert_eq!(parse(None), Sent::Nothing);
        assert_eq!(parse(Some("")), Sent::Nothing);
        assert_eq!(parse(Some("  ")), Sent::Nothing);
    }

    #[test]
    fn anything_else_is_malformed() {
        let long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "first-primary",
            "first-unconstrained",
            "0000-",
            "-0000",
            "00--00",
            "0A83EA2F",
            "zz",
            "0000 0000",
            "00000001-00000002;drop table users",
            long.as_str(),
        ] {
            assert_eq!(parse(Some(bad)), Sent::Malformed, "{bad}");
        }
        assert_eq!(
            parse(Some(&"a".repeat(MAX_LEN))),
            Sent::Bookmark(&"a".repeat(MAX_LEN)[..])
        );
    }

    #[test]
    fn reads_start_anywhere_or_after_the_clients_bookmark() {
        let list = route("GET", "/v1/scores");
        assert_eq!(start(list, None), Start::Anywhere);
        assert_eq!(start(list, Some("")), Start::Anywhere);
        assert_eq!(start(list, Some(REAL)), Start::After(REAL.to_owned()));
        assert_eq!(start(route("HEAD", "/health"), None), Start::Anywhere);
        assert_eq!(Start::After(REAL.to_owned()).constraint(), REAL);
        assert_eq!(Start::Anywhere.constraint(), "first-unconstrained");
    }

    #[test]
    fn a_malformed_bookmark_is_ignored_and_the_read_goes_to_the_primary() {
        let list = route("GET", "/v1/scores");
        assert_eq!(start(list, Some("first-unconstrained")), Start::Primary);
        assert_eq!(start(list, Some("not a bookmark")), Start::Primary);
        assert_eq!(Start::Primary.constraint(), "first-primary");
    }

    #[test]
    fn writes_start_on_the_primary_whatever_the_client_sent() {
        for (method, path) in [
            ("POST", "/v1/scores"),
            ("PATCH", "/v1/scores/sco_1"),
            ("DELETE", "/v1/scores/sco_1"),
            ("PUT", "/v1/blobs/t"),
            ("POST", "/v1/auth/login"),
            ("GET", "/v1/scores/sco_1/download-url"),
            ("GET", "/v1/shared/t/items/i/download-url"),
            ("GET", "/v1/live/t"),
        ] {
            let r = route(method, path);
            assert_eq!(start(r, Some(REAL)), Start::Primary, "{method} {path}");
            assert_eq!(start(r, None), Start::Primary, "{method} {path}");
        }
    }

    /// A new `GET` must be placed on purpose: this list changes with it.
    #[test]
    fn the_gets_that_write_are_exactly_these() {
        let writing: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.method == "GET" && writes(r))
            .map(|r| r.template)
            .collect();
        assert_eq!(
            writing,
            vec![
                "/v1/scores/{id}/download-url",
                "/v1/scores/{id}/parts/{part_id}/download-url",
                "/v1/bookmarks/{id}/download-url",
                "/v1/setlists/{id}/items/{item_id}/download-url",
                "/v1/shared/{token}/items/{item_id}/download-url",
                "/v1/live/{ticket}",
            ]
        );
    }

    #[test]
    fn an_answer_carries_the_sessions_bookmark_else_the_clients() {
        assert_eq!(
            answer(Some("0000-0002"), Some("0000-0001")),
            Some("0000-0002")
        );
        assert_eq!(answer(None, Some("0000-0001")), Some("0000-0001"));
        assert_eq!(answer(None, Some("junk!")), None);
        assert_eq!(answer(None, None), None);
    }
}
