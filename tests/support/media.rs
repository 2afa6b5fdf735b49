//! A provider's media server on loopback: serves recordings behind HTTP
//! basic auth, or fails in the ways real ones do.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;

pub const ACCOUNT: &str = "AC00000000000000000000000000000001";
pub const TOKEN: &str = "test-auth-token";

#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Serve these bytes.
    Ok(Vec<u8>),
    /// Answer 500 this many times, then serve.
    FailThen(usize, Vec<u8>),
    /// Never answer within the client's timeout.
    Hang,
    NotFound,
}

#[derive(Default)]
pub struct Media {
    routes: Mutex<HashMap<String, Behaviour>>,
    pub hits: AtomicUsize,
    pub deletes: AtomicUsize,
    pub requested: Mutex<Vec<String>>,
}

impl Media {
    pub fn set(&self, name: &str, b: Behaviour) {
        self.routes.lock().unwrap().insert(name.to_owned(), b);
    }
}

pub struct MediaServer {
    pub addr: SocketAddr,
    pub media: Arc<Media>,
}

impl MediaServer {
    /// The URL a provider would put in `RecordingUrl` (without extension).
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/Recordings/{name}", self.addr)
    }
}

pub async fn start() -> MediaServer {
    let media = Arc::new(Media::default());
    let app = Router::new()
        .route("/Recordings/{file}", get(serve).delete(remove))
        .with_state(Arc::clone(&media));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    MediaServer { addr, media }
}

fn authorised(headers: &HeaderMap) -> bool {
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

async fn serve(
    State(media): State<Arc<Media>>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    media.hits.fetch_add(1, Ordering::SeqCst);
    media.requested.lock().unwrap().push(file.clone());
    // A signed link (as Telnyx sends, to S3) carries its authorisation in
    // the query; S3 refuses a request that also has an Authorization header.
    if query.contains_key("X-Amz-Signature") {
        if headers.contains_key("authorization") {
            return (StatusCode::BAD_REQUEST, "Only one auth mechanism allowed").into_response();
        }
    } else if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let name = file
        .trim_end_matches(".wav")
        .trim_end_matches(".mp3")
        .to_owned();
    let behaviour = media.routes.lock().unwrap().get(&name).cloned();
    match behaviour {
        Some(Behaviour::Ok(bytes)) => ([("content-type", "audio/x-wav")], bytes).into_response(),
        Some(Behaviour::FailThen(n, bytes)) => {
            if n > 0 {
                media.set(&name, Behaviour::FailThen(n - 1, bytes));
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            } else {
                ([("content-type", "audio/x-wav")], bytes).into_response()
            }
        }
        Some(Behaviour::Hang) => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(Behaviour::NotFound) | None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn remove(State(media): State<Arc<Media>>, headers: HeaderMap) -> StatusCode {
    if !authorised(&headers) {
        return StatusCode::UNAUTHORIZED;
    }
    media.deletes.fetch_add(1, Ordering::SeqCst);
    StatusCode::NO_CONTENT
}
