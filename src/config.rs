//! Deployment settings, parsed once per request from the Worker's vars and secrets.
//!
//! The shell passes a lookup function; parsing is pure. A malformed setting is an operator error
//! reported loudly (500 `SERVER_MISCONFIGURED` plus a log line), never silently defaulted.

use crate::auth::jwt::JwtKey;
use crate::error::{ApiError, ApiResult};

pub const DEFAULT_ACCESS_TTL_SECONDS: i64 = 15 * 60;
pub const DEFAULT_REFRESH_TTL_SECONDS: i64 = 14 * 24 * 3600;
pub const DEFAULT_QUOTA_BYTES: i64 = 1024 * 1024 * 1024;

pub struct Config {
    /// `Err` holds the operator-facing reason the JWT secret is unusable.
    jwt_key: Result<JwtKey, String>,
    pub access_ttl_seconds: i64,
    pub refresh_ttl_seconds: i64,
    pub default_quota_bytes: i64,
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
        let jwt_key = match lookup("JWT_SECRET") {
            None => Err("JWT_SECRET is not set".to_owned()),
            Some(secret) => JwtKey::from_secret(&secret),
        };
        Ok(Self {
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
}
