//! API errors as RFC 9457 problem details.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = json!({ "type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// Every error answer of `/api/v1` as a problem document, whoever made it
/// (the body limit's 413, a file's 416, a query that does not parse, 401):
/// the status kept, its text as the detail.
pub async fn problems(req: Request, next: axum::middleware::Next) -> Response {
    if !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).trim().to_owned();
    let mut out = problem(
        status,
        status.canonical_reason().unwrap_or("error"),
        if status.is_server_error() {
            ""
        } else {
            &detail
        },
    );
    for (name, value) in parts.headers.iter() {
        if matches!(
            *name,
            header::WWW_AUTHENTICATE | header::CONTENT_RANGE | header::RETRY_AFTER
        ) {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
