//! The one error type of the API and its JSON envelope (SPEC §6).
//!
//! Every failure a client can see is an [`ApiError`]; the shell turns it into a response in one
//! place (`shell::respond`). Internal causes travel inside [`ApiError::Internal`] so they can be
//! logged, and never reach the client.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// Per-field validation messages, keyed by the JSON field name (dotted for nested fields).
pub type FieldErrors = BTreeMap<String, String>;

/// Every error the API answers with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    #[error("quota exceeded")]
    QuotaExceeded {
        quota_bytes: i64,
        used_bytes: i64,
        reserved_bytes: i64,
        requested_bytes: i64,
    },
    /// Missing, malformed, forged, expired or revoked token (E002).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// Wrong email or password; both look the same on purpose.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("not found")]
    NotFound,
    /// The request body's media type is not the one required (E004, 415); the text says what is.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(&'static str),
    /// Uploaded bytes differ from what was declared (E004, 400).
    #[error("content mismatch: {0}")]
    ContentMismatch(String),
    #[error("storage failure: {0}")]
    Storage(String),
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("validation failed")]
    Validation(FieldErrors),
    /// A uniqueness or state conflict; `code` is specific (`EMAIL_TAKEN`, …), `extra` is merged
    /// into the envelope's top level (for example `score_id` on a dedupe hit).
    #[error("conflict: {message}")]
    Conflict {
        code: &'static str,
        message: String,
        extra: Map<String, Value>,
    },
    #[error("rate limited")]
    RateLimited { retry_after_seconds: u64 },
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<&'static str> },
    #[error("payload too large")]
    PayloadTooLarge { limit_bytes: u64 },
    /// An HTTP Range beyond the object (416, with `Content-Range: bytes */size`).
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// A WebSocket route asked without `Upgrade: websocket` (426).
    #[error("upgrade required")]
    UpgradeRequired,
    /// A capacity limit that frees up by itself (a full live room; 503).
    #[error("unavailable: {0}")]
    Unavailable(&'static str),
    /// The deployment is missing a setting it needs (for example the JWT secret).
    #[error("server misconfigured: {0}")]
    Misconfigured(String),
    /// Anything unexpected. The cause is logged, the client sees an opaque message.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A validation error on one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(name.to_owned(), message.into());
        Self::Validation(fields)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::QuotaExceeded { .. } | Self::PayloadTooLarge { .. } => 413,
            Self::InvalidToken(_) | Self::InvalidCredentials => 401,
            Self::NotFound => 404,
            Self::UnsupportedMediaType(_) => 415,
            Self::ContentMismatch(_) | Self::BadRequest(_) => 400,
            Self::Storage(_) => 502,
            Self::Forbidden(_) => 403,
            Self::Validation(_) => 422,
            Self::Conflict { .. } => 409,
            Self::RateLimited { .. } => 429,
            Self::MethodNotAllowed { .. } => 405,
            Self::RangeNotSatisfiable { .. } => 416,
            Self::UpgradeRequired => 426,
            Self::Unavailable(_) => 503,
            Self::Misconfigured(_) | Self::Internal(_) => 500,
        }
    }

    /// `(code, id)` as published in the envelope.
    pub fn code_and_id(&self) -> (&'static str, &'static str) {
        match self {
            Self::QuotaExceeded { .. } => ("QUOTA_EXCEEDED", "E001"),
            Self::InvalidToken(_) => ("INVALID_TOKEN", "E002"),
            Self::InvalidCredentials => ("INVALID_CREDENTIALS", "E002"),
            Self::NotFound => ("NOT_FOUND", "E003"),
            Self::UnsupportedMediaType(_) => ("UNSUPPORTED_MEDIA_TYPE", "E004"),
            Self::ContentMismatch(_) => ("CONTENT_MISMATCH", "E004"),
            Self::Storage(_) => ("STORAGE_FAILURE", "E005"),
            Self::Forbidden(_) => ("FORBIDDEN", "E006"),
            Self::Validation(_) => ("VALIDATION_FAILED", "E007"),
            Self::Conflict { code, .. } => (code, "E008"),
            Self::RateLimited { .. } => ("RATE_LIMITED", "E009"),
            Self::BadRequest(_) => ("BAD_REQUEST", "E010"),
            Self::MethodNotAllowed { .. } => ("METHOD_NOT_ALLOWED", "E011"),
            Self::PayloadTooLarge { .. } => ("PAYLOAD_TOO_LARGE", "E012"),
            Self::RangeNotSatisfiable { .. } => ("RANGE_NOT_SATISFIABLE", "E013"),
            Self::UpgradeRequired => ("UPGRADE_REQUIRED", "E014"),
            Self::Unavailable(_) => ("UNAVAILABLE", "E015"),
            Self::Misconfigured(_) => ("SERVER_MISCONFIGURED", "E000"),
            Self::Internal(_) => ("INTERNAL", "E000"),
        }
    }

    /// The message shown to clients: specific where that helps them, opaque for internal causes.
    fn public_message(&self) -> String {
        match self {
            Self::QuotaExceeded { .. } => "storage quota exceeded".into(),
            Self::InvalidToken(why) => format!("invalid or expired token: {why}"),
            Self::InvalidCredentials => "invalid email or password".into(),
            Self::NotFound => "not found".into(),
            Self::UnsupportedMediaType(what) => (*what).into(),
            Self::ContentMismatch(why) => why.clone(),
            Self::Storage(_) => "storage is unavailable, try again".into(),
            Self::Forbidden(why) | Self::Unavailable(why) => (*why).into(),
            Self::UpgradeRequired => "open this URL as a WebSocket (Upgrade: websocket)".into(),
            Self::Validation(_) => "some fields are invalid".into(),
            Self::Conflict { message, .. } => message.clone(),
            Self::RateLimited { .. } => "too many requests, slow down".into(),
            Self::BadRequest(why) => why.clone(),
            Self::MethodNotAllowed { .. } => "method not allowed on this resource".into(),
            Self::PayloadTooLarge { limit_bytes } => {
                format!("request body exceeds {limit_bytes} bytes")
            }
            Self::RangeNotSatisfiable { size } => {
                format!("the range is outside the {size}-byte object")
            }
            Self::Misconfigured(_) => "the server is misconfigured".into(),
            Self::Internal(_) => "internal error".into(),
        }
    }

    /// Whether the cause must be logged (the client only sees an opaque message).
    pub fn is_server_fault(&self) -> bool {
        self.status() >= 500
    }

    /// Extra response headers this error requires (`Retry-After`, `Allow`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::RateLimited {
                retry_after_seconds,
            } => vec![("retry-after", retry_after_seconds.to_string())],
            Self::MethodNotAllowed { allow } => vec![("allow", allow.join(", "))],
            Self::RangeNotSatisfiable { size } => {
                vec![("content-range", format!("bytes */{size}"))]
            }
            _ => Vec::new(),
        }
    }

    /// The JSON envelope: `{"error": {"code", "id", "message", "fields"}, …extra}`.
    pub fn envelope(&self) -> Value {
        let (code, id) = self.code_and_id();
        let fields = match self {
            Self::Validation(fields) => json!(fields),
            _ => json!({}),
        };
        let mut error = json!({
            "code": code,
            "id": id,
            "message": self.public_message(),
            "fields": fields,
        });
        if let Self::QuotaExceeded {
            quota_bytes,
            used_bytes,
            reserved_bytes,
            requested_bytes,
        } = self
        {
            error["quota_bytes"] = json!(quota_bytes);
            error["used_bytes"] = json!(used_bytes);
            error["reserved_bytes"] = json!(reserved_bytes);
            error["requested_bytes"] = json!(requested_bytes);
        }
        if let Self::RateLimited {
            retry_after_seconds,
        } = self
        {
            error["retry_after"] = json!(retry_after_seconds);
        }
        let mut body = Map::new();
        body.insert("error".into(), error);
        if let Self::Conflict { extra, .. } = self {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        Value::Object(body)
    }
}

impl From<FieldErrors> for ApiError {
    fn from(fields: FieldErrors) -> Self {
        Self::Validation(fields)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_carry_per_field_messages() {
        let err = ApiError::field("email", "must be an email address");
        let body = err.envelope();
        assert_eq!(err.status(), 422);
        assert_eq!(body["error"]["code"], "VALIDATION_FAILED");
        assert_eq!(body["error"]["fields"]["email"], "must be an email address");
    }

    #[test]
    fn internal_causes_never_reach_the_envelope() {
        let err = ApiError::internal("D1_ERROR: no such table: users");
        let text = err.envelope().to_string();
        assert_eq!(err.status(), 500);
        assert!(!text.contains("no such table"), "{text}");
        assert!(err.is_server_fault());
    }

    #[test]
    fn conflict_extras_sit_beside_the_error_object() {
        let mut extra = Map::new();
        extra.insert("score_id".into(), json!("sco_1"));
        let err = ApiError::Conflict {
            code: "DUPLICATE_SCORE",
            message: "you already own this file".into(),
            extra,
        };
        let body = err.envelope();
        assert_eq!(body["score_id"], "sco_1");
        assert_eq!(body["error"]["id"], "E008");
    }

    #[test]
    fn rate_limits_say_when_to_come_back() {
        let err = ApiError::RateLimited {
            retry_after_seconds: 42,
        };
        assert_eq!(err.status(), 429);
        assert_eq!(err.headers(), vec![("retry-after", "42".to_owned())]);
    }

    #[test]
    fn every_spec_code_has_its_published_id_and_status() {
        let cases = [
            (
                ApiError::QuotaExceeded {
                    quota_bytes: 1,
                    used_bytes: 1,
                    reserved_bytes: 0,
                    requested_bytes: 1,
                },
                "E001",
                413,
            ),
            (ApiError::InvalidToken("expired"), "E002", 401),
            (ApiError::NotFound, "E003", 404),
            (ApiError::UnsupportedMediaType("x"), "E004", 415),
            (ApiError::ContentMismatch("x".into()), "E004", 400),
            (ApiError::Storage("x".into()), "E005", 502),
            (ApiError::Forbidden("x"), "E006", 403),
        ];
        for (err, id, status) in cases {
            assert_eq!(err.code_and_id().1, id, "{err:?}");
            assert_eq!(err.status(), status, "{err:?}");
        }
    }
}
