//! Statements of presets (issue 6): built-ins (no owner, seeded by a migration) plus each user's
//! own. Each row comes back as the preset's JSON ([`super::rows::JsonRow`]).

use crate::args;

use super::Stmt;

/// A preset as JSON text, `p` aliasing `presets`.
macro_rules! preset_json {
    () => {
        "json_object('id', p.id, 'kind', p.kind, 'name', p.name, 'parts', json(p.parts), \
           'builtin', json(case when p.user_id is null then 'true' else 'false' end), \
           'created_at', p.created_at)"
    };
}

/// The built-ins and the user's own, of `kind` if given: built-ins first, then the user's own,
/// by name. Another user's presets never appear.
pub fn list(user_id: &str, kind: Option<&str>) -> Stmt {
    Stmt::new(
        concat!(
            "select ",
            preset_json!(),
            " as json from presets p where (p.user_id is null or p.user_id = ?1) \
               and (?2 is null or p.kind = ?2) \
             order by p.kind, p.user_id is not null, p.name collate nocase"
        ),
        args![user_id, kind],
    )
}

/// A preset to add.
pub struct NewPreset<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    /// A JSON array of part names (empty for genres).
    pub parts: &'a str,
    pub now: &'a str,
}

/// Adds the preset, then reads it back. Statement 0 changed nothing (and 1 found nothing): a
/// built-in or one of the user's presets of that kind already has the name (in any case); the
/// check and the insert are one statement, so two racing adds of one name add one.
pub fn create(p: &NewPreset<'_>) -> [Stmt; 2] {
    [
        Stmt::new(
            "insert into presets (id, user_id, kind, name, parts, created_at) \
             select ?1, ?2, ?3, ?4, ?5, ?6 where not exists (select 1 from presets \
               where (user_id is null or user_id = ?2) and kind = ?3 and name = ?4 collate nocase)",
            args![p.id, p.user_id, p.kind, p.name, p.parts, p.now],
        ),
        Stmt::new(
            concat!(
                "select ",
                preset_json!(),
                " as json from presets p where p.id = ?1 and p.user_id = ?2"
            ),
            args![p.id, p.user_id],
        ),
    ]
}

/// Deletes one of the user's own presets. Changed nothing: a built-in, another user's, or none.
pub fn delete(id: &str, user_id: &str) -> Stmt {
    Stmt::new(
        "delete from presets where id = ?1 and user_id = ?2",
        args![id, user_id],
    )
}

/// A row (`one` = 1) when `id` is a built-in.
pub fn is_builtin(id: &str) -> Stmt {
    Stmt::new(
        "select 1 as one from presets where id = ?1 and user_id is null",
        args![id],
    )
}
