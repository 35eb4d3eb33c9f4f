//! Times `pdf_info` and the first-page thumbnail natively, per file.
//!
//! usage: `cargo run --release --example bench_processing -- ITERATIONS FILE...`
//! Prints `file bytes pages inspect_ms render_ms reads fetched_KiB` (means over ITERATIONS).
//! Files above the Worker's whole-file limit (32 MiB) take the Worker's path: `pdf_info` by
//! range reads from the file on disk (never loaded whole), no thumbnail. Run one such file per
//! process under `/usr/bin/time -f %M` to see the peak memory of that path.
//!
//! `… -- make-large PATH MIB PAGES` writes a PDF of about MIB MiB (each page next to a large
//! image, like a scanned score) for the large-file figures.

use std::io::{Read, Seek, SeekFrom};
use std::time::Instant;

use scoremate::config::DEFAULT_WHOLE_FILE_MAX_BYTES;
use scoremate::media::pdf_ranges::{self, RangeSource};
use scoremate::media::{pdf_info, thumbnail};

/// A file read by ranges, as R2 is by the Worker.
struct FileSource(std::cell::RefCell<std::fs::File>);

impl RangeSource for FileSource {
    type Error = std::io::Error;
    async fn read(&self, start: u64, len: u64) -> Result<Vec<u8>, std::io::Error> {
        let mut file = self.0.borrow_mut();
        file.seek(SeekFrom::Start(start))?;
        let mut out = Vec::new();
        file.by_ref().take(len).read_to_end(&mut out)?;
        Ok(out)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next().unwrap_or_default();
    if first == "make-large" {
        let path = args.next().expect("PATH");
        let mib: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
        let pages: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20);
        std::fs::write(path, make_large(pages, mib << 20)).unwrap();
        return;
    }
    let iterations: u32 = first.parse().unwrap_or(10);
    println!(
        "{:<28} {:>10} {:>6} {:>11} {:>10} {:>6} {:>12}",
        "file", "bytes", "pages", "inspect_ms", "render_ms", "reads", "fetched_KiB"
    );
    for path in args {
        let size = std::fs::metadata(&path).expect("readable file").len();
        let name = std::path::Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (pages, inspect_ms, render_ms, reads, fetched) =
            if size > u64::try_from(DEFAULT_WHOLE_FILE_MAX_BYTES).unwrap() {
                ranged(&path, size, iterations)
            } else {
                whole(&path, iterations)
            };
        println!(
            "{name:<28} {size:>10} {pages:>6} {inspect_ms:>11.2} {render_ms:>10} {reads:>6} {:>12}",
            fetched / 1024
        );
    }
}

fn whole(path: &str, iterations: u32) -> (u32, f64, String, u32, u64) {
    let bytes = std::fs::read(path).unwrap();
    let t = Instant::now();
    let mut pages = 0;
    for _ in 0..iterations {
        pages = pdf_info::inspect(&bytes).map(|i| i.pages).unwrap_or(0);
    }
    let inspect_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
    let t = Instant::now();
    for _ in 0..iterations {
        let _ = thumbnail::first_page_png(bytes.clone(), thumbnail::Limits::default());
    }
    let render_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
    let size = bytes.len() as u64;
    (pages, inspect_ms, format!("{render_ms:.2}"), 1, size)
}

fn ranged(path: &str, size: u64, iterations: u32) -> (u32, f64, String, u32, u64) {
    let mut result = None;
    let t = Instant::now();
    for _ in 0..iterations {
        let source = FileSource(std::fs::File::open(path).unwrap().into());
        let run = pdf_ranges::inspect(&source, size, pdf_ranges::Limits::default());
        result = pdf_ranges::ready(run);
    }
    let inspect_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
    match result {
        Some(Ok((info, stats))) => (
            info.pages,
            inspect_ms,
            "refused".into(),
            stats.reads,
            stats.bytes,
        ),
        other => panic!("{path}: {other:?}"),
    }
}

fn make_large(pages: usize, total: usize) -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let side = ((total / pages) as f64).sqrt() as usize;
    let mut kids = Vec::new();
    let mut noise = 0x2545_F491_u32;
    for _ in 0..pages {
        // Incompressible grey noise, like a high-resolution scan.
        let pixels: Vec<u8> = (0..side * side)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                noise as u8
            })
            .collect();
        let image = doc.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Image",
            "Width" => side as i64, "Height" => side as i64,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 },
            pixels,
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
            "Type" => "Pages", "Kids" => kids, "Count" => pages as i64,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let info = doc.add_object(dictionary! { "Title" => Object::string_literal("Large scan") });
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}
