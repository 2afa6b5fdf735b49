//! The durable store: calls, reports, recordings, transcripts, the audit
//! trail and the job queue, on SQLite (embedded default) or PostgreSQL
//! (scale-out).
//!
//! [`Store`] is one concrete store for both engines: the same SQL (written
//! once with `$n` placeholders that SQLite reads as `?n`, see `sql.rs`),
//! split by table group (`calls`, `recordings`, `reports`, `decisions`,
//! `jobs`, `agents`, `webhooks`). The engines differ only behind a small
//! seam: connection set-up and migrations (`sqlite.rs`, `postgres.rs`), how
//! a write transaction starts, and how a job is claimed (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL, one `UPDATE … RETURNING` under SQLite's single
//! writer).
//!
//! Every write that causes background work enqueues the job in the same
//! transaction. Every provider-driven write is idempotent: retries of a
//! webhook find the row they created the first time.

mod agents;
mod calls;
mod decisions;
mod jobs;
mod line;
mod postgres;
mod recordings;
mod reports;
mod sql;
mod sqlite;
mod types;
mod webhooks;

use std::sync::Arc;

use sqlx::{Any, AnyPool, Transaction};

pub use line::{Announcement, Dial, DialKind, NewAnnouncement, OverrideRow};
pub use types::*;

use crate::domain::{CallSid, Clock, Language, Millis, PhoneNumber, RecordingSid};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?} (expected sqlite://… or postgres://…)")]
    BadUrl(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Report statuses still waiting for the pipeline, as SQL.
const PENDING: &str = "('open','awaiting_audio','awaiting_transcript')";

type Tx = Transaction<'static, Any>;

/// The store: one pool on one engine, and the clock every component that
/// shares the store reads "now" from (the web handlers, the workers, the
/// pipeline), so a test or a rehearsal moves time in one place.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    clock: Clock,
    /// The key of callers' keyed hashes ([`PhoneNumber::keyed`]): made once
    /// per database, shared by every process on it.
    caller_secret: Vec<u8>,
}

/// Opens the store named by `url` and brings its schema up to date.
pub async fn open(url: &str) -> Result<Arc<Store>> {
    Store::open(url).await.map(Arc::new)
}

impl Store {
    /// Opens the store named by `url` (`sqlite://…` or `postgres://…`) and
    /// brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (pool, backend) = if url.starts_with("sqlite:") {
            (sqlite::connect(url).await?, Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (postgres::connect(url).await?, Backend::Postgres)
        } else {
            return Err(StoreError::BadUrl(url.chars().take(40).collect()));
        };
        let caller_secret = Self::setting_or(&pool, "caller_key_secret", || {
            format!(
                "{:032x}{:032x}",
                rand::random::<u128>(),
                rand::random::<u128>()
            )
        })
        .await?
        .into_bytes();
        Ok(Self {
            pool,
            backend,
            clock: Clock::system(),
            caller_secret,
        })
    }

    /// The setting `name`, made with `make` by the first process to ask.
    async fn setting_or(
        pool: &AnyPool,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> Result<String> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(make())
        .execute(pool)
        .await?;
        let (value,): (String,) = sqlx::query_as("SELECT value FROM settings WHERE name = $1")
            .bind(name.to_owned())
            .fetch_one(pool)
            .await?;
        Ok(value)
    }

    /// This store reading "now" from `clock` (shared with its clones).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The clock of everything that shares this store.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Now, by [`Store::clock`].
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Claims the next runnable job of `kinds` for `worker` until
    /// `lease_until`: a queued job whose time has come, or a running one
    /// whose lease expired (its worker died). Counts an attempt.
    pub async fn claim_job(
        &self,
        worker: &str,
        kinds: &[&str],
        now: Millis,
        lease_until: Millis,
    ) -> Result<Option<Job>> {
        let lock = match self.backend {
            // SQLite has one writer at a time, so a single `UPDATE … WHERE
            // id = (SELECT …) RETURNING` both picks and takes the job.
            Backend::Sqlite => "",
            // Row-locks the chosen job and skips rows other workers hold, so
            // many workers claim concurrently without waiting on each other.
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        self.claim(worker, kinds, now, lease_until, lock).await
    }

    /// Periodic housekeeping, called by workers: on SQLite, refreshes
    /// planner statistics when the tables changed a lot (without them SQLite
    /// scans every job of a kind instead of the due ones).
    pub async fn maintain(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA optimize = 0x10002")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// A consistent copy of the database at `to` (SQLite only).
    pub async fn backup(&self, to: &std::path::Path) -> Result<()> {
        match self.backend {
            Backend::Sqlite => self.sqlite_backup(&to.to_string_lossy()).await,
            Backend::Postgres => Err(StoreError::Conflict(
                "PostgreSQL is backed up with pg_dump or its own tools".into(),
            )),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// An incoming call as the provider describes it.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub sid: CallSid,
    pub caller: PhoneNumber,
    pub called: PhoneNumber,
    pub at: Millis,
}

/// A recording as the provider announces it.
#[derive(Debug, Clone)]
pub struct NewRecording {
    pub sid: RecordingSid,
    pub url: String,
    pub duration_secs: Option<i64>,
    /// Category and language to file the report under if the call has none
    /// yet (a recording can arrive before the IVR saved its state).
    pub category: String,
    pub language: Language,
    pub at: Millis,
}
