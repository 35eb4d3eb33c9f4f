//! What a handler gets ([`Call`]: the request taken apart, the caller, the context) and what it
//! answers ([`Reply`]). Its own module, so that `http` (which dispatches to the handlers) and the
//! handlers (which use these) do not import each other.

use serde_json::{Map, Value};
use worker::{Request, Response};

use crate::api::shape::Maybe;
use crate::api::views::DownloadUrl;
use crate::auth::jwt::SessionClaims;
use crate::error::{ApiError, ApiResult};
use crate::service::library::Download;
use crate::service::Cx;
use crate::store::rows::UserRow;

use super::ctx::Ctx;

/// What a handler answers on success.
pub enum Reply {
    Json(u16, Value),
    /// JSON already serialised (score rows built by SQL).
    JsonText(u16, String),
    /// A response built by the handler (blob downloads); security headers are still added.
    Raw(u16, Response),
    NoContent,
    /// Answer to `OPTIONS`: which methods the path supports.
    Allow(Vec<&'static str>),
    /// 202 `{state: "pending"}` with `Retry-After`: the queue is making what was asked for.
    Pending,
    /// 202 `{state: "running"}` with `Retry-After`: the queue has started on it.
    Running,
}

impl Reply {
    /// A typed view as the JSON answer.
    ///
    /// # Errors
    /// 500 if it does not serialise (it always does: views hold only JSON-safe types).
    pub fn view(status: u16, view: &impl serde::Serialize) -> ApiResult<Self> {
        serde_json::to_string(view)
            .map(|text| Self::JsonText(status, text))
            .map_err(|e| ApiError::internal(format!("view: {e}")))
    }
}

/// The authenticated caller.
pub struct Caller {
    pub user: UserRow,
    pub session_id: String,
}

/// Everything a handler gets.
pub struct Call {
    pub ctx: Ctx,
    /// The invocation, for work after the response (`wait_until`: live-room notices).
    pub context: std::rc::Rc<worker::Context>,
    pub req: Request,
    /// Path parameters in template order.
    pub params: Vec<String>,
    /// Decoded query-string pairs, in order.
    pub query: Vec<(String, String)>,
    /// `scheme://host[:port]` the request came to.
    pub origin: String,
    pub body: Map<String, Value>,
    /// The checked caller, for [`Access::User`] routes.
    pub caller: Option<Caller>,
    /// Verified access-token claims, for [`Access::UserBatched`] routes (session not yet checked).
    pub claims: Option<SessionClaims>,
}

impl Call {
    /// The caller of a route declared [`Access::User`].
    ///
    /// # Errors
    /// 401 if the route was wrongly declared public (a programming error caught loudly).
    pub fn caller(&self) -> ApiResult<&Caller> {
        self.caller
            .as_ref()
            .ok_or(ApiError::InvalidToken("missing bearer token"))
    }
}

impl Call {
    /// The context the use cases run with, for this request.
    pub fn cx(&self) -> Cx<'_, Ctx> {
        self.ctx.cx(&self.origin)
    }

    /// Path parameter `i` (empty when absent).
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    /// The caller's user id.
    ///
    /// # Errors
    /// As [`Call::caller`].
    pub fn user_id(&self) -> ApiResult<&str> {
        Ok(&self.caller()?.user.id)
    }
}

impl Reply {
    /// 200 with the URL, or 202 while the queue makes it.
    pub fn download(d: Download) -> Self {
        match d {
            Download::Ready { url, expires_at } => Self::Json(
                200,
                serde_json::to_value(DownloadUrl {
                    url,
                    expires_at,
                    first_page: Maybe(None),
                    last_page: Maybe(None),
                })
                .unwrap_or_default(),
            ),
            Download::Pages {
                url,
                expires_at,
                first_page,
                last_page,
            } => Self::Json(
                200,
                serde_json::to_value(DownloadUrl {
                    url,
                    expires_at,
                    first_page: Maybe(Some(first_page)),
                    last_page: Maybe(Some(last_page)),
                })
                .unwrap_or_default(),
            ),
            Download::Pending => Self::Pending,
            Download::Running => Self::Running,
        }
    }
}
