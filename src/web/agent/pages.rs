//! The workspace's pages: login, the queue, missed calls, the draft view,
//! audio with HTTP Range, live updates, administration.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use serde::Deserialize;
use tower::ServiceExt;
use tracing::{info, warn};

use super::{
    i18n, same, set_cookie, Authenticated, UiAgent, LOGIN_COOKIE, SESSION_COOKIE, UI_LANG_COOKIE,
};
use crate::auth;
use crate::domain::{now_ms, Language, Millis, ReportNumber, ReportStatus};
use crate::store::{
    Decision, LoginAttempt, Report, ReportEdit, ReportFilter, SessionRow, StoreError,
};
use crate::web::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue))
        .route("/missed", get(missed))
        .route("/reports/{number}", get(report_page).post(report_action))
        .route("/reports/{number}/audio", get(audio))
        .route("/events", get(events))
        .route("/admin", get(admin))
        .route("/admin/agents/{name}", post(admin_agent))
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    include_str!("../../../static/app.css"),
                )
            }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    include_str!("../../../static/app.js"),
                )
            }),
        )
}

/// The UI language: `?ui=` (remembered in a cookie), else the cookie, else Polish.
struct UiLang {
    lang: &'static str,
    set: Option<&'static str>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for UiLang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let query = parts.uri.query().unwrap_or("");
        let asked = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "ui")
            .map(|(_, v)| v.into_owned());
        let pick = |v: &str| if v == "en" { "en" } else { "pl" };
        Ok(match asked {
            Some(v) => UiLang {
                lang: pick(&v),
                set: Some(pick(&v)),
            },
            None => UiLang {
                lang: pick(super::cookie(parts, UI_LANG_COOKIE).unwrap_or("pl")),
                set: None,
            },
        })
    }
}

struct Page<'a> {
    state: &'a AppState,
    lang: &'a UiLang,
    who: Option<&'a Authenticated>,
}

impl Page<'_> {
    fn render(&self, template: &str, page: &str, extra: minijinja::Value) -> Response {
        self.render_status(StatusCode::OK, template, page, extra)
    }

    fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        page: &str,
        extra: minijinja::Value,
    ) -> Response {
        let who = self
            .who
            .map(|a| context! { name => a.agent.name, is_admin => a.agent.is_admin() });
        let base = context! {
            t => i18n::texts(self.lang.lang),
            ui_lang => self.lang.lang,
            other_lang => if self.lang.lang == "en" { "pl" } else { "en" },
            agent => who,
            csrf => self.who.and_then(|a| a.csrf.clone()).unwrap_or_default(),
            page => page,
        };
        let ctx = context! { ..extra, ..base };
        let html = self
            .state
            .templates
            .get_template(template)
            .and_then(|t| t.render(ctx));
        let mut resp = match html {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
            }
        };
        if let Some(l) = self.lang.set {
            if let Ok(v) = set_cookie(self.state, UI_LANG_COOKIE, l, 365 * 24 * 3600).parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        resp
    }

    fn error(&self, status: StatusCode, heading: &str, message: &str) -> Response {
        let t = i18n::texts(self.lang.lang);
        let heading = t.get(heading).copied().unwrap_or(heading);
        let message = t.get(message).copied().unwrap_or(message);
        self.render_status(status, "error.html", "", context! { heading, message })
    }

    async fn counts(&self) -> BTreeMap<String, i64> {
        self.state
            .store
            .count_reports()
            .await
            .unwrap_or_default()
            .into_iter()
            .collect()
    }
}

/// Times for agents: display form and ISO form, in Kraków's time zone.
pub fn local_time(ms: Millis) -> (String, String) {
    (
        crate::domain::local_display(ms),
        crate::domain::local_iso(ms),
    )
}

fn internal(page: &Page<'_>, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    page.error(StatusCode::INTERNAL_SERVER_ERROR, "error", "error_body")
}

// Login and logout.

#[derive(Deserialize, Default)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login_page(State(s): State<Arc<AppState>>, lang: UiLang) -> Response {
    login_form(&s, &lang, StatusCode::OK, "", None)
}

/// The login form, with a fresh login-CSRF token in a cookie and the form;
/// `flash` is a text key, `{until}` in it replaced by `until`.
fn login_form(
    s: &AppState,
    lang: &UiLang,
    status: StatusCode,
    name: &str,
    flash: Option<(&str, &str)>,
) -> Response {
    let (token, _) = auth::new_token();
    let t = i18n::texts(lang.lang);
    let flash = flash.map(|(k, until)| t.get(k).copied().unwrap_or(k).replace("{until}", until));
    let page = Page {
        state: s,
        lang,
        who: None,
    };
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
async fn login(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    lang: UiLang,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let client = crate::web::client::client_ip(peer, &headers, &s.cfg.trusted_proxies);
    let (mut parts, _) = Request::new(()).into_parts();
    parts.headers = headers;
    let cookie_token = super::cookie(&parts, LOGIN_COOKIE).unwrap_or("");
    if f.csrf.is_empty() || !same(cookie_token, &f.csrf) {
        return login_form(
            &s,
            &lang,
            StatusCode::FORBIDDEN,
            &f.name,
            Some(("login_expired", "")),
        );
    }
    let now = now_ms();
    let name = f.name.trim().to_owned();
    // The address first: a locked-out address does not use up the
    // account's attempts.
    let keys = [
        crate::accounts::address_key(client),
        crate::accounts::name_key(&name),
    ];
    let page = Page {
        state: &s,
        lang: &lang,
        who: None,
    };
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
fn locked(s: &AppState, lang: &UiLang, name: &str, until: Millis) -> Response {
    let at = crate::domain::local_display(until);
    let hhmm = at.rsplit(' ').next().unwrap_or(&at);
    let mut resp = login_form(
        s,
        lang,
        StatusCode::TOO_MANY_REQUESTS,
        name,
        Some(("login_locked", hhmm)),
    );
    let secs = ((until - now_ms()) / 1000).max(1);
    if let Ok(v) = secs.to_string().parse() {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
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

// The queue.

#[derive(Deserialize, Default)]
struct QueueQuery {
    status: Option<String>,
    category: Option<String>,
    language: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn day_start(s: &str) -> Option<Millis> {
    crate::domain::parse_instant(s)
}

async fn queue(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Query(q): Query<QueueQuery>,
) -> Response {
    list_page(
        &s,
        &a,
        &lang,
        q,
        ReportStatus::Draft,
        "queue",
        "drafts_title",
    )
    .await
}

async fn missed(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Query(q): Query<QueueQuery>,
) -> Response {
    list_page(
        &s,
        &a,
        &lang,
        q,
        ReportStatus::MissedCall,
        "missed",
        "missed_title",
    )
    .await
}

async fn list_page(
    s: &AppState,
    a: &Authenticated,
    lang: &UiLang,
    q: QueueQuery,
    default: ReportStatus,
    page_id: &str,
    heading: &str,
) -> Response {
    let page = Page {
        state: s,
        lang,
        who: Some(a),
    };
    let status = q
        .status
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    let category = q
        .category
        .clone()
        .filter(|c| s.script.menu.category(c).is_some());
    let language = q
        .language
        .as_deref()
        .and_then(|l| l.parse::<Language>().ok());
    let filter = ReportFilter {
        status: Some(status),
        category: category.clone(),
        language,
        since: q.from.as_deref().and_then(day_start),
        until: q
            .to
            .as_deref()
            .and_then(day_start)
            .map(|t| t + 24 * 3600 * 1000),
        oldest_first: true,
        limit: 200,
        offset: 0,
    };
    let reports = match s.store.list_reports(&filter).await {
        Ok(r) => r,
        Err(e) => return internal(&page, e),
    };
    let ui = if lang.lang == "en" {
        Language::En
    } else {
        Language::Pl
    };
    let rows: Vec<minijinja::Value> = reports
        .iter()
        .map(|r| {
            let (created, created_iso) = local_time(r.created_at);
            let snippet: String = r.text.as_deref().or(r.note.as_deref()).unwrap_or("").chars().take(140).collect();
            context! {
                number => r.number, created, created_iso, category_name => s.script.menu.category_name(&r.category, ui),
                language => r.language, caller => r.caller, snippet, audio_status => r.audio_status,
            }
        })
        .collect();
    let heading = i18n::texts(lang.lang)
        .get(heading)
        .copied()
        .unwrap_or(heading);
    let statuses: Vec<minijinja::Value> = ReportStatus::ALL
        .iter()
        .map(|st| context! { code => st.as_str() })
        .collect();
    page.render(
        "queue.html",
        page_id,
        context! {
            heading, reports => rows, statuses, categories => categories(s, ui), counts => page.counts().await,
            filter => context! {
                status => status.as_str(), category => category.unwrap_or_default(),
                language => language.map(|l| l.code()).unwrap_or(""), from => q.from.unwrap_or_default(), to => q.to.unwrap_or_default(),
            },
        },
    )
}

fn categories(s: &AppState, ui: Language) -> Vec<minijinja::Value> {
    s.script
        .menu
        .categories
        .iter()
        .map(|c| context! { code => c.code, name => s.script.menu.category_name(&c.code, ui) })
        .collect()
}

// One report.

async fn report_page(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(number): Path<String>,
) -> Response {
    show_report(&s, &a, &lang, &number, StatusCode::OK, None).await
}

/// What to show above the form after an action.
struct Notice {
    flash: Option<&'static str>,
    kind: &'static str,
    conflict: bool,
    mine: Option<String>,
}

async fn show_report(
    s: &AppState,
    a: &Authenticated,
    lang: &UiLang,
    number: &str,
    status: StatusCode,
    notice: Option<Notice>,
) -> Response {
    let page = Page {
        state: s,
        lang,
        who: Some(a),
    };
    let Ok(number) = ReportNumber::parse(number) else {
        return page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body");
    };
    let d = match s.store.report_detail(&number).await {
        Ok(Some(d)) => d,
        Ok(None) => return page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body"),
        Err(e) => return internal(&page, e),
    };
    let ui = if lang.lang == "en" {
        Language::En
    } else {
        Language::Pl
    };
    #[derive(Deserialize)]
    struct Seg {
        start_ms: i64,
        end_ms: i64,
        text: String,
        avg_logprob: f32,
        /// Speech that gave no text (the reason is for the logs, not agents).
        #[serde(default)]
        unclear: Option<String>,
    }
    let segments_of = |t: &crate::store::TranscriptRow, player: &str| -> Vec<minijinja::Value> {
        serde_json::from_str::<Vec<Seg>>(&t.segments)
            .unwrap_or_default()
            .iter()
            .map(|sg| {
                let unclear = sg.unclear.is_some();
                context! {
                    start => sg.start_ms, clock => crate::domain::clock(sg.start_ms),
                    end_clock => crate::domain::clock(sg.end_ms), text => sg.text,
                    low => !unclear && sg.avg_logprob < -0.8, unclear, player,
                }
            })
            .collect()
    };
    // One part per recording: its player and its own segments. A second
    // recording is never merged into the first one's list.
    let audio_gone = d.report.audio_status == "deleted";
    let total = d.recordings.len();
    let parts: Vec<minijinja::Value> = d
        .recordings
        .iter()
        .enumerate()
        .map(|(i, rec)| {
            let player = if i == 0 {
                "player".to_owned()
            } else {
                format!("player-{}", i + 1)
            };
            let segments = d
                .transcripts
                .iter()
                .find(|t| t.recording_id == rec.id)
                .map(|t| segments_of(t, &player))
                .unwrap_or_default();
            let late = d.report.decided_at.is_some_and(|at| rec.created_at >= at);
            context! {
                index => i + 1, total, player, segments, late,
                audio => (rec.local_path.is_some() && !audio_gone)
                    .then(|| format!("/reports/{}/audio?recording={}", d.report.number, i + 1)),
                received => local_time(rec.created_at).0,
            }
        })
        .collect();
    let segments = d
        .transcript
        .as_ref()
        .map(|t| segments_of(t, "player"))
        .unwrap_or_default();
    let (prev, next) = neighbours(s, &d.report).await;
    let (created, created_iso) = local_time(d.report.created_at);
    let audit: Vec<minijinja::Value> = d
        .audit
        .iter()
        .map(|e| context! { at => local_time(e.at).0, actor => e.actor, action => e.action })
        .collect();
    let has_audio =
        d.recordings.iter().any(|r| r.local_path.is_some()) && d.report.audio_status != "deleted";
    let candidates: Vec<minijinja::Value> = s
        .store
        .address_candidates(d.report.id)
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let address = match &c.house {
                Some(h) => format!("{} {h}", c.street),
                None => c.street.clone(),
            };
            context! { address, heard => c.heard, score => (c.score * 100.0).round() as i64 }
        })
        .collect();
    let window = s.cfg.duplicate_window_days.max(0) * 24 * 3600 * 1000;
    let duplicates: Vec<minijinja::Value> = s
        .store
        .likely_duplicates(&d.report, window)
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| context! { number => r.number, status => r.status, created => local_time(r.created_at).0, text => r.text.as_deref().unwrap_or("").chars().take(100).collect::<String>() })
        .collect();
    let editable = d
        .report
        .status()
        .is_some_and(crate::domain::lifecycle::may_edit);
    let t = i18n::texts(lang.lang);
    let notice = notice.unwrap_or(Notice {
        flash: None,
        kind: "ok",
        conflict: false,
        mine: None,
    });
    page.render_status(
        status,
        "report.html",
        "report",
        context! {
            r => d.report, segments, parts, late => d.report.late_recording_at.map(|t| local_time(t).0), prev, next, created, created_iso, audit, has_audio, editable,
            menu_path => d.call.menu_path, categories => categories(s, ui), counts => page.counts().await,
            flash => notice.flash.map(|k| t.get(k).copied().unwrap_or(k)), flash_kind => notice.kind,
            conflict => notice.conflict, mine => notice.mine, candidates, duplicates,
        },
    )
}

/// The previous and next report in the same list (oldest waiting first).
async fn neighbours(s: &AppState, r: &Report) -> (Option<String>, Option<String>) {
    let status = r
        .status()
        .filter(|st| matches!(st, ReportStatus::Draft | ReportStatus::MissedCall))
        .unwrap_or(ReportStatus::Draft);
    let list = s
        .store
        .list_reports(&ReportFilter {
            status: Some(status),
            oldest_first: true,
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    match list.iter().position(|x| x.id == r.id) {
        Some(i) => (
            i.checked_sub(1).map(|j| list[j].number.clone()),
            list.get(i + 1).map(|x| x.number.clone()),
        ),
        // A decided report: offer the oldest waiting one.
        None => (None, list.first().map(|x| x.number.clone())),
    }
}

#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    version: i64,
    text: Option<String>,
    category: Option<String>,
    address: Option<String>,
    reason: Option<String>,
    duplicate_of: Option<String>,
}

async fn report_action(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(number): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let page = Page {
        state: &s,
        lang: &lang,
        who: Some(&a),
    };
    if !a.csrf.as_deref().is_some_and(|c| same(c, &f.csrf)) {
        warn!(agent = %a.agent.name, "report form without a valid CSRF token");
        return page.error(StatusCode::FORBIDDEN, "forbidden", "csrf_failed");
    }
    let Ok(num) = ReportNumber::parse(&number) else {
        return page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body");
    };
    let report = match s.store.get_report(&num).await {
        Ok(Some(r)) => r,
        Ok(None) => return page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body"),
        Err(e) => return internal(&page, e),
    };
    let actor = a.agent.name.clone();
    let edit = ReportEdit {
        text: f.text.clone().map(|t| t.trim().to_owned()),
        category: f
            .category
            .clone()
            .filter(|c| s.script.menu.category(c).is_some()),
        address: f.address.clone().map(|t| t.trim().to_owned()),
    }
    .without_stray_controls();
    let changed = edit.text.as_deref() != report.text.as_deref().or(Some(""))
        && edit.text.is_some()
        || edit
            .category
            .as_deref()
            .is_some_and(|c| c != report.category)
        || edit.address.as_deref() != report.address.as_deref().or(Some(""))
            && edit.address.is_some();
    let result: Result<(&'static str, Option<Report>), StoreError> = async {
        let mut version = f.version;
        if changed || f.action == "save" {
            version = s
                .store
                .edit_report(report.id, version, &edit, &actor, crate::domain::now_ms())
                .await?
                .version;
        }
        match f.action.as_str() {
            "confirm" => s
                .store
                .decide_report(
                    report.id,
                    version,
                    &Decision::Confirm,
                    &actor,
                    crate::domain::now_ms(),
                )
                .await
                .map(|r| ("confirmed_msg", Some(r))),
            "reject" => {
                let reason = f
                    .reason
                    .as_deref()
                    .and_then(|r| r.parse::<crate::domain::RejectReason>().ok())
                    .unwrap_or(crate::domain::RejectReason::Spam);
                let dup = match f
                    .duplicate_of
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                {
                    Some(d) => match ReportNumber::parse(d).ok() {
                        Some(n) => match s.store.get_report(&n).await? {
                            Some(other) if other.id != report.id => Some(other.id),
                            _ => return Ok(("bad_duplicate", None)),
                        },
                        None => return Ok(("bad_duplicate", None)),
                    },
                    None => None,
                };
                let reason = if dup.is_some() {
                    crate::domain::RejectReason::Duplicate
                } else {
                    reason
                };
                s.store
                    .decide_report(
                        report.id,
                        version,
                        &Decision::Reject {
                            reason,
                            duplicate_of: dup,
                        },
                        &actor,
                        crate::domain::now_ms(),
                    )
                    .await
                    .map(|r| ("rejected_msg", Some(r)))
            }
            _ => Ok(("saved", None)),
        }
    }
    .await;
    match result {
        Ok(("bad_duplicate", _)) => {
            show_report(
                &s,
                &a,
                &lang,
                &number,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(Notice {
                    flash: Some("bad_duplicate"),
                    kind: "error",
                    conflict: false,
                    mine: None,
                }),
            )
            .await
        }
        Ok((msg, decided)) => {
            info!(agent = %actor, report = %number, action = %f.action, "report updated");
            if decided.is_some() {
                // On to the next waiting report, as an agent works through the queue.
                let (_, next) = neighbours(&s, &report).await;
                let to = next
                    .filter(|n| n != &number)
                    .map(|n| format!("/reports/{n}"))
                    .unwrap_or_else(|| "/queue".into());
                return Redirect::to(&to).into_response();
            }
            show_report(
                &s,
                &a,
                &lang,
                &number,
                StatusCode::OK,
                Some(Notice {
                    flash: Some(msg),
                    kind: "ok",
                    conflict: false,
                    mine: None,
                }),
            )
            .await
        }
        Err(StoreError::Conflict(_)) => {
            warn!(agent = %actor, report = %number, "edit conflict");
            show_report(
                &s,
                &a,
                &lang,
                &number,
                StatusCode::CONFLICT,
                Some(Notice {
                    flash: None,
                    kind: "error",
                    conflict: true,
                    mine: f.text,
                }),
            )
            .await
        }
        Err(e) => internal(&page, e),
    }
}

/// The recording, with HTTP Range support (seeking in the player).
async fn audio(
    State(s): State<Arc<AppState>>,
    UiAgent(_a): UiAgent,
    Path(number): Path<String>,
    req: Request,
) -> Response {
    serve_audio(&s, &number, req).await
}

pub async fn serve_audio(s: &AppState, number: &str, req: Request) -> Response {
    let Ok(num) = ReportNumber::parse(number) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let detail = match s.store.report_detail(&num).await {
        Ok(Some(d)) => d,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "audio lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    // `?recording=N` (1-based) picks one of several; default: the first.
    let index = req
        .uri()
        .query()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "recording")
                .map(|(_, v)| v.parse::<usize>().ok())
        })
        .unwrap_or(Some(1));
    let Some(rel) = index
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| detail.recordings.get(i))
        .and_then(|r| r.local_path.clone())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Stored paths are hotline's own (content-addressed), but never trust a
    // path to leave the data directory.
    let rel = std::path::Path::new(&rel);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = s.cfg.data_dir.join(rel);
    // ServeFile answers Range requests (206) and types `.wav` as audio/wav.
    match tower_http::services::ServeFile::new(path)
        .oneshot(req)
        .await
    {
        Ok(r) => r.into_response(),
        Err(never) => match never {},
    }
}

/// Server-sent events: the queue's size whenever it changes (any server or
/// worker may have changed it, so the database is polled, not a channel).
/// The session is checked on every poll: logging out, a password change or
/// a disabled account ends the stream within one poll.
async fn events(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let session = a.session_hash.unwrap_or_default();
    let stream = futures_util::stream::unfold(
        (s, session, None::<(i64, i64)>),
        |(s, session, last)| async move {
            loop {
                if last.is_some() {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                match s.store.session(&session, now_ms()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return None,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        continue;
                    }
                }
                let Ok(sig) = s.store.queue_signature().await else {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                };
                if Some(sig) != last {
                    let drafts = s
                        .store
                        .count_reports()
                        .await
                        .ok()
                        .and_then(|c| c.into_iter().find(|(st, _)| st == "draft").map(|(_, n)| n))
                        .unwrap_or(0);
                    let ev = Event::default().event("queue").data(
                        serde_json::json!({ "drafts": drafts, "waiting": sig.0 }).to_string(),
                    );
                    return Some((Ok(ev), (s, session, Some(sig))));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[derive(Deserialize)]
struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

/// Unlock, disable or enable an agent's account (administrators only).
async fn admin_agent(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(name): Path<String>,
    Form(f): Form<AccountForm>,
) -> Response {
    let page = Page {
        state: &s,
        lang: &lang,
        who: Some(&a),
    };
    if !a.csrf.as_deref().is_some_and(|c| same(c, &f.csrf)) {
        return page.error(StatusCode::FORBIDDEN, "forbidden", "csrf_failed");
    }
    if !a.agent.is_admin() {
        return page.error(StatusCode::FORBIDDEN, "forbidden", "forbidden_body");
    }
    let Some(action) = crate::accounts::AccountAction::parse(&f.action) else {
        return page.error(StatusCode::BAD_REQUEST, "bad_request", "bad_request_body");
    };
    match crate::accounts::apply(s.store.as_ref(), &name, action, &a.agent.name, now_ms()).await {
        Ok(true) => {
            info!(agent = %name, action = %f.action, by = %a.agent.name, "account changed");
            Redirect::to("/admin").into_response()
        }
        Ok(false) => page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body"),
        Err(e) => internal(&page, e),
    }
}

async fn admin(State(s): State<Arc<AppState>>, UiAgent(a): UiAgent, lang: UiLang) -> Response {
    let page = Page {
        state: &s,
        lang: &lang,
        who: Some(&a),
    };
    if !a.agent.is_admin() {
        return page.error(StatusCode::FORBIDDEN, "forbidden", "forbidden_body");
    }
    let (agents, tokens, audit, deliveries) = match (
        s.store.list_agents().await,
        s.store.list_api_tokens().await,
        s.store.audit_log(200).await,
        s.store.recent_deliveries(100).await,
    ) {
        (Ok(a), Ok(t), Ok(l), Ok(d)) => (a, t, l, d),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return internal(&page, e)
        }
    };
    let deliveries_v: Vec<minijinja::Value> = deliveries
        .iter()
        .map(|d| context! { at => local_time(d.at).0, event => d.event, endpoint => d.endpoint, attempt => d.attempt, status => d.status, error => d.error, report_id => d.report_id })
        .collect();
    let name_of = |id: i64| {
        agents
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let agents_v: Vec<minijinja::Value> = agents
        .iter()
        .map(|x| context! { name => x.name, role => x.role, created => local_time(x.created_at).0, disabled => x.disabled_at.map(|t| local_time(t).0) })
        .collect();
    let tokens_v: Vec<minijinja::Value> = tokens
        .iter()
        .map(|k| context! { id => k.id, agent => name_of(k.agent_id), label => k.label, last_used => k.last_used.map(|t| local_time(t).0).unwrap_or_default(), revoked => k.revoked_at.map(|t| local_time(t).0).unwrap_or_default() })
        .collect();
    let audit_v: Vec<minijinja::Value> = audit.iter().map(|e| context! { at => local_time(e.at).0, actor => e.actor, action => e.action, report_id => e.report_id }).collect();
    page.render("admin.html", "admin", context! { agents => agents_v, tokens => tokens_v, audit => audit_v, deliveries => deliveries_v, counts => page.counts().await })
}
