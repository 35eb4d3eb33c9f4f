//! `extract`: pages `first..=last` of a songbook as a PDF of their own.
//!
//! A bookmark (SPEC §10) names a page range of one songbook; `download-url?extract=true` serves
//! just those pages, made once by the queue and stored, so a reader never downloads a 300-page
//! book to play three pages of it. This module is the bytes-in, bytes-out part of that task.
//!
//! The new file holds only what the chosen pages reach: each page dictionary is walked through
//! its references, never up through `/Parent` and never into another page, the page tree or the
//! catalog, so one piece does not drag the rest of the book along (a link to a page outside the
//! range, or an annotation's `/P`, would). Attributes a page inherits (`/Resources`,
//! `/MediaBox`, `/CropBox`, `/Rotate`) are written onto it, since its ancestors stay behind, and
//! a fresh page tree and catalog replace the old ones. The Info `/Title` is kept; outlines,
//! forms, the structure tree and named destinations are not (they describe the whole book).
//!
//! Cost: lopdf has no lazy loader, so the whole book is parsed (object and cross-reference
//! streams decoded, each bounded by [`MAX_LOAD_STREAM_BYTES`]), and the input is held to
//! [`ExtractLimits::max_input_bytes`] before that. Everything after loading — the walk, the copy
//! and the output — grows with the chosen pages only: copied objects are moved out of the loaded
//! book, not cloned, and nothing is decoded or compressed again.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use lopdf::xref::XrefType;
use lopdf::{dictionary, Dictionary, Document, Object, ObjectId};

use super::pdf_info::{self, PdfFailure, MAX_LOAD_STREAM_BYTES};

const MIB: usize = 1024 * 1024;
/// Depth limit when following `/Parent` for inherited attributes (cycles in damaged files).
const MAX_INHERIT_DEPTH: usize = 64;
/// The page attributes a page may take from its ancestors (ISO 32000-1 §7.7.3.4).
const INHERITED: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];

// `ExtractError::from(PdfFailure::Limit)` names this bound in a `&'static str`.
const _: () = assert!(MAX_LOAD_STREAM_BYTES == 32 * MIB);

/// What one extraction may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Largest songbook accepted, checked before anything is parsed.
    pub max_input_bytes: usize,
    /// Most objects the new file may hold (pages, fonts, images, forms…).
    pub max_objects: usize,
    /// Largest new file.
    pub max_output_bytes: usize,
}

/// The queue's bounds. 200 MiB of input is the ceiling SPEC §11 sets for a setlist book, which
/// loads the same songbooks the same way, and is above the default upload limit (100 MiB), so
/// any stored songbook qualifies. It is not what a Worker can hold: peak memory is about twice
/// the input (the bytes, and lopdf's copy of every stream) plus the output, 64 MB measured for
/// a 29 MiB book, so a caller in a Worker should pass its whole-file limit
/// (`config::DEFAULT_WHOLE_FILE_MAX_BYTES`) as `max_input_bytes` instead. A few pieces of
/// engraved music reach hundreds of objects and scans a few dozen: 200 000 is far past any
/// genuine range yet keeps lopdf's per-object overhead in the tens of megabytes. Objects are
/// copied as stored, so the output hardly exceeds the pages' share of the input, and its bound
/// is the input's.
pub const EXTRACT_LIMITS: ExtractLimits = ExtractLimits {
    max_input_bytes: 200 * MIB,
    max_objects: 200_000,
    max_output_bytes: 200 * MIB,
};

/// Why no PDF was made. Every variant is permanent: the same input fails the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("encrypted with a password")]
    Encrypted,
    #[error("unreadable PDF: {0}")]
    Unreadable(String),
    #[error("no such pages: the PDF has pages 1 to {page_count}")]
    NoSuchPages { page_count: u32 },
    #[error("too large to extract: {0}")]
    TooLarge(&'static str),
}

impl ExtractError {
    /// The short human reason recorded on the task.
    pub fn reason(&self) -> String {
        self.to_string()
    }
}

impl From<PdfFailure> for ExtractError {
    fn from(failure: PdfFailure) -> Self {
        match failure {
            PdfFailure::NotPdf => Self::Unreadable("not a PDF".into()),
            PdfFailure::Encrypted => Self::Encrypted,
            PdfFailure::Damaged(why) => Self::Unreadable(why),
            PdfFailure::Limit(_) => Self::TooLarge("a stream inflates beyond 32 MiB"),
        }
    }
}

/// Pages `first..=last` (1-based) of `pdf` as a new PDF.
///
/// # Errors
/// [`ExtractError::NoSuchPages`] unless `1 ≤ first ≤ last ≤ page count`;
/// [`ExtractError::Encrypted`] when a user password is needed; [`ExtractError::Unreadable`] for
/// anything that is not a readable PDF; [`ExtractError::TooLarge`] past one of `limits`.
pub fn extract_pages(
    pdf: &[u8],
    first: u32,
    last: u32,
    limits: &ExtractLimits,
) -> Result<Vec<u8>, ExtractError> {
    if pdf.len() > limits.max_input_bytes {
        return Err(ExtractError::TooLarge("the PDF is over the input limit"));
    }
    let book = pdf_info::load(pdf, MAX_LOAD_STREAM_BYTES)?;
    let title = title(&book);
    let mut assembly = Assembly::new(book.version.clone(), limits);
    assembly.append(book, Some((first, last)))?;
    assembly.finish(title, &[])
}

/// A PDF being put together from pages of one or more loaded PDFs: its own page tree and
/// catalog, and the running totals its limits bound (objects, copied stream bytes).
pub(crate) struct Assembly<'l> {
    out: Document,
    tree_id: ObjectId,
    catalog_id: ObjectId,
    next_id: u32,
    stream_bytes: usize,
    kids: Vec<Object>,
    limits: &'l ExtractLimits,
}

impl<'l> Assembly<'l> {
    pub(crate) fn new(version: String, limits: &'l ExtractLimits) -> Self {
        let mut out = Document::with_version(version);
        // A classic table: every reader takes it, and it is not a stream to compress.
        out.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let tree_id = out.new_object_id();
        let catalog_id = out.new_object_id();
        let next_id = out.max_id + 1;
        Self {
            out,
            tree_id,
            catalog_id,
            next_id,
            stream_bytes: 0,
            kids: Vec::new(),
            limits,
        }
    }

    /// The pages the assembly holds so far.
    pub(crate) fn pages(&self) -> usize {
        self.kids.len()
    }

    /// Appends pages `first..=last` of `book` (all of them for `None`); the new number of the
    /// first appended page. `book` is consumed: copied objects are moved out of it.
    ///
    /// # Errors
    /// As [`extract_pages`].
    pub(crate) fn append(
        &mut self,
        mut book: Document,
        range: Option<(u32, u32)>,
    ) -> Result<ObjectId, ExtractError> {
        let (all_pages, count) = pdf_info::page_ids(&book, usize::MAX);
        if count == 0 {
            return Err(ExtractError::Unreadable("no pages found".into()));
        }
        let page_count = u32::try_from(count).unwrap_or(u32::MAX);
        let (first, last) = range.unwrap_or((1, page_count));
        if first == 0 || first > last || last > page_count {
            return Err(ExtractError::NoSuchPages { page_count });
        }
        let chosen = all_pages[first as usize - 1..last as usize].to_vec();

        // Read first, move later: choosing annotations and resolving inheritance read objects
        // that the copy would otherwise already have moved out of `book`.
        let chosen_set: HashSet<ObjectId> = chosen.iter().copied().collect();
        let mut walk = Walk {
            book: &book,
            limits: self.limits,
            pages: all_pages.into_iter().collect(),
            map: HashMap::new(),
            order: Vec::new(),
            pending: Vec::new(),
            next_id: self.next_id,
            stream_bytes: self.stream_bytes,
        };
        let mut pages = Vec::with_capacity(chosen.len());
        for &old in &chosen {
            let new = walk.fresh_id()?;
            // A page listed twice in the tree is copied twice; links go to its first copy.
            walk.map.entry(old).or_insert(new);
            pages.push((new, page_dict(&book, old, &chosen_set)));
        }
        for (_, page) in &pages {
            walk.reach_dict(page)?;
        }
        walk.drain()?;
        let (map, order) = (walk.map, walk.order);
        (self.next_id, self.stream_bytes) = (walk.next_id, walk.stream_bytes);

        for old in order {
            if let Some(object) = book.objects.remove(&old) {
                self.out.objects.insert(map[&old], rewrite(object, &map));
            }
        }
        let first_new = pages.first().map(|(id, _)| *id).unwrap_or(self.tree_id);
        for (new, page) in pages {
            let mut page = rewrite_dict(page, &map);
            page.set("Parent", self.tree_id);
            self.out.objects.insert(new, Object::Dictionary(page));
            self.kids.push(Object::Reference(new));
        }
        Ok(first_new)
    }

    /// A number for an object the assembly adds itself (an outline entry), within the limit.
    pub(crate) fn fresh_id(&mut self) -> Result<ObjectId, ExtractError> {
        if self.next_id as usize > self.limits.max_objects {
            return Err(ExtractError::TooLarge(
                "the pages reach more objects than the limit",
            ));
        }
        let id = (self.next_id, 0);
        self.next_id += 1;
        Ok(id)
    }

    /// Inserts an object under a number from [`Assembly::fresh_id`].
    pub(crate) fn insert(&mut self, id: ObjectId, object: Object) {
        self.out.objects.insert(id, object);
    }

    /// Writes the page tree, the catalog (with `catalog` entries added) and `title`, within the
    /// output limit.
    ///
    /// # Errors
    /// [`ExtractError::TooLarge`] past the output limit.
    pub(crate) fn finish(
        self,
        title: Option<Object>,
        catalog: &[(&str, Object)],
    ) -> Result<Vec<u8>, ExtractError> {
        let Self {
            mut out,
            tree_id,
            catalog_id,
            next_id,
            kids,
            limits,
            ..
        } = self;
        let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
        out.objects.insert(
            tree_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
        );
        let mut root = dictionary! { "Type" => "Catalog", "Pages" => tree_id };
        for (key, value) in catalog {
            root.set(*key, value.clone());
        }
        out.objects.insert(catalog_id, Object::Dictionary(root));
        out.max_id = next_id - 1;
        out.trailer.set("Root", catalog_id);
        if let Some(title) = title {
            let info = out.add_object(dictionary! { "Title" => title });
            out.trailer.set("Info", info);
        }
        let mut sink = Bounded {
            bytes: Vec::new(),
            max: limits.max_output_bytes,
            exceeded: false,
        };
        match out.save_to(&mut sink) {
            Ok(()) => Ok(sink.bytes),
            Err(_) if sink.exceeded => Err(ExtractError::TooLarge(
                "the extracted PDF is over the output limit",
            )),
            Err(e) => Err(ExtractError::Unreadable(e.to_string())),
        }
    }
}

/// The walk from the chosen pages: which objects of the book to copy, and their new numbers.
struct Walk<'a> {
    book: &'a Document,
    limits: &'a ExtractLimits,
    /// Every page of the book; only those in `map` (the chosen ones) are ever reached.
    pages: HashSet<ObjectId>,
    /// Old number → new number, for the chosen pages and every object copied.
    map: HashMap<ObjectId, ObjectId>,
    /// Objects to copy (not the pages, which are rebuilt), in the order they were found.
    order: Vec<ObjectId>,
    pending: Vec<ObjectId>,
    next_id: u32,
    /// What the copied streams weigh, to refuse before the output is written.
    stream_bytes: usize,
}

impl Walk<'_> {
    fn fresh_id(&mut self) -> Result<ObjectId, ExtractError> {
        // The page tree and the catalog are objects 1 and 2.
        if self.next_id as usize > self.limits.max_objects {
            return Err(ExtractError::TooLarge(
                "the pages reach more objects than the limit",
            ));
        }
        let id = (self.next_id, 0);
        self.next_id += 1;
        Ok(id)
    }

    fn drain(&mut self) -> Result<(), ExtractError> {
        let book = self.book;
        while let Some(old) = self.pending.pop() {
            if let Some(object) = book.objects.get(&old) {
                self.reach(object)?;
            }
        }
        Ok(())
    }

    fn reach(&mut self, object: &Object) -> Result<(), ExtractError> {
        match object {
            Object::Reference(id) => self.admit(*id),
            Object::Array(items) => items.iter().try_for_each(|item| self.reach(item)),
            Object::Dictionary(dict) => self.reach_dict(dict),
            // `/Length` is rewritten from the data, so an indirect length is not copied.
            Object::Stream(stream) => stream
                .dict
                .iter()
                .filter(|(key, _)| key.as_slice() != b"Length")
                .try_for_each(|(key, value)| self.reach_entry(key, value)),
            _ => Ok(()),
        }
    }

    fn reach_dict(&mut self, dict: &Dictionary) -> Result<(), ExtractError> {
        dict.iter()
            .try_for_each(|(key, value)| self.reach_entry(key, value))
    }

    fn reach_entry(&mut self, key: &[u8], value: &Object) -> Result<(), ExtractError> {
        // Up the page tree (or from a widget to its form field, a popup to its markup): kept
        // by `rewrite` only if the target is reached some other way.
        if key == b"Parent" {
            return Ok(());
        }
        self.reach(value)
    }

    fn admit(&mut self, old: ObjectId) -> Result<(), ExtractError> {
        if self.map.contains_key(&old) {
            return Ok(());
        }
        // A dangling reference is written as null (ISO 32000-1 §7.3.10).
        let Some(object) = self.book.objects.get(&old) else {
            return Ok(());
        };
        let tree_node = matches!(object.type_name(), Ok(b"Page" | b"Pages" | b"Catalog"));
        if tree_node || self.pages.contains(&old) {
            return Ok(());
        }
        if let Object::Stream(stream) = object {
            self.stream_bytes = self.stream_bytes.saturating_add(stream.content.len());
            if self.stream_bytes > self.limits.max_output_bytes {
                return Err(ExtractError::TooLarge(
                    "the pages' streams are over the output limit",
                ));
            }
        }
        let new = self.fresh_id()?;
        self.map.insert(old, new);
        self.order.push(old);
        self.pending.push(old);
        Ok(())
    }
}

/// A copy of a page's dictionary as it will stand alone: inherited attributes written onto it,
/// no `/Parent`, and only the annotations that stay within the range.
fn page_dict(book: &Document, id: ObjectId, chosen: &HashSet<ObjectId>) -> Dictionary {
    // The page iterator yields a kid that is not a dictionary as a page (readers draw it blank),
    // and the page count includes it: it becomes a blank page here too.
    let Ok(source) = book.get_dictionary(id) else {
        return blank_page();
    };
    let mut page = source.clone();
    for key in INHERITED {
        if !page.has(key) {
            if let Some(value) = inherited(book, source, key) {
                page.set(key, value.clone());
            }
        }
    }
    if !page.has(b"MediaBox") {
        page.set("MediaBox", letter());
    }
    page.remove(b"Parent");
    // Article beads chain through every page of a thread; sheet music has no use for them.
    page.remove(b"B");
    match kept_annotations(book, &page, chosen) {
        Some(kept) => page.set("Annots", kept),
        None => {
            page.remove(b"Annots");
        }
    }
    page
}

fn blank_page() -> Dictionary {
    dictionary! { "Type" => "Page", "MediaBox" => letter() }
}

/// US Letter, the spec's default when no MediaBox is found (as `pdf_info` reads it).
fn letter() -> Object {
    vec![0.into(), 0.into(), 612.into(), 792.into()].into()
}

/// The value of `key` on the nearest ancestor that has it, as stored (a reference stays one, so
/// resources shared by every page are copied once).
fn inherited<'a>(book: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut node = page;
    for _ in 0..MAX_INHERIT_DEPTH {
        let parent = node.get(b"Parent").ok()?.as_reference().ok()?;
        node = book.get_dictionary(parent).ok()?;
        if let Ok(value) = node.get(key) {
            return Some(value);
        }
    }
    None
}

/// The page's annotations, less every link that goes to a page outside the range or to a named
/// destination (the name tree stays behind with the catalog). Such a link would go nowhere in the
/// new file; links within the range, to the web and all other annotations are kept.
fn kept_annotations(
    book: &Document,
    page: &Dictionary,
    chosen: &HashSet<ObjectId>,
) -> Option<Object> {
    let annots = deref(book, page.get(b"Annots").ok()?).as_array().ok()?;
    let kept: Vec<Object> = annots
        .iter()
        .filter(|annot| !links_away(book, deref(book, annot), chosen))
        .cloned()
        .collect();
    (!kept.is_empty()).then_some(Object::Array(kept))
}

fn links_away(book: &Document, annot: &Object, chosen: &HashSet<ObjectId>) -> bool {
    let Ok(annot) = annot.as_dict() else {
        // Not an annotation at all.
        return true;
    };
    if annot.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Link") {
        return false;
    }
    let destination = match annot.get(b"Dest") {
        Ok(dest) => Some(deref(book, dest)),
        Err(_) => annot
            .get(b"A")
            .ok()
            .and_then(|action| deref(book, action).as_dict().ok())
            // Only GoTo reaches a page of this file; URI, GoToR, Launch… are kept.
            .filter(|action| action.get(b"S").and_then(Object::as_name).ok() == Some(b"GoTo"))
            .and_then(|action| action.get(b"D").ok())
            .map(|dest| deref(book, dest)),
    };
    match destination {
        None => false,
        Some(Object::Array(dest)) => {
            !matches!(dest.first(), Some(Object::Reference(page)) if chosen.contains(page))
        }
        Some(_) => true,
    }
}

fn deref<'a>(book: &'a Document, object: &'a Object) -> &'a Object {
    match object {
        Object::Reference(id) => book.get_object(*id).unwrap_or(object),
        other => other,
    }
}

fn title(book: &Document) -> Option<Object> {
    let info = deref(book, book.trailer.get(b"Info").ok()?)
        .as_dict()
        .ok()?;
    let title = deref(book, info.get(b"Title").ok()?);
    matches!(title, Object::String(..)).then(|| title.clone())
}

/// `object` with every reference renumbered; references to anything not copied become null, and
/// a null dictionary entry is dropped (the spec reads both as absent).
fn rewrite(object: Object, map: &HashMap<ObjectId, ObjectId>) -> Object {
    match object {
        Object::Reference(id) => map
            .get(&id)
            .map_or(Object::Null, |new| Object::Reference(*new)),
        Object::Array(items) => Object::Array(items.into_iter().map(|o| rewrite(o, map)).collect()),
        Object::Dictionary(dict) => Object::Dictionary(rewrite_dict(dict, map)),
        Object::Stream(mut stream) => {
            stream.dict = rewrite_dict(stream.dict, map);
            // The data is written as stored, so its length is what it holds now.
            let length = i64::try_from(stream.content.len()).unwrap_or(i64::MAX);
            stream.dict.set("Length", length);
            Object::Stream(stream)
        }
        other => other,
    }
}

fn rewrite_dict(dict: Dictionary, map: &HashMap<ObjectId, ObjectId>) -> Dictionary {
    dict.into_iter()
        .map(|(key, value)| (key, rewrite(value, map)))
        .filter(|(_, value)| !matches!(value, Object::Null))
        .collect()
}

/// A `Vec` that refuses to grow past `max`, so an oversized output fails while being written
/// rather than after it is whole.
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
    exceeded: bool,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > self.max {
            self.exceeded = true;
            return Err(io::Error::other("output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
