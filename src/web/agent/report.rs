//! One report: its page (recording, transcript, neighbours) and the agent's actions on it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::i18n;
use super::page::{categories, internal, local_time, Page, UiLang};
use super::session::{Authenticated, UiAgent};
use crate::domain::lifecycle;
use crate::domain::{AudioStatus, Language, ReportNumber, ReportStatus};
use crate::store::{Report, ReportFilter};
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub(super) struct ReportQuery {
    /// The report just decided (the previous page's), to name it here.
    done: Option<String>,
    /// Set when this draft was just filed after a callback.
    filed: Option<String>,
}

pub(super) async fn report_page(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(number): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Response {
    let decided = decided_notice(&s, &a, lang.lang, q.done.as_deref()).await;
    let flash = if q.filed.is_some() {
        "callback_filed_msg"
    } else {
        ""
    };
    let notice = Notice {
        decided,
        ..Notice::flash(flash, "ok")
    };
    show_report(&s, &a, &lang, &number, StatusCode::OK, Some(notice)).await
}

/// What to show above the form after an action.
pub(super) struct Notice {
    /// A message key (none: no message).
    pub(super) flash: Option<&'static str>,
    /// Keys of what a refused decision lacks, each said.
    pub(super) problems: Vec<&'static str>,
    pub(super) kind: &'static str,
    pub(super) conflict: bool,
    pub(super) mine: Option<String>,
    /// The agent's input of a refused submission (nothing of it was saved).
    pub(super) unsaved: Option<minijinja::Value>,
    /// The report decided just before ([`decided_notice`]).
    pub(super) decided: Option<minijinja::Value>,
}

impl Notice {
    /// A message by its key (`""`: none).
    pub(super) fn flash(key: &'static str, kind: &'static str) -> Self {
        Self {
            flash: (!key.is_empty()).then_some(key),
            problems: Vec::new(),
            kind,
            conflict: false,
            mine: None,
            unsaved: None,
            decided: None,
        }
    }
}

pub(super) async fn show_report(
    s: &AppState,
    a: &Authenticated,
    lang: &UiLang,
    number: &str,
    status: StatusCode,
    notice: Option<Notice>,
) -> Response {
    let page = Page::new(s, lang, Some(a));
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
    let audio_gone = d.report.audio_status == AudioStatus::Deleted;
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
        .map(brief)
        .collect();
    let since = d.report.created_at - REPEAT_CALLER_DAYS * 24 * 3600 * 1000;
    let same_caller: Vec<minijinja::Value> = s
        .store
        .same_caller(&d.report, since)
        .await
        .unwrap_or_default()
        .iter()
        .map(brief)
        .collect();
    let editable = crate::domain::lifecycle::may_edit(d.report.status);
    // Suggested while no category or only the menu's default one is set.
    let unsorted = d
        .report
        .category
        .as_deref()
        .is_none_or(|c| c == s.script.menu.default_category);
    let suggestion = (editable && unsorted)
        .then(|| {
            let lang = d.report.language.unwrap_or(Language::DEFAULT);
            s.category_hints
                .suggest(lang, d.report.text.as_deref().unwrap_or(""))
        })
        .flatten()
        .map(|g| {
            let name = s.script.menu.category_name(&g.category, ui);
            context! { code => g.category, name, heard => g.phrases.join(", ") }
        });
    let dials_v: Vec<minijinja::Value> = d
        .dials
        .iter()
        .map(|x| {
            let service = x
                .category
                .as_deref()
                .and_then(|c| s.script.menu.referral(c))
                .map(|r| r.name(ui).to_owned());
            context! { kind => x.kind, service, target => x.target, outcome => x.outcome, seconds => x.seconds, at => local_time(x.started_at).0 }
        })
        .collect();
    let t = i18n::texts(lang.lang);
    let notice = notice.unwrap_or(Notice::flash("", "ok"));
    let problems: Vec<&str> = notice
        .problems
        .iter()
        .map(|k| t.get(k).copied().unwrap_or(k))
        .collect();
    let can_undo = lifecycle::may_undo(
        d.report.decided_by.as_deref(),
        d.report.decided_at,
        &a.agent.name,
        s.store.now(),
    );
    let can_reopen = d.report.decided_at.is_some() && a.agent.is_admin();
    page.render_status(
        status,
        "report.html",
        "report",
        context! {
            r => d.report, segments, parts, late => d.report.late_recording_at.map(|t| local_time(t).0), prev, next, created, created_iso, audit, has_audio, editable,
            menu_path => d.call.as_ref().map(|c| choices_in_words(s, &c.menu_path, ui, &t)), dials => dials_v, categories => categories(s, ui), counts => page.counts().await,
            flash => notice.flash.map(|k| t.get(k).copied().unwrap_or(k)), flash_kind => notice.kind,
            conflict => notice.conflict, mine => notice.mine, candidates, duplicates, suggestion,
            urgent_why => urgent_why(s, &d.report, ui, &t), same_caller, repeat_days => REPEAT_CALLER_DAYS,
            problems, unsaved => notice.unsaved, decided => notice.decided, can_undo, can_reopen,
            note => d.report.note.as_deref().map(|n| { let (words, detail) = note_in_words(n, &t); context! { words, detail } }),
            follows => d.follows, followed_by => d.followed_by,
            called_back => d.report.called_back_at.map(|at| local_time(at).0),
        },
    )
}

/// A report's note (written by the pipeline for logs and operators: "no
/// speech: speech gate: silence", "audio unavailable: request failed: …")
/// in the agent's words, and the technical detail for a "details" toggle.
pub(super) fn note_in_words(
    note: &str,
    t: &std::collections::BTreeMap<&'static str, &'static str>,
) -> (String, Option<String>) {
    let key = [
        ("no speech", "note_no_speech"),
        ("no recording after two attempts", "note_no_recording"),
        ("no recording arrived", "note_recording_never_came"),
        (
            "audio unavailable: stored copy damaged",
            "note_audio_damaged",
        ),
        ("audio unavailable", "note_audio_unavailable"),
        ("recording could not be transcribed", "note_not_transcribed"),
    ]
    .iter()
    .find(|(prefix, _)| note.starts_with(prefix))
    .map(|(_, key)| *key)
    .unwrap_or("note_other");
    let words = t.get(key).copied().unwrap_or("").to_owned();
    (words, Some(note.to_owned()).filter(|n| !n.is_empty()))
}

/// Another report as the draft lists it: number, status, when, first words.
fn brief(r: &crate::store::Report) -> minijinja::Value {
    context! { number => r.number, status => r.status, created => local_time(r.created_at).0, text => r.text.as_deref().unwrap_or("").chars().take(100).collect::<String>() }
}

/// How far back the draft lists the same caller's other reports.
const REPEAT_CALLER_DAYS: i64 = 90;

/// Why a report is urgent, in the agent's words: the phrase heard, or the
/// 24/7 service the caller turned down (named in `ui`).
pub(super) fn urgent_why(
    s: &AppState,
    r: &crate::store::Report,
    ui: Language,
    t: &std::collections::BTreeMap<&'static str, &'static str>,
) -> Option<String> {
    use crate::domain::urgency::UrgentKind;
    let u = r.urgency()?;
    let word = |key: &str| t.get(key).copied().unwrap_or("");
    Some(match u.kind {
        UrgentKind::Heard => format!("{} „{}”", word("urgent_heard"), u.reason),
        UrgentKind::Referral => {
            let service = s
                .script
                .menu
                .referral(r.category_code())
                .map(|x| x.name(ui));
            format!(
                "{}: {}",
                word("urgent_referral"),
                service.unwrap_or(&u.reason)
            )
        }
    })
}

/// The keys a caller pressed (`language:1 > main:5 > more:1 > referral:2`)
/// as the choices' names, for agents.
fn choices_in_words(
    s: &AppState,
    path: &str,
    ui: Language,
    t: &std::collections::BTreeMap<&'static str, &'static str>,
) -> String {
    let menu = &s.script.menu;
    let word = |key: &str| t.get(key).copied().unwrap_or("").to_owned();
    path.split(" > ")
        .filter(|p| !p.is_empty())
        .map(|step| {
            let (at, key) = step.split_once(':').unwrap_or(("", step));
            match (at, key) {
                ("language", k) => k
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| s.script.languages.get(n.wrapping_sub(1)))
                    .map(|l| word(&format!("lang_{l}")))
                    .unwrap_or_else(|| word("path_unknown")),
                ("status", _) => word("path_status"),
                ("review", _) => word("path_recorded_again"),
                ("referral", "1") => word("path_transfer"),
                ("referral", _) => word("path_report"),
                (_, "default") => word("path_default"),
                (id, k) => match menu.choose(id, k) {
                    Some(crate::ivr::Choice::Category(c)) => menu.category_name(c, ui),
                    Some(crate::ivr::Choice::Menu(m)) => menu
                        .level(m)
                        .and_then(|l| l.names.get(&ui))
                        .cloned()
                        .unwrap_or_default(),
                    None => word("path_unknown"),
                },
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// The previous and next report in the same list (oldest waiting first).
pub(super) async fn neighbours(s: &AppState, r: &Report) -> (Option<String>, Option<String>) {
    let status = match r.status {
        ReportStatus::MissedCall => ReportStatus::MissedCall,
        _ => ReportStatus::Draft,
    };
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
            i.checked_sub(1).map(|j| list[j].number.to_string()),
            list.get(i + 1).map(|x| x.number.to_string()),
        ),
        // A decided report: offer the oldest waiting one.
        None => (None, list.first().map(|x| x.number.to_string())),
    }
}

/// What the page after a decision says of report `done`: its number and
/// new status, and an undo button while the agent may still use it.
pub(super) async fn decided_notice(
    s: &AppState,
    a: &Authenticated,
    ui: &str,
    done: Option<&str>,
) -> Option<minijinja::Value> {
    let number = ReportNumber::parse(done?).ok()?;
    let r = s.store.get_report(&number).await.ok()??;
    if r.decided_by.as_deref() != Some(a.agent.name.as_str()) {
        return None;
    }
    let t = i18n::texts(ui);
    let status = t
        .get(format!("status_{}", r.status.as_str()).as_str())
        .copied()
        .unwrap_or("");
    let text = t
        .get("decided_msg")
        .copied()
        .unwrap_or("")
        .replace("{number}", &r.number.to_string())
        .replace("{status}", status);
    let undo = lifecycle::may_undo(
        r.decided_by.as_deref(),
        r.decided_at,
        &a.agent.name,
        s.store.now(),
    );
    let left_ms = r
        .decided_at
        .map(|at| lifecycle::UNDO_MS - (s.store.now() - at))
        .unwrap_or(0);
    Some(context! { number => r.number, text, undo, left_ms, version => r.version })
}
