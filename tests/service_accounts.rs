//! Accounts and sessions run natively through the ports (SQLite with the real migrations):
//! registration and its limits, login (right, wrong, unknown, disabled, limited), refresh
//! rotation, reuse and the race to spend one token, logout, the per-request authentication, the
//! profile and the password change — the sessions and counters checked after each.

mod common;

use std::cell::RefCell;

use common::ports::{block_on, SqliteDb, TestPorts, World};
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use scoremate::auth::jwt::{self, TokenType};
use scoremate::config::Config;
use scoremate::error::{ApiError, ApiResult};
use scoremate::ports::{Db, Outcome, Ports};
use scoremate::service::accounts::{self, Tokens};
use scoremate::service::Cx;
use scoremate::store::rows::UserRow;
use scoremate::store::Stmt;

const PASSWORD: &str = "correct horse 42";
const IP: &str = "203.0.113.7";

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn code(e: &ApiError) -> &'static str {
    e.code_and_id().0
}

/// The field errors of a 422.
fn fields(e: &ApiError) -> Value {
    assert_eq!(code(e), "VALIDATION_FAILED", "{e:?}");
    e.envelope()["error"]["fields"].clone()
}

fn register_from(w: &World, ip: &str, email: &str) -> ApiResult<UserRow> {
    block_on(accounts::register(
        &w.cx(),
        ip,
        body(json!({"email": email, "password": PASSWORD, "display_name": "Ann"})),
    ))
}

fn register(w: &World, email: &str) -> UserRow {
    register_from(w, IP, email).unwrap()
}

fn login_from(w: &World, ip: &str, email: &str, password: &str) -> ApiResult<Tokens> {
    block_on(accounts::login(
        &w.cx(),
        ip,
        body(json!({"email": email, "password": password})),
    ))
}

fn login(w: &World, email: &str, password: &str) -> ApiResult<Tokens> {
    login_from(w, IP, email, password)
}

fn refresh(w: &World, token: &str) -> ApiResult<Tokens> {
    block_on(accounts::refresh(
        &w.cx(),
        IP,
        body(json!({ "refresh": token })),
    ))
}

/// The caller an access token authenticates (what `GET /v1/me` answers).
fn me(w: &World, access: &str) -> ApiResult<accounts::Session> {
    block_on(accounts::authenticate(&w.cx(), Some(access)))
}

/// Whether the access token still authenticates.
fn signed_in(w: &World, tokens: &Tokens) -> bool {
    me(w, &tokens.access).is_ok()
}

fn session_of(w: &World, tokens: &Tokens) -> String {
    jwt::verify(
        w.config.jwt_key().unwrap(),
        &tokens.refresh,
        TokenType::Refresh,
        w.now.get(),
    )
    .unwrap()
    .sid
}

/// `(revoked_at is not null, revoked_reason)` of a session.
fn session_state(w: &World, session_id: &str) -> (bool, Option<String>) {
    w.db()
        .query_row(
            "select revoked_at is not null, revoked_reason from sessions where id = ?1",
            [session_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The counts stored in the rate windows, whatever their buckets.
fn window_hits(w: &World) -> i64 {
    w.count("select coalesce(sum(hits), 0) from rate_windows")
}

// ---- register ----

#[test]
fn registering_creates_an_account_with_a_hashed_password_and_the_default_quota() {
    let w = World::with(&[("DEFAULT_QUOTA_BYTES", "5000")]);
    let user = register(&w, "  Ann@Example.COM ");
    assert_eq!(user.email, "ann@example.com", "normalised");
    assert_eq!(user.display_name, "Ann");
    assert_eq!(user.role, "user");
    assert_eq!(user.quota_bytes, 5000);
    let hash: String = w
        .db()
        .query_row(
            "select password_hash from users where id = ?1",
            [&user.id],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    assert!(login(&w, "ann@example.com", PASSWORD).is_ok());
}

#[test]
fn a_taken_email_is_409_in_any_case_and_creates_nothing() {
    let w = World::new();
    let first = register(&w, "ann@example.com");
    let again = register_from(&w, IP, "ANN@example.com").unwrap_err();
    assert_eq!(code(&again), "EMAIL_TAKEN");
    assert_eq!(again.status(), 409);
    assert_eq!(w.count("select count(*) from users"), 1);
    // The first account's password still is the one that works.
    assert!(login(&w, &first.email, PASSWORD).is_ok());
}

#[test]
fn registration_names_every_bad_field_and_creates_nothing() {
    let w = World::new();
    let err = block_on(accounts::register(
        &w.cx(),
        IP,
        body(json!({"email": "not-an-email", "password": "short", "extra": 1})),
    ))
    .unwrap_err();
    let f = fields(&err);
    for name in ["email", "password", "display_name", "extra"] {
        assert!(f[name].is_string(), "{name}: {f}");
    }
    let same = block_on(accounts::register(
        &w.cx(),
        IP,
        body(
            json!({"email": "bo@example.com", "password": "bo@example.com", "display_name": "Bo"}),
        ),
    ))
    .unwrap_err();
    assert!(
        fields(&same)["password"].is_string(),
        "the email as password"
    );
    assert_eq!(w.count("select count(*) from users"), 0);
}

#[test]
fn registration_is_limited_per_address_before_the_body_is_read() {
    let w = World::with(&[("RATE_AUTH_PER_IP", "2/60")]);
    register_from(&w, IP, "a@example.com").unwrap();
    register_from(&w, IP, "b@example.com").unwrap();
    let over = register_from(&w, IP, "c@example.com").unwrap_err();
    assert_eq!(code(&over), "RATE_LIMITED");
    assert!(over.headers().iter().any(|(h, _)| *h == "retry-after"));
    // Even a malformed body is counted and refused first.
    let bad = block_on(accounts::register(&w.cx(), IP, Map::new())).unwrap_err();
    assert_eq!(code(&bad), "RATE_LIMITED");
    assert!(
        register_from(&w, "198.51.100.1", "c@example.com").is_ok(),
        "another address"
    );
    w.advance(60);
    assert!(
        register_from(&w, IP, "d@example.com").is_ok(),
        "the next window"
    );
    assert_eq!(w.count("select count(*) from users"), 4);
}

// ---- login ----

#[test]
fn the_right_password_opens_a_session_whose_tokens_name_it() {
    let w = World::new();
    let user = register(&w, "ann@example.com");
    let tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    let key = w.config.jwt_key().unwrap();
    let access = jwt::verify(key, &tokens.access, TokenType::Access, w.now.get()).unwrap();
    let refresh = jwt::verify(key, &tokens.refresh, TokenType::Refresh, w.now.get()).unwrap();
    assert_eq!(
        (access.sub.as_str(), refresh.sub.as_str()),
        (&*user.id, &*user.id)
    );
    assert_eq!(access.sid, refresh.sid);
    assert!(jwt::verify(key, &tokens.access, TokenType::Refresh, w.now.get()).is_err());
    assert_eq!(
        tokens.access_expires_at,
        w.now.get().plus_seconds(15 * 60).rfc3339()
    );
    assert_eq!(tokens.view().token_type.as_str(), "Bearer");
    assert_eq!(session_state(&w, &access.sid), (false, None));
    let found = me(&w, &tokens.access).unwrap();
    assert_eq!((found.user.id, found.session_id), (user.id, access.sid));
}

#[test]
fn a_wrong_password_and_an_unknown_email_answer_alike() {
    let w = World::new();
    register(&w, "ann@example.com");
    let wrong = login(&w, "ann@example.com", "wrong password 1").unwrap_err();
    let unknown = login(&w, "nobody@example.com", PASSWORD).unwrap_err();
    assert_eq!(code(&wrong), "INVALID_CREDENTIALS");
    assert_eq!(wrong.envelope(), unknown.envelope());
    assert_eq!(wrong.status(), 401);
    assert_eq!(w.count("select count(*) from sessions"), 0);
}

#[test]
fn a_disabled_account_is_refused_but_only_after_the_right_password() {
    let w = World::new();
    let user = register(&w, "ann@example.com");
    w.db()
        .execute(
            "update users set disabled_at = '2026-01-01T00:00:00.000Z' where id = ?1",
            [&user.id],
        )
        .unwrap();
    let right = login(&w, "ann@example.com", PASSWORD).unwrap_err();
    assert_eq!((code(&right), right.status()), ("FORBIDDEN", 403));
    let wrong = login(&w, "ann@example.com", "wrong password 1").unwrap_err();
    assert_eq!(
        code(&wrong),
        "INVALID_CREDENTIALS",
        "no oracle for disabled accounts"
    );
    assert_eq!(w.count("select count(*) from sessions"), 0);
}

#[test]
fn failed_logins_are_limited_per_email_and_a_right_password_gives_its_attempt_back() {
    let w = World::with(&[("RATE_LOGIN_FAILURES", "3/900")]);
    register(&w, "ann@example.com");
    for _ in 0..5 {
        login(&w, "ann@example.com", PASSWORD).expect("right passwords never add up");
    }
    for _ in 0..3 {
        let e = login(&w, "ANN@example.com", "wrong password 1").unwrap_err();
        assert_eq!(code(&e), "INVALID_CREDENTIALS");
    }
    // Over the limit even the right password waits: it is not verified at all.
    let limited = login(&w, "ann@example.com", PASSWORD).unwrap_err();
    assert_eq!(code(&limited), "RATE_LIMITED");
    // Unknown emails are counted exactly alike.
    for _ in 0..3 {
        login(&w, "ghost@example.com", PASSWORD).unwrap_err();
    }
    assert_eq!(
        code(&login(&w, "ghost@example.com", PASSWORD).unwrap_err()),
        "RATE_LIMITED"
    );
    w.advance(900);
    assert!(
        login(&w, "ann@example.com", PASSWORD).is_ok(),
        "the next window"
    );
}

#[test]
fn logins_are_limited_per_address() {
    let w = World::with(&[("RATE_AUTH_PER_IP", "3/60")]);
    register_from(&w, "198.51.100.9", "ann@example.com").unwrap();
    for _ in 0..3 {
        login(&w, "ann@example.com", PASSWORD).unwrap();
    }
    assert_eq!(
        code(&login(&w, "ann@example.com", PASSWORD).unwrap_err()),
        "RATE_LIMITED"
    );
    assert!(login_from(&w, "198.51.100.10", "ann@example.com", PASSWORD).is_ok());
}

#[test]
fn a_login_fails_closed_before_counting_when_tokens_cannot_be_signed() {
    let mut w = World::new();
    register(&w, "ann@example.com");
    let before = window_hits(&w);
    w.config = Config::from_lookup(|_| None).unwrap();
    let e = login(&w, "ann@example.com", PASSWORD).unwrap_err();
    assert_eq!((code(&e), e.status()), ("SERVER_MISCONFIGURED", 500));
    assert_eq!(window_hits(&w), before, "nothing counted");
    assert_eq!(w.count("select count(*) from sessions"), 0);
}

#[test]
fn a_login_whose_session_batch_fails_opens_nothing_and_keeps_the_attempt_counted() {
    let w = World::with(&[
        ("RATE_LOGIN_FAILURES", "10/900"),
        ("RATE_AUTH_PER_IP", "off"),
    ]);
    register(&w, "ann@example.com");
    w.ports.db.fail_next("insert into sessions", 1);
    let e = login(&w, "ann@example.com", PASSWORD).unwrap_err();
    assert_eq!(e.status(), 500);
    assert_eq!(w.count("select count(*) from sessions"), 0);
    assert_eq!(w.count("select count(*) from refresh_tokens"), 0);
    assert_eq!(
        window_hits(&w),
        1,
        "the give-back rolled back with the session"
    );
    login(&w, "ann@example.com", PASSWORD).unwrap();
    assert_eq!(
        window_hits(&w),
        1,
        "a right password gives its own attempt back"
    );
}

// ---- refresh ----

#[test]
fn a_refresh_token_is_spent_once_for_a_new_pair_of_the_same_session() {
    let w = World::new();
    register(&w, "ann@example.com");
    let first = login(&w, "ann@example.com", PASSWORD).unwrap();
    w.advance(5);
    let second = refresh(&w, &first.refresh).unwrap();
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(session_of(&w, &second), session_of(&w, &first));
    assert!(signed_in(&w, &second) && signed_in(&w, &first));
    let third = refresh(&w, &second.refresh).unwrap();
    assert!(signed_in(&w, &third));
    assert_eq!(
        w.count("select count(*) from refresh_tokens where used_at is not null"),
        2
    );
}

#[test]
fn a_spent_refresh_token_presented_again_revokes_the_whole_family() {
    let w = World::new();
    register(&w, "ann@example.com");
    let stolen = login(&w, "ann@example.com", PASSWORD).unwrap();
    let other = login(&w, "ann@example.com", PASSWORD).unwrap();
    let rotated = refresh(&w, &stolen.refresh).unwrap();
    let reuse = refresh(&w, &stolen.refresh).unwrap_err();
    assert_eq!(code(&reuse), "INVALID_TOKEN");
    assert!(reuse.envelope()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already used"));
    let sid = session_of(&w, &stolen);
    assert_eq!(
        session_state(&w, &sid),
        (true, Some("refresh_reuse".into()))
    );
    // Every token of the family stops: the rotated refresh and both access tokens.
    assert_eq!(
        code(&refresh(&w, &rotated.refresh).unwrap_err()),
        "INVALID_TOKEN"
    );
    assert!(!signed_in(&w, &rotated) && !signed_in(&w, &stolen));
    // Another session of the same account is not touched.
    assert!(signed_in(&w, &other));
    assert!(refresh(&w, &other.refresh).is_ok());
}

/// The test ports, but the database runs `hook` on its connection right before the first
/// statement or batch whose SQL contains `pattern`: what a rival request did in between.
struct Interleaved<'a> {
    ports: &'a TestPorts,
    db: HookedDb<'a>,
}

type Hook = Box<dyn FnOnce(&Connection)>;

struct HookedDb<'a> {
    inner: &'a SqliteDb,
    hook: RefCell<Option<(String, Hook)>>,
}

impl HookedDb<'_> {
    fn before(&self, sql: &str) {
        let due = matches!(&*self.hook.borrow(), Some((p, _)) if sql.contains(p.as_str()));
        if due {
            let (_, hook) = self.hook.borrow_mut().take().unwrap();
            hook(&self.inner.conn);
        }
    }
}

impl Db for HookedDb<'_> {
    async fn first<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Option<T>> {
        self.before(&stmt.sql);
        self.inner.first(stmt).await
    }

    async fn all<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Vec<T>> {
        self.before(&stmt.sql);
        self.inner.all(stmt).await
    }

    async fn run(&self, stmt: Stmt) -> ApiResult<usize> {
        self.before(&stmt.sql);
        self.inner.run(stmt).await
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<Outcome>> {
        let texts: Vec<&str> = stmts.iter().map(|s| s.sql.as_ref()).collect();
        self.before(&texts.join("\n"));
        self.inner.batch(stmts).await
    }
}

impl<'a> Ports for Interleaved<'a> {
    type Db = HookedDb<'a>;
    type Blobs = common::ports::MemBlobs;
    type Tasks = common::ports::RecordingTasks;

    fn db(&self) -> &HookedDb<'a> {
        &self.db
    }

    fn blobs(&self) -> &common::ports::MemBlobs {
        &self.ports.blobs
    }

    fn tasks(&self) -> &common::ports::RecordingTasks {
        &self.ports.tasks
    }

    fn random(&self, out: &mut [u8]) -> ApiResult<()> {
        self.ports.random(out)
    }
}

impl<'a> Interleaved<'a> {
    /// `hook` runs right before the first statement or batch containing `pattern`.
    fn new(w: &'a World, pattern: &str, hook: impl FnOnce(&Connection) + 'static) -> Self {
        Self {
            ports: &w.ports,
            db: HookedDb {
                inner: &w.ports.db,
                hook: RefCell::new(Some((pattern.to_owned(), Box::new(hook)))),
            },
        }
    }

    fn cx(&'a self, w: &'a World) -> Cx<'a, Self> {
        Cx {
            ports: self,
            config: &w.config,
            now: w.now.get(),
            base_url: "https://scoremate.test",
        }
    }
}

#[test]
fn of_two_racing_spends_of_one_refresh_token_only_one_wins_and_the_family_is_revoked() {
    let w = World::new();
    let user = register(&w, "ann@example.com");
    let tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    let claims = jwt::verify(
        w.config.jwt_key().unwrap(),
        &tokens.refresh,
        TokenType::Refresh,
        w.now.get(),
    )
    .unwrap();
    let (jti, sid, uid) = (claims.jti.clone(), claims.sid.clone(), user.id.clone());
    let now = w.now.get().rfc3339();
    // The rival request read the token unspent too, and its rotation lands between this
    // request's read and its write.
    let rival = move |c: &Connection| {
        let changes: Vec<usize> = rotate_refresh(&jti, "rtk_rival", &sid, &uid, &now)
            .iter()
            .map(|s| common::exec(c, s))
            .collect();
        assert_eq!(changes, [1, 1, 1], "the rival wins");
    };
    let racing = Interleaved::new(&w, "update refresh_tokens set used_at", rival);
    let lost = block_on(accounts::refresh(
        &racing.cx(&w),
        IP,
        body(json!({ "refresh": tokens.refresh })),
    ))
    .unwrap_err();
    assert_eq!(code(&lost), "INVALID_TOKEN");
    assert_eq!(
        w.count("select count(*) from refresh_tokens where used_at is not null"),
        1,
        "spent once"
    );
    assert_eq!(
        w.count("select count(*) from refresh_tokens where replaced_by = 'rtk_rival'"),
        1,
        "by the rival"
    );
    assert_eq!(
        session_state(&w, &claims.sid),
        (true, Some("refresh_reuse".into())),
        "two parties held it: the family is revoked, the winner's successor with it"
    );
    assert!(!signed_in(&w, &tokens));
}

fn rotate_refresh(jti: &str, successor: &str, sid: &str, uid: &str, now: &str) -> [Stmt; 3] {
    scoremate::store::accounts::rotate_refresh(&scoremate::store::accounts::Rotation {
        jti,
        successor,
        session_id: sid,
        user_id: uid,
        now,
        expires_at: now,
    })
}

#[test]
fn a_rotation_that_fails_part_way_spends_nothing_and_the_token_still_works() {
    let w = World::new();
    register(&w, "ann@example.com");
    let tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    w.ports.db.fail_next("update sessions set last_used_at", 1);
    assert_eq!(refresh(&w, &tokens.refresh).unwrap_err().status(), 500);
    assert_eq!(
        w.count("select count(*) from refresh_tokens where used_at is not null"),
        0
    );
    assert_eq!(
        w.count("select count(*) from refresh_tokens"),
        1,
        "no successor"
    );
    let next = refresh(&w, &tokens.refresh).expect("not a reuse: nothing was spent");
    assert!(signed_in(&w, &next));
}

#[test]
fn refresh_refuses_bad_unknown_revoked_and_disabled_tokens() {
    let w = World::new();
    let user = register(&w, "ann@example.com");
    let tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    assert_eq!(code(&refresh(&w, "garbage").unwrap_err()), "INVALID_TOKEN");
    assert_eq!(
        code(&refresh(&w, &tokens.access).unwrap_err()),
        "INVALID_TOKEN",
        "an access token is no refresh token"
    );
    let missing = block_on(accounts::refresh(&w.cx(), IP, Map::new())).unwrap_err();
    assert!(fields(&missing)["refresh"].is_string());
    // A validly signed token the database does not know.
    let forged = jwt::issue(
        w.config.jwt_key().unwrap(),
        jwt::SessionClaims {
            sub: user.id.clone(),
            sid: session_of(&w, &tokens),
            jti: "rtk_unknown".into(),
            typ: TokenType::Refresh,
        },
        w.now.get(),
        60,
    );
    assert_eq!(code(&refresh(&w, &forged).unwrap_err()), "INVALID_TOKEN");
    w.db()
        .execute(
            "update users set disabled_at = '2026-01-01T00:00:00.000Z' where id = ?1",
            [&user.id],
        )
        .unwrap();
    let disabled = refresh(&w, &tokens.refresh).unwrap_err();
    assert_eq!(code(&disabled), "INVALID_TOKEN");
    assert_eq!(
        w.count("select count(*) from refresh_tokens where used_at is not null"),
        0,
        "nothing spent"
    );
    // An expired refresh token is refused by its signature's times.
    w.db()
        .execute("update users set disabled_at = null", [])
        .unwrap();
    w.advance(14 * 24 * 3600 + 10); // past the expiry and its 5 s leeway
    assert_eq!(
        code(&refresh(&w, &tokens.refresh).unwrap_err()),
        "INVALID_TOKEN"
    );
}

#[test]
fn refreshes_are_limited_per_session() {
    let w = World::with(&[("RATE_REFRESH_PER_FAMILY", "2/60")]);
    register(&w, "ann@example.com");
    let mut tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    let other = login(&w, "ann@example.com", PASSWORD).unwrap();
    for _ in 0..2 {
        tokens = refresh(&w, &tokens.refresh).unwrap();
    }
    assert_eq!(
        code(&refresh(&w, &tokens.refresh).unwrap_err()),
        "RATE_LIMITED"
    );
    assert!(refresh(&w, &other.refresh).is_ok(), "another session");
    w.advance(60);
    assert!(
        refresh(&w, &tokens.refresh).is_ok(),
        "not spent while limited"
    );
}

// ---- logout, authentication ----

#[test]
fn logout_ends_the_session_of_its_refresh_token_only_and_only_the_callers() {
    let w = World::new();
    let ann = register(&w, "ann@example.com");
    register(&w, "bob@example.com");
    let phone = login(&w, "ann@example.com", PASSWORD).unwrap();
    let laptop = login(&w, "ann@example.com", PASSWORD).unwrap();
    let bobs = login(&w, "bob@example.com", PASSWORD).unwrap();
    let theirs = block_on(accounts::logout(
        &w.cx(),
        &ann.id,
        body(json!({ "refresh": bobs.refresh })),
    ))
    .unwrap_err();
    assert_eq!(code(&theirs), "INVALID_TOKEN");
    assert!(
        signed_in(&w, &bobs),
        "another account's session is untouched"
    );
    block_on(accounts::logout(
        &w.cx(),
        &ann.id,
        body(json!({ "refresh": phone.refresh })),
    ))
    .unwrap();
    assert!(!signed_in(&w, &phone));
    assert_eq!(
        code(&refresh(&w, &phone.refresh).unwrap_err()),
        "INVALID_TOKEN"
    );
    assert_eq!(
        session_state(&w, &session_of(&w, &phone)),
        (true, Some("logout".into()))
    );
    assert!(signed_in(&w, &laptop));
}

#[test]
fn logout_all_ends_every_session_of_the_caller_and_no_one_elses() {
    let w = World::new();
    let ann = register(&w, "ann@example.com");
    register(&w, "bob@example.com");
    let sessions: Vec<Tokens> = (0..3)
        .map(|_| login(&w, "ann@example.com", PASSWORD).unwrap())
        .collect();
    let bobs = login(&w, "bob@example.com", PASSWORD).unwrap();
    block_on(accounts::logout_all(&w.cx(), &ann.id)).unwrap();
    assert!(sessions.iter().all(|t| !signed_in(&w, t)));
    assert!(sessions.iter().all(|t| refresh(&w, &t.refresh).is_err()));
    assert!(signed_in(&w, &bobs));
}

#[test]
fn authentication_needs_a_live_access_token_of_an_enabled_account() {
    let w = World::new();
    let user = register(&w, "ann@example.com");
    let tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    let missing = block_on(accounts::authenticate(&w.cx(), None)).unwrap_err();
    assert_eq!(code(&missing), "INVALID_TOKEN");
    assert_eq!(code(&me(&w, "garbage").unwrap_err()), "INVALID_TOKEN");
    assert_eq!(
        code(&me(&w, &tokens.refresh).unwrap_err()),
        "INVALID_TOKEN",
        "a refresh token is no access token"
    );
    assert_eq!(
        me(&w, &tokens.access).unwrap().user.email,
        "ann@example.com"
    );
    w.db()
        .execute(
            "update users set disabled_at = '2026-01-01T00:00:00.000Z' where id = ?1",
            [&user.id],
        )
        .unwrap();
    assert_eq!(code(&me(&w, &tokens.access).unwrap_err()), "INVALID_TOKEN");
    w.db()
        .execute("update users set disabled_at = null", [])
        .unwrap();
    assert!(signed_in(&w, &tokens));
    w.advance(15 * 60 + 10); // past the expiry and its 5 s leeway
    assert_eq!(
        code(&me(&w, &tokens.access).unwrap_err()),
        "INVALID_TOKEN",
        "expired"
    );
}

// ---- profile and password ----

#[test]
fn a_profile_patch_changes_what_is_sent_and_keeps_the_rest() {
    let w = World::new();
    let user = register(&w, "ann@example.com");
    let patch = |v: Value| block_on(accounts::patch_me(&w.cx(), &user.id, body(v)));
    let named = patch(json!({"display_name": "  Annie "})).unwrap();
    assert_eq!(named.display_name, "Annie");
    let prefs = patch(json!({"preferences": {"theme": "dark"}})).unwrap();
    assert_eq!(prefs.display_name, "Annie", "kept");
    let p: Value = serde_json::from_str(&prefs.preferences).unwrap();
    assert_eq!(p, json!({"theme": "dark"}));
    let e = patch(json!({"display_name": "", "preferences": [1], "role": "admin"})).unwrap_err();
    let f = fields(&e);
    for name in ["display_name", "preferences", "role"] {
        assert!(f[name].is_string(), "{name}: {f}");
    }
    assert!(fields(&patch(json!({"preferences": null})).unwrap_err())["preferences"].is_string());
    let after = block_on(accounts::authenticate(
        &w.cx(),
        Some(&login(&w, "ann@example.com", PASSWORD).unwrap().access),
    ))
    .unwrap()
    .user;
    assert_eq!(
        (after.display_name.as_str(), after.role.as_str()),
        ("Annie", "user")
    );
    assert_eq!(
        after.preferences, prefs.preferences,
        "a refused patch changed nothing"
    );
}

fn change_password(w: &World, tokens: &Tokens, current: &str, new: &str) -> ApiResult<()> {
    let session = me(w, &tokens.access).unwrap();
    block_on(accounts::change_password(
        &w.cx(),
        &session.user,
        &session.session_id,
        body(json!({"current_password": current, "new_password": new})),
    ))
}

#[test]
fn a_password_change_keeps_the_callers_session_and_revokes_every_other() {
    let w = World::new();
    register(&w, "ann@example.com");
    let here = login(&w, "ann@example.com", PASSWORD).unwrap();
    let elsewhere = login(&w, "ann@example.com", PASSWORD).unwrap();
    change_password(&w, &here, PASSWORD, "a new long secret 7").unwrap();
    assert!(signed_in(&w, &here));
    assert!(refresh(&w, &here.refresh).is_ok());
    assert!(!signed_in(&w, &elsewhere));
    assert_eq!(
        session_state(&w, &session_of(&w, &elsewhere)),
        (true, Some("password_changed".into()))
    );
    assert_eq!(
        code(&login(&w, "ann@example.com", PASSWORD).unwrap_err()),
        "INVALID_CREDENTIALS"
    );
    assert!(login(&w, "ann@example.com", "a new long secret 7").is_ok());
}

#[test]
fn a_password_change_needs_the_current_password_and_a_different_valid_new_one() {
    let w = World::new();
    register(&w, "ann@example.com");
    let tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    let wrong = change_password(&w, &tokens, "not it at all 1", "a new long secret 7").unwrap_err();
    assert!(fields(&wrong)["current_password"].is_string());
    let same = change_password(&w, &tokens, PASSWORD, PASSWORD).unwrap_err();
    assert!(fields(&same)["new_password"].is_string());
    let weak = change_password(&w, &tokens, PASSWORD, "short").unwrap_err();
    assert!(fields(&weak)["new_password"].is_string());
    let email = change_password(&w, &tokens, PASSWORD, "ann@example.com").unwrap_err();
    assert!(
        fields(&email)["new_password"].is_string(),
        "the email as password"
    );
    assert!(login(&w, "ann@example.com", PASSWORD).is_ok(), "unchanged");
}

#[test]
fn guesses_of_the_current_password_count_as_failed_logins_of_the_email() {
    let w = World::with(&[
        ("RATE_LOGIN_FAILURES", "2/900"),
        ("RATE_AUTH_PER_IP", "off"),
    ]);
    register(&w, "ann@example.com");
    let tokens = login(&w, "ann@example.com", PASSWORD).unwrap();
    for _ in 0..2 {
        change_password(&w, &tokens, "a wrong guess 11", "a new long secret 7").unwrap_err();
    }
    let limited = change_password(&w, &tokens, PASSWORD, "a new long secret 7").unwrap_err();
    assert_eq!(code(&limited), "RATE_LIMITED");
    assert_eq!(
        code(&login(&w, "ann@example.com", PASSWORD).unwrap_err()),
        "RATE_LIMITED",
        "the same window as logins"
    );
    w.advance(900);
    change_password(&w, &tokens, PASSWORD, "a new long secret 7").unwrap();
    assert_eq!(
        window_hits(&w),
        0,
        "a right password gives its attempt back"
    );
}
