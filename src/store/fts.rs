//! Full-text search scoped to one user (decision 110), shared by scores and bookmarks.
//!
//! The FTS5 tables (`scores_fts`, `bookmarks_fts`, migration 0018) index every word of a row
//! glued to its owner's key (`k` + the hex of the user id's last 8 characters), so a user's
//! words are a range of the term dictionary that no other user's rows share: a word-prefix
//! query reads only the searching user's entries, however big the other libraries are. Prefix
//! indexes serve word prefixes of up to [`PREFIX_CHARS`] characters as single doclists.
//!
//! A page is then read one of three ways, chosen inside the one statement by how many of the
//! user's rows match (counted up to a cap): few hits are sorted directly; more are a list the
//! ordering index is filtered by; very many (a word in most titles) are checked row by row along
//! the ordering index, which stops after one page. Each way reads a bounded amount for every
//! library size except the middle one, whose cost is bounded by [`MANY_HITS`].

/// Word prefixes of up to this many characters are one prefix-index lookup each
/// (`prefix='18 … 25'` in migration 0018: the key is 17 characters).
pub const PREFIX_CHARS: usize = 8;

/// Up to this many matching rows, the page is sorted from the hits themselves; with more, walking
/// the ordering's index until a page has matched is cheaper (for 1 063 hits among 100 000 rows:
/// 1.3 ms sorted, 0.3 ms walked).
pub const FEW_HITS: i64 = 500;

/// Beyond this many matching rows (when every term is a served prefix), the ordering index is
/// walked and each row checked in the index; below it, the hits are a list it is filtered by.
pub const MANY_HITS: i64 = 10_000;

/// The SQL of a row's key, given its `user_id` column (migration 0018 writes the same).
pub const KEY_SQL: &str = "'k' || hex(substr(user_id, -8))";

/// The owner's key glued to each indexed word: `k` and the hex of the UTF-8 bytes of the user
/// id's last 8 characters, as [`KEY_SQL`] computes it.
pub fn key(user_id: &str) -> String {
    let from = user_id.char_indices().rev().nth(7).map_or(0, |(at, _)| at);
    let mut k = String::with_capacity(17);
    k.push('k');
    for b in user_id[from..].bytes() {
        k.push_str(&format!("{b:02X}"));
    }
    k
}

/// Whether a character belongs to a search word: letters and digits, and the combining marks
/// the index keeps inside a word (its tokenizer folds the diacritics away), but not the
/// circled letters Unicode calls alphabetic symbols (the tokenizer separates them).
fn word_char(c: char) -> bool {
    let mark = matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}');
    let symbol = matches!(c, '\u{24B6}'..='\u{24E9}' | '\u{1F130}'..='\u{1F189}');
    (c.is_alphanumeric() || mark) && !symbol
}

/// Splits free text into search terms (at most `max`): words only, so nothing reaches FTS5
/// syntax; a term needs a letter or digit.
pub fn terms(query: &str, max: usize) -> Vec<String> {
    query
        .split(|c: char| !word_char(c))
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .take(max)
        .map(str::to_lowercase)
        .collect()
}

/// The MATCH expression of `terms` (each a word prefix, all required) in `user_id`'s part of
/// the index.
pub fn matcher(user_id: &str, terms: &[String]) -> String {
    let key = key(user_id);
    terms
        .iter()
        .map(|t| format!("\"{key}{t}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether every term is read from a prefix index (checking one row costs a seek, not a
/// merge of every word the prefix starts).
fn all_served(terms: &[String]) -> bool {
    terms.iter().all(|t| t.chars().count() <= PREFIX_CHARS)
}

/// A page of a search: which rows, filtered and ordered how.
pub struct Search<'a> {
    /// The FTS5 table (`scores_fts`).
    pub fts: &'static str,
    /// The tables of the rows, joined (`scores s`).
    pub from: &'a str,
    /// The column the FTS rowid is (`s.seq`).
    pub seq: &'static str,
    /// Every condition but the text match, `and`-ed.
    pub clauses: &'a [String],
    /// The `order by` terms.
    pub order: &'a str,
    /// The terms (not empty).
    pub terms: &'a [String],
}

impl Search<'_> {
    /// `with hits(n) as …, page(seq) as …`: the `seq` of the page's rows (at most `limit`, a
    /// parameter), for a statement that then reads them (`from page p`) in `order`. `m` is the
    /// parameter holding [`matcher`]'s expression.
    pub fn page_cte(&self, m: &str, limit: &str) -> String {
        let Search {
            fts,
            from,
            seq,
            order,
            ..
        } = self;
        let served = all_served(self.terms);
        let cap = if served { MANY_HITS } else { FEW_HITS };
        let filter = if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" and {}", self.clauses.join(" and "))
        };
        let branch = |source: &str, condition: &str, when: &str| {
            format!(
                "select * from (select {seq} from {source} where {condition}{filter} order by {order} \
                 limit case when {when} then {limit} else 0 end)"
            )
        };
        // Few: from the hits (the FTS table first), sorted. CROSS JOIN keeps that order.
        let mut branches = vec![branch(
            &format!("(select rowid as hit from {fts} where {fts} match {m}) f cross join {from}"),
            &format!("{seq} = f.hit"),
            &format!("(select n from hits) <= {FEW_HITS}"),
        )];
        // More: along the ordering's index, each row looked up in the list of hits (`+` keeps
        // the list from driving the loop).
        let more = if served {
            format!(
                "(select n from hits) between {} and {MANY_HITS}",
                FEW_HITS + 1
            )
        } else {
            format!("(select n from hits) > {FEW_HITS}")
        };
        branches.push(branch(
            from,
            &format!("+{seq} in (select rowid from {fts} where {fts} match {m})"),
            &more,
        ));
        if served {
            // Very many: the same walk, each row checked by a seek in the index; the walk stops
            // after one page, long before the list could be built.
            branches.push(branch(
                from,
                &format!("exists (select 1 from {fts} where {fts} match {m} and rowid = {seq})"),
                &format!("(select n from hits) > {MANY_HITS}"),
            ));
        }
        format!(
            "with hits(n) as materialized (select count(*) from (select 1 from {fts} where {fts} match {m} limit {})), \
             page(seq) as ({})",
            cap + 1,
            branches.join(" union all ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_hex_of_the_last_eight_characters() {
        assert_eq!(key("usr_0123456789abcdef"), "k3839616263646566");
        assert_eq!(key("usr_1"), "k7573725F31");
        assert_eq!(key("ü"), "kC3BC");
    }

    #[test]
    fn terms_are_words_with_their_combining_marks() {
        assert_eq!(
            terms("\"a\" OR b* NEAR(c) -d ^e", 10),
            vec!["a", "or", "b", "near", "c", "d", "e"]
        );
        assert_eq!(
            terms("E\u{301}tude \u{301} ⓐb", 10),
            vec!["e\u{301}tude", "b"]
        );
        assert_eq!(terms(&"word ".repeat(50), 10).len(), 10);
    }

    #[test]
    fn each_term_is_a_prefix_under_the_owner_key() {
        let m = matcher("usr_1", &["dvořák".into(), "no".into()]);
        assert_eq!(m, "\"k7573725F31dvořák\"* \"k7573725F31no\"*");
    }

    #[test]
    fn long_terms_never_take_the_row_by_row_way() {
        let clauses = vec!["s.user_id = ?1".to_owned()];
        let search = |terms: &[String]| {
            Search {
                fts: "scores_fts",
                from: "scores s",
                seq: "s.seq",
                clauses: &clauses,
                order: "s.updated_at desc",
                terms,
            }
            .page_cte("?2", "?3")
        };
        let short = search(&["no".into(), "octaves8".into()]);
        assert!(
            short.contains("rowid = s.seq") && short.contains("limit 10001"),
            "{short}"
        );
        let long = search(&["no".into(), "nocturnes".into()]);
        assert!(
            !long.contains("rowid = s.seq") && long.contains("limit 501"),
            "{long}"
        );
    }
}
