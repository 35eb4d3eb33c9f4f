//! Per-phase timing of a request in workerd, by leaving phases out (`bench/phases.sh`).
//!
//! workerd's clock does not move while a request computes (it advances on I/O only), so a phase
//! cannot be timed from inside; instead the benchmark times the whole request with one phase
//! skipped at a time and reads a phase's cost as the difference. Only in builds with the
//! `bench-phases` feature, which `scripts/build.sh` never enables; the `BENCH_SKIP` var lists
//! the phases to skip, one letter each:
//! - `L` the request's log line;
//! - `R` the per-user Rate Limiting binding;
//! - `S` the D1 session (the plain binding instead);
//! - `D` the list's D1 statement and the body's building: `GET /v1/scores` answers the body it
//!   built for its first request;
//! - `1` the list's statement replaced by the health check's ping, `select 1` (the same cached
//!   body).

#[cfg(feature = "bench-phases")]
mod on {
    use std::cell::RefCell;

    thread_local! {
        static SKIP: RefCell<String> = const { RefCell::new(String::new()) };
        static BODY: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Reads `BENCH_SKIP` for this request.
    pub fn start(env: &worker::Env) {
        let skip = env
            .var("BENCH_SKIP")
            .map(|v| v.to_string())
            .unwrap_or_default();
        SKIP.with(|s| *s.borrow_mut() = skip);
    }

    /// Whether phase `c` is skipped.
    pub fn skip(c: char) -> bool {
        SKIP.with(|s| s.borrow().contains(c))
    }

    /// The list body kept from the first request.
    pub fn body() -> Option<String> {
        BODY.with(|b| b.borrow().clone())
    }

    pub fn keep(body: &str) {
        BODY.with(|b| *b.borrow_mut() = Some(body.to_owned()));
    }
}

#[cfg(not(feature = "bench-phases"))]
mod on {
    pub fn start(_: &worker::Env) {}
    pub const fn skip(_: char) -> bool {
        false
    }
    pub const fn body() -> Option<String> {
        None
    }
    pub fn keep(_: &str) {}
}

pub use on::{body, keep, skip, start};
