//! Cross-checks of the S3 presigner against independent implementations:
//! - the AWS SDK for JavaScript v3 (`getSignedUrl`), byte for byte, on many inputs;
//! - a real S3-compatible server (`s3s-fs`, which verifies SigV4), accepting the signed upload
//!   and refusing one with another length, type or hash.
//!
//! Both tools are installed by `scripts/setup.sh`; these tests fail (not skip) without them.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scoremate::domain::time::Millis;
use scoremate::storage::presign::{self, Mode, UploadSpec};
use scoremate::storage::signed::SigningKey;
use scoremate::storage::sigv4::{self, sha256_hex, Credentials, PresignRequest, Scope};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn creds() -> Credentials {
    Credentials {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
    }
}

/// The AWS SDK's URL for one input (see tests/crosscheck/aws-presign.mjs).
fn sdk_url(input: &serde_json::Value) -> String {
    let script = root().join("tests/crosscheck/aws-presign.mjs");
    assert!(
        root()
            .join("node_modules/@aws-sdk/s3-request-presigner")
            .exists(),
        "the AWS SDK is missing: run scripts/setup.sh"
    );
    let out = Command::new("node")
        .arg(&script)
        .arg(input.to_string())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn presigned_urls_are_byte_identical_to_the_aws_sdk() {
    let cases = [
        (
            "u/usr_1/s/upl_1.pdf",
            1_u64,
            "2026-01-02T03:04:05Z",
            900_u32,
            "https://acc123.r2.cloudflarestorage.com",
            "auto",
        ),
        (
            "u/usr_ab/s/upl_cd.pdf",
            104_857_600,
            "2030-12-31T23:59:59Z",
            60,
            "https://f00.r2.cloudflarestorage.com",
            "auto",
        ),
        (
            "weird key/with spaces+plus&amp=é~.pdf",
            12_345,
            "2024-02-29T12:00:00Z",
            604_800,
            "http://127.0.0.1:9000",
            "us-east-1",
        ),
    ];
    for (key, size, date, ttl, endpoint, region) in cases {
        let time = Millis(
            chrono::DateTime::parse_from_rfc3339(date)
                .unwrap()
                .timestamp_millis(),
        );
        let hash = sha256_hex(key.as_bytes());
        let mode = Mode::S3 {
            endpoint: endpoint.into(),
            bucket: "scoremate-files".into(),
            region: region.into(),
            credentials: creds(),
        };
        let ours = presign::upload(
            &mode,
            &SigningKey::derive(b"unused", "unused"),
            "",
            &UploadSpec {
                key,
                upload_id: "upl",
                size,
                sha256_hex: &hash,
                mime: "application/pdf",
            },
            time,
            ttl,
        );
        let theirs = sdk_url(&serde_json::json!({
            "method": "PUT", "endpoint": endpoint, "bucket": "scoremate-files", "key": key,
            "access_key_id": creds().access_key_id, "secret_access_key": creds().secret_access_key,
            "region": region, "content_type": "application/pdf", "content_length": size,
            "checksum_sha256_b64": presign::sha256_hex_to_base64(&hash),
            "signing_date": date, "expires_in": ttl,
        }));
        assert_eq!(ours.url, theirs, "PUT {key}");
        let ours_get = presign::download(
            &mode,
            &SigningKey::derive(b"x", "x"),
            "",
            key,
            "application/pdf",
            time,
            ttl,
        );
        let theirs_get = sdk_url(&serde_json::json!({
            "method": "GET", "endpoint": endpoint, "bucket": "scoremate-files", "key": key,
            "access_key_id": creds().access_key_id, "secret_access_key": creds().secret_access_key,
            "region": region, "signing_date": date, "expires_in": ttl,
        }));
        assert_eq!(ours_get.url, theirs_get, "GET {key}");
    }
}

/// A running s3s-fs on a free loopback port, killed on drop.
struct S3Server {
    child: Child,
    endpoint: String,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3s(bucket: &str) -> S3Server {
    let bin = root().join(".tools/bin/s3s-fs");
    assert!(bin.exists(), "s3s-fs is missing: run scripts/setup.sh");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("scoremate-s3s-{}-{port}", std::process::id()));
    std::fs::create_dir_all(dir.join(bucket)).unwrap();
    let child = Command::new(&bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--access-key",
            &creds().access_key_id,
            "--secret-key",
            &creds().secret_access_key,
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("s3s-fs starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    S3Server {
        child,
        endpoint,
        _dir: TempDir(dir),
    }
}

fn put(url: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let mut req = ureq::put(url);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    match req.send(body) {
        Ok(res) => res.status().as_u16(),
        Err(ureq::Error::StatusCode(code)) => code,
        Err(e) => panic!("PUT failed: {e}"),
    }
}

fn signed_put(
    server: &S3Server,
    key: &str,
    size: usize,
    hash_hex: &str,
    now: Millis,
) -> (String, Vec<(&'static str, String)>) {
    let mode = Mode::S3 {
        endpoint: server.endpoint.clone(),
        bucket: "scores".into(),
        region: "us-east-1".into(),
        credentials: creds(),
    };
    let p = presign::upload(
        &mode,
        &SigningKey::derive(b"x", "x"),
        "",
        &UploadSpec {
            key,
            upload_id: "upl",
            size: size as u64,
            sha256_hex: hash_hex,
            mime: "application/pdf",
        },
        now,
        900,
    );
    let headers = p
        .headers
        .iter()
        .filter(|(k, _)| k.as_str() != "content-length") // ureq sets it from the body
        .map(|(k, v)| {
            (
                if k == "content-type" {
                    "content-type"
                } else {
                    "x-amz-checksum-sha256"
                },
                v.clone(),
            )
        })
        .collect();
    (p.url, headers)
}

fn now() -> Millis {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Millis(i64::try_from(since.as_millis()).unwrap())
}

fn object_path(server: &S3Server, key: &str) -> PathBuf {
    server._dir.0.join("scores").join(key)
}

#[test]
fn a_real_s3_server_accepts_the_signed_upload_and_refuses_any_other_body() {
    let server = start_s3s("scores");
    let body = b"%PDF-1.7\n% a small score\n%%EOF\n".to_vec();
    let hash = sha256_hex(&body);

    // The declared body goes through and reads back through a presigned GET.
    let (url, headers) = signed_put(&server, "u/a/s/ok.pdf", body.len(), &hash, now());
    assert_eq!(put(&url, &headers, &body), 200);
    assert_eq!(
        std::fs::read(object_path(&server, "u/a/s/ok.pdf")).unwrap(),
        body
    );
    let get = sigv4::presign(
        &PresignRequest {
            method: "GET",
            endpoint: &server.endpoint,
            bucket: "scores",
            key: "u/a/s/ok.pdf",
            headers: Vec::new(),
            operation: "GetObject",
            expires_seconds: 60,
        },
        &creds(),
        &Scope {
            region: "us-east-1",
            service: "s3",
            time: now(),
        },
    );
    let mut read = Vec::new();
    ureq::get(&get)
        .call()
        .unwrap()
        .into_body()
        .into_reader()
        .read_to_end(&mut read)
        .unwrap();
    assert_eq!(read, body);

    // Another length: the signature covers content-length.
    let (url, headers) = signed_put(&server, "u/a/s/len.pdf", body.len(), &hash, now());
    let mut longer = body.clone();
    longer.extend_from_slice(b"extra");
    assert_ne!(put(&url, &headers, &longer), 200);
    assert!(!object_path(&server, "u/a/s/len.pdf").exists());

    // Another content type.
    let (url, mut headers) = signed_put(&server, "u/a/s/type.pdf", body.len(), &hash, now());
    headers[0].1 = "text/plain".into();
    assert_ne!(put(&url, &headers, &body), 200);
    assert!(!object_path(&server, "u/a/s/type.pdf").exists());

    // Another body of the same length: the signed checksum does not match.
    let (url, headers) = signed_put(&server, "u/a/s/hash.pdf", body.len(), &hash, now());
    let mut other = body.clone();
    other[10] ^= 1;
    // 400 BadDigest. (s3s-fs, unlike R2, may leave its partial file behind; the status is what
    // proves the server checked the signed checksum against the body.)
    assert_eq!(put(&url, &headers, &other), 400);

    // A tampered signature.
    let (url, headers) = signed_put(&server, "u/a/s/sig.pdf", body.len(), &hash, now());
    let tampered = {
        let i = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
        let mut t = url.clone();
        let c = if &url[i..=i] == "a" { "b" } else { "a" };
        t.replace_range(i..=i, c);
        t
    };
    assert_ne!(put(&tampered, &headers, &body), 200);

    // An expired URL.
    let (url, headers) = signed_put(
        &server,
        "u/a/s/old.pdf",
        body.len(),
        &hash,
        Millis(now().0 - 3600 * 1000),
    );
    assert_ne!(put(&url, &headers, &body), 200);
}
