//! Who is asking: sessions (cookie + CSRF token) and API tokens, as axum
//! extractors; the cookies the workspace sets.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth;

use crate::store::AgentRow;
use crate::web::state::AppState;

pub const SESSION_COOKIE: &str = "hotline_session";
pub const LOGIN_COOKIE: &str = "hotline_login";
pub const UI_LANG_COOKIE: &str = "hotline_ui";

/// Who is asking: an agent with a session (and its CSRF token) or a token.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub agent: AgentRow,
    /// The session's CSRF token; `None` for API tokens.
    pub csrf: Option<String>,
    pub session_hash: Option<String>,
}

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<Authenticated>, crate::store::StoreError> {
    let now = state.store.now();
    if let Some(token) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let agent = state
            .store
            .api_token_agent(&auth::token_hash(token.trim()), now)
            .await?;
        return Ok(agent.map(|agent| Authenticated {
            agent,
            csrf: None,
            session_hash: None,
        }));
    }
    if let Some(token) = cookie(parts, SESSION_COOKIE) {
        let hash = auth::token_hash(token);
        if let Some((s, agent)) = state.store.session(&hash, now).await? {
            return Ok(Some(Authenticated {
                agent,
                csrf: Some(s.csrf_token),
                session_hash: Some(hash),
            }));
        }
    }
    Ok(None)
}

/// [`authenticate`], a store failure answered 503 (logged, not shown).
async fn authenticated(parts: &Parts, state: &AppState) -> Result<Option<Authenticated>, Response> {
    authenticate(parts, state).await.map_err(|e| {
        tracing::error!(error = %e, "authentication failed");
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    })
}

/// An agent of the UI; anyone else is sent to the login page.
pub struct UiAgent(pub Authenticated);

impl FromRequestParts<Arc<AppState>> for UiAgent {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match authenticated(parts, state).await? {
            Some(a) if a.csrf.is_some() => Ok(UiAgent(a)),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// An agent of the API (token or session); anyone else gets 401.
pub struct ApiAgent(pub Authenticated);

impl FromRequestParts<Arc<AppState>> for ApiAgent {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match authenticated(parts, state).await? {
            Some(a) => {
                // Cookie-authenticated API writes need the CSRF header.
                let writes = !matches!(
                    parts.method,
                    axum::http::Method::GET | axum::http::Method::HEAD
                );
                if writes {
                    if let Some(expected) = &a.csrf {
                        let given = parts
                            .headers
                            .get("x-csrf-token")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        if !same(given, expected) {
                            return Err(super::problem::problem(
                                StatusCode::FORBIDDEN,
                                "CSRF token missing or wrong",
                                "send the session's token as X-CSRF-Token",
                            ));
                        }
                    }
                }
                Ok(ApiAgent(a))
            }
            None => Err(super::problem::problem(
                StatusCode::UNAUTHORIZED,
                "authentication required",
                "use a session or an API bearer token",
            )),
        }
    }
}

/// Constant-time string comparison.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A `Set-Cookie` value for hotline's cookies.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.public_base.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}
