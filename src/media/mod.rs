//! PDF processing: bytes in, results out, with explicit limits. No `worker` import.

/// Every PDF starts with this (ISO 32000-1 §7.5.2).
pub const PDF_MAGIC: &[u8] = b"%PDF-";

/// Whether the header is in the first KiB (readers tolerate junk before it; uploads are held to
/// the stricter "starts with" by the shell).
pub fn has_pdf_header(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)]
        .windows(PDF_MAGIC.len())
        .any(|w| w == PDF_MAGIC)
}

/// Width of page images for reading on a device (`download-url?page=N`): A4 at 150 dpi. Here,
/// not in `thumbnail`, because the API script (built without the renderer) names it too.
pub const PAGE_WIDTH: u32 = 1240;

pub mod book;
pub mod extract;
pub mod pdf_info;
pub mod pdf_ranges;
pub mod preflight;
// The renderer and what it alone uses: only the queue consumer's script carries them (cargo
// feature `consumer`, README "Two Worker scripts").
#[cfg(feature = "consumer")]
pub mod fonts;
#[cfg(feature = "consumer")]
pub mod scan;
#[cfg(feature = "consumer")]
mod stroke_adjust;
pub mod suggestions;
#[cfg(feature = "consumer")]
pub mod thumbnail;
