//! Transcribe a stored recording into the report's draft. Given up: the
//! report is flagged for an agent to listen to.

use serde::{Deserialize, Serialize};

use crate::jobs::kind::BackgroundJob;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcribe {
    pub recording_id: i64,
}

impl BackgroundJob for Transcribe {
    const NAME: &'static str = "transcribe";
    const MAX_ATTEMPTS: i64 = 3;

    fn dedup_key(&self) -> Option<String> {
        Some(self.recording_id.to_string())
    }
}
