//! `pdf_info` for files too large to hold in a Worker's 128 MB: the trailer, cross-reference
//! sections (tables and streams, following `/Prev` and `/XRefStm`), the page tree and the Info
//! dictionary are fetched with range reads into a small in-memory document, which is then
//! summarised by the same code as a whole-file load ([`super::pdf_info::summarise`]).
//!
//! The source is async and abstract so the core stays free of `worker`: the shell reads R2
//! ranges, tests read a byte slice. Every read is rounded out to cached chunks,
//! and [`Limits`] caps what one file may cost, failing with a reason instead of exhausting
//! memory.

use std::collections::{BTreeMap, HashSet};

use lopdf::encryption::{self, EncryptionState};
use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, ObjectStream, Stream};

use super::pdf_info::{summarise, PdfFailure, PdfInfo};

/// The end-of-file marker must be in the last KiB (as in a whole-file load).
const EOF_WINDOW: u64 = 1024;
/// First attempt at an indirect object's text; doubled until it parses or `max_object` is hit.
const OBJECT_WINDOW: u64 = 4 * 1024;
/// Cross-reference sections followed before the chain is declared cyclic.
const MAX_SECTIONS: usize = 64;

/// What one inspection may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Reads are rounded out to chunks of this size: page-tree objects sit close together, so
    /// one chunk usually serves several.
    pub chunk: u64,
    /// Bytes fetched in total (chunks are cached, so this is also the peak of the cache).
    pub max_fetched: u64,
    /// Range reads issued (each is a subrequest in a Worker).
    pub max_reads: u32,
    /// Objects gathered (page-tree nodes, pages, Info and their referenced values).
    pub max_objects: usize,
    /// Largest single object (dictionary text or stream) read.
    pub max_object: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            chunk: 64 * 1024,
            max_fetched: 16 * 1024 * 1024,
            max_reads: 400,
            max_objects: 100_000,
            max_object: 8 * 1024 * 1024,
        }
    }
}

/// Random access to the file being inspected.
// The only callers are single-threaded (workerd, tests), so no `Send` bound is wanted.
#[allow(async_fn_in_trait)]
pub trait RangeSource {
    type Error;
    /// `len` bytes from `start` (fewer only at the end of the file).
    async fn read(&self, start: u64, len: u64) -> Result<Vec<u8>, Self::Error>;
}

/// Why an inspection ended without a result.
#[derive(Debug)]
pub enum RangeError<E> {
    /// The source failed (transient: retry the task).
    Source(E),
    /// The file cannot be read (permanent).
    Pdf(PdfFailure),
}

impl<E> From<PdfFailure> for RangeError<E> {
    fn from(f: PdfFailure) -> Self {
        Self::Pdf(f)
    }
}

/// What an inspection cost, for benchmarks and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub reads: u32,
    pub bytes: u64,
}

fn damaged<E>(why: impl Into<String>) -> RangeError<E> {
    RangeError::Pdf(PdfFailure::Damaged(why.into()))
}

fn limit<E>(why: impl Into<String>) -> RangeError<E> {
    RangeError::Pdf(PdfFailure::Limit(why.into()))
}

/// Inspects a `size`-byte PDF through range reads.
///
/// # Errors
/// [`RangeError::Source`] when a read fails, [`RangeError::Pdf`] when the file cannot be read or
/// exceeds `limits`.
pub async fn inspect<S: RangeSource>(
    source: &S,
    size: u64,
    limits: Limits,
) -> Result<(PdfInfo, ReadStats), RangeError<S::Error>> {
    let mut file = Sparse {
        source,
        size,
        limits,
        chunks: BTreeMap::new(),
        stats: ReadStats::default(),
    };
    let head = file.bytes(0, EOF_WINDOW).await?;
    if !super::has_pdf_header(&head) {
        return Err(PdfFailure::NotPdf.into());
    }
    let version = header_version(&head).unwrap_or_else(|| "1.4".to_owned());
    let tail_start = size.saturating_sub(EOF_WINDOW);
    let tail = file.bytes(tail_start, EOF_WINDOW).await?;
    if find(&tail, b"%%EOF").is_none() {
        return Err(damaged("truncated (no end-of-file marker)"));
    }
    let startxref = rfind(&tail, b"startxref")
        .and_then(|at| leading_integer(&tail[at + 9..]))
        .ok_or_else(|| damaged("no startxref"))?;

    let mut reader = Reader {
        file,
        xref: BTreeMap::new(),
        streams: BTreeMap::new(),
        crypt: None,
    };
    let trailer = reader.read_xref_chain(startxref).await?;
    let mut doc = Document::new();
    doc.version = version;
    let encrypted = match trailer.get(b"Encrypt") {
        Ok(Object::Reference(id)) => {
            reader.unlock(*id, &trailer).await?;
            true
        }
        Ok(_) => return Err(damaged("unsupported direct /Encrypt dictionary")),
        Err(_) => false,
    };

    let root = reference(&trailer, b"Root").ok_or_else(|| damaged("no /Root in trailer"))?;
    let mut gathered: BTreeMap<ObjectId, Object> = BTreeMap::new();
    let catalog = reader.object(root).await?;
    let pages = catalog
        .as_dict()
        .ok()
        .and_then(|d| reference(d, b"Pages"))
        .ok_or_else(|| damaged("no page tree"))?;
    gathered.insert(root, catalog);

    // Depth-first over the page tree; the order of pages is rebuilt later from `/Kids`.
    let mut stack = vec![pages];
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if gathered.len() >= limits.max_objects {
            return Err(limit(format!(
                "page tree larger than {} objects",
                limits.max_objects
            )));
        }
        let node = reader.object(id).await?;
        if let Ok(dict) = node.as_dict() {
            if let Ok(Object::Array(kids)) = dict.get(b"Kids") {
                stack.extend(kids.iter().filter_map(|k| k.as_reference().ok()));
            }
            if let Ok(Object::Reference(kids)) = dict.get(b"Kids") {
                let kids = reader.object(*kids).await?;
                if let Ok(list) = kids.as_array() {
                    stack.extend(list.iter().filter_map(|k| k.as_reference().ok()));
                }
            }
            for key in [&b"MediaBox"[..], b"Rotate", b"Kids"] {
                if let Ok(Object::Reference(value)) = dict.get(key) {
                    let value = *value;
                    let object = reader.object(value).await?;
                    gathered.insert(value, object);
                }
            }
        }
        gathered.insert(id, node);
    }

    if let Some(info) = reference(&trailer, b"Info") {
        // A damaged Info dictionary costs the metadata, not the page count.
        if let Ok(object) = reader.object(info).await.or_else(|e| match e {
            RangeError::Source(s) => Err(RangeError::Source(s)),
            RangeError::Pdf(_) => Ok(Object::Null),
        }) {
            if let Ok(dict) = object.as_dict() {
                for value in dict.iter().filter_map(|(_, v)| v.as_reference().ok()) {
                    if let Ok(v) = reader.object(value).await {
                        gathered.insert(value, v);
                    }
                }
            }
            gathered.insert(info, object);
        }
    }

    let mut trailer = trailer;
    trailer.remove(b"Encrypt");
    doc.trailer = trailer;
    doc.objects = gathered;
    let info = summarise(&doc, encrypted)?;
    Ok((info, reader.file.stats))
}

fn header_version(head: &[u8]) -> Option<String> {
    let at = find(head, super::PDF_MAGIC)? + super::PDF_MAGIC.len();
    let v: String = head[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .map(|b| char::from(*b))
        .collect();
    (!v.is_empty()).then_some(v)
}

fn reference(dict: &Dictionary, key: &[u8]) -> Option<ObjectId> {
    dict.get(key).ok()?.as_reference().ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn skip_space(bytes: &[u8]) -> &[u8] {
    let n = bytes.iter().take_while(|b| is_space(**b)).count();
    &bytes[n..]
}

fn leading_integer(bytes: &[u8]) -> Option<u64> {
    let rest = skip_space(bytes);
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// One direct object from the start of `text`, with lopdf's parser (reached through an
/// uncompressed object stream holding just that object).
fn parse_direct(text: &[u8]) -> Option<Object> {
    let mut content = b"1 0 ".to_vec();
    content.extend_from_slice(text);
    let stream = Stream::new(dictionary! { "N" => 1, "First" => 4 }, content);
    ObjectStream::new(&stream)
        .ok()?
        .objects
        .into_values()
        .next()
}

/// The chunk cache over a [`RangeSource`].
struct Sparse<'a, S> {
    source: &'a S,
    size: u64,
    limits: Limits,
    chunks: BTreeMap<u64, Vec<u8>>,
    stats: ReadStats,
}

impl<S: RangeSource> Sparse<'_, S> {
    /// `len` bytes from `start`, clipped to the file; missing chunks are fetched in runs.
    async fn bytes(&mut self, start: u64, len: u64) -> Result<Vec<u8>, RangeError<S::Error>> {
        let end = start.saturating_add(len).min(self.size);
        if start >= end {
            return Ok(Vec::new());
        }
        let size = self.limits.chunk.max(1);
        let (first, last) = (start / size, (end - 1) / size);
        let mut chunk = first;
        while chunk <= last {
            if self.chunks.contains_key(&chunk) {
                chunk += 1;
                continue;
            }
            let run = chunk;
            while chunk <= last && !self.chunks.contains_key(&chunk) {
                chunk += 1;
            }
            let from = run * size;
            let to = (chunk * size).min(self.size);
            self.stats.reads += 1;
            self.stats.bytes += to - from;
            if self.stats.reads > self.limits.max_reads {
                return Err(limit(format!(
                    "needs more than {} range reads",
                    self.limits.max_reads
                )));
            }
            if self.stats.bytes > self.limits.max_fetched {
                return Err(limit(format!(
                    "needs more than {} MiB of its structure",
                    self.limits.max_fetched / (1024 * 1024)
                )));
            }
            let data = self
                .source
                .read(from, to - from)
                .await
                .map_err(RangeError::Source)?;
            if u64::try_from(data.len()).unwrap_or(u64::MAX) != to - from {
                return Err(damaged("shorter than its stored size"));
            }
            for (i, piece) in data
                .chunks(usize::try_from(size).unwrap_or(usize::MAX))
                .enumerate()
            {
                self.chunks.insert(run + i as u64, piece.to_vec());
            }
        }
        let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        for c in first..=last {
            let data = &self.chunks[&c];
            let base = c * size;
            let from = usize::try_from(start.max(base) - base).unwrap_or(0);
            let to = usize::try_from(end.min(base + size) - base).unwrap_or(0);
            out.extend_from_slice(&data[from..to.min(data.len())]);
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy)]
enum Entry {
    Free,
    At(u64),
    InStream(u32),
}

struct Reader<'a, S> {
    file: Sparse<'a, S>,
    xref: BTreeMap<u32, Entry>,
    /// Decoded object streams, by their object number.
    streams: BTreeMap<u32, BTreeMap<ObjectId, Object>>,
    crypt: Option<EncryptionState>,
}

impl<S: RangeSource> Reader<'_, S> {
    /// Reads every cross-reference section from `start` back through `/Prev`; newer entries win.
    /// Returns the newest trailer.
    async fn read_xref_chain(&mut self, start: u64) -> Result<Dictionary, RangeError<S::Error>> {
        let mut newest: Option<Dictionary> = None;
        let mut next = Some(start);
        let mut seen = HashSet::new();
        while let Some(at) = next {
            if !seen.insert(at) || seen.len() > MAX_SECTIONS {
                break;
            }
            let trailer = self.read_xref_section(at).await?;
            // A hybrid file's table is completed by a cross-reference stream, which wins.
            if let Some(stm) = trailer.get(b"XRefStm").ok().and_then(|o| o.as_i64().ok()) {
                let table = std::mem::take(&mut self.xref);
                self.read_xref_section(u64::try_from(stm).unwrap_or(0))
                    .await?;
                for (k, v) in table {
                    self.xref.entry(k).or_insert(v);
                }
            }
            next = trailer
                .get(b"Prev")
                .ok()
                .and_then(|o| o.as_i64().ok())
                .and_then(|p| u64::try_from(p).ok());
            if newest.is_none() {
                newest = Some(trailer);
            }
        }
        newest.ok_or_else(|| damaged("no cross-reference section"))
    }

    /// One section (table or stream) at `at`; entries already known (newer) are kept.
    async fn read_xref_section(&mut self, at: u64) -> Result<Dictionary, RangeError<S::Error>> {
        let probe = self.file.bytes(at, 16).await?;
        if skip_space(&probe).starts_with(b"xref") {
            self.read_xref_table(at).await
        } else {
            let (id, object) = self.indirect_at(at).await?;
            let stream = object
                .as_stream()
                .map_err(|_| damaged("startxref points at neither a table nor a stream"))?;
            let _ = id;
            self.read_xref_stream(stream)
        }
    }

    async fn read_xref_table(&mut self, at: u64) -> Result<Dictionary, RangeError<S::Error>> {
        let mut window = self.file.limits.chunk;
        loop {
            let text = self.file.bytes(at, window).await?;
            let reached_end = at + u64::try_from(text.len()).unwrap_or(0) >= self.file.size;
            if let Some((entries, trailer)) = parse_xref_table(&text) {
                for (id, entry) in entries {
                    self.xref.entry(id).or_insert(entry);
                }
                return Ok(trailer);
            }
            if reached_end || window >= self.file.limits.max_object {
                return Err(damaged("unreadable cross-reference table"));
            }
            window *= 2;
        }
    }

    fn read_xref_stream(&mut self, stream: &Stream) -> Result<Dictionary, RangeError<S::Error>> {
        let data = stream
            .get_plain_content()
            .map_err(|e| damaged(format!("cross-reference stream: {e}")))?;
        let widths: Vec<usize> = stream
            .dict
            .get(b"W")
            .and_then(Object::as_array)
            .map_err(|_| damaged("cross-reference stream without /W"))?
            .iter()
            .map(|w| w.as_i64().ok().and_then(|w| usize::try_from(w).ok()))
            .collect::<Option<_>>()
            .filter(|w: &Vec<usize>| w.len() == 3 && w.iter().all(|x| *x <= 8))
            .ok_or_else(|| damaged("bad /W in cross-reference stream"))?;
        let size = stream
            .dict
            .get(b"Size")
            .and_then(Object::as_i64)
            .unwrap_or(0);
        let index: Vec<i64> = match stream.dict.get(b"Index").and_then(Object::as_array) {
            Ok(list) => list.iter().filter_map(|o| o.as_i64().ok()).collect(),
            Err(_) => vec![0, size],
        };
        let row = widths.iter().sum::<usize>();
        if row == 0 {
            return Err(damaged("bad /W in cross-reference stream"));
        }
        let field = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let mut rows = data.chunks_exact(row);
        for pair in index.chunks_exact(2) {
            let (first, count) = (pair[0], pair[1]);
            for n in 0..count.max(0) {
                let Some(r) = rows.next() else { break };
                let kind = if widths[0] == 0 {
                    1
                } else {
                    field(&r[..widths[0]])
                };
                let a = field(&r[widths[0]..widths[0] + widths[1]]);
                let entry = match kind {
                    0 => Entry::Free,
                    1 => Entry::At(a),
                    2 => Entry::InStream(u32::try_from(a).unwrap_or(u32::MAX)),
                    _ => continue,
                };
                if let Ok(id) = u32::try_from(first + n) {
                    self.xref.entry(id).or_insert(entry);
                }
            }
        }
        let mut trailer = stream.dict.clone();
        for key in [
            &b"W"[..],
            b"Index",
            b"Filter",
            b"DecodeParms",
            b"Length",
            b"Type",
        ] {
            trailer.remove(key);
        }
        Ok(trailer)
    }

    /// Prepares decryption with the empty user password.
    async fn unlock(
        &mut self,
        id: ObjectId,
        trailer: &Dictionary,
    ) -> Result<(), RangeError<S::Error>> {
        let dict = self.object(id).await?;
        let mut probe = Document::new();
        probe.trailer = trailer.clone();
        probe.objects.insert(id, dict);
        if probe.authenticate_password("").is_err() {
            return Err(PdfFailure::Encrypted.into());
        }
        let state = EncryptionState::decode(&probe, "").map_err(|_| PdfFailure::Encrypted)?;
        self.crypt = Some(state);
        Ok(())
    }

    /// Object `id`, wherever the cross-reference data puts it.
    async fn object(&mut self, id: ObjectId) -> Result<Object, RangeError<S::Error>> {
        match self.xref.get(&id.0).copied() {
            None | Some(Entry::Free) => Ok(Object::Null),
            Some(Entry::At(at)) => {
                let (found, mut object) = self.indirect_at(at).await?;
                if found.0 != id.0 {
                    return Err(damaged(format!("object {} is not at its offset", id.0)));
                }
                if let Some(state) = &self.crypt {
                    encryption::decrypt_object(state, id, &mut object)
                        .map_err(|e| damaged(format!("cannot decrypt: {e}")))?;
                }
                Ok(object)
            }
            Some(Entry::InStream(container)) => {
                if !self.streams.contains_key(&container) {
                    let objects = self.object_stream(container).await?;
                    self.streams.insert(container, objects);
                }
                Ok(self.streams[&container]
                    .get(&(id.0, 0))
                    .cloned()
                    .unwrap_or(Object::Null))
            }
        }
    }

    async fn object_stream(
        &mut self,
        container: u32,
    ) -> Result<BTreeMap<ObjectId, Object>, RangeError<S::Error>> {
        let Some(Entry::At(at)) = self.xref.get(&container).copied() else {
            return Err(damaged("object stream not found"));
        };
        let (_, mut object) = self.indirect_at(at).await?;
        if let Some(state) = &self.crypt {
            encryption::decrypt_object(state, (container, 0), &mut object)
                .map_err(|e| damaged(format!("cannot decrypt: {e}")))?;
        }
        let stream = object
            .as_stream()
            .map_err(|_| damaged("object stream is not a stream"))?;
        let limit = usize::try_from(self.file.limits.max_object).unwrap_or(usize::MAX);
        ObjectStream::new_with_limit(stream, Some(limit))
            .map(|s| s.objects)
            .map_err(|e| damaged(format!("object stream: {e}")))
    }

    /// The indirect object (`n g obj … endobj`) at `at`, with its stream data when it has one.
    async fn indirect_at(&mut self, at: u64) -> Result<(ObjectId, Object), RangeError<S::Error>> {
        let mut window = OBJECT_WINDOW;
        loop {
            let text = self.file.bytes(at, window).await?;
            let reached_end = at + u64::try_from(text.len()).unwrap_or(0) >= self.file.size;
            match self.parse_indirect(&text, at, reached_end).await? {
                Some(found) => return Ok(found),
                None if reached_end => return Err(damaged(format!("no object at offset {at}"))),
                None if window >= self.file.limits.max_object => {
                    return Err(limit(format!(
                        "an object larger than {} MiB",
                        self.file.limits.max_object / (1024 * 1024)
                    )))
                }
                None => window *= 2,
            }
        }
    }

    /// Parses `n g obj <object>` from `text`; `None` when `text` is too short to tell.
    async fn parse_indirect(
        &mut self,
        text: &[u8],
        at: u64,
        complete: bool,
    ) -> Result<Option<(ObjectId, Object)>, RangeError<S::Error>> {
        let rest = skip_space(text);
        let mut tokens = rest.splitn(3, |b| is_space(*b));
        let (Some(n), Some(g)) = (tokens.next(), tokens.next()) else {
            return Ok(None);
        };
        let number = std::str::from_utf8(n)
            .ok()
            .and_then(|s| s.parse::<u32>().ok());
        let generation = std::str::from_utf8(g)
            .ok()
            .and_then(|s| s.parse::<u16>().ok());
        let (Some(number), Some(generation)) = (number, generation) else {
            return Err(damaged(format!("no object at offset {at}")));
        };
        let Some(obj_at) = find(rest, b"obj") else {
            return Ok(None);
        };
        let body = &rest[obj_at + 3..];
        let Some(object) = parse_direct(body) else {
            return if complete {
                Err(damaged(format!("unreadable object {number}")))
            } else {
                Ok(None)
            };
        };
        let Object::Dictionary(dict) = object else {
            return Ok(Some(((number, generation), object)));
        };
        let end = find(body, b"endobj");
        let stream_kw = find_stream_keyword(body);
        let data_offset = match (stream_kw, end) {
            (Some(s), Some(e)) if s < e => s,
            (Some(s), None) => s,
            (None, None) if !complete => return Ok(None),
            _ => return Ok(Some(((number, generation), Object::Dictionary(dict)))),
        };
        let length = match dict.get(b"Length") {
            Ok(Object::Integer(n)) => *n,
            Ok(Object::Reference(id)) => {
                let id = *id;
                Box::pin(self.object(id))
                    .await?
                    .as_i64()
                    .map_err(|_| damaged("stream /Length is not a number"))?
            }
            _ => return Err(damaged("stream without /Length")),
        };
        let length = u64::try_from(length).map_err(|_| damaged("negative stream /Length"))?;
        if length > self.file.limits.max_object {
            return Err(limit(format!(
                "a stream larger than {} MiB",
                self.file.limits.max_object / (1024 * 1024)
            )));
        }
        let consumed = text.len() - body.len() + data_offset;
        let start = at + u64::try_from(consumed).unwrap_or(0);
        let data = self.file.bytes(start, length).await?;
        let mut stream = Stream::new(dict, data);
        stream.start_position = None;
        Ok(Some(((number, generation), Object::Stream(stream))))
    }
}

/// Offset of the first byte of stream data: after `>> stream` and its end-of-line.
fn find_stream_keyword(body: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find(&body[from..], b"stream") {
        let at = from + i;
        let before = body[..at].iter().rev().find(|b| !is_space(**b)).copied();
        let after = &body[at + 6..];
        if before == Some(b'>') {
            if after.starts_with(b"\r\n") {
                return Some(at + 8);
            }
            if after.starts_with(b"\n") || after.starts_with(b"\r") {
                return Some(at + 7);
            }
        }
        from = at + 6;
    }
    None
}

/// A classic table and its trailer; `None` when `text` ends before the trailer dictionary does.
fn parse_xref_table(text: &[u8]) -> Option<(Vec<(u32, Entry)>, Dictionary)> {
    let mut rest = skip_space(text).strip_prefix(b"xref")?;
    let mut entries = Vec::new();
    loop {
        rest = skip_space(rest);
        if let Some(after) = rest.strip_prefix(b"trailer") {
            let Object::Dictionary(trailer) = parse_direct(after)? else {
                return None;
            };
            return Some((entries, trailer));
        }
        let (first, after) = token(rest)?;
        let (count, after) = token(after)?;
        let first: u32 = first.parse().ok()?;
        let count: u32 = count.parse().ok()?;
        rest = after;
        for i in 0..count {
            let (offset, after) = token(rest)?;
            let (_generation, after) = token(after)?;
            let (kind, after) = token(after)?;
            rest = after;
            let entry = match kind {
                "n" => Entry::At(offset.parse().ok()?),
                "f" => Entry::Free,
                _ => return None,
            };
            entries.push((first.checked_add(i)?, entry));
        }
    }
}

/// The next whitespace-delimited token; `None` at the end of the text (it may be cut short).
fn token(text: &[u8]) -> Option<(&str, &[u8])> {
    let text = skip_space(text);
    let n = text.iter().take_while(|b| !is_space(**b)).count();
    if n == 0 || n == text.len() {
        return None;
    }
    Some((std::str::from_utf8(&text[..n]).ok()?, &text[n..]))
}

/// A source that never suspends: a byte slice (tests) or, through [`ready`], any synchronous
/// reader such as a file (benchmarks).
pub struct SliceSource<'a>(pub &'a [u8]);

impl RangeSource for SliceSource<'_> {
    type Error = std::convert::Infallible;
    async fn read(&self, start: u64, len: u64) -> Result<Vec<u8>, Self::Error> {
        let s = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(self.0.len());
        let e = s
            .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
            .min(self.0.len());
        Ok(self.0[s..e].to_vec())
    }
}

/// Runs `future` to completion if it never waits (its source is synchronous); `None` if it
/// would have to wait, which such a source never does.
pub fn ready<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

/// [`inspect`] over bytes already in memory, as the range reader would see them.
///
/// # Errors
/// Why the file cannot be read.
pub fn inspect_slice(bytes: &[u8], limits: Limits) -> Result<(PdfInfo, ReadStats), PdfFailure> {
    let source = SliceSource(bytes);
    match ready(inspect(&source, bytes.len() as u64, limits)) {
        Some(Ok(found)) => Ok(found),
        Some(Err(RangeError::Pdf(f))) => Err(f),
        Some(Err(RangeError::Source(never))) => match never {},
        None => unreachable!("a slice source never waits"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::pdf_info;

    fn ranged(bytes: &[u8]) -> Result<(PdfInfo, ReadStats), PdfFailure> {
        inspect_slice(bytes, Limits::default())
    }

    #[test]
    fn agrees_with_the_whole_file_reader_on_a_generated_file() {
        let bytes = pdf_info::tests::build(
            5,
            dictionary! { "Title" => Object::string_literal("Etude"), "Author" => Object::string_literal("Chopin") },
        );
        let (info, stats) = ranged(&bytes).unwrap();
        assert_eq!(info, pdf_info::inspect(&bytes).unwrap());
        assert_eq!(info.meta.title.as_deref(), Some("Etude"));
        assert!(stats.reads >= 1);
    }

    #[test]
    fn not_a_pdf_and_truncated_files_fail_with_the_same_reasons() {
        assert_eq!(ranged(b"GIF89a and more bytes"), Err(PdfFailure::NotPdf));
        let bytes = pdf_info::tests::build(2, dictionary! {});
        assert_eq!(
            ranged(&bytes[..bytes.len() / 2]).unwrap_err().reason(),
            "damaged file: truncated (no end-of-file marker)"
        );
    }

    #[test]
    fn stream_keyword_needs_a_dictionary_before_it() {
        assert_eq!(find_stream_keyword(b"<< /L 3 >>\nstream\nabc"), Some(18));
        assert_eq!(find_stream_keyword(b"<< /L 3 >> stream\r\nabc"), Some(19));
        assert_eq!(find_stream_keyword(b"(a stream\n) endobj"), None);
    }

    #[test]
    fn xref_tables_parse_and_report_when_cut_short() {
        let table = b"xref\n0 3\n0000000000 65535 f \n0000000017 00000 n \n0000000081 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref";
        let (entries, trailer) = parse_xref_table(table).unwrap();
        assert_eq!(entries.len(), 3);
        assert!(matches!(entries[1], (1, Entry::At(17))));
        assert_eq!(
            trailer.get(b"Root").unwrap().as_reference().unwrap(),
            (1, 0)
        );
        assert!(parse_xref_table(&table[..40]).is_none());
    }

    #[test]
    fn mutated_files_never_panic() {
        let bytes =
            pdf_info::tests::build(3, dictionary! { "Title" => Object::string_literal("x") });
        let mut state = 0x9E37_79B9_u32;
        for _ in 0..300 {
            let mut m = bytes.clone();
            for _ in 0..6 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = (state as usize) % m.len();
                m[i] = (state >> 8) as u8;
            }
            let _ = ranged(&m);
        }
    }
}
