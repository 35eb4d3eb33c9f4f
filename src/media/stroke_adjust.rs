//! `stroke_adjust`: thin black axis-aligned lines snapped to whole pixels after hayro renders,
//! as poppler's stroke adjustment draws them.
//!
//! hayro draws a hairline as a one-pixel band at its exact position, so a staff line between two
//! pixel rows becomes two mid-grey rows and a five-line staff at thumbnail size a grey band;
//! stems (filled rectangles a tenth of a pixel wide) nearly vanish. Its device is private, so
//! this works beside it: a second pass over the page's content (hayro's interpreter with a
//! device that only records) finds the opaque black hairlines — single-segment strokes and thin
//! rectangles, outside any clip, mask or group — and their pixel coverage is taken out of the
//! rendering and put back snapped. Opaque black painted over white multiplies each pixel by
//! `1 - coverage` whatever the order, so removing a line's coverage leaves exactly what the rest
//! of the page painted there (up to 8-bit rounding).

use hayro::hayro_interpret::font::GlyphRun;
use hayro::hayro_interpret::{
    interpret_page, BlendMode, ClipPath, Context, Device, DrawMode, DrawProps, Image,
    ImageDrawProps, InterpreterCache, Paint, SoftMask, StrokeProps,
};
use hayro::hayro_syntax::page::Page;
use hayro::kurbo::{Affine, BezPath, PathEl, Point, Rect};

/// Lines thinner than this (device pixels) are snapped; thicker ones are drawn well already.
const THIN: f64 = 1.5;

/// The thin black axis-aligned rectangles the page paints, in device pixels, as hayro draws
/// them (strokes already widened to hayro's one-pixel minimum).
pub(super) fn hairlines(page: &Page<'_>, transform: Affine, width: u32, height: u32) -> Vec<Rect> {
    let cache = InterpreterCache::new();
    let target = Rect::new(0.0, 0.0, f64::from(width), f64::from(height));
    let mut context = Context::new(
        transform,
        target,
        &cache,
        page.xref(),
        super::fonts::settings(),
    );
    let mut device = Collector::default();
    interpret_page(page, &mut context, &mut device);
    device.lines
}

/// Takes each line's anti-aliased coverage out of `rgba` (an opaque rendering, `width` ×
/// `height`, 4 bytes a pixel) and paints the lines back snapped to whole pixels, at least one
/// pixel thick.
pub(super) fn snap(rgba: &mut [u8], width: u32, height: u32, lines: &[Rect]) {
    let (w, h) = (f64::from(width), f64::from(height));
    let stride = width as usize;
    // Per pixel: the product of (1 - coverage) of the lines as drawn, and whether a snapped
    // line covers it.
    let mut kept = vec![1.0f32; stride * height as usize];
    let mut snapped = vec![false; kept.len()];
    for r in lines {
        let r = r.intersect(Rect::new(0.0, 0.0, w, h));
        if r.width() <= 0.0 || r.height() <= 0.0 {
            continue;
        }
        for (y, x, cover) in covered(r) {
            kept[y * stride + x] *= 1.0 - cover;
        }
        let s = whole_pixels(r, w, h);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "whole pixels inside the pixmap"
        )]
        for y in s.y0 as usize..s.y1 as usize {
            snapped[y * stride + s.x0 as usize..y * stride + s.x1 as usize].fill(true);
        }
    }
    for ((px, k), s) in rgba.chunks_exact_mut(4).zip(&kept).zip(&snapped) {
        if *s {
            px[..3].fill(0);
        } else if *k < 1.0 {
            for c in &mut px[..3] {
                // Where the lines covered nearly all of a pixel, what lay under them is
                // unknowable: the page's background (white) is the likeliest.
                *c = if *k > 0.05 {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "clamped to a byte"
                    )]
                    let v = (f32::from(*c) / k).round().min(255.0) as u8;
                    v
                } else {
                    255
                };
            }
        }
    }
}

/// Pixels a rectangle touches with the share of each it covers (exact area, as the rasterizer).
fn covered(r: Rect) -> impl Iterator<Item = (usize, usize, f32)> {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "r is clipped to the (small) pixmap"
    )]
    let (x0, x1, y0, y1) = (
        r.x0.floor() as usize,
        r.x1.ceil() as usize,
        r.y0.floor() as usize,
        r.y1.ceil() as usize,
    );
    (y0..y1).flat_map(move |y| {
        (x0..x1).map(move |x| {
            #[expect(clippy::cast_precision_loss, reason = "small pixel indices")]
            let (px, py) = (x as f64, y as f64);
            let cx = (r.x1.min(px + 1.0) - r.x0.max(px)).max(0.0);
            let cy = (r.y1.min(py + 1.0) - r.y0.max(py)).max(0.0);
            #[expect(clippy::cast_possible_truncation, reason = "a share in 0..=1")]
            (y, x, (cx * cy) as f32)
        })
    })
}

/// A rectangle's edges rounded to pixel boundaries, at least one pixel each way (the pixel
/// holding the centre when rounding leaves none).
fn whole_pixels(r: Rect, w: f64, h: f64) -> Rect {
    let span = |a: f64, b: f64, max: f64| {
        let (a0, b0) = (a.round(), b.round());
        if b0 > a0 {
            (a0, b0)
        } else {
            let p = ((a + b) / 2.0).floor().clamp(0.0, max - 1.0);
            (p, p + 1.0)
        }
    };
    let (x0, x1) = span(r.x0, r.x1, w);
    let (y0, y1) = span(r.y0, r.y1, h);
    Rect::new(x0, y0, x1, y1)
}

/// A device that only records the hairlines (see the module's note on what qualifies).
#[derive(Default)]
struct Collector {
    lines: Vec<Rect>,
    /// Open clips and groups: inside one, what is visible is not known here.
    depth: usize,
}

impl Collector {
    fn eligible(&self, props: &DrawProps<'_>) -> bool {
        self.depth == 0
            && props.soft_mask.is_none()
            && matches!(props.blend_mode, BlendMode::Normal)
            && matches!(&props.paint, Paint::Color(c) if c.to_rgba().to_rgba8() == [0, 0, 0, 255])
    }

    fn fill(&mut self, path: &BezPath, transform: Affine) {
        if let Some(r) = axis_rect(path, transform) {
            if r.width().min(r.height()) < THIN {
                self.lines.push(r);
            }
        }
    }

    fn stroke(&mut self, path: &BezPath, transform: Affine, stroke: &StrokeProps) {
        if !stroke.dash_array.is_empty() {
            return;
        }
        // hayro widens a stroke to at least one device pixel (the PDF's minimum line width).
        let scale = transform.as_coeffs()[..4]
            .iter()
            .fold(0.0f64, |m, c| m.max(c.abs()));
        let width = (f64::from(stroke.line_width) * scale).max(1.0);
        if width >= THIN {
            return;
        }
        let half = width / 2.0;
        if let Some((a, b)) = segment(path) {
            let (a, b) = (transform * a, transform * b);
            // Caps of a one-pixel line look square (hayro draws round ones so).
            let cap = if matches!(stroke.line_cap, hayro::kurbo::Cap::Butt) {
                0.0
            } else {
                half
            };
            if (a.y - b.y).abs() < 1e-6 {
                let (x0, x1) = (a.x.min(b.x), a.x.max(b.x));
                self.lines
                    .push(Rect::new(x0 - cap, a.y - half, x1 + cap, a.y + half));
            } else if (a.x - b.x).abs() < 1e-6 {
                let (y0, y1) = (a.y.min(b.y), a.y.max(b.y));
                self.lines
                    .push(Rect::new(a.x - half, y0 - cap, a.x + half, y1 + cap));
            }
        } else if let Some(r) = axis_rect(path, transform) {
            // A stroked thin rectangle (LilyPond's stems) covers the rectangle grown by half the
            // pen all round.
            if r.width().min(r.height()) < THIN {
                self.lines.push(r.inflate(half, half));
            }
        }
    }
}

/// The two ends of a path that is one straight segment.
fn segment(path: &BezPath) -> Option<(Point, Point)> {
    match path.elements() {
        [PathEl::MoveTo(a), PathEl::LineTo(b)] => Some((*a, *b)),
        _ => None,
    }
}

/// The device rectangle a path is, when it is one axis-aligned rectangle.
fn axis_rect(path: &BezPath, transform: Affine) -> Option<Rect> {
    let points: Vec<Point> = match path.elements() {
        [PathEl::MoveTo(a), PathEl::LineTo(b), PathEl::LineTo(c), PathEl::LineTo(d), rest @ ..]
            if rest
                .iter()
                .all(|e| matches!(e, PathEl::ClosePath | PathEl::LineTo(_))) =>
        {
            if rest.len() > 2 {
                return None;
            }
            if let [PathEl::LineTo(e), ..] = rest {
                if e.distance(*a) > 1e-6 {
                    return None;
                }
            }
            [*a, *b, *c, *d].iter().map(|p| transform * *p).collect()
        }
        _ => return None,
    };
    let bbox = points
        .iter()
        .fold(Rect::from_points(points[0], points[0]), |r, p| {
            r.union_pt(*p)
        });
    let on_edge = |p: &Point| {
        ((p.x - bbox.x0).abs() < 1e-6 || (p.x - bbox.x1).abs() < 1e-6)
            && ((p.y - bbox.y0).abs() < 1e-6 || (p.y - bbox.y1).abs() < 1e-6)
    };
    points.iter().all(on_edge).then_some(bbox)
}

impl<'a> Device<'a> for Collector {
    fn draw_path(&mut self, path: &BezPath, props: DrawProps<'a>, draw_mode: &DrawMode) {
        if !self.eligible(&props) {
            return;
        }
        match draw_mode {
            DrawMode::Fill(_) => self.fill(path, props.transform),
            DrawMode::Stroke(s) => self.stroke(path, props.transform, s),
            DrawMode::FillAndStroke(_, s) => {
                self.fill(path, props.transform);
                self.stroke(path, props.transform, s);
            }
            DrawMode::Invisible => {}
        }
    }

    fn push_clip_path(&mut self, _: &ClipPath) {
        self.depth += 1;
    }

    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {
        self.depth += 1;
    }

    fn draw_glyph_run(&mut self, _: &GlyphRun<'_, 'a>, _: DrawProps<'a>, _: &DrawMode) {}

    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {}

    fn pop_clip(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn pop_transparency_group(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}
