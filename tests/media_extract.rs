//! `extract::extract_pages` against poppler and qpdf: a generated 300-page songbook (A4 and
//! Letter pages, a landscape page rotated by an intermediate Pages node, resources and a font
//! shared from the root node, links in and out of the range), the same book rewritten by qpdf
//! with object streams, a LilyPond engraving, and every refusal. The poppler and qpdf checks are
//! skipped, with a note, where those tools are not installed.

mod common;

use std::path::Path;

use common::tools::{installed, run, scratch};
use std::sync::OnceLock;
use std::time::Instant;

use lopdf::{dictionary, Document, Object, ObjectId, Stream};
use peak_alloc::PeakAlloc;
use scoremate::media::extract::{extract_pages, ExtractError, ExtractLimits, EXTRACT_LIMITS};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const PAGES: usize = 300;
/// The page whose Pages node (and only it) carries `/Rotate 90`.
const ROTATED: usize = 125;
const A4: [i64; 4] = [0, 0, 595, 842];
const LETTER: [i64; 4] = [0, 0, 612, 792];
const LANDSCAPE: [i64; 4] = [0, 0, 842, 595];

fn boxed(b: [i64; 4]) -> Object {
    Object::Array(b.iter().map(|&n| n.into()).collect())
}

/// A songbook of `pages` pages in Pages nodes of ten under one root, which holds the A4
/// MediaBox and the Resources (one Helvetica font object) every page inherits. Even pages are
/// Letter; page 125 is landscape, alone in a nested Pages node with `/Rotate 90`. Each page
/// draws "Page N" and carries `filler` bytes of content-stream comments (its own weight, as a
/// scan or an engraving would). Page 121 has four annotations: a link to page 200, a GoTo to
/// page 125, a link to the web, and a note whose `/P` names page 250.
fn book(pages: usize, filler: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let root = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    // Page ids up front, so annotations can point forward.
    let ids: Vec<ObjectId> = (0..pages).map(|_| doc.new_object_id()).collect();
    let mut groups = Vec::new();
    for (g, chunk) in ids.chunks(10).enumerate() {
        let node = doc.new_object_id();
        let mut kids = Vec::new();
        for (i, &id) in chunk.iter().enumerate() {
            let n = g * 10 + i + 1;
            let mut parent = node;
            if n == ROTATED {
                parent = doc.add_object(dictionary! {
                    "Type" => "Pages", "Parent" => node, "Kids" => vec![id.into()], "Count" => 1,
                    "Rotate" => 90,
                });
                kids.push(parent.into());
            } else {
                kids.push(id.into());
            }
            let text = doc.add_object(Stream::new(
                dictionary! {},
                format!("BT /F1 24 Tf 72 500 Td (Page {n}) Tj ET").into_bytes(),
            ));
            let bulk = doc.add_object(Stream::new(dictionary! {}, filler_bytes(n, filler)));
            let mut page = dictionary! {
                "Type" => "Page", "Parent" => parent, "Contents" => vec![text.into(), bulk.into()],
            };
            if n == ROTATED {
                page.set("MediaBox", boxed(LANDSCAPE));
            } else if n % 2 == 0 {
                page.set("MediaBox", boxed(LETTER));
            }
            if n == 121 && pages >= 250 {
                page.set("Annots", annotations(&mut doc, &ids));
            }
            doc.objects.insert(id, Object::Dictionary(page));
        }
        let count = i64::try_from(chunk.len()).unwrap();
        doc.objects.insert(
            node,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Parent" => root, "Kids" => kids, "Count" => count,
            }),
        );
        groups.push(node.into());
    }
    doc.objects.insert(
        root,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => groups, "Count" => i64::try_from(pages).unwrap(),
            "MediaBox" => boxed(A4), "Resources" => resources,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root });
    doc.trailer.set("Root", catalog);
    let info = doc.add_object(dictionary! { "Title" => Object::string_literal("Real Book") });
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn annotations(doc: &mut Document, ids: &[ObjectId]) -> Object {
    let rect = || boxed([72, 72, 144, 144]);
    let away = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Link", "Rect" => rect(),
        "Dest" => vec![ids[199].into(), "Fit".into()],
    });
    let within = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Link", "Rect" => rect(),
        "A" => dictionary! { "S" => "GoTo", "D" => vec![ids[ROTATED - 1].into(), "Fit".into()] },
    });
    let web = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Link", "Rect" => rect(),
        "A" => dictionary! { "S" => "URI", "URI" => Object::string_literal("https://example.com") },
    });
    let note = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Text", "Rect" => rect(), "P" => ids[249],
        "Contents" => Object::string_literal("segue"),
    });
    vec![away.into(), within.into(), web.into(), note.into()].into()
}

/// `len` bytes of comment lines, different on every page (so nothing could be shared).
fn filler_bytes(page: usize, len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_u32 ^ u32::try_from(page).unwrap();
    let mut out = Vec::with_capacity(len + 80);
    while out.len() < len {
        out.extend_from_slice(b"%");
        for _ in 0..32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            out.extend_from_slice(format!("{:02x}", state & 0xff).as_bytes());
        }
        out.push(b'\n');
    }
    out
}

/// The 300-page book the tests share: about 2 KiB of its own per page.
fn songbook() -> &'static [u8] {
    static BOOK: OnceLock<Vec<u8>> = OnceLock::new();
    BOOK.get_or_init(|| book(PAGES, 2048))
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `pdfinfo -f first -l last`: the page count, and each page's size and rotation as poppler
/// reports them (without the page number).
fn pdfinfo(file: &Path, first: usize, last: usize) -> (usize, Vec<String>) {
    let report = run(
        "pdfinfo",
        &[
            "-f",
            &first.to_string(),
            "-l",
            &last.to_string(),
            path_str(file),
        ],
    );
    let pages = report
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap();
    let per_page = report
        .lines()
        .filter(|l| l.starts_with("Page ") && (l.contains("size:") || l.contains("rot:")))
        .map(|l| {
            let at = l.find("size:").or_else(|| l.find("rot:")).unwrap();
            l[at..].split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    (pages, per_page)
}

fn page_text(file: &Path, page: usize) -> String {
    let p = page.to_string();
    run("pdftotext", &["-f", &p, "-l", &p, path_str(file), "-"])
}

/// Extracts 120..=129 from `input` (written to `dir`) and checks it against the source with
/// poppler: ten pages, each with the size, rotation and text of its source page.
fn assert_pages_120_to_129_match(dir: &Path, input: &[u8]) {
    let source = dir.join("book.pdf");
    std::fs::write(&source, input).unwrap();
    let extracted = dir.join("extract.pdf");
    std::fs::write(
        &extracted,
        extract_pages(input, 120, 129, &EXTRACT_LIMITS).unwrap(),
    )
    .unwrap();

    let (pages, sizes) = pdfinfo(&extracted, 1, 10);
    let (_, source_sizes) = pdfinfo(&source, 120, 129);

    assert_eq!(pages, 10);
    assert_eq!(sizes, source_sizes);
    // The copy carries every kind of page: Letter, A4, and the rotated landscape one.
    assert_eq!(sizes[0], "size: 612 x 792 pts (letter)");
    assert_eq!(sizes[2], "size: 595 x 842 pts (A4)");
    assert_eq!(sizes[10], "size: 842 x 595 pts (A4)");
    assert_eq!(sizes[11], "rot: 90");
    for i in 1..=10 {
        let text = page_text(&extracted, i);
        assert_eq!(text.trim(), format!("Page {}", 119 + i), "page {i}");
    }
}

#[test]
fn ten_pages_of_a_300_page_book_keep_their_sizes_rotation_and_text() {
    if !installed("pdfinfo") || !installed("pdftotext") {
        return;
    }
    let dir = scratch("extract", "ten");

    assert_pages_120_to_129_match(&dir, songbook());

    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_book_with_object_streams_from_qpdf_extracts_the_same() {
    if !installed("pdfinfo") || !installed("pdftotext") || !installed("qpdf") {
        return;
    }
    let dir = scratch("extract", "objstm");
    let plain = dir.join("plain.pdf");
    let packed = dir.join("packed.pdf");
    std::fs::write(&plain, songbook()).unwrap();
    run(
        "qpdf",
        &[
            "--object-streams=generate",
            path_str(&plain),
            path_str(&packed),
        ],
    );
    let input = std::fs::read(&packed).unwrap();
    assert!(input.windows(6).any(|w| w == b"ObjStm"), "qpdf packed it");

    assert_pages_120_to_129_match(&dir, &input);

    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn ten_pages_of_three_hundred_copy_only_their_own_objects() {
    let input = songbook();

    let output = extract_pages(input, 120, 129, &EXTRACT_LIMITS).unwrap();

    assert!(
        output.len() * 10 < input.len(),
        "{} bytes from {}",
        output.len(),
        input.len()
    );
    let doc = Document::load_mem(&output).unwrap();
    // Catalog, tree, Info, one font, its resources, 10 pages with two streams each, and the
    // three annotations kept on page 121.
    assert_eq!(doc.objects.len(), 3 + 2 + 10 * 3 + 3);
    assert_eq!(doc.get_pages().len(), 10);
}

#[test]
fn links_out_of_the_range_are_dropped_and_links_within_it_renumbered() {
    let output = extract_pages(songbook(), 120, 129, &EXTRACT_LIMITS).unwrap();

    let doc = Document::load_mem(&output).unwrap();
    let pages = doc.get_pages();
    let page = doc.get_dictionary(pages[&2]).unwrap();
    let annots: Vec<&lopdf::Dictionary> = page
        .get(b"Annots")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| doc.get_dictionary(a.as_reference().unwrap()).unwrap())
        .collect();
    assert_eq!(annots.len(), 3, "{annots:?}");
    let goto = annots[0].get(b"A").unwrap().as_dict().unwrap();
    let dest = goto.get(b"D").unwrap().as_array().unwrap();
    assert_eq!(dest[0].as_reference().unwrap(), pages[&6]);
    assert!(annots[1].get(b"A").unwrap().as_dict().unwrap().has(b"URI"));
    // The note's `/P` named a page left behind: dropped, not followed.
    assert_eq!(
        annots[2].get(b"Subtype").unwrap().as_name().unwrap(),
        b"Text"
    );
    assert!(!annots[2].has(b"P"));
}

#[test]
fn pages_keep_their_inherited_attributes_and_the_title_is_kept() {
    let output = extract_pages(songbook(), 125, 126, &EXTRACT_LIMITS).unwrap();

    let doc = Document::load_mem(&output).unwrap();
    let pages = doc.get_pages();
    let rotated = doc.get_dictionary(pages[&1]).unwrap();
    assert_eq!(rotated.get(b"Rotate").unwrap().as_i64().unwrap(), 90);
    assert!(rotated.get(b"Resources").unwrap().as_reference().is_ok());
    let letter = doc.get_dictionary(pages[&2]).unwrap();
    assert!(!letter.has(b"Rotate"));
    assert_eq!(
        letter.get(b"Resources").unwrap(),
        rotated.get(b"Resources").unwrap(),
        "one shared resources object"
    );
    let info = doc
        .get_dictionary(doc.trailer.get(b"Info").unwrap().as_reference().unwrap())
        .unwrap();
    assert_eq!(
        info.get(b"Title").unwrap().as_str().unwrap(),
        b"Real Book".as_slice()
    );
}

#[test]
fn the_whole_book_and_single_pages_extract() {
    let input = songbook();

    let whole = extract_pages(input, 1, 300, &EXTRACT_LIMITS).unwrap();
    let first = extract_pages(input, 1, 1, &EXTRACT_LIMITS).unwrap();
    let last = extract_pages(input, 300, 300, &EXTRACT_LIMITS).unwrap();

    assert_eq!(Document::load_mem(&whole).unwrap().get_pages().len(), 300);
    assert_eq!(Document::load_mem(&first).unwrap().get_pages().len(), 1);
    assert_eq!(Document::load_mem(&last).unwrap().get_pages().len(), 1);
}

#[test]
fn a_lilypond_engraving_keeps_its_embedded_fonts_and_text() {
    if !installed("pdftotext") {
        return;
    }
    let dir = scratch("extract", "engraved");
    let source = Path::new("tests/fixtures/engraved.pdf");
    let extracted = dir.join("extract.pdf");

    let output = extract_pages(&std::fs::read(source).unwrap(), 1, 1, &EXTRACT_LIMITS).unwrap();
    std::fs::write(&extracted, output).unwrap();

    assert_eq!(page_text(&extracted, 1), page_text(source, 1));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn every_readable_fixture_gives_the_pages_asked_for() {
    if !installed("pdfinfo") {
        return;
    }
    let dir = scratch("extract", "fixtures");
    for name in [
        "base.pdf",
        "objstm.pdf",
        "linearized.pdf",
        "rotated.pdf",
        "enc-empty-aes128.pdf",
        "enc-empty-rc4.pdf",
        "enc-empty-rc4-40.pdf",
    ] {
        let source = Path::new("tests/fixtures").join(name);
        let extracted = dir.join(name);

        let output = extract_pages(&std::fs::read(&source).unwrap(), 2, 3, &EXTRACT_LIMITS);

        std::fs::write(&extracted, output.unwrap()).unwrap();
        let (pages, sizes) = pdfinfo(&extracted, 1, 2);
        assert_eq!(pages, 2, "{name}");
        assert_eq!(sizes, pdfinfo(&source, 2, 3).1, "{name}");
        assert_eq!(page_text(&extracted, 1), page_text(&source, 2), "{name}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_file_encrypted_with_the_empty_user_password_extracts_decrypted() {
    let input = std::fs::read("tests/fixtures/enc-empty-aes256.pdf").unwrap();

    let output = extract_pages(&input, 2, 3, &EXTRACT_LIMITS).unwrap();

    let doc = Document::load_mem(&output).unwrap();
    assert!(!doc.is_encrypted());
    assert_eq!(doc.get_pages().len(), 2);
}

#[test]
fn pages_outside_the_book_are_refused_with_its_page_count() {
    let input = songbook();
    let no_such = ExtractError::NoSuchPages { page_count: 300 };

    assert_eq!(
        extract_pages(input, 0, 3, &EXTRACT_LIMITS),
        Err(no_such.clone())
    );
    assert_eq!(
        extract_pages(input, 5, 4, &EXTRACT_LIMITS),
        Err(no_such.clone())
    );
    assert_eq!(
        extract_pages(input, 299, 301, &EXTRACT_LIMITS),
        Err(no_such.clone())
    );
    assert_eq!(
        no_such.reason(),
        "no such pages: the PDF has pages 1 to 300"
    );
}

#[test]
fn a_file_needing_a_password_is_refused_as_encrypted() {
    if !installed("qpdf") {
        return;
    }
    let dir = scratch("extract", "encrypted");
    let plain = dir.join("plain.pdf");
    let locked = dir.join("locked.pdf");
    std::fs::write(&plain, book(3, 0)).unwrap();
    run(
        "qpdf",
        &[
            "--encrypt",
            "u",
            "o",
            "256",
            "--",
            path_str(&plain),
            path_str(&locked),
        ],
    );

    let result = extract_pages(&std::fs::read(&locked).unwrap(), 1, 1, &EXTRACT_LIMITS);

    assert_eq!(result, Err(ExtractError::Encrypted));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn garbage_and_truncated_files_are_unreadable() {
    let input = songbook();

    let garbage = extract_pages(b"GIF89a, not a score", 1, 1, &EXTRACT_LIMITS);
    let fake = extract_pages(b"%PDF-1.7\nnothing here\n%%EOF\n", 1, 1, &EXTRACT_LIMITS);
    let truncated = extract_pages(&input[..input.len() / 2], 1, 1, &EXTRACT_LIMITS);

    assert_eq!(garbage, Err(ExtractError::Unreadable("not a PDF".into())));
    assert!(matches!(fake, Err(ExtractError::Unreadable(_))), "{fake:?}");
    assert!(
        matches!(&truncated, Err(ExtractError::Unreadable(why)) if why.contains("truncated")),
        "{truncated:?}"
    );
}

#[test]
fn each_limit_is_refused_as_too_large() {
    let input = songbook();
    let whole = extract_pages(input, 120, 129, &EXTRACT_LIMITS)
        .unwrap()
        .len();
    // The output's length, not the output (a failed comparison prints it).
    let with = |f: &dyn Fn(&mut ExtractLimits)| {
        let mut limits = EXTRACT_LIMITS;
        f(&mut limits);
        extract_pages(input, 120, 129, &limits).map(|pdf| pdf.len())
    };

    let input_limit = with(&|l| l.max_input_bytes = input.len() - 1);
    let object_limit = with(&|l| l.max_objects = 20);
    let stream_limit = with(&|l| l.max_output_bytes = 10_000);
    // The pages' streams weigh about 21 KiB of the whole.
    let output_limit = with(&|l| l.max_output_bytes = whole - 1);
    let exact = with(&|l| l.max_output_bytes = whole);

    assert_eq!(
        input_limit,
        Err(ExtractError::TooLarge("the PDF is over the input limit"))
    );
    assert_eq!(
        object_limit,
        Err(ExtractError::TooLarge(
            "the pages reach more objects than the limit"
        ))
    );
    // Refused by what the copied streams weigh, before anything is written…
    assert_eq!(
        stream_limit,
        Err(ExtractError::TooLarge(
            "the pages' streams are over the output limit"
        ))
    );
    // …or by the file itself, while it is written.
    assert_eq!(
        output_limit,
        Err(ExtractError::TooLarge(
            "the extracted PDF is over the output limit"
        ))
    );
    assert_eq!(exact, Ok(whole));
    assert!(output_limit
        .unwrap_err()
        .reason()
        .starts_with("too large to extract: "));
}

#[test]
fn extracting_never_panics_on_mutated_input() {
    let input = book(12, 0);
    let mut state = 0x2545_F491_u32;
    for _ in 0..300 {
        let mut mutated = input.clone();
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let i = (state as usize) % mutated.len();
            mutated[i] = (state >> 8) as u8;
        }
        let _ = extract_pages(&mutated, 3, 9, &EXTRACT_LIMITS);
    }
}

/// Figures for the report, not a check: extracting ten pages of a 300-page book of about
/// 30 MiB (100 KiB per page) natively, against `qpdf --empty --pages`, and the heap at its peak.
/// `cargo test --release --test media_extract -- --ignored --nocapture`; the book is left in the
/// temporary directory for `examples/extract_pages.rs` under `/usr/bin/time -v`.
#[test]
#[ignore = "a measurement, run by hand"]
fn measure_ten_pages_of_a_large_book() {
    let dir = std::env::temp_dir().join("scoremate-extract-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let input = book(PAGES, 100 * 1024);
    let source = dir.join("book.pdf");
    std::fs::write(&source, &input).unwrap();

    HEAP.reset_peak_usage();
    let before = HEAP.current_usage();
    let started = Instant::now();
    let output = extract_pages(&input, 120, 129, &EXTRACT_LIMITS).unwrap();
    let ours = started.elapsed();
    let peak = HEAP.peak_usage() - before;

    let started = Instant::now();
    let qpdf_out = dir.join("qpdf.pdf");
    if installed("qpdf") {
        run(
            "qpdf",
            &[
                "--empty",
                "--pages",
                path_str(&source),
                "120-129",
                "--",
                path_str(&qpdf_out),
            ],
        );
    }
    let theirs = started.elapsed();
    println!(
        "input {} bytes ({}); extract_pages 120..=129: {ours:?}, {} bytes out, heap peak {:.1} MiB \
         above the input; qpdf --empty --pages: {theirs:?}, {} bytes out",
        input.len(),
        source.display(),
        output.len(),
        peak as f64 / (1024.0 * 1024.0),
        std::fs::metadata(&qpdf_out).map_or(0, |m| m.len()),
    );
}
