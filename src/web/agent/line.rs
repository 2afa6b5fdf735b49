//! Administration of the line: the schedule's state now, an override
//! ("closed until …", "staffed until …") and staff announcements. Every
//! change is audited by the store.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use tracing::info;

use super::page::{internal, local_time, Page, UiLang};
use super::session::UiAgent;
use crate::domain::schedule::{Override, Reason};
use crate::domain::{local_input, parse_instant, Language, Millis};
use crate::line::AnnouncementError;
use crate::web::state::AppState;

/// The line's part of the administration page.
pub(super) async fn view(
    s: &AppState,
    ui: &str,
    now: Millis,
) -> Result<minijinja::Value, crate::line::LineError> {
    let (line, over) = crate::line::state(&s.store, &s.schedule, now).await?;
    let announcements: Vec<minijinja::Value> = s
        .store
        .announcements(now)
        .await?
        .iter()
        .map(|a| {
            context! {
                id => a.id, pl => a.text_pl, uk => a.text_uk, en => a.text_en,
                from => local_time(a.starts_at).0, until => local_time(a.ends_at).0,
                playing => a.is_active(now), by => a.created_by,
            }
        })
        .collect();
    Ok(context! {
        staffed => line.staffed,
        reason => reason_words(&line.reason, ui),
        next_change => line.next_change.map(|t| local_time(t).0),
        override_staffed => over.as_ref().map(|o| o.staffed),
        override_until => over.as_ref().map(|o| local_time(o.until).0),
        override_note => over.as_ref().map(|o| o.note.clone()),
        override_by => over.map(|o| o.set_by),
        announcements,
        now_input => local_input(now),
        max_chars => crate::line::MAX_ANNOUNCEMENT_CHARS,
    })
}

/// Why the line is (not) staffed, for agents.
fn reason_words(r: &Reason, ui: &str) -> String {
    let en = ui == "en";
    match r {
        Reason::StaffedHours => if en { "working hours" } else { "godziny pracy" }.into(),
        Reason::ExtraStaffedDay => if en {
            "extra working day"
        } else {
            "dodatkowy dzień pracy"
        }
        .into(),
        Reason::OutsideHours => if en {
            "outside working hours"
        } else {
            "poza godzinami pracy"
        }
        .into(),
        Reason::ClosureDay => if en {
            "closure day"
        } else {
            "dzień wolny od pracy"
        }
        .into(),
        Reason::Holiday(h) if en => format!("public holiday: {}", h.name(Language::En)),
        Reason::Holiday(h) => format!("święto: {}", h.name(Language::Pl)),
        Reason::Override(o) if en => {
            format!("set by an administrator until {}", local_time(o.until).0)
        }
        Reason::Override(o) => format!(
            "ustawione przez administratora do {}",
            local_time(o.until).0
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct OverrideForm {
    #[serde(default)]
    csrf: String,
    /// `closed`, `staffed` or `clear`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    note: String,
}

/// Sets or ends the override (administrators only).
pub(super) async fn set_override(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Form(f): Form<OverrideForm>,
) -> Response {
    let page = Page::new(&s, &lang, Some(&a));
    if let Some(no) = page.refused_to_admin(&a, &f.csrf) {
        return no;
    }
    let now = s.store.now();
    let actor = &a.agent.name;
    let staffed = match f.action.as_str() {
        "clear" => {
            return match s.store.clear_override(actor, now).await {
                Ok(_) => Redirect::to("/admin#line").into_response(),
                Err(e) => internal(&page, e),
            }
        }
        "staffed" => true,
        "closed" => false,
        _ => return page.error(StatusCode::BAD_REQUEST, "bad_request", "bad_request_body"),
    };
    let until = match parse_instant(&f.until) {
        Some(t) if t > now => t,
        _ => return page.error(StatusCode::BAD_REQUEST, "bad_request", "override_bad_until"),
    };
    let note: String = f
        .note
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    match s
        .store
        .set_override(Override { staffed, until }, note.trim(), actor, now)
        .await
    {
        Ok(_) => {
            info!(staffed, until, by = %actor, "line override set");
            Redirect::to("/admin#line").into_response()
        }
        Err(e) => internal(&page, e),
    }
}

#[derive(Deserialize)]
pub(super) struct AnnouncementForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pl: String,
    #[serde(default)]
    uk: String,
    #[serde(default)]
    en: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

/// Adds an announcement (administrators only).
pub(super) async fn add_announcement(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Form(f): Form<AnnouncementForm>,
) -> Response {
    let page = Page::new(&s, &lang, Some(&a));
    if let Some(no) = page.refused_to_admin(&a, &f.csrf) {
        return no;
    }
    let now = s.store.now();
    let starts = match f.from.trim() {
        "" => Some(now),
        from => parse_instant(from),
    };
    let (Some(starts), Some(ends)) = (starts, parse_instant(&f.until)) else {
        return page.error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "announcement_bad_period",
        );
    };
    let new = match crate::line::announcement([&f.pl, &f.uk, &f.en], starts, ends, now) {
        Ok(n) => n,
        Err(e) => {
            let key = match e {
                AnnouncementError::NoPolish => "announcement_no_polish",
                AnnouncementError::TooLong => "announcement_too_long",
                AnnouncementError::Controls => "bad_request_body",
                AnnouncementError::BadPeriod => "announcement_bad_period",
            };
            return page.error(StatusCode::BAD_REQUEST, "bad_request", key);
        }
    };
    match s.store.add_announcement(&new, &a.agent.name, now).await {
        Ok(row) => {
            info!(announcement = row.id, by = %a.agent.name, "announcement added");
            Redirect::to("/admin#line").into_response()
        }
        Err(e) => internal(&page, e),
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// Ends an announcement now (administrators only).
pub(super) async fn end_announcement(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let page = Page::new(&s, &lang, Some(&a));
    if let Some(no) = page.refused_to_admin(&a, &f.csrf) {
        return no;
    }
    match s
        .store
        .end_announcement(id, &a.agent.name, s.store.now())
        .await
    {
        Ok(true) => Redirect::to("/admin#line").into_response(),
        Ok(false) => page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body"),
        Err(e) => internal(&page, e),
    }
}
