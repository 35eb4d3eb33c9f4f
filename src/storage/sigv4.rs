//! AWS Signature Version 4: request signing and query-string presigning for S3-compatible
//! storage (R2's S3 endpoint). Pure: credentials and time are passed in.
//!
//! Presigned PUTs sign `host`, `content-type`, `content-length` and `x-amz-checksum-sha256` as
//! headers, so storage refuses a body of another length, type or hash. Output is byte-identical
//! to the AWS SDK for JavaScript's `getSignedUrl` for the same inputs (checked in tests).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::domain::time::Millis;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Static credentials of an R2 API token (or any S3 access key).
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Where and how to sign.
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
    pub time: Millis,
}

impl Scope<'_> {
    /// `YYYYMMDD'T'HHMMSS'Z'`.
    pub fn amz_date(&self) -> String {
        self.time.to_datetime().format("%Y%m%dT%H%M%SZ").to_string()
    }

    fn date(&self) -> String {
        self.time.to_datetime().format("%Y%m%d").to_string()
    }

    /// `date/region/service/aws4_request`.
    pub fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date(),
            self.region,
            self.service
        )
    }
}

/// A request to sign. Header names may be in any case; values are trimmed.
pub struct CanonicalInput<'a> {
    pub method: &'a str,
    /// The path exactly as it goes on the wire (already URI-encoded).
    pub encoded_path: &'a str,
    /// Query parameters, unencoded.
    pub query: &'a [(String, String)],
    /// Headers to sign, unencoded.
    pub headers: &'a [(String, String)],
    pub payload_hash: &'a str,
}

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, everything else is
/// `%XX` in uppercase hex; `/` stays only when `keep_slash` (object key paths).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    crate::domain::hex(bytes)
}

/// Lowercase or uppercase hex → bytes (pairs that are not hex are skipped; callers pass
/// validated hashes).
pub fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; the fallback cannot happen.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The derived signing key for a scope.
pub fn signing_key(secret: &str, scope: &Scope<'_>) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date().as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    hs.sort();
    let canonical = hs
        .iter()
        .map(|(k, v)| format!("{k}:{v}\n"))
        .collect::<String>();
    let signed = hs
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

fn canonical_query(query: &[(String, String)]) -> String {
    let mut q: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    q.sort();
    q.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request, and the signed-headers list.
pub fn canonical_request(input: &CanonicalInput<'_>) -> (String, String) {
    let (headers, signed) = canonical_headers(input.headers);
    let request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        input.encoded_path,
        canonical_query(input.query),
        headers,
        signed,
        input.payload_hash
    );
    (request, signed)
}

pub fn string_to_sign(canonical_request: &str, scope: &Scope<'_>) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        scope.amz_date(),
        scope.credential_scope(),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The hex signature of a canonical input.
pub fn signature(input: &CanonicalInput<'_>, creds: &Credentials, scope: &Scope<'_>) -> String {
    let (request, _) = canonical_request(input);
    let to_sign = string_to_sign(&request, scope);
    hex(&hmac(
        &signing_key(&creds.secret_access_key, scope),
        to_sign.as_bytes(),
    ))
}

/// A presigned S3 request.
pub struct PresignRequest<'a> {
    pub method: &'a str,
    /// `https://host[:port]`, no trailing slash.
    pub endpoint: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    /// Headers the client must send exactly (signed); `host` is added.
    pub headers: Vec<(String, String)>,
    /// The S3 operation name the AWS SDK adds as `x-id` (`PutObject`, `GetObject`).
    pub operation: &'a str,
    pub expires_seconds: u32,
}

/// Builds a presigned URL (path-style) valid for `expires_seconds` from `scope.time`.
pub fn presign(req: &PresignRequest<'_>, creds: &Credentials, scope: &Scope<'_>) -> String {
    let host = req
        .endpoint
        .split_once("://")
        .map_or(req.endpoint, |(_, rest)| rest)
        .trim_end_matches('/');
    let encoded_path = format!(
        "/{}/{}",
        uri_encode(req.bucket, false),
        uri_encode(req.key, true)
    );
    let mut headers = req.headers.clone();
    headers.push(("host".to_owned(), host.to_owned()));
    let (_, signed_headers) = canonical_headers(&headers);
    let mut query = vec![
        ("X-Amz-Algorithm".to_owned(), ALGORITHM.to_owned()),
        (
            "X-Amz-Content-Sha256".to_owned(),
            UNSIGNED_PAYLOAD.to_owned(),
        ),
        (
            "X-Amz-Credential".to_owned(),
            format!("{}/{}", creds.access_key_id, scope.credential_scope()),
        ),
        ("X-Amz-Date".to_owned(), scope.amz_date()),
        ("X-Amz-Expires".to_owned(), req.expires_seconds.to_string()),
        ("X-Amz-SignedHeaders".to_owned(), signed_headers),
        ("x-id".to_owned(), req.operation.to_owned()),
    ];
    let sig = signature(
        &CanonicalInput {
            method: req.method,
            encoded_path: &encoded_path,
            query: &query,
            headers: &headers,
            payload_hash: UNSIGNED_PAYLOAD,
        },
        creds,
        scope,
    );
    query.push(("X-Amz-Signature".to_owned(), sig));
    format!(
        "{}{}?{}",
        req.endpoint.trim_end_matches('/'),
        encoded_path,
        canonical_query(&query)
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Millis {
        Millis(
            chrono::Utc
                .with_ymd_and_hms(y, mo, d, h, mi, s)
                .unwrap()
                .timestamp_millis(),
        )
    }

    fn pairs(xs: &[(&str, &str)]) -> Vec<(String, String)> {
        xs.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// AWS documentation, "Examples of how to derive a signing key for Signature Version 4".
    #[test]
    fn derives_the_documented_signing_key() {
        let scope = Scope {
            region: "us-east-1",
            service: "iam",
            time: at(2012, 2, 15, 0, 0, 0),
        };
        assert_eq!(
            hex(&signing_key(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                &scope
            )),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    /// AWS SigV4 test suite, `get-vanilla`.
    #[test]
    fn signs_the_test_suite_get_vanilla_request() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        };
        let scope = Scope {
            region: "us-east-1",
            service: "service",
            time: at(2015, 8, 30, 12, 36, 0),
        };
        let headers = pairs(&[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]);
        let input = CanonicalInput {
            method: "GET",
            encoded_path: "/",
            query: &[],
            headers: &headers,
            payload_hash: &sha256_hex(b""),
        };
        let (request, signed) = canonical_request(&input);
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(
            sha256_hex(request.as_bytes()),
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            signature(&input, &creds, &scope),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    fn s3_example_creds() -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        }
    }

    fn s3_scope() -> Scope<'static> {
        Scope {
            region: "us-east-1",
            service: "s3",
            time: at(2013, 5, 24, 0, 0, 0),
        }
    }

    /// S3 documentation, "Signature calculation: Transfer payload in a single chunk", GET object.
    #[test]
    fn signs_the_s3_documented_get_object_with_range() {
        let headers = pairs(&[
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            (
                "x-amz-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-amz-date", "20130524T000000Z"),
        ]);
        let input = CanonicalInput {
            method: "GET",
            encoded_path: "/test.txt",
            query: &[],
            headers: &headers,
            payload_hash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        };
        assert_eq!(
            signature(&input, &s3_example_creds(), &s3_scope()),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// S3 documentation, "Authenticating Requests: Using Query Parameters" (presigned GET).
    #[test]
    fn presigns_the_s3_documented_example() {
        let query = pairs(&[
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            (
                "X-Amz-Credential",
                "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
            ),
            ("X-Amz-Date", "20130524T000000Z"),
            ("X-Amz-Expires", "86400"),
            ("X-Amz-SignedHeaders", "host"),
        ]);
        let headers = pairs(&[("host", "examplebucket.s3.amazonaws.com")]);
        let input = CanonicalInput {
            method: "GET",
            encoded_path: "/test.txt",
            query: &query,
            headers: &headers,
            payload_hash: UNSIGNED_PAYLOAD,
        };
        assert_eq!(
            signature(&input, &s3_example_creds(), &s3_scope()),
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    /// Snapshot of the AWS SDK for JavaScript v3 (`getSignedUrl`, client-s3 3.1169.0) for the same
    /// inputs; the live cross-check is `tests/crosscheck.rs`.
    #[test]
    fn presigned_put_matches_the_aws_sdk_snapshot() {
        let url = presign(
            &PresignRequest {
                method: "PUT",
                endpoint: "https://acc123.r2.cloudflarestorage.com",
                bucket: "scoremate-files",
                key: "u/usr_1/s/upl_1.pdf",
                headers: pairs(&[
                    ("content-type", "application/pdf"),
                    ("content-length", "1234"),
                    (
                        "x-amz-checksum-sha256",
                        "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
                    ),
                ]),
                operation: "PutObject",
                expires_seconds: 900,
            },
            &s3_example_creds(),
            &Scope {
                region: "auto",
                service: "s3",
                time: at(2026, 1, 2, 3, 4, 5),
            },
        );
        assert_eq!(url, "https://acc123.r2.cloudflarestorage.com/scoremate-files/u/usr_1/s/upl_1.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260102%2Fauto%2Fs3%2Faws4_request&X-Amz-Date=20260102T030405Z&X-Amz-Expires=900&X-Amz-Signature=b1fd41bea95fe15a938d66afa4e4e296b270dc3be8b38a65ec3fc8a75652c5f8&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256&x-id=PutObject");
    }

    #[test]
    fn presigned_get_matches_the_aws_sdk_snapshot() {
        let url = presign(
            &PresignRequest {
                method: "GET",
                endpoint: "https://acc123.r2.cloudflarestorage.com",
                bucket: "scoremate-files",
                key: "u/usr_1/s/upl_1.pdf",
                headers: Vec::new(),
                operation: "GetObject",
                expires_seconds: 300,
            },
            &s3_example_creds(),
            &Scope {
                region: "auto",
                service: "s3",
                time: at(2026, 1, 2, 3, 4, 5),
            },
        );
        assert!(url.ends_with("X-Amz-Signature=9be292dd881e758ed11d7e2fde432947dba48d20f8f1ee6e0fbf087a091038ce&X-Amz-SignedHeaders=host&x-id=GetObject"), "{url}");
    }

    #[test]
    fn uri_encoding_follows_sigv4() {
        assert_eq!(uri_encode("a b/c~d*é", true), "a%20b/c~d%2A%C3%A9");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }
}
