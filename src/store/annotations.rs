//! Statements of annotation layers and performance settings (SPEC §10). A layer's write is one
//! statement: the upsert carries its compare-and-swap on `version` and its quota check, and the
//! triggers of migration 0010 move the author's `used_bytes` by the difference — so a lost race
//! or a full quota changes nothing, and the ledger cannot drift from the layers.

use serde::Deserialize;

use crate::args;

use super::Stmt;

/// The layer's JSON object as the API shows it, from the row (columns prefixed `$p`) and `?1`
/// (the caller).
macro_rules! layer_json {
    ($p:literal) => {
        concat!(
            "json_object('layer', ",
            $p,
            "layer, 'scope', case when ",
            $p,
            "item_id = '' then 'score' else 'item' end, \
               'mine', json(case when ",
            $p,
            "user_id = ?1 then 'true' else 'false' end), \
               'shared', json(case when ",
            $p,
            "shared = 1 then 'true' else 'false' end), \
               'version', ",
            $p,
            "version, 'bytes', ",
            $p,
            "bytes, 'data', json(",
            $p,
            "data), \
               'created_at', ",
            $p,
            "created_at, 'updated_at', ",
            $p,
            "updated_at)"
        )
    };
}

/// Score `score` of owner `user` (its `pages`, when known): the owner-only routes' access.
pub fn owned_score(user: &str, score: &str) -> Stmt {
    Stmt::new(
        "select pages from scores where id = ?2 and user_id = ?1 and trashed_at is null",
        args![user, score],
    )
}

/// Where a layer is, and who writes it.
#[derive(Debug, Clone, Copy)]
pub struct LayerKey<'a> {
    pub user: &'a str,
    pub score: &'a str,
    /// `""` for a layer on the score itself.
    pub item: &'a str,
    pub layer: &'a str,
}

/// A layer to write: `expected` the version the writer saw (`None`: it must not exist yet),
/// `shared` `None` keeps the layer's; a new layer only while the writer has fewer than
/// `layers_max` at the place.
pub struct LayerWrite<'a> {
    pub layers_max: usize,
    pub key: LayerKey<'a>,
    pub data: &'a str,
    pub expected: Option<i64>,
    pub shared: Option<bool>,
    pub now: &'a str,
}

/// Creates or replaces a layer ([`JsonRow`] of the layer as written). Changed nothing (no row):
/// the version did not match (or the layer exists and none was named, or does not and one was),
/// the author's quota cannot take the growth, or a new layer would be one too many.
pub fn put_layer(w: &LayerWrite<'_>) -> Stmt {
    let k = w.key;
    Stmt::new(
        concat!(
            "insert into annotations as a (user_id, score_id, item_id, layer, data, bytes, version, shared, created_at, updated_at) \
             select ?1, ?2, ?3, ?4, ?5, length(cast(?5 as blob)), 1, coalesce(?7, 0), ?8, ?8 \
             where case when ?6 is null \
               then (select used_bytes + reserved_bytes + length(cast(?5 as blob)) <= quota_bytes from users where id = ?1) \
                 and (select count(*) from annotations where user_id = ?1 and score_id = ?2 and item_id = ?3) < ?9 \
               else exists (select 1 from annotations where user_id = ?1 and score_id = ?2 and item_id = ?3 and layer = ?4) end \
             on conflict (user_id, score_id, item_id, layer) do update set \
               data = excluded.data, bytes = excluded.bytes, version = a.version + 1, \
               shared = coalesce(?7, a.shared), updated_at = excluded.updated_at \
             where a.version = ?6 and (excluded.bytes <= a.bytes or \
               (select used_bytes + reserved_bytes + excluded.bytes - a.bytes <= quota_bytes from users where id = ?1)) \
             returning ",
            layer_json!(""),
            " as json"
        ),
        args![
            k.user,
            k.score,
            k.item,
            k.layer,
            w.data,
            w.expected,
            w.shared.map(i64::from),
            w.now,
            w.layers_max as i64
        ],
    )
}

/// The layer at `key` ([`LayerState`]), and its author's quota figures, to say why a write
/// changed nothing.
pub fn layer_state(k: LayerKey<'_>) -> Stmt {
    Stmt::new(
        concat!(
            "select u.quota_bytes, u.used_bytes, u.reserved_bytes, a.version, a.bytes, \
               (select count(*) from annotations where user_id = ?1 and score_id = ?2 and item_id = ?3) as layers, \
               case when a.layer is null then null else ",
            layer_json!("a."),
            " end as json from users u left join annotations a on a.user_id = u.id and a.score_id = ?2 \
               and a.item_id = ?3 and a.layer = ?4 where u.id = ?1"
        ),
        args![k.user, k.score, k.item, k.layer],
    )
}

/// `user`'s own layers on score `score` (`item` `""`) or on an item, by name ([`JsonRow`]).
pub fn own_layers(user: &str, score: &str, item: &str) -> Stmt {
    Stmt::new(
        concat!(
            "select ",
            layer_json!("a."),
            " as json from annotations a where a.user_id = ?1 and a.score_id = ?2 and a.item_id = ?3 \
             order by a.layer"
        ),
        args![user, score, item],
    )
}

/// What `user` reads on item `item` of score `score`: their own layers on the item, their own
/// layers on the score (when it is theirs), and the layers its owner shared ([`JsonRow`]).
pub fn item_layers(user: &str, score: &str, item: &str) -> Stmt {
    Stmt::new(
        concat!(
            "select ",
            layer_json!("a."),
            " as json from annotations a where a.score_id = ?2 and \
               ((a.item_id = ?3 and a.user_id = ?1) or (a.item_id = '' and (a.user_id = ?1 or a.shared = 1))) \
             order by a.item_id = '' desc, a.layer"
        ),
        args![user, score, item],
    )
}

/// Deletes a layer. Changed nothing: there was none.
pub fn delete_layer(k: LayerKey<'_>) -> Stmt {
    Stmt::new(
        "delete from annotations where user_id = ?1 and score_id = ?2 and item_id = ?3 and layer = ?4",
        args![k.user, k.score, k.item, k.layer],
    )
}

/// `user`'s settings at `(score, item)` ([`JsonRow`]; no row: none yet).
pub fn settings(user: &str, score: &str, item: &str) -> Stmt {
    Stmt::new(
        "select data as json from performance_settings \
         where user_id = ?1 and score_id = ?2 and item_id = ?3",
        args![user, score, item],
    )
}

/// Applies the merge patch `patch` (RFC 7396, SQLite's `json_patch`) to `user`'s settings at
/// `(score, item)` ([`JsonRow`] of the result). Changed nothing: the result would be over
/// `max_bytes`.
pub fn patch_settings(
    user: &str,
    score: &str,
    item: &str,
    patch: &str,
    max_bytes: usize,
    now: &str,
) -> Stmt {
    Stmt::new(
        "insert into performance_settings as p (user_id, score_id, item_id, data, updated_at) \
         select ?1, ?2, ?3, json_patch('{}', ?4), ?6 where length(json_patch('{}', ?4)) <= ?5 \
         on conflict (user_id, score_id, item_id) do update set \
           data = json_patch(p.data, ?4), updated_at = excluded.updated_at \
         where length(json_patch(p.data, ?4)) <= ?5 \
         returning data as json",
        args![user, score, item, patch, max_bytes as i64, now],
    )
}

/// What [`layer_state`] returns: `version`, `bytes` and `json` are null without a layer.
#[derive(Debug, Clone, Deserialize)]
pub struct LayerState {
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub reserved_bytes: i64,
    pub version: Option<i64>,
    pub bytes: Option<i64>,
    /// The writer's layers at the place.
    pub layers: i64,
    pub json: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pages {
    pub pages: Option<i64>,
}
