//! Typed rows as D1 returns them (column names are the field names).

use serde::Deserialize;

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

/// A score as `library::score_columns()` selects it: keys for the Worker and the finished JSON.
#[derive(Debug, Clone, Deserialize)]
pub struct ScoreRow {
    pub id: String,
    pub object_key: String,
    pub thumbnail_key: Option<String>,
    /// The score object as JSON text, without `thumbnail_url`.
    pub json: String,
    /// The ordering value of a list row (for the next cursor).
    #[serde(default)]
    pub sort_key: Option<serde_json::Value>,
}

/// A row of `GET /v1/scores` as `library::score_summary_columns()` selects it.
#[derive(Debug, Clone, Deserialize)]
pub struct ScoreSummaryRow {
    pub id: String,
    pub thumbnail_key: Option<String>,
    /// The summary as JSON text, without `thumbnail_url`.
    pub json: String,
    /// The ordering value (for the next cursor).
    #[serde(default)]
    pub sort_key: Option<serde_json::Value>,
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

#[derive(Debug, Clone, Deserialize)]
pub struct ScoreFileRow {
    pub id: String,
    pub object_key: String,
    pub size_bytes: i64,
}

/// A row whose one column `json` holds an object SQLite built (`json_object(…) as json`).
#[derive(Debug, Clone, Deserialize)]
pub struct JsonRow {
    pub json: String,
}
