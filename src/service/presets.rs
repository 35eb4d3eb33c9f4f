//! Presets (issue 6): the built-in instrumentation presets and genres plus each user's own.
//! Scores are filtered by a preset through `GET /v1/scores?preset=` (`store::search`).

use serde_json::{Map, Value};

use crate::api::views;
use crate::domain::fields::Fields;
use crate::domain::preset::{self, NewPreset};
use crate::error::{ApiError, ApiResult};
use crate::ports::{Db, Ports};
use crate::store::presets as q;
use crate::store::rows::JsonRow;

use super::Cx;

/// `GET /v1/presets?kind=`: the built-ins and the caller's own, as a JSON array text.
///
/// # Errors
/// 422 for an unknown parameter or kind.
pub async fn list<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    query: &[(String, String)],
) -> ApiResult<String> {
    let mut f = Fields::new(Map::new(), &[]);
    let mut kind = None;
    for (k, v) in query {
        match k.as_str() {
            "kind" => match preset::kind(v) {
                Ok(k) => kind = Some(k),
                Err(message) => f.error("kind", message),
            },
            other => f.error(other, "unknown parameter"),
        }
    }
    f.finish()?;
    let rows = cx.db().all::<JsonRow>(q::list(user_id, kind)).await?;
    Ok(views::json_array(rows.iter().map(|r| r.json.as_str())))
}

/// `POST /v1/presets`: the new preset as JSON text.
///
/// # Errors
/// 422 per field; 409 `PRESET_EXISTS` when a built-in or one of the caller's presets of that
/// kind already has the name.
pub async fn create<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, &["kind", "name", "parts"]);
    let new = NewPreset::read(&mut f);
    f.finish()?;
    let new = new.ok_or_else(|| ApiError::internal("preset fields reported valid but missing"))?;
    let id = cx.id("pre")?;
    let outcomes = cx
        .db()
        .batch(
            q::create(&q::NewPreset {
                id: &id,
                user_id,
                kind: new.kind,
                name: &new.name,
                parts: &new.parts,
                now: &cx.now_text(),
            })
            .into(),
        )
        .await?;
    let row = outcomes
        .last()
        .map(|o| o.first::<JsonRow>())
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            ApiError::conflict(
                "PRESET_EXISTS",
                "a built-in or one of your presets of this kind already has this name",
            )
        })?;
    Ok(row.json)
}

/// `DELETE /v1/presets/{id}`: one's own only.
///
/// # Errors
/// 403 for a built-in; 404 for another user's or an unknown id.
pub async fn delete<P: Ports>(cx: &Cx<'_, P>, user_id: &str, id: &str) -> ApiResult<()> {
    if cx.db().run(q::delete(id, user_id)).await? > 0 {
        return Ok(());
    }
    let builtin = cx.db().first::<Value>(q::is_builtin(id)).await?.is_some();
    Err(if builtin {
        ApiError::Forbidden("built-in presets cannot be deleted")
    } else {
        ApiError::NotFound
    })
}
