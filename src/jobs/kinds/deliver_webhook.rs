//! One signed webhook to one city system, retried on its own.

use serde::{Deserialize, Serialize};

use crate::jobs::kind::BackgroundJob;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub report_id: i64,
    pub event: String,
    /// The target's position in the configuration.
    pub target: usize,
    /// The version of the report the event is about ([`super::ReportEvent`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

impl BackgroundJob for DeliverWebhook {
    const NAME: &'static str = "deliver_webhook";
    const MAX_ATTEMPTS: i64 = 8;

    fn dedup_key(&self) -> Option<String> {
        Some(match self.version {
            Some(v) => format!("{}:{}:{}:{v}", self.report_id, self.event, self.target),
            None => format!("{}:{}:{}", self.report_id, self.event, self.target),
        })
    }
}
