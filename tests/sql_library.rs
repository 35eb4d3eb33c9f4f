//! Library SQL (uploads, quota ledger, scores, search, deletion) on real SQLite with the real
//! migrations, through the statements the core builds. D1 batches are transactions; here each
//! batch runs in one transaction too ([`common::batch`]).

mod common;
use common::{batch, exec, migrated, rows};

use rusqlite::{params, params_from_iter, Connection};
use scoremate::domain::score::ScoreFields;
use scoremate::storage::signed::SigningKey;
use scoremate::store::library::{self as lib, NewScore, NewUpload, PageImage};
use scoremate::store::paging::CURSOR_PURPOSE;
use scoremate::store::processing::Of;
use scoremate::store::search::ListQuery;
use scoremate::store::{presets, processing};

const T0: &str = "2026-01-01T00:00:00.000Z";
const T1: &str = "2026-01-01T00:10:00.000Z";
const EXP: &str = "2026-01-01T00:15:00.000Z";
const GRACE: &str = "2026-01-01T01:15:00.000Z";
const LATE: &str = "2026-01-01T02:00:00.000Z";

fn user(c: &Connection, id: &str, quota: i64) {
    c.execute(
        "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
         values (?1, ?2, 'h', 'U', ?3, ?4, ?4)",
        params![id, format!("{id}@example.com"), quota, T0],
    )
    .unwrap();
}

fn usage(c: &Connection, id: &str) -> (i64, i64) {
    c.query_row(
        "select used_bytes, reserved_bytes from users where id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// The reservation batch; returns whether the upload was created.
fn reserve(c: &mut Connection, user_id: &str, upload_id: &str, size: i64, hash: &str) -> bool {
    let key = format!("k/{upload_id}");
    let changes = batch(
        c,
        &lib::reserve_upload(&NewUpload {
            id: upload_id,
            user_id,
            filename: "f.pdf",
            size,
            mime: "application/pdf",
            sha256: hash,
            object_key: &key,
            expires_at: EXP,
            consumable_until: GRACE,
            now: T0,
        }),
    )
    .unwrap();
    assert_eq!(changes[0], changes[1], "insert and charge must agree");
    changes[0] == 1
}

/// The fields of a created score, as `ScoreFields` hands them over (tags sorted, deduplicated).
fn fields(title: &str, tags: &str) -> ScoreFields {
    let mut tags: Vec<String> = serde_json::from_str(tags).unwrap();
    tags.sort();
    tags.dedup();
    ScoreFields {
        title: Some(title.into()),
        composer: Some(Some("Antonín Dvořák".into())),
        instrumentation: Some(Some("violin and piano".into())),
        notes: Some(Some("gig notes".into())),
        tags: Some(tags),
        ..ScoreFields::default()
    }
}

fn create(
    user_id: &str,
    upload_id: &str,
    score_id: &str,
    now: &str,
    f: &ScoreFields,
) -> Vec<scoremate::store::Stmt> {
    lib::create_score(&NewScore {
        id: score_id,
        user_id,
        upload_id,
        fields: f,
        now,
    })
    .to_vec()
}

/// The create-score batch; returns each statement's changes.
fn consume(
    c: &mut Connection,
    user_id: &str,
    upload_id: &str,
    score_id: &str,
    now: &str,
    tags: &str,
) -> Vec<usize> {
    batch(
        c,
        &create(
            user_id,
            upload_id,
            score_id,
            now,
            &fields("Humoresque", tags),
        ),
    )
    .unwrap()
}

#[test]
fn a_reservation_within_quota_is_charged_once() {
    let mut c = migrated();
    user(&c, "u1", 100);
    assert!(reserve(&mut c, "u1", "up1", 60, "h1"));
    assert_eq!(usage(&c, "u1"), (0, 60));
}

#[test]
fn reservations_never_exceed_the_quota() {
    let mut c = migrated();
    user(&c, "u1", 100);
    let granted = (0..20)
        .filter(|i| reserve(&mut c, "u1", &format!("up{i}"), 10, &format!("h{i}")))
        .count();
    assert_eq!(granted, 10);
    assert_eq!(usage(&c, "u1"), (0, 100));
    let rows: i64 = c
        .query_row("select count(*) from uploads", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 10);
}

#[test]
fn a_disabled_user_cannot_reserve() {
    let mut c = migrated();
    user(&c, "u1", 100);
    c.execute("update users set disabled_at = ?1", [T0])
        .unwrap();
    assert!(!reserve(&mut c, "u1", "up1", 1, "h"));
}

#[test]
fn consuming_converts_the_reservation_and_creates_the_score_once() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 60, "h1");
    assert_eq!(
        consume(&mut c, "u1", "up1", "s1", T1, r#"["gig","romantic"]"#),
        vec![1, 1, 1, 2]
    );
    assert_eq!(usage(&c, "u1"), (60, 0));
    // A second create with the same upload changes nothing.
    assert_eq!(
        consume(&mut c, "u1", "up1", "s2", T1, "[]"),
        vec![0, 0, 0, 0]
    );
    assert_eq!(usage(&c, "u1"), (60, 0));
    let scores: i64 = c
        .query_row("select count(*) from scores", [], |r| r.get(0))
        .unwrap();
    assert_eq!(scores, 1);
}

#[test]
fn another_users_upload_cannot_be_consumed() {
    let mut c = migrated();
    user(&c, "u1", 100);
    user(&c, "u2", 100);
    reserve(&mut c, "u1", "up1", 60, "h1");
    assert_eq!(
        consume(&mut c, "u2", "up1", "s1", T1, "[]"),
        vec![0, 0, 0, 0]
    );
    assert_eq!(usage(&c, "u1"), (0, 60));
    assert_eq!(usage(&c, "u2"), (0, 0));
}

#[test]
fn an_upload_past_its_grace_cannot_be_consumed_and_the_sweep_releases_it_once() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 60, "h1");
    assert_eq!(
        consume(&mut c, "u1", "up1", "s1", LATE, "[]"),
        vec![0, 0, 0, 0]
    );
    let expired: Vec<String> = rows(&c, &lib::expired_uploads(LATE, 100), |r| r.get(0));
    assert_eq!(expired, vec!["up1".to_owned()]);
    let won: Vec<bool> = (0..2)
        .map(|_| release(&mut c, "up1", LATE, "expired"))
        .collect();
    assert_eq!(won, vec![true, false], "only the first release wins");
    assert_eq!(usage(&c, "u1"), (0, 0));
}

/// The release batch (dedupe, non-PDF, sweep); returns whether this release won.
fn release(c: &mut Connection, upload: &str, now: &str, state: &str) -> bool {
    batch(c, &lib::release_upload(upload, now, state)).unwrap()[1] == 1
}

fn outbox(c: &Connection) -> Vec<(String, Option<String>)> {
    c.prepare("select object_key, not_before from deletions order by object_key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn lingering(c: &Connection, retry_before: &str, now: &str) -> Vec<String> {
    rows(c, &lib::lingering_deletions(retry_before, 10, now), |r| {
        r.get(0)
    })
}

#[test]
fn a_release_that_lost_to_a_create_queues_no_deletion_of_the_scores_file() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 10, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, "[]");
    assert!(!release(&mut c, "up1", T1, "released"));
    assert!(outbox(&c).is_empty(), "the score's file must stay");
    assert_eq!(usage(&c, "u1"), (10, 0));
}

#[test]
fn a_released_upload_is_deleted_again_once_its_url_has_expired() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 10, "h1");
    assert!(release(&mut c, "up1", T1, "released"));
    // Released before the URL expired: the deletion waits for the expiry (a late PUT).
    assert_eq!(outbox(&c), vec![("k/up1".into(), Some(EXP.into()))]);
    exec(&c, &lib::deletion_done("k/up1", T1));
    assert_eq!(
        outbox(&c).len(),
        1,
        "deleted now, but kept until the URL expires"
    );
    assert!(lingering(&c, T0, T1).is_empty(), "not before the expiry");
    assert_eq!(lingering(&c, T0, GRACE), vec!["k/up1".to_owned()]);
    assert!(
        lingering(&c, T0, GRACE).is_empty(),
        "once enqueued it waits the retry delay like any other"
    );
    exec(&c, &lib::deletion_done("k/up1", GRACE));
    assert!(outbox(&c).is_empty());
}

#[test]
fn the_same_content_cannot_become_two_scores_of_one_user() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 10, "same");
    reserve(&mut c, "u1", "up2", 10, "same");
    consume(&mut c, "u1", "up1", "s1", T1, "[]");
    let err = batch(&mut c, &create("u1", "up2", "s2", T1, &fields("t", "[]"))).unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert_eq!(usage(&c, "u1"), (10, 10));
    let found: Vec<String> = rows(&c, &lib::score_id_by_hash("u1", "same"), |r| r.get(0));
    assert_eq!(found, ["s1"]);
}

/// A defect found while moving the statements: another user's PATCH with tags or DELETE of a
/// score (both answered 404) used to replace or remove the owner's tag index rows.
#[test]
fn another_users_patch_or_delete_leaves_the_owners_tag_index_alone() {
    let mut c = migrated();
    user(&c, "u1", 100);
    user(&c, "u2", 100);
    reserve(&mut c, "u1", "up1", 10, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, r#"["gig"]"#);
    let theirs = ScoreFields {
        tags: Some(vec!["planted".into()]),
        ..ScoreFields::default()
    };
    let changes = batch(&mut c, &lib::patch_score("s1", "u2", &theirs, 50, T1)).unwrap();
    assert!(changes.iter().all(|&n| n == 0), "{changes:?}");
    assert_eq!(
        batch(&mut c, &common::delete_for_good("s1", "u2", T1)).unwrap(),
        [0, 0, 0, 0, 0, 0, 0]
    );
    let index: Vec<String> = c
        .prepare("select tag from score_tags where score_id = 's1'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(index, ["gig"]);
}

#[test]
fn deleting_a_score_releases_its_bytes_and_queues_its_objects() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 60, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, r#"["a"]"#);
    // Another user cannot delete it.
    assert_eq!(
        batch(&mut c, &common::delete_for_good("s1", "u2", T1)).unwrap(),
        [0, 0, 0, 0, 0, 0, 0]
    );
    for _ in 0..2 {
        batch(&mut c, &common::delete_for_good("s1", "u1", T1)).unwrap();
    }
    assert_eq!(usage(&c, "u1"), (0, 0));
    let (tags, queued): (i64, i64) = c
        .query_row(
            "select (select count(*) from score_tags), (select count(*) from deletions)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((tags, queued), (0, 1));
    // The score's upload URL had not expired at T1: a PUT could still bring the file back.
    assert_eq!(outbox(&c), vec![("k/up1".into(), Some(EXP.into()))]);
    exec(&c, &lib::deletion_done("k/up1", T1));
    assert_eq!(lingering(&c, T0, LATE), vec!["k/up1".to_owned()]);
    exec(&c, &lib::deletion_done("k/up1", LATE));
    assert!(outbox(&c).is_empty());
}

fn list(c: &Connection, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    let q = ListQuery::parse(&pairs, &SigningKey::derive(b"k", CURSOR_PURPOSE)).unwrap();
    let (text, params) = q.sql(&lib::score_columns(), "u1", None);
    let params = common::params(params);
    c.prepare(&text)
        .unwrap()
        .query_map(params_from_iter(params), |r| {
            let json: serde_json::Value =
                serde_json::from_str(&r.get::<_, String>("json")?).unwrap();
            Ok((r.get::<_, String>("id")?, json["tags"].to_string()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn full_text_search_folds_case_and_diacritics_and_follows_updates_and_deletes() {
    let mut c = migrated();
    user(&c, "u1", 1000);
    reserve(&mut c, "u1", "up1", 1, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, r#"["gig"]"#);
    assert_eq!(list(&c, &[("query", "dvorak")]).len(), 1);
    assert_eq!(list(&c, &[("query", "HUMOR")]).len(), 1);
    assert_eq!(list(&c, &[("query", "gig notes")]).len(), 1);
    assert_eq!(list(&c, &[("query", "mozart")]).len(), 0);
    // A query longer than D1's 50-byte LIKE limit works.
    assert_eq!(
        list(
            &c,
            &[(
                "query",
                "Humoresque Antonín Dvořák gig notes humoresque dvorak"
            )]
        )
        .len(),
        1
    );
    c.execute(
        "update scores set title = 'Slavonic Dance' where id = 's1'",
        [],
    )
    .unwrap();
    assert_eq!(list(&c, &[("query", "humoresque")]).len(), 0);
    assert_eq!(list(&c, &[("query", "slavonic")]).len(), 1);
    c.execute("delete from scores where id = 's1'", []).unwrap();
    assert_eq!(list(&c, &[("query", "slavonic")]).len(), 0);
}

#[test]
fn tag_filters_are_and_and_tags_come_back_sorted() {
    let mut c = migrated();
    user(&c, "u1", 1000);
    reserve(&mut c, "u1", "up1", 1, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, r#"["gig","baroque"]"#);
    reserve(&mut c, "u1", "up2", 1, "h2");
    consume(&mut c, "u1", "up2", "s2", T1, r#"["gig"]"#);
    assert_eq!(list(&c, &[("tag", "gig")]).len(), 2);
    let both = list(&c, &[("tag", "gig"), ("tag", "baroque")]);
    assert_eq!(
        both,
        vec![("s1".to_owned(), r#"["baroque","gig"]"#.to_owned())]
    );
}

#[test]
fn the_score_json_built_by_sql_has_the_contract_shape() {
    let mut c = migrated();
    user(&c, "u1", 1000);
    reserve(&mut c, "u1", "up1", 7, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, r#"["b","a"]"#);
    c.execute(
        "update scores set pdf_info_state = 'failed', pdf_info_reason = 'not a PDF', pdf_meta = '{\"title\":\"T\"}' where id = 's1'",
        [],
    )
    .unwrap();
    let json: String = rows(&c, &lib::score("s1", "u1"), |r| r.get("json")).remove(0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "arranger",
            "composer",
            "content_hash",
            "created_at",
            "difficulty",
            "duration",
            "filename",
            "id",
            "instrumentation",
            "key",
            "notes",
            "pages",
            "pdf_meta",
            "processing",
            "rating",
            "size_bytes",
            "suggestions",
            "tags",
            "title",
            "trashed_at",
            "updated_at"
        ]
    );
    assert_eq!(v["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(v["pdf_meta"], serde_json::json!({"title": "T"}));
    assert_eq!(v["suggestions"], serde_json::json!({}));
    assert_eq!(v["size_bytes"], 7);
    assert_eq!(v["composer"], "Antonín Dvořák");
    assert_eq!(
        v["processing"],
        serde_json::json!({"pdf_info": {"state": "failed", "reason": "not a PDF"}, "thumbnail": {"state": "pending"}})
    );
    assert!(rows(&c, &lib::score("s1", "u2"), |r| r.get::<_, String>("json")).is_empty());
}

#[test]
fn a_guarded_list_returns_rows_only_for_a_live_session() {
    let mut c = migrated();
    user(&c, "u1", 1000);
    c.execute(
        "insert into sessions (id, user_id, created_at, last_used_at, expires_at) values ('ses_1', 'u1', ?1, ?1, ?2)",
        params![T0, GRACE],
    )
    .unwrap();
    reserve(&mut c, "u1", "up1", 1, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, "[]");
    let q = ListQuery::parse(&[], &SigningKey::derive(b"k", CURSOR_PURPOSE)).unwrap();
    let count = |c: &Connection, sid: &str| -> usize {
        let (text, params) = q.sql(&lib::score_columns(), "u1", Some(sid));
        let params = common::params(params);
        c.prepare(&text)
            .unwrap()
            .query_map(params_from_iter(params), |_| Ok(()))
            .unwrap()
            .count()
    };
    assert_eq!(count(&c, "ses_1"), 1);
    assert_eq!(count(&c, "ses_other"), 0);
    c.execute(
        "update sessions set revoked_at = ?1 where id = 'ses_1'",
        [T1],
    )
    .unwrap();
    assert_eq!(count(&c, "ses_1"), 0);
}

/// The sweep's view of unfinished processing: pending tasks inside the re-enqueue window, a
/// give-up past it, and dead-letter marks that never overwrite a result.
#[test]
fn stale_processing_is_requeued_then_abandoned_and_results_stand() {
    let mut c = migrated();
    user(&c, "u1", 1000);
    for (n, at) in [
        (1, "2026-01-01T00:00:00Z"),
        (2, "2026-01-02T10:00:00Z"),
        (3, "2026-01-02T11:50:00Z"),
    ] {
        reserve(&mut c, "u1", &format!("up{n}"), 10, &format!("h{n}"));
        consume(&mut c, "u1", &format!("up{n}"), &format!("s{n}"), T1, "[]");
        c.execute(
            "update scores set created_at = ?2 where id = ?1",
            params![format!("s{n}"), at],
        )
        .unwrap();
    }
    exec(
        &c,
        &processing::thumbnail_ok(processing::Of::Score, "s2", "k/thumb", 100),
    );
    let (now_minus_30m, now_minus_1d) = ("2026-01-02T11:30:00Z", "2026-01-01T12:00:00Z");
    let abandoned: usize = batch(
        &mut c,
        &processing::abandon_stale_processing(processing::Of::Score, now_minus_1d, "gone"),
    )
    .unwrap()
    .iter()
    .sum();
    assert_eq!(abandoned, 2, "s1's two tasks");
    let stale_processing =
        processing::stale_processing(processing::Of::Score, now_minus_30m, now_minus_1d, 10);
    let stale: Vec<(String, i64, i64)> = rows(&c, &stale_processing, |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    });
    // s1 was given up, s3 is too recent; s2 only lacks pdf_info.
    assert_eq!(stale, vec![("s2".to_owned(), 1, 0)]);
    // A dead letter arriving after success leaves the result alone.
    assert_eq!(
        exec(
            &c,
            &processing::thumbnail_gave_up(processing::Of::Score, "s2", "dead")
        ),
        0
    );
    assert_eq!(
        exec(
            &c,
            &processing::pdf_info_gave_up(processing::Of::Score, "s2", "dead")
        ),
        1
    );
    let plan: String = c
        .query_row(
            &format!("explain query plan {}", stale_processing.sql),
            common::params_from(&stale_processing.args),
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("scores_processing_pending"), "{plan}");
}

/// Adds an instrumentation preset (the write of the create batch); whether it was added.
fn add_preset(c: &Connection, id: &str, owner: &str, name: &str) -> usize {
    let [insert, _read_back] = presets::create(&presets::NewPreset {
        id,
        user_id: owner,
        kind: "instrumentation",
        name,
        parts: "[]",
        now: T1,
    });
    exec(c, &insert)
}

#[test]
fn presets_filter_by_instrumentation_or_genre_tag_and_only_the_users_own_or_built_ins() {
    let mut c = migrated();
    user(&c, "u1", 1000);
    user(&c, "u2", 1000);
    reserve(&mut c, "u1", "up1", 1, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, r#"["jazz"]"#);
    reserve(&mut c, "u1", "up2", 1, "h2");
    consume(&mut c, "u1", "up2", "s2", T1, r#"["gig"]"#);
    // Built-in genre → the tag of the same name.
    let jazz = list(&c, &[("preset", "pre_genre_jazz")]);
    assert_eq!(
        jazz.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["s1"]
    );
    // Own instrumentation preset, any case.
    for (id, owner, name) in [
        ("pre_mine", "u1", "Violin and Piano"),
        ("pre_theirs", "u2", "violin and piano"),
    ] {
        assert_eq!(add_preset(&c, id, owner, name), 1);
    }
    assert_eq!(list(&c, &[("preset", "pre_mine")]).len(), 2);
    assert!(
        list(&c, &[("preset", "pre_theirs")]).is_empty(),
        "another user's preset"
    );
    assert!(list(&c, &[("preset", "pre_nonexistent")]).is_empty());
    assert_eq!(list(&c, &[("preset", "pre_solo_piano")]).len(), 0);
    // The name check: a second "violin and piano" of u1, or a built-in's name, inserts nothing.
    for (id, name) in [("pre_dup", "VIOLIN AND PIANO"), ("pre_dup2", "solo piano")] {
        assert_eq!(add_preset(&c, id, "u1", name), 0, "{name}");
    }
}

fn image(score: &str, page: u32, floor: i64) -> PageImage<'_> {
    PageImage {
        of: Of::Score,
        id: score,
        page,
        width: 1240,
        pdf_bytes: 10,
        floor,
    }
}

/// What a page request sees: (state, reason, full).
fn render_state(
    c: &Connection,
    score: &str,
    page: u32,
    floor: i64,
) -> (Option<String>, Option<String>, bool) {
    rows(c, &lib::page_render(&image(score, page, floor)), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? == 1))
    })
    .remove(0)
}

fn request_render(c: &Connection, score: &str, page: u32, floor: i64) -> usize {
    exec(c, &lib::request_render(&image(score, page, floor), T1))
}

fn render_ok(c: &Connection, score: &str, page: u32, bytes: i64, floor: i64) -> usize {
    exec(c, &lib::render_ok(&image(score, page, floor), bytes, T1))
}

#[test]
fn a_page_is_requested_once_rendered_once_and_its_failure_remembered() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 10, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, "[]");
    assert_eq!(render_state(&c, "s1", 1, 1000), (None, None, false));
    assert_eq!(
        request_render(&c, "s1", 1, 1000),
        1,
        "the first request sends the message"
    );
    assert_eq!(request_render(&c, "s1", 1, 1000), 0, "single flight");
    assert_eq!(
        render_state(&c, "s1", 1, 1000).0.as_deref(),
        Some("pending")
    );
    assert_eq!(render_ok(&c, "s1", 1, 300, 1000), 1);
    assert_eq!(
        render_ok(&c, "s1", 1, 300, 1000),
        0,
        "idempotent: only a pending row"
    );
    assert_eq!(request_render(&c, "s1", 2, 1000), 1);
    exec(
        &c,
        &lib::render_failed((Of::Score, "s1"), 2, 1240, "too large", T1),
    );
    assert_eq!(
        render_state(&c, "s1", 2, 1000),
        (Some("failed".into()), Some("too large".into()), false)
    );
    // Deleting the score deletes its renders (their objects go with its derived prefix).
    batch(&mut c, &common::delete_for_good("s1", "u1", T1)).unwrap();
    let left: i64 = c
        .query_row("select count(*) from page_renders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn page_images_stop_at_twice_the_pdf_or_the_floor() {
    let mut c = migrated();
    user(&c, "u1", 100);
    reserve(&mut c, "u1", "up1", 10, "h1");
    consume(&mut c, "u1", "up1", "s1", T1, "[]");
    exec(
        &c,
        &processing::thumbnail_ok(processing::Of::Score, "s1", "k/thumb", 5),
    );
    // A 10-byte PDF with no floor may hold 20 bytes of images: 5 are the thumbnail.
    request_render(&c, "s1", 1, 0);
    assert_eq!(render_ok(&c, "s1", 1, 16, 0), 0, "5 + 16 > 20");
    assert_eq!(render_ok(&c, "s1", 1, 15, 0), 1, "5 + 15 = 20");
    assert!(render_state(&c, "s1", 2, 0).2, "the budget is full");
    assert_eq!(
        request_render(&c, "s1", 2, 0),
        0,
        "no request past a full budget"
    );
    assert!(
        !render_state(&c, "s1", 2, 100).2,
        "a higher floor leaves room"
    );
    // A render finishing after its score was deleted changes nothing (the task deletes it).
    request_render(&c, "s1", 3, 100);
    batch(&mut c, &common::delete_for_good("s1", "u1", T1)).unwrap();
    assert_eq!(render_ok(&c, "s1", 3, 1, 100), 0);
}
