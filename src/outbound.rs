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
use crate::jobs::{JobHandler, Outcome, Worker};
use crate::store::{Job, NewJob, Report, Store, JOB_REPORT_DECIDED};

pub const JOB_DELIVER: &str = "deliver_webhook";

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
/// the target is configured to get it.
pub fn payload(event: &str, r: &Report, include_caller: bool) -> serde_json::Value {
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
        }
    })
}

pub struct Outbound {
    store: Arc<Store>,
    targets: Vec<WebhookTarget>,
    http: reqwest::Client,
}

impl Outbound {
    pub fn new(store: Arc<Store>, targets: Vec<WebhookTarget>, http: reqwest::Client) -> Arc<Self> {
        Arc::new(Self {
            store,
            targets,
            http,
        })
    }

    pub fn register(self: &Arc<Self>, worker: Worker) -> Worker {
        worker
            .handle(JOB_REPORT_DECIDED, Arc::new(FanOut(Arc::clone(self))))
            .handle(JOB_DELIVER, Arc::new(Deliver(Arc::clone(self))))
    }
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Decided {
    report_id: i64,
    event: String,
}

struct FanOut(Arc<Outbound>);

#[async_trait]
impl JobHandler for FanOut {
    async fn run(&self, job: &Job) -> Outcome {
        let Ok(d) = serde_json::from_str::<Decided>(&job.payload) else {
            return Outcome::GiveUp("bad payload".into());
        };
        for (i, _) in self.0.targets.iter().enumerate() {
            let job = NewJob {
                kind: JOB_DELIVER.into(),
                dedup_key: Some(format!("{}:{}:{i}", d.report_id, d.event)),
                payload:
                    serde_json::json!({ "report_id": d.report_id, "event": d.event, "target": i })
                        .to_string(),
                max_attempts: 8,
                run_at: crate::domain::now_ms(),
            };
            if let Err(e) = self.0.store.enqueue(&job).await {
                return Outcome::Retry(e.to_string());
            }
        }
        Outcome::Done
    }
}

struct Deliver(Arc<Outbound>);

#[async_trait]
impl JobHandler for Deliver {
    async fn run(&self, job: &Job) -> Outcome {
        #[derive(serde::Deserialize)]
        struct P {
            report_id: i64,
            event: String,
            target: usize,
        }
        let Ok(p) = serde_json::from_str::<P>(&job.payload) else {
            return Outcome::GiveUp("bad payload".into());
        };
        let Some(target) = self.0.targets.get(p.target) else {
            return Outcome::GiveUp("the target is no longer configured".into());
        };
        let report = match self.0.store.get_report_by_id(p.report_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Outcome::GiveUp("report gone".into()),
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let body = payload(&p.event, &report, target.include_caller).to_string();
        let ts = crate::domain::now_ms() / 1000;
        let result = self
            .0
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
        let endpoint = target.url.split('?').next().unwrap_or(&target.url);
        let (status, error) = match &result {
            Ok(r) => (
                Some(i64::from(r.status().as_u16())),
                (!r.status().is_success()).then(|| format!("HTTP {}", r.status())),
            ),
            Err(e) => (None, Some(e.to_string())),
        };
        if let Err(e) = self
            .0
            .store
            .log_delivery(
                p.report_id,
                &p.event,
                endpoint,
                job.attempts,
                status,
                error.as_deref(),
                crate::domain::now_ms(),
            )
            .await
        {
            warn!(error = %e, "could not log the delivery");
        }
        crate::metrics::webhook_delivered(error.is_none());
        match error {
            None => {
                info!(report_id = p.report_id, event = %p.event, "webhook delivered");
                Outcome::Done
            }
            Some(e) => Outcome::Retry(e),
        }
    }
}
