//! Thumbnail format measurement: the same first-page renderings encoded as RGB PNG (the
//! renderer's own encoder), greyscale PNG (what ScoreMate stores when a page has no colour) and
//! lossless WebP (`image-webp`, the only pure-Rust WebP encoder; it has no lossy mode).
//!
//! `cargo run --release --example thumbnail_formats [PDF…]` (defaults to the fixtures).

use std::time::Instant;

use scoremate::media::thumbnail::{encode_png, render_page, Limits};

fn main() {
    let mut files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        files = ["base.pdf", "scanned.pdf", "rotated-first.pdf"]
            .iter()
            .map(|f| format!("tests/fixtures/{f}"))
            .collect();
    }
    println!("file\tpixels\trgb_png_B\tgrey_png_B\twebp_lossless_B\tpng_ms\twebp_ms");
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let page = render_page(bytes, 1, Limits::default()).unwrap();
        let rgb_png = {
            let mut out = Vec::new();
            let mut e = png::Encoder::new(&mut out, page.width, page.height);
            e.set_color(png::ColorType::Rgb);
            e.set_depth(png::BitDepth::Eight);
            let mut w = e.write_header().unwrap();
            w.write_image_data(&page.rgb).unwrap();
            w.finish().unwrap();
            out
        };
        let t = Instant::now();
        let grey = encode_png(&page).unwrap();
        let png_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let mut webp = Vec::new();
        image_webp::WebPEncoder::new(&mut webp)
            .encode(
                &page.rgb,
                page.width,
                page.height,
                image_webp::ColorType::Rgb8,
            )
            .unwrap();
        let webp_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{file}\t{}x{}\t{}\t{}\t{}\t{png_ms:.2}\t{webp_ms:.2}",
            page.width,
            page.height,
            rgb_png.len(),
            grey.len(),
            webp.len()
        );
    }
}
