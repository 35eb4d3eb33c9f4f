//! Times `pdf_info` and the first-page thumbnail natively, per file.
//! usage: cargo run --release --example bench_processing -- ITERATIONS FILE...
//! Prints `file bytes pages inspect_ms render_ms` (means over ITERATIONS).

use std::time::Instant;

use scoremate::media::{pdf_info, thumbnail};

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    println!(
        "{:<28} {:>10} {:>6} {:>11} {:>10}",
        "file", "bytes", "pages", "inspect_ms", "render_ms"
    );
    for path in args {
        let bytes = std::fs::read(&path).expect("readable file");
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
        let name = std::path::Path::new(&path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{name:<28} {:>10} {pages:>6} {inspect_ms:>11.2} {render_ms:>10.2}",
            bytes.len()
        );
    }
}
