//! `preflight`: before hayro renders page N, prove with bounded memory that rendering it cannot
//! decode more than the limits.
//!
//! hayro 0.9 decodes streams (Flate, LZW, RunLength, ASCII85, object streams, images) with no
//! output bound, so a small hostile file can make it allocate hundreds of megabytes and crash the
//! Worker's isolate. This check loads the file with lopdf (object and cross-reference streams
//! bounded while loading), finds page N the way hayro's page-tree walk finds it, and walks
//! everything rendering that page can make hayro decode: the content streams, and through the
//! resource names the content spells, forms, patterns, shadings, fonts (font files, Type 3 glyph
//! procedures), graphics states (soft masks, transfer functions), colour spaces (ICC profiles,
//! lookup tables), images and their masks, inline images, and annotation appearances. Each
//! object is visited once; each stream is decoded with hayro's filter semantics but stopped one
//! byte past the limit and dropped at once, so this check holds about one stream at a time.
//! Image codecs are not run: their output size comes from the codestream header (JPEG SOF, JPEG
//! 2000 SIZ, JBIG2 page information) and from the image dictionary, which hayro also allocates
//! by.

mod content;
pub(super) mod decode;
mod image;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use super::pdf_info::{self, PdfFailure};
use decode::{Filter, Stop};

const MIB: usize = 1024 * 1024;

/// What rendering one page may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decoded size of any one stream (and of any one image).
    pub max_stream_bytes: usize,
    /// Largest sum of the decoded sizes of every stream the page reaches.
    pub max_page_bytes: usize,
    /// Largest image, in pixels (declared by the image dictionary or by its codestream).
    pub max_image_pixels: u64,
    /// Most objects (and inline images) visited for the page.
    pub max_objects: usize,
    /// Deepest chain of forms, tiling patterns, Type 3 glyphs and appearance streams, and
    /// deepest nesting of arrays and dictionaries in a content stream (hayro parses deeply nested
    /// operands in time that grows with the square of the depth: 100 000 `[` cost seconds).
    pub max_depth: usize,
    /// Most operators the page's content streams run (forms, patterns and glyphs included):
    /// drawing time grows with them, and a queue task has a CPU budget.
    pub max_operators: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_stream_bytes: 32 * MIB,
            // hayro's own working memory while drawing runs at about twice what the page
            // decodes: 40 MiB keeps a page, the file and the drawing under a Worker's 128 MB.
            max_page_bytes: 40 * MIB,
            max_image_pixels: 40_000_000,
            max_objects: 20_000,
            max_depth: 32,
            // A dense orchestral page engraved by LilyPond runs tens of thousands.
            max_operators: 2_000_000,
        }
    }
}

/// What the page was found to cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCost {
    /// Sum of the decoded sizes of every stream (and image) the page reaches.
    pub decoded_bytes: u64,
    /// Streams and inline images counted.
    pub streams: usize,
    /// Sum of the pixels of every image.
    pub image_pixels: u64,
}

/// Why page N may not be rendered. The text is short and meant for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a PDF")]
    NotPdf,
    #[error("encrypted with a password")]
    Encrypted,
    #[error("damaged file: {0}")]
    Damaged(String),
    #[error("the file has no page {0}")]
    NoPage(usize),
    #[error("a stream inflates beyond {}", size(*.0))]
    StreamTooLarge(usize),
    #[error("page streams inflate beyond {}", size(*.0))]
    PageTooLarge(usize),
    #[error("an image of {width}×{height} pixels is too large")]
    ImageTooLarge { width: u64, height: u64 },
    #[error("the page references too many objects")]
    TooManyObjects,
    #[error("nesting too deep")]
    TooDeep,
    #[error("the page draws too many operations")]
    TooManyOperators,
}

impl Refusal {
    /// A limit of this check (the file may be fine, but rendering it costs too much), as opposed
    /// to a file that is not a readable PDF at all.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Self::StreamTooLarge(_)
                | Self::PageTooLarge(_)
                | Self::ImageTooLarge { .. }
                | Self::TooManyObjects
                | Self::TooDeep
                | Self::TooManyOperators
        )
    }
}

fn size(bytes: usize) -> String {
    crate::domain::human_bytes(i64::try_from(bytes).unwrap_or(i64::MAX))
}

/// Checks that rendering page `page` (1-based) of `bytes` stays within `limits`.
///
/// # Errors
/// Why it may not be rendered: a limit ([`Refusal::is_limit`]) or a file that cannot be read.
pub fn check_page(bytes: &[u8], page: usize, limits: &Limits) -> Result<PageCost, Refusal> {
    check_loaded(&load(bytes, limits)?, page, limits)
}

/// Loads the file as [`check_page`] does (streams decoded while loading stay within the
/// limits), for a caller that checks a page of it with [`check_loaded`] or reads it otherwise.
///
/// # Errors
/// As [`check_page`], for the file as a whole.
pub fn load(bytes: &[u8], limits: &Limits) -> Result<Document, Refusal> {
    pdf_info::load(bytes, limits.max_stream_bytes).map_err(|f| match f {
        PdfFailure::NotPdf => Refusal::NotPdf,
        PdfFailure::Encrypted => Refusal::Encrypted,
        PdfFailure::Damaged(why) => Refusal::Damaged(why),
        PdfFailure::Limit(_) => Refusal::StreamTooLarge(limits.max_stream_bytes),
    })
}

/// [`check_page`] on a document lopdf has loaded (with bounded stream decoding).
///
/// # Errors
/// As [`check_page`].
pub fn check_loaded(doc: &Document, page: usize, limits: &Limits) -> Result<PageCost, Refusal> {
    let check = |p: &PageRef<'_>| {
        let mut walker = Walker::new(doc, limits);
        walker.page(p)?;
        walker.run()?;
        walker.graph.check_depth(limits.max_depth)?;
        Ok(walker.cost)
    };
    match hayro_pages(doc) {
        Pages::Tree(pages) => {
            if pages.is_empty() {
                return Err(Refusal::Damaged("no pages found".into()));
            }
            let p = page
                .checked_sub(1)
                .and_then(|i| pages.get(i))
                .ok_or(Refusal::NoPage(page))?;
            check(p)
        }
        // hayro found no page tree and renders whichever page objects it finds, in no stable
        // order: every one of them must pass.
        Pages::Scattered(pages) => {
            if pages.is_empty() {
                return Err(Refusal::Damaged("no pages found".into()));
            }
            if pages.len() > MAX_SCATTERED_PAGES {
                return Err(Refusal::Damaged("no readable page tree".into()));
            }
            if page == 0 || page > pages.len() {
                return Err(Refusal::NoPage(page));
            }
            let mut worst = PageCost::default();
            for p in &pages {
                let cost = check(p)?;
                if cost.decoded_bytes >= worst.decoded_bytes {
                    worst = cost;
                }
            }
            Ok(worst)
        }
    }
}

/// Most page objects checked when the page tree is unreadable.
const MAX_SCATTERED_PAGES: usize = 100;

/// A page as hayro sees it: its dictionary and the resources it inherits from the page-tree
/// nodes it was reached through.
struct PageRef<'a> {
    dict: &'a Dictionary,
    inherited: Option<&'a Dictionary>,
}

enum Pages<'a> {
    Tree(Vec<PageRef<'a>>),
    Scattered(Vec<PageRef<'a>>),
}

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    doc.dereference(obj).map_or(&Object::Null, |(_, o)| o)
}

fn dict_of<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Dictionary> {
    match deref(doc, obj) {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

fn get<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    dict.get(key).ok().map(|o| deref(doc, o))
}

fn get_dict<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Dictionary> {
    match get(doc, dict, key)? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

fn get_name<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match get(doc, dict, key)? {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

fn get_int(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<i64> {
    match get(doc, dict, key)? {
        Object::Integer(i) => Some(*i),
        #[expect(clippy::cast_possible_truncation, reason = "a dimension, rounded")]
        Object::Real(r) => Some(*r as i64),
        _ => None,
    }
}

/// The page list as hayro-syntax 0.9 builds it (`page.rs`): an iterative walk from the
/// catalog's `/Pages` that visits each node once, takes every kid that is not `/Type /Pages`
/// for a page, and inherits `/Resources` along the way (not through `/Parent`). Without a root
/// node with `/Kids`, hayro takes every dictionary with `/Contents` for a page.
fn hayro_pages(doc: &Document) -> Pages<'_> {
    let root = doc
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|o| dict_of(doc, o))
        .and_then(|catalog| catalog.get(b"Pages").ok().map(|o| (o, catalog)));
    let root_node = root.and_then(|(o, _)| match doc.dereference(o) {
        Ok((id, Object::Dictionary(d))) => Some((id, d)),
        _ => None,
    });
    let Some((root_id, root)) =
        root_node.filter(|(_, d)| matches!(get(doc, d, b"Kids"), Some(Object::Array(_))))
    else {
        let pages = doc
            .objects
            .values()
            .filter_map(|o| match o {
                Object::Dictionary(d) if d.has(b"Contents") => Some(PageRef {
                    dict: d,
                    inherited: None,
                }),
                _ => None,
            })
            .collect();
        return Pages::Scattered(pages);
    };
    let mut visited: HashSet<ObjectId> = root_id.into_iter().collect();
    let mut pages = Vec::new();
    let mut stack = vec![frame(doc, root, None).unwrap_or(([].iter(), None))];
    while let Some((kids, inherited)) = stack.last_mut() {
        let inherited = *inherited;
        let Some(kid) = kids.next() else {
            stack.pop();
            continue;
        };
        let dict = match kid {
            Object::Reference(id) => {
                if !visited.insert(*id) {
                    continue;
                }
                dict_of(doc, kid)
            }
            Object::Dictionary(d) => Some(d),
            _ => None,
        };
        let Some(dict) = dict else { continue };
        if get_name(doc, dict, b"Type") == Some(b"Pages") {
            if let Some(child) = frame(doc, dict, inherited) {
                stack.push(child);
            }
        } else {
            pages.push(PageRef { dict, inherited });
        }
    }
    Pages::Tree(pages)
}

/// A page-tree node's kids and the resources its pages inherit (hayro's `PageTreeFrame`).
type Frame<'a> = (std::slice::Iter<'a, Object>, Option<&'a Dictionary>);

fn frame<'a>(
    doc: &'a Document,
    node: &'a Dictionary,
    inherited: Option<&'a Dictionary>,
) -> Option<Frame<'a>> {
    let resources = get_dict(doc, node, b"Resources").or(inherited);
    match get(doc, node, b"Kids") {
        Some(Object::Array(kids)) => Some((kids.iter(), resources)),
        _ => None,
    }
}

/// Keys never followed: links to other pages, the document structure, or data hayro does not
/// decode to render (thumbnails, XMP metadata).
const SKIP: &[&[u8]] = &[
    b"Parent",
    b"P",
    b"Kids",
    b"Annots",
    b"B",
    b"Thumb",
    b"Metadata",
    b"PieceInfo",
    b"A",
    b"AA",
    b"Dest",
    b"Popup",
    b"IRT",
    b"Prev",
    b"Next",
    b"First",
    b"Last",
    b"StructParent",
    b"StructParents",
    b"Names",
    b"Outlines",
    b"OpenAction",
    b"AcroForm",
    b"Length",
];

/// The resource categories a content stream reaches by name.
const CATEGORIES: &[&[u8]] = &[
    b"XObject",
    b"ExtGState",
    b"Font",
    b"Pattern",
    b"Shading",
    b"ColorSpace",
    b"Properties",
];

/// How a stream is to be read, from the key it was reached through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// `/SMask` or `/Mask` of an image: an image.
    Image,
    /// Drawn as content: a Type 3 glyph procedure, an appearance stream, a soft mask's group.
    Content,
}

fn role_for_key(key: &[u8]) -> Role {
    match key {
        b"SMask" | b"Mask" => Role::Image,
        b"G" | b"CharProcs" => Role::Content,
        _ => Role::Plain,
    }
}

/// Something the walk reaches: an indirect object, or a form-like stream drawn with a given
/// set of inherited resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Page,
    Object(ObjectId),
    Form(ObjectId, usize),
}

/// Who reaches what, to find the deepest chain of forms and any loop through a form (hayro
/// would decode the forms on a loop again at each of its 50 nesting levels).
#[derive(Default)]
struct Graph {
    index: HashMap<Key, usize>,
    edges: Vec<Vec<usize>>,
    form: Vec<bool>,
}

impl Graph {
    /// The node for `key`, and whether it is new.
    fn node(&mut self, key: Key, form: bool) -> (usize, bool) {
        if let Some(&i) = self.index.get(&key) {
            return (i, false);
        }
        let i = self.edges.len();
        self.index.insert(key, i);
        self.edges.push(Vec::new());
        self.form.push(form);
        (i, true)
    }

    fn edge(&mut self, from: usize, to: usize) {
        self.edges[from].push(to);
    }

    /// Longest chain of form nodes from the page (iterative, so a hostile chain cannot overflow
    /// this stack either); a loop through a form is infinitely deep.
    fn check_depth(&self, max_depth: usize) -> Result<(), Refusal> {
        const WHITE: u8 = 0;
        const GREY: u8 = 1;
        const BLACK: u8 = 2;
        let n = self.edges.len();
        if n == 0 {
            return Ok(());
        }
        let weight = |v: usize| usize::from(self.form[v]);
        let mut colour = vec![WHITE; n];
        let mut depth = vec![0usize; n];
        // Forms on the DFS path up to and including each node on it.
        let mut forms_before = vec![0usize; n];
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        colour[0] = GREY;
        forms_before[0] = weight(0);
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&w) = self.edges[v].get(*next) {
                *next += 1;
                match colour[w] {
                    WHITE => {
                        colour[w] = GREY;
                        forms_before[w] = forms_before[v] + weight(w);
                        stack.push((w, 0));
                    }
                    // A loop: from w down the path to v and back to w.
                    GREY if forms_before[v] - forms_before[w] + weight(w) > 0 => {
                        return Err(Refusal::TooDeep);
                    }
                    _ => {}
                }
            } else {
                stack.pop();
                colour[v] = BLACK;
                let below = self.edges[v]
                    .iter()
                    .filter(|w| colour[**w] == BLACK)
                    .map(|w| depth[*w])
                    .max()
                    .unwrap_or(0);
                depth[v] = below + weight(v);
                if depth[v] > max_depth {
                    return Err(Refusal::TooDeep);
                }
            }
        }
        Ok(())
    }
}

struct Item<'a> {
    obj: &'a Object,
    owner: usize,
    resources: Option<&'a Dictionary>,
    role: Role,
}

struct Walker<'a> {
    doc: &'a Document,
    limits: &'a Limits,
    graph: Graph,
    /// Streams already counted (each object once; page contents count per occurrence).
    counted: HashSet<ObjectId>,
    cost: PageCost,
    objects: usize,
    /// Operators run by the content streams counted so far.
    operators: usize,
    queue: Vec<Item<'a>>,
}

fn ptr(d: Option<&Dictionary>) -> usize {
    d.map_or(0, |d| std::ptr::from_ref(d) as usize)
}

impl<'a> Walker<'a> {
    fn new(doc: &'a Document, limits: &'a Limits) -> Self {
        Self {
            doc,
            limits,
            graph: Graph::default(),
            counted: HashSet::new(),
            cost: PageCost::default(),
            objects: 0,
            operators: 0,
            queue: Vec::new(),
        }
    }

    fn count_object(&mut self) -> Result<(), Refusal> {
        self.objects += 1;
        if self.objects > self.limits.max_objects {
            return Err(Refusal::TooManyObjects);
        }
        Ok(())
    }

    /// The page: its content streams (concatenated by hayro, so each occurrence counts), the
    /// resources they name, annotation appearances, and whatever else the page dictionary holds.
    fn page(&mut self, page: &PageRef<'a>) -> Result<(), Refusal> {
        let doc = self.doc;
        let (root, _) = self.graph.node(Key::Page, false);
        let resources = get_dict(doc, page.dict, b"Resources").or(page.inherited);
        let mut names = HashSet::new();
        let contents: Vec<&Object> = match page.dict.get(b"Contents").ok() {
            Some(c) => match deref(doc, c) {
                Object::Array(items) => items.iter().collect(),
                _ => vec![c],
            },
            None => Vec::new(),
        };
        for item in contents {
            self.count_object()?;
            if let Ok((id, Object::Stream(s))) = doc.dereference(item) {
                self.content(id, s, false, &mut names)?;
            }
        }
        self.use_names(&names, resources, root);
        if let Some(Object::Array(annots)) = get(doc, page.dict, b"Annots") {
            for annot in annots {
                self.count_object()?;
                let Some(ap) = dict_of(doc, annot).and_then(|a| get_dict(doc, a, b"AP")) else {
                    continue;
                };
                for key in [&b"N"[..], b"D", b"R"] {
                    let Some(value) = ap.get(key).ok() else {
                        continue;
                    };
                    let states: Vec<&Object> = match deref(doc, value) {
                        Object::Dictionary(d) => d.iter().map(|(_, v)| v).collect(),
                        _ => vec![value],
                    };
                    for obj in states {
                        self.queue.push(Item {
                            obj,
                            owner: root,
                            resources,
                            role: Role::Content,
                        });
                    }
                }
            }
        }
        for (key, value) in page.dict {
            if matches!(key.as_slice(), b"Contents" | b"Resources") || SKIP.contains(&&key[..]) {
                continue;
            }
            self.queue.push(Item {
                obj: value,
                owner: root,
                resources,
                role: role_for_key(key),
            });
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), Refusal> {
        while let Some(item) = self.queue.pop() {
            self.visit(item)?;
        }
        Ok(())
    }

    fn visit(&mut self, item: Item<'a>) -> Result<(), Refusal> {
        let doc = self.doc;
        match item.obj {
            Object::Reference(_) => {
                let Ok((Some(id), target)) = doc.dereference(item.obj) else {
                    return Ok(());
                };
                if let Object::Stream(s) = target {
                    if is_form(doc, s, item.role) {
                        let own = get_dict(doc, &s.dict, b"Resources");
                        let pattern = get_int(doc, &s.dict, b"PatternType") == Some(1);
                        // Forms and glyphs without resources draw with their caller's; tiling
                        // patterns with none at all.
                        let resources = own.or(if pattern { None } else { item.resources });
                        let key = Key::Form(id, if own.is_some() { 0 } else { ptr(resources) });
                        let (node, new) = self.graph.node(key, true);
                        self.graph.edge(item.owner, node);
                        if new {
                            self.count_object()?;
                            self.form(id, s, node, resources)?;
                        }
                        return Ok(());
                    }
                }
                let (node, new) = self.graph.node(Key::Object(id), false);
                self.graph.edge(item.owner, node);
                if !new {
                    return Ok(());
                }
                self.count_object()?;
                if let Object::Stream(s) = target {
                    let image = item.role == Role::Image
                        || get_name(doc, &s.dict, b"Subtype") == Some(b"Image");
                    self.stream(Some(id), &s.dict, &s.content, image, false)?;
                    self.walk_dict(&s.dict, node, item.resources, &[]);
                } else {
                    self.queue.push(Item {
                        obj: target,
                        owner: node,
                        ..item
                    });
                }
            }
            Object::Dictionary(d) => self.dict(d, &item),
            Object::Array(items) => {
                for obj in items {
                    self.queue.push(Item {
                        obj,
                        role: Role::Plain,
                        ..item
                    });
                }
            }
            // lopdf keeps streams only as indirect objects.
            _ => {}
        }
        Ok(())
    }

    /// A dictionary reached directly or through a reference (not a stream's).
    fn dict(&mut self, d: &'a Dictionary, item: &Item<'a>) {
        let doc = self.doc;
        if get_name(doc, d, b"Subtype") == Some(b"Type3") {
            // Glyph procedures draw with the font's resources (or their caller's).
            let resources = get_dict(doc, d, b"Resources").or(item.resources);
            if let Some(procs) = get_dict(doc, d, b"CharProcs") {
                for (_, obj) in procs {
                    self.queue.push(Item {
                        obj,
                        owner: item.owner,
                        resources,
                        role: Role::Content,
                    });
                }
            }
            self.walk_dict(d, item.owner, item.resources, &[b"Resources", b"CharProcs"]);
            return;
        }
        if item.role == Role::Content {
            // A dictionary of glyph procedures or appearance states.
            for (_, obj) in d {
                self.queue.push(Item {
                    obj,
                    owner: item.owner,
                    resources: item.resources,
                    role: Role::Content,
                });
            }
            return;
        }
        self.walk_dict(d, item.owner, item.resources, &[]);
    }

    fn walk_dict(
        &mut self,
        d: &'a Dictionary,
        owner: usize,
        resources: Option<&'a Dictionary>,
        also_skip: &[&[u8]],
    ) {
        for (key, obj) in d {
            if SKIP.contains(&&key[..]) || also_skip.contains(&&key[..]) {
                continue;
            }
            self.queue.push(Item {
                obj,
                owner,
                resources,
                role: role_for_key(key),
            });
        }
    }

    /// A form-like stream: its content is decoded and scanned, the resources it names are
    /// followed, then the rest of its dictionary.
    fn form(
        &mut self,
        id: ObjectId,
        s: &'a Stream,
        node: usize,
        resources: Option<&'a Dictionary>,
    ) -> Result<(), Refusal> {
        let mut names = HashSet::new();
        let first = !self.counted.contains(&id);
        self.content(Some(id), s, !first, &mut names)?;
        self.use_names(&names, resources, node);
        self.walk_dict(&s.dict, node, resources, &[b"Resources"]);
        Ok(())
    }

    /// Decodes a content stream, counts it (unless `seen`), gathers the names it spells and
    /// checks its inline images.
    fn content(
        &mut self,
        id: Option<ObjectId>,
        s: &'a Stream,
        seen: bool,
        names: &mut HashSet<Vec<u8>>,
    ) -> Result<(), Refusal> {
        let bytes = if seen {
            // Counted already; decode again for the names only (within the stream limit).
            self.decode_only(&s.dict, &s.content)?
        } else {
            if let Some(id) = id {
                self.counted.insert(id);
            }
            self.stream(None, &s.dict, &s.content, false, true)?
        };
        let Some(bytes) = bytes else { return Ok(()) };
        content::names(&bytes, names);
        if seen {
            return Ok(());
        }
        let shape = content::shape(&bytes);
        if shape.nesting > self.limits.max_depth {
            return Err(Refusal::TooDeep);
        }
        self.operators += shape.operators;
        if self.operators > self.limits.max_operators {
            return Err(Refusal::TooManyOperators);
        }
        for inline in content::inline_images(&bytes) {
            self.count_object()?;
            let data = inline.data;
            let mut dict = inline.dict;
            // Expand the abbreviations hayro's image code reads (filters it expands itself).
            for (short, long) in [
                (&b"W"[..], &b"Width"[..]),
                (b"H", b"Height"),
                (b"BPC", b"BitsPerComponent"),
                (b"CS", b"ColorSpace"),
                (b"IM", b"ImageMask"),
            ] {
                if let Ok(v) = dict.get(short).cloned() {
                    dict.set(long, v);
                }
            }
            // Unfiltered data is part of the content, counted already; filtered data is
            // decoded from here to where its filter ends (at most the end of the content).
            let data = if decode::chain(self.doc, &dict).is_empty() {
                &[][..]
            } else {
                data
            };
            self.stream(None, &dict, data, true, false)?;
        }
        Ok(())
    }

    /// Follows every resource whose name the content spells.
    fn use_names(
        &mut self,
        names: &HashSet<Vec<u8>>,
        resources: Option<&'a Dictionary>,
        owner: usize,
    ) {
        let Some(resources) = resources else { return };
        for category in CATEGORIES {
            let Some(entries) = get_dict(self.doc, resources, category) else {
                continue;
            };
            for (name, obj) in entries {
                if names.contains(name) {
                    self.queue.push(Item {
                        obj,
                        owner,
                        resources: Some(resources),
                        role: Role::Plain,
                    });
                }
            }
        }
    }

    /// The bytes of a stream decoded (for content), within the stream limit, without counting.
    fn decode_only<'r>(
        &mut self,
        dict: &'r Dictionary,
        raw: &'r [u8],
    ) -> Result<Option<Cow<'r, [u8]>>, Refusal> {
        if external(self.doc, dict) {
            return Ok(None);
        }
        let chain = decode::chain(self.doc, dict);
        match decode::prefix(self.doc, &chain, raw, self.limits.max_stream_bytes) {
            Ok(p) if p.codec.is_none() => Ok(Some(p.data)),
            Ok(_) | Err((Stop::Invalid, _)) => Ok(None),
            Err((Stop::Limit, _)) => Err(Refusal::StreamTooLarge(self.limits.max_stream_bytes)),
        }
    }

    /// Counts one stream (or inline image): decodes its non-codec filters within what is left of
    /// the budgets, sizes a codec's output from its header, and for images checks the declared
    /// size too. Returns the decoded bytes when `keep` and no codec is involved.
    fn stream<'r>(
        &mut self,
        id: Option<ObjectId>,
        dict: &'r Dictionary,
        raw: &'r [u8],
        image: bool,
        keep: bool,
    ) -> Result<Option<Cow<'r, [u8]>>, Refusal> {
        if let Some(id) = id {
            if !self.counted.insert(id) {
                return Ok(None);
            }
        }
        let doc = self.doc;
        let limits = self.limits;
        self.cost.streams += 1;
        let used = usize::try_from(self.cost.decoded_bytes).unwrap_or(usize::MAX);
        let left = limits.max_page_bytes.saturating_sub(used);
        let limit = limits.max_stream_bytes.min(left);
        let over = |limit: usize| {
            if limit < limits.max_stream_bytes {
                Refusal::PageTooLarge(limits.max_page_bytes)
            } else {
                Refusal::StreamTooLarge(limits.max_stream_bytes)
            }
        };
        // hayro does not decode streams whose data lives in another file.
        let chain = if external(doc, dict) {
            Vec::new()
        } else {
            decode::chain(doc, dict)
        };
        let declared = if image {
            declared_image(doc, dict)
        } else {
            None
        };
        if let Some(d) = declared {
            self.image_pixels(d)?;
        }
        let (mut kept, mut codec) = (None, None);
        let mut bytes = match decode::prefix(doc, &chain, raw, limit) {
            Ok(p) => {
                let bytes = p.peak.max(p.data.len()) as u64;
                if let Some(i) = p.codec {
                    codec = codec_dims(doc, &chain, i, &p.data, dict);
                } else if keep {
                    kept = Some(p.data);
                }
                bytes
            }
            Err((Stop::Limit, _)) => return Err(over(limit)),
            Err((Stop::Invalid, produced)) => produced.max(raw.len()) as u64,
        };
        if let Some(d) = codec {
            self.image_pixels(d)?;
            bytes = bytes.max(d.bytes());
        }
        if let Some(d) = declared {
            bytes = bytes.max(d.bytes());
        }
        if bytes > limit as u64 {
            // Only images reach here (decoded streams stop at the limit).
            let d = codec.or(declared).unwrap_or(image::Dims {
                width: 0,
                height: 0,
                bytes_per_pixel: 0,
            });
            return Err(if limit < limits.max_stream_bytes {
                Refusal::PageTooLarge(limits.max_page_bytes)
            } else {
                Refusal::ImageTooLarge {
                    width: d.width,
                    height: d.height,
                }
            });
        }
        self.cost.decoded_bytes += bytes;
        Ok(kept)
    }

    fn image_pixels(&mut self, d: image::Dims) -> Result<(), Refusal> {
        if d.pixels() > self.limits.max_image_pixels {
            return Err(Refusal::ImageTooLarge {
                width: d.width,
                height: d.height,
            });
        }
        self.cost.image_pixels = self.cost.image_pixels.saturating_add(d.pixels());
        Ok(())
    }
}

/// A stream whose `/F` names a file (hayro refuses to decode it).
fn external(doc: &Document, dict: &Dictionary) -> bool {
    matches!(
        get(doc, dict, b"F"),
        Some(Object::String(..) | Object::Dictionary(_))
    )
}

/// Whether a stream is drawn as content.
fn is_form(doc: &Document, s: &Stream, role: Role) -> bool {
    role == Role::Content
        || get_name(doc, &s.dict, b"Subtype") == Some(b"Form")
        || get_int(doc, &s.dict, b"PatternType") == Some(1)
        || s.dict.has(b"Resources") && role != Role::Image
}

/// The size an image dictionary declares (hayro pads short data to it): width × height, and
/// bytes per pixel from the colour space and bits per component.
fn declared_image(doc: &Document, dict: &Dictionary) -> Option<image::Dims> {
    let width = u64::try_from(get_int(doc, dict, b"Width")?).ok()?;
    let height = u64::try_from(get_int(doc, dict, b"Height")?).ok()?;
    let mask = matches!(get(doc, dict, b"ImageMask"), Some(Object::Boolean(true)));
    let bpc = if mask {
        1
    } else {
        get_int(doc, dict, b"BitsPerComponent")
            .and_then(|b| u64::try_from(b).ok())
            .unwrap_or(8)
            .clamp(1, 16)
    };
    let components = if mask {
        1
    } else {
        get(doc, dict, b"ColorSpace").map_or(1, |cs| components(doc, cs, 0))
    };
    // Bytes per pixel rounded up, and never less than one byte per pixel: hayro expands every
    // image to 8 bits per component before drawing.
    let bits = components * bpc;
    Some(image::Dims {
        width,
        height,
        bytes_per_pixel: bits.div_ceil(8).max(components),
    })
}

/// Components of a colour space (unknown ones count as four, the most a device space has).
fn components(doc: &Document, cs: &Object, depth: usize) -> u64 {
    if depth > 8 {
        return 4;
    }
    match deref(doc, cs) {
        Object::Name(n) => match n.as_slice() {
            b"DeviceGray" | b"G" | b"CalGray" | b"Indexed" | b"I" | b"Pattern" => 1,
            b"DeviceRGB" | b"RGB" | b"CalRGB" | b"Lab" => 3,
            _ => 4,
        },
        Object::Array(a) => match a.first().map(|o| deref(doc, o)) {
            Some(Object::Name(n)) => match n.as_slice() {
                b"Indexed" | b"I" | b"Separation" | b"CalGray" => 1,
                b"CalRGB" | b"Lab" => 3,
                b"ICCBased" => match a.get(1).map(|o| deref(doc, o)) {
                    Some(Object::Stream(s)) => get_int(doc, &s.dict, b"N")
                        .and_then(|n| u64::try_from(n).ok())
                        .map_or(4, |n| n.clamp(1, 32)),
                    _ => 4,
                },
                b"DeviceN" => match a.get(1).map(|o| deref(doc, o)) {
                    Some(Object::Array(names)) => (names.len() as u64).clamp(1, 32),
                    _ => 4,
                },
                b"Pattern" => 1,
                _ => a.get(1).map_or(4, |base| components(doc, base, depth + 1)),
            },
            _ => 4,
        },
        _ => 4,
    }
}

/// What an image codec will allocate, from its header (or, for fax data, its parameters).
fn codec_dims(
    doc: &Document,
    chain: &decode::Chain<'_>,
    at: usize,
    data: &[u8],
    dict: &Dictionary,
) -> Option<image::Dims> {
    let (filter, params) = chain[at];
    let declared = |key: &[u8]| {
        get_int(doc, dict, key)
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0)
    };
    let param =
        |key: &[u8], default: i64| params.and_then(|p| get_int(doc, p, key)).unwrap_or(default);
    match filter {
        Filter::Dct => image::jpeg(data).map(|mut d| {
            // A zero height is defined later (DNL); the dictionary's is used then.
            if d.height == 0 {
                d.height = declared(b"Height");
            }
            d
        }),
        Filter::Jpx => image::jpx(data),
        Filter::Jbig2 => {
            let globals = params
                .and_then(|p| get(doc, p, b"JBIG2Globals"))
                .and_then(|g| match g {
                    Object::Stream(s) => image::jbig2(&s.content),
                    _ => None,
                });
            match (image::jbig2(data), globals) {
                (Some(a), Some(b)) => Some(if a.pixels() >= b.pixels() { a } else { b }),
                (a, b) => a.or(b),
            }
        }
        Filter::Ccitt => {
            // hayro-ccitt writes /Columns × (image height, else /Rows) bytes.
            let columns = u64::try_from(param(b"Columns", 1728)).unwrap_or(0);
            let height = declared(b"Height");
            let rows = if height > 0 {
                height
            } else {
                u64::try_from(param(b"Rows", 0)).unwrap_or(0)
            };
            Some(image::Dims {
                width: columns,
                height: rows,
                bytes_per_pixel: 1,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_naturally_and_say_whether_they_are_limits() {
        let limits = Limits::default();
        assert_eq!(
            Refusal::StreamTooLarge(limits.max_stream_bytes).to_string(),
            "a stream inflates beyond 32 MiB"
        );
        assert_eq!(
            Refusal::PageTooLarge(limits.max_page_bytes).to_string(),
            "page streams inflate beyond 40 MiB"
        );
        assert_eq!(
            Refusal::ImageTooLarge {
                width: 60_000,
                height: 60_000
            }
            .to_string(),
            "an image of 60000×60000 pixels is too large"
        );
        assert!(Refusal::TooDeep.is_limit());
        assert!(!Refusal::Damaged("x".into()).is_limit());
        assert!(!Refusal::NoPage(3).is_limit());
    }

    #[test]
    fn a_loop_through_a_form_is_too_deep_and_a_chain_is_measured() {
        let mut g = Graph::default();
        let (root, _) = g.node(Key::Page, false);
        let (a, _) = g.node(Key::Form((1, 0), 0), true);
        let (b, _) = g.node(Key::Form((2, 0), 0), true);
        let (o, _) = g.node(Key::Object((3, 0)), false);
        g.edge(root, a);
        g.edge(a, o);
        g.edge(o, b);
        assert!(g.check_depth(2).is_ok());
        assert_eq!(g.check_depth(1), Err(Refusal::TooDeep));
        g.edge(b, a);
        assert_eq!(g.check_depth(32), Err(Refusal::TooDeep));
        // A loop through plain objects only (a font's descriptor naming the font) is harmless.
        let mut g = Graph::default();
        let (root, _) = g.node(Key::Page, false);
        let (x, _) = g.node(Key::Object((1, 0)), false);
        let (y, _) = g.node(Key::Object((2, 0)), false);
        g.edge(root, x);
        g.edge(x, y);
        g.edge(y, x);
        assert!(g.check_depth(0).is_ok());
    }
}
