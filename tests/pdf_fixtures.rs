//! `pdf_info` over real files made with qpdf (see tests/fixtures/README.md); page counts and
//! encryption as `pdfinfo` (poppler) reports them for the same files.

use scoremate::media::pdf_info::{inspect, PdfFailure};
use scoremate::media::pdf_ranges::{inspect_slice, Limits};
use scoremate::media::suggestions;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("tests/fixtures/{name}")).unwrap()
}

#[test]
fn every_readable_variant_has_the_pages_pdfinfo_reports() {
    for name in [
        "base.pdf",
        "objstm.pdf",
        "linearized.pdf",
        "rotated.pdf",
        "enc-empty-aes256.pdf",
        "enc-empty-aes128.pdf",
        "enc-empty-rc4.pdf",
        "enc-empty-rc4-40.pdf",
    ] {
        let info = inspect(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.pages, 3, "{name}");
        assert_eq!(info.meta.title.as_deref(), Some("Fixture Sonata"), "{name}");
        assert_eq!(info.encrypted, name.starts_with("enc-"), "{name}");
    }
}

#[test]
fn an_engraved_lilypond_score_is_read() {
    let info = inspect(&fixture("engraved.pdf")).unwrap();
    assert_eq!(info.pages, 1, "as pdfinfo reports");
    assert_eq!(info.meta.title.as_deref(), Some("Fixture Etude"));
    // LilyPond writes the composer to a custom key, not /Author (pdfinfo agrees: no Author).
    assert_eq!(info.meta.author, None);
    assert_eq!(info.meta.creator.as_deref(), Some("LilyPond 2.24.1"));
}

#[test]
fn rotation_is_read_per_page() {
    let info = inspect(&fixture("rotated.pdf")).unwrap();
    let rotations: Vec<i64> = info.page_sizes.iter().map(|p| p.rotate).collect();
    assert_eq!(rotations, vec![0, 90, 0]);
    assert_eq!(
        (info.page_sizes[0].width, info.page_sizes[0].height),
        (595.0, 842.0)
    );
}

#[test]
fn a_user_password_is_reported_as_such() {
    assert_eq!(
        inspect(&fixture("enc-password.pdf")),
        Err(PdfFailure::Encrypted)
    );
    assert_eq!(PdfFailure::Encrypted.reason(), "encrypted with a password");
}

#[test]
fn a_truncated_file_is_damaged() {
    let err = inspect(&fixture("truncated.pdf")).unwrap_err();
    assert!(matches!(err, PdfFailure::Damaged(_)), "{err:?}");
}

#[test]
fn fixture_metadata_becomes_suggestions() {
    let s = suggestions::from_meta(&inspect(&fixture("base.pdf")).unwrap().meta);
    assert_eq!(s.composer.as_deref(), Some("Test Composer"));
    assert_eq!(s.tags, vec!["exam"]);
    assert_eq!(s.rating, Some(3));
    assert_eq!(s.key.as_deref(), Some("Bb major"));
}

/// The range reader (used above the whole-file limit) must agree with the whole-file reader on
/// every structure: tables, object streams, linearized, hybrid, encrypted. Tiny chunks make
/// every object straddle chunk boundaries.
#[test]
fn range_reads_agree_with_whole_file_loads_on_every_fixture() {
    for name in [
        "base.pdf",
        "objstm.pdf",
        "linearized.pdf",
        "rotated.pdf",
        "rotated-first.pdf",
        "scanned.pdf",
        "engraved.pdf",
        "enc-empty-aes256.pdf",
        "enc-empty-aes128.pdf",
        "enc-empty-rc4.pdf",
        "enc-empty-rc4-40.pdf",
        "enc-password.pdf",
        "truncated.pdf",
    ] {
        let bytes = fixture(name);
        let whole = inspect(&bytes);
        for chunk in [7, 64, 65_536] {
            let limits = Limits {
                chunk,
                max_reads: 10_000,
                ..Limits::default()
            };
            let ranged = inspect_slice(&bytes, limits).map(|(info, _)| info);
            assert_eq!(ranged, whole, "{name} with {chunk}-byte chunks");
        }
    }
}

/// A 48 MiB score (20 pages, each next to its 2.4 MiB image, so no two pages share a chunk) is
/// inspected by reading about one chunk per page.
#[test]
fn a_large_file_is_inspected_from_a_few_range_reads() {
    let bytes = large_pdf(20, 48 << 20);
    let (info, stats) = inspect_slice(&bytes, Limits::default()).unwrap();
    assert_eq!(info.pages, 20);
    assert_eq!(info.meta.title.as_deref(), Some("Large"));
    assert!(stats.reads <= 20 + 4, "{stats:?}");
    assert!(stats.bytes <= 2 << 20, "{stats:?}");
}

#[test]
fn range_limits_fail_with_a_reason() {
    let bytes = large_pdf(20, 4 << 20);
    let tight = Limits {
        chunk: 1024,
        max_reads: 3,
        ..Limits::default()
    };
    let err = inspect_slice(&bytes, tight).unwrap_err();
    assert_eq!(
        err.reason(),
        "too large to inspect: needs more than 3 range reads"
    );
}

/// `pages` pages whose image streams add up to about `total` bytes, written by lopdf.
pub fn large_pdf(pages: usize, total: usize) -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let per_page = total / pages;
    let mut kids = Vec::new();
    for i in 0..pages {
        let image = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 1, "Height" => 1,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
            vec![(i % 251) as u8; per_page],
        ));
        let content = doc.add_object(Stream::new(
            dictionary! {},
            b"q 595 0 0 842 0 0 cm /Im0 Do Q".to_vec(),
        ));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image } },
        });
        kids.push(Object::Reference(page));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => i64::try_from(pages).unwrap(),
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let info = doc.add_object(dictionary! { "Title" => Object::string_literal("Large") });
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}
