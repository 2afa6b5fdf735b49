//! The SQL both backends run, written once with `$n` placeholders.
//!
//! Queries go through sqlx's `Any` driver, so one body of code serves
//! SQLite and PostgreSQL; [`Sql::q`] rewrites `$n` to SQLite's `?n` (same
//! numbering, so arguments bind identically).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, AnyPool, Transaction};

use super::types::*;
use super::{Backend, NewCall, NewRecording, Result, StoreError};
use crate::domain::lifecycle::{self, AgentAction};
use crate::domain::{
    AudioStatus, CallSid, Language, Millis, ReportNumber, ReportStatus, TranscriptEffect,
};

/// Job kinds the store itself enqueues.
pub const JOB_FETCH: &str = "fetch_recording";
pub const JOB_TRANSCRIBE: &str = "transcribe";
pub const JOB_FINALIZE_CALL: &str = "finalize_call";
pub const JOB_REPORT_DECIDED: &str = "report_decided";

/// How long after a call ends a recording may still be announced before
/// the call counts as missed.
pub const RECORDING_GRACE_MS: Millis = 10 * 60 * 1000;

const PENDING: &str = "('open','awaiting_audio','awaiting_transcript')";

pub struct Sql {
    pool: AnyPool,
    backend: Backend,
}

type Tx = Transaction<'static, Any>;

impl Sql {
    pub(super) fn new(pool: AnyPool, backend: Backend) -> Self {
        Self { pool, backend }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The statement in this backend's placeholder syntax.
    pub fn q(&self, sql: &'static str) -> &'static str {
        match self.backend {
            Backend::Postgres => sql,
            Backend::Sqlite => {
                static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static str>>> =
                    OnceLock::new();
                let cache = CACHE.get_or_init(Default::default);
                let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
                // The statements are a fixed set: leaking each rewrite once is bounded.
                map.entry(sql)
                    .or_insert_with(|| Box::leak(to_sqlite(sql).into_owned().into_boxed_str()))
            }
        }
    }

    /// A dynamically built statement in this backend's syntax.
    pub fn dynamic(&self, sql: String) -> String {
        match self.backend {
            Backend::Postgres => sql,
            Backend::Sqlite => to_sqlite(&sql).into_owned(),
        }
    }

    fn query(&self, sql: &'static str) -> Query<'static, Any, AnyArguments<'static>> {
        sqlx::query(self.q(sql))
    }

    fn query_as<T>(&self, sql: &'static str) -> QueryAs<'static, Any, T, AnyArguments<'static>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        sqlx::query_as(self.q(sql))
    }

    /// Starts a write transaction. SQLite must take its write lock up front
    /// (`BEGIN IMMEDIATE`), or two writers deadlock on the upgrade.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    // Calls.

    pub async fn call_started(&self, c: &NewCall) -> Result<Call> {
        self.query(
            "INSERT INTO calls (call_sid, caller, called, started_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (call_sid) DO NOTHING",
        )
        .bind(c.sid.as_str().to_owned())
        .bind(c.caller.as_str().to_owned())
        .bind(c.called.as_str().to_owned())
        .bind(c.at)
        .execute(&self.pool)
        .await?;
        self.get_call(&c.sid)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("call {}", c.sid)))
    }

    pub async fn get_call(&self, sid: &CallSid) -> Result<Option<Call>> {
        Ok(self
            .query_as("SELECT * FROM calls WHERE call_sid = $1")
            .bind(sid.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn save_ivr(&self, sid: &CallSid, u: &IvrUpdate) -> Result<()> {
        self.query(
            "UPDATE calls SET ivr_state = $2, language = COALESCE($3, language), category = COALESCE($4, category),
             menu_path = $5, updated_at = $6 WHERE call_sid = $1",
        )
        .bind(sid.as_str().to_owned())
        .bind(u.state.clone())
        .bind(u.language.map(|l| l.code().to_owned()))
        .bind(u.category.clone())
        .bind(u.menu_path.clone())
        .bind(crate::domain::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The call row, created as a placeholder if the provider's first
    /// webhook for it never reached us (so a recording is never dropped).
    async fn call_in(&self, tx: &mut Tx, sid: &CallSid, at: Millis) -> Result<Call> {
        self.query(
            "INSERT INTO calls (call_sid, caller, called, started_at, updated_at) VALUES ($1, 'anonymous', 'unknown', $2, $2)
             ON CONFLICT (call_sid) DO NOTHING",
        )
        .bind(sid.as_str().to_owned())
        .bind(at)
        .execute(&mut **tx)
        .await?;
        Ok(self
            .query_as("SELECT * FROM calls WHERE call_sid = $1")
            .bind(sid.as_str().to_owned())
            .fetch_one(&mut **tx)
            .await?)
    }

    async fn report_of_call(&self, tx: &mut Tx, call_id: i64) -> Result<Option<Report>> {
        Ok(self
            .query_as("SELECT * FROM reports WHERE call_id = $1")
            .bind(call_id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// The call's report, created with a fresh number and `status` if absent.
    async fn ensure_report(
        &self,
        tx: &mut Tx,
        call: &Call,
        category: &str,
        language: Language,
        status: ReportStatus,
        at: Millis,
    ) -> Result<Report> {
        if let Some(r) = self.report_of_call(tx, call.id).await? {
            return Ok(r);
        }
        let number = self.next_number(tx, at).await?;
        self.query(
            "INSERT INTO reports (number, call_id, category, language, caller, status, audio_status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'none', $7, $7) ON CONFLICT (call_id) DO NOTHING",
        )
        .bind(number.as_str().to_owned())
        .bind(call.id)
        .bind(call.category.clone().unwrap_or_else(|| category.to_owned()))
        .bind(call.language.clone().unwrap_or_else(|| language.code().to_owned()))
        .bind(call.caller.clone())
        .bind(status.as_str())
        .bind(at)
        .execute(&mut **tx)
        .await?;
        self.report_of_call(tx, call.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("report of call {}", call.call_sid)))
    }

    /// Next report number of the year of `at` (`26-00001`, `26-00002`, …).
    async fn next_number(&self, tx: &mut Tx, at: Millis) -> Result<ReportNumber> {
        let year = time::OffsetDateTime::from_unix_timestamp(at / 1000)
            .map(|t| t.year())
            .unwrap_or(2000);
        self.query(
            "INSERT INTO report_counters (year, next) VALUES ($1, 1) ON CONFLICT (year) DO NOTHING",
        )
        .bind(i64::from(year))
        .execute(&mut **tx)
        .await?;
        let (seq,): (i64,) = self
            .query_as(
                "UPDATE report_counters SET next = next + 1 WHERE year = $1 RETURNING next - 1",
            )
            .bind(i64::from(year))
            .fetch_one(&mut **tx)
            .await?;
        Ok(ReportNumber::new(year, seq))
    }

    pub async fn open_report(
        &self,
        sid: &CallSid,
        category: &str,
        language: Language,
    ) -> Result<Report> {
        let now = crate::domain::now_ms();
        let mut tx = self.begin().await?;
        let call = self.call_in(&mut tx, sid, now).await?;
        let report = self
            .ensure_report(&mut tx, &call, category, language, ReportStatus::Open, now)
            .await?;
        tx.commit().await?;
        Ok(report)
    }

    pub async fn call_ended(
        &self,
        sid: &CallSid,
        outcome: &str,
        at: Millis,
    ) -> Result<Option<Report>> {
        let mut tx = self.begin().await?;
        self.query(
            "UPDATE calls SET ended_at = COALESCE(ended_at, $2), outcome = COALESCE(outcome, $3), updated_at = $2
             WHERE call_sid = $1",
        )
        .bind(sid.as_str().to_owned())
        .bind(at)
        .bind(outcome.to_owned())
        .execute(&mut *tx)
        .await?;
        let call = self.call_in(&mut tx, sid, at).await?;
        let report = match self.report_of_call(&mut tx, call.id).await? {
            // The caller hung up before recording: a missed call, at once.
            None => {
                let r = self
                    .ensure_report(
                        &mut tx,
                        &call,
                        "other",
                        Language::DEFAULT,
                        ReportStatus::MissedCall,
                        at,
                    )
                    .await?;
                self.audit_in(
                    &mut tx,
                    Some(r.id),
                    "system",
                    "missed_call",
                    None,
                    Some(format!("{{\"outcome\":{outcome:?}}}")),
                    at,
                )
                .await?;
                Some(r)
            }
            // A recording may still be announced: decide after a grace period.
            Some(r) if r.status == ReportStatus::Open.as_str() => {
                self.enqueue_in(
                    &mut tx,
                    &NewJob {
                        kind: JOB_FINALIZE_CALL.into(),
                        dedup_key: Some(sid.as_str().to_owned()),
                        payload: serde_json::json!({ "call_sid": sid.as_str() }).to_string(),
                        max_attempts: 5,
                        run_at: at + RECORDING_GRACE_MS,
                    },
                )
                .await?;
                Some(r)
            }
            other => other,
        };
        tx.commit().await?;
        Ok(report)
    }

    /// Calls not over whose last webhook came before `cutoff`, oldest first.
    pub async fn stale_calls(&self, cutoff: Millis, limit: i64) -> Result<Vec<CallSid>> {
        let rows: Vec<(String,)> = self
            .query_as(
                "SELECT call_sid FROM calls WHERE ended_at IS NULL AND updated_at < $1
                 ORDER BY updated_at LIMIT $2",
            )
            .bind(cutoff)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(sid,)| CallSid::parse(&sid).ok())
            .collect())
    }

    /// Records that `signature` was used for `target`; false if it was
    /// used before for another target (a replay).
    pub async fn signature_used(&self, signature: &str, target: &str, now: Millis) -> Result<bool> {
        self.query(
            "INSERT INTO webhook_signatures (signature, target, seen_at) VALUES ($1, $2, $3)
             ON CONFLICT (signature) DO NOTHING",
        )
        .bind(signature.to_owned())
        .bind(target.to_owned())
        .bind(now)
        .execute(&self.pool)
        .await?;
        let (first,): (String,) = self
            .query_as("SELECT target FROM webhook_signatures WHERE signature = $1")
            .bind(signature.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(first == target)
    }

    /// Forgets signatures first seen before `before` (the sweeper's chore,
    /// off the webhooks' path).
    pub async fn forget_signatures(&self, before: Millis) -> Result<()> {
        self.query("DELETE FROM webhook_signatures WHERE seen_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // Recordings.

    pub async fn recording_announced(
        &self,
        sid: &CallSid,
        rec: &NewRecording,
    ) -> Result<Announced> {
        let mut tx = self.begin().await?;
        let call = self.call_in(&mut tx, sid, rec.at).await?;
        let report = self
            .ensure_report(
                &mut tx,
                &call,
                &rec.category,
                rec.language,
                ReportStatus::AwaitingAudio,
                rec.at,
            )
            .await?;
        let created = self
            .query(
                "INSERT INTO recordings (report_id, recording_sid, url, duration_secs, fetch_status, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (recording_sid) DO NOTHING",
            )
            .bind(report.id)
            .bind(rec.sid.as_str().to_owned())
            .bind(rec.url.clone())
            .bind(rec.duration_secs)
            .bind(rec.at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let recording: Recording = self
            .query_as("SELECT * FROM recordings WHERE recording_sid = $1")
            .bind(rec.sid.as_str().to_owned())
            .fetch_one(&mut *tx)
            .await?;
        if created {
            // A late recording also rescues a call already counted as missed.
            self.query(
                "UPDATE reports SET status = 'awaiting_audio', audio_status = 'pending', version = version + 1, updated_at = $2
                 WHERE id = $1 AND status IN ('open', 'awaiting_audio', 'missed_call')",
            )
            .bind(report.id)
            .bind(rec.at)
            .execute(&mut *tx)
            .await?;
            self.enqueue_in(
                &mut tx,
                &NewJob {
                    kind: JOB_FETCH.into(),
                    dedup_key: Some(rec.sid.as_str().to_owned()),
                    payload: serde_json::json!({ "recording_id": recording.id }).to_string(),
                    max_attempts: 6,
                    run_at: rec.at,
                },
            )
            .await?;
        }
        let report = self
            .report_of_call(&mut tx, call.id)
            .await?
            .unwrap_or(report);
        tx.commit().await?;
        Ok(Announced {
            report,
            recording,
            created,
        })
    }

    pub async fn recording_absent(&self, sid: &CallSid, reason: &str) -> Result<Option<Report>> {
        let now = crate::domain::now_ms();
        let mut tx = self.begin().await?;
        let call = self.call_in(&mut tx, sid, now).await?;
        let report = self
            .ensure_report(
                &mut tx,
                &call,
                "other",
                Language::DEFAULT,
                ReportStatus::MissedCall,
                now,
            )
            .await?;
        let changed = self
            .query(
                "UPDATE reports SET status = 'missed_call', note = $2, version = version + 1, updated_at = $3
                 WHERE id = $1 AND status = 'open'
                 AND NOT EXISTS (SELECT 1 FROM recordings WHERE report_id = $1)",
            )
            .bind(report.id)
            .bind(reason.to_owned())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed > 0 {
            self.audit_in(
                &mut tx,
                Some(report.id),
                "system",
                "missed_call",
                None,
                Some(serde_json::json!({ "reason": reason }).to_string()),
                now,
            )
            .await?;
        }
        let report = self.report_of_call(&mut tx, call.id).await?;
        tx.commit().await?;
        Ok(report)
    }

    pub async fn get_recording(&self, id: i64) -> Result<Option<Recording>> {
        Ok(self
            .query_as("SELECT * FROM recordings WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn recording_stored(&self, id: i64, s: &StoredAudio) -> Result<()> {
        let mut tx = self.begin().await?;
        let rec: Recording = self
            .query_as(
                "UPDATE recordings SET sha256 = $2, bytes = $3, local_path = $4, fetch_status = 'stored', fetch_error = NULL, fetched_at = $5
                 WHERE id = $1 RETURNING *",
            )
            .bind(id)
            .bind(s.sha256.clone())
            .bind(s.bytes)
            .bind(s.local_path.clone())
            .bind(s.at)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("recording {id}")))?;
        self.set_audio(
            &mut tx,
            rec.report_id,
            AudioStatus::Stored,
            Some(ReportStatus::AwaitingTranscript),
            None,
            s.at,
        )
        .await?;
        self.enqueue_in(
            &mut tx,
            &NewJob {
                kind: JOB_TRANSCRIBE.into(),
                dedup_key: Some(id.to_string()),
                payload: serde_json::json!({ "recording_id": id }).to_string(),
                max_attempts: 3,
                run_at: s.at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn recording_unavailable(&self, id: i64, error: &str) -> Result<()> {
        let now = crate::domain::now_ms();
        let mut tx = self.begin().await?;
        let rec: Recording = self
            .query_as("UPDATE recordings SET fetch_status = 'failed', fetch_error = $2 WHERE id = $1 RETURNING *")
            .bind(id)
            .bind(error.to_owned())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("recording {id}")))?;
        let note = format!("audio unavailable: {error}");
        self.set_audio(
            &mut tx,
            rec.report_id,
            AudioStatus::Unavailable,
            Some(ReportStatus::Draft),
            Some(&note),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn recording_undecodable(&self, id: i64, error: &str) -> Result<()> {
        let now = crate::domain::now_ms();
        let rec = self
            .get_recording(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("recording {id}")))?;
        let mut tx = self.begin().await?;
        let note = format!("recording could not be transcribed: {error}");
        self.set_audio(
            &mut tx,
            rec.report_id,
            AudioStatus::Undecodable,
            Some(ReportStatus::Draft),
            Some(&note),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the report's audio status and, if the report is still waiting
    /// for the pipeline, its next status; audits the change.
    async fn set_audio(
        &self,
        tx: &mut Tx,
        report_id: i64,
        audio: AudioStatus,
        next: Option<ReportStatus>,
        note: Option<&str>,
        at: Millis,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE reports SET audio_status = $2,
               status = CASE WHEN status IN {PENDING} THEN COALESCE($3, status) ELSE status END,
               note = COALESCE($4, note), version = version + 1, updated_at = $5
             WHERE id = $1 AND status NOT IN ('confirmed', 'rejected')"
        );
        let sql = self.dynamic(sql);
        sqlx::query(&sql)
            .bind(report_id)
            .bind(audio.as_str())
            .bind(next.map(|s| s.as_str().to_owned()))
            .bind(note.map(str::to_owned))
            .bind(at)
            .execute(&mut **tx)
            .await?;
        let after = serde_json::json!({ "audio_status": audio.as_str(), "note": note }).to_string();
        self.audit_in(
            tx,
            Some(report_id),
            "system",
            &format!("audio_{}", audio.as_str()),
            None,
            Some(after),
            at,
        )
        .await
    }

    pub async fn transcript_saved(&self, recording_id: i64, t: &NewTranscript) -> Result<bool> {
        let rec = self
            .get_recording(recording_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("recording {recording_id}")))?;
        let mut tx = self.begin().await?;
        let inserted = self
            .query(
                "INSERT INTO transcripts (recording_id, report_id, text, segments, language, model_id, avg_logprob, no_speech, quality, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (recording_id) DO NOTHING",
            )
            .bind(recording_id)
            .bind(rec.report_id)
            .bind(t.text.clone())
            .bind(t.segments_json.clone())
            .bind(t.language.code())
            .bind(t.model_id.clone())
            .bind(t.avg_logprob)
            .bind(t.no_speech.clone())
            .bind(t.quality_json.clone())
            .bind(t.at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if inserted {
            let report: Report = self
                .query_as("SELECT * FROM reports WHERE id = $1")
                .bind(rec.report_id)
                .fetch_one(&mut *tx)
                .await?;
            let status = report
                .status()
                .ok_or_else(|| StoreError::NotFound(format!("status of report {}", report.id)))?;
            let new_text = t.no_speech.is_none().then_some(t.text.as_str());
            match crate::domain::transcript_arrives(status, report.text.as_deref(), new_text) {
                TranscriptEffect::Draft { text, status } => {
                    self.query(
                        "UPDATE reports SET text = $2, status = $3, version = version + 1, updated_at = $4 WHERE id = $1",
                    )
                    .bind(report.id)
                    .bind(text)
                    .bind(status.as_str())
                    .bind(t.at)
                    .execute(&mut *tx)
                    .await?;
                }
                TranscriptEffect::NoSpeech { status } => {
                    let note = t
                        .no_speech
                        .as_ref()
                        .map(|r| format!("no speech: {r}"))
                        .unwrap_or_default();
                    self.query(
                        "UPDATE reports SET note = COALESCE(note, $2), status = $3, version = version + 1, updated_at = $4 WHERE id = $1",
                    )
                    .bind(report.id)
                    .bind(note)
                    .bind(status.as_str())
                    .bind(t.at)
                    .execute(&mut *tx)
                    .await?;
                }
                TranscriptEffect::Late => {
                    // The decision and what was published stay as they are.
                    self.query("UPDATE reports SET late_recording_at = $2 WHERE id = $1")
                        .bind(report.id)
                        .bind(t.at)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let action = if status.is_decided() {
                "late_recording"
            } else if t.no_speech.is_some() {
                "transcribed_no_speech"
            } else {
                "transcribed"
            };
            let after = serde_json::json!({ "model": t.model_id, "text": t.text, "no_speech": t.no_speech, "recording": rec.recording_sid }).to_string();
            self.audit_in(
                &mut tx,
                Some(rec.report_id),
                "system",
                action,
                None,
                Some(after),
                t.at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    // Reports.

    pub async fn get_report(&self, number: &ReportNumber) -> Result<Option<Report>> {
        Ok(self
            .query_as("SELECT * FROM reports WHERE number = $1")
            .bind(number.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn get_report_by_id(&self, id: i64) -> Result<Option<Report>> {
        Ok(self
            .query_as("SELECT * FROM reports WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn report_detail(&self, number: &ReportNumber) -> Result<Option<ReportDetail>> {
        let Some(report) = self.get_report(number).await? else {
            return Ok(None);
        };
        let call: Call = self
            .query_as("SELECT * FROM calls WHERE id = $1")
            .bind(report.call_id)
            .fetch_one(&self.pool)
            .await?;
        let recordings = self
            .query_as("SELECT * FROM recordings WHERE report_id = $1 ORDER BY id")
            .bind(report.id)
            .fetch_all(&self.pool)
            .await?;
        let transcripts = self.transcripts_for_report(report.id).await?;
        let transcript = transcripts.last().cloned();
        let audit = self
            .query_as("SELECT * FROM audit_log WHERE report_id = $1 ORDER BY at, id")
            .bind(report.id)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(ReportDetail {
            report,
            call,
            recordings,
            transcript,
            transcripts,
            audit,
        }))
    }

    pub async fn transcripts_for_report(&self, report_id: i64) -> Result<Vec<TranscriptRow>> {
        Ok(self
            .query_as("SELECT * FROM transcripts WHERE report_id = $1 ORDER BY id")
            .bind(report_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn list_reports(&self, f: &ReportFilter) -> Result<Vec<Report>> {
        let mut sql = String::from("SELECT * FROM reports WHERE 1 = 1");
        let mut n = 0;
        let mut next = |col: &str, op: &str| {
            n += 1;
            format!(" AND {col} {op} ${n}")
        };
        if f.status.is_some() {
            sql += &next("status", "=");
        }
        if f.category.is_some() {
            sql += &next("category", "=");
        }
        if f.language.is_some() {
            sql += &next("language", "=");
        }
        if f.since.is_some() {
            sql += &next("created_at", ">=");
        }
        if f.until.is_some() {
            sql += &next("created_at", "<");
        }
        let order = if f.oldest_first { "ASC" } else { "DESC" };
        sql += &format!(
            " ORDER BY created_at {order}, id {order} LIMIT {} OFFSET {}",
            f.limit.clamp(1, 10_000),
            f.offset.max(0)
        );
        let sql = self.dynamic(sql);
        let mut q = sqlx::query_as::<_, Report>(&sql);
        if let Some(s) = f.status {
            q = q.bind(s.as_str());
        }
        if let Some(c) = &f.category {
            q = q.bind(c.clone());
        }
        if let Some(l) = f.language {
            q = q.bind(l.code());
        }
        if let Some(t) = f.since {
            q = q.bind(t);
        }
        if let Some(t) = f.until {
            q = q.bind(t);
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    pub async fn count_reports(&self) -> Result<Vec<(String, i64)>> {
        Ok(self
            .query_as("SELECT status, COUNT(*) FROM reports GROUP BY status ORDER BY status")
            .fetch_all(&self.pool)
            .await?)
    }

    // Jobs.

    pub async fn enqueue(&self, job: &NewJob) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let id = self.enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(super) async fn enqueue_in(&self, tx: &mut Tx, job: &NewJob) -> Result<Option<i64>> {
        let now = crate::domain::now_ms();
        let row: Option<(i64,)> = self
            .query_as(
                "INSERT INTO jobs (kind, dedup_key, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
                 VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6) ON CONFLICT (kind, dedup_key) DO NOTHING RETURNING id",
            )
            .bind(job.kind.clone())
            .bind(job.dedup_key.clone())
            .bind(job.payload.clone())
            .bind(job.max_attempts)
            .bind(job.run_at)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.map(|r| r.0))
    }

    /// Claims a job: one whose lease expired (its worker died), else a queued one that is due.
    /// `lock` is appended to the sub-select that picks the row (`FOR UPDATE
    /// SKIP LOCKED` on PostgreSQL). Each sub-select walks one partial index.
    pub async fn claim(
        &self,
        worker: &str,
        kinds: &[&str],
        now: Millis,
        lease_until: Millis,
        lock: &str,
    ) -> Result<Option<Job>> {
        let kinds_sql = (0..kinds.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        for pick in [
            // A job whose worker died waited longest: it goes first.
            "status = 'running' AND locked_until < $3 ORDER BY locked_until",
            "status = 'queued' AND run_at <= $3 ORDER BY run_at, id",
        ] {
            let sql = self.dynamic(format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3
                 WHERE id = (
                   SELECT id FROM jobs
                   WHERE kind IN ({kinds_sql}) AND attempts < max_attempts AND {pick} LIMIT 1 {lock})
                 RETURNING *"
            ));
            let mut q = sqlx::query_as::<_, Job>(&sql)
                .bind(worker.to_owned())
                .bind(lease_until)
                .bind(now);
            for k in kinds {
                q = q.bind((*k).to_owned());
            }
            if let Some(job) = q.fetch_optional(&self.pool).await? {
                return Ok(Some(job));
            }
        }
        Ok(None)
    }

    pub async fn heartbeat(&self, id: i64, worker: &str, lease_until: Millis) -> Result<bool> {
        Ok(self
            .query("UPDATE jobs SET locked_until = $3, updated_at = $4 WHERE id = $1 AND locked_by = $2 AND status = 'running'")
            .bind(id)
            .bind(worker.to_owned())
            .bind(lease_until)
            .bind(crate::domain::now_ms())
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn complete_job(&self, id: i64, worker: &str) -> Result<()> {
        self.query(
            "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, updated_at = $3
             WHERE id = $1 AND locked_by = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker.to_owned())
        .bind(crate::domain::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<Millis>,
    ) -> Result<()> {
        let error: String = error.chars().take(2000).collect();
        let now = crate::domain::now_ms();
        let q = match retry_at {
            Some(at) => self
                .query(
                    "UPDATE jobs SET status = 'queued', run_at = $4, last_error = $3, locked_by = NULL, locked_until = NULL, updated_at = $5
                     WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                )
                .bind(id)
                .bind(worker.to_owned())
                .bind(error)
                .bind(at)
                .bind(now),
            None => self
                .query(
                    "UPDATE jobs SET status = 'failed', last_error = $3, locked_by = NULL, locked_until = NULL, updated_at = $4
                     WHERE id = $1 AND locked_by = $2 AND status = 'running'",
                )
                .bind(id)
                .bind(worker.to_owned())
                .bind(error)
                .bind(now),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    pub async fn reap_dead_jobs(&self, now: Millis) -> Result<Vec<Job>> {
        Ok(self
            .query_as(
                "UPDATE jobs SET status = 'failed', locked_by = NULL, locked_until = NULL, updated_at = $1,
                   last_error = COALESCE(last_error, 'worker died') || ' (lease expired on the last attempt)'
                 WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts
                 RETURNING *",
            )
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn release_jobs(&self, worker: &str) -> Result<u64> {
        Ok(self
            .query(
                "UPDATE jobs SET status = 'queued', attempts = attempts - 1, locked_by = NULL, locked_until = NULL, updated_at = $2
                 WHERE locked_by = $1 AND status = 'running'",
            )
            .bind(worker.to_owned())
            .bind(crate::domain::now_ms())
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        Ok(self
            .query_as("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn job_counts(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(self
            .query_as("SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status ORDER BY kind, status")
            .fetch_all(&self.pool)
            .await?)
    }

    // Agent changes to reports: optimistic concurrency on `version`.

    /// Applies an agent's edit if the report is still at `version`;
    /// `Conflict` if someone else changed it since.
    pub async fn edit_report(
        &self,
        id: i64,
        version: i64,
        edit: &ReportEdit,
        actor: &str,
        at: Millis,
    ) -> Result<Report> {
        let mut tx = self.begin().await?;
        let before = self.report_for_change(&mut tx, id, version).await?;
        if let Some(status) = before.status() {
            lifecycle::apply(status, AgentAction::Edit)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
        }
        let after: Report = self
            .query_as(
                "UPDATE reports SET text = COALESCE($3, text), category = COALESCE($4, category), address = COALESCE($5, address),
                   version = version + 1, updated_at = $6
                 WHERE id = $1 AND version = $2 RETURNING *",
            )
            .bind(id)
            .bind(version)
            .bind(edit.text.clone())
            .bind(edit.category.clone())
            .bind(edit.address.clone())
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Conflict("the report changed meanwhile".into()))?;
        self.audit_change(&mut tx, &before, &after, actor, "edited", at)
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Confirms or rejects a report (a draft, or a missed call) at `version`.
    pub async fn decide_report(
        &self,
        id: i64,
        version: i64,
        decision: &Decision,
        actor: &str,
        at: Millis,
    ) -> Result<Report> {
        let mut tx = self.begin().await?;
        let before = self.report_for_change(&mut tx, id, version).await?;
        let (act, reason, dup) = match decision {
            Decision::Confirm => (AgentAction::Confirm, None, None),
            Decision::Reject {
                reason,
                duplicate_of,
            } => (
                AgentAction::Reject(*reason),
                Some(reason.as_str()),
                *duplicate_of,
            ),
        };
        let current = before
            .status()
            .ok_or_else(|| StoreError::Conflict(format!("unknown status {}", before.status)))?;
        let next =
            lifecycle::apply(current, act).map_err(|e| StoreError::Conflict(e.to_string()))?;
        let (status, action) = (next.as_str(), next.as_str());
        let after: Report = self
            .query_as(
                "UPDATE reports SET status = $3, reject_reason = $4, duplicate_of = $5, decided_at = $6, decided_by = $7,
                   version = version + 1, updated_at = $6
                 WHERE id = $1 AND version = $2 RETURNING *",
            )
            .bind(id)
            .bind(version)
            .bind(status)
            .bind(reason)
            .bind(dup)
            .bind(at)
            .bind(actor.to_owned())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Conflict("the report changed meanwhile".into()))?;
        self.audit_change(&mut tx, &before, &after, actor, action, at)
            .await?;
        // City systems hear of it through the queue, committed with the decision.
        self.enqueue_in(
            &mut tx,
            &NewJob {
                kind: JOB_REPORT_DECIDED.into(),
                dedup_key: Some(format!("{}:{action}", after.id)),
                payload: serde_json::json!({ "report_id": after.id, "event": format!("report.{action}") }).to_string(),
                max_attempts: 5,
                run_at: at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn report_for_change(&self, tx: &mut Tx, id: i64, version: i64) -> Result<Report> {
        let r: Report = self
            .query_as("SELECT * FROM reports WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("report {id}")))?;
        if r.version != version {
            return Err(StoreError::Conflict(format!(
                "the report is at version {}, not {version}",
                r.version
            )));
        }
        Ok(r)
    }

    async fn audit_change(
        &self,
        tx: &mut Tx,
        before: &Report,
        after: &Report,
        actor: &str,
        action: &str,
        at: Millis,
    ) -> Result<()> {
        let view = |r: &Report| {
            serde_json::json!({
                "status": r.status, "text": r.text, "category": r.category, "address": r.address,
                "reject_reason": r.reject_reason, "duplicate_of": r.duplicate_of, "version": r.version,
            })
            .to_string()
        };
        self.audit_in(
            tx,
            Some(after.id),
            actor,
            action,
            Some(view(before)),
            Some(view(after)),
            at,
        )
        .await
    }

    /// Count and latest change of reports waiting for agents: changes when
    /// a new draft or missed call arrives or one is handled.
    pub async fn queue_signature(&self) -> Result<(i64, i64)> {
        let (n, latest): (i64, Option<i64>) = self
            .query_as("SELECT COUNT(*), MAX(updated_at) FROM reports WHERE status IN ('draft', 'missed_call')")
            .fetch_one(&self.pool)
            .await?;
        Ok((n, latest.unwrap_or(0)))
    }

    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(self
            .query_as("SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    // Address hints.

    /// Replaces the report's address candidates.
    pub async fn save_address_candidates(
        &self,
        report_id: i64,
        found: &[crate::address::Candidate],
        at: Millis,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        self.query("DELETE FROM address_candidates WHERE report_id = $1")
            .bind(report_id)
            .execute(&mut *tx)
            .await?;
        for c in found {
            self.query("INSERT INTO address_candidates (report_id, street, house, score, heard, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(report_id)
                .bind(c.street.clone())
                .bind(c.house.clone())
                .bind(c.score)
                .bind(c.heard.clone())
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn address_candidates(&self, report_id: i64) -> Result<Vec<AddressCandidateRow>> {
        Ok(self
            .query_as(
                "SELECT * FROM address_candidates WHERE report_id = $1 ORDER BY score DESC, id",
            )
            .bind(report_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Other reports of the same category about one of the same streets,
    /// created within `window` of this one.
    pub async fn likely_duplicates(&self, report: &Report, window: Millis) -> Result<Vec<Report>> {
        Ok(self
            .query_as(
                "SELECT DISTINCT r.* FROM reports r JOIN address_candidates a ON a.report_id = r.id
                 WHERE r.id <> $1 AND r.category = $2 AND r.created_at BETWEEN $3 AND $4
                   AND r.status IN ('draft', 'confirmed', 'missed_call')
                   AND a.street IN (SELECT street FROM address_candidates WHERE report_id = $1)
                 ORDER BY r.created_at DESC LIMIT 10",
            )
            .bind(report.id)
            .bind(report.category.clone())
            .bind(report.created_at - window)
            .bind(report.created_at + window)
            .fetch_all(&self.pool)
            .await?)
    }

    // Outbound webhooks.

    #[allow(clippy::too_many_arguments)]
    pub async fn log_delivery(
        &self,
        report_id: i64,
        event: &str,
        endpoint: &str,
        attempt: i64,
        status: Option<i64>,
        error: Option<&str>,
        at: Millis,
    ) -> Result<()> {
        self.query("INSERT INTO webhook_deliveries (report_id, event, endpoint, attempt, status, error, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(report_id)
            .bind(event.to_owned())
            .bind(endpoint.to_owned())
            .bind(attempt)
            .bind(status)
            .bind(error.map(str::to_owned))
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn recent_deliveries(&self, limit: i64) -> Result<Vec<DeliveryRow>> {
        Ok(self
            .query_as("SELECT * FROM webhook_deliveries ORDER BY at DESC, id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    // Retention.

    /// Stored recordings of reports decided before `cutoff`: the only audio
    /// retention may delete (never audio still being processed or reviewed).
    pub async fn audio_past_retention(&self, cutoff: Millis) -> Result<Vec<Recording>> {
        Ok(self
            .query_as(
                "SELECT rec.* FROM recordings rec JOIN reports r ON r.id = rec.report_id
                 WHERE rec.local_path IS NOT NULL AND r.status IN ('confirmed', 'rejected')
                   AND r.decided_at IS NOT NULL AND r.decided_at < $1
                 ORDER BY rec.id LIMIT 500",
            )
            .bind(cutoff)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Whether another recording still needs the same (content-addressed) file.
    pub async fn file_still_needed(&self, local_path: &str, except: i64) -> Result<bool> {
        let (n,): (i64,) = self
            .query_as("SELECT COUNT(*) FROM recordings WHERE local_path = $1 AND id <> $2")
            .bind(local_path.to_owned())
            .bind(except)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    pub async fn audio_deleted(&self, recording_id: i64, at: Millis) -> Result<()> {
        let mut tx = self.begin().await?;
        let rec: Recording = self
            .query_as("UPDATE recordings SET local_path = NULL WHERE id = $1 RETURNING *")
            .bind(recording_id)
            .fetch_one(&mut *tx)
            .await?;
        self.query("UPDATE reports SET audio_status = 'deleted', updated_at = $2 WHERE id = $1")
            .bind(rec.report_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        self.audit_in(
            &mut tx,
            Some(rec.report_id),
            "system",
            "audio_deleted_retention",
            None,
            None,
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An online, consistent copy of a SQLite database.
    pub async fn sqlite_backup(&self, to: &str) -> Result<()> {
        sqlx::query("VACUUM INTO ?1")
            .bind(to.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // Agents, sessions and tokens.

    pub async fn create_agent(
        &self,
        name: &str,
        password_hash: &str,
        role: &str,
        at: Millis,
    ) -> Result<AgentRow> {
        let inserted = self
            .query("INSERT INTO agents (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING")
            .bind(name.to_owned())
            .bind(password_hash.to_owned())
            .bind(role.to_owned())
            .bind(at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("agent {name} exists")));
        }
        self.agent_by_name(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))
    }

    /// A new password; every session of the agent ends (whoever knew the
    /// old one is logged out).
    pub async fn set_agent_password(&self, name: &str, password_hash: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let changed = self
            .query("UPDATE agents SET password_hash = $2 WHERE name = $1")
            .bind(name.to_owned())
            .bind(password_hash.to_owned())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        self.query("DELETE FROM sessions WHERE agent_id = (SELECT id FROM agents WHERE name = $1)")
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Disables (`Some(at)`) or enables (`None`) an agent. Disabling ends
    /// its sessions at once; its API tokens stop working while it is
    /// disabled (they are checked against the agent on every request).
    pub async fn set_agent_disabled(&self, name: &str, at: Option<Millis>) -> Result<bool> {
        let mut tx = self.begin().await?;
        let changed = self
            .query("UPDATE agents SET disabled_at = $2 WHERE name = $1")
            .bind(name.to_owned())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if at.is_some() {
            self.query(
                "DELETE FROM sessions WHERE agent_id = (SELECT id FROM agents WHERE name = $1)",
            )
            .bind(name.to_owned())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn agent_by_name(&self, name: &str) -> Result<Option<AgentRow>> {
        Ok(self
            .query_as("SELECT * FROM agents WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn list_agents(&self) -> Result<Vec<AgentRow>> {
        Ok(self
            .query_as("SELECT * FROM agents ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn create_session(&self, s: &SessionRow) -> Result<()> {
        self.query("INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(s.token_hash.clone())
            .bind(s.agent_id)
            .bind(s.csrf_token.clone())
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live session with this token hash, and its (enabled) agent.
    pub async fn session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<(SessionRow, AgentRow)>> {
        let Some(s): Option<SessionRow> = self
            .query_as("SELECT * FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash.to_owned())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let agent: Option<AgentRow> = self
            .query_as("SELECT * FROM agents WHERE id = $1 AND disabled_at IS NULL")
            .bind(s.agent_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(agent.map(|a| (s, a)))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        agent_id: i64,
        token_hash: &str,
        label: &str,
        at: Millis,
    ) -> Result<i64> {
        let (id,): (i64,) = self
            .query_as("INSERT INTO api_tokens (agent_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(agent_id)
            .bind(token_hash.to_owned())
            .bind(label.to_owned())
            .bind(at)
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    /// The agent of an unrevoked API token (and notes its use).
    pub async fn api_token_agent(&self, token_hash: &str, now: Millis) -> Result<Option<AgentRow>> {
        let Some(t): Option<ApiTokenRow> = self
            .query_as("SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        self.query("UPDATE api_tokens SET last_used = $2 WHERE id = $1")
            .bind(t.id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(self
            .query_as("SELECT * FROM agents WHERE id = $1 AND disabled_at IS NULL")
            .bind(t.agent_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn revoke_api_token(&self, id: i64, at: Millis) -> Result<bool> {
        Ok(self
            .query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRow>> {
        Ok(self
            .query_as("SELECT * FROM api_tokens ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Takes one login attempt for `key`, atomically, before the password
    /// is checked: the `max`-th attempt within `window` is the last one
    /// allowed, later ones are refused until the window (or a lock set by
    /// [`Self::login_lock`]) has passed. One statement, so concurrent
    /// attempts are counted one by one whatever their number: a burst of 40
    /// guesses gets `max` of them checked.
    pub async fn login_attempt(
        &self,
        key: &str,
        now: Millis,
        window: Millis,
        max: i64,
    ) -> Result<LoginAttempt> {
        let mut tx = self.begin().await?;
        self.query(
            "INSERT INTO login_failures (key, failures, first_at) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key.to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // Locked: nothing changes. Otherwise a count older than the window
        // starts again at this attempt.
        let (attempts, locked_until): (i64, Option<i64>) = self
            .query_as(
                "UPDATE login_failures SET
                   failures = CASE WHEN locked_until > $2 THEN failures
                                   WHEN first_at < $3 THEN 1 ELSE failures + 1 END,
                   first_at = CASE WHEN locked_until > $2 THEN first_at
                                   WHEN first_at < $3 THEN $2 ELSE first_at END,
                   locked_until = CASE WHEN locked_until > $2 THEN locked_until ELSE NULL END
                 WHERE key = $1 RETURNING failures, locked_until",
            )
            .bind(key.to_owned())
            .bind(now)
            .bind(now - window)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match locked_until {
            Some(until) => LoginAttempt::Locked { until },
            None if attempts > max => LoginAttempt::Locked {
                until: now + window,
            },
            None => LoginAttempt::Allowed { attempt: attempts },
        })
    }

    /// Locks `key` until `until` (after the last allowed attempt failed).
    pub async fn login_lock(&self, key: &str, until: Millis) -> Result<()> {
        self.query("UPDATE login_failures SET locked_until = $2 WHERE key = $1")
            .bind(key.to_owned())
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn login_succeeded(&self, key: &str) -> Result<()> {
        self.query("DELETE FROM login_failures WHERE key = $1")
            .bind(key.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // Audit.

    pub async fn audit(&self, e: &NewAudit) -> Result<()> {
        let mut tx = self.begin().await?;
        self.audit_in(
            &mut tx,
            e.report_id,
            &e.actor,
            &e.action,
            e.before_json.clone(),
            e.after_json.clone(),
            e.at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn audit_in(
        &self,
        tx: &mut Tx,
        report_id: Option<i64>,
        actor: &str,
        action: &str,
        before: Option<String>,
        after: Option<String>,
        at: Millis,
    ) -> Result<()> {
        self.query("INSERT INTO audit_log (report_id, actor, action, before_json, after_json, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(report_id)
            .bind(actor.to_owned())
            .bind(action.to_owned())
            .bind(before)
            .bind(after)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// `$12` → `?12`, outside string literals.
fn to_sqlite(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut in_str = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_str = !in_str;
        }
        if c == '$' && !in_str && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::to_sqlite;

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(
            to_sqlite("a = $1 AND b = $12 AND c = '$3'"),
            "a = ?1 AND b = ?12 AND c = '$3'"
        );
        assert_eq!(to_sqlite("no params"), "no params");
    }
}
