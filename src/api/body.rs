//! Request-body rules of SPEC §6: JSON only, bounded size, well-formed.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// JSON bodies above this size answer 413.
pub const MAX_JSON_BODY_BYTES: u64 = 1024 * 1024;

/// Decides, before reading a body, whether it may be read at all.
///
/// `content_length` is the declared length (absent for chunked bodies, which are then bounded
/// while reading); `content_type` is the raw header.
///
/// # Errors
/// 413 when the declared length is over the limit, 415 when a body is not declared JSON.
pub fn precheck(
    content_length: Option<u64>,
    content_type: Option<&str>,
    chunked: bool,
) -> ApiResult<()> {
    if let Some(len) = content_length {
        if len > MAX_JSON_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit_bytes: MAX_JSON_BODY_BYTES,
            });
        }
    }
    let has_body = chunked || content_length.is_some_and(|len| len > 0);
    if has_body && !is_json(content_type) {
        return Err(ApiError::UnsupportedMediaType(
            "request bodies must be application/json",
        ));
    }
    Ok(())
}

/// `application/json`, with optional parameters (`; charset=utf-8`), case-insensitive.
pub fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    })
}

/// Parses a body already read. An empty body (nothing, or only JSON white space) reads as `{}` so
/// that missing fields are reported field by field rather than as a syntax error; any other
/// byte that is not JSON (a form feed, say) is malformed.
///
/// # Errors
/// 400 for malformed JSON or invalid UTF-8, 422 for JSON that is not an object.
pub fn parse_object(bytes: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
    if bytes
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::field("body", "must be a JSON object")),
        Err(e) => Err(ApiError::BadRequest(format!(
            "malformed JSON at line {}, column {}",
            e.line(),
            e.column()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_without_json_type_is_415() {
        assert_eq!(
            precheck(Some(5), Some("text/plain"), false),
            Err(ApiError::UnsupportedMediaType(
                "request bodies must be application/json"
            ))
        );
        assert_eq!(
            precheck(Some(5), None, false),
            Err(ApiError::UnsupportedMediaType(
                "request bodies must be application/json"
            ))
        );
        assert_eq!(
            precheck(None, None, true),
            Err(ApiError::UnsupportedMediaType(
                "request bodies must be application/json"
            ))
        );
    }

    #[test]
    fn bodyless_calls_need_no_type() {
        assert_eq!(precheck(None, None, false), Ok(()));
        assert_eq!(precheck(Some(0), None, false), Ok(()));
    }

    #[test]
    fn json_with_parameters_is_accepted() {
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("application/jsonp")));
    }

    #[test]
    fn declared_oversize_is_413() {
        let err = precheck(
            Some(MAX_JSON_BODY_BYTES + 1),
            Some("application/json"),
            false,
        )
        .unwrap_err();
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn malformed_json_is_400_and_non_objects_are_422() {
        assert_eq!(parse_object(b"{\"a\":").unwrap_err().status(), 400);
        assert_eq!(parse_object(&[0xff, 0xfe]).unwrap_err().status(), 400);
        assert_eq!(parse_object(b"[1,2]").unwrap_err().status(), 422);
        assert!(parse_object(b"  ").unwrap().is_empty());
    }
}
