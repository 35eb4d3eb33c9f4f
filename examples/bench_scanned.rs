//! The scanned-page fast path against hayro on the same page, natively (bench/scanned.sh).
//!
//! `… -- make DIR` writes scanned scores, one page each: an A4 page at 300 dpi in grey and at
//! 200 dpi in colour (JPEG, as scanners write them) and a grey one as Flate samples, each also as
//! `…-hayro.pdf`, the same page with an empty text object after the image (`BT ET`: nothing
//! drawn, but no longer a plain scan), which the Worker renders with hayro.
//! `… -- ITERATIONS FILE...` prints the mean thumbnail time of each file through the fast path
//! and through hayro (`render_page_by`, scans off).

#[path = "../tests/common/pdf.rs"]
mod pdf;

use std::io::Write;
use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::ExtendedColorType;
use lopdf::{dictionary, Document, Object, Stream};
use scoremate::media::thumbnail::{self, Limits, Path};

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next().unwrap_or_default();
    if first == "make" {
        let dir = args.next().expect("DIR");
        make(std::path::Path::new(&dir));
        return;
    }
    let iterations: u32 = first.parse().unwrap_or(10);
    println!(
        "{:<24} {:>9} {:>9} {:>10} {:>7}",
        "file", "bytes", "fast_ms", "hayro_ms", "ratio"
    );
    for path in args {
        let bytes = std::fs::read(&path).unwrap();
        let name = std::path::Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let time = |scans: bool| {
            let mut path_taken = Path::Render;
            let t = Instant::now();
            for _ in 0..iterations {
                let (_, p) =
                    thumbnail::page_png_by(bytes.clone(), 1, Limits::default(), scans).unwrap();
                path_taken = p;
            }
            (
                t.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations),
                path_taken,
            )
        };
        let (fast, path_taken) = time(true);
        let (hayro, _) = time(false);
        let fast = if path_taken == Path::Scan {
            format!("{fast:.2}")
        } else {
            "(hayro)".into()
        };
        let ratio = fast
            .parse::<f64>()
            .map_or_else(|_| "-".into(), |f| format!("{:.2}", f / hayro));
        println!(
            "{name:<24} {:>9} {fast:>9} {hayro:>10.2} {ratio:>7}",
            bytes.len()
        );
    }
}

/// A page of printed music as a scanner sees it: staves, noteheads, stems, a little paper
/// noise. `components` 1 (grey) or 3 (colour, a cream paper tint).
fn page(w: u32, h: u32, components: usize) -> Vec<u8> {
    let mut noise = 0x2545_F491_u32;
    let staff_gap = h / 120;
    let system = staff_gap * 14;
    let mut out = Vec::with_capacity(w as usize * h as usize * components);
    for y in 0..h {
        for x in 0..w {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let in_margin = x < w / 12 || x > w - w / 12 || y < h / 14 || y > h - h / 14;
            let sy = y % system;
            let line = sy < staff_gap * 5 && sy % staff_gap < 3;
            let column = x / (w / 40);
            let head_y = (column * 7919) % (staff_gap * 5);
            let dx = (x % (w / 40)) as i64 - (w / 80) as i64;
            let dy = sy as i64 - head_y as i64;
            let head = dx * dx * 4 + dy * dy * 9 < (staff_gap * staff_gap * 2) as i64;
            let stem = dx.abs() < 2 && dy < 0 && dy > -((staff_gap * 3) as i64);
            let ink = !in_margin && (line || head || stem);
            let paper = 235 + (noise % 20) as u8;
            let v = if ink { 25 + (noise % 40) as u8 } else { paper };
            if components == 1 {
                out.push(v);
            } else {
                out.extend_from_slice(&[v, v.saturating_sub(4), v.saturating_sub(14)]);
            }
        }
    }
    out
}

fn make(dir: &std::path::Path) {
    let jpeg = |w: u32, h: u32, components: usize| {
        let mut out = Vec::new();
        let color = if components == 1 {
            ExtendedColorType::L8
        } else {
            ExtendedColorType::Rgb8
        };
        JpegEncoder::new_with_quality(&mut out, 85)
            .encode(&page(w, h, components), w, h, color)
            .unwrap();
        out
    };
    let flate = |w: u32, h: u32| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&page(w, h, 1)).unwrap();
        e.finish().unwrap()
    };
    let scans = [
        (
            "scan-grey-300dpi",
            2480,
            3508,
            "DeviceGray",
            Some("DCTDecode"),
            jpeg(2480, 3508, 1),
        ),
        (
            "scan-rgb-200dpi",
            1654,
            2339,
            "DeviceRGB",
            Some("DCTDecode"),
            jpeg(1654, 2339, 3),
        ),
        (
            "scan-flate-200dpi",
            1654,
            2339,
            "DeviceGray",
            Some("FlateDecode"),
            flate(1654, 2339),
        ),
    ];
    for (name, w, h, color, filter, data) in scans {
        for (suffix, extra) in [("", ""), ("-hayro", " BT ET")] {
            let mut dict = dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w, "Height" => h,
                "ColorSpace" => color, "BitsPerComponent" => 8,
            };
            if let Some(f) = filter {
                dict.set("Filter", f);
            }
            let content = format!("q 595.28 0 0 841.89 0 0 cm /Im0 Do Q{extra}");
            std::fs::write(
                dir.join(format!("{name}{suffix}.pdf")),
                one_page(Stream::new(dict, data.clone()), &content),
            )
            .unwrap();
        }
    }
}

fn one_page(image: Stream, content: &str) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages = doc.new_object_id();
    let image = doc.add_object(image);
    let content = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "Contents" => content,
        "MediaBox" => vec![0.into(), 0.into(), Object::Real(595.28), Object::Real(841.89)],
        "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image } },
    });
    pdf::save_one_page(&mut doc, pages, page)
}
