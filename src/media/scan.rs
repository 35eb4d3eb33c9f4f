//! `scan`: a scanned page made into a picture without the renderer.
//!
//! A scanned score's page is one image drawn over the whole page and nothing else. Rendering it
//! with hayro decodes the image and then resamples it through the whole vector pipeline; decoding
//! it with the `image` crate and averaging it down to the target size gives the same picture in
//! a fraction of the time. Only the plain case is taken: one 8-bit grey or RGB image (JPEG, or
//! Flate/LZW/uncompressed samples), axis-aligned over the page within a small margin, no mask,
//! no text or other painting, no annotations. Anything else is left to hayro ([`detect`] says
//! no), and so is any image whose data disagrees with its dictionary ([`render`] says no).
//!
//! A JPEG is decoded at reduced size where that still covers the output: `jpeg-decoder` runs its
//! inverse DCT at 1/2, 1/4 or 1/8 scale (the 8×8 block's low frequencies only), so a 300 dpi page
//! made into a 320 px thumbnail is decoded at 620 px wide, not 2480. The colour model it applies
//! is zune-jpeg's verdict on the same header (hayro's decoder), so both read the markers alike;
//! any JPEG it cannot take at a reduced scale is decoded at full size with zune-jpeg as before.
//!
//! Memory: the preflight has already bounded the page (the image's declared size included);
//! here the declared size is checked again against the same limit before decoding, and the
//! decoded image plus the output are all that is held.

use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::{ColorType, ImageBuffer, ImageDecoder, Luma, Pixel, Rgb};
use jpeg_decoder::{CodingProcess, ColorTransform, PixelFormat};
use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, Stream};
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;

use super::pdf_info::{self, inherited, number};
use super::preflight::decode::{self, Filter};
use super::preflight::Limits;
use super::thumbnail::Rendered;

/// The most content-stream bytes (raw) and operators a scanned page's content has: a scanner
/// writes `q W 0 0 H 0 0 cm /Im0 Do Q`; a longer stream is not this case, and is not decoded.
const MAX_CONTENT_BYTES: usize = 4096;
const MAX_OPERATORS: usize = 32;

/// How far (as a fraction of the page) the image's edges may sit from the page's.
const MARGIN: f64 = 0.02;

/// How far an edge of the image may lean, as a fraction of the page.
const SKEW: f64 = 0.001;

/// Where one axis of the image (its rows' direction, or its columns') points on the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Right,
    Left,
    Down,
    Up,
}

impl Dir {
    fn horizontal(self) -> bool {
        matches!(self, Self::Right | Self::Left)
    }

    /// The index along this axis of output pixel (x, y) in a `w`×`h` output.
    fn index(self, x: u32, y: u32, w: u32, h: u32) -> u32 {
        match self {
            Self::Right => x,
            Self::Left => w - 1 - x,
            Self::Down => y,
            Self::Up => h - 1 - y,
        }
    }
}

/// A page found to be one image over the whole page.
#[derive(Debug)]
pub(super) struct Scan<'a> {
    image: &'a Stream,
    width: u32,
    height: u32,
    /// 1 (grey) or 3 (RGB) samples per pixel, 8 bits each.
    components: u32,
    /// `/Decode [1 0 …]`: the samples are inverted.
    invert: bool,
    /// Where the image's x axis (along a row) and y axis (down its rows) go on the output.
    u: Dir,
    v: Dir,
    /// The page's size in points as shown (after /Rotate), as hayro measures it.
    shown: (f32, f32),
}

impl Scan<'_> {
    /// Width and height of the page as shown, in points.
    pub(super) fn page_size(&self) -> (f32, f32) {
        self.shown
    }
}

/// A PDF affine matrix `[a b c d e f]`.
type Matrix = [f64; 6];

fn multiply(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    doc.dereference(obj).map_or(obj, |(_, o)| o)
}

fn get<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get(key).ok().map(|o| deref(doc, o))
}

/// A rectangle `[x0 y0 x1 y1]`, normalised.
fn rect(doc: &Document, obj: &Object) -> Option<[f64; 4]> {
    let Object::Array(a) = obj else { return None };
    let v: Vec<f64> = a.iter().filter_map(|o| number(doc, o)).collect();
    let [x0, y0, x1, y1] = v[..] else { return None };
    Some([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)])
}

/// Whether page `number` (1-based) is a plain scan, and how its image lies on the output.
pub(super) fn detect(doc: &Document, page_number: usize) -> Option<Scan<'_>> {
    let (ids, _) = pdf_info::page_ids(doc, page_number);
    let id = *ids.get(page_number.checked_sub(1)?)?;
    let page = doc.get_dictionary(id).ok()?;
    // Annotations can paint (appearance streams); hayro draws them.
    if matches!(get(doc, page, b"Annots"), Some(Object::Array(a)) if !a.is_empty()) {
        return None;
    }
    // The visible box as hayro takes it: the crop box within the media box.
    let media = rect(doc, inherited(doc, id, b"MediaBox")?)?;
    let crop = inherited(doc, id, b"CropBox")
        .and_then(|c| rect(doc, c))
        .map_or(media, |c| {
            [
                c[0].max(media[0]),
                c[1].max(media[1]),
                c[2].min(media[2]),
                c[3].min(media[3]),
            ]
        });
    let (bw, bh) = (crop[2] - crop[0], crop[3] - crop[1]);
    if !(bw >= 1.0 && bh >= 1.0) {
        return None;
    }
    let rotate = match inherited(doc, id, b"Rotate").map(|r| number(doc, r)) {
        None => 0,
        Some(Some(r)) if r.fract() == 0.0 && (r as i64) % 90 == 0 => (r as i64).rem_euclid(360),
        Some(_) => return None,
    };
    let (name, ctm) = single_image(&content(doc, page)?)?;
    let resources = inherited(doc, id, b"Resources").and_then(|r| r.as_dict().ok())?;
    let xobjects = get(doc, resources, b"XObject")?.as_dict().ok()?;
    let Object::Stream(image) = get(doc, xobjects, &name)? else {
        return None;
    };
    let (width, height, components, invert) = plain_image(doc, image)?;

    // Image space (u right, v down, over the unit square) → user space → the page box, y down →
    // the output after /Rotate (clockwise), all in fractions of the output.
    let place = |u: f64, v: f64| {
        let (x, y) = (u, 1.0 - v);
        let ux = ctm[0] * x + ctm[2] * y + ctm[4];
        let uy = ctm[1] * x + ctm[3] * y + ctm[5];
        let (nx, ny) = ((ux - crop[0]) / bw, (crop[3] - uy) / bh);
        match rotate {
            90 => (1.0 - ny, nx),
            180 => (1.0 - nx, 1.0 - ny),
            270 => (ny, 1.0 - nx),
            _ => (nx, ny),
        }
    };
    let origin = place(0.0, 0.0);
    let (pu, pv) = (place(1.0, 0.0), place(0.0, 1.0));
    let u = axis((pu.0 - origin.0, pu.1 - origin.1))?;
    let v = axis((pv.0 - origin.0, pv.1 - origin.1))?;
    if u.horizontal() == v.horizontal() {
        return None;
    }
    // The image's first pixel sits in the corner its axes start from.
    let corner = |d: Dir, along: f64| match d {
        Dir::Right | Dir::Down => along.abs() <= MARGIN,
        Dir::Left | Dir::Up => (along - 1.0).abs() <= MARGIN,
    };
    let (h_dir, v_dir) = if u.horizontal() { (u, v) } else { (v, u) };
    if !(corner(h_dir, origin.0) && corner(v_dir, origin.1)) {
        return None;
    }
    Some(Scan {
        image,
        width,
        height,
        components,
        invert,
        u,
        v,
        shown: if rotate % 180 == 0 {
            (bw as f32, bh as f32)
        } else {
            (bh as f32, bw as f32)
        },
    })
}

/// An edge of the image on the output: one whole side of it, along one axis.
fn axis((dx, dy): (f64, f64)) -> Option<Dir> {
    let near = |a: f64, b: f64| (a - b).abs() <= MARGIN;
    // Straight, not merely close: a skew of a point at the far edge is already visible.
    let none = |a: f64| a.abs() <= SKEW;
    match () {
        () if near(dx, 1.0) && none(dy) => Some(Dir::Right),
        () if near(dx, -1.0) && none(dy) => Some(Dir::Left),
        () if none(dx) && near(dy, 1.0) => Some(Dir::Down),
        () if none(dx) && near(dy, -1.0) => Some(Dir::Up),
        () => None,
    }
}

/// The page's content streams, concatenated and decoded, when they are short.
fn content(doc: &Document, page: &Dictionary) -> Option<Vec<u8>> {
    let streams: Vec<&Stream> = match get(doc, page, b"Contents")? {
        Object::Stream(s) => vec![s],
        Object::Array(a) => a
            .iter()
            .map(|o| match deref(doc, o) {
                Object::Stream(s) => Some(s),
                _ => None,
            })
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let mut out = Vec::new();
    for s in streams {
        if s.content.len() > MAX_CONTENT_BYTES {
            return None;
        }
        let chain = decode::chain(doc, &s.dict);
        let data = decode::prefix(doc, &chain, &s.content, 16 * MAX_CONTENT_BYTES).ok()?;
        if data.codec.is_some() {
            return None;
        }
        out.extend_from_slice(&data.data);
        // Streams are joined as if by white space (ISO 32000-1 §7.8.2).
        out.push(b'\n');
    }
    Some(out)
}

/// The one XObject the content draws and the matrix it is drawn under, when the content does
/// nothing else that paints.
fn single_image(content: &[u8]) -> Option<(Vec<u8>, Matrix)> {
    let ops = Content::decode(content).ok()?.operations;
    if ops.len() > MAX_OPERATORS {
        return None;
    }
    let mut ctm: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let mut saved = Vec::new();
    let mut drawn = None;
    for op in ops {
        match op.operator.as_str() {
            "q" => saved.push(ctm),
            "Q" => ctm = saved.pop()?,
            "cm" => {
                let m: Vec<f64> = op
                    .operands
                    .iter()
                    .filter_map(|o| o.as_float().ok().map(f64::from))
                    .collect();
                let m: Matrix = m.try_into().ok()?;
                ctm = multiply(&m, &ctm);
            }
            "Do" if drawn.is_none() => {
                let [Object::Name(name)] = &op.operands[..] else {
                    return None;
                };
                drawn = Some((name.clone(), ctm));
            }
            _ => return None,
        }
    }
    drawn
}

/// Size, samples per pixel and inversion of an image the fast path can take: 8-bit grey or RGB,
/// no mask, at most one image codec (JPEG) and it last, no optional content.
fn plain_image(doc: &Document, image: &Stream) -> Option<(u32, u32, u32, bool)> {
    let dict = &image.dict;
    if get(doc, dict, b"Subtype")?.as_name().ok()? != b"Image" {
        return None;
    }
    let flag = |key: &[u8]| matches!(get(doc, dict, key), Some(Object::Boolean(true)));
    if flag(b"ImageMask")
        || dict.has(b"SMask")
        || dict.has(b"Mask")
        || dict.has(b"OC")
        || matches!(
            get(doc, dict, b"F"),
            Some(Object::String(..) | Object::Dictionary(_))
        )
    {
        return None;
    }
    let int = |key: &[u8]| get(doc, dict, key)?.as_i64().ok();
    if int(b"BitsPerComponent") != Some(8) {
        return None;
    }
    let width = u32::try_from(int(b"Width")?).ok().filter(|&w| w > 0)?;
    let height = u32::try_from(int(b"Height")?).ok().filter(|&h| h > 0)?;
    let components = match get(doc, dict, b"ColorSpace")? {
        Object::Name(n) => match n.as_slice() {
            b"DeviceGray" | b"G" => 1,
            b"DeviceRGB" | b"RGB" => 3,
            _ => return None,
        },
        Object::Array(a) => match (
            a.first().map(|o| deref(doc, o)),
            a.get(1).map(|o| deref(doc, o)),
        ) {
            (Some(Object::Name(n)), Some(Object::Stream(icc))) if n == b"ICCBased" => {
                match get(doc, &icc.dict, b"N")?.as_i64().ok()? {
                    1 => 1,
                    3 => 3,
                    _ => return None,
                }
            }
            _ => return None,
        },
        _ => return None,
    };
    let invert = match get(doc, dict, b"Decode") {
        None => false,
        Some(Object::Array(d)) => {
            let d: Vec<f64> = d.iter().filter_map(|o| number(doc, o)).collect();
            if d.len() != 2 * components as usize {
                return None;
            }
            if d.chunks(2).all(|p| p == [0.0, 1.0]) {
                false
            } else if d.chunks(2).all(|p| p == [1.0, 0.0]) {
                true
            } else {
                return None;
            }
        }
        Some(_) => return None,
    };
    let chain = decode::chain(doc, dict);
    // JPEG only, and last; a stated colour transform overrides the JPEG's own markers: hayro.
    let plain = match chain.iter().position(|(f, _)| f.is_codec()) {
        None => true,
        Some(at) => {
            at + 1 == chain.len()
                && chain[at].0 == Filter::Dct
                && !chain[at].1.is_some_and(|p| p.has(b"ColorTransform"))
        }
    };
    plain.then_some((width, height, components, invert))
}

/// Decodes the scan's image and averages it down (or up) to `width`×`height`, turned and
/// flipped as the page shows it. `None` when the image is not what its dictionary says (hayro
/// then renders the page, as the preflight allowed it to).
pub(super) fn render(
    doc: &Document,
    scan: &Scan<'_>,
    (width, height): (u32, u32),
    limits: &Limits,
) -> Option<Rendered> {
    let pixels = u64::from(scan.width) * u64::from(scan.height);
    let declared = pixels * u64::from(scan.components);
    let max_bytes = limits.max_stream_bytes;
    if declared > max_bytes as u64 || pixels > limits.max_image_pixels || width == 0 || height == 0
    {
        return None;
    }
    // The image's own axes, sized so that once turned it fills width × height.
    let (iw, ih) = if scan.u.horizontal() {
        (width, height)
    } else {
        (height, width)
    };
    let chain = decode::chain(doc, &scan.image.dict);
    let data = decode::prefix(doc, &chain, &scan.image.content, max_bytes).ok()?;
    let declared_image = (scan.width, scan.height, scan.components);
    let (mut samples, size) = if data.codec.is_some() {
        match jpeg_reduced(&data.data, declared_image, (iw, ih), max_bytes) {
            Some(reduced) => reduced,
            None => (
                jpeg_full(&data.data, declared_image)?,
                (scan.width, scan.height),
            ),
        }
    } else {
        let mut samples = data.data.into_owned();
        if let Some(params) = chain.last().and_then(|(_, p)| *p) {
            if predictor(doc, params, scan)? {
                unpredict_png(
                    &mut samples,
                    (scan.width * scan.components) as usize,
                    scan.components as usize,
                )?;
            }
        }
        if samples.len() as u64 != declared {
            return None;
        }
        (samples, (scan.width, scan.height))
    };
    if scan.invert {
        samples.iter_mut().for_each(|s| *s = 255 - *s);
    }
    let rgb = if scan.components == 1 {
        let small = resize::<Luma<u8>>(samples, size, (iw, ih))?;
        orient(&small, scan, (width, height))
    } else {
        let small = resize::<Rgb<u8>>(samples, size, (iw, ih))?;
        orient(&small, scan, (width, height))
    };
    Some(Rendered { rgb, width, height })
}

/// A JPEG's size and samples per pixel as the image dictionary declares them.
type Declared = (u32, u32, u32);

/// The JPEG decoded at full size by zune-jpeg (through `image`), as hayro decodes it. `None`
/// when its header disagrees with the dictionary or it does not decode.
fn jpeg_full(data: &[u8], (w, h, components): Declared) -> Option<Vec<u8>> {
    let decoder = JpegDecoder::new(Cursor::new(data)).ok()?;
    let expected = match components {
        1 => ColorType::L8,
        _ => ColorType::Rgb8,
    };
    // A JPEG whose header disagrees with the dictionary is not decoded here.
    if decoder.dimensions() != (w, h) || decoder.color_type() != expected {
        return None;
    }
    let mut buf = vec![0; usize::try_from(decoder.total_bytes()).ok()?];
    decoder.read_image(&mut buf).ok()?;
    Some(buf)
}

/// The inverse-DCT scale, in eighths (1, 2 or 4), of the smallest reduced decode of a `w`×`h`
/// JPEG whose whole pixels (a partial 8×8 block at the edge is dropped, as [`block_average`]
/// drops it) still cover `to` on both axes; `None` when only the full size does.
fn idct_eighths((w, h): (u32, u32), to: (u32, u32)) -> Option<u32> {
    [1, 2, 4]
        .into_iter()
        .find(|&s| w * s / 8 >= to.0 && h * s / 8 >= to.1)
}

/// The top left `keep` of a `size` image of `c` samples a pixel, in place.
fn crop(samples: &mut Vec<u8>, size: (u32, u32), keep: (u32, u32), c: usize) {
    let (row, kept) = (size.0 as usize * c, keep.0 as usize * c);
    if kept < row {
        for y in 1..keep.1 as usize {
            samples.copy_within(y * row..y * row + kept, y * kept);
        }
    }
    samples.truncate(kept * keep.1 as usize);
}

/// The JPEG decoded by `jpeg-decoder` at the smallest inverse-DCT scale that still covers `to`
/// (the image's own axes), and the decoded size. `None` (the caller decodes at full size) when
/// no reduced scale covers `to`, when the header disagrees with the dictionary, when zune-jpeg
/// would read its colours otherwise than as grey, YCbCr or RGB, or when it does not decode.
fn jpeg_reduced(
    data: &[u8],
    (w, h, components): Declared,
    to: (u32, u32),
    max_bytes: usize,
) -> Option<(Vec<u8>, (u32, u32))> {
    let eighths = idct_eighths((w, h), to)?;
    let transform = zune_colour(data, components)?;
    let mut decoder = jpeg_decoder::Decoder::new(data);
    decoder.set_max_decoding_buffer_size(max_bytes);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    let format = match components {
        1 => PixelFormat::L8,
        _ => PixelFormat::RGB24,
    };
    if (u32::from(info.width), u32::from(info.height)) != (w, h)
        || info.pixel_format != format
        || !matches!(
            info.coding_process,
            CodingProcess::DctSequential | CodingProcess::DctProgressive
        )
    {
        return None;
    }
    // Asking for the rounded-up size makes `jpeg-decoder` pick exactly this scale.
    let request = |n: u32| u16::try_from((n * eighths).div_ceil(8)).ok();
    let (sw, sh) = decoder.scale(request(w)?, request(h)?).ok()?;
    let size = (u32::from(sw), u32::from(sh));
    // The last column and row stand for a partial block: dropped, as the full-size path's block
    // average drops it, so that both map the image onto the output alike.
    let keep = (w * eighths / 8, h * eighths / 8);
    if size != (request(w)?.into(), request(h)?.into()) || keep.0 < to.0 || keep.1 < to.1 {
        return None;
    }
    decoder.set_color_transform(transform);
    let mut samples = decoder.decode().ok()?;
    let expected = u64::from(size.0) * u64::from(size.1) * u64::from(components);
    if samples.len() as u64 != expected {
        return None;
    }
    crop(&mut samples, size, keep, components as usize);
    Some((samples, keep))
}

/// The colour model zune-jpeg (hayro's decoder, and the full-size path's) reads from the JPEG's
/// header, as `jpeg-decoder`'s transform: the two disagree on some markers (an Adobe APP14
/// "no transform" over components numbered 1, 2, 3 is RGB to zune-jpeg, YCbCr to
/// `jpeg-decoder`), and the picture must be hayro's. Mirrors zune-jpeg's own fix-ups, which it
/// makes only when decoding: a 3-component "CMYK" (Adobe transform 0) is RGB. A 3-component
/// "YCCK" (Adobe transform 2), rare and read differently by each, is left to the full-size path.
fn zune_colour(data: &[u8], components: u32) -> Option<ColorTransform> {
    let mut header = zune_jpeg::JpegDecoder::new(ZCursor::new(data));
    header.decode_headers().ok()?;
    match (components, header.input_colorspace()?) {
        (1, ColorSpace::Luma) => Some(ColorTransform::Grayscale),
        (3, ColorSpace::YCbCr) => Some(ColorTransform::YCbCr),
        (3, ColorSpace::RGB | ColorSpace::CMYK) => Some(ColorTransform::RGB),
        _ => None,
    }
}

/// Largest float buffer `image`'s filtered resize may allocate (it resamples one axis at a time
/// through an RGBA `f32` image); above it the area-averaging `thumbnail` is used, which holds
/// nothing but the output.
const MAX_FILTER_BYTES: u64 = 16 << 20;

/// `samples` (`from`) resized to `to`: first averaged over whole blocks of pixels, in one pass
/// with a row of sums (a 300 dpi page is 7–8 times a thumbnail's width, and `image`'s generic
/// per-pixel resamplers spend most of their time there), then brought to the exact size with a
/// triangle filter (`image`), whose cost is then small.
fn resize<P: Pixel<Subpixel = u8> + 'static>(
    samples: Vec<u8>,
    from: (u32, u32),
    to: (u32, u32),
) -> Option<ImageBuffer<P, Vec<u8>>> {
    let k = (from.0 / to.0).min(from.1 / to.1).max(1);
    let (samples, (w, h)) = if k > 1 {
        let reduced = match P::CHANNEL_COUNT {
            1 => block_average::<1>(&samples, from, k),
            3 => block_average::<3>(&samples, from, k),
            _ => return None,
        };
        (reduced, (from.0 / k, from.1 / k))
    } else {
        (samples, from)
    };
    let image = ImageBuffer::<P, _>::from_raw(w, h, samples)?;
    if (w, h) == to {
        return Some(image);
    }
    let filter_bytes = u64::from(w.max(to.0)) * u64::from(to.1.max(h)) * 16;
    Some(if filter_bytes <= MAX_FILTER_BYTES {
        image::imageops::resize(&image, to.0, to.1, image::imageops::FilterType::Triangle)
    } else {
        image::imageops::thumbnail(&image, to.0, to.1)
    })
}

/// The mean of each `k`×`k` block of a `w`×`h` image of `C` samples a pixel (a partial block
/// at the right and bottom edges is dropped: under `k` pixels of a scan's margin).
fn block_average<const C: usize>(samples: &[u8], (w, h): (u32, u32), k: u32) -> Vec<u8> {
    let (ow, oh, k) = ((w / k) as usize, (h / k) as usize, k as usize);
    let (row, out_row) = (w as usize * C, ow * C);
    let area = u32::try_from(k * k).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(out_row * oh);
    let mut sums = vec![[0u32; C]; ow];
    for oy in 0..oh {
        sums.fill([0; C]);
        for y in oy * k..oy * k + k {
            let line = &samples[y * row..y * row + ow * k * C];
            for (block, sum) in line.chunks_exact(k * C).zip(sums.iter_mut()) {
                for pixel in block.chunks_exact(C) {
                    for c in 0..C {
                        sum[c] += u32::from(pixel[c]);
                    }
                }
            }
        }
        out.extend(
            sums.iter()
                .flatten()
                .map(|&s| u8::try_from((s + area / 2) / area).unwrap_or(u8::MAX)),
        );
    }
    out
}

/// Whether the samples carry PNG predictors (`None`: a predictor this path does not undo, or
/// parameters that disagree with the image).
fn predictor(doc: &Document, params: &Dictionary, scan: &Scan<'_>) -> Option<bool> {
    let int =
        |key: &[u8], default: i64| get(doc, params, key).map_or(Some(default), |o| o.as_i64().ok());
    match int(b"Predictor", 1)? {
        1 => return Some(false),
        10..=15 => {}
        _ => return None,
    }
    let fits = int(b"Colors", 1)? == i64::from(scan.components)
        && int(b"BitsPerComponent", 8)? == 8
        && int(b"Columns", 1)? == i64::from(scan.width);
    fits.then_some(true)
}

/// Undoes PNG row filters (ISO 32000-1 §7.4.4.4) in place: each row is a filter-type byte and
/// `stride` filtered bytes; the result is the rows alone. Writing row r never passes the bytes
/// of row r still to be read (they sit r + 1 bytes further on), so no second buffer is needed.
fn unpredict_png(data: &mut Vec<u8>, stride: usize, bpp: usize) -> Option<()> {
    let rows = data.len() / (stride + 1);
    for r in 0..rows {
        let (src, dst) = (r * (stride + 1), r * stride);
        let kind = data[src];
        for i in 0..stride {
            let x = data[src + 1 + i];
            let left = if i >= bpp { data[dst + i - bpp] } else { 0 };
            let up = if r > 0 { data[dst - stride + i] } else { 0 };
            let up_left = if r > 0 && i >= bpp {
                data[dst - stride + i - bpp]
            } else {
                0
            };
            data[dst + i] = match kind {
                0 => x,
                1 => x.wrapping_add(left),
                2 => x.wrapping_add(up),
                3 => x.wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => x.wrapping_add(paeth(left, up, up_left)),
                _ => return None,
            };
        }
    }
    data.truncate(rows * stride);
    Some(())
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// The resized image as the output's RGB rows.
fn orient<P: Pixel<Subpixel = u8>>(
    small: &ImageBuffer<P, Vec<u8>>,
    scan: &Scan<'_>,
    (width, height): (u32, u32),
) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let i = scan.u.index(x, y, width, height);
            let j = scan.v.index(x, y, width, height);
            let p = small.get_pixel(i, j).to_rgb();
            rgb.extend_from_slice(&p.0);
        }
    }
    rgb
}

/// Which way a page image was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The page is one image: decoded and resized with `image`.
    Scan,
    /// Rendered by hayro.
    Render,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_averaged_and_the_ragged_edge_dropped() {
        // 5×2 grey, blocks of 2: two whole blocks, the fifth column dropped.
        let grey = [0, 2, 10, 20, 99, 4, 6, 30, 40, 99];
        assert_eq!(block_average::<1>(&grey, (5, 2), 2), vec![3, 25]);
        // 2×2 RGB, one block.
        let rgb = [0, 0, 0, 4, 8, 12, 0, 0, 0, 4, 8, 12];
        assert_eq!(block_average::<3>(&rgb, (2, 2), 2), vec![2, 4, 6]);
    }

    #[test]
    fn png_predictors_are_undone_in_place() {
        // Four rows of two grey pixels: Sub, Up, Paeth, Average.
        let mut data = vec![1, 10, 5, 2, 1, 1, 4, 0, 0, 3, 0, 0];
        unpredict_png(&mut data, 2, 1).unwrap();
        assert_eq!(data, vec![10, 15, 11, 16, 11, 16, 5, 10]);
        assert!(unpredict_png(&mut vec![9, 0], 1, 1).is_none());
    }

    #[test]
    fn a_matrix_product_applies_the_left_one_first() {
        // Scale by 2, then translate by (10, 0): the point (1, 1) lands at (12, 2).
        let m = multiply(
            &[2.0, 0.0, 0.0, 2.0, 0.0, 0.0],
            &[1.0, 0.0, 0.0, 1.0, 10.0, 0.0],
        );
        assert_eq!(m, [2.0, 0.0, 0.0, 2.0, 10.0, 0.0]);
    }

    #[test]
    fn only_q_cm_and_one_do_make_a_scan() {
        let (name, m) = single_image(b"q 595 0 0 842 0 0 cm /Im0 Do Q").unwrap();
        assert_eq!(name, b"Im0");
        assert_eq!(m, [595.0, 0.0, 0.0, 842.0, 0.0, 0.0]);
        assert!(single_image(b"q 595 0 0 842 0 0 cm /Im0 Do /Im1 Do Q").is_none());
        assert!(single_image(b"q 595 0 0 842 0 0 cm /Im0 Do Q BT ET").is_none());
        assert!(single_image(b"0 0 m 10 10 l S").is_none());
        assert!(single_image(b"Q /Im0 Do").is_none());
        assert!(single_image(b"").is_none());
    }

    /// A score-like page, `w`×`h`: staff lines, note heads, a black block and (in colour) a red
    /// one, on white.
    fn score(w: u32, h: u32, components: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity((w * h * components) as usize);
        for y in 0..h {
            for x in 0..w {
                let staff = y % 48 < 2 && x > w / 10 && x < w - w / 10;
                let note = (x % 37).abs_diff(18) + (y % 48).abs_diff(24) < 7;
                let block = x < w / 5 && y < h / 8;
                let grey = if staff || note || block { 15 } else { 250 };
                if components == 3 && x > w * 4 / 5 && y < h / 5 {
                    out.extend_from_slice(&[210, 40, 30]);
                } else {
                    out.extend(std::iter::repeat_n(grey, components as usize));
                }
            }
        }
        out
    }

    /// Baseline from `image` (JFIF, YCbCr 4:2:0 in colour) or progressive from `jpeg-encoder`.
    fn encode(w: u32, h: u32, components: u32, progressive: bool) -> Vec<u8> {
        let pixels = score(w, h, components);
        let mut out = Vec::new();
        if progressive {
            let mut e = jpeg_encoder::Encoder::new(&mut out, 85);
            e.set_progressive(true);
            let color = if components == 1 {
                jpeg_encoder::ColorType::Luma
            } else {
                jpeg_encoder::ColorType::Rgb
            };
            e.encode(&pixels, w as u16, h as u16, color).unwrap();
        } else {
            let color = if components == 1 {
                image::ExtendedColorType::L8
            } else {
                image::ExtendedColorType::Rgb8
            };
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode(&pixels, w, h, color)
                .unwrap();
        }
        out
    }

    fn resized(samples: Vec<u8>, from: (u32, u32), to: (u32, u32), components: u32) -> Vec<u8> {
        if components == 1 {
            resize::<Luma<u8>>(samples, from, to).unwrap().into_raw()
        } else {
            resize::<Rgb<u8>>(samples, from, to).unwrap().into_raw()
        }
    }

    #[test]
    fn a_crop_keeps_the_top_left_rows() {
        // 3×3 grey to 2×2, and 2×2 RGB to 1×2.
        let mut grey = vec![1, 2, 3, 4, 5, 6, 7, 8, 9];
        crop(&mut grey, (3, 3), (2, 2), 1);
        assert_eq!(grey, vec![1, 2, 4, 5]);
        let mut rgb = (0..12).collect();
        crop(&mut rgb, (2, 2), (1, 2), 3);
        assert_eq!(rgb, vec![0, 1, 2, 6, 7, 8]);
    }

    #[test]
    fn the_idct_scale_is_the_smallest_that_covers_the_output() {
        // A4 at 300 dpi: a thumbnail from 1/4 (620 wide; 1/8 is 310, under 320), a page image
        // from 1/2 (exactly 1240 × 1754).
        assert_eq!(idct_eighths((2480, 3508), (320, 453)), Some(2));
        assert_eq!(idct_eighths((2480, 3508), (1240, 1754)), Some(4));
        assert_eq!(idct_eighths((2480, 3508), (1241, 1754)), None);
        // Both axes must be covered, not one.
        assert_eq!(idct_eighths((2560, 1000), (320, 126)), Some(2));
        // A partial block at the edge does not count.
        assert_eq!(idct_eighths((100, 100), (12, 12)), Some(1));
        assert_eq!(idct_eighths((100, 100), (13, 13)), Some(2));
    }

    #[test]
    fn a_reduced_decode_looks_like_the_full_size_one() {
        // Each kind of JPEG at each scale, brought to the same output both ways.
        // Not multiples of 8: the partial blocks at the edges are dropped alike.
        let (w, h) = (1240, 1754);
        for components in [1, 3] {
            for progressive in [false, true] {
                let data = encode(w, h, components, progressive);
                let declared = (w, h, components);
                let full = jpeg_full(&data, declared).unwrap();
                for (to, eighths) in [((150, 212), 1), ((300, 424), 2), ((600, 849), 4)] {
                    let name = format!("{components} × {to:?}, progressive {progressive}");
                    let (reduced, size) = jpeg_reduced(&data, declared, to, 64 << 20).unwrap();
                    assert_eq!(size, (w * eighths / 8, h * eighths / 8));
                    let a = resized(reduced, size, to, components);
                    let b = resized(full.clone(), (w, h), to, components);
                    let mean = a
                        .iter()
                        .zip(&b)
                        .map(|(x, y)| f64::from(x.abs_diff(*y)))
                        .sum::<f64>()
                        / a.len() as f64;
                    let worst = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
                    eprintln!("{name}: mean difference {mean:.2}, worst {worst}");
                    assert!(mean < 3.0, "{name}: mean difference {mean:.2}");
                }
                // Full size is zune-jpeg's to do.
                assert!(jpeg_reduced(&data, declared, (w, h), 64 << 20).is_none());
            }
        }
    }

    #[test]
    fn a_reduced_decode_refuses_what_it_cannot_read_as_hayro_does() {
        let data = encode(64, 64, 3, false);
        // The dictionary says otherwise: size or components.
        assert!(jpeg_reduced(&data, (64, 65, 3), (8, 8), 1 << 20).is_none());
        assert!(jpeg_reduced(&data, (64, 64, 1), (8, 8), 1 << 20).is_none());
        // Over the byte limit.
        assert!(jpeg_reduced(&data, (64, 64, 3), (8, 8), 100).is_none());
        assert!(jpeg_reduced(&data, (64, 64, 3), (8, 8), 1 << 20).is_some());
        // An Adobe APP14 "no transform" after the SOI: zune-jpeg (and hayro) read RGB, where
        // `jpeg-decoder` alone would take components 1, 2, 3 for YCbCr.
        let mut adobe = data[..2].to_vec();
        adobe.extend_from_slice(b"\xFF\xEE\x00\x0EAdobe\x00\x64\x00\x00\x00\x00\x00");
        adobe.extend_from_slice(&data[2..]);
        assert_eq!(zune_colour(&adobe, 3), Some(ColorTransform::RGB));
        assert_eq!(zune_colour(&data, 3), Some(ColorTransform::YCbCr));
        let (rgb, _) = jpeg_reduced(&adobe, (64, 64, 3), (8, 8), 1 << 20).unwrap();
        let (ycc, _) = jpeg_reduced(&data, (64, 64, 3), (8, 8), 1 << 20).unwrap();
        // White as YCbCr is (255, 128, 128): read as RGB it is pink, not white.
        assert!(
            ycc[8 * 3 * 7 + 3 * 4..][..3].iter().all(|&c| c > 240),
            "{ycc:?}"
        );
        assert!(rgb[8 * 3 * 7 + 3 * 4 + 1] < 160, "{rgb:?}");
    }

    #[test]
    fn a_mutated_jpeg_never_panics_the_reduced_decoder() {
        // Under 128 × 128, as in wasm: `jpeg-decoder` decodes on the calling thread.
        let seeds = [
            encode(120, 96, 1, false),
            encode(120, 96, 3, false),
            encode(120, 96, 3, true),
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for case in 0..600 {
            let mut data = seeds[case % seeds.len()].clone();
            for _ in 0..=next(4) {
                let i = next(data.len());
                match next(3) {
                    0 => data[i] = next(256) as u8,
                    1 => data.truncate(i.max(4)),
                    _ => data[i] ^= 1 << next(8),
                }
            }
            let outcome = std::panic::catch_unwind(|| {
                jpeg_reduced(
                    &data,
                    (120, 96, 1 + 2 * u32::from(case % 3 != 0)),
                    (30, 24),
                    1 << 20,
                )
            });
            assert!(outcome.is_ok(), "case {case} panicked");
        }
    }

    #[test]
    fn axes_allow_the_margin_and_nothing_skewed() {
        assert_eq!(axis((0.99, 0.0)), Some(Dir::Right));
        assert_eq!(axis((0.0, -1.01)), Some(Dir::Up));
        assert_eq!(axis((0.9, 0.0)), None);
        assert_eq!(axis((0.7, 0.7)), None);
        assert_eq!(axis((1.0, 0.01)), None);
    }
}
