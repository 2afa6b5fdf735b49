//! The queue of drafts and the list of missed calls.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::i18n;
use super::page::{categories, internal, local_time, Page, UiLang};
use super::session::{Authenticated, UiAgent};
use crate::domain::{Language, Millis, ReportStatus};
use crate::store::ReportFilter;
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub(super) struct QueueQuery {
    status: Option<String>,
    category: Option<String>,
    language: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `1`: urgent reports only.
    urgent: Option<String>,
    /// The report just decided, to name it here.
    done: Option<String>,
}

pub(super) fn day_start(s: &str) -> Option<Millis> {
    crate::domain::parse_instant(s)
}

/// The queue of drafts, or (`MISSED`) the list of missed calls.
pub(super) async fn listing<const MISSED: bool>(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Query(q): Query<QueueQuery>,
) -> Response {
    let (status, page_id, heading) = if MISSED {
        (ReportStatus::MissedCall, "missed", "missed_title")
    } else {
        (ReportStatus::Draft, "queue", "drafts_title")
    };
    list_page(&s, &a, &lang, q, status, page_id, heading).await
}

pub(super) async fn list_page(
    s: &AppState,
    a: &Authenticated,
    lang: &UiLang,
    q: QueueQuery,
    default: ReportStatus,
    page_id: &str,
    heading: &str,
) -> Response {
    let page = Page::new(s, lang, Some(a));
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
        urgent_only: q.urgent.as_deref() == Some("1"),
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
    let t = i18n::texts(lang.lang);
    let rows: Vec<minijinja::Value> = reports
        .iter()
        .map(|r| {
            let (created, created_iso) = local_time(r.created_at);
            let note = r.note.as_deref().map(|n| super::report::note_in_words(n, &t).0);
            let snippet: String = r.text.clone().or(note).unwrap_or_default().chars().take(140).collect();
            context! {
                number => r.number, created, created_iso, category_name => s.script.menu.category_name(&r.category, ui),
                language => r.language, caller => r.caller, snippet, audio_status => r.audio_status,
                urgent => super::report::urgent_why(s, r, ui, &t), callback_attempts => r.callback_attempts,
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
    let decided = super::decide::decided_notice(s, a, lang.lang, q.done.as_deref()).await;
    page.render(
        "queue.html",
        page_id,
        context! {
            heading, reports => rows, statuses, categories => categories(s, ui), counts => page.counts().await, decided,
            filter => context! {
                status => status.as_str(), category => category.unwrap_or_default(),
                language => language.map(|l| l.code()).unwrap_or(""), from => q.from.unwrap_or_default(), to => q.to.unwrap_or_default(),
                urgent => filter.urgent_only,
            },
        },
    )
}
