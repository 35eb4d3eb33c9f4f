//! Prints an Argon2id PHC hash of the password given as the first argument, with the same
//! parameters as the Worker. Used by the benchmarks to load many users with a known password.
//!
//! usage: cargo run --example hash_password -- 'Password-123'

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let Some(password) = std::env::args().nth(1) else {
        eprintln!("usage: hash_password PASSWORD");
        std::process::exit(2);
    };
    // The salt only needs to be unique per hash here; benchmark data is not secret.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let salt: [u8; 16] = nanos.to_le_bytes();
    match scoremate::auth::password::hash(&password, &salt) {
        Ok(phc) => println!("{phc}"),
        Err(e) => {
            eprintln!("hash failed: {e}");
            std::process::exit(1);
        }
    }
}
