//! Score metadata versions: each row (written by the `scores_record_version` trigger) holds the
//! editable fields before and after one PATCH. Version 0 is the score as first created (the
//! `before` of version 1), so any two versions compare field by field.

use serde::Serialize;
use serde_json::{Map, Value};

/// One stored version.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub version: i64,
    pub user_id: String,
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// Fields that differ between two snapshots, in a stable (alphabetical) order.
pub fn diff(from: &Map<String, Value>, to: &Map<String, Value>) -> Vec<Change> {
    let mut fields: Vec<&String> = from.keys().chain(to.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|field| {
            let a = from.get(field).cloned().unwrap_or(Value::Null);
            let b = to.get(field).cloned().unwrap_or(Value::Null);
            (a != b).then(|| Change {
                field: field.clone(),
                from: a,
                to: b,
            })
        })
        .collect()
}

/// The list view of `versions` (consecutive, oldest first) with what each changed, preceded by
/// version 0 (the score as created, the `before` of version 1) when `with_origin` and version 1
/// is among them (it is gone once the history was pruned).
pub fn listing(versions: &[Version], with_origin: bool) -> Value {
    let mut out = Vec::with_capacity(versions.len() + 1);
    if let Some(first) = versions.first().filter(|v| with_origin && v.version == 1) {
        out.push(serde_json::json!({
            "version": 0,
            "created_at": Value::Null,
            "user_id": first.user_id,
            "changes": [],
            "fields": first.before,
        }));
    }
    for v in versions {
        out.push(serde_json::json!({
            "version": v.version,
            "created_at": v.created_at,
            "user_id": v.user_id,
            "changes": diff(&v.before, &v.after),
            "fields": v.after,
        }));
    }
    Value::Array(out)
}

/// The fields as they were at `version` (0 = as created, the `before` of version 1); `None`
/// when `versions` does not hold it (never recorded, or pruned).
pub fn snapshot(versions: &[Version], version: i64) -> Option<&Map<String, Value>> {
    if version == 0 {
        return versions.iter().find(|v| v.version == 1).map(|v| &v.before);
    }
    versions
        .iter()
        .find(|v| v.version == version)
        .map(|v| &v.after)
}

/// `compare?from=&to=`: the field-level diff between two versions.
///
/// # Errors
/// The name of the parameter that names no version.
pub fn compare(versions: &[Version], from: i64, to: i64) -> Result<Vec<Change>, &'static str> {
    let a = snapshot(versions, from).ok_or("from")?;
    let b = snapshot(versions, to).ok_or("to")?;
    Ok(diff(a, b))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn history() -> Vec<Version> {
        let v = |n, before: Value, after: Value| Version {
            version: n,
            user_id: "usr_1".into(),
            before: obj(before),
            after: obj(after),
            created_at: format!("2026-01-0{n}T00:00:00.000Z"),
        };
        vec![
            v(
                1,
                json!({"title": "A", "key": null, "tags": []}),
                json!({"title": "B", "key": null, "tags": []}),
            ),
            v(
                2,
                json!({"title": "B", "key": null, "tags": []}),
                json!({"title": "B", "key": "D minor", "tags": ["gig"]}),
            ),
            v(
                3,
                json!({"title": "B", "key": "D minor", "tags": ["gig"]}),
                json!({"title": "A", "key": "D minor", "tags": ["gig"]}),
            ),
        ]
    }

    #[test]
    fn each_version_lists_only_what_it_changed() {
        let list = listing(&history(), true);
        assert_eq!(list.as_array().unwrap().len(), 4);
        assert_eq!(list[0]["version"], 0);
        assert_eq!(
            list[1]["changes"],
            json!([{"field": "title", "from": "A", "to": "B"}])
        );
        assert_eq!(
            list[2]["changes"],
            json!([{"field": "key", "from": null, "to": "D minor"}, {"field": "tags", "from": [], "to": ["gig"]}])
        );
    }

    #[test]
    fn a_pruned_history_has_no_origin_and_later_pages_none_either() {
        let pruned = &history()[1..];
        assert_eq!(listing(pruned, true)[0]["version"], 2);
        assert_eq!(listing(&history(), false)[0]["version"], 1);
        assert_eq!(compare(pruned, 0, 3), Err("from"));
        assert!(compare(pruned, 2, 3).is_ok());
    }

    #[test]
    fn any_two_versions_compare_and_a_round_trip_cancels_out() {
        let h = history();
        let changes = compare(&h, 0, 3).unwrap();
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["key", "tags"], "title went A → B → A");
        assert!(compare(&h, 2, 2).unwrap().is_empty());
        assert_eq!(compare(&h, 3, 1).unwrap()[0].field, "key");
        assert_eq!(compare(&h, 0, 9), Err("to"));
        assert_eq!(compare(&h, -1, 1), Err("from"));
        assert_eq!(compare(&[], 0, 0), Err("from"));
    }
}
