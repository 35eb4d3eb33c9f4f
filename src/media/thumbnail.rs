//! `thumbnail`: the first page rendered to a PNG about 320 px wide, with hayro (pure Rust: vector
//! engravings, scanned images, rotation, empty-password encryption).
//!
//! Rendering has explicit limits: input bytes (checked by the caller before loading), page area
//! and output pixels. Exceeding one is a permanent failure with a reason.

use hayro::hayro_interpret::TransformExt;
use hayro::hayro_syntax::{LoadPdfError, Pdf};
use hayro::kurbo::Affine;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{Pixmap, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{render_into, RenderCache, RenderSettings};

pub use super::scan::Path;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Target width of the thumbnail in pixels.
    pub width: u32,
    /// The thumbnail is never taller than this (very tall pages are scaled to fit).
    pub max_height: u32,
    /// Largest page accepted, in square points (a 200 in × 200 in page is 2.07e8).
    pub max_page_area: f64,
    /// What the page may make the renderer decode (checked before it renders).
    pub decode: super::preflight::Limits,
}

pub use super::PAGE_WIDTH;

impl Limits {
    /// A page image `width` pixels wide, never taller than twice that.
    pub fn page(width: u32) -> Self {
        Self {
            width,
            max_height: width.saturating_mul(2),
            ..Self::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            width: 320,
            max_height: 1280,
            max_page_area: 14_400.0 * 14_400.0,
            decode: super::preflight::Limits::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderFailure {
    #[error("not a PDF")]
    NotPdf,
    #[error("encrypted with a password")]
    Encrypted,
    #[error("damaged file: {0}")]
    Damaged(String),
    #[error("page too large to render: {0}")]
    TooLarge(String),
    #[error("the file has no page {0}")]
    NoPage(usize),
}

/// Renders the first page to a PNG: greyscale when every pixel is grey (engraved and most
/// scanned music), which is about a third of the RGB size (see `examples/thumbnail_formats.rs`).
///
/// # Errors
/// Why it cannot be rendered; every variant is permanent.
pub fn first_page_png(bytes: Vec<u8>, limits: Limits) -> Result<Thumbnail, RenderFailure> {
    page_png(bytes, 1, limits)
}

/// Renders page `number` (1-based) to a PNG, as [`first_page_png`].
///
/// # Errors
/// Why it cannot be rendered; every variant is permanent.
pub fn page_png(bytes: Vec<u8>, number: usize, limits: Limits) -> Result<Thumbnail, RenderFailure> {
    let page = render_page(bytes, number, limits)?;
    let png =
        encode_png(&page).map_err(|e| RenderFailure::Damaged(format!("PNG encoding: {e}")))?;
    Ok(Thumbnail {
        png,
        width: page.width,
        height: page.height,
    })
}

/// An opaque rendering: RGB, 8 bits per channel, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub rgb: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// PNG of `page`, greyscale when no pixel has colour.
///
/// # Errors
/// The encoder's (only on inconsistent dimensions).
pub fn encode_png(page: &Rendered) -> Result<Vec<u8>, png::EncodingError> {
    let grey = page
        .rgb
        .chunks_exact(3)
        .all(|p| p[0] == p[1] && p[1] == p[2]);
    let (color, data) = if grey {
        let luma: Vec<u8> = page.rgb.chunks_exact(3).map(|p| p[0]).collect();
        (png::ColorType::Grayscale, luma)
    } else {
        (png::ColorType::Rgb, page.rgb.clone())
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, page.width, page.height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&data)?;
    writer.finish()?;
    Ok(out)
}

/// Renders page `number` (1-based) on white, about `limits.width` pixels wide.
///
/// # Errors
/// Why it cannot be rendered; every variant is permanent.
pub fn render_page(
    bytes: Vec<u8>,
    number: usize,
    limits: Limits,
) -> Result<Rendered, RenderFailure> {
    render_page_by(bytes, number, limits, true).map(|(page, _)| page)
}

/// [`page_png`], saying which way the picture was made; `scans` false always renders with hayro
/// (the benchmark's and the tests' comparison).
///
/// # Errors
/// As [`page_png`].
pub fn page_png_by(
    bytes: Vec<u8>,
    number: usize,
    limits: Limits,
    scans: bool,
) -> Result<(Thumbnail, Path), RenderFailure> {
    let (page, path) = render_page_by(bytes, number, limits, scans)?;
    let png =
        encode_png(&page).map_err(|e| RenderFailure::Damaged(format!("PNG encoding: {e}")))?;
    let thumbnail = Thumbnail {
        png,
        width: page.width,
        height: page.height,
    };
    Ok((thumbnail, path))
}

/// [`render_page`]: a page that is one scanned image is decoded and resized without the
/// renderer ([`super::scan`]); `scans` false always renders with hayro.
///
/// # Errors
/// As [`render_page`].
pub fn render_page_by(
    bytes: Vec<u8>,
    number: usize,
    limits: Limits,
    scans: bool,
) -> Result<(Rendered, Path), RenderFailure> {
    use super::preflight::Refusal;
    if !super::has_pdf_header(&bytes) {
        return Err(RenderFailure::NotPdf);
    }
    let refused = |refusal| match refusal {
        Refusal::NotPdf => RenderFailure::NotPdf,
        Refusal::Encrypted => RenderFailure::Encrypted,
        Refusal::Damaged(why) => RenderFailure::Damaged(why),
        Refusal::NoPage(n) => RenderFailure::NoPage(n),
        limit => RenderFailure::TooLarge(limit.to_string()),
    };
    let doc = super::preflight::load(&bytes, &limits.decode).map_err(refused)?;
    if scans {
        // A plain scan is one image whose decoding the scan path bounds itself (the same
        // limits): the preflight's walk, which would inflate the image once more, is not needed.
        if let Some(scan) = super::scan::detect(&doc, number) {
            let (w, h) = scan.page_size();
            let size = pixel_size(w, h, &limits)?;
            if let Some(page) = super::scan::render(&doc, &scan, size, &limits.decode) {
                return Ok((page, Path::Scan));
            }
        }
    }
    // hayro decodes without bounds: the preflight proves, in bounded memory, that this page
    // cannot make it decode more than the limits allow.
    super::preflight::check_loaded(&doc, number, &limits.decode).map_err(refused)?;
    drop(doc);
    let pdf = Pdf::new(bytes).map_err(|e| match e {
        LoadPdfError::Decryption(_) => RenderFailure::Encrypted,
        LoadPdfError::Invalid => RenderFailure::Damaged("unreadable structure".into()),
    })?;
    let pages = pdf.pages();
    if pages.is_empty() {
        return Err(RenderFailure::Damaged("no pages found".into()));
    }
    let page = number
        .checked_sub(1)
        .and_then(|i| pages.get(i))
        .ok_or(RenderFailure::NoPage(number))?;
    // Dimensions with /Rotate applied, so a landscape page gives a landscape thumbnail.
    let (w, h) = page.render_dimensions();
    let scale = scale(w, h, &limits)?;
    let pixmap = render_snapped(page, scale);
    let (width, height) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
    // On an opaque white background premultiplied and straight alpha are the same.
    let rgb = pixmap
        .data_as_u8_slice()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok((Rendered { rgb, width, height }, Path::Render))
}

/// The scale from points to pixels for a `w`×`h` page (with /Rotate applied), or why the page
/// is refused.
fn scale(w: f32, h: f32, limits: &Limits) -> Result<f32, RenderFailure> {
    let (w, h) = (f64::from(w), f64::from(h));
    if !(w.is_finite() && h.is_finite()) || w < 1.0 || h < 1.0 {
        return Err(RenderFailure::Damaged(format!("page size {w}×{h}")));
    }
    if w * h > limits.max_page_area {
        return Err(RenderFailure::TooLarge(format!("{w:.0}×{h:.0} points")));
    }
    // The renderer truncates width × scale to whole pixels; aiming half a pixel over lands on
    // exactly the target.
    let scale = ((f64::from(limits.width) + 0.5) / w).min((f64::from(limits.max_height) + 0.5) / h);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "scale is a small positive factor"
    )]
    Ok(scale as f32)
}

/// The pixel size hayro gives a `w`×`h` page (it truncates each side × scale), so both paths
/// make pictures of the same size.
fn pixel_size(w: f32, h: f32, limits: &Limits) -> Result<(u32, u32), RenderFailure> {
    let scale = scale(w, h, limits)?;
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "as hayro sizes its pixmap"
    )]
    let size = (u32::from((w * scale) as u16), u32::from((h * scale) as u16));
    Ok(size)
}

/// hayro's `render` at `scale` on white, with thin black lines snapped to whole pixels (see
/// [`super::stroke_adjust`]).
fn render_snapped(page: &hayro::hayro_syntax::page::Page<'_>, scale: f32) -> Pixmap {
    let (w, h) = page.render_dimensions();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "bounded by the limits checked before"
    )]
    let (width, height) = ((w * scale) as u16, (h * scale) as u16);
    let transform = Affine::scale(f64::from(scale)) * page.initial_transform(true).to_kurbo();
    let mut ctx = RenderContext::new(width, height);
    render_into(
        page,
        &RenderCache::new(),
        &super::fonts::settings(),
        &RenderSettings::default(),
        &mut ctx,
        transform,
    );
    ctx.flush();
    let mut pixmap = Pixmap::new(width, height);
    ctx.render_with(
        &mut pixmap,
        &mut Resources::default(),
        RasterizerSettings {
            target_init: TargetInit::Clear(WHITE),
            ..RasterizerSettings::default()
        },
    );
    let lines = super::stroke_adjust::hairlines(page, transform, width.into(), height.into());
    super::stroke_adjust::snap(
        pixmap.data_as_u8_slice_mut(),
        width.into(),
        height.into(),
        &lines,
    );
    pixmap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_pdf() {
        assert_eq!(
            first_page_png(b"hello".to_vec(), Limits::default()),
            Err(RenderFailure::NotPdf)
        );
    }

    #[test]
    fn rendering_never_panics_on_mutated_input() {
        // Objects on lines of their own: without a cross-reference table lopdf (the preflight)
        // finds objects only at line starts, and refuses what it cannot find.
        let base = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 300]/Contents 4 0 R>>endobj\n4 0 obj<</Length 23>>stream\n0 0 m 100 100 l S 1 w\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec();
        assert!(first_page_png(base.clone(), Limits::default()).is_ok());
        let mut state = 0x9E37_79B9_u32;
        for _ in 0..200 {
            let mut m = base.clone();
            for _ in 0..6 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = (state as usize) % m.len();
                m[i] = (state >> 8) as u8;
            }
            let _ = first_page_png(m, Limits::default());
        }
    }

    #[test]
    fn an_unreadable_pdf_is_damaged() {
        let err =
            first_page_png(b"%PDF-1.7\nnonsense\n%%EOF".to_vec(), Limits::default()).unwrap_err();
        assert!(matches!(err, RenderFailure::Damaged(_)), "{err:?}");
    }
}
