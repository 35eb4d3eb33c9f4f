//! Songbook bookmarks (SPEC §10): a bookmark's fields and page range, parsed into values that
//! are valid, and the forScore/MobileSheets-style CSV index (`title,first_page,last_page
//! [,composer[,key]]`), read by an RFC 4180 parser that keeps every valid line and reports each
//! bad one with its physical line number.

use crate::domain::fields::Fields;
use crate::domain::score::{self, opt_text, TEXT_MAX_CHARS, TITLE_MAX_CHARS};

/// Most bookmarks one songbook holds.
pub const PER_SCORE_MAX: usize = 5_000;
/// Largest CSV index one import takes (bytes of the `csv` text).
pub const CSV_MAX_BYTES: usize = 1024 * 1024;
/// Most lines of one CSV index.
pub const CSV_MAX_LINES: usize = 5_000;
/// Fields a CSV line may have: title, first page, last page, composer, key.
pub const CSV_MAX_FIELDS: usize = 5;
/// Most bookmarks a page of `GET /v1/bookmarks` may ask for.
pub const LIST_LIMIT_MAX: i64 = 100;
/// Longest `score_id` filter of `GET /v1/bookmarks` (ids are far shorter: anything longer
/// names nothing).
pub const SCORE_FILTER_MAX_CHARS: usize = 64;
/// The largest page number accepted before the songbook's page count is known.
pub const PAGE_MAX: i64 = 100_000;

/// Fields of `POST /v1/scores/{id}/bookmarks` and `PATCH /v1/bookmarks/{id}`.
pub const BOOKMARK_FIELDS: &[&str] = &[
    "title",
    "first_page",
    "last_page",
    "composer",
    "key",
    "tags",
];

/// Editable bookmark fields. On create, absent means empty; on PATCH, absent keeps and `null`
/// clears (the optional text fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookmarkFields {
    pub title: Option<String>,
    pub first_page: Option<i64>,
    pub last_page: Option<i64>,
    pub composer: Option<Option<String>>,
    pub key: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
}

impl BookmarkFields {
    /// Reads the fields; `create` requires the title and both pages.
    pub fn parse(f: &mut Fields, create: bool) -> Self {
        let title = if create || f.present("title") {
            let raw = f.string("title");
            f.parse("title", raw, |s| score::text(s, TITLE_MAX_CHARS))
        } else {
            None
        };
        let first_page = page(f, "first_page", create);
        let last_page = page(f, "last_page", create);
        let composer = opt_text(f, "composer", TEXT_MAX_CHARS);
        let key = opt_text(f, "key", TEXT_MAX_CHARS);
        let tags = score::tags(f);
        Self {
            title,
            first_page,
            last_page,
            composer,
            key,
            tags,
        }
    }
}

fn page(f: &mut Fields, name: &str, required: bool) -> Option<i64> {
    if !required && !f.present(name) {
        return None;
    }
    match f.int(name) {
        Some(n) if (1..=PAGE_MAX).contains(&n) => Some(n),
        Some(_) => {
            f.error(name, format!("must be a page number from 1 to {PAGE_MAX}"));
            None
        }
        None => None,
    }
}

/// A page range against the songbook: `1 ≤ first ≤ last`, and `last` within the page count
/// once the songbook's `pdf_info` has told it (accepted otherwise).
///
/// # Errors
/// The field and its message for a 422.
pub fn check_pages(
    first: i64,
    last: i64,
    page_count: Option<i64>,
) -> Result<(), (&'static str, String)> {
    if first < 1 {
        return Err(("first_page", "must be 1 or more".into()));
    }
    if last < first {
        return Err(("last_page", "must not be before first_page".into()));
    }
    match page_count {
        Some(pages) if first > pages => {
            Err(("first_page", format!("the songbook has {pages} pages")))
        }
        Some(pages) if last > pages => {
            Err(("last_page", format!("the songbook has {pages} pages")))
        }
        _ => Ok(()),
    }
}

/// One valid line of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// 1-based physical line the record starts on.
    pub line: usize,
    pub title: String,
    pub first_page: i64,
    pub last_page: i64,
    pub composer: Option<String>,
    pub key: Option<String>,
}

/// A line that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// An index read: its valid entries in order and its bad lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    pub entries: Vec<IndexEntry>,
    pub errors: Vec<LineError>,
}

/// The CSV text as a whole is refused (422 on `csv`).
///
/// # Errors
/// Over [`CSV_MAX_BYTES`] or [`CSV_MAX_LINES`].
pub fn check_csv_size(csv: &str) -> Result<(), String> {
    if csv.len() > CSV_MAX_BYTES {
        return Err(format!("must be at most {CSV_MAX_BYTES} bytes"));
    }
    if csv.lines().count() > CSV_MAX_LINES {
        return Err(format!("must be at most {CSV_MAX_LINES} lines"));
    }
    Ok(())
}

/// One CSV record: its fields and the physical line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    line: usize,
    fields: Vec<String>,
    /// A quote opened and never closed (the record runs to the end of the text).
    unterminated: bool,
}

/// Splits CSV text into records (RFC 4180): fields separated by commas, records by CRLF or LF;
/// a field in double quotes may hold commas, line breaks and `""` (one quote). A byte-order mark
/// at the start is dropped; blank lines make no record.
fn records(text: &str) -> Vec<Record> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut unterminated = false;
        // Whether the field so far came from quotes (text after the closing quote is kept).
        loop {
            let Some(c) = chars.next() else {
                unterminated = quoted;
                break;
            };
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\r' if chars.peek() == Some(&'\n') => {
                        chars.next();
                        line += 1;
                        field.push('\n');
                    }
                    '\n' | '\r' => {
                        line += 1;
                        field.push('\n');
                    }
                    other => field.push(other),
                }
                continue;
            }
            match c {
                '"' if field.trim().is_empty() => {
                    field.clear();
                    quoted = true;
                }
                ',' => fields.push(std::mem::take(&mut field)),
                '\r' | '\n' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line += 1;
                    break;
                }
                other => field.push(other),
            }
        }
        fields.push(field);
        let blank = fields.len() == 1 && fields[0].trim().is_empty() && !unterminated;
        if !blank {
            out.push(Record {
                line: start,
                fields,
                unterminated,
            });
        }
    }
    out
}

/// Words a header's first column may be.
const HEADER_TITLES: &[&str] = &["title", "name", "song", "piece", "titel", "titre"];

/// Whether the first record is a header: its first field names the title column and neither
/// page column holds a number.
fn is_header(r: &Record) -> bool {
    let first = r.fields[0].trim().to_lowercase();
    let not_number = |i: usize| {
        r.fields
            .get(i)
            .is_none_or(|f| f.trim().parse::<i64>().is_err())
    };
    HEADER_TITLES.contains(&first.as_str()) && not_number(1) && not_number(2)
}

/// An optional text column: blank is absent.
fn column(r: &Record, i: usize, name: &str) -> Result<Option<String>, String> {
    match r.fields.get(i).map(|f| f.trim()) {
        None | Some("") => Ok(None),
        Some(v) => score::text(v, TEXT_MAX_CHARS)
            .map(Some)
            .map_err(|m| format!("{name} {m}")),
    }
}

fn page_column(r: &Record, i: usize, name: &str) -> Result<i64, String> {
    let raw = r.fields.get(i).map_or("", |f| f.trim());
    if raw.is_empty() {
        return Err(format!("{name} is missing"));
    }
    match raw.parse::<i64>() {
        Ok(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        _ => Err(format!(
            "{name} must be a page number from 1 to {PAGE_MAX}, not {raw:?}"
        )),
    }
}

fn entry(r: &Record, page_count: Option<i64>) -> Result<IndexEntry, String> {
    if r.unterminated {
        return Err("a quoted field is never closed".into());
    }
    if r.fields.len() < 3 {
        return Err("needs at least title, first page and last page".into());
    }
    if r.fields.len() > CSV_MAX_FIELDS {
        return Err(format!(
            "has {} fields; at most {CSV_MAX_FIELDS} (title, first page, last page, composer, key)",
            r.fields.len()
        ));
    }
    let title = score::text(&r.fields[0], TITLE_MAX_CHARS).map_err(|m| format!("title {m}"))?;
    let first_page = page_column(r, 1, "first page")?;
    let last_page = page_column(r, 2, "last page")?;
    check_pages(first_page, last_page, page_count)
        .map_err(|(field, m)| format!("{}: {m}", field.replace('_', " ")))?;
    Ok(IndexEntry {
        line: r.line,
        title,
        first_page,
        last_page,
        composer: column(r, 3, "composer")?,
        key: column(r, 4, "key")?,
    })
}

/// Reads an index: every valid line becomes an entry, every bad one an error naming its
/// physical line (1-based; a record with a quoted line break is named by its first line). A
/// header line is skipped when present; blank lines are skipped. Pages are checked against
/// `page_count` when the songbook's is known.
pub fn parse_index(text: &str, page_count: Option<i64>) -> Index {
    let mut index = Index::default();
    let all = records(text);
    let skip = usize::from(all.first().is_some_and(is_header));
    for r in &all[skip..] {
        match entry(r, page_count) {
            Ok(e) => index.entries.push(e),
            Err(message) => index.errors.push(LineError {
                line: r.line,
                message,
            }),
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn titles(index: &Index) -> Vec<&str> {
        index.entries.iter().map(|e| e.title.as_str()).collect()
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_breaks() {
        let csv = "\"Hello, Dolly\",1,2\n\"Say \"\"Cheese\"\"\",3,3,\"Bernstein, L.\"\n\"Two\nlines\",4,5,,Eb\nAfter,6,6\n";
        let index = parse_index(csv, None);
        assert_eq!(index.errors, vec![]);
        assert_eq!(
            titles(&index),
            ["Hello, Dolly", "Say \"Cheese\"", "Two\nlines", "After"]
        );
        assert_eq!(index.entries[1].composer.as_deref(), Some("Bernstein, L."));
        assert_eq!(index.entries[2].key.as_deref(), Some("Eb"));
        assert_eq!(index.entries[2].composer, None);
        // The record with a line break starts on line 3; the next one is on line 5.
        assert_eq!(index.entries[2].line, 3);
        assert_eq!(index.entries[3].line, 5);
    }

    #[test]
    fn a_bom_crlf_a_header_and_blank_lines_are_taken_in_stride() {
        let csv = "\u{feff}Title,First page,Last page,Composer,Key\r\n\r\nAutumn Leaves,10,11,Kosma,Gm\r\n  \r\nBlue Bossa,12,12\r\n";
        let index = parse_index(csv, None);
        assert_eq!(index.errors, vec![]);
        assert_eq!(titles(&index), ["Autumn Leaves", "Blue Bossa"]);
        assert_eq!(index.entries[0].line, 3);
        assert_eq!(index.entries[1].line, 5);
        assert_eq!(index.entries[0].key.as_deref(), Some("Gm"));
    }

    #[test]
    fn bad_lines_are_reported_with_their_line_and_valid_ones_kept() {
        let csv = "Good,1,2\nNo pages\n,3,4\nBackwards,9,3\nWords,one,two\nToo many,1,1,c,k,extra\nPast the end,40,41\nLast,5,6\n\"Open,7,8\n";
        let index = parse_index(csv, Some(30));
        assert_eq!(titles(&index), ["Good", "Last"]);
        let lines: Vec<usize> = index.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7, 9]);
        assert!(
            index.errors[0].message.contains("at least"),
            "{:?}",
            index.errors
        );
        assert!(index.errors[1].message.starts_with("title"));
        assert!(index.errors[2].message.contains("before"));
        assert!(index.errors[3].message.contains("\"one\""));
        assert!(index.errors[4].message.contains("at most 5"));
        assert!(index.errors[5].message.contains("30 pages"));
        assert!(index.errors[6].message.contains("never closed"));
    }

    #[test]
    fn a_first_line_is_a_header_only_when_it_names_the_columns() {
        assert_eq!(
            parse_index("Name,Start,End\nA,1,1\n", None).entries.len(),
            1
        );
        let data_first = parse_index("Title,1,2\nB,3,3", None);
        assert_eq!(titles(&data_first), ["Title", "B"]);
        let bad_first = parse_index("Intro,x,y\nB,3,3", None);
        assert_eq!(bad_first.errors.len(), 1);
        assert_eq!(bad_first.errors[0].line, 1);
    }

    #[test]
    fn two_thousand_lines_parse_in_one_go() {
        let mut csv = String::from("title,first_page,last_page,composer,key\n");
        for i in 0..2_000 {
            csv.push_str(&format!(
                "\"Tune {i}, part {}\",{},{},Comp {i},C\r\n",
                i % 3,
                i + 1,
                i + 2
            ));
        }
        assert!(check_csv_size(&csv).is_ok());
        let index = parse_index(&csv, Some(2_001));
        assert_eq!(index.errors, vec![]);
        assert_eq!(index.entries.len(), 2_000);
        assert_eq!(index.entries[1_999].line, 2_001);
        assert_eq!(index.entries[1_999].title, "Tune 1999, part 1");
    }

    #[test]
    fn an_index_over_the_limits_is_refused_whole() {
        assert!(check_csv_size(&"a,1,1\n".repeat(CSV_MAX_LINES + 1)).is_err());
        assert!(check_csv_size(&"x".repeat(CSV_MAX_BYTES + 1)).is_err());
        assert!(check_csv_size("").is_ok());
        assert_eq!(parse_index("", None), Index::default());
        assert_eq!(parse_index("\u{feff}", None), Index::default());
    }

    #[test]
    fn page_ranges_are_checked_against_the_known_page_count() {
        assert!(check_pages(1, 1, None).is_ok());
        assert!(check_pages(3, 900, None).is_ok());
        assert_eq!(check_pages(5, 4, None).unwrap_err().0, "last_page");
        assert_eq!(check_pages(0, 4, None).unwrap_err().0, "first_page");
        assert_eq!(check_pages(2, 11, Some(10)).unwrap_err().0, "last_page");
        assert_eq!(check_pages(11, 12, Some(10)).unwrap_err().0, "first_page");
        assert!(check_pages(10, 10, Some(10)).is_ok());
    }

    #[test]
    fn bookmark_fields_require_a_title_and_pages_on_create_only() {
        let mut f = Fields::new(
            json!({"title": " ", "first_page": 0, "last_page": "2", "tags": ["A", "a"]})
                .as_object()
                .cloned()
                .unwrap(),
            BOOKMARK_FIELDS,
        );
        let b = BookmarkFields::parse(&mut f, true);
        assert_eq!(b.tags, Some(vec!["a".to_owned()]));
        let Err(crate::error::ApiError::Validation(e)) = f.finish() else {
            panic!()
        };
        assert_eq!(
            e.keys().map(String::as_str).collect::<Vec<_>>(),
            ["first_page", "last_page", "title"]
        );
        let mut f = Fields::new(
            json!({"composer": null}).as_object().cloned().unwrap(),
            BOOKMARK_FIELDS,
        );
        let b = BookmarkFields::parse(&mut f, false);
        assert!(f.finish().is_ok());
        assert_eq!(b.composer, Some(None));
        assert_eq!((b.title, b.first_page), (None, None));
    }
}
