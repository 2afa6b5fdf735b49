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
use crate::store::{Cursor, ReportFilter};
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
    /// A report number, part of a phone number, or words of the text.
    q: Option<String>,
    /// The page after this place ([`Cursor::token`]).
    after: Option<String>,
}

/// Reports a page of the queue shows.
const PAGE: i64 = 50;

/// The lowest confidence of a transcript's segments, in percent (the
/// segment's mean token probability); none without segments with text.
fn lowest_confidence(transcripts: &[String]) -> Option<i64> {
    transcripts
        .iter()
        .filter_map(|t| serde_json::from_str::<Vec<serde_json::Value>>(t).ok())
        .flatten()
        .filter(|sg| {
            sg["unclear"].is_null() && sg["text"].as_str().is_some_and(|t| !t.trim().is_empty())
        })
        .filter_map(|sg| sg["avg_logprob"].as_f64())
        .map(|lp| (lp.exp() * 100.0).round() as i64)
        .min()
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
    // "all": every status; nothing chosen: the list's own.
    let status = match q.status.as_deref() {
        Some("all") => None,
        other => Some(other.and_then(|v| v.parse().ok()).unwrap_or(default)),
    };
    let search =
        q.q.clone()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
    let category = q
        .category
        .clone()
        .filter(|c| s.script.menu.category(c).is_some());
    let language = q
        .language
        .as_deref()
        .and_then(|l| l.parse::<Language>().ok());
    let mut filter = ReportFilter {
        status,
        category: category.clone(),
        language,
        since: q.from.as_deref().and_then(day_start),
        until: q
            .to
            .as_deref()
            .and_then(day_start)
            .map(|t| t + 24 * 3600 * 1000),
        urgent_only: q.urgent.as_deref() == Some("1"),
        // The lists of work are oldest first; everything else newest first.
        oldest_first: status
            .is_some_and(|s| matches!(s, ReportStatus::Draft | ReportStatus::MissedCall)),
        search: search.clone(),
        after: None,
        limit: PAGE + 1,
        offset: 0,
    };
    let total = match s.store.count_matching(&filter).await {
        Ok(n) => n,
        Err(e) => return internal(&page, e),
    };
    filter.after = q.after.as_deref().and_then(Cursor::parse);
    let mut reports = match s.store.list_reports(&filter).await {
        Ok(r) => r,
        Err(e) => return internal(&page, e),
    };
    // One more than a page tells whether another follows.
    let more = reports.len() as i64 > PAGE;
    reports.truncate(PAGE as usize);
    // Other pages keep every filter.
    let page_url = |after: Option<String>| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        let status_code = status.map(|s| s.as_str()).unwrap_or("all");
        url.append_pair("status", status_code);
        for (k, v) in [
            ("q", search.as_deref()),
            ("category", filter.category.as_deref()),
            ("language", q.language.as_deref()),
            ("from", q.from.as_deref()),
            ("to", q.to.as_deref()),
            ("urgent", q.urgent.as_deref()),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                url.append_pair(k, v);
            }
        }
        if let Some(after) = after {
            url.append_pair("after", &after);
        }
        format!("?{}", url.finish())
    };
    let next = more
        .then(|| {
            reports
                .last()
                .map(|r| page_url(Some(Cursor::of(r).token())))
        })
        .flatten();
    let first = q.after.is_some().then(|| page_url(None));
    let ui = if lang.lang == "en" {
        Language::En
    } else {
        Language::Pl
    };
    let t = i18n::texts(lang.lang);
    let ids: Vec<i64> = reports.iter().map(|r| r.id).collect();
    let extras = s.store.list_extras(&ids).await.unwrap_or_default();
    let rows: Vec<minijinja::Value> = reports
        .iter()
        .map(|r| {
            let (secs, segments) = extras.get(&r.id).cloned().unwrap_or_default();
            let (created, created_iso) = local_time(r.created_at);
            let note = r.note.as_deref().map(|n| super::report::note_in_words(n, &t).0);
            let snippet: String = r.text.clone().or(note).unwrap_or_default().chars().take(140).collect();
            context! {
                number => r.number, created, created_iso, category_name => r.category.as_deref().map(|c| s.script.menu.category_name(c, ui)),
                language => r.language, caller => r.caller, snippet, audio_status => r.audio_status,
                urgent => super::report::urgent_why(s, r, ui, &t), callback_attempts => r.callback_attempts,
                address => r.address, duplicate => r.duplicate_of.is_some(),
                duration => secs.map(|s| crate::domain::clock(s * 1000)),
                confidence => lowest_confidence(&segments),
            }
        })
        .collect();
    // The heading says what the list holds: the page's own list, every
    // report, or the reports of the status chosen.
    let t = i18n::texts(lang.lang);
    let word = |k: &str| t.get(k).copied().unwrap_or_default().to_owned();
    let heading = match status {
        Some(st) if st == default => word(heading),
        Some(st) => format!(
            "{}: {}",
            word("reports_title"),
            word(&format!("status_{}", st.as_str()))
        ),
        None => word("all_reports_title"),
    };
    let statuses: Vec<minijinja::Value> = ReportStatus::ALL
        .iter()
        .map(|st| context! { code => st.as_str() })
        .collect();
    let decided = super::report::decided_notice(s, a, lang.lang, q.done.as_deref()).await;
    page.render(
        "queue.html",
        page_id,
        context! {
            heading, reports => rows, statuses, categories => categories(s, ui), counts => page.counts().await, decided,
            total, next, first, shown => reports.len(),
            filter => context! {
                status => status.map(|s| s.as_str()).unwrap_or("all"), q => search.unwrap_or_default(), category => category.unwrap_or_default(),
                language => language.map(|l| l.code()).unwrap_or(""), from => q.from.unwrap_or_default(), to => q.to.unwrap_or_default(),
                urgent => filter.urgent_only,
            },
        },
    )
}
