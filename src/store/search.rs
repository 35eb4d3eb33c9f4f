//! `GET /v1/scores`: query-string parsing, SQL building and cursors.
//!
//! Text search uses FTS5 (`scores_fts`, unicode61 with diacritics folded), so long queries never
//! hit D1's 50-byte LIKE pattern limit, scoped to the user's own index entries ([`super::fts`]).
//! Pagination is keyset on `(ordering expression, id)`, with
//! an opaque signed cursor bound to the ordering and filters: rows inserted or updated between
//! pages never cause duplicates or gaps among the rest.

use serde_json::Value;

use super::fts::{self, Search};
use super::paging::{self, Pager};
use super::SqlValue;
use crate::domain::score;
use crate::error::{ApiError, FieldErrors};
use crate::storage::signed::SigningKey;

pub const MAX_LIMIT: i64 = 100;
pub const MAX_TAG_FILTERS: usize = 10;
pub const MAX_QUERY_CHARS: usize = 200;
pub const MAX_QUERY_TERMS: usize = 10;

/// A whitelisted ordering field: its SQL expression and whether it sorts as text.
struct OrderField {
    name: &'static str,
    expr: &'static str,
    text: bool,
}

const ORDER_FIELDS: &[OrderField] = &[
    OrderField {
        name: "updated_at",
        expr: "s.updated_at",
        text: true,
    },
    OrderField {
        name: "created_at",
        expr: "s.created_at",
        text: true,
    },
    OrderField {
        name: "title",
        expr: "s.title collate nocase",
        text: true,
    },
    OrderField {
        name: "composer",
        expr: "coalesce(s.composer, '') collate nocase",
        text: true,
    },
    OrderField {
        name: "rating",
        expr: "coalesce(s.rating, 0)",
        text: false,
    },
    OrderField {
        name: "difficulty",
        expr: "coalesce(s.difficulty, 0)",
        text: false,
    },
    OrderField {
        name: "duration",
        expr: "coalesce(s.duration, 0)",
        text: false,
    },
    OrderField {
        name: "size_bytes",
        expr: "s.size_bytes",
        text: false,
    },
    OrderField {
        name: "pages",
        expr: "coalesce(s.pages, 0)",
        text: false,
    },
];

/// The names accepted by `ordering` (each also with a leading `-`).
pub fn ordering_names() -> Vec<&'static str> {
    ORDER_FIELDS.iter().map(|f| f.name).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordering {
    field: usize,
    pub descending: bool,
}

impl Ordering {
    fn parse(raw: &str) -> Option<Self> {
        let (descending, name) = raw.strip_prefix('-').map_or((false, raw), |n| (true, n));
        ORDER_FIELDS
            .iter()
            .position(|f| f.name == name)
            .map(|field| Self { field, descending })
    }

    fn spec(self) -> &'static OrderField {
        &ORDER_FIELDS[self.field]
    }

    pub fn as_string(self) -> String {
        format!(
            "{}{}",
            if self.descending { "-" } else { "" },
            self.spec().name
        )
    }
}

/// Where the previous page ended: the last row's ordering value and id.
pub type Position = (Value, String);

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub terms: Vec<String>,
    pub tags: Vec<String>,
    pub composer: Option<String>,
    pub instrumentation: Option<String>,
    /// A preset id (built-in or the user's): an instrumentation preset matches the score's
    /// instrumentation, a genre the tag of the same name. Another user's preset matches nothing.
    pub preset: Option<String>,
    pub ordering: Ordering,
    pub limit: i64,
    pub after: Option<Position>,
}

const PARAMS: &[&str] = &[
    "query",
    "tag",
    "composer",
    "instrumentation",
    "preset",
    "ordering",
    "limit",
    "cursor",
];

/// Splits free text into at most [`MAX_QUERY_TERMS`] search terms ([`fts::terms`]).
pub fn terms(query: &str) -> Vec<String> {
    fts::terms(query, MAX_QUERY_TERMS)
}

impl ListQuery {
    /// Parses decoded query-string pairs.
    ///
    /// # Errors
    /// 422 naming each bad parameter (unknown names, bad ordering, limit or cursor).
    pub fn parse(pairs: &[(String, String)], cursor_key: &SigningKey) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::new();
        let mut q = Self {
            terms: Vec::new(),
            tags: Vec::new(),
            composer: None,
            instrumentation: None,
            preset: None,
            ordering: Ordering {
                field: 0,
                descending: true,
            },
            limit: paging::DEFAULT_LIMIT,
            after: None,
        };
        let mut cursor = None;
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in pairs {
            let Some(name) = PARAMS.iter().find(|p| **p == k.as_str()) else {
                errors.insert(k.clone(), "unknown parameter".into());
                continue;
            };
            if *name != "tag" && seen.contains(name) {
                errors.insert(k.clone(), "must be given once".into());
                continue;
            }
            seen.push(name);
            match *name {
                "query" if v.chars().count() > MAX_QUERY_CHARS => {
                    errors.insert(
                        k.clone(),
                        format!("must be at most {MAX_QUERY_CHARS} characters"),
                    );
                }
                "query" => q.terms = terms(v),
                "tag" => match score::tag(v) {
                    Ok(t) if !q.tags.contains(&t) => q.tags.push(t),
                    Ok(_) => {}
                    Err(message) => {
                        errors.insert("tag".into(), message);
                    }
                },
                "preset" => match score::text(v, crate::domain::preset::NAME_MAX_CHARS) {
                    Ok(t) => q.preset = Some(t),
                    Err(message) => {
                        errors.insert(k.clone(), message);
                    }
                },
                "composer" | "instrumentation" => match score::text(v, score::TEXT_MAX_CHARS) {
                    Ok(t) if *name == "composer" => q.composer = Some(t),
                    Ok(t) => q.instrumentation = Some(t),
                    Err(message) => {
                        errors.insert(k.clone(), message);
                    }
                },
                "ordering" => match Ordering::parse(v) {
                    Some(o) => q.ordering = o,
                    None => {
                        errors.insert(
                            k.clone(),
                            format!(
                                "must be one of {} (prefix - for descending)",
                                ordering_names().join(", ")
                            ),
                        );
                    }
                },
                "limit" => match paging::limit(v, MAX_LIMIT) {
                    Ok(n) => q.limit = n,
                    Err(message) => {
                        errors.insert(k.clone(), message);
                    }
                },
                _ => cursor = Some(v.clone()),
            }
        }
        // Counted as given, repeats included (the document's `maxItems`).
        if pairs.iter().filter(|(k, _)| k == "tag").count() > MAX_TAG_FILTERS {
            errors.insert("tag".into(), format!("at most {MAX_TAG_FILTERS} tags"));
        }
        if let (Some(raw), true) = (cursor, errors.is_empty()) {
            match q.pager(cursor_key).position(&raw) {
                Ok(p) => q.after = Some(p),
                Err(message) => {
                    errors.insert("cursor".into(), message);
                }
            }
        }
        if errors.is_empty() {
            Ok(q)
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// The paging of this query: its cursors are bound to the ordering and every filter.
    pub fn pager<'k>(&self, key: &'k SigningKey) -> Pager<'k> {
        let scope = format!(
            "{}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.ordering.as_string(),
            self.terms,
            self.tags,
            self.composer,
            self.instrumentation,
            self.preset
        );
        Pager::new(key, "scores", &scope, self.limit)
    }

    /// The position of a row whose ordering value (the `sort_key` column that
    /// [`ListQuery::sql`] selects) and id are given.
    pub fn position(&self, sort_key: Option<&Value>, id: &str) -> Position {
        // Nullable fields sort as their coalesced value; `sort_key` is that value already.
        let v = match (sort_key.unwrap_or(&Value::Null), self.ordering.spec().text) {
            (Value::Null, true) => Value::String(String::new()),
            (Value::Null, false) => Value::from(0),
            (v, _) => v.clone(),
        };
        (v, id.to_owned())
    }

    /// `select …` of one page plus one row (to know whether another page follows), with the
    /// ordering value as `sort_key`. `columns` is the score column list; `?1` is the user id.
    /// With `session`, rows come back only while that session of the user is live and the
    /// account enabled, so one statement both authenticates and reads.
    pub fn sql(
        &self,
        columns: &str,
        user_id: &str,
        session: Option<&str>,
    ) -> (String, Vec<SqlValue>) {
        let mut params = vec![SqlValue::Text(user_id.to_owned())];
        let mut bind = |v: SqlValue| {
            params.push(v);
            format!("?{}", params.len())
        };
        let mut clauses = vec!["s.user_id = ?1 and s.trashed_at is null".to_owned()];
        if let Some(sid) = session {
            let p = bind(SqlValue::Text(sid.to_owned()));
            clauses.push(format!(
                "exists (select 1 from sessions ses join users u on u.id = ses.user_id \
                 where ses.id = {p} and ses.user_id = ?1 and ses.revoked_at is null and u.disabled_at is null)"
            ));
        }
        let matcher = (!self.terms.is_empty())
            .then(|| bind(SqlValue::Text(fts::matcher(user_id, &self.terms))));
        for tag in &self.tags {
            let p = bind(SqlValue::Text(tag.clone()));
            clauses.push(format!(
                "exists (select 1 from score_tags t where t.score_id = s.id and t.tag = {p})"
            ));
        }
        if let Some(c) = &self.composer {
            let p = bind(SqlValue::Text(c.clone()));
            clauses.push(format!("s.composer = {p} collate nocase"));
        }
        if let Some(i) = &self.instrumentation {
            let p = bind(SqlValue::Text(i.clone()));
            clauses.push(format!("s.instrumentation = {p} collate nocase"));
        }
        if let Some(preset) = &self.preset {
            let p = bind(SqlValue::Text(preset.clone()));
            clauses.push(format!(
                "exists (select 1 from presets p where p.id = {p} \
                 and (p.user_id is null or p.user_id = ?1) \
                 and case p.kind when 'instrumentation' then s.instrumentation = p.name collate nocase \
                 else exists (select 1 from score_tags t where t.score_id = s.id and t.tag = lower(p.name)) end)"
            ));
        }
        let spec = self.ordering.spec();
        let (cmp, dir) = if self.ordering.descending {
            ("<", "desc")
        } else {
            (">", "asc")
        };
        if let Some((after_v, after_id)) = &self.after {
            let v = match after_v {
                Value::Number(n) => SqlValue::Int(n.as_i64().unwrap_or(0)),
                other => SqlValue::Text(other.as_str().unwrap_or_default().to_owned()),
            };
            let pv = bind(v);
            let pid = bind(SqlValue::Text(after_id.clone()));
            clauses.push(format!(
                "({expr} {cmp} {pv} or ({expr} = {pv} and s.id {cmp} {pid}))",
                expr = spec.expr
            ));
        }
        let limit = bind(SqlValue::Int(self.limit + 1));
        let order = format!("{expr} {dir}, s.id {dir}", expr = spec.expr);
        let sql = match matcher {
            None => format!(
                "select {columns}, {expr} as sort_key from scores s where {} order by {order} limit {limit}",
                clauses.join(" and "),
                expr = spec.expr
            ),
            Some(m) => {
                let page = Search {
                    fts: "scores_fts",
                    from: "scores s",
                    seq: "s.seq",
                    clauses: &clauses,
                    order: &order,
                    terms: &self.terms,
                }
                .page_cte(&m, &limit);
                format!(
                    "{page} select {columns}, {expr} as sort_key from page p cross join scores s on s.seq = p.seq order by {order}",
                    expr = spec.expr
                )
            }
        };
        (sql, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::derive(b"secret", paging::CURSOR_PURPOSE)
    }

    fn next_cursor(q: &ListQuery, sort_key: &Value, id: &str) -> String {
        q.pager(&key()).cursor(q.position(Some(sort_key), id))
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<ListQuery, ApiError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        ListQuery::parse(&pairs, &key())
    }

    fn field_errors(r: Result<ListQuery, ApiError>) -> FieldErrors {
        match r {
            Err(ApiError::Validation(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_is_newest_update_first_twenty_rows() {
        let (sql, params) = parse(&[]).unwrap().sql("s.id", "usr_1", None);
        assert_eq!(
            sql,
            "select s.id, s.updated_at as sort_key from scores s where s.user_id = ?1 and s.trashed_at is null order by s.updated_at desc, s.id desc limit ?2"
        );
        assert_eq!(
            params,
            vec![SqlValue::Text("usr_1".into()), SqlValue::Int(21)]
        );
    }

    #[test]
    fn every_filter_combines_into_one_statement() {
        let q = parse(&[
            ("tag", "Gig"),
            ("tag", "romantic"),
            ("composer", "A. Dvorak"),
            ("instrumentation", "violin and piano"),
            ("ordering", "title"),
            ("limit", "5"),
        ])
        .unwrap();
        let (sql, params) = q.sql("s.id", "usr_1", None);
        assert_eq!(
            sql,
            "select s.id, s.title collate nocase as sort_key from scores s where s.user_id = ?1 and s.trashed_at is null \
             and exists (select 1 from score_tags t where t.score_id = s.id and t.tag = ?2) \
             and exists (select 1 from score_tags t where t.score_id = s.id and t.tag = ?3) \
             and s.composer = ?4 collate nocase and s.instrumentation = ?5 collate nocase \
             order by s.title collate nocase asc, s.id asc limit ?6"
        );
        assert_eq!(params[1], SqlValue::Text("gig".into()));
        assert_eq!(params[5], SqlValue::Int(6));
    }

    #[test]
    fn a_text_query_reads_the_page_from_the_users_own_index_entries() {
        let q = parse(&[
            ("query", "Dvořák: Humoresque!"),
            ("tag", "gig"),
            ("ordering", "title"),
        ])
        .unwrap();
        let (sql, params) = q.sql("s.id", "usr_1", None);
        assert_eq!(
            params[1],
            SqlValue::Text("\"k7573725F31dvořák\"* \"k7573725F31humoresque\"*".into())
        );
        assert!(sql.starts_with("with hits(n) as materialized (select count(*) from (select 1 from scores_fts where scores_fts match ?2 limit 501))"), "{sql}");
        assert!(
            sql.contains(
                "and exists (select 1 from score_tags t where t.score_id = s.id and t.tag = ?3)"
            ),
            "{sql}"
        );
        assert!(sql.ends_with(
            "select s.id, s.title collate nocase as sort_key from page p cross join scores s on s.seq = p.seq \
             order by s.title collate nocase asc, s.id asc"
        ), "{sql}");
        assert_eq!(params[3], SqlValue::Int(21));
    }

    #[test]
    fn a_session_guard_makes_the_page_depend_on_a_live_session() {
        let (sql, params) = parse(&[]).unwrap().sql("s.id", "usr_1", Some("ses_1"));
        assert!(sql.contains("exists (select 1 from sessions ses join users u on u.id = ses.user_id where ses.id = ?2 and ses.user_id = ?1 and ses.revoked_at is null and u.disabled_at is null)"), "{sql}");
        assert_eq!(params[1], SqlValue::Text("ses_1".into()));
        assert_eq!(params[2], SqlValue::Int(21));
    }

    #[test]
    fn search_terms_are_capped() {
        assert_eq!(terms(&"word ".repeat(50)).len(), MAX_QUERY_TERMS);
    }

    #[test]
    fn an_unknown_ordering_and_other_bad_parameters_are_422() {
        let e = field_errors(parse(&[
            ("ordering", "password_hash"),
            ("limit", "0"),
            ("tags", "x"),
            ("query", &"q".repeat(201)),
        ]));
        assert!(e["ordering"].contains("title"), "{e:?}");
        assert!(e.contains_key("limit") && e.contains_key("tags") && e.contains_key("query"));
        let e = field_errors(parse(&[("limit", "101")]));
        assert!(e.contains_key("limit"));
    }

    #[test]
    fn a_cursor_continues_after_the_last_row() {
        let q = parse(&[("ordering", "-updated_at")]).unwrap();
        let cursor = next_cursor(&q, &serde_json::json!("2026-01-01T00:00:00.000Z"), "sco_9");
        assert!(
            cursor
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)),
            "not URL-safe"
        );
        let q2 = parse(&[("ordering", "-updated_at"), ("cursor", &cursor)]).unwrap();
        let (sql, params) = q2.sql("s.id", "usr_1", None);
        assert!(
            sql.contains("and (s.updated_at < ?2 or (s.updated_at = ?2 and s.id < ?3))"),
            "{sql}"
        );
        assert_eq!(params[1], SqlValue::Text("2026-01-01T00:00:00.000Z".into()));
        assert_eq!(params[2], SqlValue::Text("sco_9".into()));
    }

    #[test]
    fn nullable_orderings_carry_the_coalesced_value() {
        let q = parse(&[("ordering", "rating")]).unwrap();
        let c = next_cursor(&q, &serde_json::json!(null), "sco_1");
        let q2 = parse(&[("ordering", "rating"), ("cursor", &c)]).unwrap();
        assert_eq!(q2.after.unwrap().0, Value::from(0));
    }

    #[test]
    fn a_tampered_cursor_is_refused() {
        let q = parse(&[]).unwrap();
        let cursor = next_cursor(&q, &serde_json::json!("2026"), "sco_9");
        let mut forged = cursor.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let e = field_errors(parse(&[("cursor", &String::from_utf8(forged).unwrap())]));
        assert_eq!(e["cursor"], "is not a valid cursor");
        assert!(parse(&[("cursor", "not-a-cursor")]).is_err());
    }

    #[test]
    fn a_cursor_cannot_be_replayed_against_other_filters_or_orderings() {
        let q = parse(&[("tag", "gig")]).unwrap();
        let cursor = next_cursor(&q, &serde_json::json!("2026"), "sco_9");
        assert!(parse(&[("tag", "gig"), ("cursor", &cursor)]).is_ok());
        assert!(parse(&[("tag", "exam"), ("cursor", &cursor)]).is_err());
        assert!(parse(&[("tag", "gig"), ("ordering", "title"), ("cursor", &cursor)]).is_err());
    }
}
