//! Stream filters decoded the way hayro 0.9 decodes them, but with an output bound.
//!
//! lopdf's own bounded decoders (`Stream::decompressed_content_with_limit`) do not agree with
//! hayro's on damaged input: hayro reads `/F`/`/DP` (the abbreviated keys) and abbreviated filter
//! names on any stream, skips unknown filters in an array, and after zlib and raw deflate fail it
//! falls back to a lenient pdf.js-style inflater that ignores bad stored-block lengths and bad
//! distances. A stream that lopdf gives up on after a few bytes can therefore still inflate
//! without bound in hayro. So the filter chain here mirrors hayro-syntax 0.9
//! (`object/stream.rs`, `filter/*.rs`, Apache-2.0 OR MIT) step by step, each step stopping one
//! byte past the limit. The decoded bytes are the caller's to drop at once.

use std::borrow::Cow;
use std::io::Read;

use lopdf::{Dictionary, Document, Object};

/// One filter as hayro names it (full and abbreviated names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    AsciiHex,
    Ascii85,
    Lzw,
    Flate,
    RunLength,
    Ccitt,
    Jbig2,
    Dct,
    Jpx,
    Crypt,
}

impl Filter {
    fn from_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"ASCIIHexDecode" | b"AHx" => Self::AsciiHex,
            b"ASCII85Decode" | b"A85" => Self::Ascii85,
            b"LZWDecode" | b"LZW" => Self::Lzw,
            b"FlateDecode" | b"Fl" => Self::Flate,
            b"RunLengthDecode" | b"RL" => Self::RunLength,
            b"CCITTFaxDecode" | b"CCF" => Self::Ccitt,
            b"JBIG2Decode" => Self::Jbig2,
            b"DCTDecode" | b"DCT" => Self::Dct,
            b"JPXDecode" => Self::Jpx,
            b"Crypt" => Self::Crypt,
            _ => return None,
        })
    }

    /// An image codec: its output size comes from the codestream header, not from decoding.
    pub fn is_codec(self) -> bool {
        matches!(self, Self::Ccitt | Self::Jbig2 | Self::Dct | Self::Jpx)
    }
}

/// Filters with their parameters, in decoding order.
pub type Chain<'a> = Vec<(Filter, Option<&'a Dictionary>)>;

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> &'a Object {
    doc.dereference(obj).map_or(obj, |(_, o)| o)
}

/// The filter chain of a stream (or inline image) dictionary, read as hayro reads it: `/F`
/// before `/Filter`, `/DP` before `/DecodeParms`, unknown names skipped.
pub fn chain<'a>(doc: &'a Document, dict: &'a Dictionary) -> Chain<'a> {
    let get = |short: &[u8], long: &[u8]| -> Option<&'a Object> {
        dict.get(short)
            .or_else(|_| dict.get(long))
            .ok()
            .map(|o| deref(doc, o))
    };
    let first = |short: &[u8], long: &[u8], want_array: bool| -> Option<&'a Object> {
        // hayro asks `/F` then `/Filter` for a name, and separately for an array.
        [short, long]
            .into_iter()
            .filter_map(|k| dict.get(k).ok().map(|o| deref(doc, o)))
            .find(|o| {
                if want_array {
                    matches!(o, Object::Array(_))
                } else {
                    matches!(o, Object::Name(_))
                }
            })
    };
    if let Some(Object::Name(name)) = first(b"F", b"Filter", false) {
        if let Some(filter) = Filter::from_name(name) {
            let params = match get(b"DP", b"DecodeParms") {
                Some(Object::Dictionary(d)) => Some(d),
                _ => None,
            };
            return vec![(filter, params)];
        }
    }
    let Some(Object::Array(names)) = first(b"F", b"Filter", true) else {
        return Vec::new();
    };
    let params: Vec<&Object> = match get(b"DP", b"DecodeParms") {
        Some(Object::Array(p)) => p.iter().map(|o| deref(doc, o)).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    let mut params = params.into_iter();
    for name in names.iter().map(|o| deref(doc, o)) {
        let Object::Name(name) = name else { continue };
        let param = match params.next() {
            Some(Object::Dictionary(d)) => Some(d),
            _ => None,
        };
        if let Some(filter) = Filter::from_name(name) {
            out.push((filter, param));
        }
    }
    out
}

/// Why decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The output would pass the limit.
    Limit,
    /// The data is not valid for the filter (hayro gives up too).
    Invalid,
}

/// The output of the non-codec filters at the start of a chain, and where it stopped.
pub struct Prefix<'r> {
    /// Bytes after the last filter applied.
    pub data: Cow<'r, [u8]>,
    /// The largest buffer any step allocated (hayro holds at most about this much at once).
    pub peak: usize,
    /// The codec that follows, if the chain reaches one, with its parameters.
    pub codec: Option<usize>,
}

/// Applies the chain's filters up to (not including) the first image codec, each bounded by
/// `limit`.
///
/// # Errors
/// [`Stop::Limit`] when a step would produce more than `limit` bytes, [`Stop::Invalid`] when
/// hayro would give up on the data (the bytes so far are then dropped, as hayro drops them).
pub fn prefix<'r>(
    doc: &Document,
    chain: &Chain<'_>,
    raw: &'r [u8],
    limit: usize,
) -> Result<Prefix<'r>, (Stop, usize)> {
    let mut data: Option<Vec<u8>> = None;
    let mut peak = 0usize;
    for (i, (filter, params)) in chain.iter().enumerate() {
        if filter.is_codec() {
            return Ok(Prefix {
                data: data.map_or(Cow::Borrowed(raw), Cow::Owned),
                peak,
                codec: Some(i),
            });
        }
        if *filter == Filter::Crypt {
            if i == 0 {
                // lopdf already decrypted the stream when it loaded the file.
                continue;
            }
            return Err((Stop::Invalid, peak));
        }
        let input = data.as_deref().unwrap_or(raw);
        let step = apply(doc, *filter, *params, input, limit);
        match step {
            Ok((out, extra)) => {
                peak = peak.max(out.len() + extra);
                if out.len() + extra > limit {
                    return Err((Stop::Limit, peak));
                }
                data = Some(out);
            }
            Err((stop, produced)) => return Err((stop, peak.max(produced))),
        }
    }
    Ok(Prefix {
        data: data.map_or(Cow::Borrowed(raw), Cow::Owned),
        peak,
        codec: None,
    })
}

/// One filter: the output and the extra bytes hayro allocates beside it (a predictor row).
fn apply(
    doc: &Document,
    filter: Filter,
    params: Option<&Dictionary>,
    input: &[u8],
    limit: usize,
) -> Result<(Vec<u8>, usize), (Stop, usize)> {
    let predictor = || predictor_row(doc, params);
    match filter {
        Filter::AsciiHex => ascii_hex(input, limit).map(|o| (o, 0)),
        Filter::Ascii85 => ascii85(input, limit).map(|o| (o, 0)),
        Filter::RunLength => run_length(input, limit).map(|o| (o, 0)),
        Filter::Flate => {
            let row = predictor()?;
            flate(input, limit).map(|o| (o, row))
        }
        Filter::Lzw => {
            let row = predictor()?;
            let early = params
                .and_then(|p| p.get(b"EarlyChange").ok())
                .map(|o| deref(doc, o))
                .and_then(|o| o.as_i64().ok())
                .filter(|v| (0..=255).contains(v))
                .is_none_or(|v| v != 0);
            lzw(input, early, limit).map(|(o, table)| (o, row + table))
        }
        Filter::Ccitt | Filter::Jbig2 | Filter::Dct | Filter::Jpx | Filter::Crypt => {
            Err((Stop::Invalid, 0))
        }
    }
}

/// The zero row hayro's predictor allocates (`/Columns` × `/Colors` × `/BitsPerComponent`), which
/// a hostile `/Columns` makes huge while the data stays tiny.
fn predictor_row(doc: &Document, params: Option<&Dictionary>) -> Result<usize, (Stop, usize)> {
    let Some(params) = params else { return Ok(0) };
    // hayro reads these as u8 / usize and falls back to its default when they do not fit.
    let int = |key: &[u8]| -> Option<i64> {
        params
            .get(key)
            .ok()
            .map(|o| deref(doc, o))
            .and_then(|o| o.as_i64().ok())
    };
    let small = |key: &[u8], default: u64| -> u64 {
        int(key)
            .and_then(|v| u8::try_from(v).ok())
            .map_or(default, u64::from)
    };
    if small(b"Predictor", 1) <= 1 {
        return Ok(0);
    }
    let columns = int(b"Columns")
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(1);
    let bits = small(b"Colors", 1) * small(b"BitsPerComponent", 8);
    let row = u128::from(columns) * u128::from(bits) / 8 + 1;
    Ok(usize::try_from(row).unwrap_or(usize::MAX))
}

/// Makes room for `n` more bytes in `out`, doubling, but jumping straight to `limit + n` once
/// that is less than three times the length: a buffer stopped one step past the limit then never
/// has more than about 1.5 × the limit allocated, even while it is being moved.
fn room(out: &mut Vec<u8>, n: usize, limit: usize) {
    let len = out.len();
    if out.capacity() - len >= n {
        return;
    }
    let ceiling = limit.saturating_add(n).max(len + n);
    let doubled = len.saturating_mul(2).max(len + n).max(64 * 1024);
    let target = if len.saturating_mul(3) >= ceiling {
        ceiling
    } else {
        doubled.min(ceiling)
    };
    out.reserve_exact(target - len);
}

/// Reads `reader` to its end or one byte past `limit`; `true` only when the reader ended
/// cleanly.
fn read_bounded(mut reader: impl Read, limit: usize) -> (Vec<u8>, bool) {
    let mut out: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if out.len() > limit {
            return (out, false);
        }
        let want = chunk.len().min(limit.saturating_add(1) - out.len());
        match reader.read(&mut chunk[..want]) {
            Ok(0) => return (out, true),
            Ok(n) => {
                room(&mut out, n, limit.saturating_add(1));
                out.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return (out, false),
        }
    }
}

/// hayro: zlib, else raw deflate, else the lenient pdf.js port (which always yields something).
fn flate(input: &[u8], limit: usize) -> Result<Vec<u8>, (Stop, usize)> {
    let (out, clean) = read_bounded(flate2::read::ZlibDecoder::new(input), limit);
    if out.len() > limit {
        return Err((Stop::Limit, out.len()));
    }
    if clean {
        return Ok(out);
    }
    let first = out.len();
    drop(out);
    let (out, clean) = read_bounded(flate2::read::DeflateDecoder::new(input), limit);
    if out.len() > limit {
        return Err((Stop::Limit, out.len()));
    }
    if clean {
        return Ok(out);
    }
    let second = out.len();
    drop(out);
    lenient_inflate(input, limit).map_err(|n| (Stop::Limit, n.max(first).max(second)))
}

/// hayro's `filter/run_length.rs`, bounded.
fn run_length(input: &[u8], limit: usize) -> Result<Vec<u8>, (Stop, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&length) = input.get(i) {
        i += 1;
        match length {
            128 => break,
            0..=127 => {
                let n = usize::from(length) + 1;
                let Some(bytes) = input.get(i..i + n) else {
                    break;
                };
                room(&mut out, n, limit);
                out.extend_from_slice(bytes);
                i += n;
            }
            _ => {
                let Some(&byte) = input.get(i) else {
                    // hayro returns None here: the run so far is dropped.
                    return Err((Stop::Invalid, out.len()));
                };
                i += 1;
                room(&mut out, 257 - usize::from(length), limit);
                out.resize(out.len() + 257 - usize::from(length), byte);
            }
        }
        if out.len() > limit {
            return Err((Stop::Limit, out.len()));
        }
    }
    Ok(out)
}

fn is_white(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// hayro's `filter/ascii_hex.rs`: hex digits, white space ignored, `>` ends, an odd final digit
/// is padded with 0; anything else fails.
fn ascii_hex(input: &[u8], limit: usize) -> Result<Vec<u8>, (Stop, usize)> {
    let mut out = Vec::with_capacity((input.len() / 2).min(limit.saturating_add(1)));
    let mut high: Option<u8> = None;
    for &b in input {
        if b == b'>' {
            break;
        }
        if is_white(b) {
            continue;
        }
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err((Stop::Invalid, out.len())),
        };
        match high.take() {
            Some(h) => out.push(h << 4 | digit),
            None => high = Some(digit),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    if out.len() > limit {
        return Err((Stop::Limit, out.len()));
    }
    Ok(out)
}

/// hayro's `filter/ascii_85.rs`: groups of five, `z` for four zeros, `~>` ends.
fn ascii85(input: &[u8], limit: usize) -> Result<Vec<u8>, (Stop, usize)> {
    let mut out = Vec::new();
    let mut group: Vec<u8> = Vec::with_capacity(5);
    let flush = |group: &mut Vec<u8>, out: &mut Vec<u8>| -> bool {
        let n = group.len();
        if n == 0 {
            return true;
        }
        if n == 1 {
            return false;
        }
        let mut value: u64 = 0;
        for i in 0..5 {
            let c = group.get(i).copied().unwrap_or(b'u');
            value = value * 85 + u64::from(c - b'!');
        }
        let Ok(value) = u32::try_from(value) else {
            return false;
        };
        out.extend_from_slice(&value.to_be_bytes()[..n - 1]);
        group.clear();
        true
    };
    let mut bytes = input.iter().copied().filter(|b| !is_white(*b));
    while let Some(b) = bytes.next() {
        match b {
            b'~' => {
                if bytes.next() != Some(b'>') {
                    return Err((Stop::Invalid, out.len()));
                }
                break;
            }
            b'z' if group.is_empty() => {
                room(&mut out, 4, limit);
                out.extend_from_slice(&[0; 4]);
            }
            b'!'..=b'u' => {
                room(&mut out, 4, limit);
                group.push(b);
                if group.len() == 5 && !flush(&mut group, &mut out) {
                    return Err((Stop::Invalid, out.len()));
                }
            }
            _ => return Err((Stop::Invalid, out.len())),
        }
        if out.len() > limit {
            return Err((Stop::Limit, out.len()));
        }
    }
    if !flush(&mut group, &mut out) {
        return Err((Stop::Invalid, out.len()));
    }
    Ok(out)
}

/// hayro's LZW decoder (`filter/lzw_flate.rs`), bounded. Table entries are kept as
/// (prefix, last byte, length) instead of hayro's owned vectors; the second value returned is
/// the size hayro's own table reaches (its entries are stored whole).
fn lzw(input: &[u8], early_change: bool, limit: usize) -> Result<(Vec<u8>, usize), (Stop, usize)> {
    const CLEAR: usize = 256;
    const EOD: usize = 257;
    const MAX_ENTRIES: usize = 4096;
    struct Entry {
        prefix: u16,
        byte: u8,
        first: u8,
        len: usize,
    }
    let mut table: Vec<Entry> = (0..=255u8)
        .map(|b| Entry {
            prefix: u16::MAX,
            byte: b,
            first: b,
            len: 1,
        })
        .collect();
    let placeholder = || Entry {
        prefix: u16::MAX,
        byte: 0,
        first: 0,
        len: 0,
    };
    table.push(placeholder());
    table.push(placeholder());
    let (mut table_bytes, mut table_peak) = (256usize, 256usize);
    let code_length = |size: usize| -> u32 {
        match size + usize::from(early_change) {
            n if n >= 2048 => 12,
            n if n >= 1024 => 11,
            n if n >= 512 => 10,
            _ => 9,
        }
    };
    let mut out: Vec<u8> = Vec::new();
    let mut scratch: Vec<u8> = Vec::new();
    let emit = |table: &[Entry], code: usize, out: &mut Vec<u8>, scratch: &mut Vec<u8>| {
        room(out, table[code].len, limit);
        scratch.clear();
        let mut c = code;
        loop {
            let e = &table[c];
            scratch.push(e.byte);
            if e.prefix == u16::MAX {
                break;
            }
            c = usize::from(e.prefix);
        }
        out.extend(scratch.iter().rev());
    };
    let register = |table: &mut Vec<Entry>, prev: usize, byte: u8, bytes: &mut usize| -> bool {
        if table.len() >= MAX_ENTRIES || table[prev].len == 0 {
            return false;
        }
        let (first, len) = (table[prev].first, table[prev].len + 1);
        table.push(Entry {
            prefix: u16::try_from(prev).unwrap_or(u16::MAX),
            byte,
            first,
            len,
        });
        *bytes += len;
        true
    };
    let (mut bit_pos, total_bits) = (0usize, input.len() * 8);
    let mut prev: Option<usize> = None;
    loop {
        let width = code_length(table.len()) as usize;
        if bit_pos + width > total_bits {
            break;
        }
        let mut code = 0usize;
        for _ in 0..width {
            let bit = (input[bit_pos / 8] >> (7 - bit_pos % 8)) & 1;
            code = code << 1 | usize::from(bit);
            bit_pos += 1;
        }
        match code {
            CLEAR => {
                table.truncate(258);
                table_bytes = 256;
                prev = None;
            }
            EOD => break,
            new if new < table.len() => {
                if table[new].len == 0 {
                    return Err((Stop::Invalid, out.len()));
                }
                let first = table[new].first;
                emit(&table, new, &mut out, &mut scratch);
                if let Some(p) = prev {
                    register(&mut table, p, first, &mut table_bytes);
                }
                prev = Some(new);
            }
            new if new == table.len() && prev.is_some() => {
                let p = prev.unwrap_or_default();
                let first = table[p].first;
                if !register(&mut table, p, first, &mut table_bytes) {
                    return Err((Stop::Invalid, out.len()));
                }
                emit(&table, new, &mut out, &mut scratch);
                prev = Some(new);
            }
            _ => return Err((Stop::Invalid, out.len())),
        }
        table_peak = table_peak.max(table_bytes);
        if out.len() + table_peak > limit {
            return Err((Stop::Limit, out.len() + table_peak));
        }
    }
    Ok((out, table_peak))
}

/// hayro's fallback inflater (ported from pdf.js `flate_stream.js`), bounded: it skips a zlib
/// header when one is there, ignores stored-block length checks, skips copies whose distance
/// reaches before the output, and stops quietly at the first bad code. Returns the output, or
/// its length when it passes `limit`.
fn lenient_inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, usize> {
    let body = match data {
        [cmf, flg, rest @ ..]
            if cmf & 0x0F == 8
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
                && flg & 0x20 == 0 =>
        {
            rest
        }
        _ => data,
    };
    let mut s = Inflater {
        data: body,
        pos: 0,
        code_buf: 0,
        code_size: 0,
        out: Vec::new(),
        eof: false,
        limit,
    };
    while !s.eof && s.pos < s.data.len() {
        if !s.block() {
            return Err(s.out.len());
        }
    }
    Ok(s.out)
}

struct Inflater<'a> {
    data: &'a [u8],
    pos: usize,
    code_buf: u32,
    code_size: u8,
    out: Vec<u8>,
    eof: bool,
    limit: usize,
}

struct Huffman {
    codes: Vec<u32>,
    max_len: u8,
}

fn huffman(lengths: &[u8]) -> Huffman {
    let max_len = lengths.iter().copied().max().unwrap_or(0);
    if max_len == 0 {
        return Huffman {
            codes: vec![0],
            max_len: 1,
        };
    }
    let size = 1usize << max_len;
    let mut codes = vec![0u32; size];
    let mut code = 0u32;
    for len in 1..=max_len {
        for (val, &l) in lengths.iter().enumerate() {
            if l == len {
                let mut reversed = 0u32;
                let mut t = code;
                for _ in 0..len {
                    reversed = reversed << 1 | (t & 1);
                    t >>= 1;
                }
                let mut i = reversed as usize;
                while i < size {
                    codes[i] = u32::from(len) << 16 | u32::try_from(val).unwrap_or(0);
                    i += 1 << len;
                }
                code += 1;
            }
        }
        code <<= 1;
    }
    Huffman { codes, max_len }
}

fn fixed_tables() -> (Huffman, Huffman) {
    let mut lit = [8u8; 288];
    lit[144..256].fill(9);
    lit[256..280].fill(7);
    (huffman(&lit), huffman(&[5u8; 30]))
}

const LENGTH_DECODE: [u32; 29] = [
    0x00003, 0x00004, 0x00005, 0x00006, 0x00007, 0x00008, 0x00009, 0x0000a, 0x1000b, 0x1000d,
    0x1000f, 0x10011, 0x20013, 0x20017, 0x2001b, 0x2001f, 0x30023, 0x3002b, 0x30033, 0x3003b,
    0x40043, 0x40053, 0x40063, 0x40073, 0x50083, 0x500a3, 0x500c3, 0x500e3, 0x00102,
];
const DIST_DECODE: [u32; 30] = [
    0x00001, 0x00002, 0x00003, 0x00004, 0x10005, 0x10007, 0x20009, 0x2000d, 0x30011, 0x30019,
    0x40021, 0x40031, 0x50041, 0x50061, 0x60081, 0x600c1, 0x70101, 0x70181, 0x80201, 0x80301,
    0x90401, 0x90601, 0xa0801, 0xa0c01, 0xb1001, 0xb1801, 0xc2001, 0xc3001, 0xd4001, 0xd6001,
];
const CODE_LEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

impl Inflater<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn bits(&mut self, n: u8) -> Option<u32> {
        while self.code_size < n {
            let b = self.byte()?;
            self.code_buf |= u32::from(b) << self.code_size;
            self.code_size += 8;
        }
        let v = self.code_buf & ((1u32 << n) - 1);
        self.code_buf >>= n;
        self.code_size -= n;
        Some(v)
    }

    fn code(&mut self, table: &Huffman) -> Option<usize> {
        while self.code_size < table.max_len {
            let Some(b) = self.byte() else { break };
            self.code_buf |= u32::from(b) << self.code_size;
            self.code_size += 8;
        }
        let mask = (1u32 << table.max_len) - 1;
        let code = *table.codes.get((self.code_buf & mask) as usize)?;
        let len = u8::try_from(code >> 16).unwrap_or(0);
        if len < 1 || self.code_size < len {
            return None;
        }
        self.code_buf >>= len;
        self.code_size -= len;
        Some((code & 0xFFFF) as usize)
    }

    /// One block; false when the output passed the limit.
    fn block(&mut self) -> bool {
        let Some(header) = self.bits(3) else {
            self.eof = true;
            return true;
        };
        if header & 1 != 0 {
            self.eof = true;
        }
        match header >> 1 {
            0 => self.stored(),
            1 => {
                let (lit, dist) = fixed_tables();
                self.compressed(&lit, &dist)
            }
            2 => match self.dynamic_tables() {
                Some((lit, dist)) => self.compressed(&lit, &dist),
                None => {
                    self.eof = true;
                    true
                }
            },
            _ => {
                self.eof = true;
                true
            }
        }
    }

    fn stored(&mut self) -> bool {
        self.code_buf = 0;
        self.code_size = 0;
        let mut header = [0u8; 4];
        for b in &mut header {
            match self.byte() {
                Some(v) => *b = v,
                None => {
                    self.eof = true;
                    return true;
                }
            }
        }
        // The one's-complement check is ignored, as in hayro.
        let len = usize::from(u16::from_le_bytes([header[0], header[1]]));
        if len == 0 {
            if self.pos >= self.data.len() {
                self.eof = true;
            }
            return true;
        }
        let end = (self.pos + len).min(self.data.len());
        if end - self.pos < len {
            self.eof = true;
        }
        room(&mut self.out, end - self.pos, self.limit);
        self.out.extend_from_slice(&self.data[self.pos..end]);
        self.pos = end;
        self.out.len() <= self.limit
    }

    fn compressed(&mut self, lit: &Huffman, dist: &Huffman) -> bool {
        loop {
            let Some(code) = self.code(lit) else {
                self.eof = true;
                return true;
            };
            room(&mut self.out, 258, self.limit);
            if code < 256 {
                self.out.push(u8::try_from(code).unwrap_or(0));
            } else if code == 256 {
                return true;
            } else {
                let info = LENGTH_DECODE.get(code - 257).copied().unwrap_or(0);
                let mut length = (info & 0xFFFF) as usize;
                let extra = u8::try_from(info >> 16).unwrap_or(0);
                if extra > 0 {
                    let Some(v) = self.bits(extra) else {
                        self.eof = true;
                        return true;
                    };
                    length += v as usize;
                }
                let Some(dcode) = self.code(dist) else {
                    self.eof = true;
                    return true;
                };
                let Some(&dinfo) = DIST_DECODE.get(dcode) else {
                    self.eof = true;
                    return true;
                };
                let mut distance = (dinfo & 0xFFFF) as usize;
                let extra = u8::try_from(dinfo >> 16).unwrap_or(0);
                if extra > 0 {
                    let Some(v) = self.bits(extra) else {
                        self.eof = true;
                        return true;
                    };
                    distance += v as usize;
                }
                if distance <= self.out.len() {
                    for _ in 0..length {
                        let b = self.out[self.out.len() - distance];
                        self.out.push(b);
                    }
                }
            }
            if self.out.len() > self.limit {
                return false;
            }
        }
    }

    fn dynamic_tables(&mut self) -> Option<(Huffman, Huffman)> {
        let lit_codes = self.bits(5)? as usize + 257;
        let dist_codes = self.bits(5)? as usize + 1;
        let len_codes = self.bits(4)? as usize + 4;
        let mut len_lengths = [0u8; 19];
        for &i in CODE_LEN_ORDER.iter().take(len_codes) {
            len_lengths[i] = u8::try_from(self.bits(3)?).ok()?;
        }
        let len_table = huffman(&len_lengths);
        let total = lit_codes + dist_codes;
        let mut lengths = vec![0u8; total];
        let mut i = 0;
        while i < total {
            let code = self.code(&len_table)?;
            let (repeat, value) = match code {
                0..=15 => (1, u8::try_from(code).ok()?),
                16 => (
                    self.bits(2)? as usize + 3,
                    if i > 0 { lengths[i - 1] } else { 0 },
                ),
                17 => (self.bits(3)? as usize + 3, 0),
                18 => (self.bits(7)? as usize + 11, 0),
                _ => return None,
            };
            for _ in 0..repeat {
                if i < total {
                    lengths[i] = value;
                    i += 1;
                }
            }
        }
        Some((
            huffman(&lengths[..lit_codes]),
            huffman(&lengths[lit_codes..]),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn fixed_tables_match_pdf_js() {
        let (lit, dist) = fixed_tables();
        assert_eq!(lit.max_len, 9);
        assert_eq!(
            &lit.codes[..8],
            &[0x70100, 0x80050, 0x80010, 0x80118, 0x70110, 0x80070, 0x80030, 0x900c0]
        );
        assert_eq!(lit.codes[511], 0x900ff);
        assert_eq!(dist.codes.len(), 32);
        assert_eq!(&dist.codes[..4], &[0x50000, 0x50010, 0x50008, 0x50018]);
        assert_eq!(dist.codes[15], 0);
    }

    #[test]
    fn lenient_inflate_agrees_with_zlib_on_valid_data() {
        let text: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let z = zlib(&text);
        assert_eq!(lenient_inflate(&z, usize::MAX).unwrap(), text);
        assert_eq!(flate(&z, usize::MAX).unwrap(), text);
        assert!(flate(&z, 1000).is_err());
        assert_eq!(
            lenient_inflate(&z, 1000).unwrap_err(),
            1001.max(lenient_inflate(&z, 1000).unwrap_err())
        );
    }

    #[test]
    fn a_bad_stored_length_stops_zlib_but_not_hayros_fallback() {
        // Stored block with a wrong one's complement, then a real compressed block.
        let mut raw = vec![0x00, 3, 0, 0, 0, b'a', b'b', b'c'];
        let z = zlib(&[b'x'; 10_000]);
        raw.extend_from_slice(&z[2..z.len() - 4]);
        let mut data = vec![0x78, 0x9C];
        data.extend_from_slice(&raw);
        assert!(flate(&data, 100).is_err_and(|e| e.0 == Stop::Limit));
        assert!(flate(&data, 20_000).unwrap().len() >= 10_003);
    }

    #[test]
    fn simple_filters_decode_as_hayro_does() {
        assert_eq!(ascii_hex(b"48 65 6c6C6f7>", 100).unwrap(), b"Hello\x70");
        assert!(ascii_hex(b"4x", 100).is_err());
        assert_eq!(
            ascii85(b"87cURD]i,\"Ebo80~>", 100).unwrap(),
            b"Hello World!"
        );
        assert_eq!(ascii85(b"z~>", 100).unwrap(), [0; 4]);
        assert_eq!(
            run_length(&[4, 10, 11, 12, 13, 14, 253, 3, 128], 100).unwrap(),
            [10, 11, 12, 13, 14, 3, 3, 3, 3]
        );
        assert_eq!(
            run_length(&[129, 0].repeat(100), 1000).unwrap_err().0,
            Stop::Limit
        );
    }

    #[test]
    fn lzw_decodes_the_spec_example() {
        // ISO 32000-1 §7.4.4.2: 45 45 45 45 45 65 45 45 45 66.
        let data = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        let (out, _) = lzw(&data, true, 1000).unwrap();
        assert_eq!(out, [45, 45, 45, 45, 45, 65, 45, 45, 45, 66]);
    }
}
