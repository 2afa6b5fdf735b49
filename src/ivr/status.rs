//! Status by phone: a caller types a report number and hears what became
//! of it, in words, nothing personal.

use super::{Event, IvrState, Line, Phrase, Script, Stage};
use crate::domain::{Language, RejectReason, ReportNumber, ReportStatus};

/// Lookups of a report's status in one call, at most.
pub const MAX_STATUS_LOOKUPS: u8 = 3;

/// What a caller asking about a report number is told. Nothing personal:
/// the state of the matter, a date, a reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusAnswer {
    /// Not seven digits.
    Malformed,
    NotFound(ReportNumber),
    /// Filed, waiting for a consultant.
    Waiting(ReportNumber),
    /// Confirmed and passed to the city's service on `on` (Kraków's date).
    Confirmed(ReportNumber, jiff::civil::Date),
    /// Not passed on; the reason if it is one of the known ones.
    Rejected(ReportNumber, Option<RejectReason>),
    /// A missed call: nothing was recorded.
    Missed(ReportNumber),
}

impl StatusAnswer {
    /// The answer for a report in `status`, decided on `decided` (Kraków's
    /// date) for `reject_reason`.
    pub fn of(
        number: ReportNumber,
        status: ReportStatus,
        decided: Option<jiff::civil::Date>,
        reject_reason: Option<&str>,
    ) -> Self {
        match (status, decided) {
            (ReportStatus::Confirmed, Some(on)) => Self::Confirmed(number, on),
            (ReportStatus::Rejected, _) => {
                Self::Rejected(number, reject_reason.and_then(|r| r.parse().ok()))
            }
            (ReportStatus::MissedCall | ReportStatus::Closed, _) => Self::Missed(number),
            _ => Self::Waiting(number),
        }
    }
}

/// The report number the caller typed, when this step needs its status
/// looked up ([`Context::status`]).
pub fn status_query<'a>(state: &IvrState, event: &'a Event) -> Option<&'a str> {
    match (&state.stage, event) {
        (Stage::Status { .. }, Event::Digits(d)) if d != "*" => Some(d),
        _ => None,
    }
}

/// A report's status in the caller's language: its number digit by digit,
/// a date as "3 grudnia", a reject reason in words.
pub(super) fn status_line(script: &Script, lang: Language, answer: &StatusAnswer) -> Line {
    let spoken = |n: &ReportNumber| {
        n.digits()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let with_number = |phrase, n: &ReportNumber| Line::new(lang, phrase).with("number", spoken(n));
    match answer {
        StatusAnswer::Malformed => Line::new(lang, Phrase::StatusMalformed),
        StatusAnswer::NotFound(n) => with_number(Phrase::StatusNotFound, n),
        StatusAnswer::Waiting(n) => with_number(Phrase::StatusWaiting, n),
        StatusAnswer::Missed(n) => with_number(Phrase::StatusMissed, n),
        StatusAnswer::Confirmed(n, on) => {
            let months = script.phrase(lang, Phrase::Months);
            let month = months
                .split(',')
                .nth(usize::from(on.month().unsigned_abs()).saturating_sub(1))
                .unwrap_or("")
                .trim();
            with_number(Phrase::StatusConfirmed, n).with("date", format!("{} {month}", on.day()))
        }
        StatusAnswer::Rejected(n, reason) => {
            let why = match reason {
                Some(RejectReason::Spam) => Phrase::ReasonSpam,
                Some(RejectReason::Silence) => Phrase::ReasonSilence,
                Some(RejectReason::Duplicate) => Phrase::ReasonDuplicate,
                Some(RejectReason::NotCity) => Phrase::ReasonNotCity,
                None => Phrase::ReasonOther,
            };
            with_number(Phrase::StatusRejected, n).with("reason", script.phrase(lang, why))
        }
    }
}
