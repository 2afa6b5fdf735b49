//! The composition root: the one place that builds the long-running
//! pieces from configuration and wires them together. `hotline serve`,
//! `hotline worker` and the tests that need a server all go through
//! [`Application`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::Config;
use crate::engine::{Engine, EngineConfig, Search};
use crate::jobs::kinds::RetentionSweep;
use crate::pipeline::Pipeline;
use crate::prompts::WhisperPrompts;
use crate::storage::{Agreement, Storage};
use crate::store::{self, Store};
use crate::web::AppState;
use crate::worker::{Worker, WorkerOptions};

/// A built process: the HTTP server (with the job worker inside it unless
/// `worker.in_server` is off), or a job worker alone.
pub struct Application {
    store: Arc<Store>,
    /// Opened here (closed when the application stops), not lent.
    owns_store: bool,
    server: Option<(TcpListener, Arc<AppState>)>,
    worker: Option<Arc<Worker>>,
}

impl Application {
    /// `hotline serve`: opens the store, then as [`Self::serve_on`].
    pub async fn build(cfg: Config) -> anyhow::Result<Self> {
        let store = open_store(&cfg).await?;
        let app = Self::serve_on(cfg, store).await?;
        Ok(Self {
            owns_store: true,
            ..app
        })
    }

    /// The server on a store already open (and left open when it stops):
    /// binds `cfg.listen` (the public URL defaults to the bound address),
    /// installs the metrics, and loads the engine and the worker when the
    /// worker runs in the server.
    pub async fn serve_on(mut cfg: Config, store: Arc<Store>) -> anyhow::Result<Self> {
        agree_on_recordings_store(&cfg, &store).await?;
        if cfg.ensure_dev_credentials()? {
            tracing::warn!(
                file = %cfg.data_dir.join("dev-credentials.toml").display(),
                "no provider auth token configured: using generated development credentials (set HOTLINE_TWILIO_AUTH_TOKEN in production)"
            );
        }
        if cfg.telephony.insecure_skip_signature {
            for _ in 0..3 {
                tracing::error!("INSECURE: webhook signatures are NOT checked (insecure_skip_signature); anyone can fake calls. Development only.");
            }
        }
        let listener = TcpListener::bind(cfg.listen)
            .await
            .with_context(|| format!("binding {}", cfg.listen))?;
        let bound = listener.local_addr()?;
        if cfg.public_url.is_none() {
            cfg.public_url = Some(format!("http://{bound}"));
        }
        crate::metrics::install();
        let worker = if cfg.worker.in_server {
            Self::worker_parts(&cfg, &store).await?
        } else {
            None
        };
        if let Some(addr) = cfg.metrics_listen {
            crate::web::serve_metrics(Arc::clone(&store), addr).await?;
        }
        let state = AppState::new(Arc::clone(&store), cfg)?;
        let _ = state
            .model
            .set(worker.as_ref().and_then(|(_, id)| id.clone()));
        Ok(Self {
            store,
            owns_store: false,
            server: Some((listener, state)),
            worker: worker.map(|(w, _)| w),
        })
    }

    /// `hotline worker`: opens the store, then as [`Self::work_on`].
    pub async fn build_worker(cfg: Config) -> anyhow::Result<Self> {
        let store = open_store(&cfg).await?;
        let app = Self::work_on(cfg, store).await?;
        Ok(Self {
            owns_store: true,
            ..app
        })
    }

    /// A job worker alone on a store already open and left open (with the engine unless
    /// `worker.transcribe` is off).
    pub async fn work_on(cfg: Config, store: Arc<Store>) -> anyhow::Result<Self> {
        agree_on_recordings_store(&cfg, &store).await?;
        crate::metrics::install();
        let worker = Self::worker_parts(&cfg, &store).await?.map(|(w, _)| w);
        if let Some(addr) = cfg.metrics_listen {
            crate::web::serve_metrics(Arc::clone(&store), addr).await?;
        }
        Ok(Self {
            store,
            owns_store: false,
            server: None,
            worker,
        })
    }

    /// The worker and the id of the model it transcribes with.
    async fn worker_parts(
        cfg: &Config,
        store: &Arc<Store>,
    ) -> anyhow::Result<Option<(Arc<Worker>, Option<String>)>> {
        let engine = if cfg.worker.transcribe {
            Some(load_engine(cfg).await?)
        } else {
            None
        };
        let model = engine.as_ref().map(|e| e.model_id().to_owned());
        let worker = worker(cfg, Arc::clone(store), engine)?;
        Ok(Some((worker, model)))
    }

    /// The HTTP server's port (`None` for a worker alone).
    pub fn port(&self) -> Option<u16> {
        self.server
            .as_ref()
            .and_then(|(l, _)| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// What the handlers share (`None` for a worker alone).
    pub fn state(&self) -> Option<&Arc<AppState>> {
        self.server.as_ref().map(|(_, s)| s)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Runs until SIGTERM or Ctrl-C, then finishes what is running.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Runs until `stop` resolves: the server stops accepting, running jobs
    /// get 30 s to finish (then go back to the queue), a store opened
    /// here closes.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        tokio::spawn({
            let token = token.clone();
            async move {
                stop.await;
                token.cancel();
            }
        });
        let worker = self
            .worker
            .map(|w| tokio::spawn(w.run(token.clone().cancelled_owned(), Duration::from_secs(30))));
        let served = match self.server {
            Some((listener, state)) => {
                let bound = listener.local_addr()?;
                info!(%bound, public = %state.public_base, "listening");
                crate::web::serve(state, listener, token.clone().cancelled_owned()).await
            }
            None => {
                token.cancelled().await;
                Ok(())
            }
        };
        token.cancel();
        if let Some(w) = worker {
            let _ = w.await;
        }
        if self.owns_store {
            self.store.close().await;
        }
        served
    }
}

/// Every process of an installation keeps recordings in the same store:
/// the first on object storage records it in the database; a process set
/// to another store (or still to its own directory) refuses to start.
async fn agree_on_recordings_store(cfg: &Config, store: &Store) -> anyhow::Result<()> {
    let storage = Storage::from_config(cfg).context("the recordings store")?;
    let mut recorded = store.recordings_store().await?;
    if let Agreement::Record(url) = Agreement::of(recorded.as_deref(), storage.shared_url()) {
        // The first process wins; read back what was recorded.
        store.set_recordings_store(Some(&url), true).await?;
        recorded = store.recordings_store().await?;
    }
    match Agreement::of(recorded.as_deref(), storage.shared_url()) {
        Agreement::Agrees | Agreement::Record(_) => Ok(()),
        Agreement::Conflict { recorded } => anyhow::bail!(
            "this installation keeps its recordings in {recorded} (recorded in the database), \
             but this process is set to {}: set HOTLINE_RECORDINGS_URL={recorded} (and \
             HOTLINE_S3_ENDPOINT) as on the other servers and workers",
            storage.describe
        ),
    }
}

pub async fn open_store(cfg: &Config) -> anyhow::Result<Arc<Store>> {
    let url = cfg.database_url();
    let store = store::open(&url)
        .await
        .with_context(|| format!("opening the database ({})", redact_url(&url)))?;
    info!(backend = ?store.backend(), "store ready");
    if let Some(at) = cfg
        .clock_start
        .as_deref()
        .and_then(crate::domain::parse_instant)
    {
        store.clock().set(at);
        tracing::warn!(now = %crate::domain::local_iso(at), "the clock starts at a chosen moment (clock_start)");
    }
    Ok(store)
}

/// A database URL fit for logs: the password replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..s], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

pub fn engine_config(cfg: &Config) -> anyhow::Result<EngineConfig> {
    let prompts = WhisperPrompts::load(&cfg.prompt_source())?;
    let mut e = EngineConfig::new(cfg.model_path(), prompts);
    if let Some(t) = cfg.model.threads {
        e.threads = t.max(1);
    }
    e.lanes = cfg.model.lanes;
    e.search = if cfg.model.beam <= 1 {
        Search::Greedy
    } else {
        Search::Beam(cfg.model.beam)
    };
    e.languages = cfg.model.languages.clone();
    e.lexicon.penalty = cfg.model.lexicon_penalty;
    e.lexicon.word_lists.extend(cfg.model.word_lists.clone());
    Ok(e)
}

/// Loads the engine, fetching the default model first if it is missing.
async fn load_engine(cfg: &Config) -> anyhow::Result<Arc<Engine>> {
    let ecfg = engine_config(cfg)?;
    crate::model::fetch::ensure(&ecfg.model).await?;
    let engine = tokio::task::spawn_blocking(move || Engine::load(ecfg)).await??;
    info!(
        model = engine.model_id(),
        kernels = %crate::engine::kernels::matrix_kernels(),
        lexicon = %engine.lexicon_summary(),
        "transcription engine ready"
    );
    if let Some(core) = crate::engine::kernels::set_aside_coretype() {
        info!(
            OPENBLAS_CORETYPE = core,
            "not applied to whisper.cpp's OpenBLAS (set HOTLINE_OPENBLAS_CORETYPE to choose its kernels)"
        );
    }
    Ok(Arc::new(engine))
}

/// A worker with every job kind's handler.
fn worker(
    cfg: &Config,
    store: Arc<Store>,
    engine: Option<Arc<Engine>>,
) -> anyhow::Result<Arc<Worker>> {
    let pipeline = Pipeline::new(Arc::clone(&store), engine, cfg.clone())?;
    let opts = WorkerOptions::new(
        cfg.worker.concurrency,
        cfg.worker.lease(),
        Duration::from_millis(cfg.worker.poll_ms.max(10)),
    );
    let worker = pipeline.register(Worker::new(Arc::clone(&store), opts));
    let outbound = crate::outbound::Outbound::new(
        Arc::clone(&store),
        cfg.webhooks.clone(),
        pipeline.http.clone(),
        cfg.public_base(),
    );
    let escalation = crate::escalation::Escalation::new(
        Arc::clone(&store),
        cfg.escalation.clone(),
        pipeline.menu.clone(),
        cfg.public_base(),
    )?;
    let worker = escalation.register(worker);
    let sweeper = crate::sweeper::Sweeper {
        store: Arc::clone(&store),
        stale_ms: cfg.stale_call_secs * 1000,
    };
    let retention = crate::retention::Retention {
        store,
        storage: pipeline.storage.clone(),
        audio_days: cfg.retention.audio_days,
    };
    Ok(Arc::new(
        outbound
            .register(worker)
            .register::<RetentionSweep, _>(Arc::new(retention))
            .periodic(RetentionSweep::hourly)
            .chore(Arc::new(sweeper)),
    ))
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            super::redact_url("sqlite://data/hotline.db"),
            "sqlite://data/hotline.db"
        );
    }
}
