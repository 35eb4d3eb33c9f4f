//! Sharded use cases run natively (docs/scaling.md, `domain::shard`): two real SQLite databases
//! with the migrations behind ports that route as the shell does (the request's database from
//! the id it is about or the caller's; `db_of` for another user's rows; `dbs` for what spans
//! users). Account rows are in every database, sessions and libraries only in their owner's,
//! a setlist shared across databases is found by its member, and admin changes reach every copy.

mod common;

use std::cell::Cell;

use common::ports::{block_on, counted_random, MemBlobs, RecordingTasks, SqliteDb, SECRET};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use scoremate::config::Config;
use scoremate::domain::shard;
use scoremate::domain::time::Millis;
use scoremate::error::{ApiError, ApiResult};
use scoremate::ports::Ports;
use scoremate::service::{accounts, activity, admin, processing, setlists, Cx};
use scoremate::store::rows::UserRow;

/// Two databases; `route` picks the request's as the shell does.
struct Sharded {
    dbs: Vec<SqliteDb>,
    routed: Cell<usize>,
    vshard: Cell<Option<u8>>,
    blobs: MemBlobs,
    tasks: RecordingTasks,
    counter: Cell<u64>,
}

impl Ports for Sharded {
    type Db = SqliteDb;
    type Blobs = MemBlobs;
    type Tasks = RecordingTasks;

    fn db(&self) -> &SqliteDb {
        &self.dbs[self.routed.get()]
    }

    fn blobs(&self) -> &MemBlobs {
        &self.blobs
    }

    fn tasks(&self) -> &RecordingTasks {
        &self.tasks
    }

    fn random(&self, out: &mut [u8]) -> ApiResult<()> {
        counted_random(&self.counter, out)
    }

    fn db_of(&self, id: &str) -> &SqliteDb {
        &self.dbs[shard::database_of(id, self.dbs.len())]
    }

    fn dbs(&self) -> &[SqliteDb] {
        &self.dbs
    }

    fn vshard(&self) -> Option<u8> {
        self.vshard.get()
    }
}

struct World {
    ports: Sharded,
    config: Config,
}

impl World {
    fn new() -> Self {
        Self {
            ports: Sharded {
                dbs: vec![
                    SqliteDb::new(common::migrated()),
                    SqliteDb::new(common::migrated()),
                ],
                routed: Cell::new(0),
                vshard: Cell::new(None),
                blobs: MemBlobs::default(),
                tasks: RecordingTasks::default(),
                counter: Cell::new(0),
            },
            config: Config::from_lookup(|name| (name == "JWT_SECRET").then(|| SECRET.to_owned()))
                .unwrap(),
        }
    }

    /// The context of a request routed by `key` (`None`: the first database, random ids).
    fn cx(&self, key: Option<&str>) -> Cx<'_, Sharded> {
        self.ports
            .routed
            .set(key.map_or(0, |k| shard::database_of(k, 2)));
        self.ports.vshard.set(key.and_then(shard::vshard));
        Cx {
            ports: &self.ports,
            config: &self.config,
            now: Millis(1_780_000_000_000),
            base_url: "https://scoremate.test",
        }
    }

    fn conn(&self, i: usize) -> &Connection {
        &self.ports.dbs[i].conn
    }

    fn count(&self, i: usize, sql: &str, id: &str) -> i64 {
        self.conn(i).query_row(sql, [id], |r| r.get(0)).unwrap()
    }

    /// Registers `email`: the account's id.
    fn register(&self, email: &str) -> String {
        block_on(accounts::register(
            &self.cx(None),
            "ip",
            body(json!({"email": email, "password": "Str0ng-pass-word", "display_name": "P"})),
        ))
        .unwrap()
        .id
    }
}

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// Two accounts whose own rows live in different databases.
fn two_homes(w: &World) -> (String, String) {
    let first = w.register("first@example.com");
    for n in 0..64 {
        let other = w.register(&format!("other{n}@example.com"));
        if shard::database_of(&other, 2) != shard::database_of(&first, 2) {
            return (first, other);
        }
    }
    panic!("64 accounts all landed in one database");
}

#[test]
fn an_account_is_in_every_database_and_its_email_is_decided_once() {
    let w = World::new();
    let (a, b) = two_homes(&w);
    for i in 0..2 {
        for id in [&a, &b] {
            assert_eq!(
                w.count(i, "select count(*) from users where id = ?1", id),
                1
            );
        }
    }
    let again = block_on(accounts::register(
        &w.cx(None),
        "ip",
        body(
            json!({"email": "first@example.com", "password": "Str0ng-pass-word", "display_name": "P"}),
        ),
    ));
    assert!(matches!(again, Err(ApiError::Conflict { .. })), "{again:?}");
}

#[test]
fn a_session_lives_in_its_users_database_and_is_checked_there_wherever_the_request_goes() {
    let w = World::new();
    let (a, b) = two_homes(&w);
    let tokens = block_on(accounts::login(
        &w.cx(None),
        "ip",
        body(json!({"email": "first@example.com", "password": "Str0ng-pass-word"})),
    ))
    .unwrap();
    let home = shard::database_of(&a, 2);
    assert_eq!(
        w.count(home, "select count(*) from sessions where user_id = ?1", &a),
        1
    );
    assert_eq!(
        w.count(
            1 - home,
            "select count(*) from sessions where user_id = ?1",
            &a
        ),
        0
    );
    // A request about the other user's rows is routed to their database; the caller's session
    // is still found in the caller's own.
    let session = block_on(accounts::authenticate(
        &w.cx(Some(&b)),
        Some(&tokens.access),
    ))
    .unwrap();
    assert_eq!(session.user.id, a);
    let rotated = block_on(accounts::refresh(
        &w.cx(None),
        "ip",
        body(json!({"refresh": tokens.refresh})),
    ));
    assert!(rotated.is_ok(), "{rotated:?}");
}

#[test]
fn a_setlist_shared_across_databases_is_found_by_its_member_and_counted_in_their_stats() {
    let w = World::new();
    let (owner, member) = two_homes(&w);
    let created = block_on(setlists::create(
        &w.cx(Some(&owner)),
        &owner,
        body(json!({"name": "Gig"})),
    ))
    .unwrap();
    let id = serde_json::from_str::<Value>(&created).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        shard::vshard(&id),
        shard::vshard(&owner),
        "the id carries its owner's shard"
    );
    let home = shard::database_of(&owner, 2);
    assert_eq!(
        w.count(home, "select count(*) from setlists where id = ?1", &id),
        1
    );
    assert_eq!(
        w.count(1 - home, "select count(*) from setlists where id = ?1", &id),
        0
    );
    let member_email: String = w
        .conn(0)
        .query_row("select email from users where id = ?1", [&member], |r| {
            r.get(0)
        })
        .unwrap();
    block_on(setlists::add_member(
        &w.cx(Some(&id)),
        &owner,
        &id,
        body(json!({"email": member_email, "role": "viewer"})),
    ))
    .unwrap();
    let shared = block_on(setlists::list(
        &w.cx(Some(&member)),
        &member,
        &[("shared".into(), "true".into())],
    ))
    .unwrap();
    let shared: Value = serde_json::from_str(&shared).unwrap();
    assert_eq!(shared["setlists"][0]["id"], json!(id), "{shared}");
    assert_eq!(shared["setlists"][0]["role"], json!("viewer"));
    let own = block_on(setlists::list(&w.cx(Some(&member)), &member, &[])).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&own).unwrap()["setlists"],
        json!([])
    );
    let stats = block_on(activity::stats(&w.cx(Some(&member)), &member)).unwrap();
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(
        stats["stats"]["setlists_shared_with_me"],
        json!(1),
        "{stats}"
    );
    // The member reads it in the owner's database, routed by the setlist's id.
    let view = block_on(setlists::get(&w.cx(Some(&id)), &member, &id));
    assert!(view.is_ok(), "{view:?}");
}

#[test]
fn an_admin_change_reaches_every_copy_and_the_user_list_shows_each_account_once() {
    let w = World::new();
    let (a, b) = two_homes(&w);
    let caller = admin_of(&w, &a, "first@example.com");
    block_on(admin::patch_user(
        &w.cx(Some(&b)),
        &caller,
        &b,
        body(json!({"disabled": true, "quota_bytes": 5000})),
    ))
    .unwrap();
    for i in 0..2 {
        assert_eq!(
            w.count(i, "select count(*) from users where id = ?1 and disabled_at is not null and quota_bytes = 5000", &b),
            1,
            "database {i}"
        );
    }
    let list = block_on(admin::users(&w.cx(Some(&a)), &caller, &[])).unwrap();
    let list: Value = serde_json::from_str(&list).unwrap();
    let ids: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let accounts: i64 = w
        .conn(0)
        .query_row("select count(*) from users", [], |r| r.get(0))
        .unwrap();
    let unique: std::collections::HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{list}");
    assert_eq!(ids.len() as i64, accounts, "{list}");
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
    let stats: Value =
        serde_json::from_str(&block_on(admin::stats(&w.cx(Some(&a)), &caller)).unwrap()).unwrap();
    assert_eq!(stats["users"], json!(accounts), "{stats}");
    assert_eq!(stats["disabled_users"], json!(1));
}

/// `id` (whose email is `email`) made an admin in every copy, as its authenticated caller.
fn admin_of(w: &World, id: &str, email: &str) -> UserRow {
    for i in 0..2 {
        w.conn(i)
            .execute("update users set role = 'admin' where id = ?1", [id])
            .unwrap();
    }
    let access = block_on(accounts::login(
        &w.cx(None),
        "ip",
        body(json!({"email": email, "password": "Str0ng-pass-word"})),
    ))
    .unwrap()
    .access;
    block_on(accounts::authenticate(&w.cx(Some(id)), Some(&access)))
        .unwrap()
        .user
}

#[test]
fn a_dead_letter_marks_its_score_failed_in_the_owners_database_and_is_re_run_from_the_first() {
    let w = World::new();
    let (a, b) = two_homes(&w);
    let (owner, admin_id) = if shard::database_of(&a, 2) == 1 {
        (a, b)
    } else {
        (b, a)
    };
    let home = shard::database_of(&owner, 2);
    assert_eq!(home, 1);
    let score = format!("sco_{}", &owner[owner.find('_').unwrap() + 1..]);
    w.conn(home)
        .execute(
            "insert into scores (id, user_id, upload_id, object_key, filename, title, content_hash, size_bytes, pages, \
             thumbnail_state, created_at, updated_at) \
             values (?1, ?2, 'up-1', 'u/' || ?2 || '/s.pdf', 'f.pdf', 'T', 'h', 10, 1, 'pending', \
                     '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            rusqlite::params![score, owner],
        )
        .unwrap();
    let message = json!({"task": "thumbnail", "score_id": score});
    block_on(processing::dead_letter(&w.cx(Some(&score)), &message, "m1")).unwrap();
    let state = |i: usize| -> Option<String> {
        w.conn(i)
            .query_row(
                "select thumbnail_state from scores where id = ?1",
                [&score],
                |r| r.get(0),
            )
            .ok()
    };
    assert_eq!(state(1).as_deref(), Some("failed"));
    let dead = "select count(*) from task_runs where id = ?1 and state = 'dead'";
    assert_eq!(
        (w.count(0, dead, "dead:m1"), w.count(1, dead, "dead:m1")),
        (1, 0)
    );

    let email: String = w
        .conn(0)
        .query_row("select email from users where id = ?1", [&admin_id], |r| {
            r.get(0)
        })
        .unwrap();
    let caller = admin_of(&w, &admin_id, &email);
    // Routed as the shell routes `dead:…`: no owner in the id, so the first database.
    block_on(admin::retry_task(&w.cx(None), &caller, "dead:m1")).unwrap();
    assert_eq!(state(1).as_deref(), Some("pending"));
    assert_eq!(
        w.count(0, dead, "dead:m1"),
        0,
        "the dead letter is re-run once"
    );
}

#[test]
fn a_copy_that_cannot_be_written_takes_the_new_account_back_and_a_retry_registers_it() {
    let w = World::new();
    w.ports.dbs[1].fail_next("insert into users", 1);
    let failed = block_on(accounts::register(
        &w.cx(None),
        "ip",
        body(
            json!({"email": "late@example.com", "password": "Str0ng-pass-word", "display_name": "P"}),
        ),
    ));
    assert!(failed.is_err(), "{failed:?}");
    for i in 0..2 {
        assert_eq!(
            w.count(
                i,
                "select count(*) from users where email = ?1",
                "late@example.com"
            ),
            0,
            "database {i}"
        );
    }
    let id = w.register("late@example.com");
    for i in 0..2 {
        assert_eq!(
            w.count(i, "select count(*) from users where id = ?1", &id),
            1
        );
    }
}

#[test]
fn a_profile_change_failing_part_way_is_mended_by_the_retry() {
    let w = World::new();
    let (a, _) = two_homes(&w);
    let rename = || {
        block_on(accounts::patch_me(
            &w.cx(Some(&a)),
            &a,
            body(json!({"display_name": "Renamed"})),
        ))
    };
    w.ports.dbs[1].fail_next("update users set display_name", 1);
    assert!(rename().is_err());
    assert!(rename().is_ok(), "the change is idempotent");
    for i in 0..2 {
        assert_eq!(
            w.count(
                i,
                "select count(*) from users where id = ?1 and display_name = 'Renamed'",
                &a
            ),
            1,
            "database {i}"
        );
    }
}
