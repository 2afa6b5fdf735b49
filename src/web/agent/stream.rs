//! A report's audio (HTTP Range, per recording) and the live updates of the queue (server-sent events).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use super::session::UiAgent;
use crate::domain::ReportNumber;
use crate::web::state::AppState;

/// The recording, with HTTP Range support (seeking in the player).
pub(super) async fn audio(
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
pub(super) async fn events(
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
                match s.store.session(&session, s.store.now()).await {
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
                    let counts = s.store.count_reports().await.unwrap_or_default();
                    let count =
                        |of: &str| counts.iter().find(|(k, _)| k == of).map_or(0, |(_, n)| *n);
                    let ev = Event::default().event("queue").data(
                        serde_json::json!({ "drafts": count("draft"), "urgent": count("urgent"), "waiting": sig.0 })
                            .to_string(),
                    );
                    return Some((Ok(ev), (s, session, Some(sig))));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
