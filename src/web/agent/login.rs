//! Logging in (throttled by address and by name) and out.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use tracing::{info, warn};

use super::i18n;
use super::page::{internal, Page, UiLang};
use super::session::{same, set_cookie, UiAgent, LOGIN_COOKIE, SESSION_COOKIE};
use crate::auth;
use crate::domain::Millis;
use crate::store::{LoginAttempt, SessionRow};
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub(super) struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub(super) async fn login_page(State(s): State<Arc<AppState>>, lang: UiLang) -> Response {
    login_form(&s, &lang, StatusCode::OK, "", None)
}

/// The login form, with a fresh login-CSRF token in a cookie and the form;
/// `flash` is a text key, `{until}` in it replaced by `until`.
pub(super) fn login_form(
    s: &AppState,
    lang: &UiLang,
    status: StatusCode,
    name: &str,
    flash: Option<(&str, &str)>,
) -> Response {
    let (token, _) = auth::new_token();
    let t = i18n::texts(lang.lang);
    let flash = flash.map(|(k, until)| t.get(k).copied().unwrap_or(k).replace("{until}", until));
    let page = Page::new(s, lang, None);
    let mut resp = page.render_status(
        status,
        "login.html",
        "login",
        context! { login_csrf => token, name, flash, flash_kind => "error" },
    );
    if let Ok(v) = set_cookie(s, LOGIN_COOKIE, &token, 3600).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// Logs an agent in. Every attempt is counted, atomically and before the
/// password is checked, against the account and against the client's
/// address (behind a trusted proxy, the address it forwards): the
/// `MAX_FAILURES`-th attempt of a window is the last one checked, so a burst
/// of guesses gets that many checked whatever its concurrency, and a locked
/// key costs no hashing. Password checks run on a bounded pool; beyond it
/// the answer is an immediate 503.
pub(super) async fn login(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    lang: UiLang,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let client = crate::web::client::client_ip(peer, &headers, &s.cfg.trusted_proxies);
    let (mut parts, _) = Request::new(()).into_parts();
    parts.headers = headers;
    let cookie_token = super::session::cookie(&parts, LOGIN_COOKIE).unwrap_or("");
    if f.csrf.is_empty() || !same(cookie_token, &f.csrf) {
        return login_form(
            &s,
            &lang,
            StatusCode::FORBIDDEN,
            &f.name,
            Some(("login_expired", "")),
        );
    }
    let now = s.store.now();
    let name = f.name.trim().to_owned();
    // The address first: a locked-out address does not use up the
    // account's attempts.
    let keys = [
        crate::accounts::address_key(client),
        crate::accounts::name_key(&name),
    ];
    let page = Page::new(&s, &lang, None);
    let mut last_attempt = Vec::new();
    for key in &keys {
        match s
            .store
            .login_attempt(key, now, auth::FAILURE_WINDOW_MS, auth::MAX_FAILURES)
            .await
        {
            Ok(LoginAttempt::Allowed { attempt }) => {
                if attempt >= auth::MAX_FAILURES {
                    last_attempt.push(key);
                }
            }
            Ok(LoginAttempt::Locked { until }) => {
                crate::metrics::login_refused("locked");
                warn!(key = %key.split(':').next().unwrap_or(""), "login refused: locked out");
                return locked(&s, &lang, &name, until);
            }
            Err(e) => return internal(&page, e),
        }
    }
    let agent = match s.store.agent_by_name(&name).await {
        Ok(a) => a.filter(|a| a.disabled_at.is_none()),
        Err(e) => return internal(&page, e),
    };
    // Unknown names are checked against a dummy hash: the same work and time.
    let hash = agent
        .as_ref()
        .map(|a| a.password_hash.clone())
        .unwrap_or_else(|| auth::dummy_hash().to_owned());
    let ok = match s.passwords.verify(hash, f.password).await {
        Ok(ok) => ok,
        Err(auth::Busy) => {
            crate::metrics::login_refused("busy");
            warn!("login refused: password checks saturated");
            let mut resp = login_form(
                &s,
                &lang,
                StatusCode::SERVICE_UNAVAILABLE,
                &name,
                Some(("login_busy", "")),
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("2"));
            return resp;
        }
    };
    let agent = agent.filter(|_| ok);
    crate::metrics::login_checked(agent.is_some());
    let Some(agent) = agent else {
        let until = now + auth::LOCKOUT_MS;
        for key in &last_attempt {
            if let Err(e) = s.store.login_lock(key, until).await {
                return internal(&page, e);
            }
        }
        warn!(locked = !last_attempt.is_empty(), "failed login");
        if !last_attempt.is_empty() {
            return locked(&s, &lang, &name, until);
        }
        return login_form(
            &s,
            &lang,
            StatusCode::UNAUTHORIZED,
            &name,
            Some(("login_failed", "")),
        );
    };
    for key in &keys {
        let _ = s.store.login_succeeded(key).await;
    }
    let (token, token_hash) = auth::new_token();
    let (csrf, _) = auth::new_token();
    let session = SessionRow {
        token_hash,
        agent_id: agent.id,
        csrf_token: csrf,
        created_at: now,
        expires_at: now + auth::SESSION_MS,
    };
    if let Err(e) = s.store.create_session(&session).await {
        return internal(&page, e);
    }
    info!(agent = %agent.name, "agent logged in");
    let mut resp = Redirect::to("/queue").into_response();
    for c in [
        set_cookie(&s, SESSION_COOKIE, &token, auth::SESSION_MS / 1000),
        set_cookie(&s, LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// 429 with the time (Kraków) the next attempt will be checked.
pub(super) fn locked(s: &AppState, lang: &UiLang, name: &str, until: Millis) -> Response {
    let at = crate::domain::local_display(until);
    let hhmm = at.rsplit(' ').next().unwrap_or(&at);
    let mut resp = login_form(
        s,
        lang,
        StatusCode::TOO_MANY_REQUESTS,
        name,
        Some(("login_locked", hhmm)),
    );
    let secs = ((until - s.store.now()) / 1000).max(1);
    if let Ok(v) = secs.to_string().parse() {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn logout(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !a.csrf.as_deref().is_some_and(|c| same(c, &f.csrf)) {
        return Page {
            state: &s,
            lang: &lang,
            who: Some(&a),
        }
        .error(StatusCode::FORBIDDEN, "forbidden", "csrf_failed");
    }
    if let Some(h) = &a.session_hash {
        let _ = s.store.delete_session(h).await;
    }
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = set_cookie(&s, SESSION_COOKIE, "", 0).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
