//! The health check through the ports: the database's answer, and what everyone versus an admin
//! learns from it.

mod common;

use common::ports::{block_on, World};
use serde_json::json;

use scoremate::service::platform::{self, Health};

#[test]
fn a_database_that_answers_is_ok_and_one_that_fails_is_an_error() {
    let w = World::new();
    assert_eq!(block_on(platform::database(&w.ports.db)), "ok");
    w.ports.db.fail_next("select 1", 1);
    assert_eq!(block_on(platform::database(&w.ports.db)), "error");
    assert_eq!(block_on(platform::database(&w.ports.db)), "ok");
}

#[test]
fn everyone_learns_the_state_and_only_an_admin_the_details() {
    let healthy = Health::new(Vec::new(), "ok");
    assert_eq!(healthy.status, 200);
    assert_eq!(healthy.view(false, "1.2.3"), json!({"status": "ok"}));
    assert_eq!(
        healthy.view(true, "1.2.3"),
        json!({"status": "ok", "version": "1.2.3", "d1": "ok", "problems": []})
    );
    let misconfigured = Health::new(vec!["JWT_SECRET is not set".into()], "ok");
    assert_eq!(
        (misconfigured.status, misconfigured.state()),
        (200, "degraded")
    );
    assert_eq!(
        misconfigured.view(false, "1.2.3"),
        json!({"status": "degraded"})
    );
    let down = Health::new(Vec::new(), "error");
    assert_eq!(down.status, 503);
    assert_eq!(
        down.view(true, "1.2.3"),
        json!({"status": "degraded", "version": "1.2.3", "d1": "error", "problems": ["D1: error"]})
    );
    assert_eq!(Health::new(Vec::new(), "missing").problems, ["D1: missing"]);
}
