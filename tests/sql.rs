//! Accounts SQL (users, sessions, refresh rotation) and the task ledger on real SQLite with the
//! real migrations, through the statements the core builds (`store::accounts`,
//! `store::processing`).

mod common;
use common::{batch, exec, migrated, rows};

use rusqlite::{params, Connection};
use scoremate::store::accounts::{self as q, NewSession, NewUser, Rotation};
use scoremate::store::{platform, processing, Stmt};

const NOW: &str = "2026-01-01T00:00:00.000Z";
const LATER: &str = "2026-01-15T00:00:00.000Z";

fn insert_user(c: &Connection, id: &str, email: &str) -> usize {
    exec(
        c,
        &q::insert_user(&NewUser {
            id,
            email,
            password_hash: "hash",
            display_name: "Ana",
            quota_bytes: 1000,
            now: NOW,
        }),
    )
}

fn start_session(c: &mut Connection, id: &str, jti: &str, now: &str, expires_at: &str) {
    batch(
        c,
        &q::start_session(&NewSession {
            id,
            user_id: "usr_1",
            refresh_jti: jti,
            now,
            expires_at,
        }),
    )
    .unwrap();
}

fn with_user_and_session() -> Connection {
    let mut c = migrated();
    assert_eq!(insert_user(&c, "usr_1", "a@example.com"), 1);
    start_session(&mut c, "ses_1", "r1", NOW, LATER);
    c
}

/// The rotation of `jti` into `successor`: what each statement changed.
fn rotate(c: &mut Connection, jti: &str, successor: &str) -> Vec<usize> {
    batch(
        c,
        &q::rotate_refresh(&Rotation {
            jti,
            successor,
            session_id: "ses_1",
            user_id: "usr_1",
            now: NOW,
            expires_at: LATER,
        }),
    )
    .unwrap()
}

/// The email a statement returning users finds, if any.
fn email(c: &Connection, s: &Stmt) -> Option<String> {
    rows(c, s, |r| r.get::<_, String>("email")).pop()
}

fn revoke(c: &Connection, session: &str, user: &str, reason: &str) -> usize {
    exec(c, &q::revoke_session(session, user, NOW, reason))
}

#[test]
fn migrations_apply_cleanly_to_an_empty_database() {
    let c = migrated();
    let tables: i64 = c
        .query_row("select count(*) from sqlite_master where type = 'table' and name in ('users','sessions','refresh_tokens','task_runs')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 4);
    assert_eq!(rows(&c, &platform::ping(), |r| r.get::<_, i64>("one")), [1]);
}

#[test]
fn a_taken_email_inserts_nothing() {
    let c = with_user_and_session();
    assert_eq!(insert_user(&c, "usr_2", "a@example.com"), 0);
    let n: i64 = c
        .query_row("select count(*) from users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn credentials_are_found_by_email_and_the_user_by_id() {
    let c = with_user_and_session();
    let found = rows(&c, &q::credentials("a@example.com"), |r| {
        Ok((
            r.get::<_, String>("id")?,
            r.get::<_, String>("password_hash")?,
            r.get::<_, Option<String>>("disabled_at")?,
        ))
    });
    assert_eq!(found, [("usr_1".into(), "hash".into(), None)]);
    assert!(rows(&c, &q::credentials("b@example.com"), |r| r
        .get::<_, String>(0))
    .is_empty());
    assert_eq!(
        email(&c, &q::user("usr_1")).as_deref(),
        Some("a@example.com")
    );
    assert_eq!(exec(&c, &q::update_password("usr_1", "new", LATER)), 1);
    assert_eq!(
        rows(&c, &q::password_hash("usr_1"), |r| r.get::<_, String>(0)),
        ["new"]
    );
}

#[test]
fn authenticate_finds_a_live_session_only() {
    let c = with_user_and_session();
    assert_eq!(
        email(&c, &q::authenticate("ses_1", "usr_1")).as_deref(),
        Some("a@example.com")
    );
    // Another user's id with this session finds nothing.
    assert_eq!(email(&c, &q::authenticate("ses_1", "usr_2")), None);
    assert_eq!(revoke(&c, "ses_1", "usr_2", "logout"), 0, "not theirs");
    assert_eq!(revoke(&c, "ses_1", "usr_1", "logout"), 1);
    assert_eq!(revoke(&c, "ses_1", "usr_1", "logout"), 0, "already revoked");
    assert_eq!(email(&c, &q::authenticate("ses_1", "usr_1")), None);
}

#[test]
fn a_disabled_account_does_not_authenticate() {
    let c = with_user_and_session();
    c.execute(
        "update users set disabled_at = ?1 where id = 'usr_1'",
        params![NOW],
    )
    .unwrap();
    assert_eq!(email(&c, &q::authenticate("ses_1", "usr_1")), None);
}

#[test]
fn only_one_of_two_racing_rotations_spends_the_token() {
    let mut c = with_user_and_session();
    assert_eq!(rotate(&mut c, "r1", "r2"), [1, 1, 1]);
    // The loser spends nothing and gets no successor.
    assert_eq!(rotate(&mut c, "r1", "r3")[..2], [0, 0]);
    let tokens: i64 = c
        .query_row("select count(*) from refresh_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tokens, 2, "r1 and the winner's r2");
}

#[test]
fn a_revoked_session_gets_no_successor_token() {
    let mut c = with_user_and_session();
    revoke(&c, "ses_1", "usr_1", "reuse");
    assert_eq!(rotate(&mut c, "r1", "r2"), [1, 0, 0]);
}

#[test]
fn refresh_state_reports_spent_and_revoked() {
    let mut c = with_user_and_session();
    let state = |c: &Connection| {
        rows(c, &q::refresh_state("r1", "ses_1", "usr_1"), |r| {
            Ok((
                r.get::<_, Option<String>>("used_at")?,
                r.get::<_, Option<String>>("session_revoked_at")?,
            ))
        })
        .pop()
    };
    assert_eq!(state(&c), Some((None, None)));
    assert!(
        rows(&c, &q::refresh_state("r1", "ses_1", "usr_2"), |r| r
            .get::<_, Option<String>>(0))
        .is_empty(),
        "another user's token"
    );
    rotate(&mut c, "r1", "r2");
    exec(&c, &q::revoke_session("ses_1", "usr_1", LATER, "reuse"));
    assert_eq!(state(&c), Some((Some(NOW.into()), Some(LATER.into()))));
}

#[test]
fn revoking_other_sessions_keeps_the_current_one() {
    let mut c = with_user_and_session();
    start_session(&mut c, "ses_2", "r2", NOW, LATER);
    let n = exec(
        &c,
        &q::revoke_other_sessions("usr_1", Some("ses_1"), NOW, "password_changed"),
    );
    assert_eq!(n, 1);
    assert_eq!(
        exec(
            &c,
            &q::revoke_other_sessions("usr_1", None, NOW, "logout_all")
        ),
        1,
        "none kept: the last live one goes too"
    );
    assert_eq!(email(&c, &q::authenticate("ses_1", "usr_1")), None);
}

#[test]
fn profile_updates_keep_what_is_not_sent() {
    let c = with_user_and_session();
    exec(
        &c,
        &q::update_profile("usr_1", None, Some("{\"theme\":\"dark\"}"), LATER),
    );
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
    let s = q::update_profile("usr_1", None, Some("{not json"), LATER);
    assert!(c.execute(&s.sql, common::params_from(&s.args)).is_err());
}

#[test]
fn recording_a_task_twice_counts_attempts_on_one_row() {
    let c = migrated();
    exec(
        &c,
        &processing::record_task("ping:a", "ping", "ok", None, "m1", NOW),
    );
    exec(
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
    let mut c = with_user_and_session();
    start_session(
        &mut c,
        "ses_old",
        "r_old",
        "2025-01-01T00:00:00.000Z",
        "2025-01-15T00:00:00.000Z",
    );
    assert_eq!(exec(&c, &q::purge_expired_refresh(NOW)), 1);
    assert_eq!(exec(&c, &q::purge_dead_sessions(NOW)), 1);
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
    rows(c, &processing::task_starts(id, "ping", at), |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .remove(0)
}

fn task_stop(c: &Connection, id: &str, failed: bool) -> i64 {
    rows(c, &processing::task_stops(id, failed), |r| r.get(0)).remove(0)
}

fn unfinished(c: &Connection, ids: &[&str]) -> Vec<String> {
    let ids: Vec<String> = ids.iter().map(|&s| s.to_owned()).collect();
    rows(c, &processing::unfinished_tasks(&ids), |r| r.get(0))
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
    exec(&c, &processing::task_reset("ping:a"));
    assert_eq!(
        task_start(&c, "ping:a", NOW),
        (0, 0),
        "given up or re-run: from zero"
    );
}
