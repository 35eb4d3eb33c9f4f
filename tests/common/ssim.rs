//! Structural similarity (SSIM) of two greyscale images of the same size: the mean over 8×8
//! windows (step 4) of Wang et al.'s index, with its usual constants for values in 0..=1.

/// SSIM of `a` and `b`, row-major greyscale bytes `width` wide.
pub fn ssim(a: &[u8], b: &[u8], width: usize) -> f64 {
    assert_eq!(a.len(), b.len(), "images of different sizes");
    let height = a.len() / width;
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let (win, step) = (8, 4);
    let (mut total, mut windows) = (0.0, 0u32);
    for y in (0..=height.saturating_sub(win)).step_by(step) {
        for x in (0..=width.saturating_sub(win)).step_by(step) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for yy in y..y + win {
                for xx in x..x + win {
                    let p = f64::from(a[yy * width + xx]) / 255.0;
                    let q = f64::from(b[yy * width + xx]) / 255.0;
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = (win * win) as f64;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1;
        }
    }
    total / f64::from(windows)
}

/// Greyscale bytes and width of a PNG (RGB is reduced to luma).
pub fn grey_png(png_bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let grey = match info.color_type {
        png::ColorType::Grayscale => px.to_vec(),
        png::ColorType::Rgb => px
            .chunks_exact(3)
            .map(|p| {
                let l = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let l = l.round() as u8;
                l
            })
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (grey, info.width as usize)
}
