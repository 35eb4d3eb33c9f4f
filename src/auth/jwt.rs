//! Access and refresh tokens as HS256 JWTs (`jwt-compact`).
//!
//! The algorithm is fixed here, never read from the token header: a token claiming `none` or any
//! other algorithm fails validation. Every token carries `sub` (user id), `sid` (session, i.e.
//! refresh-token family), `jti`, `typ`, `iat` and `exp`; all are checked.

use chrono::Duration;
use jwt_compact::{
    alg::{Hs256, Hs256Key},
    AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken,
};
use serde::{Deserialize, Serialize};

use crate::domain::time::Millis;

/// Shortest accepted signing secret (256 bits, the HS256 key size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Clock skew tolerated between edge locations for `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims ScoreMate puts in every token besides the registered time claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    pub sub: String,
    pub sid: String,
    pub jti: String,
    pub typ: TokenType,
}

/// Why a token was refused. Only the variant name reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad signature or algorithm")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token lacks a required claim")]
    MissingClaim,
    #[error("wrong token type")]
    WrongType,
}

impl TokenError {
    /// A short reason safe to show in the error envelope.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed => "malformed token",
            Self::BadSignature => "signature check failed",
            Self::Expired => "token expired",
            Self::NotYetValid => "token not yet valid",
            Self::MissingClaim => "token lacks a required claim",
            Self::WrongType => "wrong token type",
        }
    }
}

/// A signing key built from a secret that is known to be long enough.
pub struct JwtKey(Hs256Key);

impl JwtKey {
    /// # Errors
    /// A message for the operator when the secret is shorter than [`MIN_SECRET_BYTES`].
    pub fn from_secret(secret: &str) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (got {})",
                secret.len()
            ));
        }
        Ok(Self(Hs256Key::new(secret.as_bytes())))
    }
}

fn time_options(now: Millis) -> TimeOptions<impl Fn() -> chrono::DateTime<chrono::Utc>> {
    let now = now.to_datetime();
    TimeOptions::new(Duration::seconds(LEEWAY_SECONDS), move || now)
}

/// Signs a token valid from `now` for `ttl_seconds`.
pub fn issue(key: &JwtKey, claims: SessionClaims, now: Millis, ttl_seconds: i64) -> String {
    let claims = Claims::new(claims)
        .set_duration_and_issuance(&time_options(now), Duration::seconds(ttl_seconds))
        .set_not_before(now.to_datetime());
    // HMAC signing of a serialisable struct cannot fail; the fallback keeps this total.
    Hs256
        .token(&Header::empty().with_token_type("JWT"), &claims, &key.0)
        .unwrap_or_default()
}

/// Verifies signature, algorithm, time claims and type.
///
/// # Errors
/// The first check that failed.
pub fn verify(
    key: &JwtKey,
    token: &str,
    expected: TokenType,
    now: Millis,
) -> Result<SessionClaims, TokenError> {
    let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
    let token = Hs256
        .validator::<SessionClaims>(&key.0)
        .validate(&untrusted)
        .map_err(|e| match e {
            jwt_compact::ValidationError::MalformedClaims(_) => TokenError::MissingClaim,
            _ => TokenError::BadSignature,
        })?;
    let claims = token.claims();
    let options = time_options(now);
    claims.validate_expiration(&options).map_err(|e| match e {
        jwt_compact::ValidationError::NoClaim(_) => TokenError::MissingClaim,
        _ => TokenError::Expired,
    })?;
    // `nbf` is optional in a JWT; when present it must have passed.
    if claims.not_before.is_some() {
        claims
            .validate_maturity(&options)
            .map_err(|_| TokenError::NotYetValid)?;
    }
    match claims.issued_at {
        None => return Err(TokenError::MissingClaim),
        Some(iat) if iat > now.to_datetime() + Duration::seconds(LEEWAY_SECONDS) => {
            return Err(TokenError::NotYetValid)
        }
        Some(_) => {}
    }
    let custom = &claims.custom;
    if custom.typ != expected {
        return Err(TokenError::WrongType);
    }
    if custom.sub.is_empty() || custom.sid.is_empty() || custom.jti.is_empty() {
        return Err(TokenError::MissingClaim);
    }
    Ok(custom.clone())
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use serde_json::json;

    use super::*;

    const SECRET: &str = "test-secret-0123456789abcdef0123456789";
    const NOW: Millis = Millis(1_800_000_000_000);

    fn key() -> JwtKey {
        JwtKey::from_secret(SECRET).unwrap()
    }

    fn claims(typ: TokenType) -> SessionClaims {
        SessionClaims {
            sub: "usr_1".into(),
            sid: "ses_1".into(),
            jti: "jti_1".into(),
            typ,
        }
    }

    /// Builds a token by hand, to forge what `issue` never would.
    fn forge(header: serde_json::Value, payload: serde_json::Value, secret: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(payload.to_string());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{h}.{p}.{s}")
    }

    fn payload(now_s: i64) -> serde_json::Value {
        json!({"sub": "usr_1", "sid": "ses_1", "jti": "j", "typ": "access", "iat": now_s, "exp": now_s + 60})
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let token = issue(&key(), claims(TokenType::Access), NOW, 900);
        assert_eq!(
            verify(&key(), &token, TokenType::Access, NOW),
            Ok(claims(TokenType::Access))
        );
    }

    #[test]
    fn a_tampered_signature_is_refused() {
        let token = issue(&key(), claims(TokenType::Access), NOW, 900);
        let mut bytes = token.into_bytes();
        let i = bytes.len() - 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let token = String::from_utf8(bytes).unwrap();
        assert_eq!(
            verify(&key(), &token, TokenType::Access, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let token = issue(&key(), claims(TokenType::Access), NOW, 900);
        let parts: Vec<_> = token.split('.').collect();
        let evil =
            URL_SAFE_NO_PAD.encode(payload(NOW.seconds()).to_string().replace("usr_1", "usr_2"));
        let token = format!("{}.{}.{}", parts[0], evil, parts[2]);
        assert_eq!(
            verify(&key(), &token, TokenType::Access, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
        let p = URL_SAFE_NO_PAD.encode(payload(NOW.seconds()).to_string());
        for token in [format!("{h}.{p}."), format!("{h}.{p}")] {
            assert!(
                verify(&key(), &token, TokenType::Access, NOW).is_err(),
                "{token}"
            );
        }
    }

    #[test]
    fn another_algorithm_in_the_header_is_refused_even_with_a_valid_mac() {
        let token = forge(
            json!({"alg": "HS512"}),
            payload(NOW.seconds()),
            SECRET.as_bytes(),
        );
        assert_eq!(
            verify(&key(), &token, TokenType::Access, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let other = JwtKey::from_secret("another-secret-0123456789abcdef012345").unwrap();
        let token = issue(&other, claims(TokenType::Access), NOW, 900);
        assert_eq!(
            verify(&key(), &token, TokenType::Access, NOW),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        let token = issue(&key(), claims(TokenType::Access), NOW, 900);
        let later = NOW.plus_seconds(900 + LEEWAY_SECONDS + 1);
        assert_eq!(
            verify(&key(), &token, TokenType::Access, later),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_token_from_the_future_is_refused() {
        let token = issue(&key(), claims(TokenType::Access), NOW.plus_seconds(60), 900);
        assert_eq!(
            verify(&key(), &token, TokenType::Access, NOW),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn a_not_before_in_the_future_is_refused() {
        let mut p = payload(NOW.seconds());
        p["nbf"] = json!(NOW.seconds() + 60);
        let token = forge(json!({"alg": "HS256"}), p, SECRET.as_bytes());
        assert_eq!(
            verify(&key(), &token, TokenType::Access, NOW),
            Err(TokenError::NotYetValid)
        );
    }

    #[test]
    fn tokens_without_exp_or_iat_are_refused() {
        for missing in ["exp", "iat", "sid"] {
            let mut p = payload(NOW.seconds());
            p.as_object_mut().unwrap().remove(missing);
            let token = forge(json!({"alg": "HS256"}), p, SECRET.as_bytes());
            assert_eq!(
                verify(&key(), &token, TokenType::Access, NOW),
                Err(TokenError::MissingClaim),
                "{missing}"
            );
        }
    }

    #[test]
    fn access_and_refresh_tokens_are_not_interchangeable() {
        let access = issue(&key(), claims(TokenType::Access), NOW, 900);
        let refresh = issue(&key(), claims(TokenType::Refresh), NOW, 900);
        assert_eq!(
            verify(&key(), &access, TokenType::Refresh, NOW),
            Err(TokenError::WrongType)
        );
        assert_eq!(
            verify(&key(), &refresh, TokenType::Access, NOW),
            Err(TokenError::WrongType)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for token in ["", "abc", "a.b.c", "....."] {
            assert!(verify(&key(), token, TokenType::Access, NOW).is_err());
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(JwtKey::from_secret("short").is_err());
        assert!(JwtKey::from_secret("").is_err());
    }
}
