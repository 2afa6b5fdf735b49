//! `hotline bench queue`: enqueue and drain no-op jobs through the real
//! worker on a fresh database, printing throughput and the per-job cost at
//! each queue depth (it must not grow with depth).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::{Connection, Executor};

use crate::jobs::BackgroundJob;
use crate::store::{self, Job};
use crate::worker::{Outcome, Perform, Step, Worker, WorkerOptions};

/// A job that does nothing: what is measured is the queue.
#[derive(serde::Serialize, serde::Deserialize)]
struct Noop {
    n: usize,
}

impl BackgroundJob for Noop {
    const NAME: &'static str = "noop";
    const MAX_ATTEMPTS: i64 = 3;

    fn dedup_key(&self) -> Option<String> {
        Some(format!("n{}", self.n))
    }
}

struct Nothing;

#[async_trait]
impl Perform<Noop> for Nothing {
    async fn perform(&self, _: Noop, _: &Job) -> Outcome {
        Outcome::Done
    }
}

pub struct QueueReport {
    pub backend: String,
    pub jobs: usize,
    pub enqueue_secs: f64,
    pub drain_secs: f64,
    /// Microseconds per job for each tenth of the drain, deepest queue first.
    pub buckets_us: Vec<f64>,
}

/// A fresh PostgreSQL database on the server at `admin_url`, dropped by `drop_pg`.
pub async fn fresh_pg(admin_url: &str) -> anyhow::Result<(String, String)> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    let name = format!(
        "hotline_bench_{}_{:04x}",
        crate::domain::now_ms() / 1000,
        rand::random::<u16>()
    );
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await?;
    let mut url = reqwest::Url::parse(admin_url)?;
    url.set_path(&format!("/{name}"));
    Ok((url.to_string(), name))
}

pub async fn drop_pg(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
        .await?;
    Ok(())
}

pub async fn run(
    url: &str,
    label: &str,
    jobs: usize,
    workers: usize,
) -> anyhow::Result<QueueReport> {
    let store = store::open(url).await?;
    let t = Instant::now();
    for i in 0..jobs {
        store.enqueue_job(&Noop { n: i }, store.now()).await?;
    }
    let enqueue_secs = t.elapsed().as_secs_f64();
    // Steady state: planner statistics as autovacuum (PostgreSQL) or the
    // worker's periodic maintenance (SQLite) keep them.
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    let done = Arc::new(AtomicUsize::new(0));
    let marks = Arc::new(std::sync::Mutex::new(Vec::with_capacity(11)));
    let bucket = (jobs / 10).max(1);
    let t = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..workers.max(1) {
        let w = Worker::new(
            Arc::clone(&store),
            WorkerOptions::new(1, Duration::from_secs(60), Duration::from_millis(1)),
        )
        .register::<Noop, _>(Arc::new(Nothing));
        let (done, marks) = (Arc::clone(&done), Arc::clone(&marks));
        handles.push(tokio::spawn(async move {
            loop {
                match w.step().await {
                    Ok(Step::Ran { .. }) => {
                        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                        if n % bucket == 0 {
                            marks
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(t.elapsed());
                        }
                    }
                    Ok(Step::Idle) => return Ok::<(), anyhow::Error>(()),
                    Err(e) => return Err(e.into()),
                }
            }
        }));
    }
    for h in handles {
        h.await??;
    }
    let drain_secs = t.elapsed().as_secs_f64();
    let marks = marks.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut buckets_us = Vec::new();
    let mut prev = Duration::ZERO;
    for m in marks {
        buckets_us.push((m - prev).as_secs_f64() * 1e6 / bucket as f64);
        prev = m;
    }
    let remaining = store.job_counts().await?;
    anyhow::ensure!(
        remaining == vec![("noop".to_owned(), "done".to_owned(), jobs as i64)],
        "queue not drained exactly once: {remaining:?}"
    );
    store.close().await;
    Ok(QueueReport {
        backend: label.to_owned(),
        jobs,
        enqueue_secs,
        drain_secs,
        buckets_us,
    })
}

pub fn print(r: &QueueReport) {
    println!("{}: {} jobs", r.backend, r.jobs);
    println!(
        "  enqueue  {:8.2} s  {:8.0} jobs/s",
        r.enqueue_secs,
        r.jobs as f64 / r.enqueue_secs
    );
    println!(
        "  drain    {:8.2} s  {:8.0} jobs/s (claim + complete)",
        r.drain_secs,
        r.jobs as f64 / r.drain_secs
    );
    let cells: Vec<String> = r.buckets_us.iter().map(|u| format!("{u:.0}")).collect();
    println!(
        "  µs/job by queue depth, deepest first: {}",
        cells.join(" ")
    );
    if let (Some(first), Some(last)) = (r.buckets_us.first(), r.buckets_us.last()) {
        println!(
            "  deepest/shallowest cost ratio: {:.2} (1.0 = cost independent of depth)",
            first / last.max(1e-9)
        );
    }
}
