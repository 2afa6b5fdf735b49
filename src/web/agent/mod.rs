//! The agents' workspace: a server-rendered web UI (Polish by default,
//! English switchable) and a JSON API (`/api/v1`) to review, correct,
//! confirm and reject reports.
//!
//! Security: nothing here is reachable without a session (cookie: HttpOnly,
//! SameSite=Strict, Secure on https) or an API bearer token; every
//! state-changing form carries the session's CSRF token (API calls made with
//! the cookie send it as `X-CSRF-Token`); logins are throttled per name and
//! per address; every change is audited with before and after.

mod admin;
mod api;
mod decide;
pub mod i18n;
mod line;
mod login;
mod page;
mod problem;
mod queue;
mod report;
pub mod session;
mod stream;
pub mod templates;

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::web::state::AppState;

pub use page::local_time;
pub use problem::problems as api_problems;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/queue", get(queue::listing::<false>))
        .route("/missed", get(queue::listing::<true>))
        .route("/reports/{number}", get(report::report_page).post(decide::report_action))
        .route("/reports/{number}/undo", post(decide::reopen::<true>))
        .route("/reports/{number}/reopen", post(decide::reopen::<false>))
        .route("/reports/{number}/audio", get(stream::audio))
        .route("/events", get(stream::events))
        .route("/admin", get(admin::admin))
        .route("/admin/agents/{name}", post(admin::admin_agent))
        .route("/admin/line", post(line::set_override))
        .route("/admin/announcements", post(line::add_announcement))
        .route("/admin/announcements/{id}/end", post(line::end_announcement))
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
        .merge(api::routes())
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; media-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"),
        ))
}
