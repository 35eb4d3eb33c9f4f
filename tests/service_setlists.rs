//! The setlists' use cases run natively through the ports (SQLite with the real migrations, an
//! in-memory object store, a recording queue): each use case's answer and the rows after it; the
//! role policy (`domain::setlist::decide`) against what every use case answers the owner, an
//! editor, a viewer, a public-link holder and an outsider; other setlists' ids; bad input; the
//! compare-and-swap on the version with writes injected between a use case's read and its
//! batch; batches failing part-way; paging; dead links; disabled owners; cascading deletes.

mod common;

use std::cell::{Cell, RefCell};

use common::ports::{block_on, MemBlobs, RecordingTasks, SqliteDb, World};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use scoremate::domain::setlist::{decide, Action, Party, ITEMS_MAX};
use scoremate::error::{ApiError, ApiResult};
use scoremate::ports::{Db, Outcome, Ports};
use scoremate::service::library::Download;
use scoremate::service::setlists::{self as uc, Author, LinkGate, Posted, WRITE_ATTEMPTS};
use scoremate::service::Cx;
use scoremate::store::paging::Pager;
use scoremate::store::Stmt;

// ---- helpers ----

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The fields a 422 names.
fn fields(e: &ApiError) -> Vec<String> {
    match e {
        ApiError::Validation(f) => f.keys().cloned().collect(),
        other => panic!("not a 422: {other:?}"),
    }
}

/// The envelope's `version` of a 409.
fn conflict_version(e: &ApiError) -> i64 {
    assert_eq!(code(e), "VERSION_CONFLICT", "{e:?}");
    e.envelope()["version"]
        .as_i64()
        .expect("409 names the version")
}

fn hex_of(text: &str) -> String {
    scoremate::domain::hex(&Sha256::digest(text.as_bytes()))[..32].to_owned()
}

/// A score of `owner` (inserted as the library leaves it: pdf_info pending).
fn score(w: &World, owner: &str, title: &str) -> String {
    let id = format!("sco_{}", hex_of(&format!("{owner}/{title}")));
    w.db()
        .execute(
            "insert into scores (id, user_id, upload_id, object_key, filename, title, content_hash, size_bytes, pages, created_at, updated_at) \
             values (?1, ?2, 'up-' || ?1, 'u/' || ?2 || '/s/' || ?1 || '.pdf', 'f.pdf', ?3, 'h-' || ?1, 10, 2, \
                     '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
            rusqlite::params![id, owner, title],
        )
        .unwrap();
    id
}

fn create(w: &World, user: &str, v: Value) -> ApiResult<Value> {
    block_on(uc::create(&w.cx(), user, body(v))).map(|t| parse(&t))
}

fn get(w: &World, user: &str, set: &str) -> ApiResult<Value> {
    block_on(uc::get(&w.cx(), user, set)).map(|t| parse(&t))
}

fn patch(w: &World, user: &str, set: &str, v: Value) -> ApiResult<Value> {
    block_on(uc::patch(&w.cx(), user, set, body(v))).map(|t| parse(&t))
}

fn post(w: &World, user: &str, set: &str, v: Value) -> ApiResult<Posted> {
    block_on(uc::post_items(&w.cx(), user, set, body(v)))
}

fn add(w: &World, user: &str, set: &str, score: &str) -> ApiResult<Value> {
    match post(w, user, set, json!({ "score_id": score }))? {
        Posted::Added(t) => Ok(parse(&t)),
        Posted::Reordered(_) => panic!("an add answered as a reorder"),
    }
}

fn reorder(w: &World, user: &str, set: &str, order: &[&str], version: i64) -> ApiResult<Value> {
    match post(w, user, set, json!({ "order": order, "version": version }))? {
        Posted::Reordered(t) => Ok(parse(&t)),
        Posted::Added(_) => panic!("a reorder answered as an add"),
    }
}

fn patch_item(w: &World, user: &str, set: &str, item: &str, v: Value) -> ApiResult<Value> {
    block_on(uc::patch_item(&w.cx(), user, set, item, body(v))).map(|t| parse(&t))
}

fn delete_item(w: &World, user: &str, set: &str, item: &str) -> ApiResult<()> {
    block_on(uc::delete_item(&w.cx(), user, set, item, &[]))
}

fn add_member(w: &World, owner: &str, set: &str, email: &str, role: &str) -> ApiResult<Value> {
    block_on(uc::add_member(
        &w.cx(),
        owner,
        set,
        body(json!({ "email": email, "role": role })),
    ))
}

fn comment(w: &World, user: &str, set: &str, item: &str, text: &str) -> ApiResult<Value> {
    let author = Author {
        id: user,
        display_name: "U",
    };
    block_on(uc::add_comment(
        &w.cx(),
        &author,
        set,
        item,
        body(json!({ "body": text })),
    ))
}

fn comments(w: &World, user: &str, set: &str, item: &str) -> ApiResult<Value> {
    block_on(uc::list_comments(&w.cx(), user, set, item)).map(|t| parse(&t))
}

fn version(w: &World, set: &str) -> i64 {
    w.db()
        .query_row("select version from setlists where id = ?1", [set], |r| {
            r.get(0)
        })
        .unwrap()
}

/// `(item id, position)` in order, straight from the rows.
fn positions(w: &World, set: &str) -> Vec<(String, i64)> {
    let mut q = w
        .db()
        .prepare(
            "select id, position from setlist_items where setlist_id = ?1 order by position, id",
        )
        .unwrap();
    q.query_map([set], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Positions must be 1..=n, each once.
fn assert_dense(w: &World, set: &str) {
    let got: Vec<i64> = positions(w, set).into_iter().map(|(_, p)| p).collect();
    let want: Vec<i64> = (1..=i64::try_from(got.len()).unwrap()).collect();
    assert_eq!(got, want, "positions of {set}");
}

fn item_ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every row of every setlist table: "nothing changed" is this being equal before and after.
fn dump(w: &World) -> String {
    let mut out = String::new();
    for (table, order) in [
        ("setlists", "id"),
        ("setlist_items", "id"),
        ("setlist_members", "setlist_id, user_id"),
        ("setlist_links", "id"),
        ("item_comments", "id"),
        ("setlist_events", "seq"),
        ("scores", "id"),
    ] {
        let mut q = w
            .db()
            .prepare(&format!("select * from {table} order by {order}"))
            .unwrap();
        let n = q.column_count();
        let rows = q
            .query_map([], |r| {
                (0..n)
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        for row in rows {
            out.push_str(&format!("{table}: {:?}\n", row.unwrap()));
        }
    }
    out
}

/// A gate that records what it was asked and admits (or, `closed`, refuses) everything.
#[derive(Default)]
struct Gate {
    asked: RefCell<Vec<Option<String>>>,
    closed: bool,
}

impl LinkGate for Gate {
    async fn admit(&self, link: Option<&str>) -> ApiResult<()> {
        self.asked.borrow_mut().push(link.map(str::to_owned));
        if self.closed {
            return Err(ApiError::RateLimited {
                retry_after_seconds: 7,
            });
        }
        Ok(())
    }
}

fn shared(w: &World, token: &str) -> ApiResult<Value> {
    block_on(uc::shared(&w.cx(), &Gate::default(), token)).map(|t| parse(&t))
}

fn shared_download(w: &World, token: &str, item: &str) -> ApiResult<Download> {
    block_on(uc::shared_download_url(
        &w.cx(),
        &Gate::default(),
        token,
        item,
        &[],
    ))
}

/// A setlist of three of the owner's scores, an editor, a viewer, a live public link, and an
/// outsider (registered, no relation).
struct Band {
    w: World,
    owner: String,
    editor: String,
    viewer: String,
    outsider: String,
    set: String,
    scores: Vec<String>,
    items: Vec<String>,
    link: String,
    token: String,
}

fn band() -> Band {
    let w = World::new();
    let owner = w.user("owner@example.com", 1 << 30);
    let editor = w.user("editor@example.com", 1 << 30);
    let viewer = w.user("viewer@example.com", 1 << 30);
    let outsider = w.user("outsider@example.com", 1 << 30);
    let set = create(
        &w,
        &owner,
        json!({"name": "Friday gig", "venue": "Blue Note"}),
    )
    .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scores: Vec<String> = ["Autumn Leaves", "Blue Bossa", "Cantaloupe Island"]
        .iter()
        .map(|t| score(&w, &owner, t))
        .collect();
    let mut items = Vec::new();
    for s in &scores {
        items = item_ids(&add(&w, &owner, &set, s).unwrap());
    }
    add_member(&w, &owner, &set, "editor@example.com", "editor").unwrap();
    add_member(&w, &owner, &set, "viewer@example.com", "viewer").unwrap();
    let link = block_on(uc::create_link(&w.cx(), &owner, &set, Map::new())).unwrap();
    Band {
        link: link["id"].as_str().unwrap().to_owned(),
        token: link["token"].as_str().unwrap().to_owned(),
        w,
        owner,
        editor,
        viewer,
        outsider,
        set,
        scores,
        items,
    }
}

impl Band {
    /// The account that asks as `party` (a link holder's account is an outsider's).
    fn user(&self, party: Party) -> &str {
        match party {
            Party::Owner => &self.owner,
            Party::Editor => &self.editor,
            Party::Viewer => &self.viewer,
            Party::Link | Party::Outsider => &self.outsider,
        }
    }

    /// A comment by `author` on the first item, written straight into the rows.
    fn comment_by(&self, author: &str, id: &str) -> String {
        let id = format!("cmt_{}", hex_of(id));
        self.w
            .db()
            .execute(
                "insert into item_comments (id, setlist_id, item_id, author_id, body, created_at) \
                 values (?1, ?2, ?3, ?4, 'hi', '2026-01-01T00:00:00.000Z')",
                rusqlite::params![id, self.set, self.items[0], author],
            )
            .unwrap();
        id
    }
}

// ---- a Db that lets another write land between a use case's read and its batch ----

struct RacingDb<'w> {
    inner: &'w SqliteDb,
    /// How many of the next claims another write precedes.
    races: Cell<usize>,
    race: Box<dyn Fn() + 'w>,
    /// Write batches (opened by a claim) the use case sent.
    claims: Cell<usize>,
}

impl Db for RacingDb<'_> {
    async fn first<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Option<T>> {
        self.inner.first(stmt).await
    }

    async fn all<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Vec<T>> {
        self.inner.all(stmt).await
    }

    async fn run(&self, stmt: Stmt) -> ApiResult<usize> {
        self.inner.run(stmt).await
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<Outcome>> {
        if stmts
            .first()
            .is_some_and(|s| s.sql.contains("write_token = ?3"))
        {
            self.claims.set(self.claims.get() + 1);
            if self.races.get() > 0 {
                self.races.set(self.races.get() - 1);
                (self.race)();
            }
        }
        self.inner.batch(stmts).await
    }
}

struct Racing<'w> {
    w: &'w World,
    db: RacingDb<'w>,
}

impl<'w> Ports for Racing<'w> {
    type Db = RacingDb<'w>;
    type Blobs = MemBlobs;
    type Tasks = RecordingTasks;

    fn db(&self) -> &RacingDb<'w> {
        &self.db
    }

    fn blobs(&self) -> &MemBlobs {
        &self.w.ports.blobs
    }

    fn tasks(&self) -> &RecordingTasks {
        &self.w.ports.tasks
    }

    fn random(&self, out: &mut [u8]) -> ApiResult<()> {
        self.w.ports.random(out)
    }
}

/// Ports on `w` where `race` runs just before each of the next `races` write batches.
fn racing<'w>(w: &'w World, races: usize, race: impl Fn() + 'w) -> Racing<'w> {
    Racing {
        w,
        db: RacingDb {
            inner: &w.ports.db,
            races: Cell::new(races),
            race: Box::new(race),
            claims: Cell::new(0),
        },
    }
}

impl Racing<'_> {
    fn cx(&self) -> Cx<'_, Self> {
        Cx {
            ports: self,
            config: &self.w.config,
            now: self.w.now.get(),
            base_url: "https://scoremate.test",
        }
    }
}

/// Another client's write: a claim of its own (what any committed write does to the row).
fn bump(w: &World, set: &str) {
    w.db()
        .execute(
            "update setlists set version = version + 1, write_token = 'someone-else' where id = ?1",
            [set],
        )
        .unwrap();
}

// ---- happy paths ----

#[test]
fn a_setlist_is_created_read_patched_and_deleted_and_the_rows_follow() {
    let w = World::new();
    let u = w.user("ann@example.com", 1 << 30);
    let s = create(
        &w,
        &u,
        json!({"name": " Friday gig ", "venue": "Blue Note", "event_date": "2026-12-31", "description": "two sets"}),
    )
    .unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("set_"));
    assert_eq!(s["name"], "Friday gig");
    assert_eq!(s["venue"], "Blue Note");
    assert_eq!(s["event_date"], "2026-12-31");
    assert_eq!(s["version"], 1);
    assert_eq!(s["role"], "owner");
    assert_eq!(s["item_count"], 0);
    assert_eq!(s["items"], json!([]));
    assert_eq!(s["members"], json!([]));
    assert_eq!(s["owner"]["id"], u.as_str());
    assert_eq!(s["created_at"], w.cx().now_text());
    assert_eq!(
        w.count(&format!(
            "select count(*) from setlists where id = '{id}' and owner_id = '{u}' and name = 'Friday gig'"
        )),
        1
    );
    assert_eq!(get(&w, &u, &id).unwrap(), s);

    w.advance(60);
    let p = patch(&w, &u, &id, json!({"venue": null, "name": "Saturday gig"})).unwrap();
    assert_eq!(p["name"], "Saturday gig");
    assert_eq!(p["venue"], Value::Null);
    assert_eq!(p["description"], "two sets", "absent keeps");
    assert_eq!(p["version"], 2);
    assert_eq!(p["updated_at"], w.cx().now_text());
    assert_eq!(version(&w, &id), 2);
    let p = patch(&w, &u, &id, json!({"notes": "bring a capo", "version": 2})).unwrap();
    assert_eq!(
        (p["notes"].as_str(), p["version"].as_i64()),
        (Some("bring a capo"), Some(3))
    );

    block_on(uc::delete(&w.cx(), &u, &id)).unwrap();
    assert_eq!(w.count("select count(*) from setlists"), 0);
    assert_eq!(get(&w, &u, &id).unwrap_err(), ApiError::NotFound);
    assert_eq!(
        block_on(uc::delete(&w.cx(), &u, &id)).unwrap_err(),
        ApiError::NotFound
    );
}

#[test]
fn items_are_added_moved_annotated_reordered_and_removed_and_stay_dense() {
    let w = World::new();
    let u = w.user("ann@example.com", 1 << 30);
    let set = create(&w, &u, json!({"name": "Gig"})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let [a, b, c, d] = ["A", "B", "C", "D"].map(|t| score(&w, &u, t));
    let s = add(&w, &u, &set, &a).unwrap();
    assert_eq!(s["version"], 2);
    let first = &s["items"][0];
    assert_eq!(first["position"], 1);
    assert_eq!(first["score_id"], a.as_str());
    assert_eq!(first["title"], "A");
    assert_eq!(first["added_by"], u.as_str());
    assert_eq!(first["comment_count"], 0);
    assert_eq!(first["processing"]["pdf_info"]["state"], "pending");
    // At the front, then far past the end (clamped), then with notes in the middle.
    let s = match post(&w, &u, &set, json!({"score_id": b, "position": 1})).unwrap() {
        Posted::Added(t) => parse(&t),
        Posted::Reordered(_) => panic!(),
    };
    assert_eq!(s["version"], 3);
    post(&w, &u, &set, json!({"score_id": c, "position": 99})).unwrap();
    post(
        &w,
        &u,
        &set,
        json!({"score_id": d, "position": 2, "notes": "capo 2"}),
    )
    .unwrap();
    let s = get(&w, &u, &set).unwrap();
    let titles: Vec<&str> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["B", "D", "A", "C"]);
    assert_eq!(s["items"][1]["notes"], "capo 2");
    assert_eq!(s["item_count"], 4);
    assert_eq!(version(&w, &set), 5);
    assert_dense(&w, &set);
    let ids = item_ids(&s);

    // Move C (4th) to the front and annotate it; then clear D's notes; then past the end.
    let s = patch_item(
        &w,
        &u,
        &set,
        &ids[3],
        json!({"position": 1, "notes": "in E"}),
    )
    .unwrap();
    assert_eq!(
        item_ids(&s),
        [&ids[3], &ids[0], &ids[1], &ids[2]].map(String::from)
    );
    assert_eq!(s["items"][0]["notes"], "in E");
    assert_eq!(s["version"], 6);
    let s = patch_item(&w, &u, &set, &ids[1], json!({"notes": null, "version": 6})).unwrap();
    assert_eq!(s["items"][2]["notes"], Value::Null);
    assert_eq!(
        s["items"][2]["id"],
        ids[1].as_str(),
        "notes alone do not move"
    );
    let s = patch_item(&w, &u, &set, &ids[3], json!({"position": 40})).unwrap();
    assert_eq!(s["items"][3]["id"], ids[3].as_str());
    assert_eq!(s["version"], 8);
    assert_dense(&w, &set);

    // The whole order at once, naming the version it was read at.
    let order: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    let s = reorder(&w, &u, &set, &order, 8).unwrap();
    assert_eq!(item_ids(&s), order);
    assert_eq!(s["version"], 9);
    assert_dense(&w, &set);

    // Removing one closes the gap.
    delete_item(&w, &u, &set, order[1]).unwrap();
    assert_eq!(version(&w, &set), 10);
    let left: Vec<String> = positions(&w, &set).into_iter().map(|(i, _)| i).collect();
    assert_eq!(left, [order[0], order[2], order[3]].map(String::from));
    assert_dense(&w, &set);
    block_on(uc::delete_item(
        &w.cx(),
        &u,
        &set,
        order[0],
        &query(&[("version", "10")]),
    ))
    .unwrap();
    assert_eq!(version(&w, &set), 11);
    assert_eq!(
        delete_item(&w, &u, &set, order[0]).unwrap_err(),
        ApiError::NotFound,
        "already gone"
    );
    assert_eq!(version(&w, &set), 11, "a 404 moves no version");
}

#[test]
fn an_editor_adds_only_the_owners_scores() {
    let b = band();
    let w = &b.w;
    let own = score(w, &b.editor, "Editor's own");
    let before = dump(w);
    let err = add(w, &b.editor, &b.set, &own).unwrap_err();
    assert_eq!(fields(&err), ["score_id"]);
    assert_eq!(dump(w), before);
    let extra = score(w, &b.owner, "Owner's new");
    let s = add(w, &b.editor, &b.set, &extra).unwrap();
    assert_eq!(s["items"][3]["score_id"], extra.as_str());
    assert_eq!(s["items"][3]["added_by"], b.editor.as_str());
    assert_eq!(s["role"], "editor");
}

#[test]
fn members_are_added_by_email_changed_removed_and_may_leave() {
    let b = band();
    let w = &b.w;
    let extra = w.user("drums@example.com", 1 << 30);
    let m = add_member(w, &b.owner, &b.set, " Drums@Example.com ", "viewer").unwrap();
    assert_eq!(m["user_id"], extra.as_str());
    assert_eq!(m["role"], "viewer");
    assert_eq!(m["email"], "drums@example.com");
    assert_eq!(m["display_name"], "U");
    assert_eq!(m["added_at"], w.cx().now_text());
    // Again with another role: the same row, changed.
    let m = add_member(w, &b.owner, &b.set, "drums@example.com", "editor").unwrap();
    assert_eq!(m["role"], "editor");
    assert_eq!(
        w.count(&format!(
            "select count(*) from setlist_members where user_id = '{extra}' and role = 'editor'"
        )),
        1
    );
    assert_eq!(w.count("select count(*) from setlist_members"), 3);
    // The owner sees emails; a member sees names and roles only.
    let seen = get(w, &b.owner, &b.set).unwrap();
    assert_eq!(seen["members"].as_array().unwrap().len(), 3);
    assert!(seen["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["email"].is_string()));
    let seen = get(w, &b.viewer, &b.set).unwrap();
    assert_eq!(seen["role"], "viewer");
    assert!(seen["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m.get("email").is_none() && m["role"].is_string()));
    // The owner removes one; a member leaves; neither twice.
    block_on(uc::remove_member(&w.cx(), &b.owner, &b.set, &extra)).unwrap();
    assert_eq!(get(w, &extra, &b.set).unwrap_err(), ApiError::NotFound);
    assert_eq!(
        block_on(uc::remove_member(&w.cx(), &b.owner, &b.set, &extra)).unwrap_err(),
        ApiError::NotFound
    );
    block_on(uc::remove_member(&w.cx(), &b.viewer, &b.set, &b.viewer)).unwrap();
    assert_eq!(get(w, &b.viewer, &b.set).unwrap_err(), ApiError::NotFound);
    let left: Vec<String> = w
        .db()
        .prepare("select user_id from setlist_members")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, [b.editor.as_str()]);
    // Members change no version: the items did not.
    assert_eq!(version(w, &b.set), 4);
}

#[test]
fn links_are_created_listed_and_revoked_and_show_the_setlist_without_people() {
    let b = band();
    let w = &b.w;
    let until = w.now.get().plus_seconds(3600).rfc3339();
    w.advance(1);
    let l = block_on(uc::create_link(
        &w.cx(),
        &b.owner,
        &b.set,
        body(json!({ "expires_at": until })),
    ))
    .unwrap();
    let token = l["token"].as_str().unwrap();
    assert!(l["id"].as_str().unwrap().starts_with("lnk_"));
    assert_eq!(
        l["url"],
        format!("https://scoremate.test/v1/shared/{token}")
    );
    assert_eq!(l["expires_at"], until.as_str());
    assert_eq!(l["revoked_at"], Value::Null);
    assert_eq!(l["active"], true);
    assert_eq!(
        w.count(&format!(
            "select count(*) from setlist_links where setlist_id = '{}'",
            b.set
        )),
        2
    );
    // Newest first, the token made again from the id.
    let links = block_on(uc::list_links(&w.cx(), &b.owner, &b.set)).unwrap();
    let links = links.as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0], l);
    assert_eq!(links[1]["token"], b.token.as_str());

    let gate = Gate::default();
    let s = parse(&block_on(uc::shared(&w.cx(), &gate, token)).unwrap());
    assert_eq!(
        *gate.asked.borrow(),
        [Some(l["id"].as_str().unwrap().to_owned())]
    );
    assert_eq!(s["role"], "link");
    assert_eq!(s["name"], "Friday gig");
    assert_eq!(item_ids(&s), b.items);
    assert!(s.get("members").is_none(), "no people through a link");

    // Revoked: dead at once; a second revocation keeps the first time.
    let revoked_at = w.cx().now_text();
    block_on(uc::revoke_link(&w.cx(), &b.owner, &b.set, &b.link)).unwrap();
    w.advance(5);
    block_on(uc::revoke_link(&w.cx(), &b.owner, &b.set, &b.link)).unwrap();
    assert_eq!(shared(w, &b.token).unwrap_err(), ApiError::NotFound);
    assert_eq!(
        shared_download(w, &b.token, &b.items[0]).unwrap_err(),
        ApiError::NotFound
    );
    let links = block_on(uc::list_links(&w.cx(), &b.owner, &b.set)).unwrap();
    assert_eq!(links[1]["revoked_at"], revoked_at.as_str());
    assert_eq!(links[1]["active"], false);
    assert_eq!(links[0]["active"], true);
    assert!(shared(w, token).is_ok(), "the other link lives on");
    let unknown = format!("lnk_{}", hex_of("nope"));
    assert_eq!(
        block_on(uc::revoke_link(&w.cx(), &b.owner, &b.set, &unknown)).unwrap_err(),
        ApiError::NotFound
    );
}

#[test]
fn expired_forged_and_rate_limited_link_requests_are_refused() {
    let b = band();
    let w = &b.w;
    let until = w.now.get().plus_seconds(60).rfc3339();
    let l = block_on(uc::create_link(
        &w.cx(),
        &b.owner,
        &b.set,
        body(json!({ "expires_at": until })),
    ))
    .unwrap();
    let token = l["token"].as_str().unwrap();
    assert!(shared(w, token).is_ok());
    assert!(shared_download(w, token, &b.items[0]).is_ok());
    w.advance(60);
    assert_eq!(shared(w, token).unwrap_err(), ApiError::NotFound, "expired");
    assert_eq!(
        shared_download(w, token, &b.items[0]).unwrap_err(),
        ApiError::NotFound
    );
    let links = block_on(uc::list_links(&w.cx(), &b.owner, &b.set)).unwrap();
    assert_eq!(links[0]["active"], false);
    assert!(shared(w, &b.token).is_ok(), "the link without expiry lives");

    // A forged token is counted per address only, then 404.
    let mut forged = b.token.clone();
    forged.pop();
    let gate = Gate::default();
    assert_eq!(
        block_on(uc::shared(&w.cx(), &gate, &forged)).unwrap_err(),
        ApiError::NotFound
    );
    assert_eq!(*gate.asked.borrow(), [None]);
    // Over the limit: 429 before any database work (a failing database is never reached).
    let closed = Gate {
        closed: true,
        ..Gate::default()
    };
    w.ports.db.fail_next("setlist", 1);
    let err = block_on(uc::shared(&w.cx(), &closed, &b.token)).unwrap_err();
    assert_eq!(code(&err), "RATE_LIMITED");
    let err = block_on(uc::shared_download_url(
        &w.cx(),
        &closed,
        &b.token,
        &b.items[0],
        &[],
    ))
    .unwrap_err();
    assert_eq!(code(&err), "RATE_LIMITED");
    assert_eq!(closed.asked.borrow().len(), 2);
    assert!(
        shared(w, &b.token).is_err(),
        "the planned failure is still pending"
    );
}

#[test]
fn members_and_link_holders_reach_the_owners_files_through_the_setlist() {
    let b = band();
    let w = &b.w;
    for who in [&b.owner, &b.editor, &b.viewer] {
        let d = block_on(uc::item_download_url(
            &w.cx(),
            who,
            &b.set,
            &b.items[0],
            &[],
        ))
        .unwrap();
        let Download::Ready { url, expires_at } = d else {
            panic!("not ready")
        };
        assert!(url.starts_with("https://scoremate.test/v1/blobs/"), "{url}");
        assert!(expires_at > w.cx().now_text());
    }
    let Download::Ready { url, .. } = shared_download(w, &b.token, &b.items[1]).unwrap() else {
        panic!("not ready")
    };
    assert!(url.starts_with("https://scoremate.test/v1/blobs/"));
    assert_eq!(
        block_on(uc::item_download_url(
            &w.cx(),
            &b.outsider,
            &b.set,
            &b.items[0],
            &[]
        ))
        .unwrap_err(),
        ApiError::NotFound
    );
    // A page before the page count is known is pending; a bad page is 422.
    let page = |q: &[(&str, &str)]| {
        block_on(uc::item_download_url(
            &w.cx(),
            &b.viewer,
            &b.set,
            &b.items[0],
            &query(q),
        ))
    };
    assert_eq!(page(&[("page", "1")]).unwrap(), Download::Pending);
    assert_eq!(fields(&page(&[("page", "0")]).unwrap_err()), ["page"]);
    assert_eq!(fields(&page(&[("size", "1")]).unwrap_err()), ["size"]);
    // The score itself stays the owner's: a member asking the library gets 404.
    assert_eq!(
        block_on(scoremate::service::library::get_score(
            &w.cx(),
            &b.viewer,
            &b.scores[0]
        ))
        .unwrap_err(),
        ApiError::NotFound
    );
}

#[test]
fn comments_are_listed_newest_first_and_deleted_by_their_author_or_the_owner() {
    let b = band();
    let w = &b.w;
    let item = &b.items[1];
    let first = comment(w, &b.viewer, &b.set, item, "  take it slower  ").unwrap();
    assert_eq!(first["body"], "take it slower");
    assert_eq!(first["author"]["id"], b.viewer.as_str());
    assert!(first["id"].as_str().unwrap().starts_with("cmt_"));
    w.advance(1);
    let second = comment(w, &b.editor, &b.set, item, "agreed").unwrap();
    let listed = comments(w, &b.owner, &b.set, item).unwrap();
    let ids: Vec<&str> = listed["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            second["id"].as_str().unwrap(),
            first["id"].as_str().unwrap()
        ]
    );
    assert_eq!(listed["comments"][0]["author"]["display_name"], "U");
    assert_eq!(
        get(w, &b.owner, &b.set).unwrap()["items"][1]["comment_count"],
        2
    );
    assert_eq!(
        comments(w, &b.owner, &b.set, &b.items[0]).unwrap(),
        json!({"comments": []}),
        "an item without comments"
    );
    // A member may not delete another's comment (403, it stays); the owner may.
    let del = |who: &str, c: &Value| {
        block_on(uc::delete_comment(
            &w.cx(),
            who,
            &b.set,
            item,
            c["id"].as_str().unwrap(),
        ))
    };
    assert_eq!(code(&del(&b.editor, &first).unwrap_err()), "FORBIDDEN");
    assert_eq!(w.count("select count(*) from item_comments"), 2);
    del(&b.editor, &second).unwrap();
    del(&b.owner, &first).unwrap();
    assert_eq!(w.count("select count(*) from item_comments"), 0);
    assert_eq!(del(&b.owner, &first).unwrap_err(), ApiError::NotFound);
    // Comments change no version.
    assert_eq!(version(w, &b.set), 4);
}

// ---- the role policy ----

/// Every use case of a member route, plus the two link routes, as the action the policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Download,
    ListComments,
    AddComment,
    DeleteOwnComment,
    DeleteOthersComment,
    AddItem,
    Reorder,
    MoveItem,
    RemoveItem,
    Patch,
    AddMember,
    RemoveMember,
    Leave,
    CreateLink,
    ListLinks,
    RevokeLink,
    Delete,
}

const OPS: [Op; 18] = [
    Op::Get,
    Op::Download,
    Op::ListComments,
    Op::AddComment,
    Op::DeleteOwnComment,
    Op::DeleteOthersComment,
    Op::AddItem,
    Op::Reorder,
    Op::MoveItem,
    Op::RemoveItem,
    Op::Patch,
    Op::AddMember,
    Op::RemoveMember,
    Op::Leave,
    Op::CreateLink,
    Op::ListLinks,
    Op::RevokeLink,
    Op::Delete,
];

impl Op {
    fn action(self) -> Action {
        match self {
            Op::Get => Action::Read,
            Op::Download => Action::DownloadItem,
            Op::ListComments | Op::AddComment => Action::Comment,
            Op::DeleteOwnComment => Action::DeleteComment { own: true },
            Op::DeleteOthersComment => Action::DeleteComment { own: false },
            Op::AddItem | Op::Reorder | Op::MoveItem | Op::RemoveItem => Action::EditItems,
            Op::Patch => Action::EditDetails,
            Op::AddMember | Op::RemoveMember => Action::ManageMembers,
            Op::Leave => Action::Leave,
            Op::CreateLink | Op::ListLinks | Op::RevokeLink => Action::ManageLinks,
            Op::Delete => Action::Delete,
        }
    }

    /// What SPEC §5 says each party gets, as a status: owner, editor, viewer, link holder,
    /// outsider. (An editor adds the owner's scores, reorders and annotates; a viewer reads;
    /// links are read-only and show no people; an outsider learns nothing: 404, never 403.)
    fn spec(self) -> [u16; 5] {
        const OWNER_ONLY: [u16; 5] = [200, 403, 403, 404, 404];
        match self {
            Op::Get | Op::Download => [200, 200, 200, 200, 404],
            Op::ListComments | Op::AddComment | Op::DeleteOwnComment => [200, 200, 200, 404, 404],
            Op::DeleteOthersComment => OWNER_ONLY,
            Op::AddItem | Op::Reorder | Op::MoveItem | Op::RemoveItem => [200, 200, 403, 404, 404],
            // The owner is no member to remove.
            Op::Leave => [404, 200, 200, 404, 404],
            Op::Patch
            | Op::AddMember
            | Op::RemoveMember
            | Op::CreateLink
            | Op::ListLinks
            | Op::RevokeLink
            | Op::Delete => OWNER_ONLY,
        }
    }

    fn writes(self) -> bool {
        !matches!(
            self,
            Op::Get | Op::Download | Op::ListComments | Op::ListLinks
        )
    }
}

/// Runs `op` as `party`. A link holder reads and downloads through the link routes; for
/// everything else it has only its account, which is an outsider's.
fn run(b: &Band, party: Party, op: Op) -> ApiResult<Value> {
    let w = &b.w;
    let cx = w.cx();
    let user = b.user(party);
    let (set, item) = (b.set.as_str(), b.items[0].as_str());
    let done = |r: ApiResult<()>| r.map(|()| Value::Null);
    let download = |d: Download| json!(format!("{d:?}"));
    match (party, op) {
        (Party::Link, Op::Get) => shared(w, &b.token),
        (Party::Link, Op::Download) => shared_download(w, &b.token, item).map(download),
        (_, Op::Get) => get(w, user, set),
        (_, Op::Download) => {
            block_on(uc::item_download_url(&cx, user, set, item, &[])).map(download)
        }
        (_, Op::ListComments) => comments(w, user, set, item),
        (_, Op::AddComment) => comment(w, user, set, item, "nice"),
        (_, Op::DeleteOwnComment) => {
            let c = b.comment_by(user, "own");
            done(block_on(uc::delete_comment(&cx, user, set, item, &c)))
        }
        (_, Op::DeleteOthersComment) => {
            let other = if party == Party::Owner {
                &b.editor
            } else {
                &b.owner
            };
            let c = b.comment_by(other, "other");
            done(block_on(uc::delete_comment(&cx, user, set, item, &c)))
        }
        (_, Op::AddItem) => add(w, user, set, &b.scores[2]),
        (_, Op::Reorder) => {
            let order: Vec<&str> = b.items.iter().rev().map(String::as_str).collect();
            reorder(w, user, set, &order, version(w, set))
        }
        (_, Op::MoveItem) => patch_item(w, user, set, item, json!({"position": 3})),
        (_, Op::RemoveItem) => done(delete_item(w, user, set, item)),
        (_, Op::Patch) => patch(w, user, set, json!({"venue": "Village Vanguard"})),
        (_, Op::AddMember) => {
            w.user("new@example.com", 1);
            add_member(w, user, set, "new@example.com", "viewer")
        }
        (_, Op::RemoveMember) => {
            let other = if party == Party::Viewer {
                &b.editor
            } else {
                &b.viewer
            };
            done(block_on(uc::remove_member(&cx, user, set, other)))
        }
        (_, Op::Leave) => done(block_on(uc::remove_member(&cx, user, set, user))),
        (_, Op::CreateLink) => block_on(uc::create_link(&cx, user, set, Map::new())),
        (_, Op::ListLinks) => block_on(uc::list_links(&cx, user, set)),
        (_, Op::RevokeLink) => done(block_on(uc::revoke_link(&cx, user, set, &b.link))),
        (_, Op::Delete) => done(block_on(uc::delete(&cx, user, set))),
    }
}

#[test]
fn every_use_case_answers_every_party_as_the_policy_decides() {
    let parties = [
        Party::Owner,
        Party::Editor,
        Party::Viewer,
        Party::Link,
        Party::Outsider,
    ];
    let mut checked = 0;
    for (column, party) in parties.into_iter().enumerate() {
        for op in OPS {
            let b = band();
            let before = dump(&b.w);
            let got = run(&b, party, op);
            let want = match (party, op) {
                // The policy lets the owner "leave", but the owner is no member to remove.
                (Party::Owner, Op::Leave) => Err(ApiError::NotFound),
                _ => decide(party, op.action()).check(),
            };
            assert_eq!(
                got.as_ref().map(drop).map_err(Clone::clone),
                want,
                "{party:?} × {op:?}"
            );
            let status = got.as_ref().map_or_else(ApiError::status, |_| 200);
            assert_eq!(
                status,
                op.spec()[column],
                "{party:?} × {op:?} against SPEC §5"
            );
            let after = dump(&b.w);
            // The comment a delete was asked for was written into the rows first.
            let seeded = matches!(op, Op::DeleteOwnComment | Op::DeleteOthersComment);
            match (&got, seeded) {
                (Err(_), false) => assert_eq!(after, before, "{party:?} × {op:?} changed rows"),
                (Err(_), true) => assert_eq!(
                    b.w.count("select count(*) from item_comments"),
                    1,
                    "{party:?} × {op:?} deleted a comment"
                ),
                (Ok(_), true) => assert_eq!(
                    b.w.count("select count(*) from item_comments"),
                    0,
                    "{party:?} × {op:?}"
                ),
                (Ok(_), false) if op.writes() => {
                    assert_ne!(after, before, "{party:?} × {op:?} changed nothing")
                }
                (Ok(_), false) => assert_eq!(after, before, "{party:?} × {op:?} is a read"),
            }
            // What a reader sees of the people is the policy's too.
            if let (Op::Get, Ok(view)) = (op, &got) {
                let members = view.get("members").and_then(Value::as_array);
                assert_eq!(
                    members.is_some(),
                    decide(party, Action::SeeMembers).allowed(),
                    "{party:?} sees members"
                );
                if let Some(members) = members {
                    assert_eq!(members.len(), 2);
                    for m in members {
                        assert_eq!(
                            m.get("email").is_some(),
                            decide(party, Action::SeeMemberEmails).allowed(),
                            "{party:?} sees emails"
                        );
                    }
                }
                let role = if party == Party::Link {
                    "link"
                } else {
                    party.as_str()
                };
                assert_eq!(view["role"], role);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 5 * OPS.len());
}

// ---- other setlists' ids, malformed ids ----

#[test]
fn ids_of_another_setlist_are_not_found_and_change_nothing() {
    let b = band();
    let w = &b.w;
    // Another owner's setlist with an item, a comment, a member and a link.
    let stranger = w.user("stranger@example.com", 1 << 30);
    let theirs = create(w, &stranger, json!({"name": "Theirs"})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let their_score = score(w, &stranger, "Theirs");
    let their_item = item_ids(&add(w, &stranger, &theirs, &their_score).unwrap())[0].clone();
    let their_comment = comment(w, &stranger, &theirs, &their_item, "mine").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.user("bass@example.com", 1 << 30);
    let their_member = add_member(w, &stranger, &theirs, "bass@example.com", "viewer").unwrap()
        ["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let their_link = block_on(uc::create_link(&w.cx(), &stranger, &theirs, Map::new())).unwrap();
    let their_link = their_link["id"].as_str().unwrap();
    let before = dump(w);
    let cx = w.cx();
    let (o, set, mine) = (b.owner.as_str(), b.set.as_str(), b.items[0].as_str());
    let none = |r: ApiResult<()>| r.unwrap_err();
    let errors = [
        patch_item(w, o, set, &their_item, json!({"position": 1})).unwrap_err(),
        patch_item(w, o, set, &their_item, json!({"notes": "x", "version": 4})).unwrap_err(),
        delete_item(w, o, set, &their_item).unwrap_err(),
        block_on(uc::item_download_url(&cx, o, set, &their_item, &[])).unwrap_err(),
        comments(w, o, set, &their_item).unwrap_err(),
        comment(w, o, set, &their_item, "x").unwrap_err(),
        none(block_on(uc::delete_comment(
            &cx,
            o,
            set,
            &their_item,
            &their_comment,
        ))),
        none(block_on(uc::delete_comment(
            &cx,
            o,
            set,
            mine,
            &their_comment,
        ))),
        none(block_on(uc::revoke_link(&cx, o, set, their_link))),
        none(block_on(uc::remove_member(&cx, o, set, &their_member))),
        shared_download(w, &b.token, &their_item).unwrap_err(),
    ];
    for (i, e) in errors.iter().enumerate() {
        assert_eq!(*e, ApiError::NotFound, "case {i}");
    }
    // A reorder naming another setlist's item is bad input, not a move across setlists.
    let mut order: Vec<&str> = b.items.iter().map(String::as_str).collect();
    order[0] = &their_item;
    assert_eq!(
        fields(&reorder(w, o, set, &order, 4).unwrap_err()),
        ["order"]
    );
    // Their score is not the owner's.
    assert_eq!(
        fields(&add(w, o, set, &their_score).unwrap_err()),
        ["score_id"]
    );
    // Their setlist's own ids, asked by our owner: not found.
    assert_eq!(get(w, o, &theirs).unwrap_err(), ApiError::NotFound);
    assert_eq!(
        add(w, o, &theirs, &b.scores[0]).unwrap_err(),
        ApiError::NotFound,
        "not 422: an outsider learns nothing"
    );
    assert_eq!(dump(w), before);
    assert_eq!(version(w, set), 4);
}

#[test]
fn malformed_ids_are_not_found_before_any_work() {
    let b = band();
    let w = &b.w;
    let cx = w.cx();
    let o = b.owner.as_str();
    for bad in [
        "",
        "set_",
        "set_XYZ",
        "sco_0123456789abcdef0123456789abcdef",
        "../x",
    ] {
        assert_eq!(get(w, o, bad).unwrap_err(), ApiError::NotFound, "{bad}");
        assert_eq!(
            patch(w, o, bad, json!({"name": "x"})).unwrap_err(),
            ApiError::NotFound
        );
        assert_eq!(
            block_on(uc::delete(&cx, o, bad)).unwrap_err(),
            ApiError::NotFound
        );
        assert_eq!(
            add(w, o, bad, &b.scores[0]).unwrap_err(),
            ApiError::NotFound
        );
        assert_eq!(
            block_on(uc::item_download_url(&cx, o, bad, &b.items[0], &[])).unwrap_err(),
            ApiError::NotFound
        );
        assert_eq!(
            block_on(uc::list_links(&cx, o, bad)).unwrap_err(),
            ApiError::NotFound
        );
        assert_eq!(shared(w, bad).unwrap_err(), ApiError::NotFound);
    }
    assert_eq!(version(w, &b.set), 4);
}

// ---- bad input ----

#[test]
fn bad_input_is_422_naming_each_field_and_changes_nothing() {
    let b = band();
    let w = &b.w;
    let cx = w.cx();
    let (o, set, item) = (b.owner.as_str(), b.set.as_str(), b.items[0].as_str());
    let before = dump(w);
    let long = "x".repeat(2_001);
    let past = w.now.get().plus_seconds(-1).rfc3339();
    let far = w.now.get().plus_seconds(367 * 86_400).rfc3339();
    let posted = |v: Value| post(w, o, set, v).map(drop);
    let cases: Vec<(ApiResult<()>, &[&str])> = vec![
        (create(w, o, json!({})).map(drop), &["name"]),
        (create(w, o, json!({"name": ""})).map(drop), &["name"]),
        (
            create(w, o, json!({"name": "x", "version": 3, "colour": 1})).map(drop),
            &["colour", "version"],
        ),
        (
            create(w, o, json!({"name": "x", "event_date": "31/12/2026"})).map(drop),
            &["event_date"],
        ),
        (
            create(w, o, json!({"name": "x", "description": long})).map(drop),
            &["description"],
        ),
        (
            patch(w, o, set, json!({"version": 0})).map(drop),
            &["version"],
        ),
        (patch(w, o, set, json!({"name": null})).map(drop), &["name"]),
        (
            posted(json!({"order": b.items, "score_id": b.scores[0], "version": 4})),
            &["order"],
        ),
        (posted(json!({"order": b.items})), &["version"]),
        (posted(json!({"order": "all", "version": 4})), &["order"]),
        (
            posted(json!({"order": [item, item, item], "version": 4})),
            &["order"],
        ),
        (posted(json!({"order": [item], "version": 4})), &["order"]),
        (posted(json!({})), &["score_id"]),
        (
            posted(json!({"score_id": b.scores[0], "position": 0})),
            &["position"],
        ),
        (
            posted(json!({"score_id": b.scores[0], "notes": long})),
            &["notes"],
        ),
        (
            posted(json!({"score_id": format!("sco_{}", hex_of("nobody"))})),
            &["score_id"],
        ),
        (
            patch_item(w, o, set, item, json!({"position": -1})).map(drop),
            &["position"],
        ),
        (
            patch_item(w, o, set, item, json!({"notes": long})).map(drop),
            &["notes"],
        ),
        (
            patch_item(w, o, set, item, json!({"after": 1})).map(drop),
            &["after"],
        ),
        (
            block_on(uc::delete_item(
                &cx,
                o,
                set,
                item,
                &query(&[("version", "abc")]),
            )),
            &["version"],
        ),
        (
            block_on(uc::delete_item(
                &cx,
                o,
                set,
                item,
                &query(&[("version", "0")]),
            )),
            &["version"],
        ),
        (
            block_on(uc::delete_item(
                &cx,
                o,
                set,
                item,
                &query(&[("force", "1")]),
            )),
            &["force"],
        ),
        (
            add_member(w, o, set, "not-an-email", "owner").map(drop),
            &["email", "role"],
        ),
        (
            add_member(w, o, set, "nobody@example.com", "viewer").map(drop),
            &["email"],
        ),
        (
            add_member(w, o, set, "owner@example.com", "editor").map(drop),
            &["email"],
        ),
        (
            block_on(uc::create_link(
                &cx,
                o,
                set,
                body(json!({"expires_at": past})),
            ))
            .map(drop),
            &["expires_at"],
        ),
        (
            block_on(uc::create_link(
                &cx,
                o,
                set,
                body(json!({"expires_at": far})),
            ))
            .map(drop),
            &["expires_at"],
        ),
        (
            block_on(uc::create_link(
                &cx,
                o,
                set,
                body(json!({"expires_at": "soon"})),
            ))
            .map(drop),
            &["expires_at"],
        ),
        (comment(w, o, set, item, "   ").map(drop), &["body"]),
        (comment(w, o, set, item, &long).map(drop), &["body"]),
        (
            block_on(uc::list(&cx, o, &query(&[("limit", "0")]))).map(drop),
            &["limit"],
        ),
        (
            block_on(uc::list(&cx, o, &query(&[("limit", "101")]))).map(drop),
            &["limit"],
        ),
        (
            block_on(uc::list(
                &cx,
                o,
                &query(&[("shared", "yes"), ("sort", "x")]),
            ))
            .map(drop),
            &["shared", "sort"],
        ),
    ];
    for (i, (got, want)) in cases.iter().enumerate() {
        let err = got.as_ref().unwrap_err();
        assert_eq!(code(err), "VALIDATION_FAILED", "case {i}: {err:?}");
        assert_eq!(err.status(), 422);
        assert_eq!(fields(err), *want, "case {i}");
    }
    assert_eq!(dump(w), before);
}

#[test]
fn a_full_setlist_refuses_another_item_and_moves_no_version() {
    let w = World::new();
    let u = w.user("big@example.com", 1 << 30);
    let set = create(&w, &u, json!({"name": "Book"})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = score(&w, &u, "Tune");
    let fill = |n: usize| {
        w.db()
            .execute(
                "with recursive n(i) as (select 1 union all select i + 1 from n where i < ?3) \
                 insert into setlist_items (id, setlist_id, score_id, position, added_by, created_at, updated_at) \
                 select printf('itm_%032d', i), ?1, ?2, i, 'x', 'x', 'x' from n",
                rusqlite::params![set, s, i64::try_from(n).unwrap()],
            )
            .unwrap();
    };
    fill(ITEMS_MAX - 1);
    add(&w, &u, &set, &s).unwrap();
    assert_eq!(version(&w, &set), 2);
    let before = dump(&w);
    let err = add(&w, &u, &set, &s).unwrap_err();
    assert_eq!(fields(&err), ["score_id"]);
    let err = post(&w, &u, &set, json!({"score_id": s, "version": 2})).unwrap_err();
    assert_eq!(fields(&err), ["score_id"]);
    assert_eq!(dump(&w), before);
    assert_dense(&w, &set);
}

// ---- compare-and-swap ----

#[test]
fn a_stale_version_is_409_with_the_current_version_and_changes_nothing() {
    let b = band();
    let w = &b.w;
    let (o, set) = (b.owner.as_str(), b.set.as_str());
    patch(w, o, set, json!({"notes": "v5"})).unwrap();
    let before = dump(w);
    let order: Vec<&str> = b.items.iter().rev().map(String::as_str).collect();
    let errors = [
        patch(w, o, set, json!({"name": "x", "version": 4})).map(drop),
        patch(w, o, set, json!({"name": "x", "version": 6})).map(drop),
        post(w, o, set, json!({"order": order, "version": 4})).map(drop),
        post(w, o, set, json!({"score_id": b.scores[0], "version": 1})).map(drop),
        patch_item(w, o, set, &b.items[0], json!({"position": 2, "version": 3})).map(drop),
        block_on(uc::delete_item(
            &w.cx(),
            o,
            set,
            &b.items[0],
            &query(&[("version", "4")]),
        )),
    ];
    for (i, e) in errors.iter().enumerate() {
        let e = e.as_ref().unwrap_err();
        assert_eq!(e.status(), 409, "case {i}");
        assert_eq!(conflict_version(e), 5, "case {i}");
    }
    assert_eq!(dump(w), before);
    // The current version goes through, and moves it exactly once.
    assert_eq!(reorder(w, o, set, &order, 5).unwrap()["version"], 6);
}

#[test]
fn a_write_without_a_version_that_loses_a_race_is_retried_and_applies_once() {
    let b = band();
    let w = &b.w;
    let r = racing(w, 1, || bump(w, &b.set));
    let s = parse(
        &block_on(uc::patch(
            &r.cx(),
            &b.owner,
            &b.set,
            body(json!({"venue": "Ronnie Scott's"})),
        ))
        .unwrap(),
    );
    assert_eq!(r.db.claims.get(), 2, "one lost claim, one retry");
    assert_eq!(s["venue"], "Ronnie Scott's");
    // 4 before, +1 for the other writer, +1 for ours.
    assert_eq!(s["version"], 6);
    assert_eq!(version(w, &b.set), 6);
}

#[test]
fn a_retried_move_reads_the_items_again_and_positions_stay_dense() {
    let b = band();
    let w = &b.w;
    // Meanwhile another member removes the first item: the move of the last one must use the
    // positions after that, not the ones it read.
    let r = racing(w, 1, || {
        delete_item(w, &b.editor, &b.set, &b.items[0]).unwrap();
    });
    let s = parse(
        &block_on(uc::patch_item(
            &r.cx(),
            &b.owner,
            &b.set,
            &b.items[2],
            body(json!({"position": 1})),
        ))
        .unwrap(),
    );
    assert_eq!(r.db.claims.get(), 2);
    assert_eq!(item_ids(&s), [b.items[2].clone(), b.items[1].clone()]);
    assert_eq!(s["version"], 6);
    assert_dense(w, &b.set);

    // And a removal that loses to another removal closes the right gap.
    let r = racing(w, 1, || {
        delete_item(w, &b.editor, &b.set, &b.items[2]).unwrap();
    });
    let extra = score(w, &b.owner, "D");
    add(w, &b.owner, &b.set, &extra).unwrap();
    let before = positions(w, &b.set);
    assert_eq!(before.len(), 3);
    block_on(uc::delete_item(&r.cx(), &b.owner, &b.set, &b.items[1], &[])).unwrap();
    assert_eq!(r.db.claims.get(), 2);
    assert_eq!(positions(w, &b.set).len(), 1);
    assert_dense(w, &b.set);
}

#[test]
fn a_move_of_an_item_removed_meanwhile_is_404_and_changes_nothing_more() {
    let b = band();
    let w = &b.w;
    let r = racing(w, 1, || {
        delete_item(w, &b.editor, &b.set, &b.items[1]).unwrap();
    });
    let err = block_on(uc::patch_item(
        &r.cx(),
        &b.owner,
        &b.set,
        &b.items[1],
        body(json!({"notes": "gone?"})),
    ))
    .unwrap_err();
    assert_eq!(err, ApiError::NotFound);
    assert_eq!(version(w, &b.set), 5, "only the other write moved it");
    assert_dense(w, &b.set);
}

#[test]
fn a_write_that_loses_every_attempt_is_409_after_the_bound_and_applies_nothing() {
    let b = band();
    let w = &b.w;
    let r = racing(w, usize::MAX, || bump(w, &b.set));
    let err = block_on(uc::patch(
        &r.cx(),
        &b.owner,
        &b.set,
        body(json!({"venue": "never"})),
    ))
    .unwrap_err();
    assert_eq!(code(&err), "VERSION_CONFLICT");
    assert_eq!(err.status(), 409);
    assert_eq!(r.db.claims.get(), WRITE_ATTEMPTS, "bounded");
    assert_eq!(
        version(w, &b.set),
        4 + i64::try_from(WRITE_ATTEMPTS).unwrap(),
        "only the other writer's"
    );
    assert_eq!(get(w, &b.owner, &b.set).unwrap()["venue"], "Blue Note");

    // The same for a removal: the item stays where it was.
    let before = positions(w, &b.set);
    let err = block_on(uc::delete_item(&r.cx(), &b.owner, &b.set, &b.items[0], &[])).unwrap_err();
    assert_eq!(code(&err), "VERSION_CONFLICT");
    assert_eq!(positions(w, &b.set), before);
}

#[test]
fn a_write_naming_its_version_that_loses_a_race_is_409_without_a_retry() {
    let b = band();
    let w = &b.w;
    let r = racing(w, 1, || bump(w, &b.set));
    let order: Vec<&str> = b.items.iter().rev().map(String::as_str).collect();
    let before = positions(w, &b.set);
    let err = block_on(uc::post_items(
        &r.cx(),
        &b.owner,
        &b.set,
        body(json!({"order": order, "version": 4})),
    ))
    .unwrap_err();
    assert_eq!(
        r.db.claims.get(),
        1,
        "no retry when the client named its version"
    );
    assert_eq!(conflict_version(&err), 5, "the version as it is now");
    assert_eq!(positions(w, &b.set), before);

    let r = racing(w, 1, || bump(w, &b.set));
    let err = block_on(uc::patch(
        &r.cx(),
        &b.owner,
        &b.set,
        body(json!({"name": "x", "version": 5})),
    ))
    .unwrap_err();
    assert_eq!(conflict_version(&err), 6);
    assert_eq!(get(w, &b.owner, &b.set).unwrap()["name"], "Friday gig");
}

#[test]
fn adds_without_a_version_never_conflict_and_land_inside_the_list() {
    let b = band();
    let w = &b.w;
    let other = score(w, &b.owner, "Other");
    let mine = score(w, &b.owner, "Mine");
    // Another member adds at the end while ours asks for a position past it.
    let r = racing(w, 1, || {
        add(w, &b.editor, &b.set, &other).unwrap();
    });
    let added = block_on(uc::post_items(
        &r.cx(),
        &b.owner,
        &b.set,
        body(json!({"score_id": mine, "position": 50})),
    ))
    .unwrap();
    let Posted::Added(s) = added else { panic!() };
    let s = parse(&s);
    assert_eq!(
        r.db.claims.get(),
        1,
        "an add without a version needs no retry"
    );
    assert_eq!(s["version"], 6);
    let scores: Vec<&str> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["score_id"].as_str().unwrap())
        .collect();
    assert_eq!(scores[3..], [other.as_str(), mine.as_str()]);
    assert_dense(w, &b.set);
}

// ---- storage failing part-way ----

#[test]
fn a_batch_failing_part_way_applies_nothing_and_a_retry_applies_once() {
    let b = band();
    let w = &b.w;
    let before = dump(w);
    // The insert fails after the claim and the shift ran in the same batch.
    w.db()
        .execute_batch(
            "create temp trigger boom before insert on setlist_items \
             begin select raise(abort, 'disk on fire'); end;",
        )
        .unwrap();
    let extra = score(w, &b.owner, "Extra");
    let before_add = dump(w);
    let err = post(
        w,
        &b.owner,
        &b.set,
        json!({"score_id": extra, "position": 1}),
    )
    .unwrap_err();
    assert_eq!(code(&err), "INTERNAL");
    assert_eq!(
        dump(w),
        before_add,
        "claim and shift rolled back with the insert"
    );
    w.db().execute_batch("drop trigger boom;").unwrap();
    add(w, &b.owner, &b.set, &extra).unwrap();
    assert_eq!(version(w, &b.set), 5);

    // The gap-closing update of a removal fails after the delete ran.
    w.db()
        .execute_batch(
            "create temp trigger boom before update of position on setlist_items \
             begin select raise(abort, 'disk on fire'); end;",
        )
        .unwrap();
    let mid = dump(w);
    let err = delete_item(w, &b.owner, &b.set, &b.items[0]).unwrap_err();
    assert_eq!(code(&err), "INTERNAL");
    assert_eq!(dump(w), mid);
    w.db().execute_batch("drop trigger boom;").unwrap();
    delete_item(w, &b.owner, &b.set, &b.items[0]).unwrap();
    assert_eq!(version(w, &b.set), 6);
    assert_dense(w, &b.set);

    // The whole batch refused (D1 down): nothing; then it goes through.
    let mid = dump(w);
    w.ports.db.fail_next("write_token = ?3", 1);
    let err = patch(w, &b.owner, &b.set, json!({"venue": "x"})).unwrap_err();
    assert_eq!(code(&err), "INTERNAL");
    assert_eq!(dump(w), mid);
    assert_eq!(
        patch(w, &b.owner, &b.set, json!({"venue": "x"})).unwrap()["version"],
        7
    );
    assert_ne!(dump(w), before);
}

#[test]
fn single_statement_writes_that_fail_change_nothing() {
    let b = band();
    let w = &b.w;
    let cx = w.cx();
    let c = b.comment_by(&b.editor, "seeded");
    let before = dump(w);
    type Call<'a> = Box<dyn Fn() -> ApiResult<()> + 'a>;
    let cases: Vec<(&str, Call<'_>)> = vec![
        (
            "insert into setlists",
            Box::new(|| create(w, &b.owner, json!({"name": "x"})).map(drop)),
        ),
        (
            "insert into setlist_members",
            Box::new(|| {
                add_member(w, &b.owner, &b.set, "outsider@example.com", "viewer").map(drop)
            }),
        ),
        (
            "insert into setlist_links",
            Box::new(|| block_on(uc::create_link(&cx, &b.owner, &b.set, Map::new())).map(drop)),
        ),
        (
            "update setlist_links",
            Box::new(|| block_on(uc::revoke_link(&cx, &b.owner, &b.set, &b.link))),
        ),
        (
            "insert into item_comments",
            Box::new(|| comment(w, &b.viewer, &b.set, &b.items[0], "x").map(drop)),
        ),
        (
            "delete from item_comments",
            Box::new(|| block_on(uc::delete_comment(&cx, &b.owner, &b.set, &b.items[0], &c))),
        ),
        // Last: the others need the setlist.
        (
            "delete from setlists",
            Box::new(|| block_on(uc::delete(&cx, &b.owner, &b.set))),
        ),
    ];
    // Each statement fails once: the use case answers 500 and the rows stay as they were.
    for (pattern, call) in &cases {
        w.ports.db.fail_next(pattern, 1);
        let err = call().unwrap_err();
        assert_eq!(code(&err), "INTERNAL", "{pattern}");
        assert_eq!(dump(w), before, "{pattern}");
    }
    // And each goes through once the database answers.
    for (pattern, call) in &cases {
        call().unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
    }
    assert_eq!(
        shared(w, &b.token).unwrap_err(),
        ApiError::NotFound,
        "revoked"
    );
    assert_eq!(
        w.count("select count(*) from setlists"),
        1,
        "one created, one deleted"
    );
}

// ---- paging ----

fn list(w: &World, user: &str, q: &[(&str, &str)]) -> ApiResult<Value> {
    block_on(uc::list(&w.cx(), user, &query(q))).map(|t| parse(&t))
}

fn ids_of(page: &Value) -> Vec<String> {
    page["setlists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_list_pages_by_twenty_and_its_cursor_serves_only_its_own_list() {
    let w = World::new();
    let u = w.user("many@example.com", 1 << 30);
    let mut made = Vec::new();
    for i in 0..45 {
        w.advance(1);
        made.push(
            create(&w, &u, json!({ "name": format!("Gig {i}") })).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    made.reverse(); // newest change first
    let first = list(&w, &u, &[]).unwrap();
    assert_eq!(ids_of(&first).len(), 20, "the default limit");
    assert_eq!(first["setlists"][0]["role"], "owner");
    assert_eq!(first["setlists"][0]["name"], "Gig 44");
    let mut seen = ids_of(&first);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = list(&w, &u, &[("cursor", &cursor)]).unwrap();
        seen.extend(ids_of(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, made, "every setlist once, in order");
    let all = list(&w, &u, &[("limit", "100")]).unwrap();
    assert_eq!(ids_of(&all), made);
    assert_eq!(all["next_cursor"], Value::Null);
    let one = list(&w, &u, &[("limit", "1")]).unwrap();
    assert_eq!(ids_of(&one), made[..1]);
    let cursor = one["next_cursor"].as_str().unwrap();
    assert_eq!(
        ids_of(&list(&w, &u, &[("limit", "1"), ("cursor", cursor)]).unwrap()),
        made[1..2]
    );

    // Tampered, of the shared list, of another list: 422 on the cursor.
    let mut tampered = cursor.to_owned();
    let mid = tampered.len() / 2;
    let flipped = if &tampered[mid..=mid] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(mid..=mid, flipped);
    let scores_cursor = Pager::new(w.config.cursor_key().unwrap(), "scores", "own", 20)
        .cursor((made[3].clone(), made[3].clone()));
    for (q, what) in [
        (vec![("cursor", tampered.as_str())], "tampered"),
        (vec![("cursor", "garbage")], "garbage"),
        (
            vec![("cursor", cursor), ("shared", "true")],
            "own list's cursor in the shared list",
        ),
        (vec![("cursor", scores_cursor.as_str())], "another list's"),
    ] {
        let err = list(&w, &u, &q).unwrap_err();
        assert_eq!(fields(&err), ["cursor"], "{what}");
    }
}

#[test]
fn the_shared_list_shows_what_others_share_with_the_callers_role() {
    let b = band();
    let w = &b.w;
    w.advance(1);
    let second = create(w, &b.owner, json!({"name": "Sunday"})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    add_member(w, &b.owner, &second, "editor@example.com", "viewer").unwrap();
    assert_eq!(
        ids_of(&list(w, &b.editor, &[]).unwrap()),
        Vec::<String>::new()
    );
    let page = list(w, &b.editor, &[("shared", "true"), ("limit", "1")]).unwrap();
    assert_eq!(ids_of(&page), [second.as_str()]);
    assert_eq!(page["setlists"][0]["role"], "viewer");
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = list(w, &b.editor, &[("shared", "true"), ("cursor", cursor)]).unwrap();
    assert_eq!(ids_of(&rest), [b.set.as_str()]);
    assert_eq!(rest["setlists"][0]["role"], "editor");
    assert_eq!(rest["setlists"][0]["item_count"], 3);
    assert_eq!(rest["next_cursor"], Value::Null);
    // The shared list's cursor does not serve the own list.
    assert_eq!(
        fields(&list(w, &b.editor, &[("cursor", cursor)]).unwrap_err()),
        ["cursor"]
    );
    assert_eq!(
        ids_of(&list(w, &b.outsider, &[("shared", "true")]).unwrap()).len(),
        0
    );
    assert_eq!(
        ids_of(&list(w, &b.owner, &[]).unwrap()),
        [second, b.set.clone()]
    );
}

// ---- disabled owners, cascading deletes ----

#[test]
fn a_disabled_owners_setlists_are_unreachable_through_links_and_membership() {
    let b = band();
    let w = &b.w;
    let disable = |at: Option<&str>| {
        w.db()
            .execute(
                "update users set disabled_at = ?2 where id = ?1",
                rusqlite::params![b.owner, at],
            )
            .unwrap();
    };
    let attempts = |who: &str| -> Vec<ApiResult<Value>> {
        let cx = w.cx();
        vec![
            get(w, who, &b.set),
            block_on(uc::item_download_url(&cx, who, &b.set, &b.items[0], &[]))
                .map(|_| Value::Null),
            comments(w, who, &b.set, &b.items[0]),
            comment(w, who, &b.set, &b.items[0], "hello?"),
            add(w, who, &b.set, &b.scores[0]),
            patch_item(w, who, &b.set, &b.items[0], json!({"position": 2})),
            shared(w, &b.token),
            shared_download(w, &b.token, &b.items[0]).map(|_| Value::Null),
        ]
    };
    disable(Some("2026-01-02T00:00:00.000Z"));
    let before = dump(w);
    for (i, r) in attempts(&b.editor).into_iter().enumerate() {
        assert_eq!(r.unwrap_err(), ApiError::NotFound, "case {i}");
    }
    assert_eq!(
        ids_of(&list(w, &b.editor, &[("shared", "true")]).unwrap()).len(),
        0
    );
    assert_eq!(dump(w), before);
    // Enabled again, the same calls reach it.
    disable(None);
    assert!(attempts(&b.editor).iter().all(Result::is_ok));
    assert_eq!(
        ids_of(&list(w, &b.editor, &[("shared", "true")]).unwrap()).len(),
        1
    );
}

#[test]
fn deleting_a_setlist_removes_its_items_members_links_comments_and_history() {
    let b = band();
    let w = &b.w;
    let other = create(w, &b.owner, json!({"name": "Keep"})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    add(w, &b.owner, &other, &b.scores[0]).unwrap();
    comment(w, &b.viewer, &b.set, &b.items[0], "bye").unwrap();
    w.db()
        .execute(
            "insert into setlist_events (setlist_id, kind, detail, created_at) values (?1, 'x', '{}', 'x')",
            [&b.set],
        )
        .unwrap();
    let count = |table: &str, set: &str| {
        w.count(&format!(
            "select count(*) from {table} where setlist_id = '{set}'"
        ))
    };
    let tables = [
        "setlist_items",
        "setlist_members",
        "setlist_links",
        "item_comments",
        "setlist_events",
    ];
    assert!(tables.iter().all(|t| count(t, &b.set) > 0));
    block_on(uc::delete(&w.cx(), &b.owner, &b.set)).unwrap();
    for t in tables {
        assert_eq!(count(t, &b.set), 0, "{t}");
    }
    assert_eq!(
        count("setlist_items", &other),
        1,
        "another setlist keeps its items"
    );
    assert_eq!(
        w.count("select count(*) from scores"),
        3,
        "the scores stay the owner's"
    );
    assert_eq!(shared(w, &b.token).unwrap_err(), ApiError::NotFound);
    assert_eq!(get(w, &b.editor, &b.set).unwrap_err(), ApiError::NotFound);
    assert_eq!(
        ids_of(&list(w, &b.editor, &[("shared", "true")]).unwrap()).len(),
        0
    );
}

#[test]
fn a_write_racing_the_setlists_deletion_is_404_not_409() {
    let b = band();
    let w = &b.w;
    let gone = || block_on(uc::delete(&w.cx(), &b.owner, &b.set)).unwrap();
    let r = racing(w, 1, gone);
    let err = block_on(uc::patch(
        &r.cx(),
        &b.owner,
        &b.set,
        body(json!({"venue": "x"})),
    ))
    .unwrap_err();
    assert_eq!(err, ApiError::NotFound);
    assert_eq!(r.db.claims.get(), 1);

    // An add without a version (whose claim expects no version) finds it gone too, and
    // inserts nothing.
    let b = band();
    let w = &b.w;
    let gone = || block_on(uc::delete(&w.cx(), &b.owner, &b.set)).unwrap();
    let r = racing(w, 1, gone);
    let err = block_on(uc::post_items(
        &r.cx(),
        &b.editor,
        &b.set,
        body(json!({"score_id": b.scores[0]})),
    ))
    .unwrap_err();
    assert_eq!(err, ApiError::NotFound);
    assert_eq!(w.count("select count(*) from setlist_items"), 0);
}

#[test]
fn a_disabled_account_cannot_be_made_a_member() {
    let b = band();
    let w = &b.w;
    let gone = w.user("gone@example.com", 1 << 30);
    w.db()
        .execute(
            "update users set disabled_at = '2026-01-02T00:00:00.000Z' where id = ?1",
            [&gone],
        )
        .unwrap();
    let before = dump(w);
    let err = add_member(w, &b.owner, &b.set, "gone@example.com", "viewer").unwrap_err();
    assert_eq!(fields(&err), ["email"]);
    assert_eq!(dump(w), before);
}

#[test]
fn the_view_carries_thumbnails_and_the_history_of_scores_deleted_from_it() {
    let b = band();
    let w = &b.w;
    w.db()
        .execute(
            "update scores set thumbnail_key = 'u/' || user_id || '/t/' || id || '.png' where id = ?1",
            [&b.scores[0]],
        )
        .unwrap();
    for view in [
        get(w, &b.viewer, &b.set).unwrap(),
        shared(w, &b.token).unwrap(),
    ] {
        let url = view["items"][0]["thumbnail_url"].as_str().unwrap();
        assert!(url.starts_with("https://scoremate.test/v1/blobs/"), "{url}");
        assert_eq!(view["items"][1]["thumbnail_url"], Value::Null);
        assert_eq!(view["history"], json!([]));
    }
    // The owner deletes a score: it leaves the setlist, the gap closes, the version moves and
    // the history says so, to members and link holders alike.
    w.db()
        .execute("delete from scores where id = ?1", [&b.scores[1]])
        .unwrap();
    for view in [
        get(w, &b.editor, &b.set).unwrap(),
        shared(w, &b.token).unwrap(),
    ] {
        assert_eq!(item_ids(&view), [b.items[0].clone(), b.items[2].clone()]);
        assert_eq!(view["version"], 5);
        assert_eq!(view["history"][0]["kind"], "score_deleted");
        assert_eq!(
            view["history"][0]["detail"]["score_id"],
            b.scores[1].as_str()
        );
        assert_eq!(view["history"][0]["detail"]["title"], "Blue Bossa");
    }
    assert_dense(w, &b.set);
    // A client still holding version 4 is told to reload.
    let order: Vec<&str> = vec![&b.items[2], &b.items[0]];
    assert_eq!(
        conflict_version(&reorder(w, &b.owner, &b.set, &order, 4).unwrap_err()),
        5
    );
}
