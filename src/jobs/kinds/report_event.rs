//! Something city systems hear about happened to a report (an agent
//! confirmed or rejected it; it was found urgent): one delivery is
//! enqueued for every configured city system.

use serde::{Deserialize, Serialize};

use crate::jobs::kind::BackgroundJob;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEvent {
    pub report_id: i64,
    /// `report.confirmed`, `report.rejected`, `report.reopened` or
    /// `report.urgent`.
    pub event: String,
    /// The report's version a decision made: a report reopened and decided
    /// again is news again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

impl BackgroundJob for ReportEvent {
    /// Named when decisions were its only events; queued rows carry it.
    const NAME: &'static str = "report_decided";
    const MAX_ATTEMPTS: i64 = 5;

    fn dedup_key(&self) -> Option<String> {
        let action = self.event.strip_prefix("report.").unwrap_or(&self.event);
        Some(match self.version {
            Some(v) => format!("{}:{action}:{v}", self.report_id),
            None => format!("{}:{action}", self.report_id),
        })
    }
}
