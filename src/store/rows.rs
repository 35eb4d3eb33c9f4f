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
