//! The job worker: claims jobs from the store under a lease, keeps
//! the lease alive with a heartbeat while the job runs, and records the
//! outcome (done, retry with exponential backoff, or give up).
//!
//! A job that panics fails that attempt, not the worker. A worker that dies
//! (kill -9, power cut) leaves leases that expire; another worker then
//! claims the job again. Handlers must therefore be idempotent, which the
//! store's unique keys make them.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{error, info, warn, Instrument};

use crate::domain::Millis;
use crate::jobs::{BackgroundJob, NewJob};
use crate::store::{Job, Store};

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Try again later (network trouble, a busy engine…).
    Retry(String),
    /// Never try again: the failure is permanent.
    GiveUp(String),
}

/// Runs jobs of kind `J`: implemented by the service that owns the work
/// (the pipeline, outbound webhooks, retention).
#[async_trait]
pub trait Perform<J: BackgroundJob>: Send + Sync + 'static {
    /// One attempt; `row` is the queued row (attempt number, kind).
    async fn perform(&self, job: J, row: &Job) -> Outcome;

    /// Called once when the job fails for good (permanent error, attempts
    /// exhausted, or its worker died on the last attempt).
    async fn gave_up(&self, _job: J, _row: &Job, _error: &str) {}
}

/// A registered kind, its payload decoded before its handler runs.
#[async_trait]
trait Handler: Send + Sync {
    fn retry_base(&self) -> Duration;
    async fn run(&self, row: &Job) -> Outcome;
    async fn gave_up(&self, row: &Job, error: &str);
}

struct Typed<J, H> {
    handler: Arc<H>,
    kind: std::marker::PhantomData<fn() -> J>,
}

#[async_trait]
impl<J: BackgroundJob, H: Perform<J>> Handler for Typed<J, H> {
    fn retry_base(&self) -> Duration {
        J::RETRY_BASE
    }

    async fn run(&self, row: &Job) -> Outcome {
        match J::decode(&row.payload) {
            Ok(job) => self.handler.perform(job, row).await,
            Err(e) => Outcome::GiveUp(e),
        }
    }

    async fn gave_up(&self, row: &Job, error: &str) {
        if let Ok(job) = J::decode(&row.payload) {
            self.handler.gave_up(job, row, error).await;
        }
    }
}

/// Delay before attempt `attempt + 1`: `base`, 2×, 4×, … capped at 15 min,
/// with ±20 % jitter so that retries of many jobs spread out.
pub fn backoff(base: Duration, attempt: i64) -> Duration {
    let delay = base.as_millis() as f64 * 2f64.powi((attempt.max(1) - 1).min(20) as i32);
    let capped = delay.min(15.0 * 60.0 * 1000.0);
    let jitter = 0.8 + rand::random::<f64>() * 0.4;
    Duration::from_millis((capped * jitter) as u64)
}

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub id: String,
    pub concurrency: usize,
    pub lease: Duration,
    pub poll: Duration,
    /// Every kind's first retry delay, instead of the kind's own
    /// ([`BackgroundJob::RETRY_BASE`]); tests shorten it.
    pub backoff: Option<Duration>,
}

impl WorkerOptions {
    pub fn new(concurrency: usize, lease: Duration, poll: Duration) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let id = format!(
            "{host}-{}-{:04x}",
            std::process::id(),
            rand::random::<u16>()
        );
        Self {
            id,
            concurrency: concurrency.max(1),
            lease,
            poll,
            backoff: None,
        }
    }
}

/// What one step of the worker did (for tests that step it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Idle,
    Ran {
        job_id: i64,
        kind: String,
        outcome: Outcome,
    },
}

pub struct Worker {
    store: Arc<Store>,
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
    /// The registered kinds, sorted (what every claim asks for).
    kinds: Vec<&'static str>,
    opts: WorkerOptions,
    /// Jobs to enqueue on every maintenance round (they de-duplicate
    /// themselves, e.g. one retention sweep per hour across all workers).
    periodic: Vec<fn(Millis) -> NewJob>,
    /// Idempotent scans run on every maintenance round by every worker
    /// (e.g. closing calls the provider never said were over).
    chores: Vec<Arc<dyn Chore>>,
}

/// A scan safe to run by any number of workers at once, on every
/// maintenance round (no job row: nothing to de-duplicate or keep).
#[async_trait::async_trait]
pub trait Chore: Send + Sync {
    fn name(&self) -> &'static str;
    async fn run(&self, now: Millis) -> anyhow::Result<()>;
}

impl Worker {
    pub fn new(store: Arc<Store>, opts: WorkerOptions) -> Self {
        Self {
            store,
            handlers: HashMap::new(),
            kinds: Vec::new(),
            opts,
            periodic: Vec::new(),
            chores: Vec::new(),
        }
    }

    /// Runs jobs of kind `J` with `handler`.
    pub fn register<J: BackgroundJob, H: Perform<J>>(mut self, handler: Arc<H>) -> Self {
        let typed = Typed::<J, H> {
            handler,
            kind: std::marker::PhantomData,
        };
        self.handlers.insert(J::NAME, Arc::new(typed));
        self.kinds = self.handlers.keys().copied().collect();
        self.kinds.sort_unstable();
        self
    }

    pub fn periodic(mut self, job: fn(Millis) -> NewJob) -> Self {
        self.periodic.push(job);
        self
    }

    pub fn chore(mut self, chore: Arc<dyn Chore>) -> Self {
        self.chores.push(chore);
        self
    }

    pub fn id(&self) -> &str {
        &self.opts.id
    }

    fn lease_until(&self) -> Millis {
        self.store.now() + self.opts.lease.as_millis() as Millis
    }

    /// Claims the next runnable job of this worker's kinds, under a lease.
    async fn claim(&self) -> crate::store::Result<Option<Job>> {
        self.store
            .claim_job(
                &self.opts.id,
                &self.kinds,
                self.store.now(),
                self.lease_until(),
            )
            .await
    }

    /// Claims and runs at most one job.
    pub async fn step(&self) -> crate::store::Result<Step> {
        let Some(job) = self.claim().await? else {
            return Ok(Step::Idle);
        };
        let outcome = self.execute(&job).await;
        Ok(Step::Ran {
            job_id: job.id,
            kind: job.kind.clone(),
            outcome,
        })
    }

    /// Runs a claimed job with a heartbeat, then records its outcome.
    async fn execute(&self, job: &Job) -> Outcome {
        let span = tracing::info_span!("job", job_id = job.id, kind = %job.kind, attempt = job.attempts, report_id = tracing::field::Empty);
        async {
            let Some(handler) = self.handlers.get(job.kind.as_str()).cloned() else {
                let outcome = Outcome::GiveUp(format!("no handler for job kind {:?}", job.kind));
                self.record(job, &outcome, None).await;
                return outcome;
            };
            let heartbeat = self.spawn_heartbeat(job.id);
            let started = std::time::Instant::now();
            let outcome = match AssertUnwindSafe(handler.run(job)).catch_unwind().await {
                Ok(o) => o,
                Err(panic) => {
                    let msg = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    error!(%msg, "job panicked");
                    Outcome::Retry(format!("panicked: {msg}"))
                }
            };
            heartbeat.abort();
            let label = match &outcome {
                Outcome::Done => "done",
                Outcome::Retry(_) => "retry",
                Outcome::GiveUp(_) => "gave_up",
            };
            crate::metrics::job_finished(&job.kind, label, started.elapsed());
            info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                ?outcome,
                "job finished"
            );
            self.record(job, &outcome, Some(handler)).await;
            outcome
        }
        .instrument(span)
        .await
    }

    fn spawn_heartbeat(&self, id: i64) -> tokio::task::JoinHandle<()> {
        let store = Arc::clone(&self.store);
        let worker = self.opts.id.clone();
        let lease = self.opts.lease;
        tokio::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(100));
            loop {
                tokio::time::sleep(every).await;
                let until = store.now() + lease.as_millis() as Millis;
                match store.heartbeat(id, &worker, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        warn!(
                            job_id = id,
                            "lease lost: another worker may run this job too"
                        );
                        return;
                    }
                    Err(e) => warn!(job_id = id, error = %e, "heartbeat failed"),
                }
            }
        })
    }

    async fn record(&self, job: &Job, outcome: &Outcome, handler: Option<Arc<dyn Handler>>) {
        let worker = &self.opts.id;
        let result = match outcome {
            Outcome::Done => self.store.complete_job(job.id, worker).await,
            Outcome::Retry(e) if job.attempts < job.max_attempts => {
                let base = self
                    .opts
                    .backoff
                    .or(handler.as_ref().map(|h| h.retry_base()))
                    .unwrap_or(Duration::from_secs(5));
                let delay = backoff(base, job.attempts).as_millis() as Millis;
                let at = self.store.now() + delay;
                warn!(error = %e, retry_in_ms = delay, "job failed, will retry");
                self.store.fail_job(job.id, worker, e, Some(at)).await
            }
            Outcome::Retry(e) | Outcome::GiveUp(e) => {
                warn!(error = %e, "job failed for good");
                let r = self.store.fail_job(job.id, worker, e, None).await;
                if let Some(h) = handler {
                    h.gave_up(job, e).await;
                }
                r
            }
        };
        if let Err(e) = result {
            error!(job_id = job.id, error = %e, "could not record the job's outcome; its lease will expire");
        }
    }

    /// Fails jobs whose worker died on their last attempt, running their
    /// give-up handling.
    pub async fn reap(&self) -> crate::store::Result<usize> {
        let dead = self.store.reap_dead_jobs(self.store.now()).await?;
        for job in &dead {
            warn!(job_id = job.id, kind = %job.kind, "job's worker died on its last attempt");
            if let Some(h) = self.handlers.get(job.kind.as_str()) {
                h.gave_up(job, job.last_error.as_deref().unwrap_or("worker died"))
                    .await;
            }
        }
        Ok(dead.len())
    }

    /// Runs until `shutdown` resolves, then lets running jobs finish (up to
    /// `grace`) and gives back the leases of those that did not.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>, grace: Duration) {
        info!(worker = %self.opts.id, kinds = ?self.kinds, concurrency = self.opts.concurrency, "worker started");
        let permits = Arc::new(Semaphore::new(self.opts.concurrency));
        let mut running = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut last_reap = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            while running.try_join_next().is_some() {}
            if last_reap.elapsed() > self.opts.lease {
                last_reap = std::time::Instant::now();
                if let Err(e) = self.reap().await {
                    warn!(error = %e, "reaping dead jobs failed");
                }
                if let Err(e) = self.store.maintain().await {
                    warn!(error = %e, "store maintenance failed");
                }
                for job in &self.periodic {
                    if let Err(e) = self.store.enqueue(&job(self.store.now())).await {
                        warn!(error = %e, "could not schedule a periodic job");
                    }
                }
                for chore in &self.chores {
                    if let Err(e) = chore.run(self.store.now()).await {
                        warn!(
                            chore = chore.name(),
                            error = format!("{e:#}"),
                            "chore failed"
                        );
                    }
                }
            }
            let mut claimed = false;
            if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                match self.claim().await {
                    Ok(Some(job)) => {
                        claimed = true;
                        let me = Arc::clone(&self);
                        running.spawn(async move {
                            let _permit = permit;
                            me.execute(&job).await;
                        });
                    }
                    Ok(None) => {}
                    Err(e) => warn!(error = %e, "claiming a job failed"),
                }
            }
            if claimed {
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.opts.poll) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        info!(running = running.len(), "worker stopping");
        let drained = tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            running.abort_all();
        }
        match self.store.release_jobs(&self.opts.id).await {
            Ok(0) => {}
            Ok(n) => info!(released = n, "gave back leases of unfinished jobs"),
            Err(e) => warn!(error = %e, "could not release leases; they will expire"),
        }
    }
}
