//! Typed rows as D1 returns them (column names are the field names).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub preferences: String,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub reserved_bytes: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CredentialsRow {
    pub id: String,
    pub password_hash: String,
    pub disabled_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefreshStateRow {
    pub used_at: Option<String>,
    pub session_revoked_at: Option<String>,
    pub disabled_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UsageRow {
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub reserved_bytes: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UploadRow {
    pub id: String,
    pub user_id: String,
    pub filename: String,
    pub size_bytes: i64,
    pub mime: String,
    pub sha256: String,
    pub object_key: String,
    pub state: String,
    pub expires_at: String,
    pub consumable_until: String,
    pub score_id: Option<String>,
}

/// A score as `sql::SCORE_COLUMNS` selects it. `Serialize` lets the list build its cursor from
/// the last row by column name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreRow {
    pub id: String,
    pub title: String,
    pub composer: Option<String>,
    pub arranger: Option<String>,
    pub instrumentation: Option<String>,
    pub key: Option<String>,
    pub notes: Option<String>,
    pub rating: Option<i64>,
    pub difficulty: Option<i64>,
    pub duration: Option<i64>,
    pub content_hash: String,
    pub size_bytes: i64,
    pub pages: Option<i64>,
    pub pdf_meta: Option<String>,
    pub suggestions: String,
    pub thumbnail_key: Option<String>,
    pub object_key: String,
    pub filename: String,
    pub pdf_info_state: String,
    pub pdf_info_reason: Option<String>,
    pub thumbnail_state: String,
    pub thumbnail_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// JSON array of tags.
    pub tags: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IdRow {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UploadKeyRow {
    pub id: String,
    pub object_key: String,
}
