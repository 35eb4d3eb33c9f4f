//! Setlist inputs (SPEC §5), parsed into types whose values are valid.

use serde_json::Value;

use crate::domain::fields::Fields;
use crate::domain::score::{opt_text, text, NOTES_MAX_CHARS, TEXT_MAX_CHARS, TITLE_MAX_CHARS};

/// Most items in one setlist (a long gig is ~40; this leaves room for festivals and books).
pub const ITEMS_MAX: usize = 500;
pub const DESCRIPTION_MAX_CHARS: usize = 2_000;
pub const ITEM_NOTES_MAX_CHARS: usize = 2_000;
pub const COMMENT_MAX_CHARS: usize = 2_000;
/// Longest a public link may live.
pub const LINK_MAX_DAYS: i64 = 366;

pub const SETLIST_FIELDS: &[&str] = &[
    "name",
    "description",
    "event_date",
    "venue",
    "notes",
    "version",
];

/// Setlist metadata. On create, absent means empty; on PATCH, absent keeps and `null` clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetlistFields {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub event_date: Option<Option<String>>,
    pub venue: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    /// The version the client last saw; when given, a stale one is 409.
    pub version: Option<i64>,
}

impl SetlistFields {
    pub fn parse(f: &mut Fields, require_name: bool) -> Self {
        let name = if require_name || f.present("name") {
            let raw = f.string("name");
            f.parse("name", raw, |s| text(s, TITLE_MAX_CHARS))
        } else {
            None
        };
        let description = opt_text(f, "description", DESCRIPTION_MAX_CHARS);
        let venue = opt_text(f, "venue", TEXT_MAX_CHARS);
        let notes = opt_text(f, "notes", NOTES_MAX_CHARS);
        let event_date = if f.present("event_date") {
            match f.opt_string("event_date") {
                None => Some(None),
                Some(raw) => f.parse("event_date", Some(raw), date).map(Some),
            }
        } else {
            None
        };
        Self {
            name,
            description,
            event_date,
            venue,
            notes,
            version: opt_version(f),
        }
    }
}

fn opt_version(f: &mut Fields) -> Option<i64> {
    if !f.present("version") || f.opt_value("version").is_none() {
        return None;
    }
    match f.int("version") {
        Some(v) if v >= 1 => Some(v),
        Some(_) => {
            f.error("version", "must be a positive integer");
            None
        }
        None => None,
    }
}

/// A calendar date, `YYYY-MM-DD`.
///
/// # Errors
/// A message for the field.
pub fn date(raw: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| "must be a date, YYYY-MM-DD".to_owned())
}

/// `POST /v1/setlists/{id}/items`: either one item to add or the whole new order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemsRequest {
    Add(NewItem),
    Reorder { order: Vec<String>, version: i64 },
}

/// What an added item plays: a score, or a bookmark of a songbook (SPEC §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemTarget {
    Score(String),
    Bookmark(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub target: ItemTarget,
    /// 1-based; absent appends.
    pub position: Option<i64>,
    pub notes: Option<String>,
    pub version: Option<i64>,
}

impl ItemsRequest {
    pub fn parse(f: &mut Fields) -> Option<Self> {
        if f.present("order") {
            if f.present("score_id") || f.present("bookmark_id") {
                f.error(
                    "order",
                    "send either score_id or bookmark_id (add) or order (reorder), not both",
                );
                return None;
            }
            let order = match f.opt_value("order") {
                Some(Value::Array(items)) => {
                    let ids: Option<Vec<String>> = items
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect();
                    match ids {
                        Some(ids) if ids.len() <= ITEMS_MAX => Some(ids),
                        Some(_) => {
                            f.error("order", format!("at most {ITEMS_MAX} items"));
                            None
                        }
                        None => {
                            f.error("order", "must be a list of item ids");
                            None
                        }
                    }
                }
                _ => {
                    f.error("order", "must be a list of item ids");
                    None
                }
            };
            let version = match opt_version(f) {
                Some(v) => Some(v),
                None => {
                    f.error("version", "is required to replace the order");
                    None
                }
            };
            return Some(Self::Reorder {
                order: order?,
                version: version?,
            });
        }
        let target = match (f.present("score_id"), f.present("bookmark_id")) {
            (true, true) => {
                f.error(
                    "bookmark_id",
                    "send either score_id or bookmark_id, not both",
                );
                None
            }
            (false, true) => f.string("bookmark_id").map(ItemTarget::Bookmark),
            _ => f.string("score_id").map(ItemTarget::Score),
        };
        let position = position(f);
        let notes = opt_text(f, "notes", ITEM_NOTES_MAX_CHARS).flatten();
        let version = opt_version(f);
        Some(Self::Add(NewItem {
            target: target?,
            position,
            notes,
            version,
        }))
    }
}

fn position(f: &mut Fields) -> Option<i64> {
    f.opt_value("position")?;
    match f.int("position") {
        Some(p) if p >= 1 => Some(p),
        Some(_) => {
            f.error("position", "must be 1 or more");
            None
        }
        None => None,
    }
}

/// `PATCH /v1/setlists/{id}/items/{item_id}`: move and/or re-annotate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPatch {
    pub position: Option<i64>,
    pub notes: Option<Option<String>>,
    pub version: Option<i64>,
}

pub const ITEM_PATCH_FIELDS: &[&str] = &["position", "notes", "version"];

impl ItemPatch {
    pub fn parse(f: &mut Fields) -> Self {
        Self {
            position: position(f),
            notes: opt_text(f, "notes", ITEM_NOTES_MAX_CHARS),
            version: opt_version(f),
        }
    }
}

/// Whether `order` names exactly the setlist's items, each once.
///
/// # Errors
/// A message for the `order` field.
pub fn check_order(order: &[String], current: &[String]) -> Result<(), String> {
    let mut want: Vec<&str> = current.iter().map(String::as_str).collect();
    let mut got: Vec<&str> = order.iter().map(String::as_str).collect();
    want.sort_unstable();
    got.sort_unstable();
    if got.windows(2).any(|w| w[0] == w[1]) {
        return Err("lists an item twice".into());
    }
    if want != got {
        return Err(format!(
            "must list each of the setlist's {} items exactly once",
            current.len()
        ));
    }
    Ok(())
}

/// Where a new item goes: `requested` clamped to `1..=count+1` (absent appends).
pub fn insert_position(requested: Option<i64>, count: usize) -> i64 {
    let end = i64::try_from(count).unwrap_or(i64::MAX - 1) + 1;
    requested.map_or(end, |p| p.clamp(1, end))
}

/// A member role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Editor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
        }
    }
}

/// Who is asking, as far as one setlist is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Owner,
    Editor,
    Viewer,
    /// Anyone holding a live public link (no account needed).
    Link,
    /// Everyone else: no relation the database knows of (nobody has one to the setlists of a
    /// disabled account).
    Outsider,
}

impl Party {
    /// From the `role` the access statements return (`owner`, `editor`, `viewer`, `link`); no
    /// row (or anything else) is an outsider.
    pub fn from_role(role: Option<&str>) -> Self {
        match role {
            Some("owner") => Self::Owner,
            Some("editor") => Self::Editor,
            Some("viewer") => Self::Viewer,
            Some("link") => Self::Link,
            _ => Self::Outsider,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
            Self::Link => "link",
            Self::Outsider => "outsider",
        }
    }
}

/// Everything one can do with a setlist (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Its details, items in order and history.
    Read,
    /// Who its members are (and their roles).
    SeeMembers,
    /// The members' email addresses (the owner invited them by email).
    SeeMemberEmails,
    /// A short-lived URL of an item's file or of one of its pages.
    DownloadItem,
    /// Read the comments on an item, and add one.
    Comment,
    /// Delete a comment on an item; `own`: the caller wrote it.
    DeleteComment { own: bool },
    /// Add, move, annotate, remove and reorder items.
    EditItems,
    /// Change the setlist's own details (name, venue, …).
    EditDetails,
    /// Add members, change their roles, remove others.
    ManageMembers,
    /// Remove oneself from the members.
    Leave,
    /// Create, list and revoke public links.
    ManageLinks,
    /// Delete the setlist.
    Delete,
    /// Join its live room and follow the leader.
    Follow,
    /// Take the live room's lead while nobody leads.
    Lead,
    /// Take the live room's lead from someone else.
    TakeLead,
    /// Keep one's own annotation layers and performance settings on an item (and read the
    /// layers the score's owner shared).
    KeepOwn,
    /// Choose the part one plays (SPEC §10 "Who plays what"): a member for themself.
    ChooseOwnPart,
}

/// What [`decide`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused, and the caller may know why: they can see the setlist (403).
    Forbid(&'static str),
    /// The caller cannot see the setlist at all, or this part of it: answered exactly like a
    /// setlist that does not exist (404), so nothing is learnt.
    Hide,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Self::Allow
    }

    /// # Errors
    /// 403 for [`Decision::Forbid`], 404 for [`Decision::Hide`].
    pub fn check(self) -> Result<(), crate::error::ApiError> {
        match self {
            Self::Allow => Ok(()),
            Self::Forbid(why) => Err(crate::error::ApiError::Forbidden(why)),
            Self::Hide => Err(crate::error::ApiError::NotFound),
        }
    }
}

const OWNER_ONLY: &str = "only the setlist's owner may do this";
const NOT_VIEWERS: &str = "viewers cannot change this setlist";
const FOLLOWERS: &str = "viewers and link holders follow; they cannot lead";
const OWNER_TAKES_LEAD: &str = "someone is leading; only the owner may take the lead over";
const NOT_YOUR_COMMENT: &str = "only its author or the setlist's owner may delete a comment";

/// The setlist policy, the one place that says who may do what: the owner everything; an editor
/// the items and comments; a viewer reads and comments; a link holder reads (without members)
/// and downloads; an outsider nothing, and learns nothing (404, never 403). A member asking for
/// what their role does not allow gets 403: they know the setlist exists.
pub fn decide(party: Party, action: Action) -> Decision {
    use Action as A;
    use Party as P;
    match (party, action) {
        (P::Outsider, _) => Decision::Hide,
        (P::Owner, _) => Decision::Allow,
        // A link shows the setlist and its files, nothing about people, and changes nothing.
        (P::Link, A::Read | A::DownloadItem | A::Follow) => Decision::Allow,
        // In a live room a guest is told why (it is in the room), not hidden from.
        (P::Link | P::Viewer, A::Lead | A::TakeLead) => Decision::Forbid(FOLLOWERS),
        (P::Link, _) => Decision::Hide,
        (
            P::Editor | P::Viewer,
            A::Read
            | A::SeeMembers
            | A::DownloadItem
            | A::Comment
            | A::Leave
            | A::Follow
            | A::KeepOwn
            | A::ChooseOwnPart,
        )
        | (P::Editor | P::Viewer, A::DeleteComment { own: true })
        | (P::Editor, A::EditItems | A::Lead) => Decision::Allow,
        (P::Editor, A::TakeLead) => Decision::Forbid(OWNER_TAKES_LEAD),
        (P::Editor | P::Viewer, A::DeleteComment { own: false }) => {
            Decision::Forbid(NOT_YOUR_COMMENT)
        }
        (P::Viewer, A::EditItems) => Decision::Forbid(NOT_VIEWERS),
        // Emails are shown to the owner only: a member sees the others' names, not addresses.
        (P::Editor | P::Viewer, A::SeeMemberEmails) => Decision::Hide,
        (P::Editor | P::Viewer, A::EditDetails | A::ManageMembers | A::ManageLinks | A::Delete) => {
            Decision::Forbid(OWNER_ONLY)
        }
    }
}

/// `PATCH /v1/setlists/{id}/members/{user_id}` `{role?, part?}`: absent keeps, `part: null`
/// clears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberPatch {
    pub role: Option<Role>,
    pub part: Option<Option<String>>,
}

impl MemberPatch {
    pub fn parse(f: &mut Fields) -> Self {
        let role = if f.present("role") {
            member_role(f)
        } else {
            None
        };
        let part = crate::domain::part::parse_assignment(f);
        Self { role, part }
    }
}

/// `POST /v1/setlists/{id}/members`.
pub fn parse_member(f: &mut Fields) -> Option<(String, Role)> {
    let email = f.string("email");
    let email = f.parse("email", email, |s| {
        crate::domain::user::Email::parse(s)
            .map(|e| e.as_str().to_owned())
            .map_err(|e| e.to_string())
    });
    let role = member_role(f);
    Some((email?, role?))
}

/// A member's `role` (required where asked): viewer or editor.
fn member_role(f: &mut Fields) -> Option<Role> {
    match f.string("role").as_deref() {
        Some("viewer") => Some(Role::Viewer),
        Some("editor") => Some(Role::Editor),
        Some(_) => {
            f.error("role", "must be viewer or editor");
            None
        }
        None => None,
    }
}

/// `POST /v1/setlists/{id}/links`: an optional expiry, in the future and within
/// [`LINK_MAX_DAYS`]. `now` is the request time.
pub fn parse_link_expiry(
    f: &mut Fields,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Option<String>> {
    let Some(raw) = f.opt_string("expires_at") else {
        return Some(None);
    };
    f.parse("expires_at", Some(raw), |s| {
        let at = chrono::DateTime::parse_from_rfc3339(s.trim())
            .map_err(|_| "must be an RFC 3339 time".to_owned())?
            .with_timezone(&chrono::Utc);
        if at <= now {
            return Err("must be in the future".into());
        }
        if at > now + chrono::Duration::days(LINK_MAX_DAYS) {
            return Err(format!("must be within {LINK_MAX_DAYS} days"));
        }
        Ok(Some(
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ))
    })
}

/// A comment body.
pub fn parse_comment(f: &mut Fields) -> Option<String> {
    let raw = f.string("body");
    f.parse("body", raw, |s| text(s, COMMENT_MAX_CHARS))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: Value, allowed: &[&str]) -> Fields {
        Fields::new(v.as_object().unwrap().clone(), allowed)
    }

    #[test]
    fn create_needs_a_name_and_patch_distinguishes_absent_from_null() {
        let mut f = fields(json!({}), SETLIST_FIELDS);
        SetlistFields::parse(&mut f, true);
        assert!(f.finish().is_err());
        let mut f = fields(
            json!({"venue": null, "event_date": "2026-12-31", "version": 3}),
            SETLIST_FIELDS,
        );
        let p = SetlistFields::parse(&mut f, false);
        f.finish().unwrap();
        assert_eq!(p.name, None);
        assert_eq!(p.venue, Some(None));
        assert_eq!(p.description, None);
        assert_eq!(p.event_date, Some(Some("2026-12-31".into())));
        assert_eq!(p.version, Some(3));
    }

    #[test]
    fn bad_dates_versions_and_names_are_each_reported() {
        let mut f = fields(
            json!({"name": "", "event_date": "31/12/2026", "version": 0}),
            SETLIST_FIELDS,
        );
        SetlistFields::parse(&mut f, true);
        let Err(crate::error::ApiError::Validation(errors)) = f.finish() else {
            panic!()
        };
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn items_requests_are_an_add_or_a_reorder_never_both() {
        let allowed = &[
            "score_id",
            "bookmark_id",
            "position",
            "notes",
            "version",
            "order",
        ];
        let mut f = fields(json!({"score_id": "sco_x", "position": 2}), allowed);
        let r = ItemsRequest::parse(&mut f).unwrap();
        f.finish().unwrap();
        assert!(matches!(
            r,
            ItemsRequest::Add(NewItem {
                position: Some(2),
                ..
            })
        ));
        let mut f = fields(json!({"order": ["a", "b"], "version": 4}), allowed);
        assert_eq!(
            ItemsRequest::parse(&mut f),
            Some(ItemsRequest::Reorder {
                order: vec!["a".into(), "b".into()],
                version: 4
            })
        );
        let mut f = fields(json!({"order": ["a"]}), allowed);
        assert_eq!(ItemsRequest::parse(&mut f), None);
        assert!(f.finish().is_err(), "a reorder without a version");
        let mut f = fields(
            json!({"order": ["a"], "score_id": "x", "version": 1}),
            allowed,
        );
        assert_eq!(ItemsRequest::parse(&mut f), None);
        let mut f = fields(json!({"order": [1, 2], "version": 1}), allowed);
        assert_eq!(ItemsRequest::parse(&mut f), None);
    }

    #[test]
    fn an_item_names_a_score_or_a_bookmark_exactly_once() {
        let allowed = &[
            "score_id",
            "bookmark_id",
            "position",
            "notes",
            "version",
            "order",
        ];
        let mut f = fields(json!({"bookmark_id": "bmk_x"}), allowed);
        let r = ItemsRequest::parse(&mut f).unwrap();
        f.finish().unwrap();
        assert!(matches!(
            r,
            ItemsRequest::Add(NewItem {
                target: ItemTarget::Bookmark(ref id),
                ..
            }) if id == "bmk_x"
        ));
        let mut f = fields(
            json!({"bookmark_id": "bmk_x", "score_id": "sco_x"}),
            allowed,
        );
        assert_eq!(ItemsRequest::parse(&mut f), None);
        let Err(crate::error::ApiError::Validation(e)) = f.finish() else {
            panic!()
        };
        assert!(e.contains_key("bookmark_id"));
        let mut f = fields(json!({}), allowed);
        assert_eq!(ItemsRequest::parse(&mut f), None);
        assert!(f.finish().is_err(), "neither");
    }

    #[test]
    fn an_order_must_be_a_permutation_of_the_items() {
        let current = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(check_order(&v(&["c", "a", "b"]), &current).is_ok());
        assert!(check_order(&v(&["a", "b"]), &current).is_err());
        assert!(check_order(&v(&["a", "a", "b"]), &current).is_err());
        assert!(check_order(&v(&["a", "b", "c", "d"]), &current).is_err());
        assert!(check_order(&v(&["a", "b", "x"]), &current).is_err());
    }

    #[test]
    fn insert_positions_are_clamped_to_the_list() {
        assert_eq!(insert_position(None, 3), 4);
        assert_eq!(insert_position(Some(1), 3), 1);
        assert_eq!(insert_position(Some(99), 3), 4);
        assert_eq!(insert_position(Some(2), 0), 1);
    }

    #[test]
    fn link_expiry_must_be_future_and_bounded() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let parse = |v: Value| {
            let mut f = fields(v, &["expires_at"]);
            let out = parse_link_expiry(&mut f, now);
            (out, f.finish().is_ok())
        };
        assert_eq!(parse(json!({})), (Some(None), true));
        assert_eq!(
            parse(json!({"expires_at": "2026-02-01T10:00:00+01:00"})),
            (Some(Some("2026-02-01T09:00:00.000Z".into())), true)
        );
        assert!(!parse(json!({"expires_at": "2025-12-31T00:00:00Z"})).1);
        assert!(!parse(json!({"expires_at": "2028-01-01T00:00:00Z"})).1);
        assert!(!parse(json!({"expires_at": "soon"})).1);
    }

    #[test]
    fn the_policy_answers_every_party_and_action() {
        use Action as A;
        use Decision::{Allow as Y, Forbid, Hide as H};
        let owner_only = Forbid(OWNER_ONLY);
        let viewers = Forbid(NOT_VIEWERS);
        let not_yours = Forbid(NOT_YOUR_COMMENT);
        let followers = Forbid(FOLLOWERS);
        // Columns: owner, editor, viewer, link, outsider.
        let table = [
            (A::Read, [Y, Y, Y, Y, H]),
            (A::SeeMembers, [Y, Y, Y, H, H]),
            (A::SeeMemberEmails, [Y, H, H, H, H]),
            (A::DownloadItem, [Y, Y, Y, Y, H]),
            (A::Comment, [Y, Y, Y, H, H]),
            (A::DeleteComment { own: true }, [Y, Y, Y, H, H]),
            (
                A::DeleteComment { own: false },
                [Y, not_yours, not_yours, H, H],
            ),
            (A::EditItems, [Y, Y, viewers, H, H]),
            (A::EditDetails, [Y, owner_only, owner_only, H, H]),
            (A::ManageMembers, [Y, owner_only, owner_only, H, H]),
            (A::Leave, [Y, Y, Y, H, H]),
            (A::ChooseOwnPart, [Y, Y, Y, H, H]),
            (A::ManageLinks, [Y, owner_only, owner_only, H, H]),
            (A::Delete, [Y, owner_only, owner_only, H, H]),
            (A::Follow, [Y, Y, Y, Y, H]),
            (A::Lead, [Y, Y, followers, followers, H]),
            (
                A::TakeLead,
                [Y, Forbid(OWNER_TAKES_LEAD), followers, followers, H],
            ),
        ];
        let parties = [
            Party::Owner,
            Party::Editor,
            Party::Viewer,
            Party::Link,
            Party::Outsider,
        ];
        for (action, expected) in table {
            for (party, want) in parties.iter().zip(expected) {
                assert_eq!(decide(*party, action), want, "{party:?} × {action:?}");
            }
        }
    }

    #[test]
    fn decisions_become_the_answers_an_outsider_cannot_tell_apart() {
        use crate::error::ApiError;
        assert_eq!(Decision::Allow.check(), Ok(()));
        assert_eq!(
            Decision::Forbid(OWNER_ONLY).check(),
            Err(ApiError::Forbidden(OWNER_ONLY))
        );
        assert_eq!(Decision::Hide.check(), Err(ApiError::NotFound));
        assert!(Decision::Allow.allowed() && !Decision::Hide.allowed());
    }

    #[test]
    fn roles_read_back_as_parties_and_anything_else_is_an_outsider() {
        for p in [Party::Owner, Party::Editor, Party::Viewer, Party::Link] {
            assert_eq!(Party::from_role(Some(p.as_str())), p);
        }
        assert_eq!(Party::from_role(None), Party::Outsider);
        assert_eq!(Party::from_role(Some("admin")), Party::Outsider);
    }

    #[test]
    fn members_need_an_email_and_a_known_role() {
        let mut f = fields(
            json!({"email": "Band@Example.com", "role": "editor"}),
            &["email", "role"],
        );
        assert_eq!(
            parse_member(&mut f),
            Some(("band@example.com".into(), Role::Editor))
        );
        let mut f = fields(json!({"email": "x", "role": "owner"}), &["email", "role"]);
        assert_eq!(parse_member(&mut f), None);
        let Err(crate::error::ApiError::Validation(e)) = f.finish() else {
            panic!()
        };
        assert_eq!(e.len(), 2);
    }
}
