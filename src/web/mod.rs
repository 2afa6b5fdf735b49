//! The HTTP server: provider webhooks (`/twilio/…`), the prompts the
//! provider plays, health checks, and (see [`agent`]) the agents'
//! workspace. [`app`] builds the router for tests; [`serve`] binds and runs
//! it until shutdown.

pub mod agent;
pub mod client;
pub mod open311;
pub mod state;
mod twilio;

pub use state::AppState;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::{error, warn};

use crate::config::Config;
use crate::domain::Language;
use crate::store::Store;

/// One error type for every handler: details are logged, never returned.
#[derive(Debug)]
pub enum AppError {
    BadRequest(String),
    Forbidden,
    NotFound,
    Internal(anyhow::Error),
}

macro_rules! internal_errors {
    ($($t:ty),+) => {
        $(impl From<$t> for AppError {
            fn from(e: $t) -> Self {
                Self::Internal(e.into())
            }
        })+
    };
}

internal_errors!(
    anyhow::Error,
    crate::store::StoreError,
    crate::line::LineError,
    std::io::Error,
    serde_json::Error
);

impl From<crate::telephony::WebhookError> for AppError {
    fn from(e: crate::telephony::WebhookError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::BadRequest(m) => {
                warn!(reason = %m, "bad request");
                (StatusCode::BAD_REQUEST, m).into_response()
            }
            Self::Forbidden => StatusCode::FORBIDDEN.into_response(),
            Self::NotFound => StatusCode::NOT_FOUND.into_response(),
            Self::Internal(e) => {
                error!(error = format!("{e:#}"), "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }
}

/// The whole application.
pub fn app(state: Arc<AppState>) -> Router {
    // With a metrics listener of its own, /metrics is not on the public one.
    let metrics_here = state.cfg.metrics_listen.is_none();
    let router = Router::new()
        .merge(twilio::routes())
        .merge(agent::routes())
        .route("/prompts/audio/{lang}/{file}", get(prompt_audio))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(open311::routes());
    let router = if metrics_here {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    // Served over https (behind a proxy that terminates TLS): browsers
    // are told to never use plain http for it.
    let router = if state.public_base.starts_with("https://") {
        router.layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                header::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            ),
        )
    } else {
        router
    };
    router
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.cfg.http_timeout_secs.max(1)),
        ))
        .layer(axum::middleware::from_fn(agent::api_problems))
        .with_state(state)
}

/// Ready when the database and the recordings storage answer and, if this
/// process transcribes, the model is loaded; otherwise it says which.
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if let Err(e) = s.store.count_reports().await {
        warn!(error = %e, "database not reachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
    }
    if let Err(e) = s.storage.check().await {
        warn!(error = %e, storage = %s.storage.describe, "recordings storage not reachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("recordings storage unavailable ({})", s.storage.describe),
        )
            .into_response();
    }
    match s.model.get() {
        Some(Some(id)) => format!("ready (model {id})").into_response(),
        Some(None) => "ready (no transcription in this process)".into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "model loading").into_response(),
    }
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    metrics_response(s.store.as_ref()).await
}

async fn metrics_response(store: &Store) -> Response {
    let body = crate::metrics::render(store).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// `/metrics` alone, for `metrics_listen` (`HOTLINE_METRICS_LISTEN`): the
/// server's and the worker's, off the public listener.
pub async fn serve_metrics(store: Arc<Store>, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding the metrics listener {addr}: {e}"))?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let store = Arc::clone(&store);
            async move { metrics_response(store.as_ref()).await }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(())
}

/// A recorded prompt. Only files found at start-up are served: the path
/// never comes from the request.
async fn prompt_audio(
    State(s): State<Arc<AppState>>,
    Path((lang, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let lang: Language = lang.parse().map_err(|_| AppError::NotFound)?;
    let path = s
        .recorded
        .get(&(lang, file.clone()))
        .ok_or(AppError::NotFound)?;
    let bytes = tokio::fs::read(path).await?;
    let mime = if file.ends_with(".mp3") {
        "audio/mpeg"
    } else {
        "audio/wav"
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response())
}

/// Binds `cfg.listen` and serves until `shutdown` resolves; returns the bound address through `bound`.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = Limits::of(&state.cfg);
    serve_router(app(state), listener, limits, shutdown).await
}

/// What the listener allows a connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To send a request's headers, from its first byte or from the end of
    /// the previous response (so it bounds idle keep-alive too).
    pub header_timeout: Duration,
    /// A connection without a request for this long is closed, whatever
    /// the protocol.
    pub idle_timeout: Duration,
    /// Connections served at once; later ones wait in the kernel's backlog.
    pub max_connections: usize,
}

impl Limits {
    pub fn of(cfg: &Config) -> Self {
        Self {
            header_timeout: Duration::from_secs(cfg.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(cfg.idle_timeout_secs.max(1)),
            max_connections: cfg.max_connections.max(1),
        }
    }
}

/// Serves `router` with the client's address in each request
/// (`ConnectInfo`), hyper's header-read timeout, an idle timeout and a cap
/// on connections; on `shutdown`, stops accepting and lets requests in
/// flight finish.
pub async fn serve_router(
    router: Router,
    listener: tokio::net::TcpListener,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.idle_timeout))
        .keep_alive_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => p?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause, go on.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            },
        );
        let activity = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let io = TokioIo::new(Idle::new(stream, Arc::clone(&activity)));
        let conn = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let conn = graceful.watch(conn);
        let idle = limits.idle_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            let mut seen = 0;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    () = tokio::time::sleep(idle) => {
                        let now = activity.load(std::sync::atomic::Ordering::Relaxed);
                        if now == seen {
                            // Nothing read or written for a whole period.
                            break;
                        }
                        seen = now;
                    }
                }
            }
        });
    }
    drop(listener);
    // Requests in flight finish (bounded: each has the request timeout).
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => warn!("connections still open after 30 s; closing"),
    }
    Ok(())
}

/// A connection that counts its reads and writes, for the idle timeout.
struct Idle {
    inner: tokio::net::TcpStream,
    activity: Arc<std::sync::atomic::AtomicU64>,
}

impl Idle {
    fn new(inner: tokio::net::TcpStream, activity: Arc<std::sync::atomic::AtomicU64>) -> Self {
        Self { inner, activity }
    }

    fn touch(&self) {
        self.activity
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl tokio::io::AsyncRead for Idle {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl tokio::io::AsyncWrite for Idle {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
