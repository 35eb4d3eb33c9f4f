//! `archive::read`: the import's ZIP reader (SPEC §11), over range reads of an object too large
//! to hold (decision 101).
//!
//! An archive is read from its end: the end-of-central-directory record (and the ZIP64 locator
//! and record when there are any), then the central directory in one read (bounded by the entry
//! limit), then each entry's local header and bytes by range, when the import needs them. It
//! accepts what `archive::ArchiveWriter` (and Python's `zipfile`) write for the export: one disk,
//! *stored* entries (so there is nothing to inflate and no decompression bomb), local headers with
//! or without data descriptors, ZIP64 sizes and offsets. It refuses, with the reason the import
//! reports: a missing or misplaced end record, more than [`ENTRIES_MAX`] entries, compressed or
//! encrypted entries, names that are not UTF-8 or not [`is_safe_name`], names that repeat in any
//! case, sizes that disagree (central directory, local header, stored size), entries whose
//! bytes overlap another entry or the directory (the "zip bomb by overlap"), and a truncated
//! object. The CRC-32 of an entry is the caller's to check on the bytes it reads
//! ([`crc32`]).
//!
//! Everything here is arithmetic on bytes already read; the reads go through [`Source`].

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::domain::manifest::{is_safe_name, Manifest, INDEX_NAME, MANIFEST_NAME, NAME_MAX_BYTES};

/// Most entries an archive may hold (SPEC §11).
pub const ENTRIES_MAX: u64 = 10_000;
/// Largest central directory read: [`ENTRIES_MAX`] entries of 400 bytes on average (an export's
/// are ~150: 46 fixed, a name under 120, a ZIP64 field).
pub const CENTRAL_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Bytes of a local header read at first beyond its fixed part and name: extra fields longer
/// than this take a second read. Also covers the first bytes of the data (the `%PDF-` check).
const LOCAL_EXTRA_GUESS: u64 = 96;
/// The end record's fixed part; a comment of up to 65 535 bytes follows it.
const EOCD_LEN: u64 = 22;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_RECORD_LEN: u64 = 56;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// The shortest data descriptor (CRC and two 32-bit sizes, no signature).
const DESCRIPTOR_MIN: u64 = 12;

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_ZIP64_LOCATOR: u32 = 0x0706_4b50;
const SIG_ZIP64_RECORD: u32 = 0x0606_4b50;
/// The first bytes of every archive we accept (a local header).
pub const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
const FLAG_MASKED_HEADERS: u16 = 1 << 13;

/// Random access to the archive.
// The only callers are single-threaded (workerd, tests), so no `Send` bound is wanted.
#[allow(async_fn_in_trait)]
pub trait Source {
    type Error;
    /// `len` bytes from `offset` (fewer only past the end of the object).
    async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, Self::Error>;
}

/// Why an archive could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError<E> {
    /// The archive is not one we accept, for this reason (permanent: told to the user).
    Damaged(String),
    /// The source failed (transient: retry).
    Source(E),
}

fn damaged<E>(reason: impl Into<String>) -> ReadError<E> {
    ReadError::Damaged(reason.into())
}

/// Where the central directory lies, as the end records say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directory {
    pub offset: u64,
    pub size: u64,
    pub entries: u64,
    /// Where the end records start (the ZIP64 record's offset, else the end record's): nothing
    /// of the directory may reach past it.
    pub end: u64,
}

/// One entry of the central directory, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    /// Offset of its local header.
    pub offset: u64,
    /// Its bytes (stored: compressed and uncompressed sizes are equal).
    pub size: u64,
    pub crc32: u32,
    /// General-purpose flags (bit 3: a data descriptor follows the bytes).
    pub flags: u16,
    /// Where the next entry (or the directory) begins: the entry's bytes and data descriptor
    /// must end before it.
    pub limit: u64,
}

/// A checked archive: its size, where its directory is, and its entries in directory order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    pub size: u64,
    pub directory: Directory,
    pub entries: Vec<Entry>,
}

impl Archive {
    /// The entry named exactly `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// CRC-32 (the ZIP polynomial) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The byte range `(offset, len)` to read first: the end of the archive, long enough for the end
/// record with the longest comment and the ZIP64 locator before it.
pub fn tail_range(size: u64) -> (u64, u64) {
    let len = size.min(EOCD_LEN + u64::from(u16::MAX) + ZIP64_LOCATOR_LEN);
    (size - len, len)
}

/// What the end of the archive says: the directory, or that the ZIP64 record at `at` (with the
/// directory) must be read first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    Directory(Directory),
    Zip64 { record_at: u64, end: u64 },
}

/// Finds the end record in `tail` (the bytes from `tail_offset` to the end of an archive of
/// `size` bytes): the last signature whose comment ends exactly at the end of the file.
///
/// # Errors
/// No end record (not a ZIP, or truncated), a multi-disk archive, or too many entries.
pub fn parse_tail<E>(tail: &[u8], tail_offset: u64, size: u64) -> Result<Tail, ReadError<E>> {
    let not_zip = || damaged("not a ZIP archive (no end of central directory record; truncated?)");
    if tail.len() < EOCD_LEN as usize || tail_offset + tail.len() as u64 != size {
        return Err(not_zip());
    }
    let at = (0..=tail.len() - EOCD_LEN as usize)
        .rev()
        .find(|&i| {
            u32_at(tail, i) == SIG_EOCD
                && i + EOCD_LEN as usize + usize::from(u16_at(tail, i + 20)) == tail.len()
        })
        .ok_or_else(not_zip)?;
    let eocd = &tail[at..];
    let eocd_offset = tail_offset + at as u64;
    if u16_at(eocd, 4) != 0 || u16_at(eocd, 6) != 0 {
        return Err(damaged("multi-disk archives are not supported"));
    }
    let locator = at
        .checked_sub(ZIP64_LOCATOR_LEN as usize)
        .filter(|&l| u32_at(tail, l) == SIG_ZIP64_LOCATOR);
    if let Some(l) = locator {
        let loc = &tail[l..];
        if u32_at(loc, 4) != 0 || u32_at(loc, 16) > 1 {
            return Err(damaged("multi-disk archives are not supported"));
        }
        let record_at = u64_at(loc, 8);
        let end = tail_offset + l as u64;
        if record_at
            .checked_add(ZIP64_RECORD_LEN)
            .is_none_or(|e| e > end)
        {
            return Err(damaged("the ZIP64 end record is not before its locator"));
        }
        return Ok(Tail::Zip64 { record_at, end });
    }
    let entries = u64::from(u16_at(eocd, 10));
    if u64::from(u16_at(eocd, 8)) != entries {
        return Err(damaged("multi-disk archives are not supported"));
    }
    directory(
        entries,
        u64::from(u32_at(eocd, 12)),
        u64::from(u32_at(eocd, 16)),
        eocd_offset,
    )
    .map(Tail::Directory)
}

/// Reads the ZIP64 end record (`bytes`, read at `record_at`; `end` is where its locator starts).
///
/// # Errors
/// A bad signature, a multi-disk archive, or too many entries.
pub fn parse_zip64_record<E>(
    bytes: &[u8],
    record_at: u64,
    end: u64,
) -> Result<Directory, ReadError<E>> {
    if bytes.len() < ZIP64_RECORD_LEN as usize || u32_at(bytes, 0) != SIG_ZIP64_RECORD {
        return Err(damaged("the ZIP64 end record is missing or damaged"));
    }
    let record_end = record_at
        .checked_add(12)
        .and_then(|r| r.checked_add(u64_at(bytes, 4)));
    if record_end.is_none_or(|r| r > end) || u64_at(bytes, 4) < ZIP64_RECORD_LEN - 12 {
        return Err(damaged("the ZIP64 end record's size is wrong"));
    }
    if u32_at(bytes, 16) != 0 || u32_at(bytes, 20) != 0 || u64_at(bytes, 24) != u64_at(bytes, 32) {
        return Err(damaged("multi-disk archives are not supported"));
    }
    directory(
        u64_at(bytes, 32),
        u64_at(bytes, 40),
        u64_at(bytes, 48),
        record_at,
    )
}

fn directory<E>(entries: u64, size: u64, offset: u64, end: u64) -> Result<Directory, ReadError<E>> {
    if entries > ENTRIES_MAX {
        return Err(damaged(format!(
            "the archive has {entries} entries; at most {ENTRIES_MAX}"
        )));
    }
    if size > CENTRAL_MAX_BYTES {
        return Err(damaged(format!(
            "the central directory is {size} bytes; at most {CENTRAL_MAX_BYTES}"
        )));
    }
    if offset.checked_add(size).is_none_or(|e| e > end) {
        return Err(damaged(
            "the central directory lies outside the archive (truncated?)",
        ));
    }
    Ok(Directory {
        offset,
        size,
        entries,
        end,
    })
}

/// The ZIP64 extended information of an extra field block: the values of the fields that were
/// saturated, in the order the format gives (uncompressed, compressed, offset).
fn zip64_values<E>(extra: &[u8], wanted: usize, name: &str) -> Result<Vec<u64>, ReadError<E>> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at);
        let len = usize::from(u16_at(extra, at + 2));
        let body = extra.get(at + 4..at + 4 + len).ok_or_else(|| {
            damaged(format!(
                "entry {name:?}: an extra field overruns its header"
            ))
        })?;
        if id == 1 {
            if body.len() < wanted * 8 {
                return Err(damaged(format!(
                    "entry {name:?}: its ZIP64 field lacks a size or offset"
                )));
            }
            return Ok((0..wanted).map(|i| u64_at(body, i * 8)).collect());
        }
        at += 4 + len;
    }
    if wanted == 0 {
        Ok(Vec::new())
    } else {
        Err(damaged(format!(
            "entry {name:?}: a size or offset needs a ZIP64 field it lacks"
        )))
    }
}

/// Refuses what a stored, unencrypted entry cannot have.
fn check_kind<E>(name: &str, flags: u16, method: u16) -> Result<(), ReadError<E>> {
    if flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) != 0 {
        return Err(damaged(format!("entry {name:?} is encrypted")));
    }
    if method != 0 {
        let kind = match method {
            8 => "deflate",
            9 => "deflate64",
            12 => "bzip2",
            14 => "lzma",
            93 => "zstd",
            _ => "unknown",
        };
        return Err(damaged(format!(
            "entry {name:?} is compressed (method {method}, {kind}); only stored entries are read, as the export writes them"
        )));
    }
    Ok(())
}

/// Parses and checks the central directory `bytes` (read at `dir.offset`, `dir.size` long):
/// every entry stored, unencrypted, safely and uniquely named, with equal sizes, within the
/// archive and overlapping nothing.
///
/// # Errors
/// The first thing refused.
pub fn parse_directory<E>(bytes: &[u8], dir: &Directory) -> Result<Vec<Entry>, ReadError<E>> {
    if bytes.len() as u64 != dir.size {
        return Err(damaged("the central directory is truncated"));
    }
    let count = usize::try_from(dir.entries).unwrap_or(usize::MAX);
    let mut entries = Vec::with_capacity(count.min(ENTRIES_MAX as usize));
    let mut names = HashSet::with_capacity(entries.capacity());
    let mut at = 0usize;
    for _ in 0..dir.entries {
        let head = bytes
            .get(at..at + CENTRAL_LEN)
            .filter(|h| u32_at(h, 0) == SIG_CENTRAL)
            .ok_or_else(|| damaged("the central directory is damaged (a bad entry header)"))?;
        let flags = u16_at(head, 8);
        let method = u16_at(head, 10);
        let crc = u32_at(head, 16);
        let compressed = u32_at(head, 20);
        let uncompressed = u32_at(head, 24);
        let name_len = usize::from(u16_at(head, 28));
        let extra_len = usize::from(u16_at(head, 30));
        let comment_len = usize::from(u16_at(head, 32));
        let disk = u16_at(head, 34);
        let offset = u32_at(head, 42);
        let rest = at + CENTRAL_LEN;
        let raw_name = bytes
            .get(rest..rest + name_len)
            .ok_or_else(|| damaged("the central directory is damaged (a name overruns it)"))?;
        let extra = bytes
            .get(rest + name_len..rest + name_len + extra_len)
            .ok_or_else(|| {
                damaged("the central directory is damaged (an extra field overruns it)")
            })?;
        at = rest + name_len + extra_len + comment_len;
        if at > bytes.len() {
            return Err(damaged(
                "the central directory is damaged (a comment overruns it)",
            ));
        }
        let name = std::str::from_utf8(raw_name)
            .map_err(|_| damaged("an entry name is not UTF-8"))?
            .to_owned();
        if name_len > NAME_MAX_BYTES || !is_safe_name(&name) {
            return Err(damaged(format!(
                "unsafe entry name {name:?} (absolute, `..`, backslash, drive letter or control character)"
            )));
        }
        if !names.insert(name.to_lowercase()) {
            return Err(damaged(format!(
                "entry {name:?} appears twice (names compare in any case)"
            )));
        }
        check_kind::<E>(&name, flags, method)?;
        let wanted = [
            uncompressed == u32::MAX,
            compressed == u32::MAX,
            offset == u32::MAX,
        ];
        let mut big =
            zip64_values::<E>(extra, wanted.iter().filter(|w| **w).count(), &name)?.into_iter();
        let mut value = |saturated: bool, small: u32| {
            if saturated {
                big.next().unwrap_or(u64::MAX)
            } else {
                u64::from(small)
            }
        };
        let uncompressed = value(wanted[0], uncompressed);
        let compressed = value(wanted[1], compressed);
        let offset = value(wanted[2], offset);
        if disk != 0 && disk != u16::MAX {
            return Err(damaged("multi-disk archives are not supported"));
        }
        if compressed != uncompressed {
            return Err(damaged(format!(
                "entry {name:?}: its stored size ({compressed}) differs from its size ({uncompressed})"
            )));
        }
        entries.push(Entry {
            name,
            offset,
            size: uncompressed,
            crc32: crc,
            flags,
            limit: 0,
        });
    }
    if at != bytes.len() {
        return Err(damaged(
            "the central directory holds more than its entry count says",
        ));
    }
    bound(&mut entries, dir.offset)?;
    Ok(entries)
}

/// Each entry's `limit` (where the next one, or the directory, begins), refusing entries that
/// overlap: sorted by offset, each one's local header, name, bytes (and shortest descriptor)
/// must end before the next begins, and the last before the directory. Two directory entries
/// can then never share bytes (the "overlap" zip bomb).
fn bound<E>(entries: &mut [Entry], directory_at: u64) -> Result<(), ReadError<E>> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries[i].offset);
    for (k, &i) in order.iter().enumerate() {
        let limit = order
            .get(k + 1)
            .map_or(directory_at, |&j| entries[j].offset);
        let e = &entries[i];
        let descriptor = if e.flags & FLAG_DESCRIPTOR != 0 {
            DESCRIPTOR_MIN
        } else {
            0
        };
        let end = e
            .offset
            .checked_add(LOCAL_LEN as u64 + e.name.len() as u64)
            .and_then(|x| x.checked_add(e.size))
            .and_then(|x| x.checked_add(descriptor));
        if end.is_none_or(|end| end > limit) {
            return Err(damaged(format!(
                "entry {:?} overlaps the next entry or the central directory",
                e.name
            )));
        }
        entries[i].limit = limit;
    }
    Ok(())
}

/// What a local header says: where the entry's bytes begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// The header is longer than what was read: read this many bytes from its offset.
    NeedMore(u64),
    /// The bytes begin at this offset.
    DataAt(u64),
}

/// How many bytes of `entry`'s local header to read at first (its fixed part, name, a guess at
/// its extra fields, and a few bytes of data).
pub fn local_read_len(entry: &Entry) -> u64 {
    LOCAL_LEN as u64 + entry.name.len() as u64 + LOCAL_EXTRA_GUESS
}

/// Checks `entry`'s local header (`bytes`, read at its offset) against the central directory:
/// the same name, flags, method, and either the same CRC and sizes or (with a data descriptor)
/// none yet; its bytes end before the next entry.
///
/// # Errors
/// The disagreement.
pub fn parse_local<E>(bytes: &[u8], entry: &Entry) -> Result<Local, ReadError<E>> {
    let name = &entry.name;
    let head = bytes
        .get(..LOCAL_LEN)
        .filter(|h| u32_at(h, 0) == SIG_LOCAL)
        .ok_or_else(|| damaged(format!("entry {name:?}: no local header at its offset")))?;
    let flags = u16_at(head, 6);
    let method = u16_at(head, 8);
    check_kind::<E>(name, flags, method)?;
    if flags & FLAG_DESCRIPTOR != entry.flags & FLAG_DESCRIPTOR {
        return Err(damaged(format!(
            "entry {name:?}: its local header and the central directory disagree (flags)"
        )));
    }
    let name_len = usize::from(u16_at(head, 26));
    let extra_len = usize::from(u16_at(head, 28));
    let total = LOCAL_LEN + name_len + extra_len;
    if bytes.len() < total {
        return Ok(Local::NeedMore(total as u64));
    }
    if &bytes[LOCAL_LEN..LOCAL_LEN + name_len] != name.as_bytes() {
        return Err(damaged(format!(
            "entry {name:?}: its local header names another file"
        )));
    }
    let extra = &bytes[LOCAL_LEN + name_len..total];
    let (crc, compressed, uncompressed) = (u32_at(head, 14), u32_at(head, 18), u32_at(head, 22));
    let sizes = if compressed == u32::MAX || uncompressed == u32::MAX {
        // A local ZIP64 field carries both sizes, uncompressed first.
        let v = zip64_values::<E>(extra, 2, name)?;
        (v[1], v[0])
    } else {
        (u64::from(compressed), u64::from(uncompressed))
    };
    let agrees = |v: u64, want: u64, deferred: bool| v == want || (deferred && v == 0);
    let deferred = flags & FLAG_DESCRIPTOR != 0;
    if !agrees(u64::from(crc), u64::from(entry.crc32), deferred)
        || !agrees(sizes.0, entry.size, deferred)
        || !agrees(sizes.1, entry.size, deferred)
    {
        return Err(damaged(format!(
            "entry {name:?}: its local header and the central directory disagree (CRC or size)"
        )));
    }
    let data_at = entry.offset + total as u64;
    let descriptor = if deferred { DESCRIPTOR_MIN } else { 0 };
    let end = data_at
        .checked_add(entry.size)
        .and_then(|x| x.checked_add(descriptor));
    if end.is_none_or(|end| end > entry.limit) {
        return Err(damaged(format!(
            "entry {name:?} overlaps the next entry or the central directory"
        )));
    }
    Ok(Local::DataAt(data_at))
}

async fn read_exact<S: Source>(
    src: &S,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, ReadError<S::Error>> {
    let bytes = src.read(offset, len).await.map_err(ReadError::Source)?;
    if bytes.len() as u64 != len {
        return Err(damaged("the archive is truncated"));
    }
    Ok(bytes)
}

/// Reads and checks the archive's end records and central directory (two or three reads).
///
/// # Errors
/// [`ReadError::Damaged`] with the reason; [`ReadError::Source`] when a read fails.
pub async fn open<S: Source>(src: &S, size: u64) -> Result<Archive, ReadError<S::Error>> {
    let (at, len) = tail_range(size);
    let tail = read_exact(src, at, len).await?;
    let directory = match parse_tail(&tail, at, size)? {
        Tail::Directory(d) => d,
        Tail::Zip64 { record_at, end } => {
            let record = read_exact(src, record_at, ZIP64_RECORD_LEN).await?;
            parse_zip64_record(&record, record_at, end)?
        }
    };
    let bytes = read_exact(src, directory.offset, directory.size).await?;
    let entries = parse_directory(&bytes, &directory)?;
    Ok(Archive {
        size,
        directory,
        entries,
    })
}

/// Where `entry`'s bytes begin, from its checked local header, and the first bytes of the data
/// that came with the read (at most a few dozen; empty when the header filled the read).
///
/// # Errors
/// As [`parse_local`]; [`ReadError::Source`] when a read fails.
pub async fn locate<S: Source>(
    src: &S,
    entry: &Entry,
) -> Result<(u64, Vec<u8>), ReadError<S::Error>> {
    let first = local_read_len(entry).min(entry.limit.saturating_sub(entry.offset));
    let mut bytes = src
        .read(entry.offset, first)
        .await
        .map_err(ReadError::Source)?;
    loop {
        match parse_local(&bytes, entry)? {
            Local::DataAt(at) => {
                let from = usize::try_from(at - entry.offset).unwrap_or(usize::MAX);
                let head = bytes.get(from..).unwrap_or_default().to_vec();
                let keep = usize::try_from(entry.size).unwrap_or(usize::MAX);
                return Ok((at, head.into_iter().take(keep).collect()));
            }
            Local::NeedMore(len) if len > bytes.len() as u64 => {
                bytes = read_exact(src, entry.offset, len).await?;
            }
            Local::NeedMore(_) => return Err(damaged("the archive is truncated")),
        }
    }
}

/// The whole of a small `entry` (the manifest), its CRC-32 checked; at most `max` bytes.
///
/// # Errors
/// Over `max`, a damaged header or CRC; [`ReadError::Source`] when a read fails.
pub async fn read_entry<S: Source>(
    src: &S,
    entry: &Entry,
    max: u64,
) -> Result<Vec<u8>, ReadError<S::Error>> {
    if entry.size > max {
        return Err(damaged(format!(
            "{} is {} bytes; at most {max}",
            entry.name, entry.size
        )));
    }
    let (at, _) = locate(src, entry).await?;
    let bytes = read_exact(src, at, entry.size).await?;
    if crc32(&bytes) != entry.crc32 {
        return Err(damaged(format!(
            "entry {:?}: CRC-32 mismatch (the archive is damaged)",
            entry.name
        )));
    }
    Ok(bytes)
}

/// Checks the archive against its manifest: every file it names is an entry of the size it
/// says (within `max_file` bytes each). Entries the manifest does not name (other than the
/// manifest and `index.csv`) are ignored; the lines returned say which.
///
/// # Errors
/// A file missing or of another size, or too large.
pub fn check_against(
    archive: &Archive,
    manifest: &Manifest,
    max_file: u64,
) -> Result<Vec<String>, String> {
    let mut named: HashSet<&str> = HashSet::new();
    for f in manifest.files() {
        let entry = archive.entry(f.name).ok_or_else(|| {
            format!(
                "file {:?} named by the manifest is missing from the archive",
                f.name
            )
        })?;
        if entry.size != f.size_bytes {
            return Err(format!(
                "file {:?} is {} bytes in the archive but {} in the manifest",
                f.name, entry.size, f.size_bytes
            ));
        }
        if f.size_bytes > max_file {
            return Err(format!(
                "file {:?} is {} bytes; files are at most {max_file}",
                f.name, f.size_bytes
            ));
        }
        named.insert(f.name);
    }
    Ok(archive
        .entries
        .iter()
        .filter(|e| {
            e.name != MANIFEST_NAME && e.name != INDEX_NAME && !named.contains(e.name.as_str())
        })
        .map(|e| format!("entry {:?} is not named by the manifest; ignored", e.name))
        .collect())
}
