//! Every job kind, one file each.

mod deliver_webhook;
mod fetch_recording;
mod finalize_call;
mod report_event;
mod retention_sweep;
mod send_urgent_email;
mod transcribe;

pub use deliver_webhook::DeliverWebhook;
pub use fetch_recording::FetchRecording;
pub use finalize_call::{FinalizeCall, RECORDING_GRACE_MS};
pub use report_event::ReportEvent;
pub use retention_sweep::RetentionSweep;
pub use send_urgent_email::SendUrgentEmail;
pub use transcribe::Transcribe;

use super::kind::BackgroundJob;

/// Every kind's name (the metrics export a gauge for each, zero when idle).
pub const ALL: &[&str] = &[
    FetchRecording::NAME,
    Transcribe::NAME,
    FinalizeCall::NAME,
    ReportEvent::NAME,
    SendUrgentEmail::NAME,
    DeliverWebhook::NAME,
    RetentionSweep::NAME,
];
