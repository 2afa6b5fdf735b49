//! Transcripts, reports as read by agents and the API, address hints and likely duplicates.

use super::types::*;
use super::{Result, Store, StoreError};
use crate::domain::{Millis, ReportNumber, TranscriptEffect};
use crate::jobs::kind::BackgroundJob;
use crate::jobs::kinds::{ReportEvent, SendUrgentEmail};

impl Store {
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
            if let Some(u) = &t.urgency {
                self.query(
                    "UPDATE reports SET urgent_reason = $2, urgent_kind = $3 WHERE id = $1 AND urgent_reason IS NULL",
                )
                .bind(rec.report_id)
                .bind(u.reason.clone())
                .bind(u.kind.as_str())
                .execute(&mut *tx)
                .await?;
                let after =
                    serde_json::json!({ "kind": u.kind.as_str(), "reason": u.reason }).to_string();
                self.audit_in(
                    &mut tx,
                    Some(rec.report_id),
                    "system",
                    "marked_urgent",
                    None,
                    Some(after),
                    t.at,
                )
                .await?;
                // The on-call officer hears of it through the queue, once:
                // the jobs' keys are the report's.
                if let Some(Escalate { email }) = t.escalate {
                    let event = ReportEvent {
                        report_id: rec.report_id,
                        event: "report.urgent".into(),
                        version: None,
                    };
                    self.enqueue_in(&mut tx, &event.to_new_job(t.at)).await?;
                    if email {
                        let mail = SendUrgentEmail {
                            report_id: rec.report_id,
                        };
                        self.enqueue_in(&mut tx, &mail.to_new_job(t.at)).await?;
                    }
                }
            }
            let report: Report = self
                .query_as("SELECT * FROM reports WHERE id = $1")
                .bind(rec.report_id)
                .fetch_one(&mut *tx)
                .await?;
            let status = report.status;
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
            let action = if status.is_settled() {
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
        let call: Option<Call> = match report.call_id {
            Some(id) => Some(
                self.query_as("SELECT * FROM calls WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?,
            ),
            None => None,
        };
        let follows = match report.follows_up {
            Some(id) => self.report_numbers(&[id]).await?.remove(&id),
            None => None,
        };
        let followed_by: Vec<(String,)> = self
            .query_as("SELECT number FROM reports WHERE follows_up = $1 ORDER BY id")
            .bind(report.id)
            .fetch_all(&self.pool)
            .await?;
        let recordings = self
            .query_as("SELECT * FROM recordings WHERE report_id = $1 AND fetch_status <> 'discarded' ORDER BY id")
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
        let dials = match &call {
            Some(c) => self.dials(c.id).await?,
            None => Vec::new(),
        };
        Ok(Some(ReportDetail {
            report,
            call,
            follows,
            followed_by: followed_by.into_iter().map(|(n,)| n).collect(),
            recordings,
            transcript,
            transcripts,
            audit,
            dials,
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
        let (mut sql, binds) = filtered("SELECT * FROM reports", f, true);
        // The queue (oldest first) puts urgent reports ahead of the rest.
        let (urgent, order) = match f.oldest_first {
            true => (format!("{ORDINARY}, "), "ASC"),
            false => (String::new(), "DESC"),
        };
        sql += &format!(
            " ORDER BY {urgent}created_at {order}, id {order} LIMIT {} OFFSET {}",
            f.limit.clamp(1, 10_000),
            f.offset.max(0)
        );
        let sql = self.dynamic(sql);
        let mut q = sqlx::query_as::<_, Report>(&sql);
        for b in binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    /// What a list of reports shows beside each: the recordings' length in
    /// seconds and the transcripts' segments (JSON, one entry a recording).
    pub async fn list_extras(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, (Option<i64>, Vec<String>)>> {
        let mut out: std::collections::HashMap<i64, (Option<i64>, Vec<String>)> =
            Default::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let secs: Vec<(i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT report_id, CAST(SUM(duration_secs) AS BIGINT) FROM recordings
             WHERE report_id IN ({list}) AND fetch_status <> 'discarded' GROUP BY report_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        for (id, s) in secs {
            out.entry(id).or_default().0 = s;
        }
        let segments: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT report_id, segments FROM transcripts WHERE report_id IN ({list})"
        ))
        .fetch_all(&self.pool)
        .await?;
        for (id, s) in segments {
            out.entry(id).or_default().1.push(s);
        }
        Ok(out)
    }

    /// The numbers of reports by their ids (for lists that hold ids).
    pub async fn report_numbers(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, String>> {
        if ids.is_empty() {
            return Ok(Default::default());
        }
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT id, number FROM reports WHERE id IN ({list})"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// How many reports `f` matches in all (its paging aside).
    pub async fn count_matching(&self, f: &ReportFilter) -> Result<i64> {
        let (sql, binds) = filtered("SELECT COUNT(*) FROM reports", f, false);
        let sql = self.dynamic(sql);
        let mut q = sqlx::query_as::<_, (i64,)>(&sql);
        for b in binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        Ok(q.fetch_one(&self.pool).await?.0)
    }

    /// Reports by status, and `urgent`: the urgent drafts among them.
    pub async fn count_reports(&self) -> Result<Vec<(String, i64)>> {
        let mut counts: Vec<(String, i64)> = self
            .query_as("SELECT status, COUNT(*) FROM reports GROUP BY status ORDER BY status")
            .fetch_all(&self.pool)
            .await?;
        let (urgent,): (i64,) = self
            .query_as(
                "SELECT COUNT(*) FROM reports WHERE status = 'draft' AND urgent_reason IS NOT NULL",
            )
            .fetch_one(&self.pool)
            .await?;
        counts.push(("urgent".into(), urgent));
        Ok(counts)
    }

    // Address hints.

    /// Replaces the report's address candidates.
    pub async fn save_address_candidates(
        &self,
        report_id: i64,
        found: &[crate::domain::AddressCandidate],
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

    /// The same caller's other reports since `since`, newest first (matched
    /// by the calls' keyed hashes; none for a withheld number).
    pub async fn same_caller(&self, report: &Report, since: Millis) -> Result<Vec<Report>> {
        Ok(self
            .query_as(
                "SELECT r.* FROM reports r LEFT JOIN reports f ON f.id = r.follows_up
                   JOIN calls c ON c.id = COALESCE(r.call_id, f.call_id)
                 WHERE c.caller_key = (SELECT caller_key FROM calls
                                        WHERE id = COALESCE($1, (SELECT call_id FROM reports WHERE id = $4)))
                   AND r.id <> $2 AND r.created_at >= $3
                 ORDER BY r.created_at DESC, r.id DESC LIMIT 20",
            )
            .bind(report.call_id)
            .bind(report.id)
            .bind(since)
            .bind(report.follows_up)
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
}

/// 0 for an urgent report, 1 for another: the queue's first sort key.
const ORDINARY: &str = "(CASE WHEN urgent_reason IS NULL THEN 1 ELSE 0 END)";

/// Polish capitals folded to small letters (SQLite's `LOWER` folds ASCII
/// only; the same expression on PostgreSQL).
fn folded(col: &str) -> String {
    let mut e = format!("LOWER({col})");
    for (from, to) in [
        ("Ą", "ą"),
        ("Ć", "ć"),
        ("Ę", "ę"),
        ("Ł", "ł"),
        ("Ń", "ń"),
        ("Ó", "ó"),
        ("Ś", "ś"),
        ("Ź", "ź"),
        ("Ż", "ż"),
    ] {
        e = format!("REPLACE({e}, '{from}', '{to}')");
    }
    e
}

enum Bind {
    Text(String),
    Int(i64),
}

/// `select` with the filter's conditions (and, with `paged`, its keyset
/// cursor), and the values to bind in order.
fn filtered(select: &str, f: &ReportFilter, paged: bool) -> (String, Vec<Bind>) {
    let mut sql = format!("{select} WHERE 1 = 1");
    let mut binds: Vec<Bind> = Vec::new();
    let arg = |b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if let Some(s) = f.status {
        sql += &format!(
            " AND status = {}",
            arg(Bind::Text(s.as_str().into()), &mut binds)
        );
    }
    if let Some(c) = &f.category {
        sql += &format!(" AND category = {}", arg(Bind::Text(c.clone()), &mut binds));
    }
    if let Some(l) = f.language {
        sql += &format!(
            " AND language = {}",
            arg(Bind::Text(l.code().into()), &mut binds)
        );
    }
    if let Some(t) = f.since {
        sql += &format!(" AND created_at >= {}", arg(Bind::Int(t), &mut binds));
    }
    if let Some(t) = f.until {
        sql += &format!(" AND created_at < {}", arg(Bind::Int(t), &mut binds));
    }
    if f.urgent_only {
        sql += " AND urgent_reason IS NOT NULL";
    }
    match f.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => {}
        Some(q) => match crate::domain::ReportNumber::parse(q) {
            Ok(n) => {
                sql += &format!(
                    " AND number = {}",
                    arg(Bind::Text(n.to_string()), &mut binds)
                )
            }
            Err(_) => {
                let digits: String = q.chars().filter(char::is_ascii_digit).collect();
                let phone_like = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
                if phone_like && digits.len() >= 3 {
                    let p = arg(Bind::Text(format!("%{digits}%")), &mut binds);
                    sql += &format!(" AND (caller LIKE {p} OR REPLACE(number, '-', '') LIKE {p})");
                } else {
                    let hay = folded("COALESCE(text, '') || ' ' || COALESCE(address, '')");
                    for word in q.split_whitespace().take(8) {
                        let w = word.to_lowercase().replace(['%', '_'], "");
                        if w.is_empty() {
                            continue;
                        }
                        sql += &format!(
                            " AND {hay} LIKE {}",
                            arg(Bind::Text(format!("%{w}%")), &mut binds)
                        );
                    }
                }
            }
        },
    }
    if let (true, Some(c)) = (paged, f.after) {
        let (cmp, first) = match f.oldest_first {
            true => (">", Some(ORDINARY)),
            false => ("<", None),
        };
        let at = arg(Bind::Int(c.created_at), &mut binds);
        let id = arg(Bind::Int(c.id), &mut binds);
        let rest = format!("(created_at {cmp} {at} OR (created_at = {at} AND id {cmp} {id}))");
        sql += &match first {
            Some(key) => {
                let o = arg(Bind::Int(c.ordinary), &mut binds);
                format!(" AND ({key} > {o} OR ({key} = {o} AND {rest}))")
            }
            None => format!(" AND {rest}"),
        };
    }
    (sql, binds)
}
