//! Performance settings (SPEC §10): a musician's crop, page-turn, page links, tempo and place
//! for one score (or one setlist item). A `PUT` is a JSON merge patch (RFC 7396): absent keys
//! keep their value, `null` clears one, crops merge per page (a page set to `null` loses its
//! crop), `links` is replaced whole. This module checks the patch's shape and pages (against the
//! page count when it is known) and writes it in a normal form; the database applies it with
//! SQLite's `json_patch` in the statement that stores it, so two devices patching different keys
//! at once both keep theirs.

use serde_json::{Map, Value};

use crate::error::{ApiError, FieldErrors};

/// The merged settings document, as JSON text, at most this long (SPEC §10).
pub const SETTINGS_MAX_BYTES: usize = 16 * 1024;
/// Page links (repeats, D.S. jumps) one piece may carry.
pub const LINKS_MAX: usize = 100;
pub const BPM_MIN: i64 = 20;
pub const BPM_MAX: i64 = 400;
/// The pages a page number may name when the page count is not known yet.
pub const PAGE_MAX: i64 = 100_000;

const KEYS: [&str; 5] = ["crop", "half_page_turn", "links", "bpm", "last_page"];
const SIDES: [&str; 4] = ["left", "top", "right", "bottom"];

/// A JSON number without a fraction (`3.0` is 3, as JSON Schema's `integer` has it).
fn whole(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
            .map(|f| f as i64)
    })
}

fn page_of(v: &Value, pages: Option<i64>) -> Result<i64, String> {
    let max = pages.unwrap_or(PAGE_MAX);
    match whole(v) {
        Some(p) if (1..=max).contains(&p) => Ok(p),
        _ => Err(match pages {
            Some(n) => format!("must be a page from 1 to {n}"),
            None => format!("must be a page from 1 to {PAGE_MAX}"),
        }),
    }
}

/// One page's crop: fractions of the page cut from each side, leaving some of it.
fn crop_box(v: &Value) -> Result<Value, String> {
    const SHAPE: &str = "must be {left, top, right, bottom}: fractions from 0 to 1 of the page \
                         cut from each side, leaving some of it";
    let obj = v.as_object().ok_or(SHAPE)?;
    if obj.len() != 4 || !SIDES.iter().all(|s| obj.contains_key(*s)) {
        return Err(SHAPE.into());
    }
    let side = |s: &str| {
        obj.get(s)
            .and_then(Value::as_f64)
            .filter(|f| (0.0..1.0).contains(f))
    };
    match (side("left"), side("top"), side("right"), side("bottom")) {
        (Some(l), Some(t), Some(r), Some(b)) if l + r < 1.0 && t + b < 1.0 => {
            Ok(serde_json::json!({"left": l, "top": t, "right": r, "bottom": b}))
        }
        _ => Err(SHAPE.into()),
    }
}

/// The patch `raw`, checked for a piece of `pages` pages (when known), in normal form (`null`s
/// kept: they clear).
///
/// # Errors
/// 422 per field (dotted: `crop.3`, `links.0`); 413 when the patch alone is over
/// [`SETTINGS_MAX_BYTES`] (the store refuses a merged document over it too).
pub fn patch(raw: Map<String, Value>, pages: Option<i64>) -> Result<Map<String, Value>, ApiError> {
    let mut errors = FieldErrors::new();
    let mut out = Map::new();
    for (key, value) in raw {
        if !KEYS.contains(&key.as_str()) {
            errors.insert(key, "unknown field".into());
            continue;
        }
        if value.is_null() {
            out.insert(key, Value::Null);
            continue;
        }
        match key.as_str() {
            "half_page_turn" => match value {
                Value::Bool(_) => {
                    out.insert(key, value);
                }
                _ => {
                    errors.insert(key, "must be true or false".into());
                }
            },
            "bpm" => {
                match whole(&value) {
                    Some(b) if (BPM_MIN..=BPM_MAX).contains(&b) => {
                        out.insert(key, b.into());
                    }
                    _ => {
                        errors.insert(
                        key,
                        format!("must be a whole number of beats a minute from {BPM_MIN} to {BPM_MAX}"),
                    );
                    }
                }
            }
            "last_page" => match page_of(&value, pages) {
                Ok(p) => {
                    out.insert(key, p.into());
                }
                Err(m) => {
                    errors.insert(key, m);
                }
            },
            "links" => {
                let Value::Array(items) = value else {
                    errors.insert(
                        key,
                        format!("must be an array of at most {LINKS_MAX} {{from_page, to_page}}"),
                    );
                    continue;
                };
                if items.len() > LINKS_MAX {
                    errors.insert(key, format!("at most {LINKS_MAX} links"));
                    continue;
                }
                let mut links = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let link = item.as_object().filter(|o| {
                        o.len() == 2 && o.contains_key("from_page") && o.contains_key("to_page")
                    });
                    let pair = link.map(|o| {
                        (
                            page_of(&o["from_page"], pages),
                            page_of(&o["to_page"], pages),
                        )
                    });
                    match pair {
                        Some((Ok(from), Ok(to))) => {
                            links.push(serde_json::json!({"from_page": from, "to_page": to}));
                        }
                        Some((Err(m), _) | (_, Err(m))) => {
                            errors.insert(format!("links.{i}"), m);
                        }
                        None => {
                            errors.insert(
                                format!("links.{i}"),
                                "must be {from_page, to_page}".into(),
                            );
                        }
                    }
                }
                out.insert(key, Value::Array(links));
            }
            "crop" => {
                let Value::Object(pages_patch) = value else {
                    errors.insert(
                        key,
                        "must be an object of page number → {left, top, right, bottom}".into(),
                    );
                    continue;
                };
                let mut crop = Map::new();
                for (page, edge) in pages_patch {
                    let field = format!("crop.{page}");
                    let n = page
                        .parse::<i64>()
                        .map_err(|_| String::new())
                        .and_then(|p| page_of(&p.into(), pages));
                    let n = match n {
                        Ok(n) if n.to_string() == page => n,
                        Ok(_) | Err(_) => {
                            errors.insert(
                                field,
                                match pages {
                                    Some(p) => format!("keys are page numbers from 1 to {p}"),
                                    None => format!("keys are page numbers from 1 to {PAGE_MAX}"),
                                },
                            );
                            continue;
                        }
                    };
                    if edge.is_null() {
                        crop.insert(n.to_string(), Value::Null);
                        continue;
                    }
                    match crop_box(&edge) {
                        Ok(b) => {
                            crop.insert(n.to_string(), b);
                        }
                        Err(m) => {
                            errors.insert(field, m);
                        }
                    }
                }
                out.insert(key, Value::Object(crop));
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if Value::Object(out.clone()).to_string().len() > SETTINGS_MAX_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit_bytes: SETTINGS_MAX_BYTES as u64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn fields(r: Result<Map<String, Value>, ApiError>) -> Vec<String> {
        match r {
            Err(ApiError::Validation(f)) => f.into_keys().collect(),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn a_patch_is_written_in_normal_form_with_its_nulls() {
        let p = patch(
            obj(json!({
                "crop": {"1": {"bottom": 0.05, "left": 0.1, "top": 0, "right": 0.1}, "2": null},
                "half_page_turn": true, "bpm": 96, "links": [{"to_page": 1, "from_page": 3.0}], "last_page": null,
            })),
            Some(4),
        )
        .unwrap();
        assert_eq!(
            Value::Object(p),
            json!({
                "crop": {"1": {"left": 0.1, "top": 0.0, "right": 0.1, "bottom": 0.05}, "2": null},
                "half_page_turn": true, "bpm": 96, "links": [{"from_page": 3, "to_page": 1}], "last_page": null,
            })
        );
    }

    #[test]
    fn pages_are_checked_against_the_page_count_when_known() {
        assert_eq!(
            fields(patch(obj(json!({"last_page": 5})), Some(4))),
            ["last_page"]
        );
        assert!(patch(obj(json!({"last_page": 5})), None).is_ok());
        assert_eq!(
            fields(patch(
                obj(
                    json!({"links": [{"from_page": 1, "to_page": 9}, {"from_page": 1}], "crop": {"9": {"left": 0, "top": 0, "right": 0, "bottom": 0}, "01": null, "x": null}})
                ),
                Some(4)
            )),
            ["crop.01", "crop.9", "crop.x", "links.0", "links.1"]
        );
    }

    #[test]
    fn every_shape_error_is_reported_at_once() {
        assert_eq!(
            fields(patch(
                obj(json!({
                    "crop": {"1": {"left": 0.6, "top": 0, "right": 0.5, "bottom": 0}, "2": {"left": 0}},
                    "half_page_turn": "yes", "bpm": 5, "links": {}, "zoom": 2,
                })),
                Some(4)
            )),
            ["bpm", "crop.1", "crop.2", "half_page_turn", "links", "zoom"]
        );
        assert_eq!(
            fields(patch(
                obj(json!({"links": vec![json!({"from_page": 1, "to_page": 2}); LINKS_MAX + 1]})),
                None
            )),
            ["links"]
        );
        assert_eq!(fields(patch(obj(json!({"bpm": 96.5})), None)), ["bpm"]);
        assert_eq!(patch(obj(json!({"bpm": 84.0})), None).unwrap()["bpm"], 84);
    }

    #[test]
    fn a_patch_is_bounded() {
        let mut crop = Map::new();
        for p in 1..=400 {
            crop.insert(
                p.to_string(),
                json!({"left": 0.125, "top": 0.125, "right": 0.125, "bottom": 0.125}),
            );
        }
        assert!(matches!(
            patch(obj(json!({"crop": crop})), None),
            Err(ApiError::PayloadTooLarge { limit_bytes }) if limit_bytes == SETTINGS_MAX_BYTES as u64
        ));
    }
}
