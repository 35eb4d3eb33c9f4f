//! `book`: a setlist's pieces as one PDF, in order, with an outline entry per piece.
//!
//! A setlist book (SPEC §11) is what a band prints or takes on stage as one file: each item's
//! pages — a member's part, a bookmark's range of a songbook, or the whole score — one after the
//! other, and an outline (the reader's table of contents) with the item's title pointing at its
//! first page. The pages are copied as [`super::extract`] copies a range: only what they reach,
//! inherited attributes written onto each page, nothing decoded or compressed again. Each source
//! is loaded, copied and dropped before the next, so memory holds one source at a time plus the
//! book so far; the sources together are held to [`ExtractLimits::max_input_bytes`] before
//! anything is parsed.

use lopdf::{dictionary, Object, ObjectId};

use super::extract::{Assembly, ExtractError, ExtractLimits};
use super::pdf_info::{self, MAX_LOAD_STREAM_BYTES};

/// One piece of the book.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// The PDF the piece's pages come from.
    pub pdf: &'a [u8],
    /// Pages `first..=last` (1-based) of it, or all of them.
    pub pages: Option<(u32, u32)>,
    /// Its outline entry.
    pub title: &'a str,
}

/// A made book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    pub bytes: Vec<u8>,
    pub pages: usize,
}

/// Why no book was made: the sources together are too large, or the item at `index` (0-based)
/// failed. Permanent: the same sources fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("too large for a book: {0}")]
    TooLarge(&'static str),
    #[error("item {}: {error}", index + 1)]
    Item { index: usize, error: ExtractError },
    #[error("a book needs at least one item")]
    Empty,
    #[error("the book could not be written: {0}")]
    Write(String),
}

impl BookError {
    /// The short human reason recorded on the task.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

/// The book of `sections`, in order, titled `title`.
///
/// # Errors
/// [`BookError::Empty`] without sections; [`BookError::TooLarge`] when the sources together are
/// over the input limit, or the book over the object or output limit; [`BookError::Item`] for a
/// source that is unreadable, encrypted, or has no such pages.
pub fn assemble(
    title: &str,
    sections: &[Section<'_>],
    limits: &ExtractLimits,
) -> Result<Book, BookError> {
    let total = sections
        .iter()
        .map(|s| s.pdf.len())
        .fold(0usize, usize::saturating_add);
    if total > limits.max_input_bytes {
        return Err(BookError::TooLarge(
            "its PDFs together are over the input limit",
        ));
    }
    let mut builder = BookBuilder::new(limits);
    for (index, section) in sections.iter().enumerate() {
        builder.add(index, section.pdf, section.pages, section.title)?;
    }
    builder.finish(title)
}

/// A book made one source at a time, so that a caller fetching its sources holds one at a time
/// (the queue's task); [`assemble`] when they are all at hand.
pub struct BookBuilder<'l> {
    assembly: Assembly<'l>,
    entries: Vec<(String, ObjectId)>,
}

impl<'l> BookBuilder<'l> {
    pub fn new(limits: &'l ExtractLimits) -> Self {
        Self {
            assembly: Assembly::new("1.7".into(), limits),
            entries: Vec::new(),
        }
    }

    /// Appends pages `first..=last` of `pdf` (all of them for `None`) as item `index` (0-based,
    /// for errors), with its outline entry `title`.
    ///
    /// # Errors
    /// [`BookError::Item`] for a source that is unreadable, encrypted or has no such pages;
    /// [`BookError::TooLarge`] past the object or output limit.
    pub fn add(
        &mut self,
        index: usize,
        pdf: &[u8],
        pages: Option<(u32, u32)>,
        title: &str,
    ) -> Result<(), BookError> {
        let item = |error| BookError::Item { index, error };
        let book =
            pdf_info::load(pdf, MAX_LOAD_STREAM_BYTES).map_err(|f| item(ExtractError::from(f)))?;
        let start = self.assembly.append(book, pages).map_err(limit_or(item))?;
        self.entries.push((title.to_owned(), start));
        Ok(())
    }

    /// The book, titled `title`, with its outline.
    ///
    /// # Errors
    /// [`BookError::Empty`] without items; [`BookError::TooLarge`] past the object or output
    /// limit.
    pub fn finish(mut self, title: &str) -> Result<Book, BookError> {
        if self.entries.is_empty() {
            return Err(BookError::Empty);
        }
        let pages = self.assembly.pages();
        let whole = limit_or(|e| BookError::Write(e.to_string()));
        let outline = outline(&mut self.assembly, &self.entries).map_err(&whole)?;
        let bytes = self
            .assembly
            .finish(
                Some(text(title)),
                &[
                    ("Outlines", Object::Reference(outline)),
                    ("PageMode", "UseOutlines".into()),
                ],
            )
            .map_err(&whole)?;
        Ok(Book { bytes, pages })
    }
}

/// A limit of the whole book is the book's, not the item's that happened to cross it.
fn limit_or(item: impl Fn(ExtractError) -> BookError) -> impl Fn(ExtractError) -> BookError {
    move |e| match e {
        ExtractError::TooLarge(why) => BookError::TooLarge(why),
        other => item(other),
    }
}

/// The outline: one entry per piece, in order, each opening its first page fitted to the
/// window (ISO 32000-1 §12.3.3). The root's number.
fn outline(
    assembly: &mut Assembly<'_>,
    entries: &[(String, ObjectId)],
) -> Result<ObjectId, ExtractError> {
    let root = assembly.fresh_id()?;
    let ids = (0..entries.len())
        .map(|_| assembly.fresh_id())
        .collect::<Result<Vec<_>, _>>()?;
    for (i, (title, page)) in entries.iter().enumerate() {
        let mut entry = dictionary! {
            "Title" => text(title),
            "Parent" => root,
            "Dest" => vec![Object::Reference(*page), "Fit".into()],
        };
        if i > 0 {
            entry.set("Prev", ids[i - 1]);
        }
        if let Some(next) = ids.get(i + 1) {
            entry.set("Next", *next);
        }
        assembly.insert(ids[i], Object::Dictionary(entry));
    }
    let count = i64::try_from(ids.len()).unwrap_or(i64::MAX);
    assembly.insert(
        root,
        Object::Dictionary(dictionary! {
            "Type" => "Outlines",
            "First" => ids[0],
            "Last" => ids[ids.len() - 1],
            "Count" => count,
        }),
    );
    Ok(root)
}

/// A PDF text string (ISO 32000-1 §7.9.2.2): ASCII as it is, anything else as UTF-16BE with its
/// byte-order mark, which every reader takes.
fn text(s: &str) -> Object {
    if s.is_ascii() {
        Object::string_literal(s)
    } else {
        let mut bytes = vec![0xFE, 0xFF];
        bytes.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
        Object::String(bytes, lopdf::StringFormat::Hexadecimal)
    }
}
