//! Where a thumbnail's time goes, natively: the preflight, hayro's rendering alone, the whole
//! render (with the stroke-adjustment pass) and the PNG encoding, per file.
//!
//! usage: `cargo run --release --example thumbnail_profile -- ITERATIONS FILE...`

use std::time::Instant;

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{render, PixmapSettings, RenderCache, RenderSettings};
use scoremate::media::{preflight, thumbnail};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    println!("file                     preflight_ms hayro_ms render_page_ms png_ms");
    for path in args {
        let bytes = std::fs::read(&path).unwrap();
        let limits = thumbnail::Limits::default();
        let time = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
        };
        let pre = time(&mut || {
            preflight::check_page(&bytes, 1, &limits.decode).unwrap();
        });
        let hayro_only = time(&mut || {
            let pdf = Pdf::new(bytes.clone()).unwrap();
            let pages = pdf.pages();
            let page = &pages[0];
            let scale = 320.5 / page.render_dimensions().0;
            let settings = PixmapSettings {
                x_scale: scale,
                y_scale: scale,
                bg_color: WHITE,
            };
            let cache = RenderCache::new();
            let interpreter = InterpreterSettings::default();
            render(
                page,
                &cache,
                &interpreter,
                &RenderSettings::default(),
                &settings,
            );
        });
        let whole = time(&mut || {
            thumbnail::render_page(bytes.clone(), 1, limits).unwrap();
        });
        let page = thumbnail::render_page(bytes.clone(), 1, limits).unwrap();
        let png = time(&mut || {
            thumbnail::encode_png(&page).unwrap();
        });
        let name = std::path::Path::new(&path)
            .file_name()
            .unwrap()
            .to_string_lossy();
        println!("{name:<24} {pre:>12.2} {hayro_only:>8.2} {whole:>14.2} {png:>6.2}");
    }
}
