//! Presigned upload and download URLs in the two modes of SPEC §2.
//!
//! - `s3`: SigV4 query presigning against R2's S3 endpoint (path-style, region `auto`).
//! - `worker`: an HMAC-signed token for the Worker's own `/v1/blobs/{token}` route, which enforces
//!   the same size, type and hash while streaming into R2 through the binding.

use std::collections::BTreeMap;

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};

use super::signed::{self, SignedError, SigningKey};
use super::sigv4::{self, Credentials, PresignRequest, Scope};
use crate::domain::time::Millis;

/// Purpose string for blob token keys.
pub const BLOB_PURPOSE: &str = "scoremate/blob-token/v1";

#[derive(Clone)]
pub enum Mode {
    Worker,
    S3 {
        /// `https://<account>.r2.cloudflarestorage.com` (or any S3 endpoint).
        endpoint: String,
        bucket: String,
        region: String,
        credentials: Credentials,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobOp {
    Put,
    Get,
}

/// What a Worker-mode blob token grants. Short field names keep URLs short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobClaims {
    pub op: BlobOp,
    /// Object key.
    pub k: String,
    /// Upload id (PUT only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
    /// Exact size in bytes (PUT only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    /// sha256, lowercase hex (PUT only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h: Option<String>,
    /// Content type (PUT: required; GET: served as).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobTokenError {
    #[error("invalid blob token")]
    Invalid,
    #[error("blob token expired")]
    Expired,
    #[error("blob token not valid for this method")]
    WrongOperation,
}

/// A URL with what the client must send alongside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub url: String,
    pub method: &'static str,
    pub headers: BTreeMap<String, String>,
    pub expires_at: Millis,
}

/// What an upload URL must enforce.
pub struct UploadSpec<'a> {
    pub key: &'a str,
    pub upload_id: &'a str,
    pub size: u64,
    pub sha256_hex: &'a str,
    pub mime: &'a str,
}

/// `sha256` hex → base64, as S3's `x-amz-checksum-sha256` wants it.
pub fn sha256_hex_to_base64(hex: &str) -> String {
    STANDARD.encode(sigv4::unhex(hex))
}

/// An upload URL for `spec`, valid `ttl_seconds` from `now`. `base_url` is the Worker's public
/// origin (Worker mode only).
pub fn upload(
    mode: &Mode,
    blob_key: &SigningKey,
    base_url: &str,
    spec: &UploadSpec<'_>,
    now: Millis,
    ttl_seconds: u32,
) -> Presigned {
    let expires_at = now.plus_seconds(i64::from(ttl_seconds));
    let mut headers = BTreeMap::new();
    headers.insert("content-type".to_owned(), spec.mime.to_owned());
    headers.insert("content-length".to_owned(), spec.size.to_string());
    let url = match mode {
        Mode::Worker => {
            let token = signed::sign(
                blob_key,
                &BlobClaims {
                    op: BlobOp::Put,
                    k: spec.key.to_owned(),
                    u: Some(spec.upload_id.to_owned()),
                    n: Some(spec.size),
                    h: Some(spec.sha256_hex.to_owned()),
                    t: Some(spec.mime.to_owned()),
                    exp: expires_at.seconds(),
                },
            );
            format!("{}/v1/blobs/{token}", base_url.trim_end_matches('/'))
        }
        Mode::S3 {
            endpoint,
            bucket,
            region,
            credentials,
        } => {
            headers.insert(
                "x-amz-checksum-sha256".to_owned(),
                sha256_hex_to_base64(spec.sha256_hex),
            );
            sigv4::presign(
                &PresignRequest {
                    method: "PUT",
                    endpoint,
                    bucket,
                    key: spec.key,
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    operation: "PutObject",
                    expires_seconds: ttl_seconds,
                },
                credentials,
                &Scope {
                    region,
                    service: "s3",
                    time: now,
                },
            )
        }
    };
    Presigned {
        url,
        method: "PUT",
        headers,
        expires_at,
    }
}

/// A download URL for `key`, valid `ttl_seconds` from `now`.
pub fn download(
    mode: &Mode,
    blob_key: &SigningKey,
    base_url: &str,
    key: &str,
    content_type: &str,
    now: Millis,
    ttl_seconds: u32,
) -> Presigned {
    let expires_at = now.plus_seconds(i64::from(ttl_seconds));
    let url = match mode {
        Mode::Worker => {
            let token = signed::sign(
                blob_key,
                &BlobClaims {
                    op: BlobOp::Get,
                    k: key.to_owned(),
                    u: None,
                    n: None,
                    h: None,
                    t: Some(content_type.to_owned()),
                    exp: expires_at.seconds(),
                },
            );
            format!("{}/v1/blobs/{token}", base_url.trim_end_matches('/'))
        }
        Mode::S3 {
            endpoint,
            bucket,
            region,
            credentials,
        } => sigv4::presign(
            &PresignRequest {
                method: "GET",
                endpoint,
                bucket,
                key,
                headers: Vec::new(),
                operation: "GetObject",
                expires_seconds: ttl_seconds,
            },
            credentials,
            &Scope {
                region,
                service: "s3",
                time: now,
            },
        ),
    };
    Presigned {
        url,
        method: "GET",
        headers: BTreeMap::new(),
        expires_at,
    }
}

/// Checks a Worker-mode blob token for `op` at `now`.
///
/// # Errors
/// Invalid signature or shape, expiry, or a token minted for the other operation.
pub fn verify_blob(
    blob_key: &SigningKey,
    token: &str,
    op: BlobOp,
    now: Millis,
) -> Result<BlobClaims, BlobTokenError> {
    let claims: BlobClaims =
        signed::verify(blob_key, token).map_err(|_: SignedError| BlobTokenError::Invalid)?;
    if claims.op != op {
        return Err(BlobTokenError::WrongOperation);
    }
    if now.seconds() >= claims.exp {
        return Err(BlobTokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_800_000_000_000);
    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn key() -> SigningKey {
        SigningKey::derive(b"secret", BLOB_PURPOSE)
    }

    fn spec() -> UploadSpec<'static> {
        UploadSpec {
            key: "u/usr_1/s/upl_1.pdf",
            upload_id: "upl_1",
            size: 42,
            sha256_hex: HASH,
            mime: "application/pdf",
        }
    }

    #[test]
    fn worker_mode_upload_urls_carry_a_verifiable_token() {
        let p = upload(
            &Mode::Worker,
            &key(),
            "http://127.0.0.1:8787/",
            &spec(),
            NOW,
            900,
        );
        assert_eq!(p.method, "PUT");
        assert_eq!(p.headers["content-type"], "application/pdf");
        assert_eq!(p.headers["content-length"], "42");
        assert_eq!(p.expires_at, NOW.plus_seconds(900));
        let token = p
            .url
            .strip_prefix("http://127.0.0.1:8787/v1/blobs/")
            .unwrap();
        let claims = verify_blob(&key(), token, BlobOp::Put, NOW).unwrap();
        assert_eq!(
            (claims.n, claims.h.as_deref(), claims.k.as_str()),
            (Some(42), Some(HASH), "u/usr_1/s/upl_1.pdf")
        );
    }

    #[test]
    fn blob_tokens_expire_and_are_bound_to_their_operation() {
        let p = upload(&Mode::Worker, &key(), "http://x", &spec(), NOW, 900);
        let token = p.url.rsplit('/').next().unwrap();
        assert_eq!(
            verify_blob(&key(), token, BlobOp::Put, NOW.plus_seconds(900)),
            Err(BlobTokenError::Expired)
        );
        assert_eq!(
            verify_blob(&key(), token, BlobOp::Get, NOW),
            Err(BlobTokenError::WrongOperation)
        );
        let other = SigningKey::derive(b"other", BLOB_PURPOSE);
        assert_eq!(
            verify_blob(&other, token, BlobOp::Put, NOW),
            Err(BlobTokenError::Invalid)
        );
    }

    #[test]
    fn s3_mode_signs_length_type_and_checksum() {
        let mode = Mode::S3 {
            endpoint: "https://acc.r2.cloudflarestorage.com".into(),
            bucket: "b".into(),
            region: "auto".into(),
            credentials: Credentials {
                access_key_id: "AK".into(),
                secret_access_key: "SK".into(),
            },
        };
        let p = upload(&mode, &key(), "", &spec(), NOW, 900);
        assert!(
            p.url
                .starts_with("https://acc.r2.cloudflarestorage.com/b/u/usr_1/s/upl_1.pdf?"),
            "{}",
            p.url
        );
        assert!(p.url.contains(
            "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256"
        ));
        assert_eq!(
            p.headers["x-amz-checksum-sha256"],
            "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
        );
    }

    #[test]
    fn hex_hashes_convert_to_base64() {
        assert_eq!(
            sha256_hex_to_base64(HASH),
            "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="
        );
    }
}
