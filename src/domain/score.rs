//! Score and upload inputs (SPEC §2, §3), parsed into types whose values are valid.

use serde_json::Value;

use crate::domain::fields::Fields;
use crate::error::ApiError;

pub const TITLE_MAX_CHARS: usize = 300;
pub const TEXT_MAX_CHARS: usize = 200;
pub const NOTES_MAX_CHARS: usize = 5_000;
pub const TAGS_MAX: usize = 50;
pub const TAG_MAX_CHARS: usize = 50;
pub const FILENAME_MAX_CHARS: usize = 255;
pub const DURATION_MAX_SECONDS: i64 = 24 * 3600;
pub const PDF_MIME: &str = "application/pdf";
/// An archive made by the export, uploaded to be imported (SPEC §11).
pub const ZIP_MIME: &str = "application/zip";
/// Largest upload by default (`MAX_UPLOAD_BYTES`, SPEC §2).
pub const DEFAULT_MAX_UPLOAD_BYTES: i64 = 100 * 1024 * 1024;
/// Largest import archive by default (`MAX_IMPORT_BYTES`).
pub const DEFAULT_MAX_IMPORT_BYTES: i64 = 2 * 1024 * 1024 * 1024;

/// Trimmed text of 1..=max characters without control characters.
///
/// # Errors
/// A message for the field.
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

/// A tag: trimmed, lowercased (tags filter case-insensitively), single line.
///
/// # Errors
/// A message for the field.
pub fn tag(raw: &str) -> Result<String, String> {
    let t = raw.trim().to_lowercase();
    if t.is_empty() {
        return Err("tags must not be empty".into());
    }
    if t.chars().count() > TAG_MAX_CHARS {
        return Err(format!("tags must be at most {TAG_MAX_CHARS} characters"));
    }
    if t.chars().any(char::is_control) {
        return Err("tags must not contain control characters".into());
    }
    Ok(t)
}

/// Lowercase hex sha256.
///
/// # Errors
/// A message for the field.
pub fn sha256_hex(raw: &str) -> Result<String, String> {
    let h = raw.trim().to_ascii_lowercase();
    if h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(h)
    } else {
        Err("must be 64 hexadecimal characters (SHA-256)".into())
    }
}

/// `POST /v1/uploads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    pub filename: String,
    pub size: i64,
    pub mime: String,
    pub sha256: String,
}

impl UploadRequest {
    /// A `mime` that names a media type other than PDF (or a ZIP archive to import) is E004
    /// (415, SPEC §12), decided before any field is validated; a missing or malformed `mime` is
    /// left to [`Self::parse`] (422).
    ///
    /// # Errors
    /// 415 for another type.
    pub fn check_media_type(body: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
        match body.get("mime").and_then(Value::as_str).map(str::trim) {
            Some(m)
                if !m.is_empty()
                    && !m.eq_ignore_ascii_case(PDF_MIME)
                    && !m.eq_ignore_ascii_case(ZIP_MIME) =>
            {
                Err(ApiError::UnsupportedMediaType(
                    "only application/pdf files (and application/zip archives to import) can be uploaded",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether this is an import archive rather than a PDF.
    pub fn is_archive(&self) -> bool {
        self.mime == ZIP_MIME
    }

    /// `max_bytes`: a PDF's limit, then an archive's.
    ///
    /// # Errors
    /// 422 with every bad field.
    pub fn parse(f: &mut Fields, (max_bytes, max_archive): (i64, i64)) -> Option<Self> {
        let mime = f.string("mime");
        let mime = f.parse("mime", mime, |m| {
            let m = m.trim();
            if m.eq_ignore_ascii_case(PDF_MIME) {
                Ok(PDF_MIME.to_owned())
            } else if m.eq_ignore_ascii_case(ZIP_MIME) {
                Ok(ZIP_MIME.to_owned())
            } else {
                Err(format!(
                    "only {PDF_MIME} (or {ZIP_MIME} to import) is accepted"
                ))
            }
        });
        let max_bytes = if mime.as_deref() == Some(ZIP_MIME) {
            max_archive
        } else {
            max_bytes
        };
        let filename = f.string("filename");
        let filename = f.parse("filename", filename, |s| {
            let name = text(s, FILENAME_MAX_CHARS)?;
            if name.contains('\n') || name.contains('\t') {
                return Err("must be a single line".into());
            }
            Ok(name)
        });
        let size = f.int("size");
        let size = match size {
            Some(n) if n < 1 => {
                f.error("size", "must be at least 1 byte");
                None
            }
            Some(n) if n > max_bytes => {
                f.error("size", format!("must be at most {max_bytes} bytes"));
                None
            }
            other => other,
        };
        let sha = f.string("sha256");
        let sha256 = f.parse("sha256", sha, sha256_hex);
        Some(Self {
            filename: filename?,
            size: size?,
            mime: mime?,
            sha256: sha256?,
        })
    }
}

/// Editable score metadata. On create, absent means empty; on PATCH, absent means "keep" and
/// `null` means "clear" — hence `Option<Option<…>>` for the optional fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoreFields {
    pub title: Option<String>,
    pub composer: Option<Option<String>>,
    pub arranger: Option<Option<String>>,
    pub instrumentation: Option<Option<String>>,
    pub key: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub rating: Option<Option<i64>>,
    pub difficulty: Option<Option<i64>>,
    pub duration: Option<Option<i64>>,
}

pub const SCORE_FIELDS: &[&str] = &[
    "title",
    "composer",
    "arranger",
    "instrumentation",
    "key",
    "notes",
    "tags",
    "rating",
    "difficulty",
    "duration",
];

impl ScoreFields {
    /// Reads the editable fields; `require_title` on create.
    pub fn parse(f: &mut Fields, require_title: bool) -> Self {
        let title = if require_title || f.present("title") {
            let raw = f.string("title");
            f.parse("title", raw, |s| text(s, TITLE_MAX_CHARS))
        } else {
            None
        };
        let composer = opt_text(f, "composer", TEXT_MAX_CHARS);
        let arranger = opt_text(f, "arranger", TEXT_MAX_CHARS);
        let instrumentation = opt_text(f, "instrumentation", TEXT_MAX_CHARS);
        let key = opt_text(f, "key", TEXT_MAX_CHARS);
        let notes = opt_text(f, "notes", NOTES_MAX_CHARS);
        let tags = tags(f);
        let rating = opt_range(f, "rating", 1, 5);
        let difficulty = opt_range(f, "difficulty", 1, 5);
        let duration = opt_range(f, "duration", 1, DURATION_MAX_SECONDS);
        Self {
            title,
            composer,
            arranger,
            instrumentation,
            key,
            notes,
            tags,
            rating,
            difficulty,
            duration,
        }
    }
}

/// An optional text field: absent → keep (`None`), `null` or blank → clear (`Some(None)`),
/// text → set.
pub fn opt_text(f: &mut Fields, name: &str, max: usize) -> Option<Option<String>> {
    if !f.present(name) {
        return None;
    }
    match f.opt_string(name) {
        None => Some(None),
        Some(raw) if raw.trim().is_empty() => Some(None),
        Some(raw) => f.parse(name, Some(raw), |s| text(s, max)).map(Some),
    }
}

fn opt_range(f: &mut Fields, name: &str, min: i64, max: i64) -> Option<Option<i64>> {
    if !f.present(name) {
        return None;
    }
    if f.opt_value(name).is_none() {
        return Some(None);
    }
    match f.int(name) {
        Some(n) if (min..=max).contains(&n) => Some(Some(n)),
        Some(_) => {
            f.error(name, format!("must be between {min} and {max}"));
            None
        }
        None => None,
    }
}

/// The `tags` field: a list of tags, normalised, deduplicated and sorted; absent or `null` → `None`.
pub fn tags(f: &mut Fields) -> Option<Vec<String>> {
    let value = f.opt_value("tags")?;
    let Value::Array(items) = value else {
        f.error("tags", "must be a list of strings");
        return None;
    };
    if items.len() > TAGS_MAX {
        f.error("tags", format!("at most {TAGS_MAX} tags"));
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(s) = item else {
            f.error("tags", "must be a list of strings");
            return None;
        };
        match tag(&s) {
            Ok(t) => {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
            Err(message) => {
                f.error("tags", message);
                return None;
            }
        }
    }
    out.sort();
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: Value, allowed: &[&str]) -> Fields {
        Fields::new(v.as_object().cloned().unwrap(), allowed)
    }

    fn errors(f: Fields) -> std::collections::BTreeMap<String, String> {
        match f.finish() {
            Err(ApiError::Validation(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    const UPLOAD_FIELDS: &[&str] = &["filename", "size", "mime", "sha256"];

    #[test]
    fn a_valid_upload_request_parses() {
        let mut f = fields(
            json!({"filename": "Bach.pdf", "size": 1234, "mime": "application/pdf", "sha256": "AB".repeat(32)}),
            UPLOAD_FIELDS,
        );
        let u = UploadRequest::parse(&mut f, (100, 1000)).map(|_| ());
        assert!(u.is_none(), "size over max must fail");
        let mut f = fields(
            json!({"filename": "Bach.pdf", "size": 99, "mime": "application/pdf", "sha256": "AB".repeat(32)}),
            UPLOAD_FIELDS,
        );
        let u = UploadRequest::parse(&mut f, (100, 1000)).unwrap();
        assert!(f.finish().is_ok());
        assert_eq!(u.sha256, "ab".repeat(32));
    }

    #[test]
    fn another_media_type_is_415_before_any_field_check() {
        let body = json!({"filename": "", "size": 0, "mime": "image/png"});
        let err = UploadRequest::check_media_type(body.as_object().unwrap()).unwrap_err();
        assert_eq!(err.status(), 415);
        assert_eq!(err.code_and_id(), ("UNSUPPORTED_MEDIA_TYPE", "E004"));
        for fine in [
            json!({"mime": "Application/PDF"}),
            json!({"mime": "application/zip"}),
            json!({"mime": 3}),
            json!({}),
        ] {
            assert!(UploadRequest::check_media_type(fine.as_object().unwrap()).is_ok());
        }
    }

    #[test]
    fn bad_upload_requests_report_each_field() {
        let mut f = fields(
            json!({"filename": "", "size": 0, "mime": "image/png", "sha256": "xyz"}),
            UPLOAD_FIELDS,
        );
        assert!(UploadRequest::parse(&mut f, (100, 1000)).is_none());
        let e = errors(f);
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e["mime"].contains("application/pdf"));
        // An archive to import has its own limit.
        let mut f = fields(
            json!({"filename": "lib.zip", "size": 999, "mime": "application/zip", "sha256": "ab".repeat(32)}),
            UPLOAD_FIELDS,
        );
        assert!(UploadRequest::parse(&mut f, (100, 1000))
            .unwrap()
            .is_archive());
        let mut f = fields(
            json!({"filename": "lib.zip", "size": 1001, "mime": "application/zip", "sha256": "ab".repeat(32)}),
            UPLOAD_FIELDS,
        );
        assert!(UploadRequest::parse(&mut f, (100, 1000)).is_none());
        let mut f = fields(
            json!({"filename": "a.pdf", "size": "12", "mime": "application/pdf", "sha256": "ab".repeat(32)}),
            UPLOAD_FIELDS,
        );
        assert!(UploadRequest::parse(&mut f, (100, 1000)).is_none());
        assert_eq!(errors(f)["size"], "must be an integer");
    }

    #[test]
    fn score_fields_reject_the_classic_bad_inputs() {
        let many_tags: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
        let mut f = fields(
            json!({"title": "  ", "notes": "n".repeat(10_000), "tags": many_tags, "rating": 6, "difficulty": 0, "duration": -1}),
            SCORE_FIELDS,
        );
        ScoreFields::parse(&mut f, true);
        let e = errors(f);
        for k in ["title", "notes", "tags", "rating", "difficulty", "duration"] {
            assert!(e.contains_key(k), "{k} missing in {e:?}");
        }
    }

    #[test]
    fn a_tag_with_control_characters_is_refused() {
        let mut f = fields(
            json!({"title": "x", "tags": ["ok", "bad\u{0001}tag"]}),
            SCORE_FIELDS,
        );
        ScoreFields::parse(&mut f, true);
        assert!(errors(f)["tags"].contains("control"));
    }

    #[test]
    fn tags_are_normalised_deduplicated_and_sorted() {
        let mut f = fields(
            json!({"title": "x", "tags": [" Gig ", "baroque", "GIG"]}),
            SCORE_FIELDS,
        );
        let s = ScoreFields::parse(&mut f, true);
        assert_eq!(s.tags, Some(vec!["baroque".to_owned(), "gig".to_owned()]));
    }

    #[test]
    fn patch_semantics_distinguish_absent_from_null() {
        let mut f = fields(json!({"composer": null, "rating": 4}), SCORE_FIELDS);
        let s = ScoreFields::parse(&mut f, false);
        assert!(f.finish().is_ok());
        assert_eq!(s.title, None);
        assert_eq!(s.composer, Some(None));
        assert_eq!(s.arranger, None);
        assert_eq!(s.rating, Some(Some(4)));
    }

    #[test]
    fn a_null_title_is_refused_on_patch() {
        let mut f = fields(json!({"title": null}), SCORE_FIELDS);
        ScoreFields::parse(&mut f, false);
        assert_eq!(errors(f)["title"], "is required");
    }
}
