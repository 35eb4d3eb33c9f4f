//! The 14 standard PDF fonts the renderer draws text in when a PDF names a font without embedding
//! it (titles and lyrics in Times or Helvetica, most often). They are Foxit's compact CFF fonts,
//! the ones hayro's `embed-fonts` feature would compile in; the consumer's Worker bundle leaves
//! them out (233 KB gzip, issue 17 goal 6) and its shell installs them once per isolate from the
//! script's static assets (`fonts/`, decision 141) before the first render. Native builds keep
//! hayro's embedded copy, which a test holds byte-identical to `fonts/`.

use std::sync::{Arc, OnceLock};

use hayro::hayro_interpret::font::{FontData, FontQuery, StandardFont};
use hayro::hayro_interpret::InterpreterSettings;

/// Every standard font, by its file in `fonts/`.
pub const FILES: [(StandardFont, &str); 14] = [
    (StandardFont::Helvetica, "FoxitSans.pfb"),
    (StandardFont::HelveticaBold, "FoxitSansBold.pfb"),
    (StandardFont::HelveticaOblique, "FoxitSansItalic.pfb"),
    (
        StandardFont::HelveticaBoldOblique,
        "FoxitSansBoldItalic.pfb",
    ),
    (StandardFont::Courier, "FoxitFixed.pfb"),
    (StandardFont::CourierBold, "FoxitFixedBold.pfb"),
    (StandardFont::CourierOblique, "FoxitFixedItalic.pfb"),
    (StandardFont::CourierBoldOblique, "FoxitFixedBoldItalic.pfb"),
    (StandardFont::TimesRoman, "FoxitSerif.pfb"),
    (StandardFont::TimesBold, "FoxitSerifBold.pfb"),
    (StandardFont::TimesItalic, "FoxitSerifItalic.pfb"),
    (StandardFont::TimesBoldItalic, "FoxitSerifBoldItalic.pfb"),
    (StandardFont::ZapfDingBats, "FoxitDingbats.pfb"),
    (StandardFont::Symbol, "FoxitSymbol.pfb"),
];

/// The largest font file accepted (the largest is 29 KB): a misconfigured asset cannot make the
/// isolate hold megabytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// The 14 fonts' bytes, in the order of [`FILES`].
pub struct Fonts(Vec<FontData>);

impl Fonts {
    /// Reads every file of [`FILES`] with `read`.
    ///
    /// # Errors
    /// The first file that is missing, empty, too large or not a CFF font.
    pub fn from_files(mut read: impl FnMut(&str) -> Option<Vec<u8>>) -> Result<Self, String> {
        let mut fonts = Vec::with_capacity(FILES.len());
        for (_, file) in FILES {
            let bytes = read(file).ok_or_else(|| format!("font {file} is missing"))?;
            // A CFF font starts with its major version (1) and header size (4).
            if bytes.len() > MAX_FILE_BYTES || bytes.get(..3) != Some(&[1, 0, 4][..]) {
                return Err(format!("font {file} is not a CFF font of at most 256 KiB"));
            }
            fonts.push(Arc::new(bytes) as FontData);
        }
        Ok(Self(fonts))
    }

    fn get(&self, font: StandardFont) -> Option<FontData> {
        let index = FILES
            .iter()
            .position(|(f, _)| f.postscript_name() == font.postscript_name())?;
        self.0.get(index).cloned()
    }
}

static INSTALLED: OnceLock<Arc<Fonts>> = OnceLock::new();

/// Makes `fonts` the renderer's standard fonts for the rest of the isolate's life (the first
/// installation wins; they never change).
pub fn install(fonts: Fonts) {
    let _ = INSTALLED.set(Arc::new(fonts));
}

/// Whether [`install`] has run.
pub fn installed() -> bool {
    INSTALLED.get().is_some()
}

/// hayro's settings with `fonts` answering for the standard fonts and for the fallback of a
/// font that is neither embedded nor standard (by its flags: fixed pitch, serif, bold, italic).
pub fn settings_with(fonts: Arc<Fonts>) -> InterpreterSettings {
    InterpreterSettings {
        font_resolver: Arc::new(move |query| {
            let font = match query {
                FontQuery::Standard(font) => *font,
                FontQuery::Fallback(fallback) => fallback.pick_standard_font(),
            };
            fonts.get(font).map(|data| (data, 0))
        }),
        ..InterpreterSettings::default()
    }
}

/// The renderer's settings: the installed fonts, or hayro's own where none are installed (its
/// embedded fonts in native builds; in the Worker, no standard fonts, which the consumer's shell
/// prevents by installing them before any render).
pub(crate) fn settings() -> InterpreterSettings {
    INSTALLED
        .get()
        .map_or_else(InterpreterSettings::default, |fonts| {
            settings_with(Arc::clone(fonts))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_dir() -> Fonts {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fonts");
        Fonts::from_files(|file| std::fs::read(format!("{dir}/{file}")).ok()).unwrap()
    }

    #[test]
    fn the_served_fonts_are_the_ones_the_native_build_embeds() {
        let fonts = from_dir();
        for (font, file) in FILES {
            let served = fonts.get(font).unwrap();
            let (embedded, index) = font.get_font_data();
            assert_eq!(index, 0);
            assert_eq!(
                (*served).as_ref(),
                (*embedded).as_ref(),
                "{file} differs from hayro's {}",
                font.postscript_name()
            );
        }
    }

    #[test]
    fn a_missing_or_foreign_file_is_refused_by_name() {
        let none = Fonts::from_files(|_| None).err().unwrap();
        assert_eq!(none, "font FoxitSans.pfb is missing");
        let html = Fonts::from_files(|_| Some(b"<!doctype html>".to_vec()))
            .err()
            .unwrap();
        assert!(html.contains("not a CFF font"), "{html}");
        let huge = Fonts::from_files(|_| Some([&[1, 0, 4][..], &[0; MAX_FILE_BYTES]].concat()))
            .err()
            .unwrap();
        assert!(huge.contains("at most 256 KiB"), "{huge}");
    }

    #[test]
    fn every_query_is_answered_by_its_font() {
        let fonts = Arc::new(from_dir());
        let settings = settings_with(Arc::clone(&fonts));
        for (font, _) in FILES {
            let (data, _) = (settings.font_resolver)(&FontQuery::Standard(font)).unwrap();
            assert!(Arc::ptr_eq(&data, &fonts.get(font).unwrap()));
        }
    }
}
