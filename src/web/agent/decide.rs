//! The agent's actions on a report: save, confirm, reject (each checked by
//! [`lifecycle::check`] before anything is saved), then undo within the
//! window or, for administrators, reopen; and the notice the next page
//! shows after a decision.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use tracing::{info, warn};

use super::page::{internal, Page, UiLang};
use super::report::{neighbours, show_report, Notice};
use super::session::{same, Authenticated, UiAgent};
use crate::domain::lifecycle::{self, AgentAction, Decidable, Original};
use crate::domain::{CallbackOutcome, RejectReason, ReportNumber};
use crate::store::{CalledBack, Decision, Report, ReportEdit, StoreError};
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub(super) struct ActionForm {
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

/// The report a duplicate names, as `typed` by the agent.
pub(super) async fn original_of(
    s: &AppState,
    report: &Report,
    typed: Option<&str>,
) -> Result<Original, StoreError> {
    let Some(typed) = typed.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Original::Unnamed);
    };
    let Ok(number) = ReportNumber::parse(typed) else {
        return Ok(Original::Unknown);
    };
    Ok(match s.store.get_report(&number).await? {
        None => Original::Unknown,
        Some(o) if o.id == report.id => Original::Itself,
        Some(o) => Original::Other(o.id),
    })
}

pub(super) async fn report_action(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(number): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let page = Page::new(&s, &lang, Some(&a));
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
            .is_some_and(|c| c != report.category_code())
        || edit.address.as_deref() != report.address.as_deref().or(Some(""))
            && edit.address.is_some();
    if let Some(outcome) = f.action.strip_prefix("callback:") {
        let Ok(outcome) = outcome.parse::<CallbackOutcome>() else {
            return page.error(StatusCode::BAD_REQUEST, "error", "error_body");
        };
        let edit = changed.then_some(&edit);
        return called_back(&s, &a, &lang, &report, f.version, edit, outcome).await;
    }
    // The decision asked for, and what it needs, before anything is saved.
    let decision = match f.action.as_str() {
        "confirm" => Some(Ok(AgentAction::Confirm)),
        "reject" => {
            let typed_dup = f.duplicate_of.as_deref().map(str::trim).unwrap_or("");
            let reason = match f.reason.as_deref().map(str::parse::<RejectReason>) {
                // A number typed in "duplicate of" says what the reason is.
                _ if !typed_dup.is_empty() => Some(RejectReason::Duplicate),
                Some(Ok(r)) => Some(r),
                _ => None,
            };
            Some(reason.map(AgentAction::Reject).ok_or("need_reason"))
        }
        _ => None,
    };
    let refused = |keys: Vec<&'static str>| Notice {
        flash: None,
        problems: keys,
        kind: "error",
        conflict: false,
        mine: None,
        unsaved: Some(context! {
            text => edit.text.clone().or(report.text.clone()).unwrap_or_default(),
            category => edit.category.clone().or(report.category.clone()),
            address => edit.address.clone().or(report.address.clone()).unwrap_or_default(),
            reason => f.reason.clone().unwrap_or_default(),
            duplicate_of => f.duplicate_of.clone().unwrap_or_default(),
        }),
        decided: None,
    };
    let action = match decision {
        None => None,
        Some(Err(key)) => {
            return show_report(
                &s,
                &a,
                &lang,
                &number,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(refused(vec![key])),
            )
            .await
        }
        Some(Ok(act)) => Some(act),
    };
    let result: Result<Outcome, StoreError> = async {
        let Some(act) = action else {
            if changed || f.action == "save" {
                s.store
                    .edit_report(report.id, f.version, &edit, &actor, s.store.now())
                    .await?;
            }
            return Ok(Outcome::Saved);
        };
        let text = edit
            .text
            .as_deref()
            .or(report.text.as_deref())
            .unwrap_or("");
        let category = edit.category.as_deref().unwrap_or(report.category_code());
        let original = original_of(&s, &report, f.duplicate_of.as_deref()).await?;
        let r = Decidable {
            text,
            category_known: s.script.menu.category(category).is_some(),
        };
        let duplicate_of = match lifecycle::check(act, r, original) {
            Ok(dup) => dup,
            Err(missing) => return Ok(Outcome::Refused(missing.iter().map(|m| m.key()).collect())),
        };
        let decision = match act {
            AgentAction::Reject(reason) => Decision::Reject {
                reason,
                duplicate_of,
            },
            _ => Decision::Confirm,
        };
        let edit = changed.then_some(&edit);
        s.store
            .edit_and_decide(report.id, f.version, edit, &decision, &actor, s.store.now())
            .await
            .map(|r| Outcome::Decided(r.number))
    }
    .await;
    match result {
        Ok(Outcome::Decided(decided)) => {
            info!(agent = %actor, report = %number, action = %f.action, "report decided");
            // On to the next waiting report, as an agent works through the
            // queue, with the decision named there (and its undo).
            let (_, next) = neighbours(&s, &report).await;
            let done = decided.to_string();
            let to = next
                .filter(|n| n != &number)
                .map(|n| format!("/reports/{n}?done={done}"))
                .unwrap_or_else(|| format!("/queue?done={done}"));
            Redirect::to(&to).into_response()
        }
        Ok(Outcome::Saved) => {
            info!(agent = %actor, report = %number, "report saved");
            let notice = Notice::flash("saved", "ok");
            show_report(&s, &a, &lang, &number, StatusCode::OK, Some(notice)).await
        }
        Ok(Outcome::Refused(keys)) => {
            show_report(
                &s,
                &a,
                &lang,
                &number,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(refused(keys)),
            )
            .await
        }
        Err(StoreError::Conflict(_)) => {
            warn!(agent = %actor, report = %number, "edit conflict");
            let notice = Notice {
                conflict: true,
                mine: f.text,
                ..Notice::flash("", "error")
            };
            show_report(&s, &a, &lang, &number, StatusCode::CONFLICT, Some(notice)).await
        }
        Err(e) => internal(&page, e),
    }
}

/// A missed call called back: a new draft to fill in (the missed call is
/// closed), one more attempt, or closed (on to the next missed call, with
/// an undo).
async fn called_back(
    s: &AppState,
    a: &Authenticated,
    lang: &UiLang,
    report: &Report,
    version: i64,
    edit: Option<&ReportEdit>,
    outcome: CallbackOutcome,
) -> Response {
    let actor = a.agent.name.as_str();
    let number = report.number.to_string();
    let result = async {
        let mut version = version;
        if let Some(edit) = edit {
            let now = s.store.now();
            version = s
                .store
                .edit_report(report.id, version, edit, actor, now)
                .await?
                .version;
        }
        s.store
            .called_back(report.id, version, outcome, actor, s.store.now())
            .await
    }
    .await;
    match result {
        Ok(_) if outcome == CallbackOutcome::NotNeeded => {
            info!(agent = %actor, report = %number, "missed call closed");
            let (_, next) = neighbours(s, report).await;
            let to = next
                .filter(|n| n != &number)
                .map(|n| format!("/reports/{n}?done={number}"))
                .unwrap_or_else(|| format!("/missed?done={number}"));
            Redirect::to(&to).into_response()
        }
        Ok(CalledBack {
            filed: Some(draft), ..
        }) => {
            info!(agent = %actor, report = %number, filed = %draft.number, "missed call called back, report taken");
            Redirect::to(&format!("/reports/{}?filed=1", draft.number)).into_response()
        }
        Ok(_) => {
            info!(agent = %actor, report = %number, outcome = outcome.as_str(), "missed call called back");
            let notice = Notice::flash("callback_no_answer_msg", "ok");
            show_report(s, a, lang, &number, StatusCode::OK, Some(notice)).await
        }
        Err(StoreError::Conflict(_)) => {
            let notice = Notice::flash("changed_meanwhile", "error");
            show_report(s, a, lang, &number, StatusCode::CONFLICT, Some(notice)).await
        }
        Err(e) => internal(&Page::new(s, lang, Some(a)), e),
    }
}

/// What became of an agent's submission.
enum Outcome {
    Saved,
    /// The number of the report decided.
    Decided(ReportNumber),
    /// What the decision lacks (keys of the words that say so).
    Refused(Vec<&'static str>),
}

#[derive(Deserialize, Default)]
pub(super) struct ReopenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: i64,
}

/// `undo` (the deciding agent, within [`lifecycle::UNDO_MS`]) or `reopen`
/// (an administrator, any time): the report goes back to the queue.
pub(super) async fn reopen<const UNDO: bool>(
    State(s): State<Arc<AppState>>,
    UiAgent(a): UiAgent,
    lang: UiLang,
    Path(number): Path<String>,
    Form(f): Form<ReopenForm>,
) -> Response {
    let page = Page::new(&s, &lang, Some(&a));
    if !a.csrf.as_deref().is_some_and(|c| same(c, &f.csrf)) {
        return page.error(StatusCode::FORBIDDEN, "forbidden", "csrf_failed");
    }
    let report = match ReportNumber::parse(&number) {
        Ok(n) => match s.store.get_report(&n).await {
            Ok(Some(r)) => r,
            Ok(None) => return page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body"),
            Err(e) => return internal(&page, e),
        },
        Err(_) => return page.error(StatusCode::NOT_FOUND, "not_found", "not_found_body"),
    };
    let now = s.store.now();
    let allowed = match UNDO {
        true => lifecycle::may_undo(
            report.decided_by.as_deref(),
            report.decided_at,
            &a.agent.name,
            now,
        ),
        false => a.agent.is_admin(),
    };
    if !allowed {
        let why = if UNDO {
            "undo_expired"
        } else {
            "forbidden_body"
        };
        return page.error(StatusCode::FORBIDDEN, "forbidden", why);
    }
    let action = if UNDO { "undone" } else { "reopened" };
    match s
        .store
        .reopen_report(report.id, f.version, action, &a.agent.name, now)
        .await
    {
        Ok(r) => {
            info!(agent = %a.agent.name, report = %number, action, "decision withdrawn");
            let notice = Notice::flash(if UNDO { "undone_msg" } else { "reopened_msg" }, "ok");
            show_report(
                &s,
                &a,
                &lang,
                &r.number.to_string(),
                StatusCode::OK,
                Some(notice),
            )
            .await
        }
        Err(StoreError::Conflict(_)) => {
            show_report(
                &s,
                &a,
                &lang,
                &number,
                StatusCode::CONFLICT,
                Some(Notice::flash("changed_meanwhile", "error")),
            )
            .await
        }
        Err(e) => internal(&page, e),
    }
}
