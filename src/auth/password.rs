//! Password hashing: Argon2id with OWASP's minimum (m = 19 MiB, t = 2, p = 1), PHC strings.
//!
//! Verification compares in constant time (the `password-hash` crate's output comparison). A
//! login for an unknown email verifies against [`DUMMY_HASH`] so that both cases cost the same.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

pub const SALT_BYTES: usize = 16;
const M_COST_KIB: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

/// A hash of a random, forgotten password with the current parameters. Verifying against it costs
/// what a real verification costs and never succeeds.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$AAECAwQFBgcICQoLDA0ODw$cGmyGWHg0T9DUbm5+8mqNZ5EtlRRpowzUZmnb2Qk1MY";

fn hasher() -> Argon2<'static> {
    // Parameters are constants inside the valid range; the fallback is unreachable.
    let params = Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with `salt` into a PHC string.
///
/// # Errors
/// Only if the salt cannot be encoded, which 16 random bytes always can.
pub fn hash(password: &str, salt: &[u8; SALT_BYTES]) -> Result<String, String> {
    let salt = SaltString::encode_b64(salt).map_err(|e| e.to_string())?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the PHC string `phc` (parameters are read from the string).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse 1", &[7; SALT_BYTES]).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse 1", &phc));
        assert!(!verify("correct horse 2", &phc));
    }

    #[test]
    fn the_same_password_with_another_salt_hashes_differently() {
        assert_ne!(
            hash("pw-123456789", &[1; SALT_BYTES]).unwrap(),
            hash("pw-123456789", &[2; SALT_BYTES]).unwrap()
        );
    }

    #[test]
    fn the_dummy_hash_is_well_formed_uses_current_parameters_and_matches_nothing() {
        let parsed = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(parsed.params.get_decimal("m"), Some(M_COST_KIB));
        assert_eq!(parsed.params.get_decimal("t"), Some(T_COST));
        assert!(!verify("", DUMMY_HASH));
        assert!(!verify("password123", DUMMY_HASH));
    }

    #[test]
    fn a_corrupt_hash_never_verifies() {
        assert!(!verify("x", "not a phc string"));
    }
}
