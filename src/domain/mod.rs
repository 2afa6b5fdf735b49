//! Domain types: parsed once at the boundary, passed around typed.

mod address;
mod clock;
mod ids;
mod language;
pub mod lifecycle;
mod report;
pub mod schedule;
pub mod urgency;

pub use self::clock::{now_ms, Clock};
pub use address::AddressCandidate;
pub use ids::{CallSid, InvalidId, PhoneNumber, RecordingSid};
pub use language::{Language, UnknownLanguage};
pub(crate) use report::string_enum;
pub use report::{
    clock, draft_text, transcript_arrives, AudioStatus, CallbackOutcome, DraftPiece, RejectReason,
    ReportNumber, ReportStatus, TranscriptEffect, UnknownStatus,
};

/// Control characters other than line breaks and tabs (NUL and the like):
/// never part of a person's text, and PostgreSQL refuses NUL outright.
fn is_stray_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// Whether `s` holds control characters a person could not have typed.
pub fn has_stray_controls(s: &str) -> bool {
    s.chars().any(is_stray_control)
}

/// `s` without them (what a form's text is stored as, on every backend).
pub fn strip_stray_controls(s: &str) -> String {
    s.chars().filter(|c| !is_stray_control(*c)).collect()
}

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub type Millis = i64;

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

/// Kraków's time zone: what agents and city systems read times in.
fn warsaw() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Warsaw").unwrap_or(jiff::tz::TimeZone::UTC)
}

fn zoned(ms: Millis) -> jiff::Zoned {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(warsaw())
}

/// The day in Kraków at `ms`.
pub fn local_date(ms: Millis) -> jiff::civil::Date {
    zoned(ms).date()
}

/// `2026-11-24 04:12`, Kraków time.
pub fn local_display(ms: Millis) -> String {
    zoned(ms).strftime("%Y-%m-%d %H:%M").to_string()
}

/// `2026-11-24T04:12:00+01:00` (W3C/ISO 8601 with offset), Kraków time.
pub fn local_iso(ms: Millis) -> String {
    zoned(ms).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Parses an ISO 8601 instant (`2026-11-24T04:12:00+01:00`, `…Z`), a
/// Kraków wall-clock time (`2026-11-24T04:12`, as a browser's
/// `datetime-local` sends it) or a date (`2026-11-24`, the start of that
/// day in Kraków).
pub fn parse_instant(s: &str) -> Option<Millis> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return Some(dt.to_zoned(warsaw()).ok()?.timestamp().as_millisecond());
    }
    let date: jiff::civil::Date = s.parse().ok()?;
    Some(date.to_zoned(warsaw()).ok()?.timestamp().as_millisecond())
}

/// `2026-11-24T04:12` in Kraków: what a `datetime-local` field shows.
pub fn local_input(ms: Millis) -> String {
    zoned(ms).strftime("%Y-%m-%dT%H:%M").to_string()
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn stray_controls_are_found_and_stripped() {
        assert!(has_stray_controls("a\u{0}b"));
        assert!(!has_stray_controls("Dziura\nna Długiej\t12"));
        assert_eq!(strip_stray_controls("a\u{0}b\u{1b}c\n"), "abc\n");
    }

    #[test]
    fn times_are_krakow_times() {
        // 2026-01-15T12:00:00Z is 13:00 in winter; 2026-07-15 is 14:00 in summer.
        assert_eq!(local_iso(1_768_478_400_000), "2026-01-15T13:00:00+01:00");
        assert_eq!(local_display(1_784_116_800_000), "2026-07-15 14:00");
        assert_eq!(
            parse_instant("2026-01-15T13:00:00+01:00"),
            Some(1_768_478_400_000)
        );
        assert_eq!(parse_instant("2026-01-15"), Some(1_768_431_600_000));
        assert_eq!(parse_instant("yesterday"), None);
    }
}
