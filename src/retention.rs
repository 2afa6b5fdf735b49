//! Retention (RODO/GDPR): the audio of decided reports is deleted
//! `retention.audio_days` after the decision. Reports, transcripts and the
//! audit trail stay. Audio of reports still in the pipeline or waiting for an
//! agent is never touched. Runs hourly as a job (de-duplicated per hour, so
//! any number of workers run it once).

use std::sync::Arc;

use async_trait::async_trait;
use tracing::{info, warn};

use crate::domain::Millis;
use crate::jobs::kinds::RetentionSweep;
use crate::store::{Job, Store};
use crate::worker::{Outcome, Perform};

const DAY: Millis = 24 * 3600 * 1000;

pub struct Retention {
    pub store: Arc<Store>,
    /// Where the recordings are (a directory or object storage).
    pub storage: crate::storage::Storage,
    pub audio_days: i64,
}

impl Retention {
    /// Deletes what is due; returns how many recordings lost their audio.
    pub async fn sweep(&self, now: Millis) -> crate::store::Result<usize> {
        if self.audio_days <= 0 {
            return Ok(0);
        }
        let cutoff = now - self.audio_days * DAY;
        let due = self.store.audio_past_retention(cutoff).await?;
        for rec in &due {
            let Some(key) = &rec.local_path else { continue };
            if !self.store.file_still_needed(key, rec.id).await? {
                if let Err(e) = self.storage.delete(key).await {
                    warn!(error = %e, recording_id = rec.id, "could not delete audio; will retry");
                    continue;
                }
            }
            self.store.audio_deleted(rec.id, now).await?;
        }
        if !due.is_empty() {
            info!(
                deleted = due.len(),
                days = self.audio_days,
                "retention: audio deleted"
            );
        }
        Ok(due.len())
    }
}

#[async_trait]
impl Perform<RetentionSweep> for Retention {
    async fn perform(&self, _: RetentionSweep, _: &Job) -> Outcome {
        match self.sweep(self.store.now()).await {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}
