//! `archive::read`, the import's central-directory reader: archives written by the export's own
//! writer (data descriptors), by Python's `zipfile` (sizes in the local headers) and with ZIP64
//! records (our writer's large entries, and a small archive whose every size and offset is in
//! ZIP64 fields) read back entry by entry; every malformed or hostile form is refused with its
//! reason: not a ZIP, truncated, unsafe and duplicate names, compressed and encrypted entries,
//! too many entries, a directory too large, overlapping entries, disagreeing headers and sizes,
//! a CRC mismatch, a manifest naming a missing file or another size.

mod common;

use std::cell::Cell;
use std::io::Write;

use common::ports::block_on;
use common::tools::noise;
use common::zip::{build, export_style, Spec};
use scoremate::archive::read::{
    self, check_against, crc32, locate, open, read_entry, Archive, ReadError, Source,
    CENTRAL_MAX_BYTES, ENTRIES_MAX,
};
use scoremate::domain::manifest::Manifest;
use sha2::{Digest, Sha256};

/// An archive in memory, counting the reads made of it.
struct Bytes {
    bytes: Vec<u8>,
    reads: Cell<usize>,
}

impl Bytes {
    fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            reads: Cell::new(0),
        }
    }
}

impl Source for Bytes {
    type Error = ();
    async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, ()> {
        self.reads.set(self.reads.get() + 1);
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let end = start
            .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
            .min(self.bytes.len());
        Ok(self.bytes[start..end].to_vec())
    }
}

fn opened(bytes: &[u8]) -> Result<Archive, String> {
    let src = Bytes::new(bytes.to_vec());
    block_on(open(&src, bytes.len() as u64)).map_err(|e| match e {
        ReadError::Damaged(r) => r,
        ReadError::Source(()) => "source".into(),
    })
}

fn refused(bytes: &[u8], why: &str) {
    let e = opened(bytes).expect_err(why);
    assert!(e.contains(why), "{e:?} should say {why:?}");
}

/// Every entry's bytes read back through its local header.
fn contents(bytes: &[u8], archive: &Archive) -> Vec<(String, Vec<u8>)> {
    let src = Bytes::new(bytes.to_vec());
    archive
        .entries
        .iter()
        .map(|e| {
            let (at, head) = block_on(locate(&src, e)).unwrap();
            let data = bytes[at as usize..(at + e.size) as usize].to_vec();
            assert!(data.starts_with(&head), "{}", e.name);
            assert_eq!(crc32(&data), e.crc32, "{}", e.name);
            (e.name.clone(), data)
        })
        .collect()
}

#[test]
fn an_export_style_archive_reads_back_entry_by_entry_in_a_few_reads() {
    let a = noise(300_000, 1);
    let b = b"%PDF-1.7 small".to_vec();
    let bytes = export_style(&[
        ("manifest.json", br#"{"format":1}"#),
        ("files/a--s1.pdf", &a),
        ("files/parts/b--s1--p1.pdf", &b),
        ("index.csv", b"file,title\r\n"),
    ]);
    let src = Bytes::new(bytes.clone());
    let archive = block_on(open(&src, bytes.len() as u64)).unwrap();
    assert_eq!(src.reads.get(), 2, "the tail, then the directory");
    assert_eq!(archive.entries.len(), 4);
    assert!(
        archive.entries.iter().all(|e| e.flags & 8 != 0),
        "data descriptors"
    );
    let got = contents(&bytes, &archive);
    assert_eq!(got[1], ("files/a--s1.pdf".to_owned(), a));
    assert_eq!(got[2].1, b);
    let manifest = archive.entry("manifest.json").unwrap();
    assert_eq!(
        block_on(read_entry(&src, manifest, 1024)).unwrap(),
        br#"{"format":1}"#
    );
}

#[test]
fn a_python_zipfile_archive_with_sizes_in_its_local_headers_reads_back() {
    if !common::tools::installed("python3") {
        return;
    }
    let dir = common::tools::scratch("archive-read", "python");
    let path = dir.join("a.zip");
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:\n    z.writestr('manifest.json', b'{}')\n    z.writestr('files/x.pdf', b'%PDF-1.4 ' + bytes(range(256)) * 40)\n";
    common::tools::run("python3", &["-c", script, path.to_str().unwrap()]);
    let bytes = std::fs::read(&path).unwrap();
    let archive = opened(&bytes).unwrap();
    assert!(
        archive.entries.iter().all(|e| e.flags & 8 == 0),
        "no descriptors"
    );
    let got = contents(&bytes, &archive);
    assert_eq!(got[1].1.len(), 9 + 256 * 40);
}

#[test]
fn zip64_records_and_fields_read_back() {
    // A small archive whose every size and offset is saturated and given in ZIP64 fields, with
    // a ZIP64 end record and locator (what a library over 4 GiB or 65 535 entries ends with).
    let specs = vec![
        Spec::new("manifest.json", b"{}"),
        Spec::new("files/a.pdf", b"%PDF-1.4 a"),
        Spec {
            descriptor: true,
            ..Spec::new("files/b.pdf", b"%PDF-1.4 bb")
        },
    ];
    let bytes = build(&specs, true);
    let archive = opened(&bytes).unwrap();
    assert_eq!(archive.entries.len(), 3);
    assert_eq!(contents(&bytes, &archive)[2].1, b"%PDF-1.4 bb");

    // The zip crate's streaming writer with a ZIP64 ("large") entry: 64-bit sizes in its local
    // header and data descriptor.
    let mut zip = zip::ZipWriter::new_stream(Vec::new());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    zip.start_file("files/big.pdf", opts).unwrap();
    zip.write_all(b"%PDF-1.7 pretend this is 5 GiB").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let archive = opened(&bytes).unwrap();
    assert_eq!(
        contents(&bytes, &archive)[0].1,
        b"%PDF-1.7 pretend this is 5 GiB"
    );
}

#[test]
fn not_a_zip_or_a_truncated_one_is_refused() {
    refused(b"", "not a ZIP archive");
    refused(
        b"%PDF-1.7 not an archive at all, but long enough to scan",
        "not a ZIP archive",
    );
    refused(b"PK\x03\x04 and then garbage", "not a ZIP archive");
    let bytes = export_style(&[("manifest.json", b"{}"), ("files/a.pdf", &noise(5000, 2))]);
    // Cut at the end: no end record; cut at the start: the directory points past the object.
    refused(&bytes[..bytes.len() - 10], "not a ZIP archive");
    let cut = bytes.len() - 3000;
    let mut shifted = bytes[bytes.len() - cut..].to_vec();
    shifted.truncate(cut);
    refused(&shifted, "outside the archive");
}

#[test]
fn unsafe_and_duplicate_names_are_refused() {
    for name in [
        "../x.pdf",
        "/abs.pdf",
        "files/..\\x.pdf",
        "C:x",
        "files//a.pdf",
        "files/./a.pdf",
        "a\u{1}.pdf",
    ] {
        let bytes = build(&[Spec::new(name, b"%PDF-")], false);
        refused(&bytes, "unsafe entry name");
    }
    let bytes = build(
        &[
            Spec::new("files/A.pdf", b"%PDF-1"),
            Spec::new("files/a.pdf", b"%PDF-2"),
        ],
        false,
    );
    refused(&bytes, "appears twice");
    let mut latin = build(&[Spec::new("files/\u{e9}.pdf", b"%PDF-")], false);
    // The name's é as Latin-1 (one byte): not UTF-8.
    let at = latin.windows(2).rposition(|w| w == "é".as_bytes()).unwrap();
    latin.splice(at..at + 2, [0xe9, b'x']);
    refused(&latin, "not UTF-8");
}

#[test]
fn compressed_and_encrypted_entries_are_refused() {
    let deflated = Spec {
        method: 8,
        ..Spec::new("files/a.pdf", b"%PDF-")
    };
    refused(&build(&[deflated], false), "compressed (method 8, deflate)");
    let encrypted = Spec {
        flags: 1,
        ..Spec::new("files/a.pdf", b"%PDF-")
    };
    refused(&build(&[encrypted], false), "encrypted");
    let strong = Spec {
        flags: 1 << 6,
        ..Spec::new("files/a.pdf", b"%PDF-")
    };
    refused(&build(&[strong], false), "encrypted");
}

#[test]
fn too_many_entries_or_too_large_a_directory_is_refused_before_it_is_read() {
    let specs: Vec<Spec> = (0..=ENTRIES_MAX)
        .map(|i| Spec::new(&format!("f{i}"), b""))
        .collect();
    let bytes = build(&specs, false);
    let src = Bytes::new(bytes.clone());
    let e = block_on(open(&src, bytes.len() as u64)).unwrap_err();
    assert_eq!(
        e,
        ReadError::Damaged(format!(
            "the archive has {} entries; at most {ENTRIES_MAX}",
            ENTRIES_MAX + 1
        ))
    );
    assert_eq!(src.reads.get(), 1, "only the tail was read");
    // ENTRIES_MAX itself is fine.
    assert_eq!(
        opened(&build(&specs[1..], false)).unwrap().entries.len() as u64,
        ENTRIES_MAX
    );
    // A directory over its bound, by its end record.
    let mut bytes = build(&[Spec::new("a", b"x")], false);
    let n = bytes.len();
    bytes[n - 10..n - 6].copy_from_slice(&((CENTRAL_MAX_BYTES + 1) as u32).to_le_bytes());
    refused(&bytes, "the central directory is");
}

#[test]
fn overlapping_entries_are_refused() {
    // Two directory entries sharing one local header and its bytes: the classic overlap bomb.
    let specs = vec![
        Spec::new("files/a.pdf", &noise(1000, 3)),
        Spec {
            points_at: Some(0),
            ..Spec::new("files/b.pdf", &noise(1000, 3))
        },
    ];
    refused(&build(&specs, false), "overlaps");
    // An entry whose size runs into the next entry.
    let specs = vec![
        Spec {
            cd_size: Some(2000),
            ..Spec::new("files/a.pdf", &noise(1000, 4))
        },
        Spec::new("files/b.pdf", &noise(1000, 5)),
    ];
    refused(&build(&specs, false), "overlaps");
    // The last one running into the central directory.
    let specs = vec![Spec {
        cd_size: Some(1100),
        ..Spec::new("files/a.pdf", &noise(1000, 6))
    }];
    refused(&build(&specs, false), "overlaps");
}

#[test]
fn local_headers_that_disagree_with_the_directory_are_refused_when_read() {
    let check = |spec: Spec, why: &str| {
        let bytes = build(&[spec], false);
        let archive = opened(&bytes).unwrap();
        let src = Bytes::new(bytes);
        let e = block_on(locate(&src, &archive.entries[0])).unwrap_err();
        assert!(
            matches!(&e, ReadError::Damaged(r) if r.contains(why)),
            "{e:?} ≠ {why}"
        );
    };
    check(
        Spec {
            local_name: Some("files/b.pdf".into()),
            ..Spec::new("files/a.pdf", b"%PDF-1")
        },
        "names another file",
    );
    check(
        Spec {
            crc: Some(7),
            ..Spec::new("files/a.pdf", b"%PDF-1")
        },
        "disagree (CRC or size)",
    );
    // A CRC that disagrees while the local header defers to a descriptor: the bytes tell.
    let bytes = build(
        &[Spec {
            crc: Some(7),
            descriptor: true,
            ..Spec::new("manifest.json", b"{}")
        }],
        false,
    );
    let archive = opened(&bytes).unwrap();
    let src = Bytes::new(bytes);
    let e = block_on(read_entry(&src, &archive.entries[0], 100)).unwrap_err();
    assert!(
        matches!(&e, ReadError::Damaged(r) if r.contains("CRC-32 mismatch")),
        "{e:?}"
    );
    assert!(
        matches!(block_on(read_entry(&src, &archive.entries[0], 1)), Err(ReadError::Damaged(r)) if r.contains("at most 1"))
    );
}

#[test]
fn the_manifest_must_name_entries_that_are_there_with_its_sizes() {
    let hash = |b: &[u8]| scoremate::domain::hex(&Sha256::digest(b));
    let pdf = b"%PDF-1.7 the file".to_vec();
    let manifest = |size: usize| {
        serde_json::json!({
            "format": 1, "generator": "scoremate", "exported_at": "2026-01-01T00:00:00Z",
            "scores": [{"id": "s1", "file": "files/a.pdf", "sha256": hash(&pdf), "size_bytes": size,
              "title": "A", "composer": null, "arranger": null, "instrumentation": null, "key": null,
              "notes": null, "tags": [], "rating": null, "difficulty": null, "duration": null,
              "pages": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
              "parts": [], "bookmarks": [], "annotations": [], "settings": []}],
            "setlists": []
        })
    };
    let m: Manifest = serde_json::from_value(manifest(pdf.len())).unwrap();
    let bytes = export_style(&[
        ("manifest.json", b"{}"),
        ("files/a.pdf", &pdf),
        ("notes.txt", b"hi"),
    ]);
    let archive = opened(&bytes).unwrap();
    assert_eq!(
        check_against(&archive, &m, 1 << 20).unwrap(),
        vec!["entry \"notes.txt\" is not named by the manifest; ignored".to_owned()]
    );
    assert!(check_against(&archive, &m, 3)
        .unwrap_err()
        .contains("files are at most 3"));
    let m: Manifest = serde_json::from_value(manifest(pdf.len() + 1)).unwrap();
    assert!(check_against(&archive, &m, 1 << 20)
        .unwrap_err()
        .contains("but 18 in the manifest"));
    let bytes = export_style(&[("manifest.json", b"{}")]);
    let archive = opened(&bytes).unwrap();
    assert!(check_against(&archive, &m, 1 << 20)
        .unwrap_err()
        .contains("missing from the archive"));
}

#[test]
fn tail_arithmetic_finds_the_record_behind_a_comment() {
    let mut bytes = build(&[Spec::new("a", b"x")], false);
    let n = bytes.len();
    bytes[n - 2..].copy_from_slice(&5u16.to_le_bytes());
    bytes.extend_from_slice(b"hello");
    assert_eq!(opened(&bytes).unwrap().entries[0].name, "a");
    // A comment length that does not end the file: no record found.
    bytes.push(b'!');
    refused(&bytes, "not a ZIP archive");
    let (at, len) = read::tail_range(10);
    assert_eq!((at, len), (0, 10));
    let (at, len) = read::tail_range(1 << 40);
    assert_eq!(at + len, 1 << 40);
    assert_eq!(len, 22 + 65_535 + 20);
}
