//! `domain::import::plan`: what an import of a manifest into an account creates — new ids from
//! the seed (the same plan twice), scores deduplicated by sha256 against the account and within
//! the archive (their bookmarks and items mapped to the score that exists), setlist items in
//! order with their bookmarks, layers and settings moved to the new items, the bytes the quota
//! must hold, a second import of the same archive planning nothing, and the manifests refused.

mod common;

use std::collections::HashMap;

use common::library::{manifest, parsed, sha, Files};
use scoremate::domain::import::{plan, Account, Existing, Plan};
use serde_json::json;

/// One of the account's scores: `id`, its page count and bookmarks (`(title, first, last)` → id).
fn existing(id: &str, pages: i64, bookmarks: &[((&str, i64, i64), &str)]) -> Existing {
    Existing {
        id: id.to_owned(),
        pages: Some(pages),
        bookmarks: bookmarks
            .iter()
            .map(|((t, f, l), b)| (((*t).to_owned(), *f, *l), (*b).to_owned()))
            .collect(),
        bookmark_count: bookmarks.len(),
    }
}

fn key(upload: &str) -> String {
    format!("u/usr_x/s/{upload}.pdf")
}

fn planned(m: &serde_json::Value, account: &Account, seed: &[u8]) -> Result<Plan, String> {
    plan(&parsed(m), account, seed, &key)
}

#[test]
fn a_fresh_account_gets_everything_with_ids_from_the_seed() {
    let f = Files::new("fresh");
    let m = manifest(&f);
    let p = planned(&m, &Account::default(), b"seed-1").unwrap();
    assert_eq!(p.report.scores_created, 3);
    assert_eq!(p.report.scores_skipped_duplicate, 0);
    assert_eq!(p.report.setlists_created, 1);
    assert_eq!(p.report.bookmarks_created, 2);
    assert!(p.report.errors.is_empty(), "{:?}", p.report.errors);
    assert_eq!(p.copies.len(), 4, "three scores and the uploaded part");
    assert_eq!(p.file_bytes, f.total());
    assert_eq!(p.uploads.len(), 4);
    assert!(p
        .copies
        .iter()
        .all(|c| c.object_key.starts_with("u/usr_x/s/upl_")));
    // Tags through the API's parser: lowercased and sorted.
    assert_eq!(p.scores[0].tags, ["ballad", "jazz"]);
    assert_eq!(p.parts.len(), 2);
    assert_eq!(p.parts.iter().filter(|x| x.source == "upload").count(), 1);
    // Items in position order, the bookmark's item playing the new bookmark.
    let order: Vec<(&str, i64)> = p
        .items
        .iter()
        .map(|i| (i.score_id.as_str(), i.position))
        .collect();
    assert_eq!(
        order,
        [
            (p.scores[0].id.as_str(), 1),
            (p.scores[2].id.as_str(), 2),
            (p.scores[1].id.as_str(), 3)
        ]
    );
    let solar = p.bookmarks.iter().find(|b| b.title == "Solar").unwrap();
    assert_eq!(p.items[1].bookmark_id.as_deref(), Some(solar.id.as_str()));
    assert_eq!(p.items[1].notes.as_deref(), Some("take it slow"));
    // The item's layer and settings moved to the new item; the score's own stay on the score.
    let gig = p.annotations.iter().find(|a| a.layer == "gig").unwrap();
    assert_eq!(gig.item_id, p.items[0].id);
    assert!(!gig.shared);
    let pencil = p.annotations.iter().find(|a| a.layer == "pencil").unwrap();
    assert_eq!((pencil.item_id.as_str(), pencil.shared), ("", true));
    assert_eq!(
        p.annotation_bytes,
        (pencil.data.len() + gig.data.len()) as u64
    );
    assert_eq!(p.bytes_needed(), f.total() + p.annotation_bytes);
    assert_eq!(p.settings.len(), 2);
    assert!(p.settings.iter().any(|s| s.item_id == p.items[0].id));

    // The same seed plans the same ids and keys (a redelivered task); another seed, others.
    assert_eq!(planned(&m, &Account::default(), b"seed-1").unwrap(), p);
    let other = planned(&m, &Account::default(), b"seed-2").unwrap();
    assert_ne!(other.scores[0].id, p.scores[0].id);
    assert_ne!(other.copies[0].object_key, p.copies[0].object_key);
}

/// The account as it stands after `p` was imported (what the service reads back).
fn account_after(p: &Plan, pages: Option<i64>) -> Account {
    let mut scores = HashMap::new();
    for s in &p.scores {
        let bookmarks: HashMap<(String, i64, i64), String> = p
            .bookmarks
            .iter()
            .filter(|b| b.score_id == s.id)
            .map(|b| ((b.title.clone(), b.first_page, b.last_page), b.id.clone()))
            .collect();
        scores.insert(
            s.sha256.clone(),
            Existing {
                id: s.id.clone(),
                pages,
                bookmark_count: bookmarks.len(),
                bookmarks,
            },
        );
    }
    Account {
        scores,
        part_files: p.parts.iter().filter_map(|x| x.sha256.clone()).collect(),
        setlists: p
            .setlists
            .iter()
            .map(|l| (l.source_id.clone(), l.id.clone()))
            .collect(),
        vshard: None,
    }
}

#[test]
fn every_id_a_plan_makes_carries_the_accounts_virtual_shard() {
    let f = Files::new("shard");
    let m = manifest(&f);
    let account = Account {
        vshard: Some(0xa7),
        ..Account::default()
    };
    let p = planned(&m, &account, b"s").unwrap();
    let ids = p
        .scores
        .iter()
        .map(|s| s.id.clone())
        .chain(p.setlists.iter().map(|l| l.id.clone()))
        .chain(p.items.iter().map(|i| i.id.clone()))
        .chain(p.bookmarks.iter().map(|b| b.id.clone()));
    let ids: Vec<String> = ids.collect();
    assert!(ids.len() > 5, "{ids:?}");
    for id in ids {
        assert_eq!(scoremate::domain::shard::vshard(&id), Some(0xa7), "{id}");
    }
}

#[test]
fn importing_the_same_archive_again_plans_nothing() {
    let f = Files::new("again");
    let m = manifest(&f);
    let first = planned(&m, &Account::default(), b"one").unwrap();
    let again = planned(&m, &account_after(&first, Some(12)), b"two").unwrap();
    assert_eq!(again.report.scores_created, 0);
    assert_eq!(again.report.scores_skipped_duplicate, 3);
    assert_eq!(again.report.setlists_created, 0);
    assert_eq!(again.report.bookmarks_created, 0);
    assert!(again.report.errors.is_empty(), "{:?}", again.report.errors);
    assert!(again.copies.is_empty() && again.uploads.is_empty());
    assert!(again.scores.is_empty() && again.parts.is_empty() && again.bookmarks.is_empty());
    assert!(again.setlists.is_empty() && again.items.is_empty());
    assert!(again.annotations.is_empty() && again.settings.is_empty());
    assert_eq!(again.bytes_needed(), 0);
}

#[test]
fn a_duplicate_score_keeps_its_own_things_and_takes_the_archives_items_and_new_bookmarks() {
    let f = Files::new("dup");
    let m = manifest(&f);
    // The account has the songbook (with Solar already bookmarked, and 11 pages) and score A.
    let account = Account {
        scores: HashMap::from([
            (
                sha(&f.c),
                existing("sco_songbook", 11, &[(("Solar", 3, 4), "bmk_solar")]),
            ),
            (sha(&f.a), existing("sco_autumn", 2, &[])),
        ]),
        ..Account::default()
    };
    let p = planned(&m, &account, b"s").unwrap();
    assert_eq!(
        (p.report.scores_created, p.report.scores_skipped_duplicate),
        (1, 2)
    );
    assert_eq!(
        p.copies.len(),
        1,
        "only B's file: A's part stays A's (not merged)"
    );
    assert!(p.parts.is_empty() && p.annotations.is_empty() && p.settings.is_empty());
    // Nardis (pages 10–12) does not fit the 11 pages of the account's copy: left out, said so.
    assert_eq!(p.report.bookmarks_created, 0);
    assert_eq!(p.report.errors.len(), 1, "{:?}", p.report.errors);
    assert!(p.report.errors[0].contains("has 11 pages"));
    // Items point at the existing scores and the existing bookmark.
    assert_eq!(p.items[0].score_id, "sco_autumn");
    assert_eq!(p.items[1].score_id, "sco_songbook");
    assert_eq!(p.items[1].bookmark_id.as_deref(), Some("bmk_solar"));
    assert_eq!(p.file_bytes, f.b.len() as u64);
}

#[test]
fn the_same_file_twice_in_one_archive_is_one_score() {
    let f = Files::new("twin");
    let mut m = manifest(&f);
    let mut twin = m["scores"][1].clone();
    twin["id"] = json!("s4");
    twin["title"] = json!("Blue Bossa (copy)");
    twin["file"] = json!("files/Blue Bossa copy--s4.pdf");
    twin["bookmarks"] = json!([{"id": "b9", "title": "Head", "composer": null, "key": null,
        "tags": [], "first_page": 1, "last_page": 1}]);
    m["scores"].as_array_mut().unwrap().push(twin);
    m["setlists"][0]["items"].as_array_mut().unwrap().push(
        json!({"id": "i4", "position": 4, "score_id": "s4", "bookmark_id": "b9", "notes": null}),
    );
    let p = planned(&m, &Account::default(), b"s").unwrap();
    assert_eq!(
        (p.report.scores_created, p.report.scores_skipped_duplicate),
        (3, 1)
    );
    assert_eq!(p.copies.len(), 4, "the twin's file is not copied twice");
    let head = p.bookmarks.iter().find(|b| b.title == "Head").unwrap();
    assert_eq!(
        head.score_id, p.scores[1].id,
        "the twin's bookmark is on the first score"
    );
    assert_eq!(p.items[3].score_id, p.scores[1].id);
    assert_eq!(p.items[3].bookmark_id.as_deref(), Some(head.id.as_str()));
}

#[test]
fn an_item_whose_bookmark_was_left_out_goes_too_and_positions_stay_dense() {
    let f = Files::new("dense");
    let m = manifest(&f);
    let account = Account {
        scores: HashMap::from([(sha(&f.c), existing("sco_songbook", 2, &[]))]),
        part_files: [sha(&f.part)].into_iter().collect(),
        ..Account::default()
    };
    let p = planned(&m, &account, b"s").unwrap();
    let positions: Vec<i64> = p.items.iter().map(|i| i.position).collect();
    assert_eq!(positions, [1, 2]);
    let lines = p.report.errors.join("\n");
    assert!(
        lines.contains("item \"i2\" of setlist \"l1\": its bookmark was left out"),
        "{lines}"
    );
    assert!(
        lines.contains(
            "part \"p1\" (\"Trumpet\") of score \"s1\": you already have a part with this file"
        ),
        "{lines}"
    );
    assert_eq!(p.copies.len(), 2, "A and B; not the part");
}

#[test]
fn a_manifest_the_api_would_refuse_is_refused_whole_naming_the_thing() {
    let f = Files::new("bad");
    type Damage = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(Damage, &str)> = vec![
        (
            Box::new(|m| m["scores"][0]["title"] = json!("  ")),
            "score \"s1\": title: must not be empty",
        ),
        (
            Box::new(|m| m["scores"][1]["rating"] = json!(9)),
            "score \"s2\": rating: must be between 1 and 5",
        ),
        (
            Box::new(|m| m["scores"][0]["parts"][1]["name"] = json!("TRUMPET")),
            "two parts named",
        ),
        (
            Box::new(|m| m["scores"][0]["annotations"][0]["layer"] = json!("Pen!")),
            "the name must be",
        ),
        (
            Box::new(|m| m["scores"][0]["annotations"][0]["data"] = json!([1])),
            "data must be a JSON object",
        ),
        (
            Box::new(|m| m["scores"][0]["settings"][0]["data"] = json!({"bpm": 9000})),
            "bpm",
        ),
        (
            Box::new(|m| m["setlists"][0]["name"] = json!("")),
            "setlist \"l1\": name",
        ),
        (
            Box::new(|m| m["setlists"][0]["event_date"] = json!("someday")),
            "event_date",
        ),
        (
            Box::new(|m| {
                m["scores"][2]["bookmarks"][0]["first_page"] = json!(200_000);
                m["scores"][2]["bookmarks"][0]["last_page"] = json!(200_001);
            }),
            "bookmark \"b1\"",
        ),
    ];
    for (damage, why) in cases {
        let mut m = manifest(&f);
        damage(&mut m);
        let e = planned(&m, &Account::default(), b"s").unwrap_err();
        assert!(e.contains(why), "{e:?} should say {why:?}");
    }
    let mut m = manifest(&f);
    let items: Vec<serde_json::Value> = (1..=501)
        .map(|n| json!({"id": format!("x{n}"), "position": n, "score_id": "s2", "bookmark_id": null, "notes": null}))
        .collect();
    m["setlists"][0]["items"] = json!(items);
    m["scores"][0]["annotations"] = json!([]);
    m["scores"][0]["settings"] = json!([]);
    assert!(planned(&m, &Account::default(), b"s")
        .unwrap_err()
        .contains("501 items; at most 500"));
}

#[test]
fn a_setlist_already_there_is_not_made_again_but_a_new_one_is() {
    let f = Files::new("setlists");
    let mut m = manifest(&f);
    let mut second = m["setlists"][0].clone();
    second["id"] = json!("l2");
    second["name"] = json!("Saturday gig");
    for (n, item) in second["items"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        item["id"] = json!(format!("l2-i{n}"));
    }
    m["setlists"].as_array_mut().unwrap().push(second);
    let account = Account {
        setlists: HashMap::from([("l1".to_owned(), "set_mine".to_owned())]),
        ..Account::default()
    };
    let p = planned(&m, &account, b"s").unwrap();
    assert_eq!(p.report.setlists_created, 1);
    assert_eq!(p.setlists[0].source_id, "l2");
    assert_eq!(p.items.len(), 3);
    // The item layer and settings of l1's item (which exists already) are left as they are.
    assert!(p.annotations.iter().all(|a| a.item_id.is_empty()));
    assert!(p.settings.iter().all(|s| s.item_id.is_empty()));
}
