//! What a job kind is: its name in the queue, its payload (serde), its
//! de-duplication key and its retry policy. One file per kind under
//! `kinds/`; the service that runs a kind implements
//! [`Perform`](crate::worker::Perform) for it and registers it with
//! [`Worker::register`](crate::worker::Worker::register).
//!
//! Kinds are enqueued by the store inside the transaction that causes them
//! (a recording stored → its transcription), so this file and the kinds
//! depend on nothing above the domain.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::domain::Millis;

/// A job kind and its payload.
pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind's name in the queue. Queued rows carry it: never rename.
    const NAME: &'static str;
    /// Attempts before the job fails for good.
    const MAX_ATTEMPTS: i64;
    /// The first retry's delay; it doubles with every attempt (see
    /// [`crate::worker::backoff`]).
    const RETRY_BASE: Duration = Duration::from_secs(5);

    /// Jobs of this kind with the same key are enqueued once (a provider's
    /// retried webhook, a decision saved twice, one retention sweep an hour).
    fn dedup_key(&self) -> Option<String>;

    /// The row to insert, due at `run_at`.
    fn to_new_job(&self, run_at: Millis) -> NewJob {
        NewJob {
            kind: Self::NAME.to_owned(),
            dedup_key: self.dedup_key(),
            // A struct of plain fields always serializes.
            payload: serde_json::to_string(self).unwrap_or_else(|_| "{}".into()),
            max_attempts: Self::MAX_ATTEMPTS,
            run_at,
        }
    }

    /// The payload of a queued row, or why it does not fit this kind (a
    /// row written by another version of hotline).
    fn decode(payload: &str) -> Result<Self, String> {
        serde_json::from_str(payload).map_err(|e| {
            format!(
                "the payload does not fit a {} job (written by another version of hotline?): {e}",
                Self::NAME
            )
        })
    }
}

/// A row for the queue, of any kind (typed jobs make theirs with
/// [`BackgroundJob::to_new_job`]).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub dedup_key: Option<String>,
    pub payload: String,
    pub max_attempts: i64,
    pub run_at: Millis,
}
