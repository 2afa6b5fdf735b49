//! Calls, the IVR's progress, report numbers and how calls end.

use super::types::*;
use super::{NewCall, Result, Store, StoreError, Tx};
use crate::domain::{CallSid, Language, Millis, ReportNumber, ReportStatus};
use crate::jobs::kind::BackgroundJob;
use crate::jobs::kinds::FinalizeCall;

/// What became of a call's connections onwards.
pub(super) struct DialState {
    pub completed: bool,
    pub open: bool,
}

/// How long a connected call may go without a webhook.
pub const DIAL_STALE_MS: Millis = 4 * 3600 * 1000;

impl Store {
    // Calls.

    pub async fn call_started(&self, c: &NewCall) -> Result<Call> {
        self.query(
            "INSERT INTO calls (call_sid, caller, called, started_at, updated_at, caller_key) VALUES ($1, $2, $3, $4, $4, $5)
             ON CONFLICT (call_sid) DO NOTHING",
        )
        .bind(c.sid.as_str().to_owned())
        .bind(c.caller.as_str().to_owned())
        .bind(c.called.as_str().to_owned())
        .bind(c.at)
        .bind(c.caller.keyed(&self.caller_secret))
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

    pub async fn get_call_by_id(&self, id: i64) -> Result<Option<Call>> {
        Ok(self
            .query_as("SELECT * FROM calls WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Whether the caller of `sid` may be called back (their report's).
    pub async fn callback_consent(&self, sid: &CallSid, yes: bool) -> Result<()> {
        self.query(
            "UPDATE reports SET callback_consent = $2, updated_at = $3
             WHERE call_id = (SELECT id FROM calls WHERE call_sid = $1)",
        )
        .bind(sid.as_str().to_owned())
        .bind(i64::from(yes))
        .bind(self.clock.now())
        .execute(&self.pool)
        .await?;
        Ok(())
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
        .bind(self.clock.now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The call row, created as a placeholder if the provider's first
    /// webhook for it never reached us (so a recording is never dropped).
    pub(super) async fn call_in(&self, tx: &mut Tx, sid: &CallSid, at: Millis) -> Result<Call> {
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

    pub(super) async fn report_of_call(&self, tx: &mut Tx, call_id: i64) -> Result<Option<Report>> {
        Ok(self
            .query_as("SELECT * FROM reports WHERE call_id = $1")
            .bind(call_id)
            .fetch_optional(&mut **tx)
            .await?)
    }

    /// The call's report, created with a fresh number and `status` if absent
    /// (category and language as the call chose them, else as given).
    pub(super) async fn ensure_report(
        &self,
        tx: &mut Tx,
        call: &Call,
        category: Option<&str>,
        language: Option<Language>,
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
        .bind(call.category.clone().or_else(|| category.map(str::to_owned)))
        .bind(call.language.or(language).map(Language::code))
        .bind(call.caller.clone())
        .bind(status.as_str())
        .bind(at)
        .execute(&mut **tx)
        .await?;
        self.report_of_call(tx, call.id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("report of call {}", call.call_sid)))
    }

    /// The call's report as a missed call, created if absent; a caller who
    /// hung up before choosing leaves no category or language.
    pub(super) async fn ensure_missed(
        &self,
        tx: &mut Tx,
        call: &Call,
        at: Millis,
    ) -> Result<Report> {
        let status = ReportStatus::MissedCall;
        self.ensure_report(tx, call, None, None, status, at).await
    }

    /// Whether the call was connected onwards (a completed `<Dial>`) or is
    /// still being connected (one without an outcome yet).
    pub(super) async fn dial_state(&self, tx: &mut Tx, call_id: i64) -> Result<DialState> {
        let (completed, open): (i64, i64) = self
            .query_as(
                "SELECT COALESCE(SUM(CASE WHEN outcome IN ('completed', 'answered') THEN 1 ELSE 0 END), 0),
                        COALESCE(SUM(CASE WHEN ended_at IS NULL THEN 1 ELSE 0 END), 0)
                 FROM call_dials WHERE call_id = $1",
            )
            .bind(call_id)
            .fetch_one(&mut **tx)
            .await?;
        Ok(DialState {
            completed: completed > 0,
            open: open > 0,
        })
    }

    /// Next report number of the year of `at` (`26-00001`, `26-00002`, …).
    pub(super) async fn next_number(&self, tx: &mut Tx, at: Millis) -> Result<ReportNumber> {
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
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let call = self.call_in(&mut tx, sid, now).await?;
        let report = self
            .ensure_report(
                &mut tx,
                &call,
                Some(category),
                Some(language),
                ReportStatus::Open,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// The call is over (`outcome` as the provider says it). Without a
    /// report yet the caller hung up before recording: a missed call.
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
        let dials = self.dial_state(&mut tx, call.id).await?;
        if let Some(r) = self.report_of_call(&mut tx, call.id).await? {
            // Hung up while reviewing the recording: it stands.
            self.keep_latest_held_in(&mut tx, r.id, at).await?;
        }
        let report = match self.report_of_call(&mut tx, call.id).await? {
            // Connected to a consultant or a 24/7 service: the call ends
            // there, nothing to file.
            None if dials.completed => None,
            // Still connecting as far as we know: the `<Dial>`'s own
            // callback may come after this one. Decide after a grace period.
            None if dials.open => {
                let job = FinalizeCall {
                    call_sid: sid.as_str().to_owned(),
                };
                self.enqueue_in(&mut tx, &job.to_new_job(FinalizeCall::due(at)))
                    .await?;
                None
            }
            // The caller hung up before recording: a missed call, at once.
            None => {
                let r = self.ensure_missed(&mut tx, &call, at).await?;
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
            Some(r) if r.status == ReportStatus::Open => {
                let job = FinalizeCall {
                    call_sid: sid.as_str().to_owned(),
                };
                self.enqueue_in(&mut tx, &job.to_new_job(FinalizeCall::due(at)))
                    .await?;
                Some(r)
            }
            other => other,
        };
        tx.commit().await?;
        Ok(report)
    }

    /// Calls not over whose last webhook came before `cutoff`, oldest first.
    /// A call connected onwards sends nothing while the parties talk: it is
    /// stale only [`DIAL_STALE_MS`] after the connection started.
    pub async fn stale_calls(&self, cutoff: Millis, limit: i64) -> Result<Vec<CallSid>> {
        let rows: Vec<(String,)> = self
            .query_as(
                "SELECT call_sid FROM calls WHERE ended_at IS NULL AND updated_at < $1
                 AND NOT EXISTS (SELECT 1 FROM call_dials d WHERE d.call_id = calls.id
                                 AND d.ended_at IS NULL AND d.started_at >= $3)
                 ORDER BY updated_at LIMIT $2",
            )
            .bind(cutoff)
            .bind(limit)
            .bind(self.clock.now() - DIAL_STALE_MS)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(sid,)| CallSid::parse(&sid).ok())
            .collect())
    }
}
