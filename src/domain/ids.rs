//! Opaque identifiers. The shell supplies the random bytes; the core only formats them.

/// Length of the random part of every id, in bytes (128 bits: collision-free in practice).
pub const ID_RANDOM_BYTES: usize = 16;

/// Formats an id as `prefix_` followed by the lowercase hex of `random`.
pub fn new_id(prefix: &str, random: &[u8; ID_RANDOM_BYTES]) -> String {
    let mut out = String::with_capacity(prefix.len() + 1 + 2 * ID_RANDOM_BYTES);
    out.push_str(prefix);
    out.push('_');
    for b in random {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0x0f), 16).unwrap_or('0'));
    }
    out
}

/// Whether `s` looks like an id we could have issued with `prefix` (cheap guard before a query).
pub fn is_well_formed(prefix: &str, s: &str) -> bool {
    s.len() == prefix.len() + 1 + 2 * ID_RANDOM_BYTES
        && s.starts_with(prefix)
        && s.as_bytes()[prefix.len()] == b'_'
        && s[prefix.len() + 1..]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_hex_and_recognised() {
        let id = new_id("usr", &[0xab; ID_RANDOM_BYTES]);
        assert_eq!(id, format!("usr_{}", "ab".repeat(16)));
        assert!(is_well_formed("usr", &id));
        assert!(!is_well_formed("sco", &id));
        assert!(!is_well_formed("usr", "usr_../../etc"));
    }
}
