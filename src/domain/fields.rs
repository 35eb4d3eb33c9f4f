//! Reads typed fields out of a JSON object, collecting one message per bad field so that a client
//! learns every problem in one 422 rather than one at a time.

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldErrors};

pub struct Fields {
    map: Map<String, Value>,
    errors: FieldErrors,
}

impl Fields {
    /// Starts reading `map`; fields not in `allowed` are reported as unknown (typos in field
    /// names would otherwise be silently ignored).
    pub fn new(map: Map<String, Value>, allowed: &[&str]) -> Self {
        let mut errors = FieldErrors::new();
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.insert(key.clone(), "unknown field".into());
            }
        }
        Self { map, errors }
    }

    pub fn error(&mut self, name: &str, message: impl Into<String>) {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| message.into());
    }

    /// Whether the client sent the field at all (even as `null`).
    pub fn present(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// A required string.
    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.map.get(name) {
            None | Some(Value::Null) => {
                self.error(name, "is required");
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// An optional string (`null` or absent both read as `None`).
    pub fn opt_string(&mut self, name: &str) -> Option<String> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(name, "must be a string");
                None
            }
        }
    }

    /// A required integer: a JSON number without a fraction (`3.0` is 3, as JSON Schema's
    /// `integer` has it) that fits an `i64`.
    pub fn int(&mut self, name: &str) -> Option<i64> {
        match self.map.get(name) {
            None | Some(Value::Null) => {
                self.error(name, "is required");
                None
            }
            Some(Value::Number(n)) => match whole(n) {
                Some(i) => Some(i),
                None => {
                    self.error(name, "must be an integer");
                    None
                }
            },
            Some(_) => {
                self.error(name, "must be an integer");
                None
            }
        }
    }

    /// An optional raw JSON value.
    pub fn opt_value(&mut self, name: &str) -> Option<Value> {
        self.map.get(name).filter(|v| !v.is_null()).cloned()
    }

    /// Applies a parser to a value already read, recording its message on failure.
    pub fn parse<T>(
        &mut self,
        name: &str,
        value: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = value?;
        match parse(&value) {
            Ok(v) => Some(v),
            Err(message) => {
                self.error(name, message);
                None
            }
        }
    }

    /// Ends reading.
    ///
    /// # Errors
    /// 422 with every field message collected so far.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut f = Fields::new(
            obj(json!({"email": 3, "colour": "red"})),
            &["email", "password"],
        );
        assert_eq!(f.string("email"), None);
        assert_eq!(f.string("password"), None);
        let ApiError::Validation(errors) = f.finish().unwrap_err() else {
            panic!()
        };
        assert_eq!(errors["email"], "must be a string");
        assert_eq!(errors["password"], "is required");
        assert_eq!(errors["colour"], "unknown field");
    }

    #[test]
    fn optional_fields_accept_null_and_absence() {
        let mut f = Fields::new(obj(json!({"a": null})), &["a", "b"]);
        assert_eq!(f.opt_string("a"), None);
        assert_eq!(f.opt_string("b"), None);
        assert!(f.present("a"));
        assert!(f.finish().is_ok());
    }

    #[test]
    fn parser_messages_land_on_their_field() {
        let mut f = Fields::new(obj(json!({"n": "x"})), &["n"]);
        let v = f.string("n");
        assert_eq!(f.parse("n", v, |_| Err::<(), _>("bad".into())), None);
        assert!(f.finish().is_err());
    }
}

/// `n` as an `i64` when it is a whole number in range (`2`, `2.0`, `-7e0`).
fn whole(n: &serde_json::Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    // ±2^63 (exact as an f64: a power of two); every whole f64 within converts exactly.
    let bound = 2f64.powi(63);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "checked: whole and within i64's range"
    )]
    let i = f as i64;
    (f.fract() == 0.0 && (-bound..bound).contains(&f)).then_some(i)
}

#[cfg(test)]
mod whole_tests {
    use serde_json::json;

    #[test]
    fn whole_numbers_written_with_a_fraction_part_are_integers() {
        let n = |v: serde_json::Value| super::whole(v.as_number().unwrap());
        assert_eq!(n(json!(3)), Some(3));
        assert_eq!(n(json!(3.0)), Some(3));
        assert_eq!(n(json!(-7e0)), Some(-7));
        assert_eq!(n(json!(11_699_840.0)), Some(11_699_840));
        assert_eq!(n(json!(1.5)), None);
        assert_eq!(n(json!(1e19)), None);
        assert_eq!(n(json!(u64::MAX)), None);
    }
}
