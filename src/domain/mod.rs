//! Domain types: parsed once at the boundary, passed around typed.

mod ids;
mod language;
mod report;

pub use ids::{CallSid, InvalidId, PhoneNumber, RecordingSid};
pub use language::{Language, UnknownLanguage};
pub use report::{AudioStatus, ReportNumber, ReportStatus, UnknownStatus};

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2026-11-24 03:12` in Europe/Warsaw-agnostic UTC, for CLI tables.
pub fn format_ms(ms: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}
