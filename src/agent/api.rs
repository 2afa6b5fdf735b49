//! JSON API `/api/v1`: list and filter reports, get one, its audio, update
//! text/category/address (with the version for conflict detection),
//! confirm, reject. Errors are RFC 9457 problem details.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::ApiAgent;
use crate::domain::{Language, ReportNumber, ReportStatus};
use crate::store::{Decision, Report, ReportEdit, ReportFilter, StoreError};
use crate::web::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/reports", get(list))
        .route("/api/v1/reports/{number}", get(get_one).patch(update))
        .route("/api/v1/reports/{number}/audio", get(audio))
        .route("/api/v1/reports/{number}/confirm", post(confirm))
        .route("/api/v1/reports/{number}/reject", post(reject))
}

pub fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({ "type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
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
}

async fn list(
    State(s): State<Arc<AppState>>,
    ApiAgent(_a): ApiAgent,
    Query(q): Query<ListQuery>,
) -> Response {
    let status = match q
        .status
        .as_deref()
        .map(str::parse::<ReportStatus>)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad status", &e.to_string()),
    };
    let language = match q
        .language
        .as_deref()
        .map(str::parse::<Language>)
        .transpose()
    {
        Ok(l) => l,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "bad language", &e.to_string()),
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
    let filter = ReportFilter {
        status,
        category: q.category,
        language,
        since: q.since,
        until: q.until,
        oldest_first: status
            .is_some_and(|s| matches!(s, ReportStatus::Draft | ReportStatus::MissedCall)),
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
        offset: q.offset.unwrap_or(0).max(0),
    };
    match s.store.list_reports(&filter).await {
        Ok(r) => Json(json!({ "reports": r })).into_response(),
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
                "call": { "started_at": d.call.started_at, "ended_at": d.call.ended_at, "menu_path": d.call.menu_path, "outcome": d.call.outcome },
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
    super::pages::serve_audio(&s, &number, req).await
}

#[derive(Deserialize)]
struct UpdateBody {
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
    if !matches!(r.status.as_str(), "draft" | "missed_call") {
        return problem(
            StatusCode::CONFLICT,
            "conflict",
            &format!("a {} report cannot be edited", r.status),
        );
    }
    match s
        .store
        .edit_report(r.id, body.version, &body.edit, &a.agent.name)
        .await
    {
        Ok(r) => Json(json!({ "report": r })).into_response(),
        Err(e) => store_problem(e),
    }
}

#[derive(Deserialize)]
struct DecideBody {
    version: i64,
    reason: Option<String>,
    duplicate_of: Option<String>,
}

async fn confirm(
    State(s): State<Arc<AppState>>,
    ApiAgent(a): ApiAgent,
    Path(number): Path<String>,
    body: Result<Json<DecideBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    decide(&s, &a.agent.name, &number, body, true).await
}

async fn reject(
    State(s): State<Arc<AppState>>,
    ApiAgent(a): ApiAgent,
    Path(number): Path<String>,
    body: Result<Json<DecideBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    decide(&s, &a.agent.name, &number, body, false).await
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
    let decision = if confirm {
        Decision::Confirm
    } else {
        let reason = body.reason.unwrap_or_default();
        if !matches!(
            reason.as_str(),
            "spam" | "silence" | "duplicate" | "not_city"
        ) {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad reason",
                "reason is one of spam, silence, duplicate, not_city",
            );
        }
        let duplicate_of = match body.duplicate_of.as_deref() {
            Some(d) => match find(s, d).await {
                Ok(other) if other.id != r.id => Some(other.id),
                _ => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "bad duplicate_of",
                        "no such other report",
                    )
                }
            },
            None => None,
        };
        Decision::Reject {
            reason,
            duplicate_of,
        }
    };
    match s
        .store
        .decide_report(r.id, body.version, &decision, actor)
        .await
    {
        Ok(r) => Json(json!({ "report": r })).into_response(),
        Err(e) => store_problem(e),
    }
}

async fn openapi(ApiAgent(_a): ApiAgent) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}
