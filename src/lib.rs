//! ScoreMate: the edge backend for musicians' sheet-music libraries, as two Cloudflare Worker
//! scripts built from this crate: the API (feature `api`) and the queue consumer (`consumer`).
//!
//! Functional core, imperative shell: every module but `shell` is plain Rust with no `worker`
//! import and is tested natively with `cargo test`. `shell` (compiled for wasm32 only) holds the
//! `#[event]` entry points, HTTP plumbing and the D1/R2/Queue adapters.

pub mod api;
pub mod archive;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod media;
pub mod ports;
pub mod service;
pub mod storage;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod shell;

/// Reported by `/health` and in logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
