//! CORS (SPEC §6): which browser origins may call the API, and the headers that tell them.
//!
//! Tokens travel in the `Authorization` header, never in cookies, so credentialed requests are
//! not needed: `Access-Control-Allow-Credentials` is never sent, and `*` is never used — only
//! origins on the configured list are echoed back.

/// Local development default: a front end on port 3000.
pub const DEFAULT_ORIGINS: &str = "http://localhost:3000,http://127.0.0.1:3000";
/// Request headers a browser may send (simple headers need no listing); `x-d1-bookmark` carries
/// the client's last D1 bookmark back (`api::replicas`).
pub const ALLOWED_HEADERS: &str = "authorization, content-type, x-d1-bookmark";
/// Response headers a browser script may read besides the simple ones.
pub const EXPOSED_HEADERS: &str = "retry-after, allow, content-range, accept-ranges, x-d1-bookmark";
/// How long a browser may cache a preflight answer (seconds).
pub const MAX_AGE_SECONDS: &str = "600";

/// The allowed origins, normalised (`scheme://host[:port]`, lower case, no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins(Vec<String>);

impl Origins {
    /// A comma-separated list; empty means no browser origin is allowed.
    ///
    /// # Errors
    /// `*`, or an entry that is not `http(s)://host[:port]`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let origin = entry.trim_end_matches('/').to_ascii_lowercase();
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = host.is_some_and(|h| {
                !h.is_empty()
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            });
            if !valid {
                return Err(format!(
                    "each allowed origin must be http(s)://host[:port] (never *), got {entry:?}"
                ));
            }
            origins.push(origin);
        }
        Ok(Self(origins))
    }

    /// The `Origin` header value if it is on the list (compared case-insensitively).
    pub fn allowed<'a>(&self, origin: Option<&'a str>) -> Option<&'a str> {
        origin.filter(|o| self.0.iter().any(|a| a.eq_ignore_ascii_case(o)))
    }
}

/// Headers for an actual (non-preflight) response. `Vary: Origin` always, because the answer
/// depends on the header even when it does not allow it (shared caches must not mix them).
pub fn response_headers(origins: &Origins, origin: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![("vary", "Origin".to_owned())];
    if let Some(origin) = origins.allowed(origin) {
        headers.push(("access-control-allow-origin", origin.to_owned()));
        headers.push(("access-control-expose-headers", EXPOSED_HEADERS.to_owned()));
    }
    headers
}

/// Headers for a preflight (`OPTIONS` with `Access-Control-Request-Method`) to a path that
/// supports `methods`. A disallowed origin or method gets no CORS headers, so the browser stops.
pub fn preflight_headers(
    origins: &Origins,
    origin: Option<&str>,
    requested_method: &str,
    methods: &[&str],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![("vary", "Origin".to_owned())];
    let method_ok = methods
        .iter()
        .any(|m| m.eq_ignore_ascii_case(requested_method.trim()));
    if let (Some(origin), true) = (origins.allowed(origin), method_ok) {
        headers.extend([
            ("access-control-allow-origin", origin.to_owned()),
            ("access-control-allow-methods", methods.join(", ")),
            ("access-control-allow-headers", ALLOWED_HEADERS.to_owned()),
            ("access-control-max-age", MAX_AGE_SECONDS.to_owned()),
        ]);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(headers: &'a [(&str, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_list_is_normalised_and_never_a_wildcard() {
        let o = Origins::parse(" https://App.example.com/ , http://127.0.0.1:3000").unwrap();
        assert_eq!(
            o.allowed(Some("https://app.example.com")),
            Some("https://app.example.com")
        );
        assert_eq!(
            o.allowed(Some("http://127.0.0.1:3000")),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(o.allowed(Some("http://127.0.0.1:3001")), None);
        assert_eq!(o.allowed(Some("https://evil.example.com")), None);
        assert_eq!(o.allowed(None), None);
        for bad in [
            "*",
            "app.example.com",
            "ftp://x",
            "https://x/path",
            "https://",
        ] {
            assert!(Origins::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Origins::parse("").unwrap().allowed(Some("http://x")), None);
        assert!(Origins::parse(DEFAULT_ORIGINS).is_ok());
    }

    #[test]
    fn only_listed_origins_are_echoed_and_credentials_never_allowed() {
        let o = Origins::parse(DEFAULT_ORIGINS).unwrap();
        let yes = response_headers(&o, Some("http://localhost:3000"));
        assert_eq!(
            get(&yes, "access-control-allow-origin"),
            Some("http://localhost:3000")
        );
        assert_eq!(get(&yes, "vary"), Some("Origin"));
        assert!(get(&yes, "access-control-expose-headers")
            .is_some_and(|h| h.contains(crate::api::replicas::HEADER)));
        let no = response_headers(&o, Some("https://evil.example.com"));
        assert_eq!(get(&no, "access-control-allow-origin"), None);
        assert_eq!(get(&no, "vary"), Some("Origin"));
        for h in [&yes, &no] {
            assert!(h
                .iter()
                .all(|(n, v)| *n != "access-control-allow-credentials" && v != "*"));
        }
    }

    #[test]
    fn preflights_answer_for_supported_methods_only() {
        let o = Origins::parse(DEFAULT_ORIGINS).unwrap();
        let ok = preflight_headers(
            &o,
            Some("http://localhost:3000"),
            "PATCH",
            &["GET", "PATCH"],
        );
        assert_eq!(get(&ok, "access-control-allow-methods"), Some("GET, PATCH"));
        assert_eq!(
            get(&ok, "access-control-allow-headers"),
            Some(ALLOWED_HEADERS)
        );
        assert_eq!(get(&ok, "access-control-max-age"), Some("600"));
        assert!(ALLOWED_HEADERS.contains(crate::api::replicas::HEADER));
        let wrong_method = preflight_headers(&o, Some("http://localhost:3000"), "PUT", &["GET"]);
        assert_eq!(get(&wrong_method, "access-control-allow-origin"), None);
        let wrong_origin = preflight_headers(&o, Some("http://localhost:4000"), "GET", &["GET"]);
        assert_eq!(get(&wrong_origin, "access-control-allow-origin"), None);
    }
}
