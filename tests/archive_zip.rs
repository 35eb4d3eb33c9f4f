//! `archive::ArchiveWriter` against Info-ZIP's `unzip -t` and Python's `zipfile`: parts of
//! exactly the part size but the last, stored entries with data descriptors whose bytes read back
//! with their sha256, entries streamed in chunks byte for byte the same archive as entries added
//! whole (an entry larger than a part passing through less than a part and a chunk of memory),
//! entries held to their declared length, ZIP64 records past 65 535 entries, names an import would
//! refuse never written, and the large-entry boundary by arithmetic. The `unzip` and Python checks are skipped,
//! with a note, where those tools are not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::tools::{installed, noise};
use scoremate::archive::{
    is_safe_name, needs_large_entry, ArchiveError, ArchiveWriter, PART_BYTES,
};
use sha2::{Digest, Sha256};

fn write(name: &str, parts: &[Vec<u8>]) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("scoremate-zip-{}-{name}.zip", std::process::id()));
    std::fs::write(&path, parts.concat()).unwrap();
    path
}

/// Python's view of the archive: one line per entry, `name sha256 flag_bits`.
fn python_listing(path: &Path) -> String {
    let script = "import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist():\n    print(i.filename, hashlib.sha256(z.read(i)).hexdigest(), i.flag_bits, i.compress_type)\n";
    let out = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn parts_are_exact_and_the_entries_read_back_with_their_sha256() {
    let files = [
        ("manifest.json", br#"{"format":1}"#.to_vec()),
        ("files/a.pdf", noise(6 * 1024 * 1024 + 123, 1)),
        ("files/b.pdf", noise(3 * 1024 * 1024, 2)),
        (
            "index.csv",
            b"file,title\nfiles/a.pdf,\"A, too\"\n".to_vec(),
        ),
    ];
    let mut w = ArchiveWriter::new(PART_BYTES);
    let mut parts = Vec::new();
    for (name, bytes) in &files {
        w.add(name, bytes).unwrap();
        // The caller uploads what is full after each entry: memory keeps less than a part.
        parts.extend(w.take_parts());
    }
    assert_eq!(w.entries(), 4);
    parts.extend(w.finish().unwrap());
    let (last, full) = parts.split_last().unwrap();
    assert!(
        full.iter().all(|p| p.len() == PART_BYTES),
        "every part but the last is 5 MiB"
    );
    assert!(!last.is_empty() && last.len() <= PART_BYTES);
    let path = write("parts", &parts);
    if installed("unzip") {
        let out = Command::new("unzip")
            .args(["-t", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        eprintln!("note: unzip missing; unzip -t skipped");
    }
    if installed("python3") {
        let listing = python_listing(&path);
        for (name, bytes) in &files {
            let sha = scoremate::domain::hex(&Sha256::digest(bytes));
            // Stored (compress_type 0), with a data descriptor (flag bit 3).
            let line = listing
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap();
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields[1], sha, "{name}");
            assert_eq!(
                fields[2].parse::<u32>().unwrap() & 0x08,
                0x08,
                "{name} has a data descriptor"
            );
            assert_eq!(fields[3], "0", "{name} is stored");
        }
    } else {
        eprintln!("note: python3 missing; zipfile check skipped");
    }
    let _ = std::fs::remove_file(path);
}

/// The files of [`parts_are_exact_and_the_entries_read_back_with_their_sha256`]'s kind, one of
/// them larger than two parts.
fn library() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("manifest.json", br#"{"format":1}"#.to_vec()),
        ("files/big.pdf", noise(2 * PART_BYTES + 777_777, 3)),
        ("files/small.pdf", noise(1000, 4)),
        ("files/mid.pdf", noise(PART_BYTES - 5, 5)),
    ]
}

#[test]
fn entries_streamed_in_chunks_make_the_same_archive_as_entries_added_whole() {
    let files = library();
    let mut whole = ArchiveWriter::new(PART_BYTES);
    let mut whole_parts = Vec::new();
    for (name, bytes) in &files {
        whole.add(name, bytes).unwrap();
        whole_parts.extend(whole.take_parts());
    }
    whole_parts.extend(whole.finish().unwrap());

    const CHUNK: usize = 4 * 1024 * 1024;
    let mut streamed = ArchiveWriter::new(PART_BYTES);
    let mut parts = Vec::new();
    let mut most_held = 0;
    for (name, bytes) in &files {
        streamed.start(name, bytes.len() as u64).unwrap();
        for chunk in bytes.chunks(CHUNK) {
            streamed.write(chunk).unwrap();
            most_held = most_held.max(streamed.buffered());
            parts.extend(streamed.take_parts());
            assert!(streamed.buffered() < PART_BYTES, "less than a part stays");
        }
        streamed.end().unwrap();
    }
    assert_eq!(streamed.entries(), 4);
    let size = streamed.written();
    parts.extend(streamed.finish().unwrap());
    // What memory held at its most: less than a part and a chunk, whatever the entry's size.
    assert!(most_held < PART_BYTES + CHUNK, "{most_held}");
    assert_eq!(parts.concat(), whole_parts.concat(), "byte for byte");
    assert!(size <= parts.iter().map(Vec::len).sum::<usize>() as u64);
    let (last, full) = parts.split_last().unwrap();
    assert!(full.len() >= 2, "the big entry spans parts");
    assert!(full.iter().all(|p| p.len() == PART_BYTES));
    assert!(!last.is_empty() && last.len() <= PART_BYTES);
    let path = write("streamed", &parts);
    if installed("unzip") {
        common::tools::run("unzip", &["-tq", path.to_str().unwrap()]);
    }
    if installed("python3") {
        let listing = python_listing(&path);
        for (name, bytes) in &files {
            let sha = scoremate::domain::hex(&Sha256::digest(bytes));
            assert!(listing.contains(&format!("{name} {sha} ")), "{name}");
        }
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_streamed_entry_is_held_to_its_declared_length() {
    let mut w = ArchiveWriter::new(PART_BYTES);
    assert!(
        matches!(w.write(b"x"), Err(ArchiveError::Length(_))),
        "no entry open"
    );
    assert!(matches!(w.end(), Err(ArchiveError::Length(_))));
    w.start("files/a.pdf", 4).unwrap();
    assert!(
        matches!(w.start("files/b.pdf", 1), Err(ArchiveError::Length(_))),
        "one entry at a time"
    );
    w.write(b"abc").unwrap();
    assert!(
        matches!(w.write(b"de"), Err(ArchiveError::Length(_))),
        "past its length"
    );
    assert!(
        matches!(w.end(), Err(ArchiveError::Length(_))),
        "short of its length"
    );
    let mut w = ArchiveWriter::new(PART_BYTES);
    w.start("files/a.pdf", 2).unwrap();
    w.write(b"a").unwrap();
    assert!(
        matches!(w.finish(), Err(ArchiveError::Length(_))),
        "still open"
    );
    let mut w = ArchiveWriter::new(PART_BYTES);
    assert_eq!(
        w.start("../a.pdf", 1),
        Err(ArchiveError::Name("../a.pdf".into()))
    );
}

#[test]
fn past_65_535_entries_the_archive_has_zip64_records() {
    let mut w = ArchiveWriter::new(PART_BYTES);
    let mut parts = Vec::new();
    for i in 0..70_000u32 {
        w.add(&format!("files/{i:05}.txt"), i.to_string().as_bytes())
            .unwrap();
        parts.extend(w.take_parts());
    }
    parts.extend(w.finish().unwrap());
    let bytes = parts.concat();
    // The ZIP64 end of central directory record and its locator are there.
    assert!(bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x06]));
    assert!(bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x07]));
    let path = write("many", &parts);
    if installed("python3") {
        let out = Command::new("python3")
            .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(len(z.infolist())); print(z.read('files/69999.txt').decode())", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "70000\n69999\n");
    }
    if installed("unzip") {
        let out = Command::new("unzip")
            .args(["-tq", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn names_an_import_would_refuse_are_never_written() {
    for bad in [
        "",
        "../x.pdf",
        "/etc/passwd",
        "a/../b",
        "a//b",
        "./a",
        "a\\b",
        "c:x",
        "a\nb",
        &"x".repeat(256),
    ] {
        assert!(!is_safe_name(bad), "{bad:?}");
        let mut w = ArchiveWriter::new(PART_BYTES);
        assert_eq!(w.add(bad, b"x"), Err(ArchiveError::Name(bad.to_owned())));
    }
    for good in [
        "manifest.json",
        "files/sco_1.pdf",
        "files/Réal Book.pdf",
        &"x".repeat(255),
    ] {
        assert!(is_safe_name(good), "{good:?}");
    }
    let mut w = ArchiveWriter::new(PART_BYTES);
    w.add("files/a.pdf", b"one").unwrap();
    assert!(w.add("files/a.pdf", b"two").is_err(), "a duplicate name");
}

#[test]
fn the_large_entry_boundary_by_arithmetic() {
    const LIMIT: u64 = 0xFFFF_FFFF;
    assert!(!needs_large_entry(0, 100 * 1024 * 1024));
    assert!(needs_large_entry(0, LIMIT));
    assert!(needs_large_entry(LIMIT - 10, 5), "ends past 4 GiB");
    assert!(
        needs_large_entry(5 * 1024 * 1024 * 1024, 1),
        "starts past 4 GiB"
    );
    let room = LIMIT - 30 - 255 - 64 - 24;
    assert!(!needs_large_entry(0, room - 1));
    assert!(needs_large_entry(0, room));
}
