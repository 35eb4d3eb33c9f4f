//! Admin rules (SPEC §6): what an admin may change on a user, and which background tasks can be
//! re-run. Pure: the shell reads the body into [`UserPatch`] and the path into [`TaskRef`].

use serde_json::Value;

use crate::domain::fields::Fields;
use crate::domain::task::Task;

/// Most users on one page of the admin's user list.
pub const USERS_PAGE_MAX: i64 = 200;

/// Most failed tasks the admin's task list shows.
pub const TASKS_PAGE_MAX: i64 = 500;

/// Largest quota an admin can set (1 PiB): beyond any real library, far below overflow.
pub const MAX_QUOTA_BYTES: i64 = 1 << 50;

/// `PATCH /v1/admin/users/{id}`: every field optional, at least one present.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub quota_bytes: Option<i64>,
    pub role: Option<&'static str>,
    pub disabled: Option<bool>,
}

impl UserPatch {
    /// Reads the body; `self_edit` is true when admins patch themselves, who may change their
    /// quota but never lock themselves out (disable, demote).
    pub fn read(f: &mut Fields, self_edit: bool) -> Self {
        let mut patch = Self::default();
        if f.present("quota_bytes") {
            patch.quota_bytes = f
                .int("quota_bytes")
                .filter(|q| (0..=MAX_QUOTA_BYTES).contains(q));
            if patch.quota_bytes.is_none() {
                f.error(
                    "quota_bytes",
                    format!("must be an integer from 0 to {MAX_QUOTA_BYTES}"),
                );
            }
        }
        if f.present("role") {
            patch.role = match f.opt_value("role") {
                Some(Value::String(r)) if r == "user" => Some("user"),
                Some(Value::String(r)) if r == "admin" => Some("admin"),
                _ => {
                    f.error("role", "must be \"user\" or \"admin\"");
                    None
                }
            };
            if self_edit && patch.role == Some("user") {
                f.error("role", "admins cannot demote themselves");
            }
        }
        if f.present("disabled") {
            patch.disabled = match f.opt_value("disabled") {
                Some(Value::Bool(b)) => Some(b),
                _ => {
                    f.error("disabled", "must be true or false");
                    None
                }
            };
            if self_edit && patch.disabled == Some(true) {
                f.error("disabled", "admins cannot disable themselves");
            }
        }
        if !["quota_bytes", "role", "disabled"]
            .iter()
            .any(|k| f.present(k))
        {
            f.error(
                "quota_bytes",
                "send at least one of quota_bytes, role, disabled",
            );
        }
        patch
    }
}

/// A re-runnable task, named as `GET /v1/admin/tasks` lists it.
#[derive(Debug, PartialEq, Eq)]
pub enum TaskRef {
    /// `pdf_info:{score_id}` or `thumbnail:{score_id}` (`part_info:{part_id}`,
    /// `part_thumbnail:{part_id}`): a score's (or part's) failed processing.
    Score(Task),
    /// `dead:{message_id}`: a dead-lettered message; its body says which task.
    DeadLetter(String),
}

impl TaskRef {
    pub fn parse(id: &str) -> Option<Self> {
        let (kind, rest) = id.split_once(':')?;
        if rest.is_empty() || rest.len() > 200 {
            return None;
        }
        let score_id = || rest.starts_with("sco_").then(|| rest.to_owned());
        let part_id = || rest.starts_with("prt_").then(|| rest.to_owned());
        match kind {
            "pdf_info" => Some(Self::Score(Task::PdfInfo {
                score_id: score_id()?,
            })),
            "thumbnail" => Some(Self::Score(Task::Thumbnail {
                score_id: score_id()?,
            })),
            "part_info" => Some(Self::Score(Task::PartInfo {
                part_id: part_id()?,
            })),
            "part_thumbnail" => Some(Self::Score(Task::PartThumbnail {
                part_id: part_id()?,
            })),
            "dead" => Some(Self::DeadLetter(rest.to_owned())),
            _ => None,
        }
    }
}

/// Longest `?q=` accepted (the longest email address is 254 characters).
pub const SEARCH_MAX_CHARS: usize = 254;

/// `?q=` for the user search: trimmed and ASCII-lowercased, matched literally as a substring
/// (`instr`, not `LIKE`: D1 refuses LIKE patterns over 50 bytes, and `%`/`_` need no escaping).
///
/// # Errors
/// A message for the field when it is longer than [`SEARCH_MAX_CHARS`].
pub fn search_term(q: &str) -> Result<String, String> {
    let q = q.trim();
    if q.chars().count() > SEARCH_MAX_CHARS {
        return Err(format!("must be at most {SEARCH_MAX_CHARS} characters"));
    }
    Ok(q.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map};

    use super::*;

    fn read(body: Value, self_edit: bool) -> Result<UserPatch, Value> {
        let map: Map<String, Value> = serde_json::from_value(body).unwrap();
        let mut f = Fields::new(map, &["quota_bytes", "role", "disabled"]);
        let patch = UserPatch::read(&mut f, self_edit);
        f.finish()
            .map(|()| patch)
            .map_err(|e| e.envelope()["error"]["fields"].clone())
    }

    #[test]
    fn patches_read_each_field_and_say_what_is_wrong() {
        assert_eq!(
            read(
                json!({"quota_bytes": 5, "role": "admin", "disabled": false}),
                false
            ),
            Ok(UserPatch {
                quota_bytes: Some(5),
                role: Some("admin"),
                disabled: Some(false)
            })
        );
        let errors = read(
            json!({"quota_bytes": -1, "role": "root", "disabled": "yes"}),
            false,
        )
        .unwrap_err();
        for field in ["quota_bytes", "role", "disabled"] {
            assert!(errors[field].is_string(), "{field}: {errors}");
        }
        assert!(read(json!({}), false).unwrap_err()["quota_bytes"].is_string());
        assert!(read(json!({"quota_bytes": 1.5}), false).is_err());
        assert!(read(json!({"quota_bytes": MAX_QUOTA_BYTES + 1}), false).is_err());
    }

    #[test]
    fn admins_cannot_lock_themselves_out() {
        assert!(read(json!({"disabled": true}), true).unwrap_err()["disabled"].is_string());
        assert!(read(json!({"role": "user"}), true).unwrap_err()["role"].is_string());
        assert!(read(json!({"quota_bytes": 10, "disabled": false}), true).is_ok());
    }

    #[test]
    fn task_ids_name_score_tasks_or_dead_letters() {
        assert_eq!(
            TaskRef::parse("pdf_info:sco_1"),
            Some(TaskRef::Score(Task::PdfInfo {
                score_id: "sco_1".into()
            }))
        );
        assert_eq!(
            TaskRef::parse("thumbnail:sco_9"),
            Some(TaskRef::Score(Task::Thumbnail {
                score_id: "sco_9".into()
            }))
        );
        assert_eq!(
            TaskRef::parse("dead:abc"),
            Some(TaskRef::DeadLetter("abc".into()))
        );
        for bad in [
            "",
            "pdf_info",
            "pdf_info:",
            "pdf_info:usr_1",
            "ping:x",
            "delete_file:k",
        ] {
            assert_eq!(TaskRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn search_text_is_literal() {
        assert_eq!(search_term(" Ann "), Ok("ann".into()));
        assert_eq!(search_term("50%_off\\"), Ok("50%_off\\".into()));
        assert!(search_term(&"x".repeat(255)).is_err());
    }
}
