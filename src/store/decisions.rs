//! Agents' changes to reports (optimistic concurrency on `version`) and the audit trail.

use super::types::*;
use super::{Result, Store, StoreError, Tx};
use crate::domain::lifecycle::{self, AgentAction};
use crate::domain::{CallbackOutcome, Language, Millis, ReportStatus};
use crate::jobs::kind::BackgroundJob;
use crate::jobs::kinds::ReportEvent;

impl Store {
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
        let after = self.edit_in(&mut tx, before, edit, actor, at).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn edit_in(
        &self,
        tx: &mut Tx,
        before: Report,
        edit: &ReportEdit,
        actor: &str,
        at: Millis,
    ) -> Result<Report> {
        lifecycle::apply(before.status, AgentAction::Edit)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let after: Report = self
            .query_as(
                "UPDATE reports SET text = COALESCE($3, text), category = COALESCE($4, category), address = COALESCE($5, address),
                   version = version + 1, updated_at = $6
                 WHERE id = $1 AND version = $2 RETURNING *",
            )
            .bind(before.id)
            .bind(before.version)
            .bind(edit.text.clone())
            .bind(edit.category.clone())
            .bind(edit.address.clone())
            .bind(at)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::Conflict("the report changed meanwhile".into()))?;
        self.audit_change(tx, &before, &after, actor, "edited", at)
            .await?;
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
        self.edit_and_decide(id, version, None, decision, actor, at)
            .await
    }

    /// An agent's edits (if any) and decision, in one transaction: a
    /// decision refused leaves the edits unsaved too. City systems hear of
    /// it once the undo window has passed (an undo within it withdraws the
    /// news before it is sent).
    pub async fn edit_and_decide(
        &self,
        id: i64,
        version: i64,
        edit: Option<&ReportEdit>,
        decision: &Decision,
        actor: &str,
        at: Millis,
    ) -> Result<Report> {
        let mut tx = self.begin().await?;
        let mut before = self.report_for_change(&mut tx, id, version).await?;
        if let Some(edit) = edit {
            before = self.edit_in(&mut tx, before, edit, actor, at).await?;
        }
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
        let next = lifecycle::apply(before.status, act)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let action = next.as_str();
        let after: Report = self
            .query_as(
                "UPDATE reports SET status = $3, reject_reason = $4, duplicate_of = $5, decided_at = $6, decided_by = $7,
                   version = version + 1, updated_at = $6
                 WHERE id = $1 AND version = $2 RETURNING *",
            )
            .bind(id)
            .bind(before.version)
            .bind(action)
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
        let job = ReportEvent {
            report_id: after.id,
            event: format!("report.{action}"),
            version: Some(after.version),
        };
        self.enqueue_in(&mut tx, &job.to_new_job(at + lifecycle::UNDO_MS))
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A missed call called back, with `outcome`: a draft to fill in
    /// (`filed`), still a missed call with one more attempt counted
    /// (`no_answer`), or closed (`not_needed`, a decision that can be
    /// undone).
    pub async fn called_back(
        &self,
        id: i64,
        version: i64,
        outcome: CallbackOutcome,
        actor: &str,
        at: Millis,
    ) -> Result<CalledBack> {
        let mut tx = self.begin().await?;
        let before = self.report_for_change(&mut tx, id, version).await?;
        let next = lifecycle::apply(before.status, AgentAction::CalledBack(outcome))
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let closed = next == ReportStatus::Closed;
        let after: Report = self
            .query_as(
                "UPDATE reports SET status = $3, callback_outcome = $4, callback_attempts = callback_attempts + 1,
                   called_back_at = $5, decided_at = $6, decided_by = $7, version = version + 1, updated_at = $5
                 WHERE id = $1 AND version = $2 RETURNING *",
            )
            .bind(id)
            .bind(version)
            .bind(next.as_str())
            .bind(outcome.as_str())
            .bind(at)
            .bind(closed.then_some(at))
            .bind(closed.then(|| actor.to_owned()))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Conflict("the report changed meanwhile".into()))?;
        let action = format!("called_back_{}", outcome.as_str());
        self.audit_change(&mut tx, &before, &after, actor, &action, at)
            .await?;
        let filed = match outcome {
            CallbackOutcome::Filed => Some(self.file_follow_up(&mut tx, &after, actor, at).await?),
            _ => None,
        };
        tx.commit().await?;
        Ok(CalledBack {
            missed: after,
            filed,
        })
    }

    /// The report an agent took by phone after calling `missed` back: a new
    /// draft with its own number, pre-filled from the missed call (caller,
    /// category, language, what the agent already wrote) and linked to it.
    async fn file_follow_up(
        &self,
        tx: &mut Tx,
        missed: &Report,
        actor: &str,
        at: Millis,
    ) -> Result<Report> {
        let number = self.next_number(tx, at).await?;
        let draft: Report = self
            .query_as(
                "INSERT INTO reports (number, call_id, category, language, caller, status, audio_status, text,
                   address, follows_up, created_at, updated_at)
                 VALUES ($1, NULL, $2, $3, $4, $5, 'none', $6, $7, $8, $9, $9) RETURNING *",
            )
            .bind(number.as_str().to_owned())
            .bind(missed.category.clone())
            .bind(missed.language.map(Language::code))
            .bind(missed.caller.clone())
            .bind(ReportStatus::Draft.as_str())
            .bind(missed.text.clone())
            .bind(missed.address.clone())
            .bind(missed.id)
            .bind(at)
            .fetch_one(&mut **tx)
            .await?;
        let link = serde_json::json!({ "follows_up": missed.number }).to_string();
        self.audit_in(
            tx,
            Some(draft.id),
            actor,
            "filed_by_phone",
            None,
            Some(link),
            at,
        )
        .await?;
        Ok(draft)
    }

    /// A decided report back to where it was before the decision: `undone`
    /// by its agent within the undo window, or `reopened` by an
    /// administrator. The decision's news is withdrawn if not yet sent;
    /// otherwise city systems hear `report.reopened`.
    pub async fn reopen_report(
        &self,
        id: i64,
        version: i64,
        action: &str,
        actor: &str,
        at: Millis,
    ) -> Result<Report> {
        let mut tx = self.begin().await?;
        let before = self.report_for_change(&mut tx, id, version).await?;
        let decided: Option<(Option<String>,)> = self
            .query_as(
                "SELECT before_json FROM audit_log WHERE report_id = $1 AND action IN ('confirmed', 'rejected')
                 ORDER BY at DESC, id DESC LIMIT 1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let was = decided
            .and_then(|(j,)| j)
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
            .and_then(|v| v["status"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(crate::domain::ReportStatus::Draft);
        let next = lifecycle::reopen(before.status, was)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let after: Report = self
            .query_as(
                "UPDATE reports SET status = $3, reject_reason = NULL, duplicate_of = NULL, decided_at = NULL, decided_by = NULL,
                   version = version + 1, updated_at = $4
                 WHERE id = $1 AND version = $2 RETURNING *",
            )
            .bind(id)
            .bind(version)
            .bind(next.as_str())
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Conflict("the report changed meanwhile".into()))?;
        self.audit_change(&mut tx, &before, &after, actor, action, at)
            .await?;
        if !before.status.is_decided() {
            // A closed missed call: city systems never heard of it.
            tx.commit().await?;
            return Ok(after);
        }
        let news = ReportEvent {
            report_id: id,
            event: format!("report.{}", before.status.as_str()),
            version: Some(before.version),
        };
        let withdrawn = self
            .query("DELETE FROM jobs WHERE kind = $1 AND dedup_key = $2 AND status = 'queued'")
            .bind(ReportEvent::NAME)
            .bind(news.dedup_key())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if withdrawn == 0 {
            let job = ReportEvent {
                report_id: id,
                event: "report.reopened".into(),
                version: Some(after.version),
            };
            self.enqueue_in(&mut tx, &job.to_new_job(at)).await?;
        }
        tx.commit().await?;
        Ok(after)
    }

    pub(super) async fn report_for_change(
        &self,
        tx: &mut Tx,
        id: i64,
        version: i64,
    ) -> Result<Report> {
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

    pub(super) async fn audit_change(
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
