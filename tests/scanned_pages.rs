//! The scanned-page fast path (`media::scan` through `thumbnail::render_page_by`): pages that are
//! one image are decoded and resized without hayro, with the same size and orientation as
//! hayro's render of the same page (compared as downscaled greys); anything unusual falls back to
//! hayro; lying and oversized images fail or fall back within bounded memory.

#[path = "common/pdf.rs"]
mod pdf;

use std::io::Write;
use std::sync::{Mutex, MutexGuard};

use image::codecs::jpeg::JpegEncoder;
use image::ExtendedColorType;
use lopdf::{dictionary, Dictionary, Document, Object, Stream};
use peak_alloc::PeakAlloc;
use scoremate::media::thumbnail::{self, Limits, Path, RenderFailure, Rendered};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const MB: usize = 1024 * 1024;

/// Memory is measured process-wide, so every test takes its turn (one allocating beside a
/// measurement would count in its peak).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A test page image, `w`×`h`, with something in every corner told apart: a black block top
/// left, a dark grey bar along the top, a mid-grey block bottom right, staff-like lines, and in
/// colour a red block top right.
fn picture(w: u32, h: u32, components: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(w as usize * h as usize * components);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
            let grey = if fx < 0.25 && fy < 0.15 {
                0
            } else if fy < 0.05 {
                60
            } else if fx > 0.7 && fy > 0.8 {
                128
            } else if (y % 40) < 3 && fx > 0.1 && fx < 0.9 {
                20
            } else {
                255
            };
            if components == 1 {
                out.push(grey);
            } else if fx > 0.8 && fy < 0.2 {
                out.extend_from_slice(&[220, 30, 30]);
            } else {
                out.extend_from_slice(&[grey; 3]);
            }
        }
    }
    out
}

fn jpeg(w: u32, h: u32, components: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let color = if components == 1 {
        ExtendedColorType::L8
    } else {
        ExtendedColorType::Rgb8
    };
    JpegEncoder::new_with_quality(&mut out, 92)
        .encode(&picture(w, h, components), w, h, color)
        .unwrap();
    out
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn image_dict(w: u32, h: u32, color: &str, filter: Option<&str>) -> Dictionary {
    let mut d = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => i64::from(w),
        "Height" => i64::from(h),
        "ColorSpace" => color,
        "BitsPerComponent" => 8,
    };
    if let Some(f) = filter {
        d.set("Filter", f);
    }
    d
}

fn jpeg_image(w: u32, h: u32, components: usize) -> Stream {
    let color = if components == 1 {
        "DeviceGray"
    } else {
        "DeviceRGB"
    };
    Stream::new(
        image_dict(w, h, color, Some("DCTDecode")),
        jpeg(w, h, components),
    )
}

fn flate_image(w: u32, h: u32, components: usize) -> Stream {
    let color = if components == 1 {
        "DeviceGray"
    } else {
        "DeviceRGB"
    };
    Stream::new(
        image_dict(w, h, color, Some("FlateDecode")),
        deflate(&picture(w, h, components)),
    )
}

/// One page of `size` points showing `content` with the images as /Im0, /Im1, ….
fn pdf(size: (f64, f64), rotate: i64, images: Vec<Stream>, content: &str) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages = doc.new_object_id();
    let mut xobjects = Dictionary::new();
    for (i, image) in images.into_iter().enumerate() {
        let id = doc.add_object(image);
        xobjects.set(format!("Im{i}"), id);
    }
    let contents = doc.add_object(Stream::new(Dictionary::new(), content.as_bytes().to_vec()));
    let mut page = dictionary! {
        "Type" => "Page",
        "Parent" => pages,
        "MediaBox" => vec![0.into(), 0.into(), Object::Real(size.0 as f32), Object::Real(size.1 as f32)],
        "Contents" => contents,
        "Resources" => dictionary! { "XObject" => xobjects },
    };
    if rotate != 0 {
        page.set("Rotate", rotate);
    }
    let page = doc.add_object(page);
    pdf::save_one_page(&mut doc, pages, page)
}

/// The page drawn full-size, the way scanners write it.
fn full(size: (f64, f64)) -> String {
    format!("q {} 0 0 {} 0 0 cm /Im0 Do Q", size.0, size.1)
}

const A4: (f64, f64) = (595.0, 842.0);

/// Mean absolute difference of the two pictures' greys, over 8×8 blocks (0–255).
fn difference(a: &Rendered, b: &Rendered) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height), "sizes differ");
    let grey = |r: &Rendered, x: u32, y: u32| {
        let i = ((y * r.width + x) * 3) as usize;
        (f64::from(r.rgb[i]) + f64::from(r.rgb[i + 1]) + f64::from(r.rgb[i + 2])) / 3.0
    };
    let block = |r: &Rendered, bx: u32, by: u32| {
        let mut sum = 0.0;
        for y in by * 8..by * 8 + 8 {
            for x in bx * 8..bx * 8 + 8 {
                sum += grey(r, x, y);
            }
        }
        sum / 64.0
    };
    let (bw, bh) = (a.width / 8, a.height / 8);
    let mut total = 0.0;
    for by in 0..bh {
        for bx in 0..bw {
            total += (block(a, bx, by) - block(b, bx, by)).abs();
        }
    }
    total / f64::from(bw * bh)
}

/// Renders page 1 both ways: the fast path must be taken, and match hayro's picture.
fn matches_hayro(name: &str, bytes: Vec<u8>, limits: Limits) -> Rendered {
    let (fast, path) = thumbnail::render_page_by(bytes.clone(), 1, limits, true).unwrap();
    assert_eq!(path, Path::Scan, "{name}: the fast path was not taken");
    let (slow, path) = thumbnail::render_page_by(bytes, 1, limits, false).unwrap();
    assert_eq!(path, Path::Render);
    let d = difference(&fast, &slow);
    eprintln!("{name}: {}×{}, difference {d:.2}", fast.width, fast.height);
    assert!(d < 6.0, "{name}: differs from hayro's render by {d:.2}");
    fast
}

fn falls_back(name: &str, bytes: Vec<u8>) {
    let (_, path) = thumbnail::render_page_by(bytes, 1, Limits::default(), true).unwrap();
    assert_eq!(path, Path::Render, "{name}");
}

#[test]
fn a_grey_jpeg_scan_takes_the_fast_path_and_looks_like_hayros() {
    let _serial = serial();
    let bytes = pdf(A4, 0, vec![jpeg_image(620, 877, 1)], &full(A4));
    let thumb = matches_hayro("grey jpeg", bytes.clone(), Limits::default());
    assert_eq!((thumb.width, thumb.height), (320, 453));
    let page = matches_hayro("grey jpeg page", bytes, Limits::page(thumbnail::PAGE_WIDTH));
    assert_eq!(page.width, thumbnail::PAGE_WIDTH);
}

#[test]
fn an_rgb_jpeg_and_a_flate_scan_take_the_fast_path() {
    let _serial = serial();
    let thumb = matches_hayro(
        "rgb jpeg",
        pdf(A4, 0, vec![jpeg_image(620, 877, 3)], &full(A4)),
        Limits::default(),
    );
    // The red corner survives (and the PNG is then RGB).
    let i = ((10 * thumb.width + thumb.width - 10) * 3) as usize;
    assert!(
        thumb.rgb[i] > 150 && thumb.rgb[i + 1] < 100,
        "{:?}",
        &thumb.rgb[i..i + 3]
    );
    matches_hayro(
        "flate rgb",
        pdf(A4, 0, vec![flate_image(500, 700, 3)], &full(A4)),
        Limits::default(),
    );
    matches_hayro(
        "flate grey",
        pdf(A4, 0, vec![flate_image(500, 700, 1)], &full(A4)),
        Limits::default(),
    );
}

/// `jpeg_image`'s JPEG written progressive (`jpeg-encoder`; `image` writes baseline only), or
/// CMYK from the picture's greys.
fn encoded(w: u32, h: u32, color: jpeg_encoder::ColorType, progressive: bool) -> Vec<u8> {
    let pixels = match color {
        jpeg_encoder::ColorType::Luma => picture(w, h, 1),
        jpeg_encoder::ColorType::Cmyk => picture(w, h, 1)
            .into_iter()
            .flat_map(|g| [0, 0, 0, 255 - g])
            .collect(),
        _ => picture(w, h, 3),
    };
    let mut out = Vec::new();
    let mut e = jpeg_encoder::Encoder::new(&mut out, 92);
    e.set_progressive(progressive);
    e.encode(&pixels, w as u16, h as u16, color).unwrap();
    out
}

#[test]
fn progressive_jpeg_scans_take_the_fast_path_at_reduced_size() {
    let _serial = serial();
    // 1240 × 1754 (A4 at 150 dpi): decoded at 1/2 for the thumbnail, at full size (zune-jpeg)
    // for a 1240 px page image.
    for (name, color, space) in [
        ("grey", jpeg_encoder::ColorType::Luma, "DeviceGray"),
        ("rgb", jpeg_encoder::ColorType::Rgb, "DeviceRGB"),
    ] {
        let image = Stream::new(
            image_dict(1240, 1754, space, Some("DCTDecode")),
            encoded(1240, 1754, color, true),
        );
        let bytes = pdf(A4, 0, vec![image], &full(A4));
        matches_hayro(
            &format!("progressive {name}"),
            bytes.clone(),
            Limits::default(),
        );
        matches_hayro(
            &format!("progressive {name} page"),
            bytes,
            Limits::page(thumbnail::PAGE_WIDTH),
        );
    }
}

#[test]
fn an_adobe_rgb_coded_jpeg_is_read_as_hayro_reads_it() {
    let _serial = serial();
    // An Adobe APP14 "no transform" marker after the SOI: the components are R, G, B to
    // zune-jpeg and hayro, though numbered 1, 2, 3 as YCbCr's are.
    let data = jpeg(620, 877, 3);
    let mut adobe = data[..2].to_vec();
    adobe.extend_from_slice(b"\xFF\xEE\x00\x0EAdobe\x00\x64\x00\x00\x00\x00\x00");
    adobe.extend_from_slice(&data[2..]);
    let image = Stream::new(image_dict(620, 877, "DeviceRGB", Some("DCTDecode")), adobe);
    matches_hayro(
        "adobe rgb",
        pdf(A4, 0, vec![image], &full(A4)),
        Limits::default(),
    );
}

#[test]
fn a_cmyk_jpeg_is_left_to_hayro() {
    let _serial = serial();
    for progressive in [false, true] {
        let image = Stream::new(
            image_dict(620, 877, "DeviceCMYK", Some("DCTDecode")),
            encoded(620, 877, jpeg_encoder::ColorType::Cmyk, progressive),
        );
        falls_back(
            &format!("cmyk jpeg, progressive {progressive}"),
            pdf(A4, 0, vec![image], &full(A4)),
        );
    }
}

#[test]
fn the_committed_scan_fixture_takes_the_fast_path() {
    let _serial = serial();
    // Flate with a PNG predictor, as img2pdf writes a greyscale PNG.
    let bytes = std::fs::read("tests/fixtures/scanned.pdf").unwrap();
    matches_hayro("fixture", bytes.clone(), Limits::default());
    let (thumb, path) = thumbnail::page_png_by(bytes, 1, Limits::default(), true).unwrap();
    assert_eq!(path, Path::Scan);
    assert!(thumb.png.starts_with(b"\x89PNG"));
}

#[test]
fn rotation_and_flips_match_hayros_orientation() {
    let _serial = serial();
    // /Rotate 90: a landscape thumbnail.
    let r = matches_hayro(
        "rotate 90",
        pdf(A4, 90, vec![jpeg_image(620, 877, 1)], &full(A4)),
        Limits::default(),
    );
    assert!(r.width > r.height);
    for rotate in [180, 270, -90] {
        matches_hayro(
            &format!("rotate {rotate}"),
            pdf(A4, rotate, vec![jpeg_image(620, 877, 1)], &full(A4)),
            Limits::default(),
        );
    }
    // Mirrored by the matrix, left to right and top to bottom.
    matches_hayro(
        "mirrored",
        pdf(
            A4,
            0,
            vec![jpeg_image(620, 877, 1)],
            "q -595 0 0 842 595 0 cm /Im0 Do Q",
        ),
        Limits::default(),
    );
    matches_hayro(
        "upside down",
        pdf(
            A4,
            0,
            vec![jpeg_image(620, 877, 1)],
            "q 595 0 0 -842 0 842 cm /Im0 Do Q",
        ),
        Limits::default(),
    );
    // A landscape scan turned onto a portrait page by the matrix, then the page turned back.
    let turned = "q 0 842 -595 0 595 0 cm /Im0 Do Q";
    matches_hayro(
        "turned by cm",
        pdf(A4, 0, vec![jpeg_image(877, 620, 1)], turned),
        Limits::default(),
    );
    matches_hayro(
        "turned by cm and /Rotate",
        pdf(A4, 270, vec![jpeg_image(877, 620, 3)], turned),
        Limits::default(),
    );
    // Split into nested q/cm, with a little margin.
    matches_hayro(
        "nested",
        pdf(
            A4,
            0,
            vec![jpeg_image(620, 877, 1)],
            "q 1 0 0 1 2 0 cm q 593 0 0 840 0 1 cm /Im0 Do Q Q",
        ),
        Limits::default(),
    );
}

#[test]
fn a_decode_array_inverts_as_hayro_does() {
    let _serial = serial();
    let mut image = flate_image(400, 566, 1);
    image.dict.set("Decode", vec![1.into(), 0.into()]);
    matches_hayro(
        "inverted",
        pdf(A4, 0, vec![image], &full(A4)),
        Limits::default(),
    );
}

#[test]
fn anything_unusual_falls_back_to_hayro() {
    let _serial = serial();
    let grey = || jpeg_image(300, 424, 1);
    falls_back(
        "text over the image",
        pdf(A4, 0, vec![grey()], &format!("{} BT ET", full(A4))),
    );
    falls_back(
        "two images",
        pdf(
            A4,
            0,
            vec![grey(), grey()],
            &format!("{} q 100 0 0 100 0 0 cm /Im1 Do Q", full(A4)),
        ),
    );
    falls_back(
        "a path",
        pdf(
            A4,
            0,
            vec![grey()],
            &format!("{} 0 0 m 100 100 l S", full(A4)),
        ),
    );
    falls_back(
        "half the page",
        pdf(A4, 0, vec![grey()], "q 297 0 0 421 0 0 cm /Im0 Do Q"),
    );
    falls_back(
        "skewed",
        pdf(A4, 0, vec![grey()], "q 595 10 0 842 0 0 cm /Im0 Do Q"),
    );
    let mut masked = grey();
    let mask = Stream::new(
        image_dict(300, 424, "DeviceGray", None),
        vec![128; 300 * 424],
    );
    let mut doc_mask = masked.clone();
    // An /SMask (inline here as a stream object is not needed for the check).
    masked.dict.set("SMask", Object::Stream(mask));
    falls_back("soft mask", pdf(A4, 0, vec![masked], &full(A4)));
    doc_mask.dict.set("Mask", vec![0.into(), 10.into()]);
    falls_back("colour-key mask", pdf(A4, 0, vec![doc_mask], &full(A4)));
    let mut stencil = Stream::new(
        dictionary! {"Type" => "XObject", "Subtype" => "Image", "Width" => 8, "Height" => 8, "ImageMask" => true},
        vec![0x55; 8],
    );
    stencil.dict.set("Decode", vec![0.into(), 1.into()]);
    falls_back("image mask", pdf(A4, 0, vec![stencil], &full(A4)));
    let cmyk = Stream::new(
        image_dict(100, 100, "DeviceCMYK", Some("FlateDecode")),
        deflate(&[0; 100 * 100 * 4]),
    );
    falls_back("cmyk", pdf(A4, 0, vec![cmyk], &full(A4)));
    let mut sixteen = Stream::new(
        image_dict(100, 100, "DeviceGray", Some("FlateDecode")),
        deflate(&[0x80; 100 * 100 * 2]),
    );
    sixteen.dict.set("BitsPerComponent", 16);
    falls_back("16-bit", pdf(A4, 0, vec![sixteen], &full(A4)));
    let indexed = Stream::new(
        {
            let mut d = image_dict(100, 100, "DeviceGray", Some("FlateDecode"));
            d.set(
                "ColorSpace",
                vec![
                    "Indexed".into(),
                    "DeviceGray".into(),
                    1.into(),
                    Object::string_literal(vec![0u8, 255]),
                ],
            );
            d
        },
        deflate(&[1; 100 * 100]),
    );
    falls_back("indexed", pdf(A4, 0, vec![indexed], &full(A4)));
}

#[test]
fn a_jpeg_whose_header_disagrees_with_its_dictionary_is_not_decoded_here() {
    let _serial = serial();
    // The dictionary says 620×877, the JPEG 300×424: hayro's path (as the preflight allows).
    let mut lying = jpeg_image(300, 424, 1);
    lying.dict.set("Width", 620);
    lying.dict.set("Height", 877);
    let bytes = pdf(A4, 0, vec![lying], &full(A4));
    if let Ok((_, path)) = thumbnail::render_page_by(bytes, 1, Limits::default(), true) {
        assert_eq!(path, Path::Render);
    }
    // Flate samples short of what the dictionary declares.
    let mut short = flate_image(300, 424, 1);
    short.dict.set("Height", 900);
    let bytes = pdf(A4, 0, vec![short], &full(A4));
    if let Ok((_, path)) = thumbnail::render_page_by(bytes, 1, Limits::default(), true) {
        assert_eq!(path, Path::Render);
    }
}

#[test]
fn a_huge_declared_image_is_refused_before_anything_is_decoded() {
    let _serial = serial();
    // A JPEG header claiming 60000×60000 (3.6 GB decoded) behind a small dictionary, and a
    // dictionary claiming the same over a few bytes of Flate.
    let mut data = jpeg(64, 64, 1);
    let sof = data.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    data[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    let huge_jpeg = Stream::new(image_dict(64, 64, "DeviceGray", Some("DCTDecode")), data);
    let huge_flate = Stream::new(
        image_dict(60_000, 60_000, "DeviceGray", Some("FlateDecode")),
        deflate(&[0; 1000]),
    );
    for (name, image) in [("jpeg", huge_jpeg), ("flate", huge_flate)] {
        let bytes = pdf(A4, 0, vec![image], &full(A4));
        let base = HEAP.current_usage();
        HEAP.reset_peak_usage();
        let result = thumbnail::render_page_by(bytes, 1, Limits::default(), true);
        let peak = HEAP.peak_usage().saturating_sub(base);
        eprintln!(
            "{name}: {:?}, peak {:.1} MiB",
            result.as_ref().map(|r| r.1),
            peak as f64 / MB as f64
        );
        assert!(
            matches!(result, Err(RenderFailure::TooLarge(_))),
            "{name}: {result:?}"
        );
        assert!(peak < 8 * MB, "{name}: peak {peak}");
    }
}

#[test]
fn a_large_scan_holds_the_decoded_image_and_little_else() {
    let _serial = serial();
    // A4 at 300 dpi, grey: 8.7 MB decoded.
    let (w, h) = (2480, 3508);
    let bytes = pdf(A4, 0, vec![jpeg_image(w, h, 1)], &full(A4));
    let decoded = (w * h) as usize;
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let (page, path) =
        thumbnail::render_page_by(bytes.clone(), 1, Limits::default(), true).unwrap();
    let fast_peak = HEAP.peak_usage().saturating_sub(base);
    assert_eq!(path, Path::Scan);
    assert_eq!(page.width, 320);
    HEAP.reset_peak_usage();
    let base = HEAP.current_usage();
    let _ = thumbnail::render_page_by(bytes, 1, Limits::default(), false).unwrap();
    let hayro_peak = HEAP.peak_usage().saturating_sub(base);
    eprintln!(
        "decoded {:.1} MiB: fast path peak {:.1} MiB, hayro {:.1} MiB",
        decoded as f64 / MB as f64,
        fast_peak as f64 / MB as f64,
        hayro_peak as f64 / MB as f64
    );
    // Decoded at 1/4 scale (620 × 877): what remains is mostly the PDF's own bytes.
    assert!(fast_peak < decoded, "peak {fast_peak}");
}
