//! The HTTP server: provider webhooks (`/twilio/…`), the prompts the
//! provider plays, health checks, and (see [`crate::agent`]) the agents'
//! workspace. [`app`] builds the router for tests; [`serve`] binds and runs
//! it until shutdown.

pub mod client;
mod twilio;

use std::collections::BTreeMap;
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
use crate::ivr::Script;
use crate::store::Store;

/// Everything a request handler may need.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub script: Script,
    pub cfg: Config,
    /// Recorded prompts found in the prompts folder: (language, key) → file.
    pub recorded: BTreeMap<(Language, String), std::path::PathBuf>,
    /// Their public URLs, as `<Play>` needs them.
    pub recorded_urls: BTreeMap<(Language, String), String>,
    /// `cfg.public_base()`, computed once.
    pub public_base: String,
    /// The agent workspace's templates.
    pub templates: minijinja::Environment<'static>,
    /// The street register, for address hints.
    pub streets: crate::address::Streets,
    /// Set once the process is ready: the loaded model's id, or `None` when
    /// this process does not transcribe.
    pub model: std::sync::OnceLock<Option<String>>,
    /// Agents' password checks, bounded (see [`crate::auth::PasswordChecks`]).
    pub passwords: crate::auth::PasswordChecks,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, cfg: Config) -> anyhow::Result<Arc<Self>> {
        let script = Script::load(&crate::startup::prompt_source(&cfg))?;
        let streets = crate::address::Streets::load(&crate::startup::prompt_source(&cfg))?;
        let mut recorded = BTreeMap::new();
        let mut recorded_urls = BTreeMap::new();
        if let Some(dir) = &cfg.prompts_dir {
            for lang in Language::ALL {
                let Ok(entries) = std::fs::read_dir(dir.join(lang.code()).join("audio")) else {
                    continue;
                };
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let Some((key, ext)) = name.rsplit_once('.') else {
                        continue;
                    };
                    if matches!(ext, "wav" | "mp3") && safe_name(key) {
                        recorded_urls.insert(
                            (lang, key.to_owned()),
                            format!("{}/prompts/audio/{lang}/{name}", cfg.public_base()),
                        );
                        recorded.insert((lang, name), e.path());
                    }
                }
            }
        }
        let public_base = cfg.public_base();
        Ok(Arc::new(Self {
            store,
            script,
            cfg,
            recorded,
            recorded_urls,
            public_base,
            templates: crate::agent::templates(),
            streets,
            model: std::sync::OnceLock::new(),
            passwords: crate::auth::PasswordChecks::for_this_machine(),
        }))
    }
}

fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

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
    Router::new()
        .merge(twilio::routes())
        .merge(crate::agent::routes())
        .route("/prompts/audio/{lang}/{file}", get(prompt_audio))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(crate::open311::routes())
        .route("/metrics", get(metrics))
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(state.cfg.http_timeout_secs.max(1)),
        ))
        .with_state(state)
}

/// Ready when the database answers and, if this process transcribes, the
/// model is loaded.
async fn readyz(State(s): State<Arc<AppState>>) -> Response {
    if let Err(e) = s.store.count_reports().await {
        warn!(error = %e, "database not reachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
    }
    match s.model.get() {
        Some(Some(id)) => format!("ready (model {id})").into_response(),
        Some(None) => "ready (no transcription in this process)".into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "model loading").into_response(),
    }
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    let body = crate::metrics::render(s.store.as_ref()).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
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
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
