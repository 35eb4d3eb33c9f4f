//! Rate limits (SPEC §6) as fixed windows counted in D1: which bucket a request falls into, when
//! its window started, and whether a count is over the limit. Counting is one SQL upsert
//! (`store::limits::hit`); this module is only the arithmetic, so it is tested natively.

use sha2::{Digest, Sha256};

use crate::domain::hex;
use crate::domain::time::Millis;
use crate::error::{ApiError, ApiResult};

/// At most `limit` events per `period_seconds` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: u32,
    pub period_seconds: i64,
}

impl Rate {
    pub const fn new(limit: u32, period_seconds: i64) -> Self {
        Self {
            limit,
            period_seconds,
        }
    }

    /// `"10/900"` (10 per 900 s) or `"off"`.
    ///
    /// # Errors
    /// A message saying what the setting must look like.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let parsed = raw
            .split_once('/')
            .and_then(|(n, s)| Some(Self::new(n.trim().parse().ok()?, s.trim().parse().ok()?)));
        match parsed {
            Some(rate) if rate.limit >= 1 && (1..=86_400).contains(&rate.period_seconds) => {
                Ok(Some(rate))
            }
            _ => Err(format!(
                "must be LIMIT/SECONDS (limit ≥ 1, 1..=86400 s) or off, got {raw:?}"
            )),
        }
    }
}

/// One counter: the bucket a request falls into during the current window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub bucket: String,
    /// Unix seconds at which the window began.
    pub start: i64,
    rate: Rate,
    now: i64,
}

impl Window {
    /// The window of `kind` (what is limited) for `subject` (who: an IP, a user id, a hash).
    /// The period is part of the bucket so that changing a setting starts fresh counts.
    pub fn new(kind: &str, subject: &str, rate: Rate, now: Millis) -> Self {
        let now = now.seconds();
        Self {
            bucket: format!("{kind}:{}:{subject}", rate.period_seconds),
            start: now - now.rem_euclid(rate.period_seconds),
            rate,
            now,
        }
    }

    /// Whether `hits` (the count including this request, for counters that count every request;
    /// the count so far for those that count failures) is still allowed.
    ///
    /// # Errors
    /// 429 with `Retry-After` set to the seconds left in this window.
    pub fn check(&self, hits: i64) -> ApiResult<()> {
        if hits <= i64::from(self.rate.limit) {
            return Ok(());
        }
        let left = self.start + self.rate.period_seconds - self.now;
        Err(ApiError::RateLimited {
            retry_after_seconds: u64::try_from(left.max(1)).unwrap_or(1),
        })
    }

    /// Windows that ended before this time can be deleted.
    pub fn stale_before(now: Millis) -> i64 {
        now.seconds() - 86_400
    }
}

/// The subject for per-email counters: a hash of the normalised address, so the counter table
/// holds no addresses, and unknown emails count exactly like known ones (no existence oracle).
pub fn email_subject(normalised_email: &str) -> String {
    hex(&Sha256::digest(normalised_email.as_bytes())[..16])
}

/// The subject for per-IP counters. An IPv6 client is counted by its /64: one subscriber is
/// usually given a whole /64, so per-address counting would hand it 2^64 buckets. IPv4-mapped
/// IPv6 addresses count as the IPv4 address. A request without an address (only possible
/// outside Cloudflare) shares one bucket rather than escaping the limit.
pub fn ip_subject(connecting_ip: Option<&str>) -> String {
    let Some(raw) = connecting_ip
        .map(str::trim)
        .filter(|ip| !ip.is_empty() && ip.len() <= 64)
    else {
        return "unknown".into();
    };
    match raw.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
        // Not an address (never from Cloudflare): counted as given.
        Err(_) => raw.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = ip_subject(Some("2001:db8:1:2:aaaa:bbbb:cccc:1"));
        let b = ip_subject(Some("2001:0db8:0001:0002:ffff:0:0:9"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, ip_subject(Some("2001:db8:1:3::1")));
        assert_eq!(ip_subject(Some("::ffff:192.0.2.7")), "192.0.2.7");
    }

    #[test]
    fn settings_parse_or_say_what_is_wrong() {
        assert_eq!(Rate::parse("10/900"), Ok(Some(Rate::new(10, 900))));
        assert_eq!(Rate::parse(" 300 / 60 "), Ok(Some(Rate::new(300, 60))));
        assert_eq!(Rate::parse("OFF"), Ok(None));
        for bad in [
            "",
            "10",
            "0/60",
            "10/0",
            "-1/60",
            "10/100000",
            "ten/60",
            "*",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_aligned_and_retry_after_counts_down_to_the_next() {
        let rate = Rate::new(2, 60);
        let w = Window::new("auth", "10.0.0.1", rate, Millis(125_500));
        assert_eq!(w.bucket, "auth:60:10.0.0.1");
        assert_eq!(w.start, 120);
        assert!(w.check(1).is_ok());
        assert!(w.check(2).is_ok());
        match w.check(3) {
            Err(ApiError::RateLimited {
                retry_after_seconds,
            }) => assert_eq!(retry_after_seconds, 55),
            other => panic!("{other:?}"),
        }
        let last_second = Window::new("auth", "x", rate, Millis(179_999));
        assert!(matches!(
            last_second.check(9),
            Err(ApiError::RateLimited {
                retry_after_seconds: 1
            })
        ));
        assert_eq!(Window::new("auth", "x", rate, Millis(180_000)).start, 180);
    }

    #[test]
    fn subjects_hide_emails_and_never_escape_by_omission() {
        let a = email_subject("ann@example.com");
        assert_eq!(a.len(), 32);
        assert!(!a.contains("ann"));
        assert_ne!(a, email_subject("bob@example.com"));
        assert_eq!(ip_subject(None), "unknown");
        assert_eq!(ip_subject(Some("  ")), "unknown");
        assert_eq!(ip_subject(Some("2001:DB8::1")), "2001:db8::/64");
        assert_eq!(ip_subject(Some(" 203.0.113.9 ")), "203.0.113.9");
    }
}
