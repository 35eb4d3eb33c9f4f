//! Every route the Worker serves, as one table: method, path template, who may call it.
//!
//! Matching is pure so that 404 vs 405, path parameters and the route template used in logs are
//! all tested natively; the OpenAPI document (`api::openapi`) is generated from this table.

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No access token (health, register, login, refresh, signed blobs, shared links).
    Public,
    /// A valid access token; the shell checks the session in its own query.
    User,
    /// A valid access token whose session check the handler batches with its own query (one D1
    /// round trip on hot routes). The handler must not answer before that check passes.
    UserBatched,
    /// A valid access token of a user whose role is `admin`. Everyone else gets 404, as if the
    /// route did not exist (wrong methods included: admin paths never answer 405).
    Admin,
}

/// How the request body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// A JSON object (SPEC §6 rules: JSON only, at most 1 MiB).
    Json,
    /// Raw bytes streamed by the handler (blob uploads).
    Raw,
}

/// What a matched route does; the shell dispatches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Health,
    OpenApi,
    Docs,
    DocsAsset,
    Register,
    Login,
    Refresh,
    Logout,
    LogoutAll,
    GetMe,
    PatchMe,
    ChangePassword,
    Usage,
    CreateUpload,
    PutBlob,
    GetBlob,
    CreateScore,
    ListScores,
    GetScore,
    PatchScore,
    DeleteScore,
    DownloadUrl,
    CreatePart,
    ListParts,
    PatchPart,
    DeletePart,
    PartDownloadUrl,
    ListTrash,
    RestoreScore,
    PurgeScore,
    EmptyTrash,
    Favorite,
    Unfavorite,
    Favorites,
    Opened,
    History,
    Versions,
    CompareVersions,
    Stats,
    CreateBookmark,
    ImportBookmarks,
    ListBookmarks,
    GetBookmark,
    PatchBookmark,
    DeleteBookmark,
    BookmarkDownloadUrl,
    ListSetlists,
    CreateSetlist,
    GetSetlist,
    PatchSetlist,
    DeleteSetlist,
    PostItems,
    PatchItem,
    DeleteItem,
    ItemDownloadUrl,
    RequestBook,
    GetBook,
    RequestExport,
    ListExports,
    GetExport,
    CreateImport,
    GetImport,
    ListComments,
    ListScoreAnnotations,
    PutScoreAnnotation,
    DeleteScoreAnnotation,
    ListItemAnnotations,
    PutItemAnnotation,
    DeleteItemAnnotation,
    GetScoreSettings,
    PutScoreSettings,
    GetItemSettings,
    PutItemSettings,
    AddComment,
    DeleteComment,
    AddMember,
    RemoveMember,
    PatchMember,
    CreateLink,
    ListLinks,
    RevokeLink,
    Shared,
    SharedDownloadUrl,
    LiveTicket,
    SharedLiveTicket,
    LiveConnect,
    ListPresets,
    CreatePreset,
    DeletePreset,
    AdminUsers,
    AdminPatchUser,
    AdminStats,
    AdminLiveRoom,
    AdminTasks,
    AdminRetryTask,
    AdminOpenApi,
}

pub struct RouteDef {
    pub method: &'static str,
    pub template: &'static str,
    pub endpoint: Endpoint,
    pub access: Access,
    pub body: BodyKind,
}

const fn route(
    method: &'static str,
    template: &'static str,
    endpoint: Endpoint,
    access: Access,
) -> RouteDef {
    RouteDef {
        method,
        template,
        endpoint,
        access,
        body: BodyKind::Json,
    }
}

const fn raw(method: &'static str, template: &'static str, endpoint: Endpoint) -> RouteDef {
    RouteDef {
        method,
        template,
        endpoint,
        access: Access::Public,
        body: BodyKind::Raw,
    }
}

/// The table. Templates use `{name}` for one path segment.
pub const ROUTES: &[RouteDef] = &[
    route("GET", "/health", Endpoint::Health, Access::Public),
    route("GET", "/openapi.json", Endpoint::OpenApi, Access::Public),
    route("GET", "/docs", Endpoint::Docs, Access::Public),
    route("GET", "/docs/{file}", Endpoint::DocsAsset, Access::Public),
    route(
        "POST",
        "/v1/auth/register",
        Endpoint::Register,
        Access::Public,
    ),
    route("POST", "/v1/auth/login", Endpoint::Login, Access::Public),
    route(
        "POST",
        "/v1/auth/refresh",
        Endpoint::Refresh,
        Access::Public,
    ),
    route("POST", "/v1/auth/logout", Endpoint::Logout, Access::User),
    route(
        "POST",
        "/v1/auth/logout_all",
        Endpoint::LogoutAll,
        Access::User,
    ),
    route("GET", "/v1/me", Endpoint::GetMe, Access::User),
    route("PATCH", "/v1/me", Endpoint::PatchMe, Access::User),
    route(
        "POST",
        "/v1/me/password",
        Endpoint::ChangePassword,
        Access::User,
    ),
    route("GET", "/v1/me/usage", Endpoint::Usage, Access::User),
    route("POST", "/v1/uploads", Endpoint::CreateUpload, Access::User),
    // The signed token in the path is the credential.
    raw("PUT", "/v1/blobs/{token}", Endpoint::PutBlob),
    raw("GET", "/v1/blobs/{token}", Endpoint::GetBlob),
    route("POST", "/v1/scores", Endpoint::CreateScore, Access::User),
    route(
        "GET",
        "/v1/scores",
        Endpoint::ListScores,
        Access::UserBatched,
    ),
    route("GET", "/v1/scores/{id}", Endpoint::GetScore, Access::User),
    route(
        "PATCH",
        "/v1/scores/{id}",
        Endpoint::PatchScore,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/scores/{id}",
        Endpoint::DeleteScore,
        Access::User,
    ),
    route(
        "GET",
        "/v1/scores/{id}/download-url",
        Endpoint::DownloadUrl,
        Access::User,
    ),
    route(
        "POST",
        "/v1/scores/{id}/parts",
        Endpoint::CreatePart,
        Access::User,
    ),
    route(
        "GET",
        "/v1/scores/{id}/parts",
        Endpoint::ListParts,
        Access::User,
    ),
    route(
        "PATCH",
        "/v1/scores/{id}/parts/{part_id}",
        Endpoint::PatchPart,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/scores/{id}/parts/{part_id}",
        Endpoint::DeletePart,
        Access::User,
    ),
    route(
        "GET",
        "/v1/scores/{id}/parts/{part_id}/download-url",
        Endpoint::PartDownloadUrl,
        Access::User,
    ),
    route("GET", "/v1/trash", Endpoint::ListTrash, Access::User),
    route("DELETE", "/v1/trash", Endpoint::EmptyTrash, Access::User),
    route(
        "POST",
        "/v1/trash/{id}/restore",
        Endpoint::RestoreScore,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/trash/{id}",
        Endpoint::PurgeScore,
        Access::User,
    ),
    route(
        "PUT",
        "/v1/scores/{id}/favorite",
        Endpoint::Favorite,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/scores/{id}/favorite",
        Endpoint::Unfavorite,
        Access::User,
    ),
    route("GET", "/v1/favorites", Endpoint::Favorites, Access::User),
    route(
        "POST",
        "/v1/scores/{id}/opened",
        Endpoint::Opened,
        Access::User,
    ),
    route("GET", "/v1/history", Endpoint::History, Access::User),
    route(
        "GET",
        "/v1/scores/{id}/versions",
        Endpoint::Versions,
        Access::User,
    ),
    route(
        "GET",
        "/v1/scores/{id}/versions/compare",
        Endpoint::CompareVersions,
        Access::User,
    ),
    route("GET", "/v1/me/stats", Endpoint::Stats, Access::User),
    route(
        "POST",
        "/v1/scores/{id}/bookmarks",
        Endpoint::CreateBookmark,
        Access::User,
    ),
    route(
        "POST",
        "/v1/scores/{id}/bookmarks/import",
        Endpoint::ImportBookmarks,
        Access::User,
    ),
    route(
        "GET",
        "/v1/bookmarks",
        Endpoint::ListBookmarks,
        Access::User,
    ),
    route(
        "GET",
        "/v1/bookmarks/{id}",
        Endpoint::GetBookmark,
        Access::User,
    ),
    route(
        "PATCH",
        "/v1/bookmarks/{id}",
        Endpoint::PatchBookmark,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/bookmarks/{id}",
        Endpoint::DeleteBookmark,
        Access::User,
    ),
    route(
        "GET",
        "/v1/bookmarks/{id}/download-url",
        Endpoint::BookmarkDownloadUrl,
        Access::User,
    ),
    route("GET", "/v1/presets", Endpoint::ListPresets, Access::User),
    route("POST", "/v1/presets", Endpoint::CreatePreset, Access::User),
    route(
        "DELETE",
        "/v1/presets/{id}",
        Endpoint::DeletePreset,
        Access::User,
    ),
    route(
        "GET",
        "/v1/admin/users",
        Endpoint::AdminUsers,
        Access::Admin,
    ),
    route(
        "PATCH",
        "/v1/admin/users/{id}",
        Endpoint::AdminPatchUser,
        Access::Admin,
    ),
    route(
        "GET",
        "/v1/admin/stats",
        Endpoint::AdminStats,
        Access::Admin,
    ),
    route(
        "GET",
        "/v1/admin/live/{id}",
        Endpoint::AdminLiveRoom,
        Access::Admin,
    ),
    route(
        "GET",
        "/v1/admin/tasks",
        Endpoint::AdminTasks,
        Access::Admin,
    ),
    route(
        "POST",
        "/v1/admin/tasks/{id}/retry",
        Endpoint::AdminRetryTask,
        Access::Admin,
    ),
    route(
        "GET",
        "/v1/admin/openapi.json",
        Endpoint::AdminOpenApi,
        Access::Admin,
    ),
    route("GET", "/v1/setlists", Endpoint::ListSetlists, Access::User),
    route(
        "POST",
        "/v1/setlists",
        Endpoint::CreateSetlist,
        Access::User,
    ),
    route(
        "GET",
        "/v1/setlists/{id}",
        Endpoint::GetSetlist,
        Access::User,
    ),
    route(
        "PATCH",
        "/v1/setlists/{id}",
        Endpoint::PatchSetlist,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/setlists/{id}",
        Endpoint::DeleteSetlist,
        Access::User,
    ),
    route(
        "POST",
        "/v1/setlists/{id}/items",
        Endpoint::PostItems,
        Access::User,
    ),
    route(
        "PATCH",
        "/v1/setlists/{id}/items/{item_id}",
        Endpoint::PatchItem,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/setlists/{id}/items/{item_id}",
        Endpoint::DeleteItem,
        Access::User,
    ),
    route(
        "POST",
        "/v1/setlists/{id}/book",
        Endpoint::RequestBook,
        Access::User,
    ),
    route(
        "GET",
        "/v1/setlists/{id}/book",
        Endpoint::GetBook,
        Access::User,
    ),
    route("POST", "/v1/exports", Endpoint::RequestExport, Access::User),
    route("GET", "/v1/exports", Endpoint::ListExports, Access::User),
    route("GET", "/v1/exports/{id}", Endpoint::GetExport, Access::User),
    route("POST", "/v1/imports", Endpoint::CreateImport, Access::User),
    route("GET", "/v1/imports/{id}", Endpoint::GetImport, Access::User),
    route(
        "GET",
        "/v1/setlists/{id}/items/{item_id}/download-url",
        Endpoint::ItemDownloadUrl,
        Access::User,
    ),
    route(
        "GET",
        "/v1/scores/{id}/annotations",
        Endpoint::ListScoreAnnotations,
        Access::User,
    ),
    route(
        "PUT",
        "/v1/scores/{id}/annotations/{layer}",
        Endpoint::PutScoreAnnotation,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/scores/{id}/annotations/{layer}",
        Endpoint::DeleteScoreAnnotation,
        Access::User,
    ),
    route(
        "GET",
        "/v1/scores/{id}/settings",
        Endpoint::GetScoreSettings,
        Access::User,
    ),
    route(
        "PUT",
        "/v1/scores/{id}/settings",
        Endpoint::PutScoreSettings,
        Access::User,
    ),
    route(
        "GET",
        "/v1/setlists/{id}/items/{item_id}/annotations",
        Endpoint::ListItemAnnotations,
        Access::User,
    ),
    route(
        "PUT",
        "/v1/setlists/{id}/items/{item_id}/annotations/{layer}",
        Endpoint::PutItemAnnotation,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/setlists/{id}/items/{item_id}/annotations/{layer}",
        Endpoint::DeleteItemAnnotation,
        Access::User,
    ),
    route(
        "GET",
        "/v1/setlists/{id}/items/{item_id}/settings",
        Endpoint::GetItemSettings,
        Access::User,
    ),
    route(
        "PUT",
        "/v1/setlists/{id}/items/{item_id}/settings",
        Endpoint::PutItemSettings,
        Access::User,
    ),
    route(
        "GET",
        "/v1/setlists/{id}/items/{item_id}/comments",
        Endpoint::ListComments,
        Access::User,
    ),
    route(
        "POST",
        "/v1/setlists/{id}/items/{item_id}/comments",
        Endpoint::AddComment,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/setlists/{id}/items/{item_id}/comments/{comment_id}",
        Endpoint::DeleteComment,
        Access::User,
    ),
    route(
        "POST",
        "/v1/setlists/{id}/members",
        Endpoint::AddMember,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/setlists/{id}/members/{user_id}",
        Endpoint::RemoveMember,
        Access::User,
    ),
    route(
        "PATCH",
        "/v1/setlists/{id}/members/{user_id}",
        Endpoint::PatchMember,
        Access::User,
    ),
    route(
        "POST",
        "/v1/setlists/{id}/links",
        Endpoint::CreateLink,
        Access::User,
    ),
    route(
        "GET",
        "/v1/setlists/{id}/links",
        Endpoint::ListLinks,
        Access::User,
    ),
    route(
        "DELETE",
        "/v1/setlists/{id}/links/{link_id}",
        Endpoint::RevokeLink,
        Access::User,
    ),
    route(
        "GET",
        "/v1/shared/{token}",
        Endpoint::Shared,
        Access::Public,
    ),
    route(
        "GET",
        "/v1/shared/{token}/items/{item_id}/download-url",
        Endpoint::SharedDownloadUrl,
        Access::Public,
    ),
    route(
        "POST",
        "/v1/setlists/{id}/live/ticket",
        Endpoint::LiveTicket,
        Access::User,
    ),
    route(
        "POST",
        "/v1/shared/{token}/live/ticket",
        Endpoint::SharedLiveTicket,
        Access::Public,
    ),
    raw("GET", "/v1/live/{ticket}", Endpoint::LiveConnect),
];

/// The outcome of matching a request line against [`ROUTES`].
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'r> {
    Found {
        route: &'r RouteDef,
        params: Vec<String>,
    },
    /// The path exists but not with this method.
    MethodNotAllowed {
        allow: Vec<&'static str>,
    },
    NotFound,
}

impl std::fmt::Debug for RouteDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

impl PartialEq for RouteDef {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.template == other.template
    }
}

impl Eq for RouteDef {}

/// Matches `method` and `path` (no query string). `HEAD` matches `GET` routes.
pub fn match_route(method: &str, path: &str) -> Match<'static> {
    let mut allow = Vec::new();
    for route in ROUTES {
        let Some(params) = match_template(route.template, path) else {
            continue;
        };
        if route.method == method || (method == "HEAD" && route.method == "GET") {
            return Match::Found { route, params };
        }
        if route.access != Access::Admin {
            allow.push(route.method);
        }
    }
    if allow.is_empty() {
        Match::NotFound
    } else {
        if allow.contains(&"GET") {
            allow.push("HEAD");
        }
        allow.push("OPTIONS");
        Match::MethodNotAllowed { allow }
    }
}

fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    // A trailing slash is a different resource; clients get 404 rather than a silent redirect.
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                if ps.is_empty() {
                    return None;
                }
                params.push(percent_decode(ps));
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

/// The Swagger UI files `/docs/{file}` may name: plain file names only.
pub fn is_docs_file(file: &str) -> bool {
    !file.is_empty()
        && file.len() <= 64
        && !file.starts_with('.')
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A path segment percent-decoded (clients may encode `:` in task ids, say); a segment that
/// does not decode to UTF-8 is kept as sent and simply matches nothing.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| segment.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_percent_decoded() {
        let Match::Found { params, .. } =
            match_route("POST", "/v1/admin/tasks/pdf_info%3Asco_1/retry")
        else {
            panic!()
        };
        assert_eq!(params, vec!["pdf_info:sco_1"]);
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%FF"), "%FF");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }

    #[test]
    fn known_routes_match_with_their_endpoint() {
        let Match::Found { route, params } = match_route("POST", "/v1/auth/login") else {
            panic!()
        };
        assert_eq!(route.endpoint, Endpoint::Login);
        assert!(params.is_empty());
    }

    #[test]
    fn a_known_path_with_another_method_is_405_with_allow() {
        let Match::MethodNotAllowed { allow } = match_route("DELETE", "/v1/me") else {
            panic!()
        };
        assert_eq!(allow, vec!["GET", "PATCH", "HEAD", "OPTIONS"]);
    }

    #[test]
    fn admin_paths_never_reveal_themselves_with_405() {
        assert_eq!(match_route("DELETE", "/v1/admin/users"), Match::NotFound);
        assert_eq!(match_route("GET", "/v1/admin/users/usr_1"), Match::NotFound);
        assert!(matches!(
            match_route("POST", "/v1/admin/tasks/pdf_info:sco_1/retry"),
            Match::Found { .. }
        ));
    }

    #[test]
    fn unknown_paths_are_404() {
        assert_eq!(match_route("GET", "/v1/nope"), Match::NotFound);
        assert_eq!(match_route("GET", "/v1/me/"), Match::NotFound);
        assert_eq!(match_route("GET", "/"), Match::NotFound);
    }

    #[test]
    fn head_is_served_by_get_routes() {
        assert!(matches!(
            match_route("HEAD", "/health"),
            Match::Found { .. }
        ));
    }

    #[test]
    fn templates_capture_segments() {
        assert_eq!(
            match_template("/v1/scores/{id}", "/v1/scores/sco_1"),
            Some(vec!["sco_1".to_owned()])
        );
        assert_eq!(match_template("/v1/scores/{id}", "/v1/scores/"), None);
        assert_eq!(match_template("/v1/scores/{id}", "/v1/scores/a/b"), None);
    }

    #[test]
    fn only_the_documented_routes_are_public() {
        let public: Vec<_> = ROUTES
            .iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| r.template)
            .collect();
        assert_eq!(
            public,
            vec![
                "/health",
                "/openapi.json",
                "/docs",
                "/docs/{file}",
                "/v1/auth/register",
                "/v1/auth/login",
                "/v1/auth/refresh",
                "/v1/blobs/{token}",
                "/v1/blobs/{token}",
                "/v1/shared/{token}",
                "/v1/shared/{token}/items/{item_id}/download-url",
                "/v1/shared/{token}/live/ticket",
                "/v1/live/{ticket}",
            ]
        );
    }
}
