//! Presets (issue 6): built-in instrumentation presets and genres plus each user's own. Scores
//! are filtered by a preset through `GET /v1/scores?preset=` (`store::search`).

use serde_json::Map;

use crate::api::views;
use crate::domain::fields::Fields;
use crate::domain::preset::{self, NewPreset};
use crate::error::{ApiError, ApiResult};
use crate::store::presets as q;

use super::call::{Call, Reply};
use super::d1::{Arg, JsonRow};

/// `GET /v1/presets?kind=`.
pub async fn list(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let mut f = Fields::new(Map::new(), &[]);
    let mut kind = None;
    for (k, v) in &call.query {
        match k.as_str() {
            "kind" => match preset::kind(v) {
                Ok(k) => kind = Some(k),
                Err(message) => f.error("kind", message),
            },
            other => f.error(other, "unknown parameter"),
        }
    }
    f.finish()?;
    let rows = call
        .ctx
        .db
        .all::<JsonRow>(
            q::LIST,
            &[user_id.as_str().into(), kind.map_or(Arg::Null, Arg::Text)],
        )
        .await?;
    let presets = views::json_array(rows.iter().map(|r| r.json.as_str()));
    Ok(Reply::JsonText(200, format!("{{\"presets\":{presets}}}")))
}

/// `POST /v1/presets`: a name already used by a built-in or one's own preset of that kind → 409.
pub async fn create(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let Call { ctx, body, .. } = call;
    let mut f = Fields::new(body, &["kind", "name", "parts"]);
    let new = NewPreset::read(&mut f);
    f.finish()?;
    let new = new.ok_or_else(|| ApiError::internal("preset fields reported valid but missing"))?;
    let id = ctx.id("pre")?;
    let now = ctx.now.rfc3339();
    let mut results = ctx
        .db
        .batch_rows::<JsonRow>(vec![
            ctx.db.stmt(
                q::INSERT,
                &[
                    id.as_str().into(),
                    user_id.as_str().into(),
                    Arg::Text(new.kind),
                    new.name.as_str().into(),
                    new.parts.as_str().into(),
                    now.as_str().into(),
                ],
            )?,
            ctx.db.stmt(q::ONE, &[id.as_str().into()])?,
        ])
        .await?;
    let row = results
        .pop()
        .and_then(|rows| rows.into_iter().next())
        .ok_or_else(|| {
            ApiError::conflict(
                "PRESET_EXISTS",
                "a built-in or one of your presets of this kind already has this name",
            )
        })?;
    Ok(Reply::JsonText(201, format!("{{\"preset\":{}}}", row.json)))
}

/// `DELETE /v1/presets/{id}`: one's own only; built-ins answer 403, others' and unknown ids 404.
pub async fn delete(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let id = call.params.first().cloned().unwrap_or_default();
    let ctx = &call.ctx;
    let removed = ctx
        .db
        .run(q::DELETE, &[id.as_str().into(), user_id.as_str().into()])
        .await?;
    if removed > 0 {
        return Ok(Reply::NoContent);
    }
    let builtin = ctx
        .db
        .first::<serde_json::Value>(q::IS_BUILTIN, &[id.as_str().into()])
        .await?
        .is_some();
    Err(if builtin {
        ApiError::Forbidden("built-in presets cannot be deleted")
    } else {
        ApiError::NotFound
    })
}
