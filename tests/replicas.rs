//! Read replicas (`api::replicas`, `shell::d1`): a replica that has not yet seen a login reads
//! the new session as missing. The shell confirms exactly one answer on the primary before giving
//! it, `InvalidToken(SESSION_REVOKED)`; these check that both use cases that answer it for a
//! missing session (the per-request check and the batched check of `GET /v1/scores`) use that
//! reason, so the confirmation cannot silently stop matching.

mod common;

use common::ports::{block_on, World};
use serde_json::json;

use scoremate::auth::jwt::{self, TokenType};
use scoremate::error::ApiError;
use scoremate::service::accounts::{self, SESSION_REVOKED};
use scoremate::service::library;

fn revoked<T: std::fmt::Debug>(result: Result<T, ApiError>) -> bool {
    matches!(result, Err(ApiError::InvalidToken(why)) if why == SESSION_REVOKED)
}

#[test]
fn a_session_the_database_has_not_seen_is_refused_with_the_reason_the_shell_confirms() {
    let w = World::new();
    let body = |v: serde_json::Value| v.as_object().cloned().unwrap();
    let password = "correct horse 42";
    let user = block_on(accounts::register(
        &w.cx(),
        "203.0.113.7",
        body(json!({"email": "ann@example.com", "password": password, "display_name": "Ann"})),
    ))
    .unwrap();
    let tokens = block_on(accounts::login(
        &w.cx(),
        "203.0.113.7",
        body(json!({"email": "ann@example.com", "password": password})),
    ))
    .unwrap();
    let sid = jwt::verify(
        w.config.jwt_key().unwrap(),
        &tokens.access,
        TokenType::Access,
        w.now.get(),
    )
    .unwrap()
    .sid;
    assert!(block_on(accounts::authenticate(&w.cx(), Some(&tokens.access))).is_ok());
    assert!(block_on(library::list_scores(&w.cx(), &user.id, &sid, &[])).is_ok());

    // What a replica that has not replayed the login holds: no session row.
    w.db().execute("delete from sessions", []).unwrap();
    assert!(revoked(block_on(accounts::authenticate(
        &w.cx(),
        Some(&tokens.access)
    ))));
    assert!(revoked(block_on(library::list_scores(
        &w.cx(),
        &user.id,
        &sid,
        &[]
    ))));
    // A token that fails before the database is never confirmed: another reason.
    assert!(!revoked(block_on(accounts::authenticate(
        &w.cx(),
        Some("x")
    ))));
}
