//! Compact HMAC-signed tokens: `base64url(json payload) "." base64url(hmac)`.
//!
//! Used for Worker-mode blob URLs and for list cursors. Each use has its own purpose string, so a
//! token minted for one use never verifies as another; keys are derived from one server secret.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Serialize};
use sha2::Sha256;

/// A key for one purpose, derived from the server secret.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn derive(secret: &[u8], purpose: &str) -> Self {
        Self(mac(secret, &[purpose.as_bytes()]))
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature")]
    BadSignature,
}

pub fn sign<T: Serialize>(key: &SigningKey, payload: &T) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap_or_default());
    let sig = URL_SAFE_NO_PAD.encode(mac(&key.0, &[body.as_bytes()]));
    format!("{body}.{sig}")
}

/// Verifies the signature in constant time, then decodes the payload.
///
/// # Errors
/// `Malformed` for anything that is not two base64url parts of a JSON payload, `BadSignature`
/// when the MAC does not match.
pub fn verify<T: DeserializeOwned>(key: &SigningKey, token: &str) -> Result<T, SignedError> {
    let (body, sig) = token.split_once('.').ok_or(SignedError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| SignedError::Malformed)?;
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(&key.0) else {
        return Err(SignedError::BadSignature);
    };
    m.update(body.as_bytes());
    m.verify_slice(&sig)
        .map_err(|_| SignedError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| SignedError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| SignedError::Malformed)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct P {
        a: String,
    }

    #[test]
    fn a_signed_payload_round_trips() {
        let k = SigningKey::derive(b"secret", "test");
        let t = sign(&k, &P { a: "x".into() });
        assert_eq!(verify::<P>(&k, &t), Ok(P { a: "x".into() }));
        assert!(t
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)));
    }

    #[test]
    fn tampering_with_payload_or_signature_is_detected() {
        let k = SigningKey::derive(b"secret", "test");
        let t = sign(&k, &P { a: "x".into() });
        let (body, sig) = t.split_once('.').unwrap();
        let forged_body = URL_SAFE_NO_PAD.encode(br#"{"a":"y"}"#);
        assert_eq!(
            verify::<P>(&k, &format!("{forged_body}.{sig}")),
            Err(SignedError::BadSignature)
        );
        let mut bad_sig = sig.to_owned();
        bad_sig.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
        assert_eq!(
            verify::<P>(&k, &format!("{body}.{bad_sig}")),
            Err(SignedError::BadSignature)
        );
        assert_eq!(verify::<P>(&k, "garbage"), Err(SignedError::Malformed));
    }

    #[test]
    fn a_token_for_one_purpose_fails_for_another() {
        let t = sign(&SigningKey::derive(b"secret", "blob"), &P { a: "x".into() });
        assert_eq!(
            verify::<P>(&SigningKey::derive(b"secret", "cursor"), &t),
            Err(SignedError::BadSignature)
        );
    }
}
