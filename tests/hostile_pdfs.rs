//! Hostile PDFs against `preflight::check_page`: decompression bombs in every place a page can
//! reach (content, forms, Type 3 glyphs, tiling patterns, annotation appearances, double Flate,
//! a zlib stream only hayro's lenient inflater reads, object streams), oversized images, form
//! loops, deep nesting, page-tree loops and lying page counts. Each is refused with its reason,
//! or passes and then renders with hayro within bounded memory; peak heap is measured with a
//! counting global allocator. The same generators, in JavaScript, are in tests/e2e/hostile.mjs.

#[path = "common/pdf.rs"]
mod pdf;

use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use lopdf::{dictionary, Dictionary, Document, Object, Stream};
use peak_alloc::PeakAlloc;
use scoremate::media::preflight::{check_page, Limits, PageCost, Refusal};
use scoremate::media::{pdf_info, thumbnail};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const MB: usize = 1024 * 1024;

/// Memory is measured process-wide, so the tests take turns.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `f` and reports the heap it added at its peak, and its time.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    (out, HEAP.peak_usage().saturating_sub(base), elapsed)
}

/// zlib of `mb` MiB of zeros, fed to the encoder a MiB at a time (the test never holds them).
fn deflated_zeros(mb: usize) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; MB];
    for _ in 0..mb {
        e.write_all(&chunk).unwrap();
    }
    e.finish().unwrap()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The 300 MiB bomb, compressed once for every test.
fn bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| deflated_zeros(300))
}

fn flate_stream(dict: Dictionary, compressed: Vec<u8>) -> Stream {
    let mut dict = dict;
    dict.set("Filter", "FlateDecode");
    Stream::new(dict, compressed)
}

/// A one-page document: `content` (raw bytes, already filtered as its dictionary says), the
/// page's resources, and extra page entries.
fn one_page(
    doc: &mut Document,
    content: Stream,
    resources: Dictionary,
    extra: Dictionary,
) -> Vec<u8> {
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(content);
    let mut page = dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 200.into(), 200.into()],
        "Contents" => content_id, "Resources" => resources,
    };
    for (k, v) in extra {
        page.set(k, v);
    }
    let page_id = doc.add_object(page);
    pdf::save_one_page(doc, pages_id, page_id)
}

fn plain(content: &[u8]) -> Stream {
    Stream::new(dictionary! {}, content.to_vec())
}

fn form(dict: Dictionary, data: Stream) -> Stream {
    let mut d = dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()] };
    for (k, v) in dict {
        d.set(k, v);
    }
    for (k, v) in data.dict {
        d.set(k, v);
    }
    Stream::new(d, data.content)
}

// --- Generators (mirrored in tests/e2e/hostile.mjs) ---

fn content_bomb() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    one_page(
        &mut doc,
        flate_stream(dictionary! {}, bomb().to_vec()),
        dictionary! {},
        dictionary! {},
    )
}

fn form_bomb() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let x = doc.add_object(form(
        dictionary! {},
        flate_stream(dictionary! {}, bomb().to_vec()),
    ));
    one_page(
        &mut doc,
        plain(b"q /X1 Do Q"),
        dictionary! { "XObject" => dictionary! { "X1" => x } },
        dictionary! {},
    )
}

fn type3_bomb() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let glyph = doc.add_object(flate_stream(dictionary! {}, bomb().to_vec()));
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type3",
        "FontBBox" => vec![0.into(), 0.into(), 1.into(), 1.into()],
        "FontMatrix" => vec![1.into(), 0.into(), 0.into(), 1.into(), 0.into(), 0.into()],
        "CharProcs" => dictionary! { "a" => glyph },
        "Encoding" => dictionary! { "Type" => "Encoding", "Differences" => vec![97.into(), Object::Name(b"a".to_vec())] },
        "FirstChar" => 97, "LastChar" => 97, "Widths" => vec![1.into()],
    });
    one_page(
        &mut doc,
        plain(b"BT /F1 12 Tf 10 10 Td (a) Tj ET"),
        dictionary! { "Font" => dictionary! { "F1" => font } },
        dictionary! {},
    )
}

fn pattern_bomb() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pattern = doc.add_object(flate_stream(
        dictionary! {
            "Type" => "Pattern", "PatternType" => 1, "PaintType" => 1, "TilingType" => 1,
            "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()], "XStep" => 10, "YStep" => 10,
            "Resources" => dictionary! {},
        },
        bomb().to_vec(),
    ));
    one_page(
        &mut doc,
        plain(b"/Pattern cs /P1 scn 0 0 100 100 re f"),
        dictionary! { "Pattern" => dictionary! { "P1" => pattern } },
        dictionary! {},
    )
}

fn annotation_bomb() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let ap = doc.add_object(form(
        dictionary! {},
        flate_stream(dictionary! {}, bomb().to_vec()),
    ));
    let annot = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Square", "Rect" => vec![0.into(), 0.into(), 10.into(), 10.into()],
        "AP" => dictionary! { "N" => ap },
    });
    one_page(
        &mut doc,
        plain(b"0 0 m 10 10 l S"),
        dictionary! {},
        dictionary! { "Annots" => vec![annot.into()] },
    )
}

fn double_flate_bomb() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let twice = deflate(bomb());
    let content = Stream::new(
        dictionary! { "Filter" => vec![Object::Name(b"FlateDecode".to_vec()), Object::Name(b"FlateDecode".to_vec())] },
        twice,
    );
    one_page(&mut doc, content, dictionary! {}, dictionary! {})
}

/// The bomb behind a stored block whose length check fails: zlib and raw inflate give up at
/// once (and so does lopdf), hayro's pdf.js-style fallback ignores the check and inflates it all.
fn lenient_flate_bomb() -> Vec<u8> {
    let b = bomb();
    let mut data = vec![0x78, 0x9C, 0x00, 3, 0, 0, 0, b'a', b'b', b'c'];
    data.extend_from_slice(&b[2..b.len() - 4]);
    let mut doc = Document::with_version("1.7");
    one_page(
        &mut doc,
        flate_stream(dictionary! {}, data),
        dictionary! {},
        dictionary! {},
    )
}

/// An object stream that inflates to 300 MiB (by hand: lopdf's writer drops object streams).
fn objstm_bomb() -> Vec<u8> {
    raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>".to_vec(),
        raw_stream("", b"0 0 m 10 10 l S"),
        raw_stream("/Type /ObjStm /N 1 /First 0 /Filter /FlateDecode", bomb()),
    ])
}

fn huge_image() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let image = doc.add_object(flate_stream(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 100_000, "Height" => 100_000,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        deflate(&[0u8; 1000]),
    ));
    one_page(
        &mut doc,
        plain(b"q 100 0 0 100 0 0 cm /Im1 Do Q"),
        dictionary! { "XObject" => dictionary! { "Im1" => image } },
        dictionary! {},
    )
}

/// A baseline JPEG whose frame header says 60000×60000 (one grey component), with one-bit
/// Huffman codes and a few bytes of scan data.
fn jpeg_header(width: u16, height: u16) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    j.extend_from_slice(&[1u8; 64]);
    j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
    j.extend_from_slice(&height.to_be_bytes());
    j.extend_from_slice(&width.to_be_bytes());
    j.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
    for class in [0x00, 0x10] {
        j.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, class, 1]);
        j.extend_from_slice(&[0u8; 15]);
        j.push(0);
    }
    j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]);
    j.extend_from_slice(&[0u8; 64]);
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

fn jpeg_bomb() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 100, "Height" => 100,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
        },
        jpeg_header(60_000, 60_000),
    ));
    one_page(
        &mut doc,
        plain(b"q 100 0 0 100 0 0 cm /Im1 Do Q"),
        dictionary! { "XObject" => dictionary! { "Im1" => image } },
        dictionary! {},
    )
}

fn form_cycle() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let (a, b) = (doc.new_object_id(), doc.new_object_id());
    doc.objects.insert(
        a,
        Object::Stream(form(
            dictionary! { "Resources" => dictionary! { "XObject" => dictionary! { "B" => b } } },
            plain(b"/B Do /B Do"),
        )),
    );
    doc.objects.insert(
        b,
        Object::Stream(form(
            dictionary! { "Resources" => dictionary! { "XObject" => dictionary! { "A" => a } } },
            plain(b"/A Do /A Do"),
        )),
    );
    one_page(
        &mut doc,
        plain(b"/A Do"),
        dictionary! { "XObject" => dictionary! { "A" => a } },
        dictionary! {},
    )
}

fn page_tree_loop() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let (root, inner) = (doc.new_object_id(), doc.new_object_id());
    let content = doc.add_object(plain(b"0 0 m 100 100 l S"));
    let page = doc.add_object(dictionary! { "Type" => "Page", "Parent" => root, "Contents" => content, "MediaBox" => vec![0.into(), 0.into(), 200.into(), 200.into()] });
    doc.objects.insert(root, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into(), inner.into()], "Count" => 2 }));
    // An inner node whose kids lead back to the root and to itself.
    doc.objects.insert(inner, Object::Dictionary(dictionary! { "Type" => "Pages", "Parent" => root, "Kids" => vec![root.into(), inner.into(), page.into()], "Count" => 2 }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A page, then a `/Pages` node claiming 10^9 pages (holding one).
fn huge_count() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let (root, inner) = (doc.new_object_id(), doc.new_object_id());
    let content = doc.add_object(plain(b"0 0 m 100 100 l S"));
    let mk = |parent| dictionary! { "Type" => "Page", "Parent" => parent, "Contents" => content, "MediaBox" => vec![0.into(), 0.into(), 200.into(), 200.into()] };
    let first = doc.add_object(mk(root));
    let second = doc.add_object(mk(inner));
    doc.objects.insert(root, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![first.into(), inner.into()], "Count" => 1_000_000_000 }));
    doc.objects.insert(inner, Object::Dictionary(dictionary! { "Type" => "Pages", "Parent" => root, "Kids" => vec![second.into()], "Count" => 1_000_000_000 }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn huge_media_box() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let big = Object::Real(1.0e9);
    one_page(
        &mut doc,
        plain(b"0 0 m 100 100 l S"),
        dictionary! {},
        dictionary! { "MediaBox" => vec![0.into(), 0.into(), big.clone(), big] },
    )
}

/// A PDF written by hand, for what lopdf's writer will not write: objects `1..=n` with the
/// given bodies, a cross-reference table, and `/Root 1 0 R`.
fn raw_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn raw_stream(dict: &str, data: &[u8]) -> Vec<u8> {
    [
        format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes(),
        data.to_vec(),
        b"\nendstream".to_vec(),
    ]
    .concat()
}

/// 100 000 nested arrays in the content, and an object nested 100 000 deep (written by hand:
/// lopdf's writer, like its parser, would recurse).
fn deep_nesting() -> Vec<u8> {
    let n = 100_000;
    let mut content = b"0 0 m 100 100 l S ".to_vec();
    content.extend(std::iter::repeat_n(b'[', n));
    content.extend(std::iter::repeat_n(b']', n));
    content.extend_from_slice(b" pop");
    let mut deep = b"<< /Deep ".to_vec();
    deep.extend(b"<< /A ".repeat(n));
    deep.extend(b">> ".repeat(n));
    deep.extend_from_slice(b">>");
    raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources 5 0 R >>"
            .to_vec(),
        raw_stream("", &content),
        deep,
    ])
}

/// A big but ordinary page: 20 MiB of content once inflated (mostly comment lines, so hayro
/// renders it quickly) and a 2000×2000 grey image.
fn large_legit_page() -> Vec<u8> {
    let mut content = Vec::with_capacity(20 * MB + 100);
    let line = b"% an engraver's comment, padding the content stream to twenty mebibytes .......\n";
    while content.len() < 20 * MB {
        content.extend_from_slice(line);
    }
    content.extend_from_slice(b"q 100 0 0 100 50 50 cm /Im1 Do Q 0 0 m 200 200 l S\n");
    let mut doc = Document::with_version("1.7");
    let pixels: Vec<u8> = (0..2000 * 2000).map(|i| (i % 251) as u8).collect();
    let image = doc.add_object(flate_stream(
        dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 2000, "Height" => 2000, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
        deflate(&pixels),
    ));
    one_page(
        &mut doc,
        flate_stream(dictionary! {}, deflate(&content)),
        dictionary! { "XObject" => dictionary! { "Im1" => image } },
        dictionary! {},
    )
}

// --- Tests ---

fn refused(name: &str, bytes: &[u8], reason: &str) {
    let (result, peak, time) = measured(|| check_page(bytes, 1, &Limits::default()));
    eprintln!(
        "{name}: {} bytes, {result:?}, peak {:.1} MiB, {time:?}",
        bytes.len(),
        peak as f64 / MB as f64
    );
    let err = result.expect_err(name);
    assert_eq!(err.to_string(), reason, "{name}");
    assert!(err.is_limit(), "{name}");
    assert!(peak < 80 * MB, "{name}: peak {peak}");
}

/// Passes the preflight, then renders with hayro within bounded memory.
fn passes_and_renders(name: &str, bytes: Vec<u8>) -> PageCost {
    let (result, peak, time) = measured(|| check_page(&bytes, 1, &Limits::default()));
    eprintln!(
        "{name}: {} bytes, {result:?}, peak {:.1} MiB, {time:?}",
        bytes.len(),
        peak as f64 / MB as f64
    );
    let cost = result.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(peak < 80 * MB, "{name}: peak {peak}");
    let (rendered, peak, time) = measured(|| {
        std::thread::Builder::new()
            .stack_size(8 * MB)
            .spawn(move || {
                thumbnail::render_page(bytes, 1, thumbnail::Limits::default())
                    .map(|r| (r.width, r.height))
            })
            .unwrap()
            .join()
            .expect("hayro panicked")
    });
    eprintln!(
        "{name}: hayro {rendered:?}, peak {:.1} MiB, {time:?}",
        peak as f64 / MB as f64
    );
    assert!(peak < 100 * MB, "{name}: hayro peak {peak}");
    cost
}

#[test]
fn a_300_mib_content_bomb_is_refused_in_bounded_memory() {
    let _turn = serial();
    assert!(bomb().len() < MB);
    refused(
        "content bomb",
        &content_bomb(),
        "a stream inflates beyond 32 MiB",
    );
}

#[test]
fn bombs_behind_forms_glyphs_patterns_and_appearances_are_refused() {
    let _turn = serial();
    refused("form bomb", &form_bomb(), "a stream inflates beyond 32 MiB");
    refused(
        "type3 bomb",
        &type3_bomb(),
        "a stream inflates beyond 32 MiB",
    );
    refused(
        "pattern bomb",
        &pattern_bomb(),
        "a stream inflates beyond 32 MiB",
    );
    refused(
        "annotation bomb",
        &annotation_bomb(),
        "a stream inflates beyond 32 MiB",
    );
}

#[test]
fn double_flate_and_object_stream_bombs_are_refused() {
    let _turn = serial();
    let twice = double_flate_bomb();
    assert!(twice.len() < 64 * 1024, "{}", twice.len());
    refused(
        "double flate bomb",
        &twice,
        "a stream inflates beyond 32 MiB",
    );
    refused(
        "objstm bomb",
        &objstm_bomb(),
        "a stream inflates beyond 32 MiB",
    );
    // pdf_info loads with the same bound.
    let (info, peak, _) = measured(|| pdf_info::inspect(&objstm_bomb()));
    assert_eq!(
        info.unwrap_err().reason(),
        "too large to inspect: a stream inflates beyond 32 MiB"
    );
    assert!(peak < 80 * MB, "pdf_info peak {peak}");
}

/// lopdf's bounded decoder gives up on this stream after three bytes; hayro does not.
#[test]
fn a_bomb_only_hayros_lenient_inflater_reads_is_refused() {
    let _turn = serial();
    let bytes = lenient_flate_bomb();
    let doc = Document::load_mem(&bytes).unwrap();
    let page = doc.page_iter().next().unwrap();
    let content = doc.get_page_contents(page)[0];
    let stream = doc.get_object(content).unwrap().as_stream().unwrap();
    let lopdf_sees = stream
        .decompressed_content_with_limit(32 * MB)
        .map(|v| v.len());
    assert!(!matches!(lopdf_sees, Ok(n) if n > MB), "{lopdf_sees:?}");
    refused(
        "lenient flate bomb",
        &bytes,
        "a stream inflates beyond 32 MiB",
    );
}

#[test]
fn oversized_images_are_refused_by_their_declared_and_coded_size() {
    let _turn = serial();
    refused(
        "huge image",
        &huge_image(),
        "an image of 100000×100000 pixels is too large",
    );
    refused(
        "jpeg bomb",
        &jpeg_bomb(),
        "an image of 60000×60000 pixels is too large",
    );
}

#[test]
fn forms_drawing_each_other_are_too_deep() {
    let _turn = serial();
    refused("form cycle", &form_cycle(), "nesting too deep");
}

#[test]
fn page_tree_loops_and_lying_counts_pass_and_render() {
    let _turn = serial();
    let bytes = page_tree_loop();
    passes_and_renders("page tree loop", bytes.clone());
    assert_eq!(
        check_page(&bytes, 2, &Limits::default()),
        Err(Refusal::NoPage(2))
    );
    let bytes = huge_count();
    passes_and_renders("huge count", bytes.clone());
    assert!(check_page(&bytes, 2, &Limits::default()).is_ok());
    // pdf_info counts the real pages without reserving memory for the claimed ones.
    let (info, peak, _) = measured(|| pdf_info::inspect(&bytes));
    assert_eq!(info.unwrap().pages, 2);
    assert!(peak < 8 * MB, "pdf_info peak {peak}");
}

#[test]
fn deep_nesting_neither_overflows_nor_costs_seconds_of_cpu() {
    let _turn = serial();
    let bytes = deep_nesting();
    // hayro survives 100 000 `[` but parses them in seconds (a CPU bomb): refused up front.
    refused("deep nesting", &bytes, "nesting too deep");
    let (info, _, _) = measured(|| pdf_info::inspect(&bytes));
    assert_eq!(info.unwrap().pages, 1);
}

#[test]
fn a_page_of_millions_of_operations_is_refused_before_it_is_drawn() {
    let _turn = serial();
    let mut doc = Document::with_version("1.7");
    let content = b"0 0 m 1 1 l S\n".repeat(1_000_000);
    let bytes = one_page(
        &mut doc,
        flate_stream(dictionary! {}, deflate(&content)),
        dictionary! {},
        dictionary! {},
    );
    refused(
        "three million operators",
        &bytes,
        "the page draws too many operations",
    );
}

#[test]
fn a_huge_media_box_passes_the_preflight_and_is_refused_by_the_renderer() {
    let _turn = serial();
    let bytes = huge_media_box();
    assert!(check_page(&bytes, 1, &Limits::default()).is_ok());
    let err = thumbnail::render_page(bytes, 1, thumbnail::Limits::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("page too large to render"),
        "{err}"
    );
}

#[test]
fn a_large_legitimate_page_passes() {
    let _turn = serial();
    let cost = passes_and_renders("large legit page", large_legit_page());
    assert!(cost.decoded_bytes > 24_000_000, "{cost:?}");
    assert_eq!(cost.image_pixels, 4_000_000);
    assert_eq!(cost.streams, 2);
}

/// Many small inline images in a big content stream (as bitmap fonts and old scanners write):
/// each costs its own size, not the rest of the content.
#[test]
fn many_inline_images_pass_and_an_inline_bomb_does_not() {
    let _turn = serial();
    let mut content = Vec::new();
    for i in 0..2000 {
        content.extend_from_slice(
            format!(
                "q 8 0 0 8 {} 10 cm BI /W 8 /H 8 /CS /G /BPC 8 ID\n",
                i % 190
            )
            .as_bytes(),
        );
        content.extend_from_slice(&[0x80; 64]);
        content.extend_from_slice(b"\nEI Q\n");
    }
    content.extend(std::iter::repeat_n(b' ', 4 * MB));
    let mut doc = Document::with_version("1.7");
    let bytes = one_page(
        &mut doc,
        flate_stream(dictionary! {}, deflate(&content)),
        dictionary! {},
        dictionary! {},
    );
    let cost = passes_and_renders("inline images", bytes);
    assert_eq!(cost.streams, 2001);
    let mut content = b"BI /W 100 /H 100 /CS /G /BPC 8 /F /Fl ID\n".to_vec();
    content.extend_from_slice(bomb());
    content.extend_from_slice(b"\nEI\n");
    let mut doc = Document::with_version("1.7");
    let bytes = one_page(&mut doc, plain(&content), dictionary! {}, dictionary! {});
    refused(
        "inline image bomb",
        &bytes,
        "a stream inflates beyond 32 MiB",
    );
}

#[test]
fn every_fixture_passes_except_the_unreadable_ones() {
    let _turn = serial();
    let mut names: Vec<_> = std::fs::read_dir("tests/fixtures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    names.sort();
    assert!(names.len() >= 13);
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let (result, peak, time) = measured(|| check_page(&bytes, 1, &Limits::default()));
        eprintln!(
            "{name}: {result:?}, peak {:.2} MiB, {time:?}",
            peak as f64 / MB as f64
        );
        match name.as_str() {
            "enc-password.pdf" => assert_eq!(result, Err(Refusal::Encrypted)),
            "truncated.pdf" => assert!(matches!(result, Err(Refusal::Damaged(_))), "{result:?}"),
            _ => {
                let cost = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(cost.streams >= 1, "{name}: {cost:?}");
            }
        }
    }
}

#[test]
fn the_limits_can_be_lowered() {
    let _turn = serial();
    let tight = Limits {
        max_stream_bytes: MB,
        max_page_bytes: 2 * MB,
        ..Limits::default()
    };
    let bytes = large_legit_page();
    assert_eq!(
        check_page(&bytes, 1, &tight).unwrap_err().to_string(),
        "a stream inflates beyond 1 MiB"
    );
    let loose_stream = Limits {
        max_stream_bytes: 32 * MB,
        max_page_bytes: 22 * MB,
        ..Limits::default()
    };
    assert_eq!(
        check_page(&bytes, 1, &loose_stream)
            .unwrap_err()
            .to_string(),
        "page streams inflate beyond 22 MiB"
    );
    let few = Limits {
        max_objects: 1,
        ..Limits::default()
    };
    assert_eq!(check_page(&bytes, 1, &few), Err(Refusal::TooManyObjects));
    assert_eq!(
        check_page(b"GIF89a", 1, &Limits::default()),
        Err(Refusal::NotPdf)
    );
}
