//! Extracts pages `first..=last` of a PDF to a new file with `media::extract`, as the queue will,
//! and prints the time it took; run under `/usr/bin/time -v` for its peak memory.
//!
//! usage: `cargo run --release --example extract_pages -- IN OUT FIRST LAST`

use std::time::Instant;

use scoremate::media::extract::{extract_pages, EXTRACT_LIMITS};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, first, last] = &args[..] else {
        eprintln!("usage: extract_pages IN OUT FIRST LAST");
        std::process::exit(2);
    };
    let bytes = std::fs::read(input).expect("IN is readable");
    let (first, last) = (
        first.parse().expect("FIRST is a page number"),
        last.parse().expect("LAST is a page number"),
    );
    let started = Instant::now();
    match extract_pages(&bytes, first, last, &EXTRACT_LIMITS) {
        Ok(pdf) => {
            let took = started.elapsed();
            std::fs::write(output, &pdf).expect("OUT is writable");
            println!("{} bytes → {} bytes in {took:?}", bytes.len(), pdf.len());
        }
        Err(e) => {
            eprintln!("{}", e.reason());
            std::process::exit(1);
        }
    }
}
