//! Rendering a workspace page: the UI language, the shared context, errors.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

use super::i18n;
use super::session::{same, set_cookie, Authenticated, UI_LANG_COOKIE};
use crate::domain::{Language, Millis};
use crate::web::state::AppState;

pub(super) struct UiLang {
    pub(super) lang: &'static str,
    pub(super) set: Option<&'static str>,
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
                lang: pick(super::session::cookie(parts, UI_LANG_COOKIE).unwrap_or("pl")),
                set: None,
            },
        })
    }
}

pub(super) struct Page<'a> {
    pub(super) state: &'a AppState,
    pub(super) lang: &'a UiLang,
    pub(super) who: Option<&'a Authenticated>,
}

impl<'a> Page<'a> {
    pub(super) fn new(
        state: &'a AppState,
        lang: &'a UiLang,
        who: Option<&'a Authenticated>,
    ) -> Self {
        Self { state, lang, who }
    }

    pub(super) fn render(&self, template: &str, page: &str, extra: minijinja::Value) -> Response {
        self.render_status(StatusCode::OK, template, page, extra)
    }

    pub(super) fn render_status(
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

    pub(super) fn error(&self, status: StatusCode, heading: &str, message: &str) -> Response {
        let t = i18n::texts(self.lang.lang);
        let heading = t.get(heading).copied().unwrap_or(heading);
        let message = t.get(message).copied().unwrap_or(message);
        self.render_status(status, "error.html", "", context! { heading, message })
    }

    /// Why an administrator's form from `a` is refused (a stale form, or
    /// not an administrator), as the page to answer with.
    pub(super) fn refused_to_admin(&self, a: &Authenticated, csrf: &str) -> Option<Response> {
        if !a.csrf.as_deref().is_some_and(|c| same(c, csrf)) {
            return Some(self.error(StatusCode::FORBIDDEN, "forbidden", "csrf_failed"));
        }
        if !a.agent.is_admin() {
            return Some(self.error(StatusCode::FORBIDDEN, "forbidden", "forbidden_body"));
        }
        None
    }

    pub(super) async fn counts(&self) -> BTreeMap<String, i64> {
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

pub(super) fn internal(page: &Page<'_>, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "page failed");
    page.error(StatusCode::INTERNAL_SERVER_ERROR, "error", "error_body")
}

pub(super) fn categories(s: &AppState, ui: Language) -> Vec<minijinja::Value> {
    s.script
        .menu
        .categories
        .iter()
        .map(|c| context! { code => c.code, name => s.script.menu.category_name(&c.code, ui) })
        .collect()
}
