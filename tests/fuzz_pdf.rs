//! Mutation fuzzing of the PDF entry points that read untrusted uploads: `pdf_info::inspect`
//! (whole file), `pdf_ranges::inspect_slice` (range reads, tiny chunks) and
//! `thumbnail::first_page_png`. Seeds are every fixture plus generated files; each case applies
//! structure-aware mutations (byte flips, digit changes, deletions, duplications, truncation,
//! splices between files). A panic fails the test with the case number to replay.
//!
//! Short run (part of the README test command): `FUZZ_CASES` defaults to 400.
//! Longer run, documented in the README: `FUZZ_CASES=100000 cargo test --release --test fuzz_pdf`.
//! Replay one case: `FUZZ_FROM=1234 FUZZ_CASES=1 cargo test --test fuzz_pdf`.

use scoremate::media::pdf_info;
use scoremate::media::pdf_ranges::{inspect_slice, Limits};
use scoremate::media::thumbnail;

/// xorshift64*: deterministic, so a case number is enough to replay it.
struct Rng(u64);

impl Rng {
    fn new(case: u64) -> Self {
        Self(case.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap()
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir("tests/fixtures")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    out.sort();
    assert!(out.len() >= 10, "fixtures missing");
    out
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut m = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(6) {
        if m.is_empty() {
            break;
        }
        let i = rng.below(m.len());
        match rng.below(7) {
            0 => m[i] = rng.next() as u8,
            1 => {
                // Numbers steer offsets, lengths and counts: change a digit.
                if let Some(j) = m[i..].iter().position(u8::is_ascii_digit) {
                    m[i + j] = b'0' + rng.below(10) as u8;
                }
            }
            2 => {
                let n = rng.below(64).min(m.len() - i);
                m.drain(i..i + n);
            }
            3 => {
                let n = rng.below(256).min(m.len() - i);
                let copy = m[i..i + n].to_vec();
                let at = rng.below(m.len());
                m.splice(at..at, copy);
            }
            4 => m.truncate(i.max(8)),
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                m.truncate(i);
                m.extend_from_slice(&other[from..]);
            }
            _ => {
                let word: &[u8] = [
                    &b" R "[..],
                    b"<<",
                    b">>",
                    b"obj",
                    b"stream\n",
                    b"/Kids",
                    b"[",
                ][rng.below(7)];
                m.splice(i..i, word.iter().copied());
            }
        }
    }
    m
}

#[test]
fn pdf_entry_points_never_panic_on_mutated_files() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (from, cases) = (env("FUZZ_FROM", 0), env("FUZZ_CASES", 400));
    let seeds = seeds();
    let ranged = Limits {
        chunk: 97,
        max_reads: 5_000,
        ..Limits::default()
    };
    let render = thumbnail::Limits {
        width: 64,
        ..thumbnail::Limits::default()
    };
    let (mut ok, mut failed) = (0, 0);
    for case in from..from + cases {
        let mut rng = Rng::new(case);
        let input = mutate(&mut rng, &seeds);
        let outcome = std::panic::catch_unwind(|| {
            let whole = pdf_info::inspect(&input);
            let by_ranges = inspect_slice(&input, ranged);
            let thumb = thumbnail::first_page_png(input.clone(), render);
            for reason in [
                whole.as_ref().err().map(pdf_info::PdfFailure::reason),
                by_ranges.as_ref().err().map(pdf_info::PdfFailure::reason),
                thumb.as_ref().err().map(ToString::to_string),
            ]
            .into_iter()
            .flatten()
            {
                assert!(!reason.is_empty(), "a failure without a reason");
            }
            whole.is_ok()
        });
        match outcome {
            Ok(true) => ok += 1,
            Ok(false) => failed += 1,
            Err(_) => panic!("case {case} panicked; replay with FUZZ_FROM={case} FUZZ_CASES=1"),
        }
    }
    // Mutations must leave a fair share readable, or the fuzzer only tests the header check.
    assert!(
        ok * 10 >= cases,
        "only {ok} of {cases} cases were readable ({failed} failed)"
    );
}
