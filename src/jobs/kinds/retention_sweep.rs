//! The hourly retention sweep: every worker enqueues it, the hour's key
//! lets one run.

use serde::{Deserialize, Serialize};

use crate::domain::Millis;
use crate::jobs::kind::BackgroundJob;

const HOUR: Millis = 3600 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RetentionSweep {
    /// Hours since the epoch (not stored: the key carries it).
    #[serde(skip)]
    pub hour: i64,
}

impl BackgroundJob for RetentionSweep {
    const NAME: &'static str = "retention";
    const MAX_ATTEMPTS: i64 = 3;

    fn dedup_key(&self) -> Option<String> {
        Some(format!("h{}", self.hour))
    }
}

impl RetentionSweep {
    /// The sweep of the hour of `now`, due at once.
    pub fn hourly(now: Millis) -> crate::jobs::NewJob {
        Self { hour: now / HOUR }.to_new_job(now)
    }
}
