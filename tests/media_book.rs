//! `book::assemble` against poppler and qpdf: a book of five pieces (whole scores, a page range
//! of a songbook, a part, a lilypond engraving) has every page in order, each page's own text,
//! and an outline entry per piece at its first page (read back by qpdf's JSON and by lopdf);
//! titles outside ASCII survive; each refusal names its item. The poppler and qpdf checks are
//! skipped, with a note, where those tools are not installed.

mod common;

use std::path::Path;

use common::pdf::{outline, pdf};
use common::tools::{installed, run, scratch};
use lopdf::Document;
use scoremate::media::book::{assemble, BookError, Section};
use scoremate::media::extract::{ExtractError, ExtractLimits, EXTRACT_LIMITS};

fn lilypond() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engraved.pdf"))
        .unwrap_or_else(|_| pdf(2, "engraved"))
}

#[test]
fn five_pieces_make_one_book_in_order_with_an_outline_entry_each() {
    let songbook = pdf(300, "songbook");
    let (a, b, part) = (pdf(3, "autumn"), pdf(2, "bossa"), pdf(4, "trumpet-part"));
    let engraved = lilypond();
    let engraved_pages = Document::load_mem(&engraved).unwrap().get_pages().len();
    let sections = [
        Section {
            pdf: &a,
            pages: None,
            title: "Autumn Leaves",
        },
        Section {
            pdf: &songbook,
            pages: Some((120, 124)),
            title: "Blue in Green (Real Book)",
        },
        Section {
            pdf: &part,
            pages: None,
            title: "Bossa — Trumpet 1",
        },
        Section {
            pdf: &b,
            pages: Some((2, 2)),
            title: "Coda",
        },
        Section {
            pdf: &engraved,
            pages: None,
            title: "Étude für Klavier",
        },
    ];
    let book = assemble("Friday gig", &sections, &EXTRACT_LIMITS).unwrap();
    let total = 3 + 5 + 4 + 1 + engraved_pages;
    assert_eq!(book.pages, total);
    assert_eq!(
        outline(&book.bytes),
        vec![
            ("Autumn Leaves".to_owned(), 1),
            ("Blue in Green (Real Book)".to_owned(), 4),
            ("Bossa — Trumpet 1".to_owned(), 9),
            ("Coda".to_owned(), 13),
            ("Étude für Klavier".to_owned(), 14),
        ]
    );
    // Only the songbook's five pages came along, not the other 295.
    let others = a.len() + b.len() + part.len() + engraved.len();
    assert!(
        book.bytes.len() < others + songbook.len() / 10,
        "{} bytes",
        book.bytes.len()
    );
    if !installed("pdfinfo") || !installed("qpdf") {
        eprintln!("note: pdfinfo or qpdf missing; poppler and qpdf checks skipped");
        return;
    }
    let dir = scratch("book", "five");
    let file = dir.join("book.pdf");
    std::fs::write(&file, &book.bytes).unwrap();
    let f = file.to_str().unwrap();
    let info = run("pdfinfo", &[f]);
    assert!(
        info.contains(&format!("Pages:           {total}")),
        "{info}"
    );
    assert!(info.contains("Title:           Friday gig"), "{info}");
    for (page, text) in [
        (1, "page 1 autumn"),
        (4, "page 120 songbook"),
        (8, "page 124 songbook"),
        (12, "page 4 trumpet-part"),
        (13, "page 2 bossa"),
    ] {
        let got = run(
            "pdftotext",
            &["-f", &page.to_string(), "-l", &page.to_string(), f, "-"],
        );
        assert!(got.contains(text), "page {page}: {got:?}");
    }
    let json = run("qpdf", &["--json", "--json-key=outlines", f]);
    for title in [
        "Autumn Leaves",
        "Blue in Green (Real Book)",
        "Bossa — Trumpet 1",
        "Coda",
        "Étude für Klavier",
    ] {
        assert!(json.contains(title), "qpdf's outline lacks {title}: {json}");
    }
    run("qpdf", &["--check", f]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn each_refusal_names_its_item_or_the_whole_book() {
    let good = pdf(2, "good");
    let section = |pdf: &'static [u8], pages, title: &'static str| Section { pdf, pages, title };
    let good: &'static [u8] = Box::leak(good.into_boxed_slice());
    assert_eq!(assemble("x", &[], &EXTRACT_LIMITS), Err(BookError::Empty));
    assert_eq!(
        assemble(
            "x",
            &[section(good, None, "a"), section(b"garbage", None, "b")],
            &EXTRACT_LIMITS
        )
        .unwrap_err()
        .to_string(),
        "item 2: unreadable PDF: not a PDF"
    );
    assert_eq!(
        assemble("x", &[section(good, Some((2, 3)), "a")], &EXTRACT_LIMITS),
        Err(BookError::Item {
            index: 0,
            error: ExtractError::NoSuchPages { page_count: 2 }
        })
    );
    let tight = ExtractLimits {
        max_input_bytes: good.len() * 2 - 1,
        ..EXTRACT_LIMITS
    };
    assert!(matches!(
        assemble(
            "x",
            &[section(good, None, "a"), section(good, None, "b")],
            &tight
        ),
        Err(BookError::TooLarge(_))
    ));
    let few = ExtractLimits {
        max_objects: 6,
        ..EXTRACT_LIMITS
    };
    assert!(matches!(
        assemble(
            "x",
            &[section(good, None, "a"), section(good, None, "b")],
            &few
        ),
        Err(BookError::TooLarge(_))
    ));
    let small = ExtractLimits {
        max_output_bytes: 500,
        ..EXTRACT_LIMITS
    };
    assert!(matches!(
        assemble("x", &[section(good, None, "a")], &small),
        Err(BookError::TooLarge(_))
    ));
}

#[test]
fn the_same_piece_twice_is_two_entries() {
    let a = pdf(2, "twice");
    let sections = [
        Section {
            pdf: &a,
            pages: None,
            title: "Opener",
        },
        Section {
            pdf: &a,
            pages: None,
            title: "Opener (reprise)",
        },
    ];
    let book = assemble("Encore", &sections, &EXTRACT_LIMITS).unwrap();
    assert_eq!(book.pages, 4);
    assert_eq!(
        outline(&book.bytes),
        vec![("Opener".to_owned(), 1), ("Opener (reprise)".to_owned(), 3)]
    );
}
