//! `pdf_info`: page count, page sizes and rotation, the Info dictionary (PDFDocEncoding and
//! UTF-16 text decoded, dates normalised to RFC 3339 UTC), and encryption.
//!
//! A failure is classified once, here: not a PDF, encrypted with a password, or damaged. Each
//! is permanent (retrying cannot help), so the consumer records it and acks the message.

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};
use serde::Serialize;

/// Most page sizes recorded per score (the count is always exact).
pub const MAX_PAGE_SIZES: usize = 2000;
/// Depth limit when following `/Parent` for inherited attributes (cycles in damaged files).
const MAX_INHERIT_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageSize {
    /// MediaBox width and height in points (1/72 inch), as stored (before rotation).
    pub width: f64,
    pub height: f64,
    /// Clockwise rotation for display: 0, 90, 180 or 270.
    pub rotate: i64,
}

/// The Info dictionary, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PdfMeta {
    pub title: Option<String>,
    pub author: Option<String>,
    pub subject: Option<String>,
    pub keywords: Option<String>,
    pub creator: Option<String>,
    pub producer: Option<String>,
    pub created_at: Option<String>,
    pub modified_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PdfInfo {
    pub pages: u32,
    pub version: String,
    /// Encrypted, but readable with the empty user password.
    pub encrypted: bool,
    pub page_sizes: Vec<PageSize>,
    #[serde(flatten)]
    pub meta: PdfMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfFailure {
    #[error("not a PDF")]
    NotPdf,
    #[error("encrypted with a password")]
    Encrypted,
    #[error("damaged file: {0}")]
    Damaged(String),
    /// Readable, but beyond what one task may spend on it.
    #[error("too large to inspect: {0}")]
    Limit(String),
}

impl PdfFailure {
    /// The human-readable reason stored on the score.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// The most any one stream may inflate to while lopdf loads a file (object and cross-reference
/// streams are decoded eagerly). lopdf's own default is 256 MiB, twice a Worker's memory.
pub const MAX_LOAD_STREAM_BYTES: usize = 32 * 1024 * 1024;

/// Inspects a whole PDF held in memory.
///
/// # Errors
/// Why the file cannot be read; every variant is permanent.
pub fn inspect(bytes: &[u8]) -> Result<PdfInfo, PdfFailure> {
    let doc = load(bytes, MAX_LOAD_STREAM_BYTES)?;
    summarise(&doc, doc.was_encrypted())
}

/// Loads a whole PDF with lopdf, the one way every module does: the header and end-of-file
/// checks, the empty user password tried on encrypted files, and no stream decoded while
/// loading (object streams, cross-reference streams) allowed past `max_stream_bytes`.
///
/// # Errors
/// [`PdfFailure::NotPdf`], [`PdfFailure::Encrypted`] (a user password is needed),
/// [`PdfFailure::Damaged`], or [`PdfFailure::Limit`] when a stream inflates beyond the bound.
pub fn load(bytes: &[u8], max_stream_bytes: usize) -> Result<Document, PdfFailure> {
    if !super::has_pdf_header(bytes) {
        return Err(PdfFailure::NotPdf);
    }
    // lopdf rebuilds a lost cross-reference table by scanning, which makes a truncated upload
    // look readable; the end-of-file marker must be in the last KiB (as readers require).
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(PdfFailure::Damaged(
            "truncated (no end-of-file marker)".into(),
        ));
    }
    // No password given: lopdf tries the empty user password itself.
    let options = LoadOptions {
        max_decompressed_size: Some(max_stream_bytes),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options).map_err(|e| match e {
        lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
            PdfFailure::Limit(format!(
                "a stream inflates beyond {}",
                crate::domain::human_bytes(i64::try_from(max_stream_bytes).unwrap_or(i64::MAX))
            ))
        }
        e => classify(&e.to_string()),
    })?;
    // Still encrypted after loading: the empty user password did not open it.
    if doc.is_encrypted() && !doc.was_encrypted() {
        return Err(PdfFailure::Encrypted);
    }
    Ok(doc)
}

/// The page objects in page-tree order, at most `max` of them, and how many there are.
///
/// Never `Document::get_pages`: it collects through the page-tree iterator, whose size hint adds
/// up the `/Count` of every `/Pages` node still to visit, so one `/Count 1000000000` makes the
/// collection reserve gigabytes before the first page is stored (an abort in a Worker). The
/// iterator itself stops after as many steps as the file has objects.
pub fn page_ids(doc: &Document, max: usize) -> (Vec<ObjectId>, usize) {
    let mut ids = Vec::new();
    let mut count = 0usize;
    for id in doc.page_iter() {
        if ids.len() < max {
            ids.push(id);
        }
        count += 1;
    }
    (ids, count)
}

/// Page count, sizes and Info from a loaded (decrypted) document, whether it holds the whole
/// file or only the objects a range read gathered ([`super::pdf_ranges`]).
///
/// # Errors
/// [`PdfFailure::Damaged`] when the page tree has no pages.
pub fn summarise(doc: &Document, encrypted: bool) -> Result<PdfInfo, PdfFailure> {
    let (pages, count) = page_ids(doc, MAX_PAGE_SIZES);
    if count == 0 {
        return Err(PdfFailure::Damaged("no pages found".into()));
    }
    let page_sizes = pages.iter().map(|id| page_size(doc, *id)).collect();
    Ok(PdfInfo {
        pages: u32::try_from(count).unwrap_or(u32::MAX),
        version: doc.version.clone(),
        encrypted,
        page_sizes,
        meta: info(doc),
    })
}

fn classify(error: &str) -> PdfFailure {
    let lower = error.to_ascii_lowercase();
    if lower.contains("password") || lower.contains("decrypt") || lower.contains("encrypt") {
        PdfFailure::Encrypted
    } else {
        PdfFailure::Damaged(error.chars().take(200).collect())
    }
}

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    match obj {
        Object::Reference(id) => doc.get_object(*id).unwrap_or(obj),
        other => other,
    }
}

pub(super) fn number(doc: &Document, obj: &Object) -> Option<f64> {
    match deref(doc, obj) {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

/// A page attribute, inherited through `/Parent` when absent (ISO 32000-1 §7.7.3.4).
pub(super) fn inherited<'a>(doc: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut dict: &Dictionary = doc.get_dictionary(page).ok()?;
    for _ in 0..MAX_INHERIT_DEPTH {
        if let Ok(value) = dict.get(key) {
            return Some(deref(doc, value));
        }
        let parent = dict.get(b"Parent").ok()?.as_reference().ok()?;
        dict = doc.get_dictionary(parent).ok()?;
    }
    None
}

fn page_size(doc: &Document, page: ObjectId) -> PageSize {
    // US Letter is the spec's default when a damaged file has no MediaBox at all.
    let (mut width, mut height) = (612.0, 792.0);
    if let Some(Object::Array(b)) = inherited(doc, page, b"MediaBox") {
        let v: Vec<f64> = b.iter().filter_map(|o| number(doc, o)).collect();
        if let [x0, y0, x1, y1] = v[..] {
            width = (x1 - x0).abs();
            height = (y1 - y0).abs();
        }
    }
    let rotate = inherited(doc, page, b"Rotate")
        .and_then(|o| number(doc, o))
        .map_or(0, |r| normalise_rotation(r as i64));
    PageSize {
        width,
        height,
        rotate,
    }
}

/// `/Rotate` must be a multiple of 90; anything else is treated as 0, negatives wrap.
pub fn normalise_rotation(r: i64) -> i64 {
    if r % 90 == 0 {
        r.rem_euclid(360)
    } else {
        0
    }
}

fn info(doc: &Document) -> PdfMeta {
    let Some(dict) = doc
        .trailer
        .get(b"Info")
        .ok()
        .map(|o| deref(doc, o))
        .and_then(|o| o.as_dict().ok())
    else {
        return PdfMeta::default();
    };
    let text = |key: &[u8]| -> Option<String> {
        let obj = deref(doc, dict.get(key).ok()?);
        let s = match obj {
            Object::String(bytes, _) => decode_text(bytes),
            Object::Name(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => return None,
        };
        let s = s.trim().trim_matches('\0').trim().to_owned();
        (!s.is_empty()).then_some(s)
    };
    PdfMeta {
        title: text(b"Title"),
        author: text(b"Author"),
        subject: text(b"Subject"),
        keywords: text(b"Keywords"),
        creator: text(b"Creator"),
        producer: text(b"Producer"),
        created_at: text(b"CreationDate").and_then(|d| pdf_date(&d)),
        modified_at: text(b"ModDate").and_then(|d| pdf_date(&d)),
    }
}

/// PDF text strings (ISO 32000-1 §7.9.2.2): UTF-16BE with a BOM, UTF-8 with a BOM (PDF 2.0), or
/// PDFDocEncoding.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        // Not allowed by the spec, but written by some tools.
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes.iter().map(|b| pdf_doc_char(*b)).collect()
}

/// PDFDocEncoding (ISO 32000-1 Annex D.2): Latin-1 except 0x18–0x1F and 0x80–0xA0.
fn pdf_doc_char(b: u8) -> char {
    const HIGH: [char; 33] = [
        '\u{2022}', '\u{2020}', '\u{2021}', '\u{2026}', '\u{2014}', '\u{2013}', '\u{0192}',
        '\u{2044}', '\u{2039}', '\u{203A}', '\u{2212}', '\u{2030}', '\u{201E}', '\u{201C}',
        '\u{201D}', '\u{2018}', '\u{2019}', '\u{201A}', '\u{2122}', '\u{FB01}', '\u{FB02}',
        '\u{0141}', '\u{0152}', '\u{0160}', '\u{0178}', '\u{017D}', '\u{0131}', '\u{0142}',
        '\u{0153}', '\u{0161}', '\u{017E}', '\u{FFFD}', '\u{20AC}',
    ];
    const LOW: [char; 8] = [
        '\u{02D8}', '\u{02C7}', '\u{02C6}', '\u{02D9}', '\u{02DD}', '\u{02DB}', '\u{02DA}',
        '\u{02DC}',
    ];
    match b {
        0x18..=0x1F => LOW[usize::from(b - 0x18)],
        0x80..=0xA0 => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// `D:YYYYMMDDHHmmSSOHH'mm'` (every part after the year optional) → RFC 3339 UTC.
pub fn pdf_date(raw: &str) -> Option<String> {
    let s = raw.trim().strip_prefix("D:").unwrap_or(raw.trim());
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 4 {
        return None;
    }
    let part = |from: usize, len: usize, default: u32| -> Option<u32> {
        digits
            .get(from..from + len)
            .map_or(Some(default), |p| p.parse().ok())
    };
    let (year, month, day) = (part(0, 4, 0)?, part(4, 2, 1)?, part(6, 2, 1)?);
    let (hour, minute, second) = (part(8, 2, 0)?, part(10, 2, 0)?, part(12, 2, 0)?);
    let rest = &s[digits.len()..];
    let offset_minutes: i64 = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let tz: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let h: i64 = tz.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
            let m: i64 = tz.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
            let total = h * 60 + m;
            if sign == '-' {
                -total
            } else {
                total
            }
        }
        _ => 0,
    };
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let local = date.and_hms_opt(hour, minute, second.min(59))?;
    let utc = local - chrono::Duration::minutes(offset_minutes);
    Some(
        utc.and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

#[cfg(test)]
pub(crate) mod tests {

    use lopdf::{dictionary, Stream, StringFormat};

    use super::*;

    /// Builds a PDF with lopdf: `pages` pages, MediaBox and Rotate on the Pages node (inherited),
    /// one page overriding Rotate, and the given Info entries.
    pub fn build(pages: usize, info: Dictionary) -> Vec<u8> {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let mut kids = Vec::new();
        for i in 0..pages {
            let content = doc.add_object(Stream::new(
                dictionary! {},
                format!("BT /F1 12 Tf 72 720 Td (p{i}) Tj ET").into_bytes(),
            ));
            let mut page =
                dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content };
            if i == 1 {
                page.set("Rotate", -90);
            }
            kids.push(Object::Reference(doc.add_object(page)));
        }
        let count = i64::try_from(kids.len()).unwrap();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => count,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), Object::Real(842.0)],
                "Rotate" => 90,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let info_id = doc.add_object(info);
        doc.trailer.set("Info", info_id);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    fn utf16(s: &str) -> Object {
        let mut bytes = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            bytes.extend_from_slice(&u.to_be_bytes());
        }
        Object::String(bytes, StringFormat::Hexadecimal)
    }

    #[test]
    fn page_count_sizes_and_inherited_rotation_are_read() {
        let bytes = build(3, dictionary! {});
        let info = inspect(&bytes).unwrap();
        assert_eq!(info.pages, 3);
        assert_eq!(info.page_sizes.len(), 3);
        assert_eq!(
            info.page_sizes[0],
            PageSize {
                width: 595.0,
                height: 842.0,
                rotate: 90
            }
        );
        assert_eq!(info.page_sizes[1].rotate, 270);
        assert!(!info.encrypted);
        assert_eq!(info.version, "1.7");
    }

    #[test]
    fn info_strings_decode_from_pdfdocencoding_and_utf16() {
        let bytes = build(
            1,
            dictionary! {
                "Title" => utf16("Dvořák — Humoresque ♪"),
                "Author" => Object::String(b"Dvor\x85k \x8Dquoted\x8E \x93ne \xA0".to_vec(), StringFormat::Literal),
                "Keywords" => Object::string_literal("gig, romantic; rating:4"),
                "Producer" => Object::string_literal("LilyPond 2.24"),
                "CreationDate" => Object::string_literal("D:20231104120000+01'00'"),
                "ModDate" => Object::string_literal("D:2024"),
            },
        );
        let meta = inspect(&bytes).unwrap().meta;
        assert_eq!(meta.title.as_deref(), Some("Dvořák — Humoresque ♪"));
        assert_eq!(
            meta.author.as_deref(),
            Some("Dvor\u{2013}k \u{201C}quoted\u{201D} \u{FB01}ne \u{20AC}")
        );
        assert_eq!(meta.keywords.as_deref(), Some("gig, romantic; rating:4"));
        assert_eq!(meta.created_at.as_deref(), Some("2023-11-04T11:00:00Z"));
        assert_eq!(meta.modified_at.as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(meta.subject, None);
    }

    #[test]
    fn dates_parse_with_offsets_and_partial_forms() {
        assert_eq!(
            pdf_date("D:19991231235959-05'30'").as_deref(),
            Some("2000-01-01T05:29:59Z")
        );
        assert_eq!(
            pdf_date("D:20200229").as_deref(),
            Some("2020-02-29T00:00:00Z")
        );
        assert_eq!(
            pdf_date("20200101120000Z").as_deref(),
            Some("2020-01-01T12:00:00Z")
        );
        // A year then a −13:00 offset, as the grammar reads it.
        assert_eq!(
            pdf_date("D:2021-13").as_deref(),
            Some("2021-01-01T13:00:00Z")
        );
        assert_eq!(pdf_date("D:20211301"), None);
        assert_eq!(pdf_date("yesterday"), None);
    }

    #[test]
    fn rotation_is_normalised() {
        assert_eq!(normalise_rotation(-90), 270);
        assert_eq!(normalise_rotation(450), 90);
        assert_eq!(normalise_rotation(45), 0);
    }

    #[test]
    fn non_pdfs_and_damaged_files_fail_with_a_reason() {
        assert_eq!(inspect(b"GIF89a nope"), Err(PdfFailure::NotPdf));
        assert_eq!(inspect(b""), Err(PdfFailure::NotPdf));
        let err = inspect(b"%PDF-1.7\nthis is not really a pdf\n%%EOF").unwrap_err();
        assert!(matches!(err, PdfFailure::Damaged(_)), "{err:?}");
        assert!(err.reason().starts_with("damaged file: "));
        let bytes = build(2, dictionary! {});
        let truncated = &bytes[..bytes.len() / 2];
        assert_eq!(
            inspect(truncated),
            Err(PdfFailure::Damaged(
                "truncated (no end-of-file marker)".into()
            ))
        );
    }

    #[test]
    fn inspecting_never_panics_on_mutated_input() {
        let bytes = build(2, dictionary! { "Title" => Object::string_literal("x") });
        let mut state = 0x2545_F491_u32;
        for _ in 0..300 {
            let mut m = bytes.clone();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = (state as usize) % m.len();
                m[i] = (state >> 8) as u8;
            }
            let _ = inspect(&m);
        }
    }
}
