//! `archive`: a ZIP archive written as a stream of parts, for the library export (SPEC §11).
//!
//! An export can be larger than a Worker's memory, so it is never whole anywhere but in R2: the
//! queue writes it through an R2 multipart upload, whose parts must be at least 5 MiB (but the
//! last). This module turns "add this entry" into full parts of [`PART_BYTES`] the caller uploads
//! as they come. A small entry is added whole ([`ArchiveWriter::add`]); a file of any size is
//! streamed ([`ArchiveWriter::start`] with its length, [`ArchiveWriter::write`] chunk by chunk,
//! [`ArchiveWriter::end`]), the caller taking full parts after each chunk, so memory holds one
//! chunk and less than one part whatever the file's size. The ZIP format itself is the
//! `zip` crate's streaming writer (`ZipWriter::new_stream`: local headers with data
//! descriptors, no seeking back, ZIP64 records when the archive or its entry count needs them);
//! entries are *stored* (PDFs are compressed already, and a stored entry costs no CPU). What is
//! ours is the part cutting, the entry names we accept, and when an entry must be written as a
//! large file (decision 92).

pub mod read;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter, ZIP64_BYTES_THR};

/// R2's smallest multipart part (all but the last).
pub const PART_BYTES: usize = 5 * 1024 * 1024;
/// Why an archive could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("unsafe entry name: {0:?}")]
    Name(String),
    #[error("zip: {0}")]
    Zip(String),
    /// An entry written out of turn or not at its declared length.
    #[error("entry length: {0}")]
    Length(String),
}

impl From<zip::result::ZipError> for ArchiveError {
    fn from(e: zip::result::ZipError) -> Self {
        Self::Zip(e.to_string())
    }
}

impl From<std::io::Error> for ArchiveError {
    fn from(e: std::io::Error) -> Self {
        Self::Zip(e.to_string())
    }
}

/// The entry names an archive may hold are the import's rule (`domain::manifest`): what the
/// import will refuse, the export never writes.
pub use crate::domain::manifest::{is_safe_name, NAME_MAX_BYTES};

/// Whether an entry of `len` bytes written at archive offset `offset` must be a ZIP64 ("large")
/// entry: its size, or where it ends, reaches the 32-bit fields' limit. The local header and data
/// descriptor of a large entry carry 64-bit sizes; the central directory's offset field turns to
/// ZIP64 on its own once an entry starts past the limit.
pub fn needs_large_entry(offset: u64, len: u64) -> bool {
    // A local header (30 bytes + name ≤ 255 + extra) and a descriptor (≤ 24 bytes) come with it.
    const OVERHEAD: u64 = 30 + NAME_MAX_BYTES as u64 + 64 + 24;
    len >= ZIP64_BYTES_THR || offset.saturating_add(len).saturating_add(OVERHEAD) >= ZIP64_BYTES_THR
}

/// The bytes the ZIP writer has written and the caller has not taken yet.
#[derive(Clone, Default)]
struct Pending(Rc<RefCell<Vec<u8>>>);

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A ZIP archive written entry by entry and taken away part by part.
pub struct ArchiveWriter {
    zip: ZipWriter<StreamWriter<Pending>>,
    pending: Pending,
    part_bytes: usize,
    /// Bytes written so far (taken or not): where the next entry starts.
    offset: u64,
    /// Bytes already taken as parts.
    taken: u64,
    entries: u64,
    /// The entry being written by [`ArchiveWriter::write`]: its name, declared length and the
    /// bytes written so far.
    open: Option<(String, u64, u64)>,
}

impl ArchiveWriter {
    /// An empty archive cut into parts of `part_bytes` ([`PART_BYTES`] for R2).
    pub fn new(part_bytes: usize) -> Self {
        let pending = Pending::default();
        Self {
            zip: ZipWriter::new_stream(pending.clone()),
            pending,
            part_bytes: part_bytes.max(1),
            offset: 0,
            taken: 0,
            entries: 0,
            open: None,
        }
    }

    /// Adds `bytes` as the stored entry `name`: [`ArchiveWriter::start`], one
    /// [`ArchiveWriter::write`] and [`ArchiveWriter::end`].
    ///
    /// # Errors
    /// As those three.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        self.start(name, bytes.len() as u64)?;
        self.write(bytes)?;
        self.end()
    }

    /// Starts the stored entry `name` of `len` bytes, to be written in chunks by
    /// [`ArchiveWriter::write`] (taking full parts between chunks as they come) and closed by
    /// [`ArchiveWriter::end`]: an entry of any size passes through less than a part and a chunk
    /// of memory. The length is declared first because whether the entry needs ZIP64 sizes is
    /// decided in its local header, before its bytes.
    ///
    /// # Errors
    /// [`ArchiveError::Name`] for a name [`is_safe_name`] refuses (or one already written);
    /// [`ArchiveError::Length`] while another entry is open; [`ArchiveError::Zip`] if the writer
    /// fails.
    pub fn start(&mut self, name: &str, len: u64) -> Result<(), ArchiveError> {
        if let Some((open, _, _)) = &self.open {
            return Err(ArchiveError::Length(format!(
                "{open} is still open when {name} starts"
            )));
        }
        if !is_safe_name(name) {
            return Err(ArchiveError::Name(name.to_owned()));
        }
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(needs_large_entry(self.offset, len));
        self.zip.start_file(name, options).map_err(|e| match e {
            zip::result::ZipError::InvalidArchive(_) => ArchiveError::Name(name.to_owned()),
            other => other.into(),
        })?;
        self.open = Some((name.to_owned(), len, 0));
        Ok(())
    }

    /// Writes the next chunk of the open entry.
    ///
    /// # Errors
    /// [`ArchiveError::Length`] with no entry open or past its declared length;
    /// [`ArchiveError::Zip`] if the writer fails.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), ArchiveError> {
        let Some((name, len, written)) = &mut self.open else {
            return Err(ArchiveError::Length("no entry is open".to_owned()));
        };
        let after = *written + chunk.len() as u64;
        if after > *len {
            return Err(ArchiveError::Length(format!(
                "{name}: {after} bytes written of {len} declared"
            )));
        }
        *written = after;
        self.zip.write_all(chunk)?;
        Ok(())
    }

    /// Closes the open entry (its data descriptor follows when the next entry starts or the
    /// archive ends).
    ///
    /// # Errors
    /// [`ArchiveError::Length`] with no entry open or fewer bytes written than declared.
    pub fn end(&mut self) -> Result<(), ArchiveError> {
        match self.open.take() {
            Some((name, len, written)) if written != len => Err(ArchiveError::Length(format!(
                "{name}: {written} bytes written of {len} declared"
            ))),
            Some(_) => {
                self.offset = self.written();
                self.entries += 1;
                Ok(())
            }
            None => Err(ArchiveError::Length("no entry is open".to_owned())),
        }
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Bytes written so far, taken as parts or not: the archive's size once finished.
    pub fn written(&self) -> u64 {
        // Everything handed to the sink, whether taken already or not.
        self.taken + self.pending.0.borrow().len() as u64
    }

    /// Bytes written and not yet taken as parts: what the writer holds in memory.
    pub fn buffered(&self) -> usize {
        self.pending.0.borrow().len()
    }

    /// The full parts written so far, each exactly `part_bytes`, taken out of memory.
    pub fn take_parts(&mut self) -> Vec<Vec<u8>> {
        let mut buf = self.pending.0.borrow_mut();
        let full = buf.len() / self.part_bytes;
        let mut parts = Vec::with_capacity(full);
        for _ in 0..full {
            let rest = buf.split_off(self.part_bytes);
            parts.push(std::mem::replace(&mut *buf, rest));
        }
        self.taken += (full * self.part_bytes) as u64;
        parts
    }

    /// Ends the archive (central directory, ZIP64 records when needed): the last parts, the last
    /// of which may be shorter than `part_bytes` (or empty when the archive ended on a boundary).
    ///
    /// # Errors
    /// [`ArchiveError::Zip`] if the writer fails.
    pub fn finish(mut self) -> Result<Vec<Vec<u8>>, ArchiveError> {
        if let Some((name, _, _)) = &self.open {
            return Err(ArchiveError::Length(format!("{name} is still open")));
        }
        let zip = std::mem::replace(&mut self.zip, ZipWriter::new_stream(Pending::default()));
        zip.finish()?;
        let mut parts = self.take_parts();
        let rest = std::mem::take(&mut *self.pending.0.borrow_mut());
        if !rest.is_empty() {
            parts.push(rest);
        }
        Ok(parts)
    }
}
