//! Annotation layers and performance settings (SPEC §10): a score's owner keeps layers and
//! settings on the score, and may share a layer with the members of setlists holding it; every
//! member keeps private layers and settings on a setlist item. Who may reach an item is the
//! setlist policy's answer ([`Action::KeepOwn`]).

use serde_json::{Map, Value};

use crate::domain::annotations::{is_layer_name, PutLayer, LAYERS_MAX, LAYER_MAX_CHARS};
use crate::domain::ids;
use crate::domain::setlist::{decide, Action, Party};
use crate::domain::settings::{self, SETTINGS_MAX_BYTES};
use crate::error::{ApiError, ApiResult};
use crate::ports::{Db, Ports};
use crate::store::annotations::{self as q, LayerKey, LayerState, LayerWrite, Pages};
use crate::store::rows::JsonRow;
use crate::store::setlists::{item_file, ItemFileRow};

use super::Cx;

/// Where layers and settings are kept.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// On one's own score.
    Score(&'a str),
    /// On an item of a setlist one is in.
    Item { setlist: &'a str, item: &'a str },
}

/// What a place resolves to: the score, the item (`""` on the score) and its page count.
struct Target {
    score: String,
    item: String,
    pages: Option<i64>,
}

/// The place, if the caller may keep things there.
///
/// # Errors
/// 404 for someone else's score, a setlist the caller is not in (or a link), an item not in it.
async fn target<P: Ports>(cx: &Cx<'_, P>, user: &str, place: Place<'_>) -> ApiResult<Target> {
    match place {
        Place::Score(score) => {
            if !ids::is_well_formed("sco", score) {
                return Err(ApiError::NotFound);
            }
            let row = cx.db().first::<Pages>(q::owned_score(user, score)).await?;
            let row = row.ok_or(ApiError::NotFound)?;
            Ok(Target {
                score: score.to_owned(),
                item: String::new(),
                pages: row.pages,
            })
        }
        Place::Item { setlist, item } => {
            if !ids::is_well_formed("set", setlist) || !ids::is_well_formed("itm", item) {
                return Err(ApiError::NotFound);
            }
            let row = cx
                .db()
                .first::<ItemFileRow>(item_file(setlist, item, user))
                .await?;
            let party = Party::from_role(row.as_ref().map(|r| r.role.as_str()));
            decide(party, Action::KeepOwn).check()?;
            let row = row.ok_or(ApiError::NotFound)?;
            Ok(Target {
                score: row.score_id,
                item: item.to_owned(),
                pages: row.pages.and_then(|p| i64::try_from(p).ok()),
            })
        }
    }
}

fn layer_name(layer: &str) -> ApiResult<()> {
    if is_layer_name(layer) {
        Ok(())
    } else {
        Err(ApiError::field(
            "layer",
            format!("must be 1 to {LAYER_MAX_CHARS} of a-z, 0-9 and -"),
        ))
    }
}

/// `GET …/annotations`: on a score, the caller's layers; on an item, the caller's own layers on
/// it and the layers the score's owner shared — as `{"annotations": […]}` JSON text.
///
/// # Errors
/// 404 as [`target`] says.
pub async fn list<P: Ports>(cx: &Cx<'_, P>, user: &str, place: Place<'_>) -> ApiResult<String> {
    let t = target(cx, user, place).await?;
    let stmt = match place {
        Place::Score(_) => q::own_layers(user, &t.score, ""),
        Place::Item { .. } => q::item_layers(user, &t.score, &t.item),
    };
    let rows = cx.db().all::<JsonRow>(stmt).await?;
    Ok(format!(
        "{{\"annotations\":{}}}",
        crate::api::views::json_array(rows.iter().map(|r| r.json.as_str()))
    ))
}

/// A layer written: 201 when it was created, 200 when replaced; its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub created: bool,
    pub json: String,
}

/// `PUT …/annotations/{layer}` `{data, version?, shared?}`: creates the layer (no `version`) or
/// replaces the version the caller saw. The layer's bytes are counted against the caller's quota
/// in the same statement.
///
/// # Errors
/// 404 as [`target`] says; 422 per field, or for one layer too many; 413 for a document over
/// 512 KiB or a quota it does not fit; 409 `VERSION_CONFLICT` with the current layer (`null`
/// when there is none) when the version is stale.
pub async fn put<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    place: Place<'_>,
    layer: &str,
    body: Map<String, Value>,
) -> ApiResult<Written> {
    let t = target(cx, user, place).await?;
    layer_name(layer)?;
    let put = PutLayer::read(body, matches!(place, Place::Score(_)))?;
    let key = LayerKey {
        user,
        score: &t.score,
        item: &t.item,
        layer,
    };
    let now = cx.now_text();
    let write = LayerWrite {
        layers_max: LAYERS_MAX,
        key,
        data: &put.data,
        expected: put.expected,
        shared: put.shared,
        now: &now,
    };
    if let Some(row) = cx.db().first::<JsonRow>(q::put_layer(&write)).await? {
        return Ok(Written {
            created: put.expected.is_none(),
            json: row.json,
        });
    }
    let state = cx
        .db()
        .first::<LayerState>(q::layer_state(key))
        .await?
        .ok_or(ApiError::NotFound)?;
    Err(refusal(&put, &state))
}

/// Why a layer's write changed nothing, from the state read right after it.
fn refusal(put: &PutLayer, state: &LayerState) -> ApiError {
    let bytes = put.data.len() as i64;
    match (put.expected, state.version) {
        (Some(want), Some(have)) if want == have => quota(state, bytes - state.bytes.unwrap_or(0)),
        (None, None) if state.layers >= LAYERS_MAX as i64 => ApiError::field(
            "layer",
            format!("at most {LAYERS_MAX} layers here; delete one first"),
        ),
        (None, None) => quota(state, bytes),
        _ => {
            let mut extra = Map::new();
            let current = state
                .json
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or(Value::Null);
            extra.insert("annotation".into(), current);
            ApiError::Conflict {
                code: "VERSION_CONFLICT",
                message: match state.version {
                    Some(v) => format!("the layer is at version {v}; reload it and try again"),
                    None => {
                        "the layer does not exist (any more); write it without a version".into()
                    }
                },
                extra,
            }
        }
    }
}

fn quota(state: &LayerState, requested: i64) -> ApiError {
    ApiError::QuotaExceeded {
        quota_bytes: state.quota_bytes,
        used_bytes: state.used_bytes,
        reserved_bytes: state.reserved_bytes,
        requested_bytes: requested,
    }
}

/// `DELETE …/annotations/{layer}`: the layer's bytes go back to the caller's quota.
///
/// # Errors
/// 404 as [`target`] says, or for no such layer.
pub async fn delete<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    place: Place<'_>,
    layer: &str,
) -> ApiResult<()> {
    let t = target(cx, user, place).await?;
    if !is_layer_name(layer) {
        return Err(ApiError::NotFound);
    }
    let key = LayerKey {
        user,
        score: &t.score,
        item: &t.item,
        layer,
    };
    match cx.db().run(q::delete_layer(key)).await? {
        0 => Err(ApiError::NotFound),
        _ => Ok(()),
    }
}

/// `GET …/settings`: the caller's settings there (`{}` when none), as `{"settings": …}`.
///
/// # Errors
/// 404 as [`target`] says.
pub async fn get_settings<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    place: Place<'_>,
) -> ApiResult<String> {
    let t = target(cx, user, place).await?;
    let row = cx
        .db()
        .first::<JsonRow>(q::settings(user, &t.score, &t.item))
        .await?;
    Ok(format!(
        "{{\"settings\":{}}}",
        row.map_or_else(|| "{}".to_owned(), |r| r.json)
    ))
}

/// `PUT …/settings`: a merge patch (absent keys kept, `null` clears); the result as
/// `{"settings": …}`.
///
/// # Errors
/// 404 as [`target`] says; 422 per field; 413 when the result would be over 16 KiB.
pub async fn put_settings<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    place: Place<'_>,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let t = target(cx, user, place).await?;
    let patch = Value::Object(settings::patch(body, t.pages)?).to_string();
    let row = cx
        .db()
        .first::<JsonRow>(q::patch_settings(
            user,
            &t.score,
            &t.item,
            &patch,
            SETTINGS_MAX_BYTES,
            &cx.now_text(),
        ))
        .await?
        .ok_or(ApiError::PayloadTooLarge {
            limit_bytes: SETTINGS_MAX_BYTES as u64,
        })?;
    Ok(format!("{{\"settings\":{}}}", row.json))
}
