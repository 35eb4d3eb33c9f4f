//! The command-line tools some tests check their output with (poppler, qpdf, unzip, Python):
//! whether one is installed (a missing one skips its check, with a note), a scratch folder per
//! test, and running one to success.

#![allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]

use std::path::PathBuf;
use std::process::Command;

/// Whether `tool` can be started; notes a skipped check when it cannot.
pub fn installed(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        eprintln!("note: {tool} is not installed; this check is skipped");
    }
    found
}

/// A fresh folder for one test's files: `scoremate-{suite}-{pid}-{name}` in the temp folder.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scoremate-{suite}-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `tool args…`, which must succeed: its standard output.
pub fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `len` bytes of xorshift noise from `seed` (incompressible, reproducible).
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
