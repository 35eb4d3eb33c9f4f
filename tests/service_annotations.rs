//! Annotation layers and performance settings natively through the ports (SQLite with the real
//! migrations): compare-and-swap on a layer's version, its bytes in the author's quota (given
//! back on delete, on the score's deletion and on leaving the band), who reads which layer, the
//! layer limit, and settings patched by SQLite's `json_patch` within their size.

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde_json::{json, Map, Value};

use scoremate::error::ApiError;
use scoremate::service::annotations::{self as uc, Place};
use scoremate::service::setlists;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

struct Band {
    w: World,
    owner: String,
    member: String,
    other: String,
    score: String,
    score_bytes: i64,
    setlist: String,
    item: String,
}

fn band(quota: i64) -> Band {
    let w = World::new();
    let owner = w.user("owner@ann.example", quota);
    let member = w.user("member@ann.example", quota);
    let other = w.user("other@ann.example", quota);
    let bytes = pdf(3, "ann");
    let score = w.score(&owner, &bytes, "Piece");
    w.db()
        .execute("update scores set pages = 3 where id = ?1", [&score])
        .unwrap();
    let (setlist, item) = w.setlist(
        &owner,
        "Gig",
        &[
            ("member@ann.example", "viewer"),
            ("other@ann.example", "viewer"),
        ],
        &score,
    );
    Band {
        w,
        owner,
        member,
        other,
        score,
        score_bytes: bytes.len() as i64,
        setlist,
        item,
    }
}

impl Band {
    fn on_score(&self) -> Place<'_> {
        Place::Score(&self.score)
    }
    fn on_item(&self) -> Place<'_> {
        Place::Item {
            setlist: &self.setlist,
            item: &self.item,
        }
    }
    fn put(&self, user: &str, place: Place<'_>, layer: &str, v: Value) -> Result<Value, ApiError> {
        block_on(uc::put(&self.w.cx(), user, place, layer, body(v)))
            .map(|w| serde_json::from_str(&w.json).unwrap())
    }
    fn list(&self, user: &str, place: Place<'_>) -> Result<Vec<(String, bool)>, ApiError> {
        let v: Value =
            serde_json::from_str(&block_on(uc::list(&self.w.cx(), user, place))?).unwrap();
        Ok(v["annotations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["layer"].as_str().unwrap().to_owned(),
                    a["mine"].as_bool().unwrap(),
                )
            })
            .collect())
    }
    fn used(&self, user: &str) -> i64 {
        self.w
            .count(&format!("select used_bytes from users where id = '{user}'"))
    }
}

#[test]
fn two_devices_racing_on_one_version_get_one_write_and_one_409_with_the_current_layer() {
    let b = band(1 << 30);
    let first = b
        .put(&b.owner, b.on_score(), "ink", json!({"data": {"1": ["a"]}}))
        .unwrap();
    assert_eq!(
        (first["version"].as_i64(), first["scope"].as_str()),
        (Some(1), Some("score"))
    );
    // Creating again (no version) does not overwrite.
    let Err(ApiError::Conflict { code, extra, .. }) =
        b.put(&b.owner, b.on_score(), "ink", json!({"data": {}}))
    else {
        panic!("409");
    };
    assert_eq!(
        (code, extra["annotation"]["version"].as_i64()),
        ("VERSION_CONFLICT", Some(1))
    );
    // Phone and tablet both saw version 1.
    let phone = b.put(
        &b.owner,
        b.on_score(),
        "ink",
        json!({"data": {"1": ["phone"]}, "version": 1}),
    );
    let tablet = b.put(
        &b.owner,
        b.on_score(),
        "ink",
        json!({"data": {"1": ["tablet"]}, "version": 1}),
    );
    assert_eq!(phone.unwrap()["version"], 2);
    let Err(ApiError::Conflict { extra, .. }) = tablet else {
        panic!("the second write is refused");
    };
    assert_eq!(
        extra["annotation"]["data"],
        json!({"1": ["phone"]}),
        "nothing lost, the winner is shown"
    );
    // A version for a layer that is not there.
    let Err(ApiError::Conflict { extra, .. }) = b.put(
        &b.owner,
        b.on_score(),
        "pencil",
        json!({"data": {}, "version": 4}),
    ) else {
        panic!("409");
    };
    assert_eq!(extra["annotation"], Value::Null);
    b.w.assert_ledger();
}

#[test]
fn layer_bytes_are_counted_exactly_and_given_back() {
    let b = band(1 << 30);
    let base = b.used(&b.owner);
    assert_eq!(base, b.score_bytes);
    let a = b
        .put(
            &b.owner,
            b.on_score(),
            "ink",
            json!({"data": {"p": "x".repeat(1000)}}),
        )
        .unwrap();
    assert_eq!(b.used(&b.owner), base + a["bytes"].as_i64().unwrap());
    let a2 = b
        .put(
            &b.owner,
            b.on_score(),
            "ink",
            json!({"data": {"p": "y"}, "version": 1}),
        )
        .unwrap();
    assert_eq!(b.used(&b.owner), base + a2["bytes"].as_i64().unwrap());
    let m = b
        .put(
            &b.member,
            b.on_item(),
            "mine",
            json!({"data": {"p": "z".repeat(500)}}),
        )
        .unwrap();
    assert_eq!(
        b.used(&b.member),
        m["bytes"].as_i64().unwrap(),
        "the member's own quota"
    );
    b.w.assert_ledger();
    block_on(uc::delete(&b.w.cx(), &b.owner, b.on_score(), "ink")).unwrap();
    assert_eq!(b.used(&b.owner), base);
    assert!(matches!(
        block_on(uc::delete(&b.w.cx(), &b.owner, b.on_score(), "ink")),
        Err(ApiError::NotFound)
    ));
    b.put(&b.owner, b.on_score(), "ink", json!({"data": {"p": 1}}))
        .unwrap();
    // Deleting the score takes its layers (everyone's) and gives their bytes back.
    block_on(common::ports::delete_for_good(
        &b.w.cx(),
        &b.owner,
        &b.score,
    ))
    .unwrap();
    assert_eq!(b.w.count("select count(*) from annotations"), 0);
    assert_eq!((b.used(&b.owner), b.used(&b.member)), (0, 0));
    b.w.assert_ledger();
}

#[test]
fn a_full_quota_refuses_growth_but_not_shrinking() {
    let b = band(1 << 30);
    b.w.db()
        .execute(
            "update users set quota_bytes = used_bytes + 100 where id = ?1",
            [&b.owner],
        )
        .unwrap();
    let Err(ApiError::QuotaExceeded {
        requested_bytes, ..
    }) = b.put(
        &b.owner,
        b.on_score(),
        "ink",
        json!({"data": {"p": "x".repeat(200)}}),
    )
    else {
        panic!("413");
    };
    assert_eq!(requested_bytes, 208, "{{\"p\":\"…\"}} with 200 x");
    b.put(
        &b.owner,
        b.on_score(),
        "ink",
        json!({"data": {"p": "x".repeat(80)}}),
    )
    .unwrap();
    assert!(matches!(
        b.put(
            &b.owner,
            b.on_score(),
            "ink",
            json!({"data": {"p": "x".repeat(95)}, "version": 1})
        ),
        Err(ApiError::QuotaExceeded {
            requested_bytes: 15,
            ..
        })
    ));
    b.put(
        &b.owner,
        b.on_score(),
        "ink",
        json!({"data": {"p": "x"}, "version": 1}),
    )
    .unwrap();
    b.w.assert_ledger();
}

#[test]
fn private_layers_stay_private_shared_ones_reach_members_until_they_leave() {
    let b = band(1 << 30);
    b.put(
        &b.owner,
        b.on_score(),
        "public",
        json!({"data": {}, "shared": true}),
    )
    .unwrap();
    b.put(&b.owner, b.on_score(), "secret", json!({"data": {}}))
        .unwrap();
    b.put(&b.member, b.on_item(), "mine", json!({"data": {}}))
        .unwrap();
    assert_eq!(
        b.list(&b.member, b.on_item()).unwrap(),
        [("public".to_owned(), false), ("mine".to_owned(), true)],
        "the score's shared layers first, then the member's own"
    );
    assert_eq!(
        b.list(&b.other, b.on_item()).unwrap(),
        [("public".to_owned(), false)]
    );
    let owner_sees = b.list(&b.owner, b.on_item()).unwrap();
    assert_eq!(
        owner_sees,
        [("public".to_owned(), true), ("secret".to_owned(), true)]
    );
    // Members cannot write or share on the owner's score, nor share an item layer.
    assert!(matches!(
        b.put(&b.member, b.on_score(), "x", json!({"data": {}})),
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        b.list(&b.member, b.on_score()),
        Err(ApiError::NotFound)
    ));
    assert!(matches!(
        b.put(&b.member, b.on_item(), "x", json!({"data": {}, "shared": true})),
        Err(ApiError::Validation(f)) if f.contains_key("shared")
    ));
    // Unsharing takes it away.
    b.put(
        &b.owner,
        b.on_score(),
        "public",
        json!({"data": {}, "version": 1, "shared": false}),
    )
    .unwrap();
    assert_eq!(b.list(&b.other, b.on_item()).unwrap(), []);
    // Leaving the band ends access and drops the member's own item layers (quota back).
    block_on(setlists::remove_member(
        &b.w.cx(),
        &b.owner,
        &b.setlist,
        &b.member,
    ))
    .unwrap();
    assert!(matches!(
        b.list(&b.member, b.on_item()),
        Err(ApiError::NotFound)
    ));
    assert_eq!(b.used(&b.member), 0);
    assert_eq!(
        b.w.count("select count(*) from annotations where item_id <> ''"),
        0
    );
    b.w.assert_ledger();
}

#[test]
fn layer_names_and_the_layer_limit() {
    let b = band(1 << 30);
    assert!(matches!(
        b.put(&b.owner, b.on_score(), "Bad Name", json!({"data": {}})),
        Err(ApiError::Validation(f)) if f.contains_key("layer")
    ));
    for i in 0..scoremate::domain::annotations::LAYERS_MAX {
        b.put(
            &b.owner,
            b.on_score(),
            &format!("l{i}"),
            json!({"data": {}}),
        )
        .unwrap();
    }
    assert!(matches!(
        b.put(&b.owner, b.on_score(), "one-more", json!({"data": {}})),
        Err(ApiError::Validation(f)) if f["layer"].contains("at most")
    ));
    // Replacing one is still fine.
    b.put(
        &b.owner,
        b.on_score(),
        "l0",
        json!({"data": {"a": 1}, "version": 1}),
    )
    .unwrap();
}

#[test]
fn settings_patch_through_json_patch_within_the_page_count_and_size() {
    let b = band(1 << 30);
    let get = |user: &str, place: Place<'_>| -> Value {
        serde_json::from_str::<Value>(&block_on(uc::get_settings(&b.w.cx(), user, place)).unwrap())
            .unwrap()["settings"]
            .clone()
    };
    let put = |user: &str, place: Place<'_>, v: Value| {
        block_on(uc::put_settings(&b.w.cx(), user, place, body(v)))
            .map(|t| serde_json::from_str::<Value>(&t).unwrap()["settings"].clone())
    };
    assert_eq!(get(&b.owner, b.on_score()), json!({}));
    put(
        &b.owner,
        b.on_score(),
        json!({"bpm": 96, "crop": {"1": {"left": 0.1, "top": 0, "right": 0, "bottom": 0}}}),
    )
    .unwrap();
    let after = put(&b.owner, b.on_score(), json!({"bpm": null, "half_page_turn": true, "crop": {"2": {"left": 0, "top": 0.1, "right": 0, "bottom": 0}}})).unwrap();
    assert_eq!(
        after,
        json!({"crop": {"1": {"left": 0.1, "top": 0.0, "right": 0.0, "bottom": 0.0}, "2": {"left": 0.0, "top": 0.1, "right": 0.0, "bottom": 0.0}}, "half_page_turn": true})
    );
    assert_eq!(get(&b.owner, b.on_score()), after);
    // The score has 3 pages.
    assert!(
        matches!(put(&b.owner, b.on_score(), json!({"last_page": 4})), Err(ApiError::Validation(f)) if f.contains_key("last_page"))
    );
    // A member's item settings are theirs alone.
    put(&b.member, b.on_item(), json!({"last_page": 3})).unwrap();
    assert_eq!(get(&b.member, b.on_item()), json!({"last_page": 3}));
    assert_eq!(get(&b.other, b.on_item()), json!({}));
    // Each patch fits, their merge would not.
    let crop = |from: usize| {
        let mut c = Map::new();
        for p in from..from + 100 {
            c.insert(
                p.to_string(),
                json!({"left": 0.125, "top": 0.125, "right": 0.125, "bottom": 0.125}),
            );
        }
        json!({"crop": c})
    };
    assert!(
        matches!(
            put(
                &b.member,
                Place::Item {
                    setlist: &b.setlist,
                    item: &b.item
                },
                crop(1)
            ),
            Err(ApiError::Validation(_))
        ),
        "pages beyond 3"
    );
    b.w.db()
        .execute("update scores set pages = 1000 where id = ?1", [&b.score])
        .unwrap();
    put(&b.owner, b.on_score(), crop(1)).unwrap();
    put(&b.owner, b.on_score(), crop(101)).unwrap();
    assert!(matches!(
        put(&b.owner, b.on_score(), crop(201)),
        Err(ApiError::PayloadTooLarge { limit_bytes: 16384 })
    ));
    assert_eq!(
        get(&b.owner, b.on_score())["crop"]
            .as_object()
            .unwrap()
            .len(),
        200,
        "the refused patch changed nothing"
    );
}
