//! The JSON that SQLite builds and the Worker splices is exactly the view the OpenAPI document
//! publishes (`api::views`): every score, setlist, item, member, link and comment the use cases
//! answer with reads into its view with no field unknown, missing or mistyped, and writes back
//! unchanged — in every state (fresh, processed, failed; owner, member, link reader).

mod common;

use common::pdf::pdf;
use common::ports::{block_on, World};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use scoremate::api::shape::{conforms, View};
use scoremate::api::views::{
    Comment, Link, Score, ScoreSummary, Setlist, SetlistItem, SetlistSummary, Tokens, Upload,
    Usage, User,
};
use scoremate::error::ApiResult;
use scoremate::service::library;
use scoremate::service::processing;
use scoremate::service::setlists::{self, Author, LinkGate, Posted};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[track_caller]
fn check<T: View + Serialize + DeserializeOwned>(v: &Value) {
    if let Err(e) = conforms::<T>(v) {
        panic!("{e}");
    }
}

struct Open;

impl LinkGate for Open {
    async fn admit(&self, _: Option<&str>) -> ApiResult<()> {
        Ok(())
    }
}

/// Reserve, PUT, create: the score's JSON.
fn score(w: &World, user: &str, bytes: &[u8], title: &str) -> Value {
    let up = block_on(library::create_upload(
        &w.cx(),
        user,
        body(json!({
            "filename": "a.pdf", "size": bytes.len(), "mime": "application/pdf",
            "sha256": scoremate::domain::hex(&Sha256::digest(bytes)),
        })),
    ))
    .unwrap();
    check::<Upload>(&serde_json::to_value(&up).unwrap());
    w.ports
        .blobs
        .store(&format!("u/{user}/s/{}.pdf", up.upload_id), bytes);
    parse(
        &block_on(library::create_score(
            &w.cx(),
            user,
            body(json!({"upload_id": up.upload_id, "title": title, "tags": ["jazz"]})),
        ))
        .unwrap(),
    )
}

fn run_tasks(w: &World) {
    for task in w.ports.tasks.drain() {
        let outcome = block_on(processing::run(&w.cx(), &task, "m1"));
        block_on(processing::finish(&w.cx(), &task, outcome, "m1"));
    }
}

#[test]
fn every_score_state_is_the_published_score() {
    let w = World::new();
    let u = w.user("views@example.com", 1 << 30);
    let fresh = score(&w, &u, &pdf(2, "fresh"), "Fresh");
    check::<Score>(&fresh);
    assert_eq!(fresh["processing"]["pdf_info"]["state"], "pending");
    run_tasks(&w);
    let id = fresh["id"].as_str().unwrap();
    let done = parse(&block_on(library::get_score(&w.cx(), &u, id)).unwrap());
    check::<Score>(&done);
    assert_eq!(done["processing"]["pdf_info"]["state"], "ok");
    assert_eq!(done["pages"], 2);
    // A file that is not a PDF: its steps fail, with a reason.
    let broken = score(&w, &u, b"%PDF-1.7 not really", "Broken");
    run_tasks(&w);
    let broken = parse(
        &block_on(library::get_score(
            &w.cx(),
            &u,
            broken["id"].as_str().unwrap(),
        ))
        .unwrap(),
    );
    check::<Score>(&broken);
    assert_eq!(broken["processing"]["pdf_info"]["state"], "failed");
    let patched = parse(
        &block_on(library::patch_score(
            &w.cx(),
            &u,
            id,
            body(json!({"composer": "Satie", "rating": 4, "tags": []})),
        ))
        .unwrap(),
    );
    check::<Score>(&patched);
    w.db()
        .execute(
            "insert into sessions (id, user_id, created_at, last_used_at, expires_at) \
             values ('ses_v', ?1, 't', 't', '9999')",
            [&u],
        )
        .unwrap();
    let list = parse(&block_on(library::list_scores(&w.cx(), &u, "ses_v", &[])).unwrap());
    assert_eq!(list["scores"].as_array().unwrap().len(), 2);
    for s in list["scores"].as_array().unwrap() {
        check::<ScoreSummary>(s);
        // Every field of the summary is the full score's.
        let full =
            parse(&block_on(library::get_score(&w.cx(), &u, s["id"].as_str().unwrap())).unwrap());
        for (k, v) in s.as_object().unwrap() {
            assert_eq!(&full[k], v, "{k}");
        }
    }
    check::<Usage>(&serde_json::to_value(block_on(library::usage(&w.cx(), &u)).unwrap()).unwrap());
}

#[test]
fn every_setlist_reader_gets_the_published_setlist() {
    let w = World::new();
    let owner = w.user("owner@example.com", 1 << 30);
    let member = w.user("member@example.com", 1 << 30);
    let s = score(&w, &owner, &pdf(1, "piece"), "Piece");
    let gone = score(&w, &owner, &pdf(1, "gone"), "Gone");
    run_tasks(&w);
    let created = parse(
        &block_on(setlists::create(
            &w.cx(),
            &owner,
            body(json!({"name": "Friday", "event_date": "2026-12-04"})),
        ))
        .unwrap(),
    );
    check::<Setlist>(&created);
    let id = created["id"].as_str().unwrap().to_owned();
    let Posted::Added(with_item) = block_on(setlists::post_items(
        &w.cx(),
        &owner,
        &id,
        body(json!({"score_id": s["id"], "notes": "segue"})),
    ))
    .unwrap() else {
        panic!("an add answers the setlist");
    };
    let with_item = parse(&with_item);
    check::<Setlist>(&with_item);
    let item = &with_item["items"][0];
    check::<SetlistItem>(item);
    let item_id = item["id"].as_str().unwrap().to_owned();
    // Deleting a score that is in the setlist writes its history.
    block_on(setlists::post_items(
        &w.cx(),
        &owner,
        &id,
        body(json!({"score_id": gone["id"]})),
    ))
    .unwrap();
    block_on(common::ports::delete_for_good(
        &w.cx(),
        &owner,
        gone["id"].as_str().unwrap(),
    ))
    .unwrap();
    let added = block_on(setlists::add_member(
        &w.cx(),
        &owner,
        &id,
        body(json!({"email": "member@example.com", "role": "editor"})),
    ))
    .unwrap();
    let link = block_on(setlists::create_link(&w.cx(), &owner, &id, body(json!({})))).unwrap();
    check::<Link>(&link);
    for l in block_on(setlists::list_links(&w.cx(), &owner, &id))
        .unwrap()
        .as_array()
        .unwrap()
    {
        check::<Link>(l);
    }
    let comment = block_on(setlists::add_comment(
        &w.cx(),
        &Author {
            id: &member,
            display_name: "Mem",
        },
        &id,
        &item_id,
        body(json!({"body": "watch the coda"})),
    ))
    .unwrap();
    check::<Comment>(&comment);
    let comments =
        parse(&block_on(setlists::list_comments(&w.cx(), &owner, &id, &item_id)).unwrap());
    for c in comments["comments"].as_array().unwrap() {
        check::<Comment>(c);
    }
    // The owner (members with emails), a member (members without), a link reader (no members).
    let as_owner = parse(&block_on(setlists::get(&w.cx(), &owner, &id)).unwrap());
    check::<Setlist>(&as_owner);
    assert!(as_owner["members"][0]["email"].is_string());
    assert!(!as_owner["history"].as_array().unwrap().is_empty());
    let as_member = parse(&block_on(setlists::get(&w.cx(), &member, &id)).unwrap());
    check::<Setlist>(&as_member);
    assert!(as_member["members"][0].get("email").is_none());
    let token = link["token"].as_str().unwrap();
    let shared = parse(&block_on(setlists::shared(&w.cx(), &Open, token)).unwrap());
    check::<Setlist>(&shared);
    assert_eq!(shared["role"], "link");
    assert!(shared.get("members").is_none());
    let _ = added;
    for (who, query) in [
        (&owner, vec![]),
        (&member, vec![("shared".to_owned(), "true".to_owned())]),
    ] {
        let list = parse(&block_on(setlists::list(&w.cx(), who, &query)).unwrap());
        assert_eq!(list["setlists"].as_array().unwrap().len(), 1);
        for s in list["setlists"].as_array().unwrap() {
            check::<SetlistSummary>(s);
        }
    }
}

#[test]
fn the_rust_built_views_are_their_published_selves() {
    let w = World::new();
    let u = w.user("me@example.com", 1 << 30);
    let row = w.db().query_row(
        "select id, email, display_name, role, preferences, quota_bytes, used_bytes, \
         reserved_bytes, created_at, updated_at from users where id = ?1",
        [&u],
        |r| {
            Ok(scoremate::store::rows::UserRow {
                id: r.get(0)?,
                email: r.get(1)?,
                display_name: r.get(2)?,
                role: r.get(3)?,
                preferences: r.get(4)?,
                quota_bytes: r.get(5)?,
                used_bytes: r.get(6)?,
                reserved_bytes: r.get(7)?,
                created_at: r.get(8)?,
                updated_at: r.get(9)?,
            })
        },
    );
    check::<User>(&serde_json::to_value(scoremate::api::views::user(&row.unwrap())).unwrap());
    let tokens = scoremate::api::views::session_tokens("a", "r", "t1", "t2");
    check::<Tokens>(&serde_json::to_value(tokens).unwrap());
}

#[test]
fn every_writable_score_field_is_shown_and_documented_as_writable() {
    let shown = Score::definition();
    let doc = scoremate::api::openapi::document(
        "t",
        scoremate::api::openapi::Audience::Public,
        &Default::default(),
    );
    let patch = &doc["components"]["schemas"]["ScorePatch"]["properties"];
    let mut documented: Vec<&str> = patch
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    documented.sort_unstable();
    let mut writable = scoremate::domain::score::SCORE_FIELDS.to_vec();
    writable.sort_unstable();
    assert_eq!(
        documented, writable,
        "ScorePatch documents exactly the writable fields"
    );
    for field in writable {
        assert!(
            shown["properties"].get(field).is_some(),
            "{field} is writable but not part of the Score view"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["Score"], shown,
        "the document publishes the view itself"
    );
}
