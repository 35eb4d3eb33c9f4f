//! Preset statements: built-ins (no owner) plus each user's own.

/// A preset as JSON text, `p` aliasing `presets`.
macro_rules! preset_json {
    () => {
        "json_object('id', p.id, 'kind', p.kind, 'name', p.name, 'parts', json(p.parts), \
           'builtin', json(case when p.user_id is null then 'true' else 'false' end), \
           'created_at', p.created_at)"
    };
}

/// `?1` user id, `?2` kind or null: built-ins first, then the user's own, by name.
pub const LIST: &str = concat!(
    "select ",
    preset_json!(),
    " as json from presets p where (p.user_id is null or p.user_id = ?1) \
       and (?2 is null or p.kind = ?2) \
     order by p.kind, p.user_id is not null, p.name collate nocase"
);

/// `?1` id, `?2` user id, `?3` kind, `?4` name, `?5` parts, `?6` now. Inserts nothing when a
/// built-in or one of the user's presets of that kind already has the name (any case).
pub const INSERT: &str = "insert into presets (id, user_id, kind, name, parts, created_at) \
   select ?1, ?2, ?3, ?4, ?5, ?6 where not exists (select 1 from presets \
     where (user_id is null or user_id = ?2) and kind = ?3 and name = ?4 collate nocase)";

/// `?1` id.
pub const ONE: &str = concat!(
    "select ",
    preset_json!(),
    " as json from presets p where p.id = ?1"
);

/// `?1` id, `?2` user id: only one's own.
pub const DELETE: &str = "delete from presets where id = ?1 and user_id = ?2";

/// Whether `?1` is a built-in.
pub const IS_BUILTIN: &str = "select 1 as one from presets where id = ?1 and user_id is null";
