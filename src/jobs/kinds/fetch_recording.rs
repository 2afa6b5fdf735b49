//! Download a recording the provider announced (then its transcription is
//! enqueued). Given up: the report is filed without audio.

use serde::{Deserialize, Serialize};

use crate::jobs::kind::BackgroundJob;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRecording {
    pub recording_id: i64,
    /// The provider's recording id: one download per recording, however
    /// often the provider announces it.
    #[serde(skip)]
    pub recording_sid: String,
}

impl BackgroundJob for FetchRecording {
    const NAME: &'static str = "fetch_recording";
    const MAX_ATTEMPTS: i64 = 6;

    fn dedup_key(&self) -> Option<String> {
        Some(self.recording_sid.clone())
    }
}
