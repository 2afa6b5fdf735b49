//! A grace period after a call ended without a recording: if none was
//! announced by then, the call becomes a missed call.

use serde::{Deserialize, Serialize};

use crate::domain::Millis;
use crate::jobs::kind::BackgroundJob;

/// How long after a call ends a recording may still be announced before
/// the call counts as missed.
pub const RECORDING_GRACE_MS: Millis = 10 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalizeCall {
    pub call_sid: String,
}

impl BackgroundJob for FinalizeCall {
    const NAME: &'static str = "finalize_call";
    const MAX_ATTEMPTS: i64 = 5;

    fn dedup_key(&self) -> Option<String> {
        Some(self.call_sid.clone())
    }
}

impl FinalizeCall {
    /// When the job runs for a call that ended at `ended_at`.
    pub fn due(ended_at: Millis) -> Millis {
        ended_at + RECORDING_GRACE_MS
    }
}
