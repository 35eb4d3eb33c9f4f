//! The OpenAPI 3.1 documents, generated from the route table: the public one at `/openapi.json`
//! (SPEC §6) and the admin routes' at `/v1/admin/openapi.json`, served to admins only (to anyone
//! else admin routes do not exist). Every [`Endpoint`] has exactly one [`Op`] (an exhaustive
//! match, so a new endpoint does not compile without its documentation), and tests compare the
//! two documents' operations with [`ROUTES`] both ways.

use serde_json::{json, Map, Value};

use super::routes::{Access, BodyKind, Endpoint, ROUTES};
use crate::domain::{bookmark, part, preset, score, setlist, user};
use crate::store::search;

/// A query parameter: name, what it takes, description.
type Param = (&'static str, Q, &'static str);

/// What a query parameter takes, as the server enforces it.
#[derive(Clone, Copy)]
enum Q {
    /// An integer in `min..=max`.
    Int(i64, i64),
    /// An integer from `min`, required.
    RequiredInt(i64),
    /// An opaque cursor from a previous page's `next_cursor`.
    Cursor,
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Enum(&'static [&'static str]),
    /// Text of at most this many characters (trimmed, no control characters).
    Text(usize),
    /// Any text of at most this many characters.
    Words(usize),
    /// A tag filter: repeatable (AND), at most this many.
    Tags(usize),
    /// A string matching this regular expression.
    Pattern(&'static str),
}

/// One operation's documentation.
struct Op {
    summary: &'static str,
    tag: &'static str,
    query: &'static [Param],
    /// Request body schema (a name under `components/schemas`).
    body: Option<&'static str>,
    /// Success status and its body schema (`None`: no body).
    ok: (u16, Option<&'static str>),
    /// Error statuses beyond those every route of its kind can answer.
    errors: &'static [u16],
    /// Other successful answers (status, body schema).
    also: &'static [(u16, Option<&'static str>)],
    /// Whether a body is required (an absent body reads as `{}`, so a body of optional fields
    /// is not).
    body_required: bool,
}

const fn op(
    summary: &'static str,
    tag: &'static str,
    body: Option<&'static str>,
    ok: (u16, Option<&'static str>),
    errors: &'static [u16],
) -> Op {
    Op {
        summary,
        tag,
        query: &[],
        body,
        ok,
        errors,
        also: &[],
        body_required: true,
    }
}

/// The answer while the queue makes a page image or an extract: 202 `{state}`.
const PENDING: &[(u16, Option<&str>)] = &[(202, Some("Pending"))];

const PAGE: &[Param] = &[
    ("limit", Q::Int(1, 100), "page size (default 20)"),
    (
        "cursor",
        Q::Cursor,
        "opaque cursor from the previous page's next_cursor",
    ),
];
const PAGE_QUERY: &[Param] = &[(
    "page",
    Q::Int(1, u32::MAX as i64),
    "1-based page: the URL of that page as a PNG, once the queue has rendered it (202 until then)",
)];
const PART_PAGE_QUERY: &[Param] = &[(
    "page",
    Q::Int(1, u32::MAX as i64),
    "1-based page of a pages part (page 1 is its first page): that page as a PNG, once rendered (202 until then); not for an uploaded part (422)",
)];
/// An item's (or a bookmark's) download: a page image, or a bookmark's pages extracted.
const ITEM_QUERY: &[Param] = &[
    PAGE_QUERY[0],
    (
        "extract",
        Q::Bool,
        "a bookmark's pages as a PDF of their own, made once by the queue (202 until then); not with page",
    ),
];
/// `?part=` of an item's download: `full`, or a part id (`domain::ids`: prefix, 32 hex digits).
const PART_CHOICE: &str = "^(full|prt_[0-9a-f]{32})$";
/// A member's item download (SPEC §10 "Who plays what"): `?part=` besides the item's own.
const MEMBER_ITEM_QUERY: &[Param] = &[
    (
        "part",
        Q::Pattern(PART_CHOICE),
        "`full` for the whole score, or a part id of the item's score; by default the part the caller plays (their assigned part, by name in any case) when the score has it, else the whole score. A pages part answers the score's URL with first_page and last_page",
    ),
    ITEM_QUERY[0],
    ITEM_QUERY[1],
];
/// `ordering` of `GET /v1/scores`: each field, ascending or (`-`) descending.
const ORDERINGS: &[&str] = &[
    "updated_at",
    "-updated_at",
    "created_at",
    "-created_at",
    "title",
    "-title",
    "composer",
    "-composer",
    "rating",
    "-rating",
    "difficulty",
    "-difficulty",
    "duration",
    "-duration",
    "size_bytes",
    "-size_bytes",
    "pages",
    "-pages",
];

#[expect(clippy::too_many_lines, reason = "one arm per endpoint is the point")]
fn describe(e: Endpoint) -> Op {
    use Endpoint as E;
    match e {
        E::Health => op(
            "Liveness and configuration problems",
            "platform",
            None,
            (200, Some("Health")),
            &[503],
        ),
        E::OpenApi => op(
            "This document (OpenAPI 3.1)",
            "platform",
            None,
            (200, Some("OpenApiDocument")),
            &[],
        ),
        E::Docs => op(
            "Swagger UI for this document",
            "platform",
            None,
            (200, None),
            &[],
        ),
        E::DocsAsset => op("Swagger UI's files", "platform", None, (200, None), &[404]),
        E::Register => op(
            "Create an account",
            "auth",
            Some("Register"),
            (201, Some("UserEnvelope")),
            &[409, 429],
        ),
        E::Login => op(
            "Log in: access and refresh tokens",
            "auth",
            Some("Login"),
            (200, Some("Tokens")),
            &[401, 403, 429],
        ),
        E::Refresh => op(
            "Rotate a refresh token",
            "auth",
            Some("Refresh"),
            (200, Some("Tokens")),
            &[401, 429],
        ),
        E::Logout => op(
            "End this session",
            "auth",
            Some("Refresh"),
            (204, None),
            &[],
        ),
        E::LogoutAll => op("End every session", "auth", None, (204, None), &[]),
        E::GetMe => op("The caller", "me", None, (200, Some("UserEnvelope")), &[]),
        E::PatchMe => Op {
            body_required: false,
            ..op(
                "Change display name or preferences",
                "me",
                Some("PatchMe"),
                (200, Some("UserEnvelope")),
                &[],
            )
        },
        E::ChangePassword => op(
            "Change password (other sessions end)",
            "me",
            Some("ChangePassword"),
            (204, None),
            &[],
        ),
        E::Usage => op("Quota and usage", "me", None, (200, Some("Usage")), &[]),
        E::CreateUpload => op(
            "Reserve quota and get an upload URL",
            "scores",
            Some("UploadRequest"),
            (201, Some("Upload")),
            &[409, 413, 429],
        ),
        E::PutBlob => op(
            "Upload bytes to a signed URL (Worker presign mode)",
            "blobs",
            None,
            (200, None),
            &[400, 401, 404, 409, 413, 415, 502],
        ),
        E::GetBlob => op(
            "Download through a signed URL (Range supported)",
            "blobs",
            None,
            (200, None),
            &[206, 304, 401, 404, 416, 502],
        ),
        E::CreateScore => op(
            "Create a score from an upload",
            "scores",
            Some("ScoreCreate"),
            (201, Some("ScoreEnvelope")),
            &[404, 409, 502],
        ),
        E::ListScores => Op {
            query: &[
                (
                    "query",
                    Q::Words(search::MAX_QUERY_CHARS),
                    "full-text search over title, composer and notes",
                ),
                (
                    "tag",
                    Q::Tags(search::MAX_TAG_FILTERS),
                    "tag filter (repeatable, AND)",
                ),
                (
                    "composer",
                    Q::Text(score::TEXT_MAX_CHARS),
                    "exact, case-insensitive",
                ),
                (
                    "instrumentation",
                    Q::Text(score::TEXT_MAX_CHARS),
                    "exact, case-insensitive",
                ),
                (
                    "preset",
                    Q::Text(preset::NAME_MAX_CHARS),
                    "preset id: its instrumentation, or its genre as a tag",
                ),
                (
                    "ordering",
                    Q::Enum(ORDERINGS),
                    "field, `-` for descending (default -updated_at)",
                ),
                ("limit", Q::Int(1, search::MAX_LIMIT), "default 20"),
                ("cursor", Q::Cursor, "opaque cursor from next_cursor"),
            ],
            ..op(
                "List and search scores",
                "scores",
                None,
                (200, Some("ScoreList")),
                &[],
            )
        },
        E::GetScore => op(
            "A score",
            "scores",
            None,
            (200, Some("ScoreEnvelope")),
            &[404],
        ),
        E::PatchScore => Op {
            body_required: false,
            ..op(
                "Edit a score (records a version)",
                "scores",
                Some("ScorePatch"),
                (200, Some("ScoreEnvelope")),
                &[404],
            )
        },
        E::DeleteScore => op(
            "Move a score to the trash (its bytes still count until it is purged)",
            "scores",
            None,
            (204, None),
            &[404],
        ),
        E::ListTrash => Op {
            query: PAGE,
            ..op(
                "Your trashed scores, most recently trashed first",
                "trash",
                None,
                (200, Some("Trash")),
                &[],
            )
        },
        E::RestoreScore => Op {
            body_required: false,
            ..op(
                "Restore a trashed score: back in lists and in every setlist it was in (409 if a live score has the same file)",
                "trash",
                None,
                (200, Some("ScoreEnvelope")),
                &[404, 409],
            )
        },
        E::PurgeScore => op(
            "Purge a trashed score now: its files, parts, bookmarks and annotations go, its bytes are released",
            "trash",
            None,
            (204, None),
            &[404],
        ),
        E::EmptyTrash => op(
            "Empty the trash (up to 100 scores a call; `more` says whether to call again)",
            "trash",
            None,
            (200, Some("TrashEmptied")),
            &[],
        ),
        E::DownloadUrl => Op {
            query: PAGE_QUERY,
            also: PENDING,
            ..op(
                "Presigned download URL",
                "scores",
                None,
                (200, Some("DownloadUrl")),
                &[404],
            )
        },
        E::CreatePart => op(
            "Add a part: a PDF of its own (an upload, counted and processed like a score) or a page range of the score",
            "parts",
            Some("PartCreate"),
            (201, Some("PartEnvelope")),
            &[404, 409, 502],
        ),
        E::ListParts => op(
            "A score's parts, by name",
            "parts",
            None,
            (200, Some("Parts")),
            &[404],
        ),
        E::PatchPart => Op {
            body_required: false,
            ..op(
                "Rename a part, or change a pages part's range",
                "parts",
                Some("PartPatch"),
                (200, Some("PartEnvelope")),
                &[404, 409],
            )
        },
        E::DeletePart => op(
            "Delete a part (and its file)",
            "parts",
            None,
            (204, None),
            &[404],
        ),
        E::PartDownloadUrl => Op {
            query: PART_PAGE_QUERY,
            also: PENDING,
            ..op(
                "Presigned download URL of a part (a pages part: the score's file with first_page and last_page)",
                "parts",
                None,
                (200, Some("DownloadUrl")),
                &[404],
            )
        },
        E::Favorite => op(
            "Mark as favorite (idempotent)",
            "activity",
            None,
            (204, None),
            &[404],
        ),
        E::Unfavorite => op(
            "Unmark favorite (idempotent)",
            "activity",
            None,
            (204, None),
            &[404],
        ),
        E::Favorites => Op {
            query: PAGE,
            ..op(
                "Favorite scores, newest first",
                "activity",
                None,
                (200, Some("Favorites")),
                &[],
            )
        },
        E::Opened => op(
            "Record that the reader opened a score",
            "activity",
            None,
            (204, None),
            &[404],
        ),
        E::History => Op {
            query: PAGE,
            ..op(
                "Recently opened, newest first",
                "activity",
                None,
                (200, Some("History")),
                &[],
            )
        },
        E::Versions => Op {
            query: PAGE,
            ..op(
                "Versions of a score, oldest first",
                "activity",
                None,
                (200, Some("Versions")),
                &[404],
            )
        },
        E::CompareVersions => Op {
            query: &[
                (
                    "from",
                    Q::RequiredInt(0),
                    "version number (0: as created); an unknown or pruned one is 422",
                ),
                ("to", Q::RequiredInt(0), "version number"),
            ],
            ..op(
                "Field-level diff between two versions",
                "activity",
                None,
                (200, Some("Compare")),
                &[404],
            )
        },
        E::Stats => op(
            "The caller's statistics",
            "me",
            None,
            (200, Some("MeStats")),
            &[],
        ),
        E::CreateBookmark => op(
            "Bookmark a page range of a songbook (a virtual score)",
            "bookmarks",
            Some("BookmarkCreate"),
            (201, Some("BookmarkEnvelope")),
            &[404],
        ),
        E::ImportBookmarks => op(
            "Import a CSV index of a songbook: valid lines become bookmarks, bad ones are reported",
            "bookmarks",
            Some("BookmarkImportRequest"),
            (201, Some("BookmarkImport")),
            &[404, 409],
        ),
        E::ListBookmarks => Op {
            query: &[
                (
                    "query",
                    Q::Words(search::MAX_QUERY_CHARS),
                    "full-text search over title and composer",
                ),
                (
                    "tag",
                    Q::Tags(search::MAX_TAG_FILTERS),
                    "tag filter (repeatable, AND)",
                ),
                (
                    "score_id",
                    Q::Words(bookmark::SCORE_FILTER_MAX_CHARS),
                    "only the bookmarks of this songbook",
                ),
                (
                    "limit",
                    Q::Int(1, bookmark::LIST_LIMIT_MAX),
                    "default 20",
                ),
                ("cursor", Q::Cursor, "opaque cursor from next_cursor"),
            ],
            ..op(
                "List and search bookmarks, by title",
                "bookmarks",
                None,
                (200, Some("BookmarkList")),
                &[],
            )
        },
        E::GetBookmark => op(
            "A bookmark",
            "bookmarks",
            None,
            (200, Some("BookmarkEnvelope")),
            &[404],
        ),
        E::PatchBookmark => Op {
            body_required: false,
            ..op(
                "Edit a bookmark (a new page range forgets its extracted PDF)",
                "bookmarks",
                Some("BookmarkPatch"),
                (200, Some("BookmarkEnvelope")),
                &[404],
            )
        },
        E::DeleteBookmark => op(
            "Delete a bookmark (its setlist items go, with a history event)",
            "bookmarks",
            None,
            (204, None),
            &[404],
        ),
        E::BookmarkDownloadUrl => Op {
            query: ITEM_QUERY,
            also: PENDING,
            ..op(
                "The songbook's URL with the bookmark's pages, or (extract=true) a PDF of those pages",
                "bookmarks",
                None,
                (200, Some("DownloadUrl")),
                &[404],
            )
        },
        E::ListSetlists => Op {
            query: &[
                ("shared", Q::Bool, "true: setlists others shared with me"),
                ("limit", Q::Int(1, 100), "default 20"),
                ("cursor", Q::Cursor, "opaque cursor from next_cursor"),
            ],
            ..op(
                "My setlists, or those shared with me",
                "setlists",
                None,
                (200, Some("SetlistList")),
                &[],
            )
        },
        E::CreateSetlist => op(
            "Create a setlist",
            "setlists",
            Some("SetlistCreate"),
            (201, Some("SetlistEnvelope")),
            &[],
        ),
        E::GetSetlist => op(
            "A setlist with its items in order",
            "setlists",
            None,
            (200, Some("SetlistEnvelope")),
            &[404],
        ),
        E::PatchSetlist => Op {
            body_required: false,
            ..op(
                "Edit a setlist (owner)",
                "setlists",
                Some("SetlistFields"),
                (200, Some("SetlistEnvelope")),
                &[403, 404, 409],
            )
        },
        E::DeleteSetlist => op(
            "Delete a setlist (owner)",
            "setlists",
            None,
            (204, None),
            &[403, 404],
        ),
        E::PostItems => Op {
            also: &[(200, Some("SetlistEnvelope"))],
            ..op(
                "Add an item (201), or replace the whole order (200)",
                "setlists",
                Some("ItemsRequest"),
                (201, Some("SetlistEnvelope")),
                &[403, 404, 409],
            )
        },
        E::PatchItem => Op {
            body_required: false,
            ..op(
                "Move or annotate an item",
                "setlists",
                Some("ItemPatch"),
                (200, Some("SetlistEnvelope")),
                &[403, 404, 409],
            )
        },
        E::DeleteItem => Op {
            query: &[(
                "version",
                Q::Int(1, i64::MAX),
                "expected setlist version (409 when stale)",
            )],
            ..op(
                "Remove an item",
                "setlists",
                None,
                (204, None),
                &[403, 404, 409],
            )
        },
        E::RequestBook => Op {
            body_required: false,
            ..op(
                "Ask for the setlist's book for your part (the current version), made by the queue",
                "setlists",
                None,
                (202, Some("BookEnvelope")),
                &[404, 429],
            )
        },
        E::GetBook => op(
            "The newest book asked for your part: pending, running, ok (with its URL) or failed",
            "setlists",
            None,
            (200, Some("BookEnvelope")),
            &[404],
        ),
        E::RequestExport => Op {
            body_required: false,
            ..op(
                "Ask for an export of your library (one ZIP: manifest.json, index.csv, files/), made by the queue; while one is pending or running, that one",
                "exports",
                None,
                (202, Some("ExportEnvelope")),
                &[429],
            )
        },
        E::ListExports => op(
            "Your newest exports (at most 20)",
            "exports",
            None,
            (200, Some("ExportList")),
            &[],
        ),
        E::GetExport => op(
            "An export: pending, running, done (with a short-lived download URL) or failed",
            "exports",
            None,
            (200, Some("ExportEnvelope")),
            &[404],
        ),
        E::CreateImport => op(
            "Import an archive made by the export, uploaded as application/zip: read, planned, copied and committed by the queue",
            "imports",
            Some("ImportRequest"),
            (202, Some("ImportEnvelope")),
            &[404, 409, 502],
        ),
        E::GetImport => op(
            "An import: pending, running, done (with its report) or failed (with the reason)",
            "imports",
            None,
            (200, Some("ImportEnvelope")),
            &[404],
        ),
        E::ItemDownloadUrl => Op {
            query: MEMBER_ITEM_QUERY,
            also: PENDING,
            ..op(
                "Download an item's PDF through the setlist",
                "setlists",
                None,
                (200, Some("DownloadUrl")),
                &[404],
            )
        },
        E::ListScoreAnnotations => op(
            "Your annotation layers on your score",
            "annotations",
            None,
            (200, Some("Annotations")),
            &[404],
        ),
        E::PutScoreAnnotation => Op {
            also: &[(201, Some("AnnotationEnvelope"))],
            ..op(
                "Create (201, no version) or replace (200, the version you saw) a layer on your score; shared: members of setlists holding the score read it",
                "annotations",
                Some("AnnotationRequest"),
                (200, Some("AnnotationEnvelope")),
                &[404, 409],
            )
        },
        E::DeleteScoreAnnotation => op(
            "Delete a layer of your score (its bytes return to your quota)",
            "annotations",
            None,
            (204, None),
            &[404],
        ),
        E::ListItemAnnotations => op(
            "An item's layers for you: those the score's owner shared, and your own on the item",
            "annotations",
            None,
            (200, Some("Annotations")),
            &[404],
        ),
        E::PutItemAnnotation => Op {
            also: &[(201, Some("AnnotationEnvelope"))],
            ..op(
                "Create (201) or replace (200) your private layer on an item (members and owner)",
                "annotations",
                Some("ItemAnnotationRequest"),
                (200, Some("AnnotationEnvelope")),
                &[404, 409],
            )
        },
        E::DeleteItemAnnotation => op(
            "Delete your layer on an item",
            "annotations",
            None,
            (204, None),
            &[404],
        ),
        E::GetScoreSettings => op(
            "Your performance settings for your score ({} when none)",
            "annotations",
            None,
            (200, Some("SettingsEnvelope")),
            &[404],
        ),
        E::PutScoreSettings => Op {
            body_required: false,
            ..op(
                "Patch your performance settings for your score (absent keys kept, null clears)",
                "annotations",
                Some("SettingsPatch"),
                (200, Some("SettingsEnvelope")),
                &[404],
            )
        },
        E::GetItemSettings => op(
            "Your performance settings for an item ({} when none)",
            "annotations",
            None,
            (200, Some("SettingsEnvelope")),
            &[404],
        ),
        E::PutItemSettings => Op {
            body_required: false,
            ..op(
                "Patch your performance settings for an item (absent keys kept, null clears)",
                "annotations",
                Some("SettingsPatch"),
                (200, Some("SettingsEnvelope")),
                &[404],
            )
        },
        E::ListComments => op(
            "An item's comments, newest first",
            "setlists",
            None,
            (200, Some("Comments")),
            &[404],
        ),
        E::AddComment => op(
            "Comment on an item",
            "setlists",
            Some("CommentRequest"),
            (201, Some("CommentEnvelope")),
            &[404],
        ),
        E::DeleteComment => op(
            "Delete a comment (author or owner)",
            "setlists",
            None,
            (204, None),
            &[403, 404],
        ),
        E::AddMember => op(
            "Invite a registered user (owner)",
            "sharing",
            Some("MemberRequest"),
            (201, Some("MemberEnvelope")),
            &[403, 404],
        ),
        E::RemoveMember => op(
            "Remove a member, or leave",
            "sharing",
            None,
            (204, None),
            &[403, 404],
        ),
        E::PatchMember => op(
            "Change a member's role or part (owner), or choose one's own part",
            "sharing",
            Some("MemberPatch"),
            (200, Some("MemberEnvelope")),
            &[403, 404],
        ),
        E::CreateLink => Op {
            body_required: false,
            ..op(
                "Create a public read-only link (owner)",
                "sharing",
                Some("LinkRequest"),
                (201, Some("LinkEnvelope")),
                &[403, 404],
            )
        },
        E::ListLinks => op(
            "Public links (owner)",
            "sharing",
            None,
            (200, Some("Links")),
            &[403, 404],
        ),
        E::RevokeLink => op(
            "Revoke a public link (owner)",
            "sharing",
            None,
            (204, None),
            &[403, 404],
        ),
        E::Shared => op(
            "A setlist through a public link",
            "sharing",
            None,
            (200, Some("SetlistEnvelope")),
            &[404, 429],
        ),
        E::SharedDownloadUrl => Op {
            query: ITEM_QUERY,
            also: PENDING,
            ..op(
                "Download an item through a public link",
                "sharing",
                None,
                (200, Some("DownloadUrl")),
                &[404, 429],
            )
        },
        E::LiveTicket => Op {
            body_required: false,
            ..op(
                "A ticket to the setlist's live room (owner or member; single use, 60 s)",
                "live",
                None,
                (201, Some("LiveTicket")),
                &[404],
            )
        },
        E::SharedLiveTicket => Op {
            body_required: false,
            ..op(
                "A guest's ticket to the live room through a public link (single use, 60 s)",
                "live",
                None,
                (201, Some("LiveTicket")),
                &[404, 429],
            )
        },
        E::LiveConnect => Op {
            query: &[(
                "since",
                Q::Int(0, i64::MAX),
                "resume: replay the room's events after this seq",
            )],
            ..op(
                "Join the live room: a WebSocket upgrade (101); frames in the README (SPEC §9)",
                "live",
                None,
                (101, None),
                &[404, 422, 426, 503],
            )
        },
        E::ListPresets => Op {
            query: &[(
                "kind",
                Q::Enum(&["instrumentation", "genre"]),
                "only presets of this kind",
            )],
            ..op(
                "Built-in and own presets",
                "presets",
                None,
                (200, Some("Presets")),
                &[],
            )
        },
        E::CreatePreset => op(
            "Add an own preset",
            "presets",
            Some("PresetRequest"),
            (201, Some("PresetEnvelope")),
            &[409],
        ),
        E::DeletePreset => op(
            "Delete an own preset",
            "presets",
            None,
            (204, None),
            &[403, 404],
        ),
        E::AdminUsers => Op {
            query: &[
                (
                    "q",
                    Q::Words(crate::domain::admin::SEARCH_MAX_CHARS),
                    "literal text in email or display name",
                ),
                (
                    "limit",
                    Q::Int(1, crate::domain::admin::USERS_PAGE_MAX),
                    "default 20",
                ),
                ("cursor", Q::Cursor, "opaque cursor from next_cursor"),
            ],
            ..op(
                "Search users (admin)",
                "admin",
                None,
                (200, Some("AdminUsers")),
                &[],
            )
        },
        E::AdminPatchUser => Op {
            body_required: false,
            ..op(
                "Set quota, role, disabled (admin)",
                "admin",
                Some("AdminUserPatch"),
                (200, Some("AdminUserEnvelope")),
                &[],
            )
        },
        E::AdminStats => op(
            "Overview statistics (admin)",
            "admin",
            None,
            (200, Some("AdminStats")),
            &[],
        ),
        E::AdminLiveRoom => op(
            "A setlist's live room: sockets open, frames its handlers ran since it woke (admin)",
            "admin",
            None,
            (200, Some("AdminLiveRoom")),
            &[],
        ),
        E::AdminTasks => Op {
            query: &[(
                "limit",
                Q::Int(1, crate::domain::admin::TASKS_PAGE_MAX),
                "default 20",
            )],
            ..op(
                "Failed tasks and dead letters (admin)",
                "admin",
                None,
                (200, Some("Tasks")),
                &[],
            )
        },
        E::AdminRetryTask => op(
            "Re-run a failed task (admin)",
            "admin",
            None,
            (202, Some("TaskEnvelope")),
            &[],
        ),
        E::AdminOpenApi => op(
            "The admin routes' OpenAPI document (admin)",
            "admin",
            None,
            (200, Some("OpenApiDocument")),
            &[],
        ),
    }
}

/// Deployment settings the document states as bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `MAX_UPLOAD_BYTES`: the largest `size` a PDF upload may declare.
    pub max_upload_bytes: i64,
    /// `MAX_IMPORT_BYTES`: the largest `size` an archive upload may declare.
    pub max_import_bytes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_upload_bytes: score::DEFAULT_MAX_UPLOAD_BYTES,
            max_import_bytes: score::DEFAULT_MAX_IMPORT_BYTES,
        }
    }
}

/// Who a document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every route but the admin ones (`/openapi.json`).
    Public,
    /// The admin routes only (`/v1/admin/openapi.json`).
    Admin,
}

fn query_schema(q: Q) -> Value {
    match q {
        Q::Int(min, max) => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Q::RequiredInt(min) => json!({ "type": "integer", "minimum": min, "maximum": i64::MAX }),
        Q::Cursor => t("string"),
        Q::Bool => t("boolean"),
        Q::Enum(words) => json!({ "type": "string", "enum": words }),
        Q::Text(max) => text(max, false),
        Q::Words(max) => json!({ "type": "string", "maxLength": max }),
        Q::Pattern(pattern) => json!({ "type": "string", "pattern": pattern }),
        Q::Tags(max) => {
            json!({ "type": "array", "maxItems": max, "items": text(score::TAG_MAX_CHARS, false) })
        }
    }
}

/// Control characters the server refuses (`char::is_control`), as a regex class body; with
/// `lines`, tab and newline are allowed.
fn control(lines: bool) -> &'static str {
    if lines {
        "\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F"
    } else {
        "\\u0000-\\u001F\\u007F-\\u009F"
    }
}

/// Required text as `domain::score::text` checks it: at most `max` characters, something other
/// than white space, no control characters (tab and newline allowed in multi-line text).
fn text(max: usize, lines: bool) -> Value {
    let c = control(lines);
    let any = control(false);
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": max,
        "pattern": format!("^[^{c}]*[^\\s{any}][^{c}]*$"),
    })
}

/// Optional text (absent keeps, `null` or blank clears): at most `max` characters, no control
/// characters but tab and newline.
fn opt_text(max: usize) -> Value {
    json!({
        "type": ["string", "null"],
        "maxLength": max,
        "pattern": format!("^[^{}]*$", control(true)),
    })
}

/// An integer in `min..=max`, `null` allowed when `nullable`.
fn int_range(min: i64, max: i64, nullable: bool) -> Value {
    let ty = if nullable {
        json!(["integer", "null"])
    } else {
        json!("integer")
    };
    json!({ "type": ty, "minimum": min, "maximum": max })
}

/// What a bookmark create or PATCH accepts (`domain::bookmark::BookmarkFields`).
fn bookmark_input() -> Vec<(&'static str, Value)> {
    let page = int_range(1, bookmark::PAGE_MAX, false);
    vec![
        ("title", text(score::TITLE_MAX_CHARS, true)),
        ("first_page", page.clone()),
        ("last_page", page),
        ("composer", opt_text(score::TEXT_MAX_CHARS)),
        ("key", opt_text(score::TEXT_MAX_CHARS)),
        (
            "tags",
            json!({ "type": ["array", "null"], "maxItems": score::TAGS_MAX, "items": text(score::TAG_MAX_CHARS, false) }),
        ),
    ]
}

/// A setlist version to compare and swap on (`null` allowed when `nullable`: latest).
fn version(nullable: bool) -> Value {
    int_range(1, i64::MAX, nullable)
}

fn email() -> Value {
    json!({ "type": "string", "format": "email", "maxLength": 254 })
}

/// A new password (`domain::user::Password`): 10 characters or more, at most 1 024 bytes, two
/// kinds of characters, not the email — the last two are the server's to tell (422).
fn password() -> Value {
    json!({
        "type": "string",
        "minLength": user::PASSWORD_MIN_CHARS,
        "maxLength": user::PASSWORD_MAX_BYTES / 4,
        "description": "at least two kinds of characters (letters, digits, others), not the email",
    })
}

/// A path parameter's schema: annotation layer names have their own alphabet (a PUT to any other
/// is 422); every other segment is an id or token the server looks up (404 when unknown).
fn path_schema(name: &str) -> Value {
    match name {
        "layer" => json!({ "type": "string", "pattern": "^[a-z0-9-]{1,40}$" }),
        _ => json!({ "type": "string" }),
    }
}

/// `POST /v1/uploads` of one media type, up to its own size.
fn upload_request(mime: &str, max_bytes: i64) -> Value {
    closed(
        &["filename", "size", "mime", "sha256"],
        &[
            ("filename", text(score::FILENAME_MAX_CHARS, false)),
            ("size", int_range(1, max_bytes, false)),
            ("mime", json!({"const": mime})),
            (
                "sha256",
                json!({"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}),
            ),
        ],
    )
}

/// A request body object: only these fields (the server refuses unknown ones).
fn closed(required: &[&str], props: &[(&str, Value)]) -> Value {
    let mut o = obj(required, props);
    o["additionalProperties"] = json!(false);
    o
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": reference("Error") } },
    })
}

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Malformed request",
        401 => "Missing, invalid or expired token (E002)",
        403 => "Forbidden (E006)",
        404 => "Not found (E003)",
        409 => "Conflict",
        413 => "Too large, or over quota (E001)",
        415 => "Not JSON, or not a PDF (E004)",
        416 => "Range not satisfiable",
        422 => "Validation failed: one message per field",
        429 => "Rate limited; see Retry-After",
        500 => "Internal error, or the server is misconfigured (E000)",
        502 => "Object storage failed; try again (E005)",
        101 => "Switching Protocols: the WebSocket is open",
        426 => "Upgrade required: open this URL as a WebSocket (E014)",
        503 => "Unavailable: D1 does not answer, or the live room is full (E015)",
        _ => "Error",
    }
}

fn operation(route: &super::routes::RouteDef) -> Value {
    let doc = describe(route.endpoint);
    let mut parameters: Vec<Value> = route
        .template
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": path_schema(name) }))
        .collect();
    parameters.extend(doc.query.iter().map(|(name, q, description)| {
        let mut p = json!({
            "name": name,
            "in": "query",
            "required": matches!(q, Q::RequiredInt(_)),
            "description": description,
            "schema": query_schema(*q),
        });
        if matches!(q, Q::Tags(_)) {
            p["style"] = json!("form");
            p["explode"] = json!(true);
        }
        p
    }));
    let mut responses = Map::new();
    for (status, schema) in doc.also {
        let mut answer = json!({ "description": status_text(*status) });
        if let Some(schema) = schema {
            answer["content"] = json!({ "application/json": { "schema": reference(schema) } });
        }
        if *status == 202 {
            answer["headers"] = json!({ "Retry-After": { "description": "seconds before asking again", "schema": { "type": "integer" } } });
        }
        responses.insert(status.to_string(), answer);
    }
    let (status, schema) = doc.ok;
    let success = match (schema, route.endpoint) {
        (Some(s), _) => json!({
            "description": status_text(status),
            "content": { "application/json": { "schema": reference(s) } },
        }),
        (None, Endpoint::GetBlob) => json!({
            "description": "The file's bytes",
            // Every type a download token may name: scores, parts and books, thumbnails and
            // page images, export archives.
            "content": { (score::PDF_MIME): { "schema": { "type": "string", "format": "binary" } },
                         "image/png": { "schema": { "type": "string", "format": "binary" } },
                         (score::ZIP_MIME): { "schema": { "type": "string", "format": "binary" } } },
        }),
        (None, Endpoint::Docs | Endpoint::DocsAsset) => json!({
            "description": "Swagger UI (HTML, JavaScript, CSS), under a strict Content-Security-Policy",
            "content": {
                "text/html": { "schema": { "type": "string" } },
                "text/css": { "schema": { "type": "string" } },
                "text/javascript": { "schema": { "type": "string" } },
                "image/png": { "schema": { "type": "string", "format": "binary" } },
            },
        }),
        (None, _) => json!({ "description": status_text(status) }),
    };
    responses.insert(status.to_string(), success);
    // Any operation can fail inside (a misconfigured deployment, a bug): in the envelope too.
    let mut errors: Vec<u16> = doc.errors.to_vec();
    errors.push(500);
    match route.access {
        Access::User | Access::UserBatched => errors.extend([401, 429]),
        Access::Admin => errors.extend([404]),
        Access::Public => {}
    }
    if route.body == BodyKind::Json && doc.body.is_some() {
        errors.extend([400, 413, 415, 422]);
    }
    if !doc.query.is_empty() {
        errors.push(422);
    }
    errors.sort_unstable();
    errors.dedup();
    for e in errors {
        let response = if matches!(e, 206 | 304) {
            json!({ "description": status_text(e) })
        } else {
            error_response(status_text(e))
        };
        responses.insert(e.to_string(), response);
    }
    // Every operation takes the client's last D1 bookmark, and every answer but the WebSocket's
    // (the room's own response) carries the latest one (`api::replicas`).
    parameters.push(json!({ "$ref": "#/components/parameters/Bookmark" }));
    for (status, answer) in &mut responses {
        if status != "101" {
            answer["headers"][super::replicas::HEADER] =
                json!({ "$ref": "#/components/headers/Bookmark" });
        }
    }
    let mut op = json!({
        "operationId": format!("{:?}", route.endpoint),
        "summary": doc.summary,
        "tags": [doc.tag],
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = doc.body {
        op["requestBody"] = json!({
            "required": doc.body_required,
            "content": { "application/json": { "schema": reference(body) } },
        });
    }
    if route.endpoint == Endpoint::PutBlob {
        op["requestBody"] = json!({
            "required": true,
            "content": {
                "application/pdf": { "schema": { "type": "string", "format": "binary" } },
                "application/zip": { "schema": { "type": "string", "format": "binary" } },
            },
        });
    }
    if route.access == Access::Public {
        op["security"] = json!([]);
    }
    op
}

/// `x-d1-bookmark` on a request. Any text is taken (the schema says so: a malformed one is
/// ignored, never refused).
const BOOKMARK_SENT: &str = "The D1 bookmark of the last answer this client had (read replicas): a read is served by a database copy at least that fresh, so the client reads its own writes. Lower-case hex groups joined by dashes, at most 128 characters; empty is none. Anything else is ignored and the read goes to the primary. Writes always start on the primary.";

/// `x-d1-bookmark` on a response.
const BOOKMARK_ANSWERED: &str = "The latest D1 bookmark of this request's database session (or the client's own when it reached no database): send it back on the next request.";

/// The document for `audience`. Its server is `/`: relative to wherever it is served from, so
/// "Try it out" works locally and in production alike.
pub fn document(version: &str, audience: Audience, settings: &Settings) -> Value {
    let mut paths = Map::new();
    let admin = |route: &&super::routes::RouteDef| {
        (route.access == Access::Admin) == (audience == Audience::Admin)
    };
    for route in ROUTES.iter().filter(admin) {
        let path = paths
            .entry(route.template.to_owned())
            .or_insert_with(|| json!({}));
        path[route.method.to_ascii_lowercase()] = operation(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ScoreMate API",
            "version": version,
            "description": "Sheet-music libraries at the edge: scores, setlists, sharing. Errors always use the envelope `{\"error\": {code, id, message, fields}}`.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            },
            "parameters": {
                "Bookmark": {
                    "name": super::replicas::HEADER,
                    "in": "header",
                    "required": false,
                    "description": BOOKMARK_SENT,
                    "schema": { "type": "string" },
                },
            },
            "headers": {
                "Bookmark": {
                    "description": BOOKMARK_ANSWERED,
                    "schema": { "type": "string" },
                },
            },
            "schemas": schemas(settings),
        },
    })
}

fn obj(required: &[&str], props: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    json!({ "type": "object", "required": required, "properties": properties })
}

fn t(ty: &str) -> Value {
    json!({ "type": ty })
}

fn nullable(ty: &str) -> Value {
    json!({ "type": [ty, "null"] })
}

fn array_of(schema: Value) -> Value {
    json!({ "type": "array", "items": schema })
}

fn envelope(key: &str, schema: &str) -> Value {
    obj(&[key], &[(key, reference(schema))])
}

fn list(key: &str, schema: &str, cursor: &str) -> Value {
    obj(
        &[key],
        &[
            (key, array_of(reference(schema))),
            (cursor, nullable("string")),
        ],
    )
}

#[expect(clippy::too_many_lines, reason = "the schema catalogue")]
fn schemas(limits: &Settings) -> Value {
    let s = t("string");
    let i = t("integer");
    let ns = nullable("string");
    // What PATCH and create accept (domain::score::ScoreFields), bounds included.
    let score_input: Vec<(&str, Value)> = vec![
        ("title", text(score::TITLE_MAX_CHARS, true)),
        ("composer", opt_text(score::TEXT_MAX_CHARS)),
        ("arranger", opt_text(score::TEXT_MAX_CHARS)),
        ("instrumentation", opt_text(score::TEXT_MAX_CHARS)),
        ("key", opt_text(score::TEXT_MAX_CHARS)),
        ("notes", opt_text(score::NOTES_MAX_CHARS)),
        (
            "tags",
            json!({ "type": ["array", "null"], "maxItems": score::TAGS_MAX, "items": text(score::TAG_MAX_CHARS, false) }),
        ),
        ("rating", int_range(1, 5, true)),
        ("difficulty", int_range(1, 5, true)),
        ("duration", int_range(1, score::DURATION_MAX_SECONDS, true)),
    ];
    // A part name (domain::part::name): one line, 1..=100 characters.
    let part_name = text(part::NAME_MAX_CHARS, false);
    let mut part_assignment = part_name.clone();
    part_assignment["type"] = json!(["string", "null"]);
    let mut score_create = score_input.clone();
    score_create.push(("upload_id", s.clone()));
    // What create and PATCH accept (domain::setlist::SetlistFields).
    let setlist_input = [
        ("name", text(score::TITLE_MAX_CHARS, true)),
        ("description", opt_text(setlist::DESCRIPTION_MAX_CHARS)),
        (
            "event_date",
            json!({ "type": ["string", "null"], "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }),
        ),
        ("venue", opt_text(score::TEXT_MAX_CHARS)),
        ("notes", opt_text(score::NOTES_MAX_CHARS)),
    ];
    let mut setlist_patch = setlist_input.to_vec();
    setlist_patch.push(("version", version(true)));
    let change = obj(
        &["field"],
        &[("field", s.clone()), ("from", json!({})), ("to", json!({}))],
    );
    let entries: Vec<(&str, Value)> = vec![
        ("OpenApiDocument", t("object")),
        (
            "Pending",
            obj(
                &["state"],
                &[("state", json!({"enum": ["pending", "running"]}))],
            ),
        ),
        (
            "BookmarkCreate",
            closed(&["title", "first_page", "last_page"], &bookmark_input()),
        ),
        ("BookmarkPatch", closed(&[], &bookmark_input())),
        ("BookmarkEnvelope", envelope("bookmark", "Bookmark")),
        ("BookmarkList", list("bookmarks", "Bookmark", "next_cursor")),
        (
            "BookmarkImportRequest",
            closed(
                &["csv"],
                &[(
                    "csv",
                    json!({
                        "type": "string",
                        "maxLength": bookmark::CSV_MAX_BYTES,
                        "description": format!(
                            "one line per piece: title,first_page,last_page[,composer[,key]] (RFC 4180 quoting, header optional, at most {} lines and {} bytes)",
                            bookmark::CSV_MAX_LINES, bookmark::CSV_MAX_BYTES
                        ),
                    }),
                )],
            ),
        ),
        (
            "PresetRequest",
            json!({ "oneOf": [
                closed(&["kind", "name"], &[
                    ("kind", json!({"const": "instrumentation"})),
                    ("name", text(preset::NAME_MAX_CHARS, false)),
                    ("parts", json!({ "type": ["array", "null"], "maxItems": preset::PARTS_MAX, "items": text(preset::PART_MAX_CHARS, false) })),
                ]),
                closed(&["kind", "name"], &[
                    ("kind", json!({"const": "genre"})),
                    ("name", text(preset::NAME_MAX_CHARS, false)),
                    ("parts", json!({ "type": "null" })),
                ]),
            ] }),
        ),
        (
            "Preset",
            obj(
                &["id", "kind", "name", "parts", "builtin"],
                &[
                    ("id", t("string")),
                    ("kind", t("string")),
                    ("name", t("string")),
                    ("parts", array_of(t("string"))),
                    ("builtin", t("boolean")),
                    ("created_at", t("string")),
                ],
            ),
        ),
        ("PresetEnvelope", envelope("preset", "Preset")),
        (
            "Presets",
            obj(&["presets"], &[("presets", array_of(reference("Preset")))]),
        ),
        (
            "Error",
            obj(
                &["error"],
                &[(
                    "error",
                    obj(
                        &["code", "id", "message", "fields"],
                        &[
                            ("code", s.clone()),
                            ("id", json!({ "type": "string", "pattern": "^E[0-9]{3}$" })),
                            ("message", s.clone()),
                            (
                                "fields",
                                json!({ "type": "object", "additionalProperties": { "type": "string" } }),
                            ),
                        ],
                    ),
                )],
            ),
        ),
        (
            "Health",
            obj(
                &["status"],
                &[
                    ("status", s.clone()),
                    ("version", s.clone()),
                    ("d1", s.clone()),
                    ("problems", array_of(s.clone())),
                ],
            ),
        ),
        (
            "Register",
            closed(
                &["email", "password", "display_name"],
                &[
                    ("email", email()),
                    ("password", password()),
                    ("display_name", text(user::DISPLAY_NAME_MAX_CHARS, false)),
                ],
            ),
        ),
        (
            "Login",
            closed(
                &["email", "password"],
                &[("email", email()), ("password", s.clone())],
            ),
        ),
        ("Refresh", closed(&["refresh"], &[("refresh", s.clone())])),
        ("UserEnvelope", envelope("user", "User")),
        (
            "PatchMe",
            closed(
                &[],
                &[
                    ("display_name", text(user::DISPLAY_NAME_MAX_CHARS, false)),
                    ("preferences", t("object")),
                ],
            ),
        ),
        (
            "ChangePassword",
            closed(
                &["current_password", "new_password"],
                &[
                    ("current_password", s.clone()),
                    ("new_password", password()),
                ],
            ),
        ),
        (
            "UploadRequest",
            json!({
                "description": "A PDF (dedupe against your scores; then POST /v1/scores or a part), or an archive made by the export to import (POST /v1/imports). Another media type answers 415 (E004).",
                "oneOf": [
                    upload_request(score::PDF_MIME, limits.max_upload_bytes),
                    upload_request(score::ZIP_MIME, limits.max_import_bytes),
                ],
            }),
        ),
        (
            "ScoreCreate",
            closed(&["upload_id", "title"], &score_create),
        ),
        ("ScorePatch", closed(&[], &score_input)),
        ("ScoreEnvelope", envelope("score", "Score")),
        ("ScoreList", list("scores", "ScoreSummary", "next_cursor")),
        (
            "Trash",
            obj(
                &["trash", "next_cursor"],
                &[
                    (
                        "trash",
                        array_of(obj(
                            &["trashed_at", "score"],
                            &[("trashed_at", s.clone()), ("score", reference("Score"))],
                        )),
                    ),
                    ("next_cursor", ns.clone()),
                ],
            ),
        ),
        (
            "TrashEmptied",
            obj(
                &["purged", "more"],
                &[
                    ("purged", json!({"type": "integer", "minimum": 0})),
                    ("more", json!({"type": "boolean"})),
                ],
            ),
        ),
        (
            "Favorites",
            obj(
                &["favorites"],
                &[
                    (
                        "favorites",
                        array_of(obj(
                            &["score"],
                            &[("favorited_at", s.clone()), ("score", reference("Score"))],
                        )),
                    ),
                    ("next_cursor", ns.clone()),
                ],
            ),
        ),
        (
            "History",
            obj(
                &["history"],
                &[
                    (
                        "history",
                        array_of(obj(
                            &["score"],
                            &[("opened_at", s.clone()), ("score", reference("Score"))],
                        )),
                    ),
                    ("next_cursor", ns.clone()),
                ],
            ),
        ),
        (
            "Versions",
            obj(
                &["versions", "next_cursor"],
                &[
                    (
                        "versions",
                        array_of(obj(
                            &["version"],
                            &[
                                ("version", i.clone()),
                                ("created_at", ns.clone()),
                                ("user_id", ns.clone()),
                                ("changes", array_of(change.clone())),
                                ("fields", t("object")),
                            ],
                        )),
                    ),
                    ("next_cursor", ns.clone()),
                ],
            ),
        ),
        (
            "Compare",
            obj(
                &["from", "to", "changes"],
                &[
                    ("from", i.clone()),
                    ("to", i.clone()),
                    ("changes", array_of(change)),
                ],
            ),
        ),
        ("MeStats", envelope("stats", "MeStatsBody")),
        (
            "MeStatsBody",
            obj(
                &["scores", "pages", "bytes"],
                &[
                    ("scores", i.clone()),
                    ("pages", i.clone()),
                    ("bytes", i.clone()),
                    ("setlists", i.clone()),
                    ("setlists_shared_by_me", i.clone()),
                    ("setlists_shared_with_me", i.clone()),
                    ("favorites", i.clone()),
                    ("top_opened", array_of(t("object"))),
                ],
            ),
        ),
        ("SetlistCreate", closed(&["name"], &setlist_input)),
        ("SetlistFields", closed(&[], &setlist_patch)),
        ("SetlistEnvelope", envelope("setlist", "Setlist")),
        (
            "SetlistList",
            list("setlists", "SetlistSummary", "next_cursor"),
        ),
        (
            "ItemsRequest",
            json!({ "oneOf": [
                closed(&["score_id"], &[
                    ("score_id", s.clone()),
                    ("position", int_range(1, i64::MAX, true)),
                    ("notes", opt_text(setlist::ITEM_NOTES_MAX_CHARS)),
                    ("version", version(true)),
                ]),
                closed(&["bookmark_id"], &[
                    ("bookmark_id", s.clone()),
                    ("position", int_range(1, i64::MAX, true)),
                    ("notes", opt_text(setlist::ITEM_NOTES_MAX_CHARS)),
                    ("version", version(true)),
                ]),
                closed(&["order", "version"], &[
                    ("order", json!({ "type": "array", "maxItems": setlist::ITEMS_MAX, "uniqueItems": true, "items": t("string") })),
                    ("version", version(false)),
                ]),
            ] }),
        ),
        (
            "ItemPatch",
            closed(
                &[],
                &[
                    ("position", int_range(1, i64::MAX, true)),
                    ("notes", opt_text(setlist::ITEM_NOTES_MAX_CHARS)),
                    ("version", version(true)),
                ],
            ),
        ),
        (
            "Book",
            obj(
                &["state", "version", "stale"],
                &[
                    (
                        "state",
                        json!({"enum": ["pending", "running", "ok", "failed"]}),
                    ),
                    ("version", t("integer")),
                    ("stale", t("boolean")),
                    ("url", t("string")),
                    ("expires_at", t("string")),
                    ("pages", t("integer")),
                    ("reason", t("string")),
                ],
            ),
        ),
        ("BookEnvelope", envelope("book", "Book")),
        (
            "ImportRequest",
            closed(
                &["upload_id"],
                &[
                    ("upload_id", s.clone()),
                    (
                        "dry_run",
                        json!({"type": "boolean", "description": "plan and report only: nothing is written, the archive stays for the import to follow"}),
                    ),
                ],
            ),
        ),
        (
            "ImportReport",
            obj(
                &[
                    "scores_created",
                    "scores_skipped_duplicate",
                    "setlists_created",
                    "bookmarks_created",
                    "errors",
                ],
                &[
                    ("scores_created", t("integer")),
                    ("scores_skipped_duplicate", t("integer")),
                    ("setlists_created", t("integer")),
                    ("bookmarks_created", t("integer")),
                    ("errors", array_of(t("string"))),
                ],
            ),
        ),
        (
            "Import",
            obj(
                &["id", "state", "dry_run", "report"],
                &[
                    ("id", s.clone()),
                    (
                        "state",
                        json!({"enum": ["pending", "running", "done", "failed"]}),
                    ),
                    ("dry_run", t("boolean")),
                    ("reason", t("string")),
                    ("report", reference("ImportReport")),
                ],
            ),
        ),
        ("ImportEnvelope", envelope("import", "Import")),
        (
            "Export",
            obj(
                &["id", "state", "created_at"],
                &[
                    ("id", t("string")),
                    (
                        "state",
                        json!({"enum": ["pending", "running", "done", "failed"]}),
                    ),
                    ("size_bytes", t("integer")),
                    ("url", t("string")),
                    ("expires_at", t("string")),
                    ("reason", t("string")),
                    ("created_at", t("string")),
                ],
            ),
        ),
        ("ExportEnvelope", envelope("export", "Export")),
        (
            "ExportList",
            obj(&["exports"], &[("exports", array_of(reference("Export")))]),
        ),
        (
            "Annotation",
            obj(
                &[
                    "layer",
                    "scope",
                    "mine",
                    "shared",
                    "version",
                    "bytes",
                    "data",
                    "created_at",
                    "updated_at",
                ],
                &[
                    (
                        "layer",
                        json!({"type": "string", "pattern": "^[a-z0-9-]{1,40}$"}),
                    ),
                    ("scope", json!({"enum": ["score", "item"]})),
                    ("mine", t("boolean")),
                    ("shared", t("boolean")),
                    ("version", t("integer")),
                    ("bytes", t("integer")),
                    ("data", t("object")),
                    ("created_at", t("string")),
                    ("updated_at", t("string")),
                ],
            ),
        ),
        ("AnnotationEnvelope", envelope("annotation", "Annotation")),
        (
            "Annotations",
            obj(
                &["annotations"],
                &[("annotations", array_of(reference("Annotation")))],
            ),
        ),
        (
            "AnnotationRequest",
            closed(
                &["data"],
                &[
                    (
                        "data",
                        json!({"type": "object", "description": "the client's document, keyed by page; at most 512 KiB as JSON"}),
                    ),
                    ("version", version(true)),
                    ("shared", t("boolean")),
                ],
            ),
        ),
        (
            "ItemAnnotationRequest",
            closed(
                &["data"],
                &[
                    (
                        "data",
                        json!({"type": "object", "description": "the client's document, keyed by page; at most 512 KiB as JSON"}),
                    ),
                    ("version", version(true)),
                ],
            ),
        ),
        (
            "SettingsEnvelope",
            obj(&["settings"], &[("settings", reference("Settings"))]),
        ),
        (
            "Settings",
            obj(
                &[],
                &[
                    (
                        "crop",
                        json!({"type": "object", "additionalProperties": {"type": ["object", "null"]}}),
                    ),
                    ("half_page_turn", t("boolean")),
                    (
                        "links",
                        array_of(obj(
                            &["from_page", "to_page"],
                            &[("from_page", t("integer")), ("to_page", t("integer"))],
                        )),
                    ),
                    ("bpm", t("integer")),
                    ("last_page", t("integer")),
                ],
            ),
        ),
        (
            "SettingsPatch",
            closed(
                &[],
                &[
                    (
                        "crop",
                        json!({
                            "type": ["object", "null"],
                            "description": "page number → {left, top, right, bottom} (fractions cut from each side, left + right < 1, top + bottom < 1), or null to clear that page",
                            "propertyNames": {"pattern": "^[1-9][0-9]{0,5}$"},
                            "additionalProperties": {
                                "oneOf": [
                                    {"type": "null"},
                                    closed(&["left", "top", "right", "bottom"], &[
                                        ("left", json!({"type": "number", "minimum": 0, "exclusiveMaximum": 1})),
                                        ("top", json!({"type": "number", "minimum": 0, "exclusiveMaximum": 1})),
                                        ("right", json!({"type": "number", "minimum": 0, "exclusiveMaximum": 1})),
                                        ("bottom", json!({"type": "number", "minimum": 0, "exclusiveMaximum": 1})),
                                    ]),
                                ],
                            },
                        }),
                    ),
                    ("half_page_turn", nullable("boolean")),
                    (
                        "links",
                        json!({
                            "type": ["array", "null"],
                            "maxItems": crate::domain::settings::LINKS_MAX,
                            "items": closed(&["from_page", "to_page"], &[
                                ("from_page", int_range(1, crate::domain::settings::PAGE_MAX, false)),
                                ("to_page", int_range(1, crate::domain::settings::PAGE_MAX, false)),
                            ]),
                        }),
                    ),
                    (
                        "bpm",
                        int_range(
                            crate::domain::settings::BPM_MIN,
                            crate::domain::settings::BPM_MAX,
                            true,
                        ),
                    ),
                    (
                        "last_page",
                        int_range(1, crate::domain::settings::PAGE_MAX, true),
                    ),
                ],
            ),
        ),
        (
            "CommentRequest",
            closed(
                &["body"],
                &[("body", text(setlist::COMMENT_MAX_CHARS, true))],
            ),
        ),
        ("CommentEnvelope", envelope("comment", "Comment")),
        (
            "Comments",
            obj(
                &["comments"],
                &[("comments", array_of(reference("Comment")))],
            ),
        ),
        (
            "MemberRequest",
            closed(
                &["email", "role"],
                &[
                    ("email", email()),
                    ("role", json!({"enum": ["viewer", "editor"]})),
                ],
            ),
        ),
        ("MemberEnvelope", envelope("member", "Member")),
        (
            "MemberPatch",
            closed(
                &[],
                &[
                    ("role", json!({"enum": ["viewer", "editor"]})),
                    ("part", part_assignment),
                ],
            ),
        ),
        (
            "PartPages",
            closed(
                &["first", "last"],
                &[
                    ("first", int_range(1, i64::from(u32::MAX), false)),
                    ("last", int_range(1, i64::from(u32::MAX), false)),
                ],
            ),
        ),
        (
            "PartCreate",
            json!({ "oneOf": [
                closed(&["name", "upload_id"], &[
                    ("name", part_name.clone()),
                    ("upload_id", s.clone()),
                ]),
                closed(&["name", "pages"], &[
                    ("name", part_name.clone()),
                    ("pages", reference("PartPages")),
                ]),
            ] }),
        ),
        (
            "PartPatch",
            closed(
                &[],
                &[
                    ("name", part_name.clone()),
                    ("pages", reference("PartPages")),
                ],
            ),
        ),
        ("PartEnvelope", envelope("part", "Part")),
        (
            "Parts",
            obj(&["parts"], &[("parts", array_of(reference("Part")))]),
        ),
        (
            "LinkRequest",
            closed(
                &[],
                &[(
                    "expires_at",
                    json!({ "type": ["string", "null"], "format": "date-time", "description": "in the future, at most 366 days ahead" }),
                )],
            ),
        ),
        ("LinkEnvelope", envelope("link", "Link")),
        (
            "Links",
            obj(&["links"], &[("links", array_of(reference("Link")))]),
        ),
        (
            "AdminUser",
            obj(
                &["id", "email", "role"],
                &[
                    ("id", s.clone()),
                    ("email", s.clone()),
                    ("display_name", s.clone()),
                    ("role", s.clone()),
                    ("quota_bytes", i.clone()),
                    ("used_bytes", i.clone()),
                    ("reserved_bytes", i.clone()),
                    ("disabled", t("boolean")),
                    ("disabled_at", ns.clone()),
                    ("created_at", s.clone()),
                    ("updated_at", s.clone()),
                    ("scores", i.clone()),
                ],
            ),
        ),
        (
            "AdminUsers",
            obj(
                &["users"],
                &[
                    ("users", array_of(reference("AdminUser"))),
                    ("next_cursor", ns.clone()),
                ],
            ),
        ),
        (
            "AdminUserPatch",
            closed(
                &[],
                &[
                    (
                        "quota_bytes",
                        int_range(0, crate::domain::admin::MAX_QUOTA_BYTES, false),
                    ),
                    ("role", json!({"enum": ["user", "admin"]})),
                    ("disabled", t("boolean")),
                ],
            ),
        ),
        ("AdminUserEnvelope", envelope("user", "AdminUser")),
        ("AdminStats", obj(&["stats"], &[("stats", t("object"))])),
        (
            "AdminLiveRoom",
            obj(
                &["room"],
                &[(
                    "room",
                    obj(
                        &["sockets", "frames_handled", "woke_at", "seq"],
                        &[
                            ("sockets", t("integer")),
                            ("frames_handled", t("integer")),
                            ("woke_at", t("string")),
                            ("seq", t("integer")),
                        ],
                    ),
                )],
            ),
        ),
        (
            "Tasks",
            obj(
                &["tasks"],
                &[(
                    "tasks",
                    array_of(obj(
                        &["id", "task", "state"],
                        &[
                            ("id", s.clone()),
                            ("task", s.clone()),
                            ("state", s.clone()),
                            ("reason", ns.clone()),
                            ("message", json!({})),
                        ],
                    )),
                )],
            ),
        ),
        (
            "TaskEnvelope",
            obj(
                &["task"],
                &[(
                    "task",
                    obj(
                        &["id", "state"],
                        &[
                            ("id", s.clone()),
                            ("task", s.clone()),
                            ("record_id", s.clone()),
                            ("state", s),
                        ],
                    ),
                )],
            ),
        ),
    ];
    Value::Object(
        entries
            .into_iter()
            .chain(super::views::definitions())
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn doc() -> Value {
        document("test", Audience::Public, &Settings::default())
    }

    fn operations(doc: &Value) -> BTreeSet<(String, String)> {
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        documented
    }

    #[test]
    fn every_route_is_in_one_document_and_admin_routes_only_in_the_admin_one() {
        let routes: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_ascii_lowercase(), r.template.to_owned()))
            .collect();
        let public = operations(&doc());
        let admin = operations(&document("test", Audience::Admin, &Settings::default()));
        assert!(public.is_disjoint(&admin));
        assert_eq!(
            public.union(&admin).cloned().collect::<BTreeSet<_>>(),
            routes
        );
        assert!(public
            .iter()
            .all(|(_, path)| !path.starts_with("/v1/admin/")));
        assert!(admin.iter().all(|(_, path)| path.starts_with("/v1/admin/")));
    }

    #[test]
    fn every_reference_resolves_and_path_parameters_are_declared() {
        let doc = doc();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (i, _) in text.match_indices("#/components/schemas/") {
            let name: String = text[i + 21..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(schemas.contains_key(&name), "dangling $ref {name}");
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for op in item.as_object().unwrap().values() {
                let declared: BTreeSet<&str> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                let in_path: BTreeSet<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .collect();
                assert_eq!(declared, in_path, "{path}");
            }
        }
    }

    #[test]
    fn every_operation_takes_and_answers_the_d1_bookmark() {
        let doc = doc();
        let param = json!({ "$ref": "#/components/parameters/Bookmark" });
        for (path, item) in doc["paths"].as_object().unwrap() {
            for op in item.as_object().unwrap().values() {
                assert!(
                    op["parameters"].as_array().unwrap().contains(&param),
                    "{path}"
                );
                for (status, answer) in op["responses"].as_object().unwrap() {
                    let carried = answer["headers"]["x-d1-bookmark"].is_object();
                    assert_eq!(carried, status != "101", "{path} {status}");
                }
            }
        }
        let declared = &doc["components"]["parameters"]["Bookmark"];
        assert_eq!(declared["name"], "x-d1-bookmark");
        assert_eq!(declared["in"], "header");
        assert!(doc["components"]["headers"]["Bookmark"].is_object());
    }

    #[test]
    fn public_routes_need_no_token_and_errors_use_the_envelope() {
        let doc = doc();
        let login = &doc["paths"]["/v1/auth/login"]["post"];
        assert_eq!(login["security"], json!([]));
        assert_eq!(
            login["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Error"
        );
        let me = &doc["paths"]["/v1/me"]["get"];
        assert!(
            me.get("security").is_none(),
            "inherits the bearer requirement"
        );
        assert!(me["responses"]["401"].is_object());
        let admin = document("test", Audience::Admin, &Settings::default());
        assert!(admin["paths"]["/v1/admin/stats"]["get"]["responses"]["404"].is_object());
        let ids: BTreeSet<&str> = [&doc, &admin]
            .into_iter()
            .flat_map(|d| d["paths"].as_object().unwrap().values())
            .flat_map(|item| item.as_object().unwrap().values())
            .map(|op| op["operationId"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), ROUTES.len(), "operation ids are unique");
    }

    #[test]
    fn the_blob_download_documents_every_type_a_token_may_name() {
        let doc = doc();
        let content = &doc["paths"]["/v1/blobs/{token}"]["get"]["responses"]["200"]["content"];
        for mime in [score::PDF_MIME, "image/png", score::ZIP_MIME] {
            assert!(content[mime].is_object(), "{mime} is undocumented");
        }
    }
}
