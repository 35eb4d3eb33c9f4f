//! Presets (issue 6): instrumentation presets (a name and its parts) and genres. Built-ins are
//! seeded by a migration; users add their own. This module validates what a user sends.

use serde_json::Value;

use crate::domain::fields::Fields;
use crate::domain::score;

pub const NAME_MAX_CHARS: usize = 100;
pub const PARTS_MAX: usize = 40;
pub const PART_MAX_CHARS: usize = 60;

/// `POST /v1/presets`, validated.
#[derive(Debug, PartialEq, Eq)]
pub struct NewPreset {
    pub kind: &'static str,
    pub name: String,
    /// Parts as a JSON array text (empty for genres).
    pub parts: String,
}

/// `instrumentation` or `genre`.
pub fn kind(raw: &str) -> Result<&'static str, String> {
    match raw.trim() {
        "instrumentation" => Ok("instrumentation"),
        "genre" => Ok("genre"),
        _ => Err("must be \"instrumentation\" or \"genre\"".into()),
    }
}

impl NewPreset {
    pub fn read(f: &mut Fields) -> Option<Self> {
        let raw_kind = f.string("kind");
        let kind = f.parse("kind", raw_kind, kind);
        let raw_name = f.string("name");
        let name = f.parse("name", raw_name, |n| score::text(n, NAME_MAX_CHARS));
        let parts = match (f.opt_value("parts"), kind) {
            (None, _) => Vec::new(),
            (Some(_), Some("genre")) => {
                f.error("parts", "genres have no parts");
                Vec::new()
            }
            (Some(Value::Array(items)), _) if items.len() <= PARTS_MAX => {
                let mut parts = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str().map(|p| score::text(p, PART_MAX_CHARS)) {
                        Some(Ok(p)) => parts.push(p),
                        _ => f.error(
                            "parts",
                            format!("each part must be text of 1 to {PART_MAX_CHARS} characters"),
                        ),
                    }
                }
                parts
            }
            (Some(_), _) => {
                f.error(
                    "parts",
                    format!("must be an array of at most {PARTS_MAX} part names"),
                );
                Vec::new()
            }
        };
        Some(Self {
            kind: kind?,
            name: name?,
            parts: serde_json::to_string(&parts).unwrap_or_else(|_| "[]".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;

    fn read(body: Value) -> Result<NewPreset, Value> {
        let map: Map<String, Value> = serde_json::from_value(body).unwrap();
        let mut f = Fields::new(map, &["kind", "name", "parts"]);
        let preset = NewPreset::read(&mut f);
        match f.finish() {
            Ok(()) => Ok(preset.unwrap()),
            Err(e) => Err(e.envelope()["error"]["fields"].clone()),
        }
    }

    #[test]
    fn presets_are_validated_field_by_field() {
        assert_eq!(
            read(
                json!({"kind": "instrumentation", "name": " Flute choir ", "parts": ["flute 1", "alto flute"]})
            ),
            Ok(NewPreset {
                kind: "instrumentation",
                name: "Flute choir".into(),
                parts: r#"["flute 1","alto flute"]"#.into()
            })
        );
        assert_eq!(
            read(json!({"kind": "genre", "name": "Klezmer"}))
                .unwrap()
                .parts,
            "[]"
        );
        let errors = read(json!({"kind": "mood", "name": "", "parts": "flute"})).unwrap_err();
        for field in ["kind", "name"] {
            assert!(errors[field].is_string(), "{field}: {errors}");
        }
        assert!(
            read(json!({"kind": "genre", "name": "x", "parts": ["a"]})).unwrap_err()["parts"]
                .is_string()
        );
        assert!(
            read(json!({"kind": "instrumentation", "name": "x", "parts": [1]})).unwrap_err()
                ["parts"]
                .is_string()
        );
        let many: Vec<String> = (0..=PARTS_MAX).map(|i| format!("p{i}")).collect();
        assert!(read(json!({"kind": "instrumentation", "name": "x", "parts": many})).is_err());
        assert!(read(json!({"kind": "genre", "name": "x".repeat(NAME_MAX_CHARS + 1)})).is_err());
    }
}
