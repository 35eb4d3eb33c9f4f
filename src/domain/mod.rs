//! Domain types that parse their input: once a value has one of these types it is valid.
//! Nothing here imports `worker`; everything is tested natively.

pub mod admin;
pub mod annotations;
pub mod bookmark;
pub mod fields;
pub mod ids;
pub mod import;
pub mod live;
pub mod manifest;
pub mod part;
pub mod preset;
pub mod rate;
pub mod score;
pub mod setlist;
pub mod settings;
pub mod shard;
pub mod task;
pub mod time;
pub mod user;
pub mod versions;

/// Lowercase hex of `bytes` (hashes, keys).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A byte count for people: `32 MiB`, `1 KiB`, `700 B` (whole units, rounded down).
pub fn human_bytes(n: i64) -> String {
    const KIB: i64 = 1024;
    const MIB: i64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 || n >= 10 * MIB {
        format!("{} MiB", n / MIB)
    } else if n >= KIB {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_counts_read_naturally() {
        assert_eq!(super::human_bytes(32 * 1024 * 1024), "32 MiB");
        assert_eq!(super::human_bytes(1024), "1 KiB");
        assert_eq!(super::human_bytes(1536 * 1024), "1536 KiB");
        assert_eq!(super::human_bytes(700), "700 B");
    }
}
