//! JSON API `/api/v1`: list and filter reports, get one, its audio, update
//! text/category/address (with the version for conflict detection),
//! confirm, reject. Errors are RFC 9457 problem details.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::problem::problem;
use super::session::ApiAgent;
use crate::domain::lifecycle::{self, AgentAction, Decidable, Original};
use crate::domain::{CallbackOutcome, RejectReason, ReportNumber, ReportStatus};
use crate::store::{Decision, Report, ReportEdit, ReportFilter, StoreError};
use crate::web::state::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/reports", get(list))
        .route("/api/v1/reports/{number}", get(get_one).patch(update))
        .route("/api/v1/reports/{number}/audio", get(audio))
        .route("/api/v1/reports/{number}/confirm", post(decision::<true>))
        .route("/api/v1/reports/{number}/reject", post(decision::<false>))
        .route("/api/v1/reports/{number}/callback", post(callback))
}

fn store_problem(e: StoreError) -> Response {
    match e {
        StoreError::Conflict(m) => problem(StatusCode::CONFLICT, "conflict", &m),
        StoreError::NotFound(_) => problem(StatusCode::NOT_FOUND, "not found", ""),
        e => {
            tracing::error!(error = %e, "API request failed");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error", "")
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    language: Option<String>,
    /// Milliseconds since the epoch.
    since: Option<i64>,
    until: Option<i64>,
    limit: Option<i64>,
    offset: Option<i64>,
    /// Urgent reports only.
    urgent: Option<bool>,
    /// A report number, part of a phone number or words of the text.
    q: Option<String>,
}

/// An optional query parameter read as `T`, or why it cannot be.
fn parsed<T>(value: Option<&str>) -> Result<Option<T>, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value
        .map(str::parse::<T>)
        .transpose()
        .map_err(|e| e.to_string())
}

async fn list(
    State(s): State<Arc<AppState>>,
    ApiAgent(_a): ApiAgent,
    Query(q): Query<ListQuery>,
) -> Response {
    let (status, language) = match (parsed(q.status.as_deref()), parsed(q.language.as_deref())) {
        (Ok(s), Ok(l)) => (s, l),
        (Err(e), _) => return problem(StatusCode::BAD_REQUEST, "bad status", &e),
        (_, Err(e)) => return problem(StatusCode::BAD_REQUEST, "bad language", &e),
    };
    if q.category
        .as_deref()
        .is_some_and(|c| s.script.menu.category(c).is_none())
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad category",
            "not a category of prompts/menu.toml",
        );
    }
    if q.offset.is_some_and(|o| o < 0) {
        return problem(StatusCode::BAD_REQUEST, "bad offset", "offset is 0 or more");
    }
    if q.limit.is_some_and(|l| !(1..=1000).contains(&l)) {
        return problem(StatusCode::BAD_REQUEST, "bad limit", "limit is 1 to 1000");
    }
    let search = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if search.is_some_and(|t| t.chars().count() > 200 || t.chars().any(char::is_control)) {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad search",
            "q is at most 200 characters, without control characters",
        );
    }
    let filter = ReportFilter {
        status,
        category: q.category,
        language,
        since: q.since,
        until: q.until,
        urgent_only: q.urgent.unwrap_or(false),
        oldest_first: status
            .is_some_and(|s| matches!(s, ReportStatus::Draft | ReportStatus::MissedCall)),
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
        search: search.map(str::to_owned),
        ..Default::default()
    };
    let listed = async {
        let reports = s.store.list_reports(&filter).await?;
        let total = s.store.count_matching(&filter).await?;
        Ok::<_, crate::store::StoreError>((reports, total))
    };
    match listed.await {
        Ok((reports, total)) => Json(json!({ "reports": reports, "total": total })).into_response(),
        Err(e) => store_problem(e),
    }
}

async fn find(s: &AppState, number: &str) -> Result<Report, Response> {
    let n = ReportNumber::parse(number)
        .map_err(|_| problem(StatusCode::NOT_FOUND, "not found", "no such report number"))?;
    match s.store.get_report(&n).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(problem(
            StatusCode::NOT_FOUND,
            "not found",
            "no such report number",
        )),
        Err(e) => Err(store_problem(e)),
    }
}

async fn get_one(
    State(s): State<Arc<AppState>>,
    ApiAgent(_a): ApiAgent,
    Path(number): Path<String>,
) -> Response {
    let Ok(n) = ReportNumber::parse(&number) else {
        return problem(StatusCode::NOT_FOUND, "not found", "");
    };
    match s.store.report_detail(&n).await {
        Ok(Some(d)) => {
            let view = |t: &crate::store::TranscriptRow| {
                let segments: serde_json::Value =
                    serde_json::from_str(&t.segments).unwrap_or(json!([]));
                let recording = d
                    .recordings
                    .iter()
                    .position(|r| r.id == t.recording_id)
                    .map(|i| i + 1);
                json!({ "recording": recording, "text": t.text, "segments": segments, "language": t.language, "model_id": t.model_id, "avg_logprob": t.avg_logprob, "no_speech": t.no_speech })
            };
            Json(json!({
                "report": d.report,
                "call": d.call.as_ref().map(|c| json!({ "started_at": c.started_at, "ended_at": c.ended_at, "menu_path": c.menu_path, "outcome": c.outcome })),
                "follows_up": d.follows, "followed_by": d.followed_by,
                "transcript": d.transcript.as_ref().map(view),
                "transcripts": d.transcripts.iter().map(view).collect::<Vec<_>>(),
                "audit": d.audit,
            }))
            .into_response()
        }
        Ok(None) => problem(StatusCode::NOT_FOUND, "not found", ""),
        Err(e) => store_problem(e),
    }
}

async fn audio(
    State(s): State<Arc<AppState>>,
    ApiAgent(_a): ApiAgent,
    Path(number): Path<String>,
    req: Request,
) -> Response {
    super::stream::serve_audio(&s, &number, req).await
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(deserialize_with = "integral")]
    version: i64,
    #[serde(flatten)]
    edit: ReportEdit,
}

async fn update(
    State(s): State<Arc<AppState>>,
    ApiAgent(a): ApiAgent,
    Path(number): Path<String>,
    body: Result<Json<UpdateBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad body", &e.body_text()),
    };
    if body.edit.has_stray_controls() {
        return problem(
            StatusCode::BAD_REQUEST,
            "control characters",
            "text, category and address may not hold control characters (NUL and the like)",
        );
    }
    if body
        .edit
        .category
        .as_deref()
        .is_some_and(|c| s.script.menu.category(c).is_none())
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad category",
            "not a category of prompts/menu.toml",
        );
    }
    let r = match find(&s, &number).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if !lifecycle::may_edit(r.status) {
        return problem(
            StatusCode::CONFLICT,
            "conflict",
            &format!("a {} report cannot be edited", r.status),
        );
    }
    match s
        .store
        .edit_report(r.id, body.version, &body.edit, &a.agent.name, s.store.now())
        .await
    {
        Ok(r) => Json(json!({ "report": r })).into_response(),
        Err(e) => store_problem(e),
    }
}

/// A JSON integer, also written as `3.0` (JSON Schema's integers include
/// numbers with a zero fraction).
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_i64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| {
            serde::de::Error::custom(format!("version {n} is not an integer this API knows"))
        })
}

#[derive(Deserialize)]
struct DecideBody {
    #[serde(deserialize_with = "integral")]
    version: i64,
    reason: Option<String>,
    duplicate_of: Option<String>,
}

/// `/confirm` (`CONFIRM`) or `/reject`.
async fn decision<const CONFIRM: bool>(
    State(s): State<Arc<AppState>>,
    ApiAgent(a): ApiAgent,
    Path(number): Path<String>,
    body: Result<Json<DecideBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    decide(&s, &a.agent.name, &number, body, CONFIRM).await
}

async fn decide(
    s: &AppState,
    actor: &str,
    number: &str,
    body: Result<Json<DecideBody>, axum::extract::rejection::JsonRejection>,
    confirm: bool,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad body", &e.body_text()),
    };
    let r = match find(s, number).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let action = if confirm {
        AgentAction::Confirm
    } else {
        let Some(reason) = body
            .reason
            .as_deref()
            .and_then(|r| r.parse::<RejectReason>().ok())
        else {
            let codes: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
            return problem(
                StatusCode::BAD_REQUEST,
                "bad reason",
                &format!("reason is one of {}", codes.join(", ")),
            );
        };
        if body
            .duplicate_of
            .as_deref()
            .is_some_and(|d| ReportNumber::parse(d).is_err())
        {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad duplicate_of",
                "duplicate_of is a report number such as 26-00042",
            );
        }
        AgentAction::Reject(reason)
    };
    // The same rules as the workspace's ([`lifecycle::check`]).
    let original = match action {
        AgentAction::Reject(RejectReason::Duplicate) => {
            match super::decide::original_of(s, &r, body.duplicate_of.as_deref()).await {
                Ok(o) => o,
                Err(e) => return store_problem(e),
            }
        }
        _ => Original::Unnamed,
    };
    let facts = Decidable {
        text: r.text.as_deref().unwrap_or(""),
        category_known: s.script.menu.category(r.category_code()).is_some(),
    };
    let duplicate_of = match lifecycle::check(action, facts, original) {
        Ok(d) => d,
        Err(missing) => {
            let said: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
            // The report's state, not the request, is what is lacking.
            return problem(
                StatusCode::CONFLICT,
                "decision incomplete",
                &said.join("; "),
            );
        }
    };
    let decision = match action {
        AgentAction::Reject(reason) => Decision::Reject {
            reason,
            duplicate_of,
        },
        _ => Decision::Confirm,
    };
    match s
        .store
        .decide_report(r.id, body.version, &decision, actor, s.store.now())
        .await
    {
        Ok(r) => Json(json!({ "report": r })).into_response(),
        Err(e) => store_problem(e),
    }
}

#[derive(Deserialize)]
struct CallbackBody {
    #[serde(deserialize_with = "integral")]
    version: i64,
    outcome: String,
}

/// A missed call called back ([`crate::store::Store::called_back`]).
async fn callback(
    State(s): State<Arc<AppState>>,
    ApiAgent(a): ApiAgent,
    Path(number): Path<String>,
    body: Result<Json<CallbackBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad body", &e.body_text()),
    };
    let Ok(outcome) = body.outcome.parse::<CallbackOutcome>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            "bad outcome",
            "outcome is one of filed, no_answer, not_needed",
        );
    };
    let r = match find(&s, &number).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match s
        .store
        .called_back(r.id, body.version, outcome, &a.agent.name, s.store.now())
        .await
    {
        Ok(c) => Json(json!({ "report": c.missed, "filed": c.filed })).into_response(),
        Err(e) => store_problem(e),
    }
}

/// The API's OpenAPI document, with the category codes of this server's
/// menu as the `Category` enum.
async fn openapi(State(s): State<Arc<AppState>>, ApiAgent(_a): ApiAgent) -> Response {
    let mut doc: serde_json::Value =
        serde_json::from_str(include_str!("openapi.json")).unwrap_or_else(|_| json!({}));
    let codes: Vec<&str> = s
        .script
        .menu
        .categories
        .iter()
        .map(|c| c.code.as_str())
        .collect();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|v| v.as_object_mut())
    {
        schemas.insert(
            "Category".into(),
            json!({ "type": "string", "enum": codes, "description": "A category code of prompts/menu.toml" }),
        );
        let reasons: Vec<&str> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        schemas.insert(
            "RejectReason".into(),
            json!({ "type": "string", "enum": reasons }),
        );
    }
    Json(doc).into_response()
}
