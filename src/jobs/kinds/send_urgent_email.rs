//! An urgent report, by e-mail to the on-call officer: once per report.

use serde::{Deserialize, Serialize};

use crate::jobs::kind::BackgroundJob;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendUrgentEmail {
    pub report_id: i64,
}

impl BackgroundJob for SendUrgentEmail {
    const NAME: &'static str = "send_urgent_email";
    /// 5 s doubling: the last try about 40 minutes after the first.
    const MAX_ATTEMPTS: i64 = 10;

    fn dedup_key(&self) -> Option<String> {
        Some(self.report_id.to_string())
    }
}
