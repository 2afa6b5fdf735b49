//! Every job kind, one file each.

mod deliver_webhook;
mod fetch_recording;
mod finalize_call;
mod report_decided;
mod retention_sweep;
mod transcribe;

pub use deliver_webhook::DeliverWebhook;
pub use fetch_recording::FetchRecording;
pub use finalize_call::{FinalizeCall, RECORDING_GRACE_MS};
pub use report_decided::ReportDecided;
pub use retention_sweep::RetentionSweep;
pub use transcribe::Transcribe;

use super::kind::BackgroundJob;

/// Every kind's name (the metrics export a gauge for each, zero when idle).
pub const ALL: &[&str] = &[
    FetchRecording::NAME,
    Transcribe::NAME,
    FinalizeCall::NAME,
    ReportDecided::NAME,
    DeliverWebhook::NAME,
    RetentionSweep::NAME,
];
