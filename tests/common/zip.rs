//! A ZIP writer of our own for the import's tests: stored entries written byte by byte, with
//! each field open to damage (names the export would never write, compression and encryption
//! flags, sizes, CRCs, local headers that disagree, overlapping entries, ZIP64 records on a
//! small archive), and well-formed archives from `archive::ArchiveWriter` with a manifest.

#![allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]

use scoremate::archive::read::crc32;

/// One entry and how to write (or damage) it.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: String,
    pub data: Vec<u8>,
    pub method: u16,
    pub flags: u16,
    /// CRC written in the central directory (default: the data's).
    pub crc: Option<u32>,
    /// Size written in the central directory (default: the data's length).
    pub cd_size: Option<u64>,
    /// Name written in the local header (default: `name`).
    pub local_name: Option<String>,
    /// Local header offset written in the central directory: `Some(i)` points at entry `i`'s
    /// header instead of its own (the overlap trick).
    pub points_at: Option<usize>,
    /// A data descriptor after the bytes (flag bit 3, zero CRC and sizes in the local header).
    pub descriptor: bool,
}

impl Spec {
    pub fn new(name: &str, data: &[u8]) -> Self {
        Self {
            name: name.to_owned(),
            data: data.to_vec(),
            method: 0,
            flags: 0,
            crc: None,
            cd_size: None,
            local_name: None,
            points_at: None,
            descriptor: false,
        }
    }
}

fn u16le(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn u64le(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The archive of `specs`; with `zip64`, every size and offset of the central directory is
/// saturated and given in ZIP64 fields, and the end has a ZIP64 record and locator.
pub fn build(specs: &[Spec], zip64: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for s in specs {
        offsets.push(out.len() as u64);
        let crc = crc32(&s.data);
        let flags = s.flags | if s.descriptor { 1 << 3 } else { 0 };
        let local_name = s.local_name.as_deref().unwrap_or(&s.name);
        u32le(&mut out, 0x0403_4b50);
        u16le(&mut out, 20);
        u16le(&mut out, flags);
        u16le(&mut out, s.method);
        u16le(&mut out, 0);
        u16le(&mut out, 0x21);
        let (c, n) = if s.descriptor {
            (0, 0)
        } else {
            (crc, s.data.len() as u32)
        };
        u32le(&mut out, c);
        u32le(&mut out, n);
        u32le(&mut out, n);
        u16le(&mut out, local_name.len() as u16);
        u16le(&mut out, 0);
        out.extend_from_slice(local_name.as_bytes());
        out.extend_from_slice(&s.data);
        if s.descriptor {
            u32le(&mut out, 0x0807_4b50);
            u32le(&mut out, crc);
            u32le(&mut out, s.data.len() as u32);
            u32le(&mut out, s.data.len() as u32);
        }
    }
    let cd_at = out.len() as u64;
    for (i, s) in specs.iter().enumerate() {
        let crc = s.crc.unwrap_or_else(|| crc32(&s.data));
        let size = s.cd_size.unwrap_or(s.data.len() as u64);
        let offset = offsets[s.points_at.unwrap_or(i)];
        let flags = s.flags | if s.descriptor { 1 << 3 } else { 0 };
        u32le(&mut out, 0x0201_4b50);
        u16le(&mut out, 45);
        u16le(&mut out, 45);
        u16le(&mut out, flags);
        u16le(&mut out, s.method);
        u16le(&mut out, 0);
        u16le(&mut out, 0x21);
        u32le(&mut out, crc);
        let mut extra = Vec::new();
        if zip64 {
            u32le(&mut out, u32::MAX);
            u32le(&mut out, u32::MAX);
            u16le(&mut extra, 1);
            u16le(&mut extra, 24);
            u64le(&mut extra, size);
            u64le(&mut extra, size);
            u64le(&mut extra, offset);
        } else {
            u32le(&mut out, size as u32);
            u32le(&mut out, size as u32);
        }
        u16le(&mut out, s.name.len() as u16);
        u16le(&mut out, extra.len() as u16);
        u16le(&mut out, 0);
        u16le(&mut out, 0);
        u16le(&mut out, 0);
        u32le(&mut out, 0);
        u32le(&mut out, if zip64 { u32::MAX } else { offset as u32 });
        out.extend_from_slice(s.name.as_bytes());
        out.extend_from_slice(&extra);
    }
    let cd_size = out.len() as u64 - cd_at;
    let count = specs.len() as u64;
    if zip64 {
        let record_at = out.len() as u64;
        u32le(&mut out, 0x0606_4b50);
        u64le(&mut out, 44);
        u16le(&mut out, 45);
        u16le(&mut out, 45);
        u32le(&mut out, 0);
        u32le(&mut out, 0);
        u64le(&mut out, count);
        u64le(&mut out, count);
        u64le(&mut out, cd_size);
        u64le(&mut out, cd_at);
        u32le(&mut out, 0x0706_4b50);
        u32le(&mut out, 0);
        u64le(&mut out, record_at);
        u32le(&mut out, 1);
    }
    u32le(&mut out, 0x0605_4b50);
    u16le(&mut out, 0);
    u16le(&mut out, 0);
    let small = |v: u64, max: u64| if zip64 { max } else { v };
    u16le(&mut out, small(count, 0xffff) as u16);
    u16le(&mut out, small(count, 0xffff) as u16);
    u32le(&mut out, small(cd_size, 0xffff_ffff) as u32);
    u32le(&mut out, small(cd_at, 0xffff_ffff) as u32);
    u16le(&mut out, 0);
    out
}

/// `entries` written by the export's own writer (`archive::ArchiveWriter`: data descriptors,
/// ZIP64 only when needed), as one byte string.
pub fn export_style(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = scoremate::archive::ArchiveWriter::new(scoremate::archive::PART_BYTES);
    let mut parts = Vec::new();
    for (name, bytes) in entries {
        w.add(name, bytes).unwrap();
        parts.extend(w.take_parts());
    }
    parts.extend(w.finish().unwrap());
    parts.concat()
}
