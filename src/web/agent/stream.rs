//! A report's audio (HTTP Range, per recording) and the live updates of the queue (server-sent events).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

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
    let Some(key) = index
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| detail.recordings.get(i))
        .and_then(|r| r.local_path.clone())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ranged(s, &key, req.headers()).await
}

/// Serves a stored recording: whole (200), or the one byte range asked
/// for (206) read from the store with a ranged GET, never a full download
/// per request. A malformed `Range` is ignored (RFC 9110); one past the
/// end is a 416.
async fn ranged(s: &AppState, key: &str, headers: &HeaderMap) -> Response {
    let size = match s.storage.size(key).await {
        Ok(Some(n)) => n,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "recordings storage unavailable");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let asked = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| byte_range(v, size));
    let (status, range) = match asked {
        None => (StatusCode::OK, 0..size),
        Some(Some(r)) => (StatusCode::PARTIAL_CONTENT, r),
        Some(None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response()
        }
    };
    let stream = match s.storage.range(key, range.clone()).await {
        Ok(st) => st,
        Err(e) => {
            tracing::warn!(error = %e, "reading a recording failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let body = axum::body::Body::from_stream(
        stream.map(|chunk| chunk.map_err(|e| std::io::Error::other(e.to_string()))),
    );
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(
        h,
        header::CONTENT_TYPE,
        crate::storage::content_type(key).to_owned(),
    );
    set(
        h,
        header::CONTENT_LENGTH,
        (range.end - range.start).to_string(),
    );
    set(h, header::ACCEPT_RANGES, "bytes".to_owned());
    set(h, header::CACHE_CONTROL, "private, no-store".to_owned());
    if status == StatusCode::PARTIAL_CONTENT {
        let last = range.end.saturating_sub(1);
        set(
            h,
            header::CONTENT_RANGE,
            format!("bytes {}-{last}/{size}", range.start),
        );
    }
    resp
}

/// The byte range a `Range` header asks of an object of `size` bytes:
/// none if the header is not a byte range (ignored), `Some(None)` if it
/// cannot be satisfied. Of several ranges the first is served.
fn byte_range(header: &str, size: u64) -> Option<Option<std::ops::Range<u64>>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    let first = spec.split(',').next()?.trim();
    let (from, to) = first.split_once('-')?;
    let (from, to) = (from.trim(), to.trim());
    let number = |t: &str| t.parse::<u64>().ok();
    Some(match (from, to) {
        ("", n) => {
            let n = number(n)?;
            (n > 0 && size > 0).then(|| size.saturating_sub(n)..size)
        }
        (a, "") => {
            let a = number(a)?;
            (a < size).then_some(a..size)
        }
        (a, b) => {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return None;
            }
            (a < size).then(|| a..(b + 1).min(size))
        }
    })
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

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some(Some(0..100)));
        assert_eq!(byte_range("bytes=900-", 1000), Some(Some(900..1000)));
        assert_eq!(byte_range("bytes=-100", 1000), Some(Some(900..1000)));
        assert_eq!(byte_range("bytes=990-2000", 1000), Some(Some(990..1000)));
        assert_eq!(byte_range("bytes=0-0, 5-9", 1000), Some(Some(0..1)));
        assert_eq!(byte_range("bytes=1000-", 1000), Some(None));
        assert_eq!(byte_range("bytes=-0", 1000), Some(None));
        assert_eq!(byte_range("bytes=5-1", 1000), None);
        assert_eq!(byte_range("items=0-1", 1000), None);
        assert_eq!(byte_range("bytes=x-", 1000), None);
    }
}
