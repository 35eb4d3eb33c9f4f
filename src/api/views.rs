//! JSON shapes of resources as clients see them (SPEC §8).

use serde_json::{json, Value};

use crate::store::rows::{ScoreRow, UsageRow, UserRow};

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

fn task(state: &str, reason: Option<&String>) -> Value {
    match reason {
        Some(r) if state == "failed" => json!({ "state": state, "reason": r }),
        _ => json!({ "state": state }),
    }
}

fn json_text(text: Option<&str>, default: Value) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(default)
}

/// The score object of SPEC §8. `thumbnail_url` is presigned by the caller (short-lived).
pub fn score(row: &ScoreRow, thumbnail_url: Option<&str>) -> Value {
    json!({
        "id": row.id,
        "title": row.title,
        "composer": row.composer,
        "arranger": row.arranger,
        "instrumentation": row.instrumentation,
        "key": row.key,
        "notes": row.notes,
        "tags": json_text(Some(&row.tags), json!([])),
        "rating": row.rating,
        "difficulty": row.difficulty,
        "duration": row.duration,
        "filename": row.filename,
        "content_hash": row.content_hash,
        "size_bytes": row.size_bytes,
        "pages": row.pages,
        "pdf_meta": json_text(row.pdf_meta.as_deref(), Value::Null),
        "suggestions": json_text(Some(&row.suggestions), json!({})),
        "thumbnail_url": thumbnail_url,
        "processing": {
            "pdf_info": task(&row.pdf_info_state, row.pdf_info_reason.as_ref()),
            "thumbnail": task(&row.thumbnail_state, row.thumbnail_reason.as_ref()),
        },
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
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
    fn the_score_view_has_the_contract_fields() {
        let row = ScoreRow {
            id: "sco_1".into(),
            title: "T".into(),
            composer: None,
            arranger: None,
            instrumentation: None,
            key: None,
            notes: None,
            rating: Some(3),
            difficulty: None,
            duration: None,
            content_hash: "h".into(),
            size_bytes: 10,
            pages: None,
            pdf_meta: None,
            suggestions: "{}".into(),
            thumbnail_key: None,
            object_key: "k".into(),
            filename: "f.pdf".into(),
            pdf_info_state: "failed".into(),
            pdf_info_reason: Some("not a PDF".into()),
            thumbnail_state: "pending".into(),
            thumbnail_reason: None,
            created_at: "t".into(),
            updated_at: "t".into(),
            tags: "[\"gig\"]".into(),
        };
        let v = score(&row, None);
        for k in [
            "id",
            "title",
            "composer",
            "tags",
            "pages",
            "size_bytes",
            "content_hash",
            "thumbnail_url",
            "suggestions",
            "processing",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["tags"], json!(["gig"]));
        assert_eq!(
            v["processing"]["pdf_info"],
            json!({"state": "failed", "reason": "not a PDF"})
        );
        assert_eq!(v["processing"]["thumbnail"], json!({"state": "pending"}));
        assert!(v.get("object_key").is_none());
    }
}
