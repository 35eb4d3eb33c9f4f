//! Presets run natively through the ports: the built-ins and one's own listed (never another
//! user's), names unique per kind among the built-ins and one's own, and deletion of one's own
//! only.

mod common;

use common::ports::{block_on, World};
use serde_json::{json, Map, Value};

use scoremate::error::{ApiError, ApiResult};
use scoremate::service::presets;

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

fn list(w: &World, user: &str, pairs: &[(&str, &str)]) -> ApiResult<Vec<Value>> {
    let query: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    block_on(presets::list(&w.cx(), user, &query)).map(|t| serde_json::from_str(&t).unwrap())
}

fn names(presets: &[Value]) -> Vec<&str> {
    presets
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

fn create(w: &World, user: &str, v: Value) -> ApiResult<Value> {
    let body: Map<String, Value> = v.as_object().cloned().unwrap();
    block_on(presets::create(&w.cx(), user, body)).map(|t| serde_json::from_str(&t).unwrap())
}

fn delete(w: &World, user: &str, id: &str) -> ApiResult<()> {
    block_on(presets::delete(&w.cx(), user, id))
}

fn own(w: &World) -> i64 {
    w.count("select count(*) from presets where user_id is not null")
}

#[test]
fn a_new_preset_is_listed_after_the_built_ins_for_its_owner_only() {
    let w = World::new();
    let ann = w.user("ann@example.com", 1000);
    let bob = w.user("bob@example.com", 1000);
    let builtins = list(&w, &ann, &[]).unwrap().len();
    assert!(builtins > 10);
    let made = create(
        &w,
        &ann,
        json!({"kind": "instrumentation", "name": " Flute choir ", "parts": ["flute 1", "alto flute"]}),
    )
    .unwrap();
    assert!(made["id"].as_str().unwrap().starts_with("pre_"));
    assert_eq!(made["name"], "Flute choir");
    assert_eq!(made["parts"], json!(["flute 1", "alto flute"]));
    assert_eq!(made["builtin"], false);
    let anns = list(&w, &ann, &[("kind", "instrumentation")]).unwrap();
    assert_eq!(
        anns.last().unwrap()["id"],
        made["id"],
        "own presets after the built-ins"
    );
    assert!(anns.iter().all(|p| p["kind"] == "instrumentation"));
    assert!(anns[..anns.len() - 1].iter().all(|p| p["builtin"] == true));
    assert_eq!(
        list(&w, &bob, &[]).unwrap().len(),
        builtins,
        "not another user's"
    );
    let genres = list(&w, &ann, &[("kind", "genre")]).unwrap();
    assert!(!names(&genres).contains(&"Flute choir"));
}

#[test]
fn a_name_taken_by_a_built_in_or_ones_own_preset_of_that_kind_is_409() {
    let w = World::new();
    let ann = w.user("ann@example.com", 1000);
    let bob = w.user("bob@example.com", 1000);
    create(&w, &ann, json!({"kind": "genre", "name": "Klezmer"})).unwrap();
    for (user, body) in [
        (&ann, json!({"kind": "genre", "name": "KLEZMER"})),
        (
            &ann,
            json!({"kind": "instrumentation", "name": "solo PIANO"}),
        ),
    ] {
        let e = create(&w, user, body).unwrap_err();
        assert_eq!((code(&e), e.status()), ("PRESET_EXISTS", 409));
    }
    assert_eq!(own(&w), 1, "nothing added");
    assert!(
        create(&w, &bob, json!({"kind": "genre", "name": "Klezmer"})).is_ok(),
        "another user's name"
    );
    assert!(
        create(
            &w,
            &ann,
            json!({"kind": "instrumentation", "name": "Klezmer"})
        )
        .is_ok(),
        "another kind"
    );
    assert_eq!(own(&w), 3);
}

#[test]
fn bad_presets_and_bad_filters_are_422() {
    let w = World::new();
    let ann = w.user("ann@example.com", 1000);
    let e = create(
        &w,
        &ann,
        json!({"kind": "mood", "name": "", "parts": "flute", "x": 1}),
    )
    .unwrap_err();
    assert_eq!(code(&e), "VALIDATION_FAILED");
    let f = &e.envelope()["error"]["fields"];
    for name in ["kind", "name", "x"] {
        assert!(f[name].is_string(), "{name}: {f}");
    }
    let e = create(
        &w,
        &ann,
        json!({"kind": "genre", "name": "x", "parts": ["a"]}),
    )
    .unwrap_err();
    assert!(e.envelope()["error"]["fields"]["parts"].is_string());
    assert_eq!(own(&w), 0);
    for bad in [vec![("kind", "mood")], vec![("sort", "name")]] {
        assert_eq!(
            code(&list(&w, &ann, &bad).unwrap_err()),
            "VALIDATION_FAILED"
        );
    }
}

#[test]
fn only_ones_own_preset_can_be_deleted() {
    let w = World::new();
    let ann = w.user("ann@example.com", 1000);
    let bob = w.user("bob@example.com", 1000);
    let mine = create(&w, &ann, json!({"kind": "genre", "name": "Klezmer"})).unwrap();
    let id = mine["id"].as_str().unwrap();
    let theirs = delete(&w, &bob, id).unwrap_err();
    assert_eq!(
        code(&theirs),
        "NOT_FOUND",
        "another user's is not theirs to see"
    );
    let builtin = delete(&w, &ann, "pre_solo_piano").unwrap_err();
    assert_eq!((code(&builtin), builtin.status()), ("FORBIDDEN", 403));
    assert_eq!(
        code(&delete(&w, &ann, "pre_nope").unwrap_err()),
        "NOT_FOUND"
    );
    assert_eq!(own(&w), 1);
    delete(&w, &ann, id).unwrap();
    assert_eq!(own(&w), 0);
    assert_eq!(
        code(&delete(&w, &ann, id).unwrap_err()),
        "NOT_FOUND",
        "gone"
    );
    assert!(list(&w, &ann, &[])
        .unwrap()
        .iter()
        .any(|p| p["id"] == "pre_solo_piano"));
}

#[test]
fn a_create_whose_batch_fails_adds_nothing() {
    let w = World::new();
    let ann = w.user("ann@example.com", 1000);
    w.ports.db.fail_next("insert into presets", 1);
    assert_eq!(
        create(&w, &ann, json!({"kind": "genre", "name": "Klezmer"}))
            .unwrap_err()
            .status(),
        500
    );
    assert_eq!(own(&w), 0);
    assert!(create(&w, &ann, json!({"kind": "genre", "name": "Klezmer"})).is_ok());
}
