//! Image sizes from codestream headers (what hayro's decoders allocate by), without decoding.

/// Width, height and samples per pixel an image codec will produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    pub width: u64,
    pub height: u64,
    /// Bytes hayro's decoder hands back per pixel.
    pub bytes_per_pixel: u64,
}

impl Dims {
    pub fn pixels(self) -> u64 {
        self.width.saturating_mul(self.height)
    }

    pub fn bytes(self) -> u64 {
        self.pixels().saturating_mul(self.bytes_per_pixel)
    }
}

fn be16(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_be_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

/// The first SOF marker of a JPEG (baseline, extended, progressive, lossless, arithmetic):
/// width, height and components. zune-jpeg decodes to at most 4 bytes per pixel.
pub fn jpeg(data: &[u8]) -> Option<Dims> {
    let mut i = data.windows(2).position(|w| w == [0xFF, 0xD8])? + 2;
    while i + 1 < data.len() {
        if data[i] != 0xFF {
            // Resynchronise on the next marker, as lenient decoders do.
            i += 1;
            continue;
        }
        let marker = data[i + 1];
        i += 2;
        match marker {
            0xFF => i -= 1,
            0x00 | 0x01 | 0xD0..=0xD8 => {}
            0xD9 | 0xDA => return None,
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                let height = be16(data, i + 3)?;
                let width = be16(data, i + 5)?;
                let components = u64::from(*data.get(i + 7)?);
                return Some(Dims {
                    width,
                    height,
                    bytes_per_pixel: components.clamp(1, 4),
                });
            }
            _ => i += usize::try_from(be16(data, i)?).ok()?,
        }
    }
    None
}

/// The SIZ marker of a JPEG 2000 codestream, raw or inside a JP2 file (`jp2c` box).
pub fn jpx(data: &[u8]) -> Option<Dims> {
    let codestream = if data.get(4..8) == Some(b"jP  ") {
        jp2_codestream(data).unwrap_or(data)
    } else {
        data
    };
    let at = codestream
        .windows(4)
        .position(|w| w == [0xFF, 0x4F, 0xFF, 0x51])?
        + 4;
    // Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, 4 tile fields, Csiz.
    let x = be32(codestream, at + 4)?;
    let y = be32(codestream, at + 8)?;
    let x0 = be32(codestream, at + 12)?;
    let y0 = be32(codestream, at + 16)?;
    let components = be16(codestream, at + 36)?;
    Some(Dims {
        width: x.saturating_sub(x0),
        height: y.saturating_sub(y0),
        // hayro-jpeg2000 hands back 8-bit samples for every component.
        bytes_per_pixel: components.max(1),
    })
}

fn jp2_codestream(data: &[u8]) -> Option<&[u8]> {
    let mut i = 0usize;
    while i + 8 <= data.len() {
        let len = be32(data, i)?;
        let kind = data.get(i + 4..i + 8)?;
        let (header, len) = match len {
            0 => (8, data.len() - i),
            1 => (
                16,
                usize::try_from(be32(data, i + 8)? << 32 | be32(data, i + 12)?).ok()?,
            ),
            n => (8, usize::try_from(n).ok()?),
        };
        if len < header {
            return None;
        }
        if kind == b"jp2c" {
            return data.get(i + header..i.saturating_add(len).min(data.len()));
        }
        i = i.checked_add(len)?;
    }
    None
}

/// The largest bitmap a JBIG2 embedded stream (and its globals) declares: the page information
/// segment (height from end-of-stripe segments when striped) and every region's information
/// field. hayro-jbig2 allocates the page as 8-bit grey.
pub fn jbig2(data: &[u8]) -> Option<Dims> {
    let mut i = 0usize;
    let (mut page, mut region_px, mut stripe_end) = (None::<(u64, u64)>, 0u64, 0u64);
    let mut widest = (0u64, 0u64);
    for _ in 0..100_000 {
        if i + 11 > data.len() {
            break;
        }
        let number = be32(data, i)?;
        let flags = data[i + 4];
        let kind = flags & 0x3F;
        i += 5;
        let referred = data[i];
        let count = if referred >> 5 == 7 {
            let long = usize::try_from(be32(data, i)? & 0x1FFF_FFFF).ok()?;
            i += 4 + (long + 1).div_ceil(8);
            long
        } else {
            i += 1;
            usize::from(referred >> 5)
        };
        let ref_size = if number <= 256 {
            1
        } else if number <= 65_536 {
            2
        } else {
            4
        };
        i = i.checked_add(count.checked_mul(ref_size)?)?;
        i += if flags & 0x40 != 0 { 4 } else { 1 };
        let length = be32(data, i)?;
        i += 4;
        let body = data.get(i..)?;
        match kind {
            48 => {
                let (w, h) = (be32(body, 0)?, be32(body, 4)?);
                page = Some((w, h));
            }
            50 => stripe_end = stripe_end.max(be32(body, 0)?.saturating_add(1)),
            4 | 6 | 7 | 20 | 22 | 23 | 36 | 38 | 39 | 40 | 42 | 43 => {
                let (w, h) = (be32(body, 0)?, be32(body, 4)?);
                if w.saturating_mul(h) > region_px {
                    region_px = w.saturating_mul(h);
                    widest = (w, h);
                }
            }
            _ => {}
        }
        if length == 0xFFFF_FFFF {
            // Only an immediate generic region may leave its length open; its size is known.
            break;
        }
        i = i.checked_add(usize::try_from(length).ok()?)?;
    }
    let (w, h) = match page {
        Some((w, 0xFFFF_FFFF)) => (w, stripe_end.max(widest.1)),
        Some(p) => p,
        None => widest,
    };
    let (w, h) = if w.saturating_mul(h) >= region_px {
        (w, h)
    } else {
        widest
    };
    (w > 0 && h > 0).then_some(Dims {
        width: w,
        height: h,
        bytes_per_pixel: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_sof_is_read_after_other_segments() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        j.extend_from_slice(&[0xFF, 0xC2, 0, 11, 8, 0xEA, 0x60, 0xEA, 0x60, 3, 1, 0x11, 0]);
        assert_eq!(
            jpeg(&j),
            Some(Dims {
                width: 60_000,
                height: 60_000,
                bytes_per_pixel: 3
            })
        );
        assert_eq!(jpeg(b"not a jpeg"), None);
    }

    #[test]
    fn jpx_siz_is_read_raw_and_in_a_jp2_box() {
        let mut cs = vec![0xFF, 0x4F, 0xFF, 0x51, 0, 41, 0, 0];
        for v in [5000u32, 4000, 0, 0, 5000, 4000, 0, 0] {
            cs.extend_from_slice(&v.to_be_bytes());
        }
        cs.extend_from_slice(&[0, 3]);
        let d = jpx(&cs).unwrap();
        assert_eq!((d.width, d.height, d.bytes_per_pixel), (5000, 4000, 3));
        let mut jp2 = vec![0, 0, 0, 12];
        jp2.extend_from_slice(b"jP  \r\n\x87\n");
        jp2.extend_from_slice(&u32::try_from(cs.len() + 8).unwrap().to_be_bytes());
        jp2.extend_from_slice(b"jp2c");
        jp2.extend_from_slice(&cs);
        assert_eq!(jpx(&jp2), Some(d));
    }

    #[test]
    fn jbig2_page_information_is_read() {
        // Segment 0, type 48, page 1, 19 bytes: width 70000, height 80000.
        let mut s = vec![0, 0, 0, 0, 48, 0, 1, 0, 0, 0, 19];
        s.extend_from_slice(&70_000u32.to_be_bytes());
        s.extend_from_slice(&80_000u32.to_be_bytes());
        s.extend_from_slice(&[0; 11]);
        let d = jbig2(&s).unwrap();
        assert_eq!((d.width, d.height), (70_000, 80_000));
    }
}
