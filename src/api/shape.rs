//! Response shapes declared once, in Rust: [`view!`] declares a struct (what the Worker builds,
//! or what the JSON that SQLite builds must deserialize into) together with its JSON Schema,
//! which the OpenAPI document publishes under `components/schemas`. So the type, the document
//! and (through the tests that read SQL-built JSON into the type) the SQL agree by construction.
//!
//! A field is required and never absent unless its type is [`Maybe`] (left out when empty);
//! `Option` means present and possibly `null`. Views reject unknown fields when read.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A type with a JSON Schema.
pub trait Shape {
    /// The schema of a value of this type: a `$ref` for views, inline for the rest.
    fn schema() -> Value;

    /// Whether a field of this type may be absent ([`Maybe`]).
    const OPTIONAL: bool = false;

    /// Whether this value is left out of its object.
    fn absent(&self) -> bool {
        false
    }
}

/// A named view: its definition under `components/schemas`.
pub trait View: Shape {
    const NAME: &'static str;
    fn definition() -> Value;
}

/// A reference to a named schema of the document.
pub fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

impl Shape for String {
    fn schema() -> Value {
        json!({ "type": "string" })
    }
}

impl Shape for i64 {
    fn schema() -> Value {
        json!({ "type": "integer" })
    }
}

impl Shape for u32 {
    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 0 })
    }
}

impl Shape for bool {
    fn schema() -> Value {
        json!({ "type": "boolean" })
    }
}

/// A map of strings (request headers to send).
impl Shape for std::collections::BTreeMap<String, String> {
    fn schema() -> Value {
        json!({ "type": "object", "additionalProperties": { "type": "string" } })
    }
}

/// Any JSON object (preferences, PDF metadata: free-form by contract).
pub type Object = Map<String, Value>;

impl Shape for Object {
    fn schema() -> Value {
        json!({ "type": "object" })
    }
}

/// Any JSON value (a changed field's old and new value).
impl Shape for Value {
    fn schema() -> Value {
        json!({})
    }
}

impl<T: Shape> Shape for Vec<T> {
    fn schema() -> Value {
        json!({ "type": "array", "items": T::schema() })
    }
}

/// Present, possibly `null`.
impl<T: Shape> Shape for Option<T> {
    fn schema() -> Value {
        let mut inner = T::schema();
        match inner.get_mut("type") {
            Some(Value::String(ty)) => {
                let ty = std::mem::take(ty);
                inner["type"] = json!([ty, "null"]);
                inner
            }
            _ => json!({ "anyOf": [inner, { "type": "null" }] }),
        }
    }
}

/// A field that is either there (with a value) or absent; never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Maybe<T>(pub Option<T>);

impl<T: Shape> Shape for Maybe<T> {
    fn schema() -> Value {
        T::schema()
    }

    const OPTIONAL: bool = true;

    fn absent(&self) -> bool {
        self.0.is_none()
    }
}

/// Whether `value` is exactly a `T` as the Worker would write it: it reads as a `T` (no unknown
/// field, every type right) and writes back unchanged (no field missing, nothing extra). The
/// tests hold JSON built by SQL to this.
///
/// # Errors
/// What differs.
pub fn conforms<T: View + Serialize + serde::de::DeserializeOwned>(
    value: &Value,
) -> Result<(), String> {
    let typed: T =
        serde_json::from_value(value.clone()).map_err(|e| format!("{}: {e}", T::NAME))?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if &back == value {
        Ok(())
    } else {
        Err(format!("{}: {value} reads back as {back}", T::NAME))
    }
}

/// The object schema of a view's fields: `(name, schema, optional)`.
pub fn object(fields: &[(&str, Value, bool)]) -> Value {
    let required: Vec<&str> = fields.iter().filter(|f| !f.2).map(|f| f.0).collect();
    let properties: Map<String, Value> = fields
        .iter()
        .map(|(k, v, _)| ((*k).to_owned(), v.clone()))
        .collect();
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// Declares a response view: the struct, its serialisation (leaving out absent [`Maybe`]
/// fields) and its schema. Field names are the wire names.
#[macro_export]
macro_rules! view {
    ($(#[doc = $doc:literal])* $name:ident { $($(#[doc = $fdoc:literal])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: $ty,)*
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                use $crate::api::shape::Shape;
                let present = [$(!Shape::absent(&self.$field)),*];
                let mut map = s.serialize_map(Some(present.iter().filter(|p| **p).count()))?;
                let mut i = 0;
                $(
                    if present[i] {
                        map.serialize_entry(stringify!($field), &self.$field)?;
                    }
                    i += 1;
                )*
                let _ = i;
                map.end()
            }
        }

        impl $crate::api::shape::Shape for $name {
            fn schema() -> serde_json::Value {
                $crate::api::shape::reference(stringify!($name))
            }
        }

        impl $crate::api::shape::View for $name {
            const NAME: &'static str = stringify!($name);
            fn definition() -> serde_json::Value {
                use $crate::api::shape::Shape;
                $crate::api::shape::object(&[
                    $((stringify!($field), <$ty as Shape>::schema(), <$ty as Shape>::OPTIONAL)),*
                ])
            }
        }
    };
}

/// Declares a string enumeration: the enum, its wire names and its schema.
#[macro_export]
macro_rules! choice {
    ($(#[doc = $doc:literal])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }
        }

        impl $crate::api::shape::Shape for $name {
            fn schema() -> serde_json::Value {
                serde_json::json!({ "enum": [$($wire),+] })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::choice! {
        /// A test state.
        State { Ready = "ready", Failed = "failed" }
    }

    crate::view! {
        /// A test view.
        Probe {
            id: String,
            count: i64,
            note: Option<String>,
            reason: Maybe<String>,
            state: State,
            tags: Vec<String>,
            nested: Option<Inner>,
        }
    }

    crate::view! {
        Inner { flag: bool }
    }

    fn probe(reason: Option<&str>) -> Probe {
        Probe {
            id: "p1".into(),
            count: 2,
            note: None,
            reason: Maybe(reason.map(str::to_owned)),
            state: State::Failed,
            tags: vec!["a".into()],
            nested: Some(Inner { flag: true }),
        }
    }

    #[test]
    fn a_view_serialises_its_wire_names_and_leaves_out_only_absent_maybes() {
        assert_eq!(
            serde_json::to_value(probe(None)).unwrap(),
            json!({"id": "p1", "count": 2, "note": null, "state": "failed", "tags": ["a"], "nested": {"flag": true}})
        );
        assert_eq!(
            serde_json::to_value(probe(Some("r"))).unwrap()["reason"],
            "r"
        );
    }

    #[test]
    fn a_view_reads_back_what_it_writes_and_refuses_unknown_or_missing_fields() {
        let v = probe(Some("r"));
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<Probe>(&text).unwrap(), v);
        let mut extra = serde_json::to_value(&v).unwrap();
        extra["password_hash"] = json!("x");
        assert!(serde_json::from_value::<Probe>(extra).is_err());
        assert_eq!(
            conforms::<Probe>(&serde_json::to_value(&v).unwrap()),
            Ok(())
        );
        let mut missing = serde_json::to_value(&v).unwrap();
        missing.as_object_mut().unwrap().remove("note");
        assert!(
            conforms::<Probe>(&missing).is_err(),
            "a nullable field must be present"
        );
        let mut null_maybe = serde_json::to_value(&v).unwrap();
        null_maybe["reason"] = Value::Null;
        assert!(conforms::<Probe>(&null_maybe).is_err(), "absent, not null");
    }

    #[test]
    fn the_schema_follows_the_declaration() {
        assert_eq!(
            Probe::definition(),
            json!({
                "type": "object",
                "required": ["id", "count", "note", "state", "tags", "nested"],
                "properties": {
                    "id": {"type": "string"},
                    "count": {"type": "integer"},
                    "note": {"type": ["string", "null"]},
                    "reason": {"type": "string"},
                    "state": {"enum": ["ready", "failed"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "nested": {"anyOf": [{"$ref": "#/components/schemas/Inner"}, {"type": "null"}]},
                },
                "additionalProperties": false,
            })
        );
        assert_eq!(Probe::NAME, "Probe");
        assert_eq!(State::Ready.as_str(), "ready");
    }
}
