//! Recordings: announced, fetched, stored or lost; retention and backups.

use super::types::*;
use super::{NewRecording, Result, Store, StoreError, Tx, PENDING};
use crate::domain::{AudioStatus, CallSid, Millis, ReportStatus};
use crate::jobs::kind::BackgroundJob;
use crate::jobs::kinds::{FetchRecording, Transcribe};

impl Store {
    // Recordings.

    /// A recording the provider announced, kept: fetched and transcribed
    /// (it replaces one the caller was still reviewing).
    pub async fn recording_announced(
        &self,
        sid: &CallSid,
        rec: &NewRecording,
    ) -> Result<Announced> {
        self.announce(sid, rec, false).await
    }

    /// A recording the caller is still reviewing: stored, not fetched,
    /// until it is kept ([`Store::keep_held_recording`]), replaced by the
    /// next one, or the call ends.
    pub async fn recording_held(&self, sid: &CallSid, rec: &NewRecording) -> Result<Announced> {
        self.announce(sid, rec, true).await
    }

    async fn announce(&self, sid: &CallSid, rec: &NewRecording, held: bool) -> Result<Announced> {
        let mut tx = self.begin().await?;
        let call = self.call_in(&mut tx, sid, rec.at).await?;
        let report = self
            .ensure_report(
                &mut tx,
                &call,
                Some(&rec.category),
                Some(rec.language),
                if held {
                    ReportStatus::Open
                } else {
                    ReportStatus::AwaitingAudio
                },
                rec.at,
            )
            .await?;
        let status = if held {
            FetchStatus::Held
        } else {
            FetchStatus::Pending
        };
        let created = self
            .query(
                "INSERT INTO recordings (report_id, recording_sid, url, duration_secs, fetch_status, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (recording_sid) DO NOTHING",
            )
            .bind(report.id)
            .bind(rec.sid.as_str().to_owned())
            .bind(rec.url.clone())
            .bind(rec.duration_secs)
            .bind(status.as_str())
            .bind(rec.at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let mut recording = self.recording_by_sid(&mut tx, rec.sid.as_str()).await?;
        // Kept now: a new recording, or one held for the review until now
        // (a discarded one stays discarded).
        if !held && (created || recording.fetch_status == FetchStatus::Held) {
            self.release_in(&mut tx, &recording, rec.at).await?;
            recording = self.recording_by_sid(&mut tx, rec.sid.as_str()).await?;
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

    /// The caller kept the recording they reviewed (or hung up while
    /// reviewing it): the latest one held becomes the report's audio.
    /// Returns the call's report.
    pub async fn keep_held_recording(&self, sid: &CallSid, at: Millis) -> Result<Option<Report>> {
        let mut tx = self.begin().await?;
        let call = self.call_in(&mut tx, sid, at).await?;
        let Some(report) = self.report_of_call(&mut tx, call.id).await? else {
            return Ok(None);
        };
        self.keep_latest_held_in(&mut tx, report.id, at).await?;
        let report = self.report_of_call(&mut tx, call.id).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Releases the report's latest held recording, if any.
    pub(super) async fn keep_latest_held_in(
        &self,
        tx: &mut Tx,
        report_id: i64,
        at: Millis,
    ) -> Result<()> {
        let held: Option<Recording> = self
            .query_as(
                "SELECT * FROM recordings WHERE report_id = $1 AND fetch_status = 'held'
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(report_id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(rec) = held {
            self.release_in(tx, &rec, at).await?;
        }
        Ok(())
    }

    async fn recording_by_sid(&self, tx: &mut Tx, sid: &str) -> Result<Recording> {
        Ok(self
            .query_as("SELECT * FROM recordings WHERE recording_sid = $1")
            .bind(sid.to_owned())
            .fetch_one(&mut **tx)
            .await?)
    }

    /// `rec` becomes the report's audio: queued for fetching, and any other
    /// recording still held for the review is discarded (never fetched).
    async fn release_in(&self, tx: &mut Tx, rec: &Recording, at: Millis) -> Result<()> {
        let report_id = rec.report_id;
        self.query("UPDATE recordings SET fetch_status = 'pending' WHERE id = $1 AND fetch_status = 'held'")
            .bind(rec.id)
            .execute(&mut **tx)
            .await?;
        let discarded = self
            .query(
                "UPDATE recordings SET fetch_status = 'discarded'
                 WHERE report_id = $1 AND id <> $2 AND fetch_status = 'held'",
            )
            .bind(report_id)
            .bind(rec.id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if discarded > 0 {
            self.audit_in(
                tx,
                Some(report_id),
                "system",
                "recorded_again",
                None,
                None,
                at,
            )
            .await?;
        }
        // A late recording also rescues a call already counted as missed.
        self.query(
            "UPDATE reports SET status = 'awaiting_audio', audio_status = 'pending', version = version + 1, updated_at = $2
             WHERE id = $1 AND status IN ('open', 'awaiting_audio', 'missed_call')",
        )
        .bind(report_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        let job = FetchRecording {
            recording_id: rec.id,
            recording_sid: rec.recording_sid.clone(),
        };
        self.enqueue_in(tx, &job.to_new_job(at)).await?;
        Ok(())
    }

    /// No recording will come for the call: its open report becomes a missed
    /// call (one is filed if it has none).
    pub async fn recording_absent(&self, sid: &CallSid, reason: &str) -> Result<Option<Report>> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let call = self.call_in(&mut tx, sid, now).await?;
        if self.report_of_call(&mut tx, call.id).await?.is_none()
            && self.dial_state(&mut tx, call.id).await?.completed
        {
            // Connected onwards: nothing to file.
            return Ok(None);
        }
        let report = self.ensure_missed(&mut tx, &call, now).await?;
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
        let job = Transcribe { recording_id: id };
        self.enqueue_in(&mut tx, &job.to_new_job(s.at)).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn recording_unavailable(&self, id: i64, error: &str) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let rec: Recording = self
            .query_as("UPDATE recordings SET fetch_status = 'failed', fetch_error = $2 WHERE id = $1 RETURNING *")
            .bind(id)
            .bind(error.to_owned())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("recording {id}")))?;
        let note = format!("audio unavailable: {error}");
        self.audio_lost(tx, rec.report_id, AudioStatus::Unavailable, &note, now)
            .await
    }

    /// The stored object is not the bytes it was stored as (its hash does
    /// not match): no longer referenced, so never served as the caller's
    /// recording; the report goes on without audio, with a note.
    pub async fn recording_corrupt(&self, id: i64, error: &str) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.begin().await?;
        let rec: Recording = self
            .query_as(
                "UPDATE recordings SET fetch_status = 'damaged', fetch_error = $2, local_path = NULL
                 WHERE id = $1 RETURNING *",
            )
            .bind(id)
            .bind(error.to_owned())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("recording {id}")))?;
        let note = format!("audio unavailable: stored copy damaged: {error}");
        self.audio_lost(tx, rec.report_id, AudioStatus::Unavailable, &note, now)
            .await
    }

    pub async fn recording_undecodable(&self, id: i64, error: &str) -> Result<()> {
        let now = self.clock.now();
        let rec = self
            .get_recording(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("recording {id}")))?;
        let tx = self.begin().await?;
        let note = format!("recording could not be transcribed: {error}");
        self.audio_lost(tx, rec.report_id, AudioStatus::Undecodable, &note, now)
            .await
    }

    /// The report goes to the agents without (usable) audio, with a note.
    async fn audio_lost(
        &self,
        mut tx: Tx,
        report_id: i64,
        audio: AudioStatus,
        note: &str,
        now: Millis,
    ) -> Result<()> {
        let draft = Some(ReportStatus::Draft);
        self.set_audio(&mut tx, report_id, audio, draft, Some(note), now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the report's audio status and, if the report is still waiting
    /// for the pipeline, its next status; audits the change.
    pub(super) async fn set_audio(
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

    /// What the recordings storage holds, and the reports whose stored
    /// audio was found damaged (newest first, at most `damaged_limit`).
    pub async fn recording_stats(
        &self,
        damaged_limit: i64,
    ) -> Result<(RecordingStats, Vec<String>)> {
        let rows: Vec<(String, i64, i64)> = self
            .query_as(
                "SELECT fetch_status, CAST(CASE WHEN local_path IS NULL THEN 0 ELSE 1 END AS BIGINT), COUNT(*)
                 FROM recordings GROUP BY 1, 2",
            )
            .fetch_all(&self.pool)
            .await?;
        let mut st = RecordingStats::default();
        for (status, kept, n) in rows {
            if let Ok(status) = status.parse::<FetchStatus>() {
                st.add(status, kept == 1, n);
            }
        }
        // Identical audio is one object: count and size each once.
        let (objects, bytes): (i64, i64) = self
            .query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(b), 0) AS BIGINT) FROM
                   (SELECT local_path, MAX(COALESCE(bytes, 0)) AS b FROM recordings
                    WHERE local_path IS NOT NULL GROUP BY local_path) o",
            )
            .fetch_one(&self.pool)
            .await?;
        st.objects = objects;
        st.bytes = bytes;
        let damaged: Vec<(String,)> = self
            .query_as(
                "SELECT r.number FROM recordings rec JOIN reports r ON r.id = rec.report_id
                 WHERE rec.fetch_status = 'damaged' ORDER BY rec.id DESC LIMIT $1",
            )
            .bind(damaged_limit)
            .fetch_all(&self.pool)
            .await?;
        Ok((st, damaged.into_iter().map(|(n,)| n).collect()))
    }

    /// The object store this installation keeps its recordings in, as
    /// recorded in the database ([`crate::storage::Agreement`]).
    pub async fn recordings_store(&self) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .query_as("SELECT value FROM settings WHERE name = 'recordings_store'")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(v,)| v))
    }

    /// Records the installation's object store (none: directories). With
    /// `only_if_unset`, the first process to record one wins.
    pub async fn set_recordings_store(&self, url: Option<&str>, only_if_unset: bool) -> Result<()> {
        match url {
            Some(url) => {
                let sql = if only_if_unset {
                    "INSERT INTO settings (name, value) VALUES ('recordings_store', $1)
                     ON CONFLICT (name) DO NOTHING"
                } else {
                    "INSERT INTO settings (name, value) VALUES ('recordings_store', $1)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                };
                self.query(sql)
                    .bind(url.to_owned())
                    .execute(&self.pool)
                    .await?;
            }
            None => {
                self.query("DELETE FROM settings WHERE name = 'recordings_store'")
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    // Retention.

    /// Stored recordings of reports decided before `cutoff`: the only audio
    /// retention may delete (never audio still being processed or reviewed).
    pub async fn audio_past_retention(&self, cutoff: Millis) -> Result<Vec<Recording>> {
        Ok(self
            .query_as(
                "SELECT rec.* FROM recordings rec JOIN reports r ON r.id = rec.report_id
                 WHERE rec.local_path IS NOT NULL AND r.status IN ('confirmed', 'rejected', 'closed')
                   AND r.decided_at IS NOT NULL AND r.decided_at < $1
                 ORDER BY rec.id LIMIT 500",
            )
            .bind(cutoff)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every stored recording, oldest first (for copying the recordings to
    /// another store).
    pub async fn stored_recordings(&self) -> Result<Vec<Recording>> {
        Ok(self
            .query_as("SELECT * FROM recordings WHERE local_path IS NOT NULL ORDER BY id")
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
}
