//! JSON shapes of resources as clients see them (SPEC §8), declared once as views
//! ([`crate::view!`]): the Worker builds the ones it writes as these structs, the tests hold the
//! JSON that SQLite builds to them ([`super::shape::conforms`]), and the OpenAPI document
//! publishes their schemas ([`definitions`]). One declaration, so the four copies of the score's
//! shape (SQL, document, field list, README) can no longer drift apart unnoticed.

use std::collections::BTreeMap;

use serde_json::Value;

use super::shape::{Maybe, Object, Shape, View};
use crate::store::rows::{UsageRow, UserRow};

crate::choice! {
    /// Where a background step of a score stands.
    TaskStateName { Pending = "pending", Ok = "ok", Failed = "failed" }
}

crate::view! {
    /// One background step: `reason` only when it failed.
    TaskState { state: TaskStateName, reason: Maybe<String> }
}

crate::view! {
    /// The score's background steps (SPEC §8 `processing`).
    Processing { pdf_info: TaskState, thumbnail: TaskState }
}

crate::view! {
    /// A score (built by SQL, `store::library::SCORE_JSON`, with `thumbnail_url` spliced in).
    Score {
        thumbnail_url: Option<String>,
        id: String,
        title: String,
        composer: Option<String>,
        arranger: Option<String>,
        instrumentation: Option<String>,
        key: Option<String>,
        notes: Option<String>,
        tags: Vec<String>,
        rating: Option<i64>,
        difficulty: Option<i64>,
        duration: Option<i64>,
        filename: String,
        content_hash: String,
        size_bytes: i64,
        pages: Option<i64>,
        /// What the PDF says of itself (title, author, …), once read.
        pdf_meta: Option<Object>,
        /// Field values suggested from the PDF's metadata, not applied.
        suggestions: Object,
        processing: Processing,
        created_at: String,
        updated_at: String,
        /// When it went to the trash (`null`: live). Only trash listings show trashed scores.
        trashed_at: Option<String>,
    }
}

crate::view! {
    /// A row of `GET /v1/scores` (decision 136; built by SQL, `store::library::SCORE_SUMMARY_JSON`,
    /// with `thumbnail_url` spliced in): what a library grid draws. `GET /v1/scores/{id}` gives
    /// the whole [`Score`], with `notes`, `filename`, `content_hash`, `pdf_meta`, `suggestions`.
    ScoreSummary {
        thumbnail_url: Option<String>,
        id: String,
        title: String,
        composer: Option<String>,
        arranger: Option<String>,
        instrumentation: Option<String>,
        key: Option<String>,
        tags: Vec<String>,
        rating: Option<i64>,
        difficulty: Option<i64>,
        duration: Option<i64>,
        size_bytes: i64,
        pages: Option<i64>,
        processing: Processing,
        created_at: String,
        updated_at: String,
    }
}

crate::choice! {
    /// Where a part's pages come from.
    PartSource { Upload = "upload", Pages = "pages" }
}

crate::view! {
    /// A pages part's range of the score's PDF (1-based, inclusive).
    PartRange { first: i64, last: i64 }
}

crate::view! {
    /// A score's part (SPEC §10, built by SQL, `store::parts::part_json`, with `thumbnail_url`
    /// spliced in). A pages part shows the score's processing and has no thumbnail of its own.
    Part {
        thumbnail_url: Option<String>,
        id: String,
        name: String,
        source: PartSource,
        pages: Option<PartRange>,
        /// Pages of the part: the range's length, or an uploaded part's count once read.
        page_count: Option<i64>,
        processing: Processing,
        created_at: String,
    }
}

crate::choice! {
    /// An account's role.
    UserRole { User = "user", Admin = "admin" }
}

crate::view! {
    /// An account as its owner sees it: never the password hash or the quota internals.
    User {
        id: String,
        email: String,
        display_name: String,
        role: UserRole,
        preferences: Object,
        created_at: String,
        updated_at: String,
    }
}

crate::view! {
    /// The quota ledger.
    Usage { quota_bytes: i64, used_bytes: i64, reserved_bytes: i64 }
}

crate::choice! {
    /// The only token type.
    TokenType { Bearer = "Bearer" }
}

crate::view! {
    /// The login and refresh answer.
    Tokens {
        access: String,
        refresh: String,
        token_type: TokenType,
        access_expires_at: String,
        refresh_expires_at: String,
    }
}

crate::view! {
    /// `POST /v1/uploads`: where and how to PUT the file.
    Upload {
        upload_id: String,
        url: String,
        method: String,
        headers: BTreeMap<String, String>,
        expires_at: String,
    }
}

crate::view! {
    /// A presigned GET; for a bookmark (SPEC §10) also its page range in the songbook.
    DownloadUrl {
        url: String,
        expires_at: String,
        first_page: Maybe<i64>,
        last_page: Maybe<i64>,
    }
}

crate::choice! {
    /// Where a bookmark's extracted PDF stands (`none`: never asked for).
    ExtractStateName {
        None = "none",
        Pending = "pending",
        Running = "running",
        Ok = "ok",
        Failed = "failed",
    }
}

crate::view! {
    /// A bookmark's extracted PDF: `reason` only when it failed.
    BookmarkExtract { state: ExtractStateName, reason: Maybe<String> }
}

crate::view! {
    /// The songbook a bookmark lies in: its title and page count (once known).
    Songbook { title: String, pages: Option<i64> }
}

crate::view! {
    /// A bookmark: a named page range of a songbook (built by SQL, `store::bookmarks::BOOKMARK_JSON`).
    Bookmark {
        id: String,
        score_id: String,
        title: String,
        composer: Option<String>,
        key: Option<String>,
        tags: Vec<String>,
        first_page: i64,
        last_page: i64,
        page_count: i64,
        songbook: Songbook,
        extract: BookmarkExtract,
        created_at: String,
        updated_at: String,
    }
}

crate::view! {
    /// A line of a CSV index that was not imported.
    ImportError { line: i64, message: String }
}

crate::view! {
    /// What an index import did: how many bookmarks it created and the lines it left out.
    BookmarkImport { created: i64, errors: Vec<ImportError> }
}

crate::view! {
    /// The bookmark a setlist item plays (its `score_id` is the songbook).
    ItemBookmark { id: String, title: String, first_page: i64, last_page: i64 }
}

crate::view! {
    /// A user as other people see them.
    Person { id: String, display_name: String }
}

crate::choice! {
    /// The reader's role on a setlist.
    SetlistRole { Owner = "owner", Editor = "editor", Viewer = "viewer", Link = "link" }
}

crate::view! {
    /// A setlist in a list: its own fields and the reader's role.
    SetlistSummary {
        role: SetlistRole,
        id: String,
        name: String,
        description: Option<String>,
        event_date: Option<String>,
        venue: Option<String>,
        notes: Option<String>,
        version: i64,
        owner: Person,
        item_count: i64,
        created_at: String,
        updated_at: String,
    }
}

crate::view! {
    /// One piece of a setlist with what a player needs of its score.
    SetlistItem {
        thumbnail_url: Option<String>,
        id: String,
        position: i64,
        /// `false`: see [`TrashedItem`] for an item whose score is in the trash.
        trashed: bool,
        score_id: String,
        notes: Option<String>,
        title: String,
        composer: Option<String>,
        key: Option<String>,
        pages: Option<i64>,
        duration: Option<i64>,
        processing: Processing,
        /// The reader's part of this item's score (their assigned part, matched by name in any
        /// case), or `null`.
        part: Option<Part>,
        /// The bookmark this item plays, or `null` for a whole score.
        bookmark: Option<ItemBookmark>,
        comment_count: i64,
        added_by: Option<String>,
        created_at: String,
        updated_at: String,
    }
}

crate::view! {
    /// An item whose score is in the trash (SPEC §11): no URLs; `score_id` and `title` for the
    /// owner only. It keeps its position and is live again when the score is restored.
    TrashedItem {
        id: String,
        position: i64,
        /// Always `true`.
        trashed: bool,
        score_id: Maybe<String>,
        title: Maybe<String>,
    }
}

/// A setlist's item: live, or its score in the trash.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum Item {
    Live(Box<SetlistItem>),
    Trashed(TrashedItem),
}

impl Shape for Item {
    fn schema() -> Value {
        serde_json::json!({ "anyOf": [
            crate::api::shape::reference("SetlistItem"),
            crate::api::shape::reference("TrashedItem"),
        ] })
    }
}

crate::view! {
    /// One entry of a setlist's history.
    SetlistEvent { kind: String, detail: Value, at: String }
}

crate::choice! {
    /// A member's role.
    MemberRole { Editor = "editor", Viewer = "viewer" }
}

crate::view! {
    /// A member: the email only for the owner.
    Member {
        email: Maybe<String>,
        user_id: String,
        display_name: String,
        role: MemberRole,
        /// The part they play (SPEC §10), matched by name against each item's parts.
        part: Option<String>,
        added_at: String,
    }
}

crate::view! {
    /// A whole setlist: items in order, the latest history, and the members (not through a link).
    Setlist {
        role: SetlistRole,
        items: Vec<Item>,
        history: Vec<SetlistEvent>,
        members: Maybe<Vec<Member>>,
        id: String,
        name: String,
        description: Option<String>,
        event_date: Option<String>,
        venue: Option<String>,
        notes: Option<String>,
        version: i64,
        owner: Person,
        item_count: i64,
        created_at: String,
        updated_at: String,
    }
}

crate::view! {
    /// A public link as its owner sees it (the token is made again from the id, never stored).
    Link {
        id: String,
        token: String,
        url: String,
        expires_at: Option<String>,
        revoked_at: Option<String>,
        created_at: String,
        active: bool,
    }
}

crate::view! {
    /// A comment on a setlist item.
    Comment { id: String, author: Person, body: String, created_at: String }
}

crate::view! {
    /// A live-room ticket: single use, 60 s; `url` is the WebSocket to open with it.
    LiveTicket { ticket: String, url: String, expires_at: String }
}

/// Every view's schema by name, for `components/schemas`.
pub fn definitions() -> Vec<(&'static str, Value)> {
    fn d<V: View>() -> (&'static str, Value) {
        (V::NAME, V::definition())
    }
    vec![
        d::<TaskState>(),
        d::<Processing>(),
        d::<Score>(),
        d::<ScoreSummary>(),
        d::<PartRange>(),
        d::<Part>(),
        d::<User>(),
        d::<Usage>(),
        d::<Tokens>(),
        d::<Upload>(),
        d::<DownloadUrl>(),
        d::<BookmarkExtract>(),
        d::<Songbook>(),
        d::<Bookmark>(),
        d::<ImportError>(),
        d::<BookmarkImport>(),
        d::<ItemBookmark>(),
        d::<Person>(),
        d::<SetlistSummary>(),
        d::<SetlistItem>(),
        d::<TrashedItem>(),
        d::<SetlistEvent>(),
        d::<Member>(),
        d::<Setlist>(),
        d::<Link>(),
        d::<Comment>(),
        d::<LiveTicket>(),
    ]
}

/// `{user}`: never includes the password hash or quota internals.
pub fn user(row: &UserRow) -> User {
    User {
        id: row.id.clone(),
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        role: if row.role == "admin" {
            UserRole::Admin
        } else {
            UserRole::User
        },
        preferences: serde_json::from_str(&row.preferences).unwrap_or_default(),
        created_at: row.created_at.clone(),
        updated_at: row.updated_at.clone(),
    }
}

pub fn usage(row: &UsageRow) -> Usage {
    Usage {
        quota_bytes: row.quota_bytes,
        used_bytes: row.used_bytes,
        reserved_bytes: row.reserved_bytes,
    }
}

/// The login / refresh answer.
pub fn session_tokens(
    access: &str,
    refresh: &str,
    access_expires_at: &str,
    refresh_expires_at: &str,
) -> Tokens {
    Tokens {
        access: access.to_owned(),
        refresh: refresh.to_owned(),
        token_type: TokenType::Bearer,
        access_expires_at: access_expires_at.to_owned(),
        refresh_expires_at: refresh_expires_at.to_owned(),
    }
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
pub fn upload(upload_id: &str, p: &crate::storage::presign::Presigned) -> Upload {
    Upload {
        upload_id: upload_id.to_owned(),
        url: p.url.clone(),
        method: p.method.to_owned(),
        headers: p.headers.clone(),
        expires_at: p.expires_at.rfc3339(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
        let v = serde_json::to_value(user(&row)).unwrap();
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
