//! JSON shapes of resources as clients see them (SPEC §8).

use serde_json::{json, Value};

use crate::store::rows::{UsageRow, UserRow};

/// `{user}`: never includes the password hash or quota internals.
pub fn user(row: &UserRow) -> Value {
    let preferences: Value = serde_json::from_str(&row.preferences).unwrap_or_else(|_| json!({}));
    json!({
        "id": row.id,
        "email": row.email,
        "display_name": row.display_name,
        "role": row.role,
        "preferences": preferences,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

pub fn usage(row: &UsageRow) -> Value {
    json!({
        "quota_bytes": row.quota_bytes,
        "used_bytes": row.used_bytes,
        "reserved_bytes": row.reserved_bytes,
    })
}

/// The login / refresh answer.
pub fn session_tokens(
    access: &str,
    refresh: &str,
    access_expires_at: &str,
    refresh_expires_at: &str,
) -> Value {
    json!({
        "access": access,
        "refresh": refresh,
        "token_type": "Bearer",
        "access_expires_at": access_expires_at,
        "refresh_expires_at": refresh_expires_at,
    })
}

/// The score object: the JSON built by SQL (`store::library::SCORE_JSON`) with `thumbnail_url` spliced in
/// first. Text in, text out: no re-parsing on the hot list path.
pub fn score_json(sql_json: &str, thumbnail_url: Option<&str>) -> String {
    let url = json_string_or_null(thumbnail_url);
    prepend_fields(sql_json, &[("thumbnail_url", &url)])
}

/// `"text"` (escaped) or `null`, as JSON text.
pub fn json_string_or_null(text: Option<&str>) -> String {
    text.map_or_else(
        || "null".to_owned(),
        |t| Value::String(t.to_owned()).to_string(),
    )
}

/// An object's JSON text with `fields` (key, JSON value text) inserted first; anything that is not
/// an object becomes `{fields}`. Keys are ours (plain identifiers), values already JSON.
pub fn prepend_fields(object: &str, fields: &[(&str, &str)]) -> String {
    let rest = object
        .trim()
        .strip_prefix('{')
        .map_or("}", str::trim_start)
        .trim_end();
    let mut out = String::with_capacity(rest.len() + 16 * fields.len() + 1);
    out.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        out.push_str(value);
    }
    if rest != "}" && !fields.is_empty() {
        out.push(',');
    }
    out.push_str(rest);
    out
}

/// JSON texts joined into one array's text.
pub fn json_array<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> String {
    let mut out = String::from("[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.as_ref());
    }
    out.push(']');
    out
}

/// `POST /v1/uploads` answer.
pub fn upload(upload_id: &str, p: &crate::storage::presign::Presigned) -> Value {
    json!({
        "upload_id": upload_id,
        "url": p.url,
        "method": p.method,
        "headers": p.headers,
        "expires_at": p.expires_at.rfc3339(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_view_has_the_contract_fields_and_no_secrets() {
        let row = UserRow {
            id: "usr_1".into(),
            email: "a@example.com".into(),
            display_name: "Ana".into(),
            role: "user".into(),
            preferences: "{\"theme\":\"dark\"}".into(),
            quota_bytes: 1,
            used_bytes: 0,
            reserved_bytes: 0,
            created_at: "t".into(),
            updated_at: "t".into(),
        };
        let v = user(&row);
        assert_eq!(v["email"], "a@example.com");
        assert_eq!(v["role"], "user");
        assert_eq!(v["preferences"]["theme"], "dark");
        assert!(v.get("password_hash").is_none());
    }

    #[test]
    fn the_thumbnail_url_is_spliced_into_the_sql_json() {
        let with = score_json(r#"{"id":"sco_1","tags":["a"]}"#, Some("https://x/y?\"q\""));
        let v: Value = serde_json::from_str(&with).unwrap();
        assert_eq!(v["thumbnail_url"], "https://x/y?\"q\"");
        assert_eq!(v["tags"], json!(["a"]));
        let without: Value = serde_json::from_str(&score_json(r#"{"id":"sco_1"}"#, None)).unwrap();
        assert_eq!(without, json!({"id": "sco_1", "thumbnail_url": null}));
        assert_eq!(score_json("{}", None), r#"{"thumbnail_url":null}"#);
    }

    #[test]
    fn fields_are_prepended_to_any_object_text() {
        assert_eq!(prepend_fields("{}", &[]), "{}");
        assert_eq!(prepend_fields(" { } ", &[("a", "1")]), r#"{"a":1}"#);
        assert_eq!(
            prepend_fields(r#"{"b":[1,2]}"#, &[("a", "1"), ("c", "null")]),
            r#"{"a":1,"c":null,"b":[1,2]}"#
        );
        assert_eq!(prepend_fields("not json", &[("a", "1")]), r#"{"a":1}"#);
        assert_eq!(json_array(Vec::<String>::new()), "[]");
        assert_eq!(json_array([r#"{"a":1}"#, "2"]), r#"[{"a":1},2]"#);
        let v: Value = serde_json::from_str(&prepend_fields(
            r#"{"x":"}"}"#,
            &[("y", &json_string_or_null(Some("q\"")))],
        ))
        .unwrap();
        assert_eq!(v, json!({"x": "}", "y": "q\""}));
    }
}
