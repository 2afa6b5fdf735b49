//! The durable store: calls, reports, recordings, transcripts, the audit
//! trail and the job queue, on SQLite (embedded default) or PostgreSQL
//! (scale-out).
//!
//! [`Store`] is the contract; [`SqliteStore`] and [`PostgresStore`]
//! implement it. Both run the same SQL (written once, in [`sql`], with `$n`
//! placeholders that SQLite reads as `?n`) and differ where the engines do:
//! connection set-up, migrations, how a write transaction starts, and how a
//! job is claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one
//! `UPDATE … RETURNING` under SQLite's single writer).
//!
//! Every write that causes background work enqueues the job in the same
//! transaction. Every provider-driven write is idempotent: retries of a
//! webhook find the row they created the first time.

mod postgres;
mod sql;
mod sqlite;
mod types;

use std::sync::Arc;

use async_trait::async_trait;

pub use postgres::PostgresStore;
pub use sql::{Sql, JOB_FETCH, JOB_FINALIZE_CALL, JOB_REPORT_DECIDED, JOB_TRANSCRIBE};
pub use sqlite::SqliteStore;
pub use types::*;

use crate::domain::{CallSid, Language, Millis, PhoneNumber, RecordingSid, ReportNumber};

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

/// Opens the store named by `url` and brings its schema up to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::BadUrl(url.chars().take(40).collect()))
    }
}

/// The contract both backends fulfil (and the contract tests check).
///
/// Implementors provide the shared SQL core and the job claim; everything
/// else is written once here.
#[async_trait]
pub trait Store: Send + Sync {
    fn sql(&self) -> &Sql;

    /// Claims the next runnable job of `kinds` for `worker` until
    /// `lease_until`: a queued job whose time has come, or a running one
    /// whose lease expired (its worker died). Counts an attempt.
    async fn claim_job(
        &self,
        worker: &str,
        kinds: &[&str],
        now: Millis,
        lease_until: Millis,
    ) -> Result<Option<Job>>;

    fn backend(&self) -> Backend {
        self.sql().backend()
    }

    // Calls and the IVR.

    /// Records an incoming call (idempotent on the call id).
    async fn call_started(&self, call: &NewCall) -> Result<Call> {
        self.sql().call_started(call).await
    }

    async fn get_call(&self, sid: &CallSid) -> Result<Option<Call>> {
        self.sql().get_call(sid).await
    }

    /// Saves the caller's progress through the menu.
    async fn save_ivr(&self, sid: &CallSid, update: &IvrUpdate) -> Result<()> {
        self.sql().save_ivr(sid, update).await
    }

    /// The call's report, created (with its number) on first use.
    async fn open_report(
        &self,
        sid: &CallSid,
        category: &str,
        language: Language,
    ) -> Result<Report> {
        self.sql().open_report(sid, category, language).await
    }

    /// The call is over. A call that left no recording becomes a missed call.
    async fn call_ended(&self, sid: &CallSid, outcome: &str, at: Millis) -> Result<Option<Report>> {
        self.sql().call_ended(sid, outcome, at).await
    }

    /// Calls not over with no webhook since `cutoff` (for the sweeper).
    async fn stale_calls(&self, cutoff: Millis, limit: i64) -> Result<Vec<CallSid>> {
        self.sql().stale_calls(cutoff, limit).await
    }

    /// First use of a body-only webhook signature for `target`, or a
    /// repeat to the same target: true; used before for another: false.
    async fn signature_used(&self, signature: &str, target: &str, now: Millis) -> Result<bool> {
        self.sql().signature_used(signature, target, now).await
    }

    /// Forgets body-only signatures first seen before `before`.
    async fn forget_signatures(&self, before: Millis) -> Result<()> {
        self.sql().forget_signatures(before).await
    }

    // Recordings and the pipeline.

    /// The provider announced a recording: store it once and enqueue its
    /// download in the same transaction.
    async fn recording_announced(&self, sid: &CallSid, rec: &NewRecording) -> Result<Announced> {
        self.sql().recording_announced(sid, rec).await
    }

    /// The provider says the recording is empty or failed.
    async fn recording_absent(&self, sid: &CallSid, reason: &str) -> Result<Option<Report>> {
        self.sql().recording_absent(sid, reason).await
    }

    async fn get_recording(&self, id: i64) -> Result<Option<Recording>> {
        self.sql().get_recording(id).await
    }

    /// Download verified: remember where, and enqueue the transcription.
    async fn recording_stored(&self, id: i64, stored: &StoredAudio) -> Result<()> {
        self.sql().recording_stored(id, stored).await
    }

    /// Download failed for good: file the report without audio.
    async fn recording_unavailable(&self, id: i64, error: &str) -> Result<()> {
        self.sql().recording_unavailable(id, error).await
    }

    /// The audio cannot be decoded: file the report for an agent to listen to.
    async fn recording_undecodable(&self, id: i64, error: &str) -> Result<()> {
        self.sql().recording_undecodable(id, error).await
    }

    /// Saves the transcript (once per recording) and moves the report on.
    /// Returns false if a transcript was already there.
    async fn transcript_saved(&self, recording_id: i64, t: &NewTranscript) -> Result<bool> {
        self.sql().transcript_saved(recording_id, t).await
    }

    // Reports.

    async fn get_report(&self, number: &ReportNumber) -> Result<Option<Report>> {
        self.sql().get_report(number).await
    }

    async fn get_report_by_id(&self, id: i64) -> Result<Option<Report>> {
        self.sql().get_report_by_id(id).await
    }

    async fn report_detail(&self, number: &ReportNumber) -> Result<Option<ReportDetail>> {
        self.sql().report_detail(number).await
    }

    async fn list_reports(&self, filter: &ReportFilter) -> Result<Vec<Report>> {
        self.sql().list_reports(filter).await
    }

    async fn count_reports(&self) -> Result<Vec<(String, i64)>> {
        self.sql().count_reports().await
    }

    async fn transcripts_for_report(&self, report_id: i64) -> Result<Vec<TranscriptRow>> {
        self.sql().transcripts_for_report(report_id).await
    }

    // Jobs.

    /// Enqueues a job; `None` if one with the same kind and dedup key exists.
    async fn enqueue(&self, job: &NewJob) -> Result<Option<i64>> {
        self.sql().enqueue(job).await
    }

    /// Extends a lease; false if the job is no longer this worker's.
    async fn heartbeat(&self, id: i64, worker: &str, lease_until: Millis) -> Result<bool> {
        self.sql().heartbeat(id, worker, lease_until).await
    }

    async fn complete_job(&self, id: i64, worker: &str) -> Result<()> {
        self.sql().complete_job(id, worker).await
    }

    /// Records a failed attempt and schedules the next one at `retry_at`
    /// (`None`: give up, the job is failed for good).
    async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<Millis>,
    ) -> Result<()> {
        self.sql().fail_job(id, worker, error, retry_at).await
    }

    /// Jobs whose lease expired after their last allowed attempt: their
    /// worker died every time. Marks them failed and returns them so their
    /// give-up handling can run.
    async fn reap_dead_jobs(&self, now: Millis) -> Result<Vec<Job>> {
        self.sql().reap_dead_jobs(now).await
    }

    /// Gives back this worker's leases (graceful shutdown).
    async fn release_jobs(&self, worker: &str) -> Result<u64> {
        self.sql().release_jobs(worker).await
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        self.sql().get_job(id).await
    }

    /// `(kind, status, count)` for every pair present.
    async fn job_counts(&self) -> Result<Vec<(String, String, i64)>> {
        self.sql().job_counts().await
    }

    async fn audit(&self, entry: &NewAudit) -> Result<()> {
        self.sql().audit(entry).await
    }

    /// Most recent audit entries, newest first.
    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        self.sql().audit_log(limit).await
    }

    // Agents' work.

    async fn edit_report(
        &self,
        id: i64,
        version: i64,
        edit: &ReportEdit,
        actor: &str,
    ) -> Result<Report> {
        self.sql()
            .edit_report(id, version, edit, actor, crate::domain::now_ms())
            .await
    }

    async fn decide_report(
        &self,
        id: i64,
        version: i64,
        decision: &Decision,
        actor: &str,
    ) -> Result<Report> {
        self.sql()
            .decide_report(id, version, decision, actor, crate::domain::now_ms())
            .await
    }

    async fn queue_signature(&self) -> Result<(i64, i64)> {
        self.sql().queue_signature().await
    }

    // Address hints, outbound webhooks, retention.

    async fn save_address_candidates(
        &self,
        report_id: i64,
        found: &[crate::address::Candidate],
    ) -> Result<()> {
        self.sql()
            .save_address_candidates(report_id, found, crate::domain::now_ms())
            .await
    }

    async fn address_candidates(&self, report_id: i64) -> Result<Vec<AddressCandidateRow>> {
        self.sql().address_candidates(report_id).await
    }

    async fn likely_duplicates(&self, report: &Report, window: Millis) -> Result<Vec<Report>> {
        self.sql().likely_duplicates(report, window).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn log_delivery(
        &self,
        report_id: i64,
        event: &str,
        endpoint: &str,
        attempt: i64,
        status: Option<i64>,
        error: Option<&str>,
    ) -> Result<()> {
        self.sql()
            .log_delivery(
                report_id,
                event,
                endpoint,
                attempt,
                status,
                error,
                crate::domain::now_ms(),
            )
            .await
    }

    async fn recent_deliveries(&self, limit: i64) -> Result<Vec<DeliveryRow>> {
        self.sql().recent_deliveries(limit).await
    }

    async fn audio_past_retention(&self, cutoff: Millis) -> Result<Vec<Recording>> {
        self.sql().audio_past_retention(cutoff).await
    }

    async fn file_still_needed(&self, local_path: &str, except: i64) -> Result<bool> {
        self.sql().file_still_needed(local_path, except).await
    }

    async fn audio_deleted(&self, recording_id: i64) -> Result<()> {
        self.sql()
            .audio_deleted(recording_id, crate::domain::now_ms())
            .await
    }

    /// A consistent copy of the database at `to` (SQLite only).
    async fn backup(&self, to: &std::path::Path) -> Result<()> {
        match self.backend() {
            Backend::Sqlite => self.sql().sqlite_backup(&to.to_string_lossy()).await,
            Backend::Postgres => Err(StoreError::Conflict(
                "PostgreSQL is backed up with pg_dump or its own tools".into(),
            )),
        }
    }

    // Agents, sessions, API tokens, login throttling.

    async fn create_agent(&self, name: &str, password_hash: &str, role: &str) -> Result<AgentRow> {
        self.sql()
            .create_agent(name, password_hash, role, crate::domain::now_ms())
            .await
    }

    async fn set_agent_password(&self, name: &str, password_hash: &str) -> Result<bool> {
        self.sql().set_agent_password(name, password_hash).await
    }

    async fn agent_by_name(&self, name: &str) -> Result<Option<AgentRow>> {
        self.sql().agent_by_name(name).await
    }

    async fn list_agents(&self) -> Result<Vec<AgentRow>> {
        self.sql().list_agents().await
    }

    async fn create_session(&self, s: &SessionRow) -> Result<()> {
        self.sql().create_session(s).await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(SessionRow, AgentRow)>> {
        self.sql().session(token_hash, now).await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.sql().delete_session(token_hash).await
    }

    async fn create_api_token(&self, agent_id: i64, token_hash: &str, label: &str) -> Result<i64> {
        self.sql()
            .create_api_token(agent_id, token_hash, label, crate::domain::now_ms())
            .await
    }

    async fn api_token_agent(&self, token_hash: &str, now: Millis) -> Result<Option<AgentRow>> {
        self.sql().api_token_agent(token_hash, now).await
    }

    async fn revoke_api_token(&self, id: i64) -> Result<bool> {
        self.sql()
            .revoke_api_token(id, crate::domain::now_ms())
            .await
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRow>> {
        self.sql().list_api_tokens().await
    }

    async fn login_attempt(
        &self,
        key: &str,
        now: Millis,
        window: Millis,
        max: i64,
    ) -> Result<LoginAttempt> {
        self.sql().login_attempt(key, now, window, max).await
    }

    async fn login_lock(&self, key: &str, until: Millis) -> Result<()> {
        self.sql().login_lock(key, until).await
    }

    async fn set_agent_disabled(&self, name: &str, at: Option<Millis>) -> Result<bool> {
        self.sql().set_agent_disabled(name, at).await
    }

    async fn login_succeeded(&self, key: &str) -> Result<()> {
        self.sql().login_succeeded(key).await
    }

    /// Periodic housekeeping (planner statistics); called by workers.
    async fn maintain(&self) -> Result<()> {
        Ok(())
    }

    async fn close(&self) {
        self.sql().pool().close().await;
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
