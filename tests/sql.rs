//! The SQL of `store::sql` run on real SQLite against the real migrations.

mod common;
use common::migrated;

use rusqlite::{params, Connection, OptionalExtension};
use scoremate::store::{accounts, processing, sql};

const NOW: &str = "2026-01-01T00:00:00.000Z";
const LATER: &str = "2026-01-15T00:00:00.000Z";

fn with_user_and_session() -> Connection {
    let c = migrated();
    c.execute(
        sql::INSERT_USER,
        params!["usr_1", "a@example.com", "hash", "Ana", 1000, NOW],
    )
    .unwrap();
    c.execute(sql::INSERT_SESSION, params!["ses_1", "usr_1", NOW, LATER])
        .unwrap();
    c.execute(
        sql::INSERT_REFRESH,
        params!["r1", "ses_1", "usr_1", NOW, LATER],
    )
    .unwrap();
    c
}

#[test]
fn migrations_apply_cleanly_to_an_empty_database() {
    let c = migrated();
    let tables: i64 = c
        .query_row("select count(*) from sqlite_master where type = 'table' and name in ('users','sessions','refresh_tokens','task_runs')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 4);
}

#[test]
fn a_taken_email_inserts_nothing() {
    let c = with_user_and_session();
    let changed = c
        .execute(
            sql::INSERT_USER,
            params!["usr_2", "a@example.com", "h", "B", 1, NOW],
        )
        .unwrap();
    assert_eq!(changed, 0);
    let n: i64 = c
        .query_row("select count(*) from users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn authenticate_finds_a_live_session_only() {
    let c = with_user_and_session();
    let auth = sql::authenticate();
    let found = |c: &Connection| {
        c.query_row(&auth, params!["ses_1", "usr_1"], |r| r.get::<_, String>(1))
            .optional()
            .unwrap()
    };
    assert_eq!(found(&c).as_deref(), Some("a@example.com"));
    // Another user's id with this session finds nothing.
    assert!(c
        .query_row(&auth, params!["ses_1", "usr_2"], |r| r.get::<_, String>(0))
        .optional()
        .unwrap()
        .is_none());
    c.execute(
        sql::REVOKE_SESSION,
        params!["ses_1", "usr_1", NOW, "logout"],
    )
    .unwrap();
    assert_eq!(found(&c), None);
}

#[test]
fn a_disabled_account_does_not_authenticate() {
    let c = with_user_and_session();
    c.execute(
        "update users set disabled_at = ?1 where id = 'usr_1'",
        params![NOW],
    )
    .unwrap();
    assert!(c
        .query_row(&sql::authenticate(), params!["ses_1", "usr_1"], |r| r
            .get::<_, String>(0))
        .optional()
        .unwrap()
        .is_none());
}

#[test]
fn only_one_of_two_racing_rotations_spends_the_token() {
    let c = with_user_and_session();
    let first = c
        .execute(sql::SPEND_REFRESH, params!["r1", NOW, "r2"])
        .unwrap();
    let second = c
        .execute(sql::SPEND_REFRESH, params!["r1", NOW, "r3"])
        .unwrap();
    assert_eq!((first, second), (1, 0));
    // Only the winner's successor can be inserted.
    assert_eq!(
        c.execute(
            sql::INSERT_SUCCESSOR,
            params!["r2", "ses_1", "usr_1", NOW, LATER, "r1"]
        )
        .unwrap(),
        1
    );
    assert_eq!(
        c.execute(
            sql::INSERT_SUCCESSOR,
            params!["r3", "ses_1", "usr_1", NOW, LATER, "r1"]
        )
        .unwrap(),
        0
    );
}

#[test]
fn a_revoked_session_gets_no_successor_token() {
    let c = with_user_and_session();
    c.execute(sql::REVOKE_SESSION, params!["ses_1", "usr_1", NOW, "reuse"])
        .unwrap();
    c.execute(sql::SPEND_REFRESH, params!["r1", NOW, "r2"])
        .unwrap();
    assert_eq!(
        c.execute(
            sql::INSERT_SUCCESSOR,
            params!["r2", "ses_1", "usr_1", NOW, LATER, "r1"]
        )
        .unwrap(),
        0
    );
}

#[test]
fn refresh_state_reports_spent_and_revoked() {
    let c = with_user_and_session();
    let state = |c: &Connection| {
        c.query_row(sql::REFRESH_STATE, params!["r1", "ses_1", "usr_1"], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
            ))
        })
        .unwrap()
    };
    assert_eq!(state(&c), (None, None));
    c.execute(sql::SPEND_REFRESH, params!["r1", NOW, "r2"])
        .unwrap();
    c.execute(
        sql::REVOKE_SESSION,
        params!["ses_1", "usr_1", LATER, "reuse"],
    )
    .unwrap();
    assert_eq!(state(&c), (Some(NOW.into()), Some(LATER.into())));
}

#[test]
fn revoking_other_sessions_keeps_the_current_one() {
    let c = with_user_and_session();
    c.execute(sql::INSERT_SESSION, params!["ses_2", "usr_1", NOW, LATER])
        .unwrap();
    let n = c
        .execute(
            sql::REVOKE_OTHER_SESSIONS,
            params!["usr_1", NOW, "password_changed", "ses_1"],
        )
        .unwrap();
    assert_eq!(n, 1);
    let n = c
        .execute(
            sql::REVOKE_OTHER_SESSIONS,
            params!["usr_1", NOW, "logout_all", ""],
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn profile_updates_keep_what_is_not_sent() {
    let c = with_user_and_session();
    c.execute(
        sql::UPDATE_PROFILE,
        params!["usr_1", None::<String>, Some("{\"theme\":\"dark\"}"), LATER],
    )
    .unwrap();
    let (name, prefs): (String, String) = c
        .query_row(
            "select display_name, preferences from users where id = 'usr_1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (name.as_str(), prefs.as_str()),
        ("Ana", "{\"theme\":\"dark\"}")
    );
}

#[test]
fn preferences_must_be_json() {
    let c = with_user_and_session();
    assert!(c
        .execute(
            sql::UPDATE_PROFILE,
            params!["usr_1", None::<String>, Some("{not json"), LATER]
        )
        .is_err());
}

#[test]
fn recording_a_task_twice_counts_attempts_on_one_row() {
    let c = migrated();
    common::exec(
        &c,
        &processing::record_task("ping:a", "ping", "ok", None, "m1", NOW),
    );
    common::exec(
        &c,
        &processing::record_task("ping:a", "ping", "ok", None, "m1", LATER),
    );
    let (rows, attempts): (i64, i64) = c
        .query_row("select count(*), max(attempts) from task_runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((rows, attempts), (1, 2));
}

#[test]
fn the_sweep_forgets_only_expired_tokens_and_dead_sessions() {
    let c = with_user_and_session();
    c.execute(
        sql::INSERT_SESSION,
        params![
            "ses_old",
            "usr_1",
            "2025-01-01T00:00:00.000Z",
            "2025-01-15T00:00:00.000Z"
        ],
    )
    .unwrap();
    c.execute(
        sql::INSERT_REFRESH,
        params![
            "r_old",
            "ses_old",
            "usr_1",
            "2025-01-01T00:00:00.000Z",
            "2025-01-15T00:00:00.000Z"
        ],
    )
    .unwrap();
    assert_eq!(common::exec(&c, &accounts::purge_expired_refresh(NOW)), 1);
    assert_eq!(common::exec(&c, &accounts::purge_dead_sessions(NOW)), 1);
    let live: i64 = c
        .query_row("select count(*) from sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(live, 1);
}

#[test]
fn roles_are_constrained() {
    let c = with_user_and_session();
    assert!(c
        .execute("update users set role = 'root' where id = 'usr_1'", [])
        .is_err());
    assert!(c
        .execute("update users set role = 'admin' where id = 'usr_1'", [])
        .is_ok());
}

fn task_start(c: &Connection, id: &str, at: &str) -> (i64, i64) {
    common::rows(c, &processing::task_starts(id, "ping", at), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .remove(0)
}

fn task_stop(c: &Connection, id: &str, failed: bool) -> i64 {
    common::rows(c, &processing::task_stops(id, failed), |r| r.get(0)).remove(0)
}

fn unfinished(c: &Connection, ids: &[&str]) -> Vec<String> {
    let ids: Vec<String> = ids.iter().map(|&s| s.to_owned()).collect();
    common::rows(c, &processing::unfinished_tasks(&ids), |r| r.get(0))
}

#[test]
fn a_start_that_never_stopped_is_counted_as_a_crash_by_the_next_delivery() {
    let c = migrated();
    assert_eq!(task_start(&c, "ping:a", NOW), (0, 0));
    assert_eq!(unfinished(&c, &["ping:a", "ping:b"]), vec!["ping:a"]);
    // The isolate died: the next delivery starts it again and counts the crash.
    assert_eq!(task_start(&c, "ping:a", NOW), (1, 0));
    assert_eq!(task_stop(&c, "ping:a", true), 1, "a transient error");
    assert!(unfinished(&c, &["ping:a"]).is_empty());
    assert_eq!(
        task_start(&c, "ping:a", NOW),
        (1, 1),
        "a clean stop is no crash"
    );
    assert_eq!(
        task_stop(&c, "ping:a", false),
        0,
        "a finished run clears the counts"
    );
    assert_eq!(task_start(&c, "ping:a", NOW), (0, 0));
    task_stop(&c, "ping:a", true);
    common::exec(&c, &processing::task_reset("ping:a"));
    assert_eq!(
        task_start(&c, "ping:a", NOW),
        (0, 0),
        "given up or re-run: from zero"
    );
}
