//! `pdf_info` over real files made with qpdf (see tests/fixtures/README.md); page counts and
//! encryption as `pdfinfo` (poppler) reports them for the same files.

use scoremate::media::pdf_info::{inspect, PdfFailure};
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
