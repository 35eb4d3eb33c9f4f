//! Deployment settings, parsed once per request from the Worker's vars and secrets.
//!
//! The shell passes a lookup function; parsing is pure. A malformed setting is an operator error
//! reported loudly (500 `SERVER_MISCONFIGURED` plus a log line), never silently defaulted.

use crate::api::cors::{self, Origins};
use crate::auth::jwt::JwtKey;
use crate::domain::rate::Rate;
use crate::error::{ApiError, ApiResult};
use crate::storage::presign::{Mode, BLOB_PURPOSE};
use crate::storage::signed::SigningKey;
use crate::storage::sigv4::Credentials;
use crate::store::paging::CURSOR_PURPOSE;

pub const DEFAULT_ACCESS_TTL_SECONDS: i64 = 15 * 60;
pub const DEFAULT_REFRESH_TTL_SECONDS: i64 = 14 * 24 * 3600;
pub const DEFAULT_QUOTA_BYTES: i64 = 1024 * 1024 * 1024;
pub use crate::domain::score::{DEFAULT_MAX_IMPORT_BYTES, DEFAULT_MAX_UPLOAD_BYTES};
/// Largest PDF loaded whole (a Worker has 128 MB); `pdf_info` reads larger ones by ranges and
/// the thumbnail task refuses them.
pub const DEFAULT_WHOLE_FILE_MAX_BYTES: i64 = 32 * 1024 * 1024;
/// Each version holds two snapshots of every editable field (≤ about 12 KB each): 50 bound a
/// score's history to about a megabyte.
pub const DEFAULT_SCORE_VERSIONS_MAX: i64 = 50;
/// Page images of a score may take twice its PDF's size, and at least this much (a small PDF's
/// pages as PNGs are larger than the PDF).
pub const DEFAULT_DERIVED_MIN_BYTES: i64 = 50 * 1024 * 1024;

/// SPEC §6 defaults: 10 failed logins per 15 min per email, 300 auth requests per minute per IP,
/// 120 upload URLs per minute per user.
pub const DEFAULT_RATE_LOGIN_FAILURES: Rate = Rate::new(10, 900);
pub const DEFAULT_RATE_AUTH_PER_IP: Rate = Rate::new(300, 60);
pub const DEFAULT_RATE_UPLOAD_URLS: Rate = Rate::new(120, 60);
/// Not in the SPEC: a client refreshes every 15 min; 30 a minute is far above honest use.
pub const DEFAULT_RATE_REFRESH_PER_FAMILY: Rate = Rate::new(30, 60);
/// Not in the SPEC: a musician turning pages asks for a few renders a minute, and a band
/// reading a setlist together for a few each; 60 a minute per library bounds the queue work
/// anyone can make a library pay for.
pub const DEFAULT_RATE_RENDERS: Rate = Rate::new(60, 60);
/// Not in the SPEC: an export reads the whole library; 10 new ones an hour per user is far above
/// honest use (one at a time is the rule anyway) and bounds the storage reads anyone can cause.
pub const DEFAULT_RATE_EXPORTS: Rate = Rate::new(10, 3600);

pub struct Config {
    /// `Err` holds the operator-facing reason the JWT secret is unusable.
    jwt_key: Result<JwtKey, String>,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
    pub default_quota_bytes: i64,
    pub max_upload_bytes: i64,
    /// Largest archive uploaded to be imported (`MAX_IMPORT_BYTES`).
    pub max_import_bytes: i64,
    pub whole_file_max_bytes: i64,
    /// How long an upload URL works.
    pub upload_url_ttl_seconds: u32,
    /// After the URL expires, how long `POST /v1/scores` still accepts the upload before the
    /// sweep releases its reservation.
    pub upload_grace_seconds: i64,
    pub download_url_ttl_seconds: u32,
    /// Public origin of the Worker for Worker-mode blob URLs; the request's origin when unset.
    pub public_base_url: Option<String>,
    pub presign: Mode,
    /// HMAC keys derived from the JWT secret, one per purpose.
    pub blob_key: Option<SigningKey>,
    pub cursor_key: Option<SigningKey>,
    pub link_key: Option<SigningKey>,
    pub ticket_key: Option<SigningKey>,
    /// Browser origins allowed by CORS.
    pub cors_origins: Origins,
    /// Failed logins per normalised email (`None`: off).
    pub rate_login_failures: Option<Rate>,
    /// Register, login and refresh requests per client IP.
    pub rate_auth_per_ip: Option<Rate>,
    /// Upload URLs issued per user.
    pub rate_upload_urls: Option<Rate>,
    /// Refreshes per session (token family): a stolen refresh token cannot be spun.
    pub rate_refresh_per_family: Option<Rate>,
    /// New page renders per score owner (whoever asks for them).
    pub rate_renders: Option<Rate>,
    /// New library exports per user.
    pub rate_exports: Option<Rate>,
    /// Metadata versions kept per score; older ones are pruned.
    pub score_versions_max: i64,
    /// Test-only fault injection (`E2E_FAULTS=on`; see `shell::faults`).
    pub e2e_faults: bool,
    /// Test-only: the virtual shard of every new account (`E2E_VSHARD`, two hex digits), so the
    /// e2e suite can put every user in one database instead of where random ids fall.
    pub e2e_vshard: Option<u8>,
    /// Derived images (thumbnail, page images) a score may hold: twice its PDF, or this floor.
    pub derived_min_bytes: i64,
    /// Days a trashed score is kept before the sweep purges it (SPEC §11).
    pub trash_retention_days: i64,
    /// The D1 bindings the virtual shards are spread over (`D1_SHARDS`, comma-separated;
    /// `DB` alone by default; `domain::shard`).
    pub d1_shards: Vec<String>,
}

/// The `D1_SHARDS` list: binding names, at least one, each once.
fn shards(raw: Option<&str>) -> Result<Vec<String>, String> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(vec!["DB".to_owned()]);
    };
    let names: Vec<String> = raw.split(',').map(|n| n.trim().to_owned()).collect();
    let valid =
        |n: &String| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if names.len() > 64 || !names.iter().all(valid) {
        return Err(format!(
            "D1_SHARDS must be 1 to 64 binding names separated by commas, got {raw:?}"
        ));
    }
    if names
        .iter()
        .enumerate()
        .any(|(i, n)| names[..i].contains(n))
    {
        return Err(format!("D1_SHARDS names a binding twice: {raw:?}"));
    }
    Ok(names)
}

impl Config {
    /// Reads every setting through `lookup` (vars and secrets by name).
    ///
    /// # Errors
    /// A message naming the first malformed setting.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let int = |name: &str, default: i64, min: i64, max: i64| -> Result<i64, String> {
            match lookup(name) {
                None => Ok(default),
                Some(raw) => match raw.trim().parse::<i64>() {
                    Ok(v) if (min..=max).contains(&v) => Ok(v),
                    _ => Err(format!(
                        "{name} must be an integer in {min}..={max}, got {raw:?}"
                    )),
                },
            }
        };
        let secret = lookup("JWT_SECRET");
        let jwt_key = match &secret {
            None => Err("JWT_SECRET is not set".to_owned()),
            Some(secret) => JwtKey::from_secret(secret),
        };
        let derived = |purpose: &str| {
            secret
                .as_ref()
                .filter(|_| jwt_key.is_ok())
                .map(|s| SigningKey::derive(s.as_bytes(), purpose))
        };
        let presign = match lookup("PRESIGN_MODE").as_deref().map(str::trim) {
            None | Some("" | "worker") => Mode::Worker,
            Some("s3") => {
                let need = |name: &str| {
                    lookup(name)
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| format!("PRESIGN_MODE=s3 needs {name}"))
                };
                let endpoint = match lookup("S3_ENDPOINT").filter(|v| !v.trim().is_empty()) {
                    Some(e) => e.trim().trim_end_matches('/').to_owned(),
                    None => format!(
                        "https://{}.r2.cloudflarestorage.com",
                        need("R2_ACCOUNT_ID")?.trim()
                    ),
                };
                Mode::S3 {
                    endpoint,
                    bucket: lookup("S3_BUCKET").unwrap_or_else(|| "scoremate-files".to_owned()),
                    region: lookup("S3_REGION").unwrap_or_else(|| "auto".to_owned()),
                    credentials: Credentials {
                        access_key_id: need("S3_ACCESS_KEY_ID")?,
                        secret_access_key: need("S3_SECRET_ACCESS_KEY")?,
                    },
                }
            }
            Some(other) => return Err(format!("PRESIGN_MODE must be worker or s3, got {other:?}")),
        };
        let rate = |name: &str, default: Rate| match lookup(name) {
            None => Ok(Some(default)),
            Some(raw) => Rate::parse(&raw).map_err(|e| format!("{name} {e}")),
        };
        let ttl = |name: &str, default: i64| {
            int(name, default, 10, 7 * 24 * 3600).map(|v| u32::try_from(v).unwrap_or(u32::MAX))
        };
        Ok(Self {
            whole_file_max_bytes: int(
                "WHOLE_FILE_MAX_BYTES",
                DEFAULT_WHOLE_FILE_MAX_BYTES,
                1024,
                96 * 1024 * 1024,
            )?,
            max_upload_bytes: int(
                "MAX_UPLOAD_BYTES",
                DEFAULT_MAX_UPLOAD_BYTES,
                1,
                5 * 1024 * 1024 * 1024,
            )?,
            max_import_bytes: int(
                "MAX_IMPORT_BYTES",
                DEFAULT_MAX_IMPORT_BYTES,
                1,
                5 * 1024 * 1024 * 1024,
            )?,
            upload_url_ttl_seconds: ttl("UPLOAD_URL_TTL_SECONDS", 900)?,
            upload_grace_seconds: int("UPLOAD_GRACE_SECONDS", 3600, 0, 7 * 24 * 3600)?,
            e2e_faults: lookup("E2E_FAULTS").is_some_and(|v| v.trim() == "on"),
            e2e_vshard: lookup("E2E_VSHARD").and_then(|v| u8::from_str_radix(v.trim(), 16).ok()),
            derived_min_bytes: int(
                "DERIVED_MIN_BYTES",
                DEFAULT_DERIVED_MIN_BYTES,
                0,
                10 * 1024 * 1024 * 1024,
            )?,
            trash_retention_days: int("TRASH_RETENTION_DAYS", 30, 1, 3650)?,
            d1_shards: shards(lookup("D1_SHARDS").as_deref())?,
            score_versions_max: int("SCORE_VERSIONS_MAX", DEFAULT_SCORE_VERSIONS_MAX, 1, 1000)?,
            download_url_ttl_seconds: ttl("DOWNLOAD_URL_TTL_SECONDS", 300)?,
            public_base_url: lookup("PUBLIC_BASE_URL").filter(|v| !v.trim().is_empty()),
            presign,
            blob_key: derived(BLOB_PURPOSE),
            cursor_key: derived(CURSOR_PURPOSE),
            link_key: derived(crate::auth::links::LINK_PURPOSE),
            ticket_key: derived(crate::auth::tickets::TICKET_PURPOSE),
            cors_origins: Origins::parse(
                &lookup("CORS_ALLOWED_ORIGINS").unwrap_or_else(|| cors::DEFAULT_ORIGINS.to_owned()),
            )
            .map_err(|e| format!("CORS_ALLOWED_ORIGINS: {e}"))?,
            rate_login_failures: rate("RATE_LOGIN_FAILURES", DEFAULT_RATE_LOGIN_FAILURES)?,
            rate_auth_per_ip: rate("RATE_AUTH_PER_IP", DEFAULT_RATE_AUTH_PER_IP)?,
            rate_upload_urls: rate("RATE_UPLOAD_URLS", DEFAULT_RATE_UPLOAD_URLS)?,
            rate_renders: rate("RATE_RENDERS", DEFAULT_RATE_RENDERS)?,
            rate_exports: rate("RATE_EXPORTS", DEFAULT_RATE_EXPORTS)?,
            rate_refresh_per_family: rate(
                "RATE_REFRESH_PER_FAMILY",
                DEFAULT_RATE_REFRESH_PER_FAMILY,
            )?,
            jwt_key,
            access_ttl_seconds: int(
                "ACCESS_TTL_SECONDS",
                DEFAULT_ACCESS_TTL_SECONDS,
                30,
                24 * 3600,
            )?,
            refresh_ttl_seconds: int(
                "REFRESH_TTL_SECONDS",
                DEFAULT_REFRESH_TTL_SECONDS,
                60,
                365 * 24 * 3600,
            )?,
            default_quota_bytes: int("DEFAULT_QUOTA_BYTES", DEFAULT_QUOTA_BYTES, 0, i64::MAX / 4)?,
        })
    }

    /// The JWT key, or the misconfiguration that stops auth from being served.
    ///
    /// # Errors
    /// 500 `SERVER_MISCONFIGURED` when the secret is missing or short.
    pub fn jwt_key(&self) -> ApiResult<&JwtKey> {
        self.jwt_key
            .as_ref()
            .map_err(|why| ApiError::Misconfigured(why.clone()))
    }

    /// The key for Worker-mode blob tokens.
    ///
    /// # Errors
    /// 500 when the secret is unusable.
    pub fn blob_key(&self) -> ApiResult<&SigningKey> {
        self.jwt_key()?;
        self.blob_key
            .as_ref()
            .ok_or_else(|| ApiError::Misconfigured("no blob key".into()))
    }

    /// The key for list cursors.
    ///
    /// # Errors
    /// 500 when the secret is unusable.
    pub fn cursor_key(&self) -> ApiResult<&SigningKey> {
        self.jwt_key()?;
        self.cursor_key
            .as_ref()
            .ok_or_else(|| ApiError::Misconfigured("no cursor key".into()))
    }

    /// The key for public setlist link tokens.
    ///
    /// # Errors
    /// As [`Config::blob_key`].
    pub fn link_key(&self) -> ApiResult<&SigningKey> {
        self.jwt_key()?;
        self.link_key
            .as_ref()
            .ok_or_else(|| ApiError::Misconfigured("no link key".into()))
    }

    /// The key for live-room tickets.
    ///
    /// # Errors
    /// As [`Config::blob_key`].
    pub fn ticket_key(&self) -> ApiResult<&SigningKey> {
        self.jwt_key()?;
        self.ticket_key
            .as_ref()
            .ok_or_else(|| ApiError::Misconfigured("no ticket key".into()))
    }

    /// Operator-facing problems to surface in `/health` and the log.
    pub fn problems(&self) -> Vec<String> {
        self.jwt_key.as_ref().err().cloned().into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_vars_are_absent() {
        let c = config(&[]).unwrap();
        assert_eq!(c.access_ttl_seconds, 900);
        assert_eq!(c.default_quota_bytes, 1 << 30);
        assert_eq!(c.rate_login_failures, Some(Rate::new(10, 900)));
        assert_eq!(c.rate_auth_per_ip, Some(Rate::new(300, 60)));
        assert_eq!(c.rate_upload_urls, Some(Rate::new(120, 60)));
        assert_eq!(c.rate_exports, Some(Rate::new(10, 3600)));
        assert!(c
            .cors_origins
            .allowed(Some("http://localhost:3000"))
            .is_some());
    }

    #[test]
    fn the_shard_list_defaults_to_db_and_refuses_blanks_and_repeats() {
        assert_eq!(config(&[]).unwrap().d1_shards, ["DB"]);
        assert_eq!(
            config(&[("D1_SHARDS", "DB, DB_1")]).unwrap().d1_shards,
            ["DB", "DB_1"]
        );
        assert!(config(&[("D1_SHARDS", "DB,,DB_1")]).is_err());
        assert!(config(&[("D1_SHARDS", "DB,DB")]).is_err());
        assert!(config(&[("D1_SHARDS", "DB;drop")]).is_err());
    }

    #[test]
    fn rate_and_cors_settings_parse_or_fail_loudly() {
        let c = config(&[("RATE_AUTH_PER_IP", "off"), ("RATE_UPLOAD_URLS", "5/10")]).unwrap();
        assert_eq!(c.rate_auth_per_ip, None);
        assert_eq!(c.rate_upload_urls, Some(Rate::new(5, 10)));
        assert!(config(&[("RATE_LOGIN_FAILURES", "lots")])
            .err()
            .unwrap()
            .contains("RATE_LOGIN_FAILURES"));
        assert!(config(&[("CORS_ALLOWED_ORIGINS", "*")])
            .err()
            .unwrap()
            .contains("CORS_ALLOWED_ORIGINS"));
    }

    #[test]
    fn a_missing_or_short_secret_disables_auth_with_a_reason() {
        let c = config(&[]).unwrap();
        assert_eq!(c.jwt_key().err().unwrap().status(), 500);
        assert_eq!(c.problems(), vec!["JWT_SECRET is not set".to_owned()]);
        let c = config(&[("JWT_SECRET", "short")]).unwrap();
        assert!(c.problems()[0].contains("at least 32"));
    }

    #[test]
    fn malformed_numbers_are_reported_not_defaulted() {
        let err = config(&[("ACCESS_TTL_SECONDS", "fifteen")]).err().unwrap();
        assert!(err.contains("ACCESS_TTL_SECONDS"), "{err}");
        assert!(config(&[("DEFAULT_QUOTA_BYTES", "-1")]).is_err());
    }

    #[test]
    fn presign_mode_defaults_to_worker_and_s3_needs_credentials() {
        assert!(matches!(config(&[]).unwrap().presign, Mode::Worker));
        let err = config(&[("PRESIGN_MODE", "s3"), ("R2_ACCOUNT_ID", "abc")])
            .err()
            .unwrap();
        assert!(err.contains("S3_ACCESS_KEY_ID"), "{err}");
        let c = config(&[
            ("PRESIGN_MODE", "s3"),
            ("R2_ACCOUNT_ID", "abc"),
            ("S3_ACCESS_KEY_ID", "k"),
            ("S3_SECRET_ACCESS_KEY", "s"),
        ])
        .unwrap();
        let Mode::S3 {
            endpoint, region, ..
        } = c.presign
        else {
            panic!()
        };
        assert_eq!(
            (endpoint.as_str(), region.as_str()),
            ("https://abc.r2.cloudflarestorage.com", "auto")
        );
        assert!(config(&[("PRESIGN_MODE", "ftp")]).is_err());
    }

    #[test]
    fn derived_keys_exist_only_with_a_good_secret() {
        assert!(config(&[]).unwrap().blob_key().is_err());
        let c = config(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef")]).unwrap();
        assert!(c.blob_key().is_ok() && c.cursor_key().is_ok());
    }
}
