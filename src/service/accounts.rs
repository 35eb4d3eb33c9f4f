//! Accounts and sessions (SPEC §1): register, login, refresh rotation with reuse detection,
//! logout, the per-request authentication, profile and password change. Passwords are hashed
//! with salts from the ports' randomness, tokens signed with the configured key at the request's
//! time; nothing here reads a clock, a secret or randomness of its own.

use serde_json::{Map, Value};

use crate::api::views;
use crate::auth::jwt::{self, SessionClaims, TokenType};
use crate::auth::password::{self, DUMMY_HASH, SALT_BYTES};
use crate::domain::fields::Fields;
use crate::domain::rate::Window;
use crate::domain::user::{DisplayName, Email, Password, Preferences};
use crate::error::{ApiError, ApiResult};
use crate::ports::{changed, Db, Outcome, Ports};
use crate::store::accounts::{self as q, NewSession, NewUser, Rotation};
use crate::store::rows::{CredentialsRow, RefreshStateRow, UserRow};
use crate::store::{self, Stmt};

use super::{limits, Cx};

/// A session's tokens, as login and refresh answer them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub access_expires_at: String,
    pub refresh_expires_at: String,
}

impl Tokens {
    /// The answer's JSON (SPEC §8).
    pub fn view(&self) -> views::Tokens {
        views::session_tokens(
            &self.access,
            &self.refresh,
            &self.access_expires_at,
            &self.refresh_expires_at,
        )
    }
}

/// The authenticated caller: the user of a live session of an enabled account.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserRow,
    pub session_id: String,
}

fn missing() -> ApiError {
    ApiError::internal("fields reported valid but missing")
}

/// A fresh salt from the ports' randomness.
fn salt<P: Ports>(cx: &Cx<'_, P>) -> ApiResult<[u8; SALT_BYTES]> {
    let mut salt = [0u8; SALT_BYTES];
    cx.ports.random(&mut salt)?;
    Ok(salt)
}

fn hash<P: Ports>(cx: &Cx<'_, P>, password: &Password) -> ApiResult<String> {
    password::hash(password.expose(), &salt(cx)?).map_err(ApiError::internal)
}

async fn load_user<P: Ports>(cx: &Cx<'_, P>, id: &str) -> ApiResult<UserRow> {
    cx.db()
        .first::<UserRow>(q::user(id))
        .await?
        .ok_or_else(|| ApiError::internal(format!("user {id} vanished after write")))
}

/// `POST /v1/auth/register` from the client address `ip`: counted in the address's window
/// before anything else, then validated; the account gets the default quota.
///
/// # Errors
/// 429; 422 per field; 409 `EMAIL_TAKEN`.
pub async fn register<P: Ports>(
    cx: &Cx<'_, P>,
    ip: &str,
    body: Map<String, Value>,
) -> ApiResult<UserRow> {
    limits::hit(cx, &[limits::auth_ip(cx, ip)]).await?;
    let mut f = Fields::new(body, &["email", "password", "display_name"]);
    let email = f.string("email");
    let email = f.parse("email", email, Email::parse);
    let raw_password = f.string("password");
    let password = f.parse("password", raw_password, |p| {
        Password::parse(p, email.as_ref())
    });
    let name = f.string("display_name");
    let name = f.parse("display_name", name, DisplayName::parse);
    f.finish()?;
    let (Some(email), Some(password), Some(name)) = (email, password, name) else {
        return Err(missing());
    };
    let password_hash = hash(cx, &password)?;
    let id = cx.id("usr")?;
    let now = cx.now_text();
    let insert = q::insert_user(&NewUser {
        id: &id,
        email: email.as_str(),
        password_hash: &password_hash,
        display_name: name.as_str(),
        quota_bytes: cx.config.default_quota_bytes,
        now: &now,
    });
    // The first database decides whether the email is free; then every other database gets
    // its copy of the row (`domain::shard`). A copy that cannot be written takes the account
    // back, so a retry can register again.
    if cx.directory().run(insert.clone()).await? == 0 {
        return Err(ApiError::conflict(
            "EMAIL_TAKEN",
            "an account with this email already exists",
        ));
    }
    for db in cx.ports.dbs().iter().skip(1) {
        if let Err(e) = db.run(insert.clone()).await {
            for db in cx.ports.dbs() {
                db.run(q::delete_new_user(&id)).await.ok();
            }
            return Err(e);
        }
    }
    cx.directory()
        .first::<UserRow>(q::user(&id))
        .await?
        .ok_or_else(|| ApiError::internal(format!("user {id} vanished after write")))
}

/// Runs `stmt` (a change to the account's own row) in every database, the first first: each
/// holds a copy of the row (`domain::shard`). Idempotent, so a failure part-way is mended by
/// the client's retry.
///
/// # Errors
/// The first database failure.
pub async fn on_every_copy<P: Ports>(cx: &Cx<'_, P>, stmt: &Stmt) -> ApiResult<usize> {
    let mut changed = 0;
    for db in cx.ports.dbs() {
        changed = changed.max(db.run(stmt.clone()).await?);
    }
    Ok(changed)
}

/// The login's one round trip: this request counted for the address, this attempt counted for
/// the email (known and unknown emails alike: no existence oracle), and the credentials read.
/// The attempt is counted before the password is verified, in the statement that reads the
/// window, so parallel guesses cannot all see room under the limit.
struct LoginBatch {
    ip: Option<Window>,
    failures: Option<Window>,
}

/// What the login batch answered, each statement's outcome by name.
struct LoginSeen {
    /// The address's count including this request (0 when its limit is off).
    ip_hits: i64,
    /// The email's count of attempts including this one (0 when its limit is off).
    failure_hits: i64,
    credentials: Option<CredentialsRow>,
}

impl LoginBatch {
    fn stmts(&self, email: &str) -> Vec<Stmt> {
        let mut stmts = Vec::with_capacity(3);
        stmts.extend(self.ip.as_ref().map(store::limits::hit));
        stmts.extend(self.failures.as_ref().map(store::limits::hit));
        stmts.push(q::credentials(email));
        stmts
    }

    fn read(&self, outcomes: &[Outcome]) -> ApiResult<LoginSeen> {
        let mut outcomes = outcomes.iter();
        let mut count = |window: &Option<Window>| match window {
            Some(_) => limits::hits(outcomes.next()),
            None => Ok(0),
        };
        let ip_hits = count(&self.ip)?;
        let failure_hits = count(&self.failures)?;
        let credentials = outcomes
            .next()
            .ok_or_else(|| ApiError::internal("login batch: missing credentials"))?
            .first::<CredentialsRow>()?;
        Ok(LoginSeen {
            ip_hits,
            failure_hits,
            credentials,
        })
    }

    /// 429 when either window is over. Over the email's limit even the right password waits:
    /// it is not verified at all.
    fn check(&self, seen: &LoginSeen) -> ApiResult<()> {
        if let Some(w) = &self.ip {
            w.check(seen.ip_hits)?;
        }
        if let Some(w) = &self.failures {
            w.check(seen.failure_hits)?;
        }
        Ok(())
    }
}

/// `POST /v1/auth/login` from `ip`: a new session and its first tokens. A right password gives
/// its counted attempt back, in the batch that opens the session.
///
/// # Errors
/// 422 per field; 429; 401 `INVALID_CREDENTIALS` for an unknown email or a wrong password
/// (alike, in time too); 403 for a disabled account; 500 when tokens cannot be signed.
pub async fn login<P: Ports>(
    cx: &Cx<'_, P>,
    ip: &str,
    body: Map<String, Value>,
) -> ApiResult<Tokens> {
    let mut f = Fields::new(body, &["email", "password"]);
    let email = f.string("email");
    let email = f.parse("email", email, Email::parse);
    let password = f.string("password");
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(missing());
    };
    // Fail closed before doing anything if tokens cannot be signed.
    cx.config.jwt_key()?;
    let batch = LoginBatch {
        ip: limits::auth_ip(cx, ip),
        failures: limits::password_failures(cx, email.as_str()),
    };
    let outcomes = cx.db().batch(batch.stmts(email.as_str())).await?;
    let seen = batch.read(&outcomes)?;
    batch.check(&seen)?;
    // Unknown emails verify against a dummy hash so both failures take the same time.
    let row = match seen.credentials {
        Some(row) => password::verify(&password, &row.password_hash).then_some(row),
        None => {
            std::hint::black_box(password::verify(&password, DUMMY_HASH));
            None
        }
    };
    let Some(row) = row else {
        return Err(ApiError::InvalidCredentials);
    };
    if row.disabled_at.is_some() {
        return Err(ApiError::Forbidden("this account is disabled"));
    }
    let give_back = batch.failures.as_ref().map(store::limits::give_back);
    start_session(cx, &row.id, give_back).await
}

/// Opens a session (a refresh-token family) and issues its first tokens, running `also` (the
/// login's give-back of its counted attempt) in the same batch.
async fn start_session<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    also: Option<Stmt>,
) -> ApiResult<Tokens> {
    let session_id = cx.id("ses")?;
    let jti = cx.id("rtk")?;
    let now = cx.now_text();
    let expires_at = cx.now.plus_seconds(cx.config.refresh_ttl_seconds).rfc3339();
    let mut stmts: Vec<Stmt> = q::start_session(&NewSession {
        id: &session_id,
        user_id,
        refresh_jti: &jti,
        now: &now,
        expires_at: &expires_at,
    })
    .into();
    // The session lives in the user's own database; the login's give-back in the first one,
    // where the attempt was counted.
    if cx.ports.dbs().len() > 1 {
        cx.ports.db_of(user_id).batch(stmts).await?;
        if let Some(also) = also {
            cx.directory().run(also).await?;
        }
    } else {
        stmts.extend(also);
        cx.db().batch(stmts).await?;
    }
    issue_tokens(cx, user_id, &session_id, jti)
}

/// Signs an access token and the refresh token `refresh_jti` of the session.
fn issue_tokens<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    session_id: &str,
    refresh_jti: String,
) -> ApiResult<Tokens> {
    let key = cx.config.jwt_key()?;
    let claims = |jti: String, typ: TokenType| SessionClaims {
        sub: user_id.to_owned(),
        sid: session_id.to_owned(),
        jti,
        typ,
    };
    let access = jwt::issue(
        key,
        claims(cx.id("atk")?, TokenType::Access),
        cx.now,
        cx.config.access_ttl_seconds,
    );
    let refresh = jwt::issue(
        key,
        claims(refresh_jti, TokenType::Refresh),
        cx.now,
        cx.config.refresh_ttl_seconds,
    );
    Ok(Tokens {
        access,
        refresh,
        access_expires_at: cx.now.plus_seconds(cx.config.access_ttl_seconds).rfc3339(),
        refresh_expires_at: cx.now.plus_seconds(cx.config.refresh_ttl_seconds).rfc3339(),
    })
}

/// The verified claims of the body's `refresh` token (`None` when absent: `f` reports it).
fn refresh_claims<P>(cx: &Cx<'_, P>, f: &mut Fields) -> ApiResult<Option<SessionClaims>> {
    let Some(token) = f.string("refresh") else {
        return Ok(None);
    };
    let key = cx.config.jwt_key()?;
    jwt::verify(key, &token, TokenType::Refresh, cx.now)
        .map(Some)
        .map_err(|e| ApiError::InvalidToken(e.reason()))
}

/// 401 for a refresh token presented twice; its family is revoked by then.
fn reused() -> ApiError {
    ApiError::InvalidToken("refresh token already used; session revoked")
}

/// `POST /v1/auth/refresh` from `ip`: rotation. A refresh token is spent exactly once;
/// presenting a spent one (or losing the race to spend it) means two parties hold it, so the
/// whole family (the session) is revoked.
///
/// # Errors
/// 429 (every attempt counts for the address, a valid token also for its session); 401 for an
/// invalid, unknown, spent or revoked token; 422 when `refresh` is missing.
pub async fn refresh<P: Ports>(
    cx: &Cx<'_, P>,
    ip: &str,
    body: Map<String, Value>,
) -> ApiResult<Tokens> {
    let mut f = Fields::new(body, &["refresh"]);
    let claims = refresh_claims(cx, &mut f);
    let family = match &claims {
        Ok(Some(c)) => limits::refresh_family(cx, &c.sid),
        _ => None,
    };
    limits::hit(cx, &[limits::auth_ip(cx, ip), family]).await?;
    let claims = claims?;
    f.finish()?;
    let Some(claims) = claims else {
        return Err(missing());
    };
    let home = cx.ports.db_of(&claims.sub);
    let state = home
        .first::<RefreshStateRow>(q::refresh_state(&claims.jti, &claims.sid, &claims.sub))
        .await?
        .ok_or(ApiError::InvalidToken("unknown refresh token"))?;
    if state.session_revoked_at.is_some() || state.disabled_at.is_some() {
        return Err(ApiError::InvalidToken("session revoked"));
    }
    if state.used_at.is_some() {
        revoke_family(cx, &claims, "refresh_reuse").await?;
        return Err(reused());
    }
    let successor = cx.id("rtk")?;
    let now = cx.now_text();
    let expires_at = cx.now.plus_seconds(cx.config.refresh_ttl_seconds).rfc3339();
    let outcomes = home
        .batch(
            q::rotate_refresh(&Rotation {
                jti: &claims.jti,
                successor: &successor,
                session_id: &claims.sid,
                user_id: &claims.sub,
                now: &now,
                expires_at: &expires_at,
            })
            .into(),
        )
        .await?;
    let (spent, succeeded) = (changed(&outcomes, 0), changed(&outcomes, 1));
    match (spent, succeeded) {
        (true, true) => issue_tokens(cx, &claims.sub, &claims.sid, successor),
        (false, _) => {
            // Someone spent it between our read and our write: a concurrent reuse.
            revoke_family(cx, &claims, "refresh_reuse").await?;
            Err(reused())
        }
        (true, false) => Err(ApiError::InvalidToken("session revoked")),
    }
}

async fn revoke_family<P: Ports>(
    cx: &Cx<'_, P>,
    claims: &SessionClaims,
    reason: &str,
) -> ApiResult<()> {
    cx.ports
        .db_of(&claims.sub)
        .run(q::revoke_session(
            &claims.sid,
            &claims.sub,
            &cx.now_text(),
            reason,
        ))
        .await
        .map(drop)
}

/// `POST /v1/auth/logout`: ends the session the body's refresh token belongs to (its access
/// tokens stop working too); only the caller's own.
///
/// # Errors
/// 401 for an invalid token or another account's; 422 when `refresh` is missing.
pub async fn logout<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    body: Map<String, Value>,
) -> ApiResult<()> {
    let mut f = Fields::new(body, &["refresh"]);
    let claims = refresh_claims(cx, &mut f)?;
    f.finish()?;
    let Some(claims) = claims else {
        return Err(missing());
    };
    if claims.sub != user_id {
        return Err(ApiError::InvalidToken(
            "refresh token belongs to another account",
        ));
    }
    revoke_family(cx, &claims, "logout").await
}

/// `POST /v1/auth/logout_all`: ends every session of the user, the caller's own included.
///
/// # Errors
/// Database errors.
pub async fn logout_all<P: Ports>(cx: &Cx<'_, P>, user_id: &str) -> ApiResult<()> {
    cx.db()
        .run(q::revoke_other_sessions(
            user_id,
            None,
            &cx.now_text(),
            "logout_all",
        ))
        .await
        .map(drop)
}

/// The claims of a bearer access token: signature, type and times (not yet its session).
///
/// # Errors
/// 401 without a token or for an invalid one; 500 when tokens cannot be verified.
pub fn access_claims<P>(cx: &Cx<'_, P>, bearer: Option<&str>) -> ApiResult<SessionClaims> {
    verify_access(cx.config, cx.now, bearer)
}

/// [`access_claims`] from the settings and the time alone (the shell reads the caller's id to
/// route the request before it has a context).
///
/// # Errors
/// As [`access_claims`].
pub fn verify_access(
    config: &crate::config::Config,
    now: crate::domain::time::Millis,
    bearer: Option<&str>,
) -> ApiResult<SessionClaims> {
    let token = bearer.ok_or(ApiError::InvalidToken("missing bearer token"))?;
    let key = config.jwt_key()?;
    jwt::verify(key, token, TokenType::Access, now).map_err(|e| ApiError::InvalidToken(e.reason()))
}

/// Why a valid access token is refused by the database: its session is revoked (or unknown), or
/// its account disabled. The one 401 a lagging read replica can give wrongly (`shell::http`).
pub const SESSION_REVOKED: &str = "session revoked";

/// The per-request check (and `GET /v1/me`): the bearer token is valid, its session live and its
/// account enabled.
///
/// # Errors
/// As [`access_claims`]; 401 for a revoked session or a disabled account.
pub async fn authenticate<P: Ports>(cx: &Cx<'_, P>, bearer: Option<&str>) -> ApiResult<Session> {
    session_of(cx, access_claims(cx, bearer)?).await
}

/// [`authenticate`] for an access token already verified (the shell verifies it once, to route
/// the request): its session must be live and its account enabled.
///
/// # Errors
/// As [`authenticate`], but for the token itself.
pub async fn session_of<P: Ports>(cx: &Cx<'_, P>, claims: SessionClaims) -> ApiResult<Session> {
    let user = cx
        .ports
        .db_of(&claims.sub)
        .first::<UserRow>(q::authenticate(&claims.sid, &claims.sub))
        .await?
        .ok_or(ApiError::InvalidToken(SESSION_REVOKED))?;
    Ok(Session {
        user,
        session_id: claims.sid,
    })
}

/// `PATCH /v1/me`: `display_name`, `preferences` (an object); absent keeps a field.
///
/// # Errors
/// 422 per field.
pub async fn patch_me<P: Ports>(
    cx: &Cx<'_, P>,
    user_id: &str,
    body: Map<String, Value>,
) -> ApiResult<UserRow> {
    let mut f = Fields::new(body, &["display_name", "preferences"]);
    let name = if f.present("display_name") {
        let raw = f.string("display_name");
        f.parse("display_name", raw, DisplayName::parse)
    } else {
        None
    };
    let preferences = match f.opt_value("preferences") {
        Some(value) => match Preferences::parse(&value) {
            Ok(p) => Some(p),
            Err(message) => {
                f.error("preferences", message);
                None
            }
        },
        None if f.present("preferences") => {
            f.error("preferences", "must be a JSON object");
            None
        }
        None => None,
    };
    f.finish()?;
    let update = q::update_profile(
        user_id,
        name.as_ref().map(DisplayName::as_str),
        preferences.as_ref().map(Preferences::as_json),
        &cx.now_text(),
    );
    on_every_copy(cx, &update).await?;
    load_user(cx, user_id).await
}

/// `POST /v1/me/password` by the caller `user` in session `session_id`: changes the password and
/// revokes every other session; the caller's own stays signed in. A stolen access token must
/// not allow unlimited guessing of the current password: the attempt counts in the login
/// failures of the account's email before it is verified, and a right one gives it back.
///
/// # Errors
/// 422 per field (a wrong `current_password` too); 429.
pub async fn change_password<P: Ports>(
    cx: &Cx<'_, P>,
    user: &UserRow,
    session_id: &str,
    body: Map<String, Value>,
) -> ApiResult<()> {
    let email = Email::parse(&user.email).map_err(ApiError::internal)?;
    let mut f = Fields::new(body, &["current_password", "new_password"]);
    let current = f.string("current_password");
    let raw_new = f.string("new_password");
    let new = f.parse("new_password", raw_new.clone(), |p| {
        Password::parse(p, Some(&email))
    });
    if raw_new.is_some() && raw_new == current {
        f.error("new_password", "must differ from the current password");
    }
    f.finish()?;
    let (Some(current), Some(new)) = (current, new) else {
        return Err(missing());
    };
    let failures = limits::password_failures(cx, email.as_str());
    limits::hit_in(cx, cx.directory(), std::slice::from_ref(&failures)).await?;
    let stored = cx.db().first::<Value>(q::password_hash(&user.id)).await?;
    let stored = stored
        .as_ref()
        .and_then(|row| row["password_hash"].as_str())
        .ok_or(ApiError::NotFound)?;
    if !password::verify(&current, stored) {
        return Err(ApiError::field("current_password", "is incorrect"));
    }
    let password_hash = hash(cx, &new)?;
    let now = cx.now_text();
    let update = q::update_password(&user.id, &password_hash, &now);
    let revoke = q::revoke_other_sessions(&user.id, Some(session_id), &now, "password_changed");
    let give_back = failures.as_ref().map(store::limits::give_back);
    if cx.ports.dbs().len() == 1 {
        let mut stmts = vec![update, revoke];
        stmts.extend(give_back);
        return cx.db().batch(stmts).await.map(drop);
    }
    // Sharded: sign-in reads the first database's copy, so it changes first; the sessions are
    // in the user's own database (`domain::shard`).
    on_every_copy(cx, &update).await?;
    cx.ports.db_of(&user.id).run(revoke).await?;
    if let Some(give_back) = give_back {
        cx.directory().run(give_back).await?;
    }
    Ok(())
}
