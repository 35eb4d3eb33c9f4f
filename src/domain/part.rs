//! Score parts (SPEC §10 "Parts"): a part's name, its source (a PDF of its own through the upload
//! flow, or a page range of the score's PDF) and the checks of a range against a page count.

use serde_json::Value;

use crate::domain::fields::Fields;

/// Longest part name (and member `part` assignment).
pub const NAME_MAX_CHARS: usize = 100;
/// Most parts one score may carry.
pub const PARTS_MAX: usize = 100;

/// A page range of the score's PDF, 1-based and inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pages {
    pub first: i64,
    pub last: i64,
}

impl Pages {
    /// How many pages the range covers.
    pub fn count(self) -> i64 {
        self.last - self.first + 1
    }

    /// The range against the score's page count, when known.
    ///
    /// # Errors
    /// A message for the `pages` field.
    pub fn within(self, pages: Option<i64>) -> Result<(), String> {
        match pages {
            Some(n) if self.last > n => Err(format!("the score has {n} pages")),
            _ => Ok(()),
        }
    }
}

/// Where a new part's pages come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A separate PDF: a reserved upload of the caller.
    Upload(String),
    /// A range of the score's own PDF.
    Pages(Pages),
}

/// A part name: trimmed, 1..=100 characters, one line. Matching is case-insensitive (the
/// database compares with `collate nocase`).
///
/// # Errors
/// A message for the field.
pub fn name(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > NAME_MAX_CHARS {
        return Err(format!("must be at most {NAME_MAX_CHARS} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must be one line without control characters".into());
    }
    Ok(s.to_owned())
}

/// `pages: {first, last}`.
fn pages(f: &mut Fields) -> Option<Pages> {
    let Some(value) = f.opt_value("pages") else {
        f.error("pages", "is required");
        return None;
    };
    let int = |v: Option<&Value>| v.and_then(Value::as_i64);
    let (first, last) = match &value {
        Value::Object(m) if m.keys().all(|k| k == "first" || k == "last") => {
            (int(m.get("first")), int(m.get("last")))
        }
        _ => (None, None),
    };
    match (first, last) {
        (Some(first), Some(last)) if first >= 1 && last >= first && last <= i64::from(u32::MAX) => {
            Some(Pages { first, last })
        }
        (Some(_), Some(_)) => {
            f.error("pages", "first must be from 1 and last at least first");
            None
        }
        _ => {
            f.error("pages", "must be {first, last} with whole page numbers");
            None
        }
    }
}

/// `POST /v1/scores/{id}/parts`: `{name, upload_id}` or `{name, pages: {first, last}}`.
pub fn parse_new(f: &mut Fields) -> Option<(String, Source)> {
    let raw = f.string("name");
    let name = f.parse("name", raw, name);
    let source = match (f.present("upload_id"), f.present("pages")) {
        (true, true) => {
            f.error("pages", "give either upload_id or pages, not both");
            None
        }
        (true, false) => f.string("upload_id").map(Source::Upload),
        (false, true) => pages(f).map(Source::Pages),
        (false, false) => {
            f.error("upload_id", "give upload_id (a PDF of its own) or pages");
            None
        }
    };
    Some((name?, source?))
}

/// `PATCH /v1/scores/{id}/parts/{part_id}`: `{name?, pages?}` (absent keeps).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartPatch {
    pub name: Option<String>,
    pub pages: Option<Pages>,
}

impl PartPatch {
    pub fn parse(f: &mut Fields) -> Self {
        let name = if f.present("name") {
            let raw = f.string("name");
            f.parse("name", raw, name)
        } else {
            None
        };
        let pages = if f.present("pages") { pages(f) } else { None };
        Self { name, pages }
    }
}

/// A member's `part` (`PATCH /v1/setlists/{id}/members/{user_id}`): a name, or `null` to clear.
/// Absent: `None`; present: `Some(None)` clears.
pub fn parse_assignment(f: &mut Fields) -> Option<Option<String>> {
    if !f.present("part") {
        return None;
    }
    match f.opt_string("part") {
        None => Some(None),
        Some(raw) => f.parse("part", Some(raw), name).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        Fields::new(
            v.as_object().cloned().unwrap(),
            &["name", "upload_id", "pages"],
        )
    }

    #[test]
    fn a_part_comes_from_an_upload_or_from_pages_never_both() {
        let mut f = fields(json!({"name": " Trumpet 1 ", "upload_id": "upl_1"}));
        assert_eq!(
            parse_new(&mut f),
            Some(("Trumpet 1".into(), Source::Upload("upl_1".into())))
        );
        assert!(f.finish().is_ok());
        let mut f = fields(json!({"name": "Bass", "pages": {"first": 2, "last": 3}}));
        assert_eq!(
            parse_new(&mut f),
            Some(("Bass".into(), Source::Pages(Pages { first: 2, last: 3 })))
        );
        let mut f =
            fields(json!({"name": "Bass", "upload_id": "u", "pages": {"first": 1, "last": 1}}));
        assert_eq!(parse_new(&mut f), None);
        assert!(f.finish().is_err());
    }

    #[test]
    fn ranges_must_be_ordered_from_page_one_and_within_the_score() {
        for bad in [
            json!({"first": 0, "last": 1}),
            json!({"first": 3, "last": 2}),
            json!({"first": 1}),
            json!({"first": 1, "last": 2, "x": 1}),
            json!([1, 2]),
        ] {
            let mut f = fields(json!({"name": "Bass", "pages": bad}));
            assert_eq!(parse_new(&mut f), None, "{bad}");
        }
        let p = Pages { first: 2, last: 5 };
        assert_eq!(p.count(), 4);
        assert!(p.within(Some(5)).is_ok());
        assert!(p.within(None).is_ok());
        assert!(p.within(Some(4)).is_err());
    }

    #[test]
    fn names_are_one_line_of_at_most_100_characters() {
        assert!(name(&"x".repeat(100)).is_ok());
        assert!(name(&"x".repeat(101)).is_err());
        assert!(name("a\nb").is_err());
        assert!(name("  ").is_err());
    }
}
