//! An agent confirmed or rejected a report: one delivery is enqueued for
//! every configured city system.

use serde::{Deserialize, Serialize};

use crate::jobs::kind::BackgroundJob;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDecided {
    pub report_id: i64,
    /// `report.confirmed` or `report.rejected`.
    pub event: String,
}

impl BackgroundJob for ReportDecided {
    const NAME: &'static str = "report_decided";
    const MAX_ATTEMPTS: i64 = 5;

    fn dedup_key(&self) -> Option<String> {
        let action = self.event.strip_prefix("report.").unwrap_or(&self.event);
        Some(format!("{}:{action}", self.report_id))
    }
}
