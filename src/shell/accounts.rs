//! Accounts and sessions (SPEC §1): register, login, refresh rotation with reuse detection,
//! logout, profile, password change and usage.

use serde_json::json;

use crate::api::views;
use crate::auth::jwt::{self, SessionClaims, TokenType};
use crate::auth::password::{self, DUMMY_HASH, SALT_BYTES};
use crate::domain::fields::Fields;
use crate::domain::user::{DisplayName, Email, Password, Preferences};
use crate::error::{ApiError, ApiResult};
use crate::store::rows::{CredentialsRow, RefreshStateRow, UserRow};
use crate::store::sql;

use super::call::{Call, Reply};
use super::ctx::{random, Ctx};
use super::d1;
use super::limits;

pub async fn register(call: Call) -> ApiResult<Reply> {
    let ip = limits::client_ip(&call.req);
    let Call { ctx, body, .. } = call;
    limits::hit(&ctx, &[limits::auth_ip(&ctx, &ip)]).await?;
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
        return Err(ApiError::internal("fields reported valid but missing"));
    };
    let hash =
        password::hash(password.expose(), &random::<SALT_BYTES>()?).map_err(ApiError::internal)?;
    let id = ctx.id("usr")?;
    let now = ctx.now.rfc3339();
    let inserted = ctx
        .db
        .run(
            sql::INSERT_USER,
            &[
                (&id).into(),
                email.as_str().into(),
                (&hash).into(),
                name.as_str().into(),
                ctx.config.default_quota_bytes.into(),
                (&now).into(),
            ],
        )
        .await?;
    if inserted == 0 {
        return Err(ApiError::conflict(
            "EMAIL_TAKEN",
            "an account with this email already exists",
        ));
    }
    let user = load_user(&ctx, &id).await?;
    Ok(Reply::Json(201, json!({ "user": views::user(&user) })))
}

pub async fn login(call: Call) -> ApiResult<Reply> {
    let ip = limits::client_ip(&call.req);
    let Call { ctx, body, .. } = call;
    let mut f = Fields::new(body, &["email", "password"]);
    let email = f.string("email");
    let email = f.parse("email", email, Email::parse);
    let password = f.string("password");
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::internal("fields reported valid but missing"));
    };
    // Fail closed before doing anything if tokens cannot be signed.
    ctx.config.jwt_key()?;
    // One round trip: count this request for the IP and this attempt for the email (known and
    // unknown emails alike: no existence oracle), and read the credentials. The attempt is
    // counted before the password is verified, in the statement that reads the window, so
    // parallel guesses cannot all see room under the limit; a right password gives it back.
    let ip_window = limits::auth_ip(&ctx, &ip);
    let failures = limits::password_failures(&ctx, email.as_str());
    let mut stmts = Vec::with_capacity(3);
    if let Some(w) = &ip_window {
        stmts.push(limits::hit_stmt(&ctx, w)?);
    }
    if let Some(w) = &failures {
        stmts.push(limits::hit_stmt(&ctx, w)?);
    }
    stmts.push(
        ctx.db
            .stmt(sql::USER_CREDENTIALS_BY_EMAIL, &[email.as_str().into()])?,
    );
    let results = ctx.db.batch_results(stmts).await?;
    let mut results = results.iter();
    if let Some(w) = &ip_window {
        w.check(limits::hits(results.next())?)?;
    }
    if let Some(w) = &failures {
        // Over the limit even the right password waits: it is not verified at all.
        w.check(limits::hits(results.next())?)?;
    }
    let row = results
        .next()
        .ok_or_else(|| ApiError::internal("login batch: missing credentials"))?
        .results::<CredentialsRow>()
        .map_err(|e| ApiError::internal(format!("credentials row: {e}")))?
        .into_iter()
        .next();
    // Unknown emails verify against a dummy hash so both failures take the same time.
    let (matches, row) = match row {
        Some(row) => (password::verify(&password, &row.password_hash), Some(row)),
        None => {
            std::hint::black_box(password::verify(&password, DUMMY_HASH));
            (false, None)
        }
    };
    let Some(row) = row.filter(|_| matches) else {
        return Err(ApiError::InvalidCredentials);
    };
    if row.disabled_at.is_some() {
        return Err(ApiError::Forbidden("this account is disabled"));
    }
    let give_back = match &failures {
        Some(w) => Some(limits::give_back_stmt(&ctx, w)?),
        None => None,
    };
    let tokens = start_session(&ctx, &row.id, give_back).await?;
    Ok(Reply::Json(200, tokens))
}

/// Creates a session (refresh-token family) and its first tokens, running `also` (the login's
/// give-back of its counted attempt) in the same batch.
async fn start_session(
    ctx: &Ctx,
    user_id: &str,
    also: Option<super::d1::Stmt>,
) -> ApiResult<serde_json::Value> {
    let session_id = ctx.id("ses")?;
    let jti = ctx.id("rtk")?;
    let refresh_expires = ctx
        .now
        .plus_seconds(ctx.config.refresh_ttl_seconds)
        .rfc3339();
    let now = ctx.now.rfc3339();
    let mut stmts = vec![
        ctx.db.stmt(
            sql::INSERT_SESSION,
            &[
                (&session_id).into(),
                user_id.into(),
                (&now).into(),
                (&refresh_expires).into(),
            ],
        )?,
        ctx.db.stmt(
            sql::INSERT_REFRESH,
            &[
                (&jti).into(),
                (&session_id).into(),
                user_id.into(),
                (&now).into(),
                (&refresh_expires).into(),
            ],
        )?,
    ];
    stmts.extend(also);
    ctx.db.batch(stmts).await?;
    issue_tokens(ctx, user_id, &session_id, jti)
}

fn issue_tokens(
    ctx: &Ctx,
    user_id: &str,
    session_id: &str,
    refresh_jti: String,
) -> ApiResult<serde_json::Value> {
    let key = ctx.config.jwt_key()?;
    let access = jwt::issue(
        key,
        SessionClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            jti: ctx.id("atk")?,
            typ: TokenType::Access,
        },
        ctx.now,
        ctx.config.access_ttl_seconds,
    );
    let refresh = jwt::issue(
        key,
        SessionClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            jti: refresh_jti,
            typ: TokenType::Refresh,
        },
        ctx.now,
        ctx.config.refresh_ttl_seconds,
    );
    Ok(views::session_tokens(
        &access,
        &refresh,
        &ctx.now
            .plus_seconds(ctx.config.access_ttl_seconds)
            .rfc3339(),
        &ctx.now
            .plus_seconds(ctx.config.refresh_ttl_seconds)
            .rfc3339(),
    ))
}

fn refresh_claims(ctx: &Ctx, f: &mut Fields) -> ApiResult<Option<SessionClaims>> {
    let Some(token) = f.string("refresh") else {
        return Ok(None);
    };
    let key = ctx.config.jwt_key()?;
    jwt::verify(key, &token, TokenType::Refresh, ctx.now)
        .map(Some)
        .map_err(|e| ApiError::InvalidToken(e.reason()))
}

/// Rotation: a refresh token is spent exactly once. Presenting a spent one (or losing the race
/// to spend it) means two parties hold it, so the whole family is revoked.
pub async fn refresh(call: Call) -> ApiResult<Reply> {
    let ip = limits::client_ip(&call.req);
    let Call { ctx, body, .. } = call;
    let mut f = Fields::new(body, &["refresh"]);
    let claims = refresh_claims(&ctx, &mut f);
    // Every attempt counts for the address, valid token or not; a valid one also for its session.
    let family = match &claims {
        Ok(Some(c)) => limits::window(
            &ctx,
            "refresh-family",
            &c.sid,
            ctx.config.rate_refresh_per_family,
        ),
        _ => None,
    };
    limits::hit(&ctx, &[limits::auth_ip(&ctx, &ip), family]).await?;
    let claims = claims?;
    f.finish()?;
    let Some(claims) = claims else {
        return Err(ApiError::internal("fields reported valid but missing"));
    };
    let state = ctx
        .db
        .first::<RefreshStateRow>(
            sql::REFRESH_STATE,
            &[
                (&claims.jti).into(),
                (&claims.sid).into(),
                (&claims.sub).into(),
            ],
        )
        .await?
        .ok_or(ApiError::InvalidToken("unknown refresh token"))?;
    if state.session_revoked_at.is_some() || state.disabled_at.is_some() {
        return Err(ApiError::InvalidToken("session revoked"));
    }
    if state.used_at.is_some() {
        revoke_family(&ctx, &claims, "refresh_reuse").await?;
        return Err(ApiError::InvalidToken(
            "refresh token already used; session revoked",
        ));
    }
    let new_jti = ctx.id("rtk")?;
    let now = ctx.now.rfc3339();
    let expires = ctx
        .now
        .plus_seconds(ctx.config.refresh_ttl_seconds)
        .rfc3339();
    let changes = ctx
        .db
        .batch(vec![
            ctx.db.stmt(
                sql::SPEND_REFRESH,
                &[(&claims.jti).into(), (&now).into(), (&new_jti).into()],
            )?,
            ctx.db.stmt(
                sql::INSERT_SUCCESSOR,
                &[
                    (&new_jti).into(),
                    (&claims.sid).into(),
                    (&claims.sub).into(),
                    (&now).into(),
                    (&expires).into(),
                    (&claims.jti).into(),
                ],
            )?,
            ctx.db.stmt(
                sql::TOUCH_SESSION,
                &[(&claims.sid).into(), (&now).into(), (&expires).into()],
            )?,
        ])
        .await?;
    match (d1::changed(&changes, 0), d1::changed(&changes, 1)) {
        (true, true) => Ok(Reply::Json(
            200,
            issue_tokens(&ctx, &claims.sub, &claims.sid, new_jti)?,
        )),
        (false, _) => {
            // Someone spent it between our read and our write: a concurrent reuse.
            revoke_family(&ctx, &claims, "refresh_reuse").await?;
            Err(ApiError::InvalidToken(
                "refresh token already used; session revoked",
            ))
        }
        _ => Err(ApiError::InvalidToken("session revoked")),
    }
}

async fn revoke_family(ctx: &Ctx, claims: &SessionClaims, reason: &str) -> ApiResult<()> {
    let now = ctx.now.rfc3339();
    ctx.db
        .run(
            sql::REVOKE_SESSION,
            &[
                (&claims.sid).into(),
                (&claims.sub).into(),
                (&now).into(),
                reason.into(),
            ],
        )
        .await?;
    Ok(())
}

/// Ends the session the refresh token belongs to (its access tokens stop working too).
pub async fn logout(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let Call { ctx, body, .. } = call;
    let mut f = Fields::new(body, &["refresh"]);
    let claims = refresh_claims(&ctx, &mut f)?;
    f.finish()?;
    let Some(claims) = claims else {
        return Err(ApiError::internal("fields reported valid but missing"));
    };
    if claims.sub != user_id {
        return Err(ApiError::InvalidToken(
            "refresh token belongs to another account",
        ));
    }
    revoke_family(&ctx, &claims, "logout").await?;
    Ok(Reply::NoContent)
}

pub async fn logout_all(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let now = call.ctx.now.rfc3339();
    call.ctx
        .db
        .run(
            sql::REVOKE_OTHER_SESSIONS,
            &[
                (&user_id).into(),
                (&now).into(),
                "logout_all".into(),
                "".into(),
            ],
        )
        .await?;
    Ok(Reply::NoContent)
}

pub fn get_me(call: Call) -> ApiResult<Reply> {
    Ok(Reply::Json(
        200,
        json!({ "user": views::user(&call.caller()?.user) }),
    ))
}

pub async fn patch_me(call: Call) -> ApiResult<Reply> {
    let user_id = call.caller()?.user.id.clone();
    let Call { ctx, body, .. } = call;
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
    let now = ctx.now.rfc3339();
    ctx.db
        .run(
            sql::UPDATE_PROFILE,
            &[
                (&user_id).into(),
                name.as_ref().map(DisplayName::as_str).into(),
                preferences.as_ref().map(Preferences::as_json).into(),
                (&now).into(),
            ],
        )
        .await?;
    let user = load_user(&ctx, &user_id).await?;
    Ok(Reply::Json(200, json!({ "user": views::user(&user) })))
}

/// Changes the password and revokes every other session; the caller's own stays signed in.
pub async fn change_password(call: Call) -> ApiResult<Reply> {
    let caller = call.caller()?;
    let (user_id, session_id) = (caller.user.id.clone(), caller.session_id.clone());
    let email = Email::parse(&caller.user.email).map_err(ApiError::internal)?;
    let Call { ctx, body, .. } = call;
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
        return Err(ApiError::internal("fields reported valid but missing"));
    };
    // A stolen access token must not allow unlimited guessing of the current password: the
    // attempt counts in the login failures of this account's email, before it is verified.
    let failures = limits::password_failures(&ctx, email.as_str());
    limits::hit(&ctx, std::slice::from_ref(&failures)).await?;
    let stored: Option<serde_json::Value> = ctx
        .db
        .first(sql::USER_PASSWORD_HASH, &[(&user_id).into()])
        .await?;
    let stored = stored
        .as_ref()
        .and_then(|row| row["password_hash"].as_str())
        .ok_or(ApiError::NotFound)?;
    if !password::verify(&current, stored) {
        return Err(ApiError::field("current_password", "is incorrect"));
    }
    let hash =
        password::hash(new.expose(), &random::<SALT_BYTES>()?).map_err(ApiError::internal)?;
    let now = ctx.now.rfc3339();
    let mut stmts = vec![
        ctx.db.stmt(
            sql::UPDATE_PASSWORD,
            &[(&user_id).into(), (&hash).into(), (&now).into()],
        )?,
        ctx.db.stmt(
            sql::REVOKE_OTHER_SESSIONS,
            &[
                (&user_id).into(),
                (&now).into(),
                "password_changed".into(),
                (&session_id).into(),
            ],
        )?,
    ];
    if let Some(w) = &failures {
        stmts.push(limits::give_back_stmt(&ctx, w)?);
    }
    ctx.db.batch(stmts).await?;
    Ok(Reply::NoContent)
}

async fn load_user(ctx: &Ctx, id: &str) -> ApiResult<UserRow> {
    ctx.db
        .first::<UserRow>(&sql::user_by_id(), &[id.into()])
        .await?
        .ok_or_else(|| ApiError::internal(format!("user {id} vanished after write")))
}
