//! Outbound webhooks: city systems are told when a report is confirmed or
//! rejected. A decision enqueues `report_decided` with the decision itself;
//! that job fans out one `deliver_webhook` job per configured target, each
//! retried with backoff on its own. Every attempt is logged for admins.
//!
//! Request: `POST` JSON, with `X-Hotline-Event`, `X-Hotline-Delivery`,
//! `X-Hotline-Timestamp` (Unix seconds) and `X-Hotline-Signature:
//! sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. Receivers check
//! the signature and reject stale timestamps (replays).

use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing::{info, warn};

use crate::config::WebhookTarget;
use crate::jobs::kinds::{DeliverWebhook, ReportEvent};
use crate::store::{Job, Report, Store};
use crate::worker::{Outcome, Perform, Worker};

/// `sha256=<hex>` over `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a city system receives: no audio, and the caller's number only if
/// the target is configured to get it. `link` is the draft's page for
/// agents; `hints` the streets heard (for `report.urgent`).
pub fn payload(
    event: &str,
    r: &Report,
    include_caller: bool,
    link: &str,
    hints: &[String],
) -> serde_json::Value {
    let urgency = r.urgency();
    serde_json::json!({
        "event": event,
        "report": {
            "number": r.number,
            "status": r.status,
            "category": r.category,
            "language": r.language,
            "text": r.text,
            "address": r.address,
            "reject_reason": r.reject_reason,
            "duplicate_of": r.duplicate_of,
            "created_at": crate::domain::local_iso(r.created_at),
            "decided_at": r.decided_at.map(crate::domain::local_iso),
            "decided_by": r.decided_by,
            "caller": if include_caller { Some(r.caller.clone()) } else { None },
            "urgent": urgency.is_some(),
            "urgent_kind": urgency.as_ref().map(|u| u.kind.as_str()),
            "urgent_reason": urgency.map(|u| u.reason),
            "address_hints": hints,
            "link": link,
        }
    })
}

pub struct Outbound {
    store: Arc<Store>,
    targets: Vec<WebhookTarget>,
    http: reqwest::Client,
    /// Where agents open a report: `<public base>/reports/<number>`.
    public_base: String,
}

impl Outbound {
    pub fn new(
        store: Arc<Store>,
        targets: Vec<WebhookTarget>,
        http: reqwest::Client,
        public_base: String,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            targets,
            http,
            public_base,
        })
    }

    pub fn register(self: &Arc<Self>, worker: Worker) -> Worker {
        worker
            .register::<ReportEvent, _>(Arc::clone(self))
            .register::<DeliverWebhook, _>(Arc::clone(self))
    }
}

/// Fans a decision out: one delivery per configured target.
#[async_trait]
impl Perform<ReportEvent> for Outbound {
    async fn perform(&self, d: ReportEvent, _: &Job) -> Outcome {
        for target in 0..self.targets.len() {
            let job = DeliverWebhook {
                report_id: d.report_id,
                event: d.event.clone(),
                target,
                version: d.version,
            };
            if let Err(e) = self.store.enqueue_job(&job, self.store.now()).await {
                return Outcome::Retry(e.to_string());
            }
        }
        Outcome::Done
    }
}

#[async_trait]
impl Perform<DeliverWebhook> for Outbound {
    async fn perform(&self, p: DeliverWebhook, job: &Job) -> Outcome {
        let Some(target) = self.targets.get(p.target) else {
            return Outcome::GiveUp("the target is no longer configured".into());
        };
        let report = match self.store.get_report_by_id(p.report_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Outcome::GiveUp("report gone".into()),
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let endpoint = target.url.split('?').next().unwrap_or(&target.url);
        let urgent = p.event == crate::escalation::EVENT;
        // Sent once: a job retried after its worker died finds the log.
        // (Since this job was made: a report reopened and decided again is
        // news again.)
        match self
            .store
            .delivered(p.report_id, &p.event, endpoint, job.created_at)
            .await
        {
            Ok(true) => return Outcome::Done,
            Ok(false) => {}
            Err(e) => return Outcome::Retry(e.to_string()),
        }
        let hints = match urgent {
            true => match self.store.address_candidates(report.id).await {
                Ok(c) => c.into_iter().map(|c| c.display()).collect(),
                Err(e) => return Outcome::Retry(e.to_string()),
            },
            false => Vec::new(),
        };
        let link = format!("{}/reports/{}", self.public_base, report.number);
        let body = payload(&p.event, &report, target.include_caller, &link, &hints).to_string();
        let ts = self.store.now() / 1000;
        let result = self
            .http
            .post(&target.url)
            .header("content-type", "application/json")
            .header("X-Hotline-Event", &p.event)
            .header("X-Hotline-Delivery", job.id.to_string())
            .header("X-Hotline-Timestamp", ts.to_string())
            .header(
                "X-Hotline-Signature",
                signature(target.secret.expose(), ts, body.as_bytes()),
            )
            .body(body)
            .send()
            .await;
        let (status, error) = match &result {
            Ok(r) => (
                Some(i64::from(r.status().as_u16())),
                (!r.status().is_success()).then(|| format!("HTTP {}", r.status())),
            ),
            Err(e) => (None, Some(e.to_string())),
        };
        if let Err(e) = self
            .store
            .log_delivery(
                p.report_id,
                &p.event,
                endpoint,
                job.attempts,
                status,
                error.as_deref(),
                self.store.now(),
            )
            .await
        {
            warn!(error = %e, "could not log the delivery");
        }
        crate::metrics::webhook_delivered(error.is_none());
        if urgent {
            crate::metrics::escalated("webhook", error.is_none());
        }
        match error {
            None => {
                info!(report_id = p.report_id, event = %p.event, "webhook delivered");
                Outcome::Done
            }
            Some(e) => Outcome::Retry(e),
        }
    }
}
