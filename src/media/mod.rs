//! PDF processing: bytes in, results out, with explicit limits. No `worker` import.

pub mod pdf_info;
pub mod suggestions;
pub mod thumbnail;
