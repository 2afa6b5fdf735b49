//! Prometheus metrics: calls by outcome, webhook latency, queue depth by
//! job kind, job durations, the transcription real-time factor, recording
//! fetch failures and outbound deliveries. Rendered at `/metrics` (the
//! server) or on `metrics_listen` (a separate `hotline worker`).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::Store;

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        let seconds = [
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            60.0, 120.0,
        ];
        let rtf = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("hotline_transcription_rtf".into()), &rtf)
            });
        let recorder = match builder {
            Ok(b) => b.build_recorder(),
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let handle = recorder.handle();
        // Another recorder may exist (tests): then this handle renders empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Every family hotline exports: name, kind, help. Described and set to
/// zero at start-up, so a scrape sees all of them from the first second and
/// nothing recorded before the first scrape is lost.
pub const FAMILIES: &[(&str, Kind, &str)] = &[
    ("hotline_calls_total", Kind::Counter, "Calls ended, by the provider's final status (lost: no final status came and the sweeper closed the call)."),
    ("hotline_webhook_seconds", Kind::Histogram, "Time to answer a provider webhook, by route and HTTP status."),
    ("hotline_job_seconds", Kind::Histogram, "Time a queued job ran, by kind and outcome."),
    ("hotline_jobs", Kind::Gauge, "Jobs in the queue, by kind and status (read from the database at each scrape)."),
    ("hotline_reports", Kind::Gauge, "Reports by status (read from the database at each scrape)."),
    ("hotline_transcription_rtf", Kind::Histogram, "Transcription time divided by audio length."),
    ("hotline_transcriptions_total", Kind::Counter, "Recordings transcribed, by whether speech was found."),
    ("hotline_transcription_fallbacks_total", Kind::Counter, "Temperature fallbacks while decoding (a window decoded again because its text failed a check)."),
    ("hotline_transcription_retries_total", Kind::Counter, "Pieces of speech decoded again because the kept text did not cover them."),
    ("hotline_transcription_audio_milliseconds_total", Kind::Counter, "Audio transcribed, by part: decoded, skipped (pauses, noise), unclear (speech without text)."),
    ("hotline_transcription_unclear_total", Kind::Counter, "Stretches of speech left without text (marked for agents)."),
    ("hotline_fetch_failures_total", Kind::Counter, "Recording downloads that failed, by reason."),
    ("hotline_outbound_deliveries_total", Kind::Counter, "Deliveries to city systems' webhooks, by result."),
    ("hotline_login_checks_total", Kind::Counter, "Agents' passwords checked, by result."),
    ("hotline_logins_refused_total", Kind::Counter, "Logins refused without a password check: locked (too many attempts) or busy (password checks saturated)."),
    ("hotline_calls_swept_total", Kind::Counter, "Calls closed by the sweeper after no webhook for stale_call_secs."),
    ("hotline_urgent_reports_total", Kind::Counter, "Reports found urgent after transcription, by kind (heard: an urgent phrase; referral: a 24/7 service turned down)."),
    ("hotline_escalations_total", Kind::Counter, "Urgent reports sent to the on-call officer, by channel (email, webhook) and result (ok, failed: an attempt failed)."),
    ("hotline_dials_total", Kind::Counter, "Calls connected onwards with <Dial>, by kind (consultants, referral) and outcome (completed, no-answer, busy, failed, canceled)."),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Installs the recorder, describes every family and registers the label
/// sets known in advance at zero. Called once by `serve` and `worker`
/// before anything else runs.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(describe_and_zero);
}

fn describe_and_zero() {
    let _ = handle();
    for (name, kind, help) in FAMILIES {
        match kind {
            Kind::Counter => metrics::describe_counter!(*name, *help),
            Kind::Gauge => metrics::describe_gauge!(*name, *help),
            Kind::Histogram => metrics::describe_histogram!(*name, *help),
        }
    }
    for outcome in [
        "completed",
        "busy",
        "no-answer",
        "failed",
        "canceled",
        "lost",
    ] {
        metrics::counter!("hotline_calls_total", "outcome" => outcome).absolute(0);
    }
    for speech in ["yes", "no"] {
        metrics::counter!("hotline_transcriptions_total", "speech" => speech).absolute(0);
    }
    for part in ["decoded", "skipped", "unclear"] {
        metrics::counter!("hotline_transcription_audio_milliseconds_total", "part" => part)
            .absolute(0);
    }
    for name in [
        "hotline_transcription_fallbacks_total",
        "hotline_transcription_retries_total",
        "hotline_transcription_unclear_total",
        "hotline_calls_swept_total",
    ] {
        metrics::counter!(name).absolute(0);
    }
    for reason in ["timeout", "connection", "5xx", "4xx"] {
        metrics::counter!("hotline_fetch_failures_total", "reason" => reason).absolute(0);
    }
    for result in ["ok", "failed"] {
        metrics::counter!("hotline_outbound_deliveries_total", "result" => result).absolute(0);
        metrics::counter!("hotline_login_checks_total", "result" => result).absolute(0);
    }
    for kind in ["heard", "referral"] {
        metrics::counter!("hotline_urgent_reports_total", "kind" => kind).absolute(0);
    }
    for channel in ["email", "webhook"] {
        for result in ["ok", "failed"] {
            metrics::counter!("hotline_escalations_total", "channel" => channel, "result" => result)
                .absolute(0);
        }
    }
    for reason in ["locked", "busy"] {
        metrics::counter!("hotline_logins_refused_total", "reason" => reason).absolute(0);
    }
    for kind in ["consultants", "referral"] {
        for outcome in ["completed", "no-answer", "busy", "failed", "canceled"] {
            metrics::counter!("hotline_dials_total", "kind" => kind, "outcome" => outcome)
                .absolute(0);
        }
    }
    // Histograms are exported once observed; their families are described.
    let _ = metrics::histogram!("hotline_transcription_rtf");
}

pub fn login_checked(ok: bool) {
    metrics::counter!("hotline_login_checks_total", "result" => if ok { "ok" } else { "failed" })
        .increment(1);
}

pub fn login_refused(reason: &'static str) {
    metrics::counter!("hotline_logins_refused_total", "reason" => reason).increment(1);
}

pub fn calls_swept(n: usize) {
    metrics::counter!("hotline_calls_swept_total").increment(n as u64);
}

/// The queue's job kinds (a gauge each, zero when none is queued).
const JOB_KINDS: &[&str] = crate::jobs::kinds::ALL;

/// Refreshes the gauges read from the database, then renders everything.
pub async fn render(store: &Store) -> String {
    let h = handle();
    if let Ok(counts) = store.job_counts().await {
        // Every known kind and status, zero when absent.
        for kind in JOB_KINDS {
            for status in ["queued", "running", "done", "failed"] {
                let n = counts
                    .iter()
                    .find(|(k, s, _)| k == kind && s == status)
                    .map_or(0, |c| c.2);
                metrics::gauge!("hotline_jobs", "kind" => *kind, "status" => status).set(n as f64);
            }
        }
        for (kind, status, n) in counts {
            if !JOB_KINDS.contains(&kind.as_str()) {
                metrics::gauge!("hotline_jobs", "kind" => kind, "status" => status).set(n as f64);
            }
        }
    }
    if let Ok(counts) = store.count_reports().await {
        for status in crate::domain::ReportStatus::ALL {
            let n = counts
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |c| c.1);
            metrics::gauge!("hotline_reports", "status" => status.as_str()).set(n as f64);
        }
    }
    h.render()
}

pub fn dial_ended(kind: &'static str, outcome: &'static str) {
    metrics::counter!("hotline_dials_total", "kind" => kind, "outcome" => outcome).increment(1);
}

pub fn call_ended(outcome: &str) {
    metrics::counter!("hotline_calls_total", "outcome" => outcome.to_owned()).increment(1);
}

pub fn webhook_latency(route: &'static str, status: u16, took: Duration) {
    metrics::histogram!("hotline_webhook_seconds", "route" => route, "status" => status.to_string()).record(took.as_secs_f64());
}

pub fn job_finished(kind: &str, outcome: &'static str, took: Duration) {
    metrics::histogram!("hotline_job_seconds", "kind" => kind.to_owned(), "outcome" => outcome)
        .record(took.as_secs_f64());
}

/// A recording transcribed: its real-time factor, whether it had speech,
/// and what could otherwise go unseen: temperature fallbacks, pieces decoded
/// again, audio not decoded (pauses, noise) and speech left without text.
pub fn transcribed(t: &crate::engine::Transcript) {
    let (audio_ms, whisper_ms) = (t.timings.audio_ms, t.timings.whisper_ms);
    if audio_ms > 0 {
        metrics::histogram!("hotline_transcription_rtf")
            .record(whisper_ms as f64 / audio_ms as f64);
    }
    let speech = if t.has_speech() { "yes" } else { "no" };
    metrics::counter!("hotline_transcriptions_total", "speech" => speech).increment(1);
    let c = &t.coverage;
    metrics::counter!("hotline_transcription_fallbacks_total").increment(u64::from(c.fallbacks));
    metrics::counter!("hotline_transcription_retries_total").increment(u64::from(c.retries));
    // Milliseconds: the exporter's counters are whole numbers.
    for (part, ms) in [
        ("decoded", c.decoded_ms),
        ("skipped", c.skipped_ms),
        ("unclear", c.unclear_ms),
    ] {
        metrics::counter!("hotline_transcription_audio_milliseconds_total", "part" => part)
            .increment(u64::from(ms));
    }
    metrics::counter!("hotline_transcription_unclear_total").increment(t.unclear.len() as u64);
}

pub fn fetch_failed(reason: &'static str) {
    metrics::counter!("hotline_fetch_failures_total", "reason" => reason).increment(1);
}

pub fn urgent_found(kind: crate::domain::urgency::UrgentKind) {
    metrics::counter!("hotline_urgent_reports_total", "kind" => kind.as_str()).increment(1);
}

/// One attempt to tell the on-call officer, by `channel` (email, webhook).
pub fn escalated(channel: &'static str, ok: bool) {
    metrics::counter!("hotline_escalations_total", "channel" => channel, "result" => if ok { "ok" } else { "failed" }).increment(1);
}

pub fn webhook_delivered(ok: bool) {
    metrics::counter!("hotline_outbound_deliveries_total", "result" => if ok { "ok" } else { "failed" }).increment(1);
}
