//! Annotation layers (SPEC §10): ink and text kept beside a PDF, never inside it. A layer is a
//! client's JSON document under a name; this module says which names and documents are
//! accepted. Versions, sharing and quota are the use case's (`service::annotations`).

use serde_json::{Map, Value};

use crate::domain::fields::Fields;
use crate::error::ApiError;

/// A layer's document, as JSON text, at most this long (SPEC §10).
pub const DATA_MAX_BYTES: usize = 512 * 1024;
/// Layer names: `[a-z0-9-]{1,40}`.
pub const LAYER_MAX_CHARS: usize = 40;
/// Layers one user keeps on one score or item: enough for every pen of a busy part, and a
/// bound on what one list answers (× 512 KiB).
pub const LAYERS_MAX: usize = 20;

/// Whether `name` is a layer name (`[a-z0-9-]{1,40}`).
pub fn is_layer_name(name: &str) -> bool {
    (1..=LAYER_MAX_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `PUT …/annotations/{layer}`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutLayer {
    /// The document as compact JSON text (what is stored and counted).
    pub data: String,
    /// The version the client last saw; `None`: the layer must not exist yet.
    pub expected: Option<i64>,
    /// `None` keeps what the layer had (private for a new one).
    pub shared: Option<bool>,
}

impl PutLayer {
    /// Reads the body; `may_share` is false on an item (a member's own layer is private).
    ///
    /// # Errors
    /// 422 per field; 413 when the document is over [`DATA_MAX_BYTES`].
    pub fn read(body: Map<String, Value>, may_share: bool) -> Result<Self, ApiError> {
        let mut f = Fields::new(body, &["data", "version", "shared"]);
        let data = match f.opt_value("data") {
            Some(Value::Object(doc)) => Some(Value::Object(doc).to_string()),
            Some(_) => {
                f.error("data", "must be a JSON object");
                None
            }
            None => {
                f.error("data", "is required");
                None
            }
        };
        let expected = if f.present("version") && f.opt_value("version").is_some() {
            match f.int("version") {
                Some(v) if v >= 1 => Some(v),
                Some(_) => {
                    f.error("version", "must be at least 1");
                    None
                }
                None => None,
            }
        } else {
            None
        };
        let shared = match f.opt_value("shared") {
            None => None,
            Some(Value::Bool(_)) if !may_share => {
                f.error(
                    "shared",
                    "a layer on a setlist item is private to its author",
                );
                None
            }
            Some(Value::Bool(b)) => Some(b),
            Some(_) => {
                f.error("shared", "must be true or false");
                None
            }
        };
        f.finish()?;
        let data = data.unwrap_or_default();
        if data.len() > DATA_MAX_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit_bytes: DATA_MAX_BYTES as u64,
            });
        }
        Ok(Self {
            data,
            expected,
            shared,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(v: Value, may_share: bool) -> Result<PutLayer, ApiError> {
        PutLayer::read(v.as_object().cloned().unwrap(), may_share)
    }

    #[test]
    fn layer_names_are_short_lowercase_slugs() {
        for ok in ["ink", "pencil-2", "a", &"x".repeat(40)] {
            assert!(is_layer_name(ok), "{ok}");
        }
        for bad in ["", "Ink", "ink_1", "ink 1", "é", &"x".repeat(41), "../x"] {
            assert!(!is_layer_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_document_is_an_object_within_its_size_with_an_optional_version() {
        let put = read(
            json!({"data": {"1": [[0, 1]]}, "version": 3, "shared": true}),
            true,
        )
        .unwrap();
        assert_eq!(put.data, r#"{"1":[[0,1]]}"#);
        assert_eq!((put.expected, put.shared), (Some(3), Some(true)));
        let put = read(json!({"data": {}, "version": null}), false).unwrap();
        assert_eq!((put.expected, put.shared), (None, None));
        let Err(ApiError::Validation(fields)) = read(
            json!({"data": [1], "version": 0, "shared": "yes", "colour": 1}),
            true,
        ) else {
            panic!("refused");
        };
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["colour", "data", "shared", "version"]
        );
        assert!(matches!(
            read(json!({"data": {}, "shared": false}), false),
            Err(ApiError::Validation(f)) if f.contains_key("shared")
        ));
        assert!(
            matches!(read(json!({}), true), Err(ApiError::Validation(f)) if f.contains_key("data"))
        );
        let big = "x".repeat(DATA_MAX_BYTES);
        assert!(matches!(
            read(json!({"data": {"p": big}}), true),
            Err(ApiError::PayloadTooLarge { limit_bytes }) if limit_bytes == DATA_MAX_BYTES as u64
        ));
        let fits = "x".repeat(DATA_MAX_BYTES - 8);
        assert!(read(json!({"data": {"p": fits}}), true).is_ok());
    }
}
