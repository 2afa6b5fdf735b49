//! Building the long-running pieces from configuration: the store, the
//! engine (fetching the default model if missing) and the job worker.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tracing::info;

use crate::config::Config;
use crate::engine::{Engine, EngineConfig, Search};
use crate::jobs::{Worker, WorkerOptions};
use crate::pipeline::Pipeline;
use crate::prompts::{PromptSource, WhisperPrompts};
use crate::store::{self, Store};

pub async fn open_store(cfg: &Config) -> anyhow::Result<Arc<Store>> {
    let url = cfg.database_url();
    let store = store::open(&url)
        .await
        .with_context(|| format!("opening the database ({})", redact_url(&url)))?;
    info!(backend = ?store.backend(), "store ready");
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

pub fn prompt_source(cfg: &Config) -> PromptSource {
    cfg.prompts_dir
        .clone()
        .map(PromptSource::dir)
        .unwrap_or_else(PromptSource::builtin)
}

pub fn engine_config(cfg: &Config) -> anyhow::Result<EngineConfig> {
    let prompts = WhisperPrompts::load(&prompt_source(cfg))?;
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
pub async fn load_engine(cfg: &Config) -> anyhow::Result<Arc<Engine>> {
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

/// A worker with the pipeline's handlers.
pub fn worker(
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
    );
    let sweeper = crate::sweeper::Sweeper {
        store: Arc::clone(&store),
        stale_ms: cfg.stale_call_secs * 1000,
    };
    let retention = crate::retention::Retention {
        store,
        data_dir: cfg.data_dir.clone(),
        audio_days: cfg.retention.audio_days,
    };
    Ok(Arc::new(
        outbound
            .register(worker)
            .handle(crate::retention::JOB_RETENTION, Arc::new(retention))
            .periodic(crate::retention::hourly_job)
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
