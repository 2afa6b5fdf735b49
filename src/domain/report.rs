//! The report's values: its number, statuses, audio states, reject reasons,
//! and the draft text made of transcribed words and unclear spans.

use std::fmt;

/// The number a caller writes down: two digits of the year and a five-digit
/// sequence (`26-00042`), read back digit by digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReportNumber(String);

impl ReportNumber {
    pub fn new(year: i32, seq: i64) -> Self {
        Self(format!("{:02}-{:05}", year.rem_euclid(100), seq))
    }

    /// Accepts `26-00042`, `2600042`, `26 00042`.
    pub fn parse(s: &str) -> Result<Self, super::InvalidId> {
        let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
        let clean = s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
        if clean && digits.len() == 7 {
            Ok(Self(format!("{}-{}", &digits[..2], &digits[2..])))
        } else {
            Err(super::InvalidId {
                what: "report number",
                value: s.chars().take(20).collect(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits, in order, for reading back.
    pub fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0')
    }
}

impl TryFrom<String> for ReportNumber {
    type Error = super::InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ReportNumber> for String {
    fn from(v: ReportNumber) -> String {
        v.0
    }
}

impl PartialEq<String> for ReportNumber {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

impl PartialEq<&str> for ReportNumber {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for ReportNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A piece of a draft's text, in the recording's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftPiece<'a> {
    /// Words the transcription kept.
    Words(&'a str),
    /// Speech that gave no text the guards kept.
    Unclear { start_ms: i64, end_ms: i64 },
}

/// The text of a draft: the words in order, and where speech gave no text a
/// marker the agent can act on, "[niezrozumiałe 0:41–0:47]" (Polish: the
/// agents' language, whatever the caller's).
pub fn draft_text<'a>(pieces: impl IntoIterator<Item = DraftPiece<'a>>) -> String {
    let parts: Vec<String> = pieces
        .into_iter()
        .filter_map(|p| match p {
            DraftPiece::Words(w) => Some(w.trim().to_owned()).filter(|w| !w.is_empty()),
            DraftPiece::Unclear { start_ms, end_ms } => Some(format!(
                "[niezrozumiałe {}–{}]",
                clock(start_ms),
                clock(end_ms)
            )),
        })
        .collect();
    parts.join(" ")
}

/// A moment of a recording as minutes and seconds: 41_500 ms → "0:41".
pub fn clock(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::domain::UnknownStatus;
            fn try_from(s: String) -> Result<Self, $crate::domain::UnknownStatus> {
                s.parse()
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::UnknownStatus;
            fn from_str(s: &str) -> Result<Self, $crate::domain::UnknownStatus> {
                match s { $($text => Ok($name::$variant),)+ _ => Err($crate::domain::UnknownStatus(s.to_owned())) }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A closed set of words stored as text (statuses, roles, reasons):
/// parsed from and shown as its words, compared with them in tests.
pub(crate) use string_enum;

string_enum!(
    /// Where a report is in its life.
    ReportStatus {
        /// The caller is still in the menu or recording.
        Open = "open",
        /// The recording is being downloaded.
        AwaitingAudio = "awaiting_audio",
        /// The recording is being transcribed.
        AwaitingTranscript = "awaiting_transcript",
        /// Ready for an agent.
        Draft = "draft",
        Confirmed = "confirmed",
        Rejected = "rejected",
        /// No speech or no recording: the agent may call back.
        MissedCall = "missed_call",
        /// A missed call an agent closed: called back without a report, or
        /// no callback needed.
        Closed = "closed",
    }
);

string_enum!(
    /// What came of an agent calling a missed call back.
    CallbackOutcome {
        /// The caller told the agent: the missed call is closed and a new
        /// draft follows it.
        Filed = "filed",
        /// Nobody answered: it stays a missed call, the attempt counted.
        NoAnswer = "no_answer",
        /// Called back and nothing to file, or no callback needed.
        NotNeeded = "not_needed",
    }
);

string_enum!(
    /// What hotline holds of the caller's audio.
    AudioStatus {
        /// No recording (yet).
        None = "none",
        /// Announced by the provider, not downloaded yet.
        Pending = "pending",
        /// Downloaded and verified.
        Stored = "stored",
        /// Download failed for good: the report is filed without audio.
        Unavailable = "unavailable",
        /// Downloaded but not decodable: an agent can still listen to it.
        Undecodable = "undecodable",
        /// Deleted by the retention policy.
        Deleted = "deleted",
    }
);

string_enum!(
    /// Why an agent rejected a report.
    RejectReason {
        /// A prank, an advert, nothing meant for the city.
        Spam = "spam",
        /// Nothing was said.
        Silence = "silence",
        /// The same matter as another report (named by `duplicate_of`).
        Duplicate = "duplicate",
        /// Not something the city deals with.
        NotCity = "not_city",
    }
);

impl ReportStatus {
    /// An agent has decided it: its text changes only through an agent.
    pub fn is_decided(self) -> bool {
        matches!(self, Self::Confirmed | Self::Rejected)
    }

    /// Decided, or a missed call closed: a recording arriving now is late.
    pub fn is_settled(self) -> bool {
        self.is_decided() || self == Self::Closed
    }

    /// Still waiting for the pipeline.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Self::Open | Self::AwaitingAudio | Self::AwaitingTranscript
        )
    }
}

/// What a finished transcription does to its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TranscriptEffect {
    /// The report's text and status become these.
    Draft { text: String, status: ReportStatus },
    /// No speech: the note (kept if one is there) and status.
    NoSpeech { status: ReportStatus },
    /// The report was decided before this recording came: nothing of the
    /// report changes; the recording and its transcript are kept and the
    /// report is marked as having a late recording for an agent to see.
    Late,
}

/// The rule for a transcript arriving: a decided report is never changed
/// by one; a report still in the pipeline (or a missed call whose caller's
/// speech came after all) becomes a draft; a second recording of an
/// undecided report adds its text as a paragraph of its own.
pub fn transcript_arrives(
    status: ReportStatus,
    current_text: Option<&str>,
    new_text: Option<&str>,
) -> TranscriptEffect {
    if status.is_settled() {
        return TranscriptEffect::Late;
    }
    match new_text {
        None => TranscriptEffect::NoSpeech {
            status: if status.is_pending() {
                ReportStatus::MissedCall
            } else {
                status
            },
        },
        Some(new) => {
            let new = new.trim();
            let text = match current_text.map(str::trim).filter(|t| !t.is_empty()) {
                Some(old) if !new.is_empty() => format!("{old}\n\n{new}"),
                Some(old) => old.to_owned(),
                None => new.to_owned(),
            };
            TranscriptEffect::Draft {
                text,
                status: if status.is_pending() || status == ReportStatus::MissedCall {
                    ReportStatus::Draft
                } else {
                    status
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_never_change_a_decided_report() {
        for decided in [ReportStatus::Confirmed, ReportStatus::Rejected] {
            assert_eq!(
                transcript_arrives(decided, Some("Dziura"), Some("Druga wiadomość")),
                TranscriptEffect::Late
            );
            assert_eq!(
                transcript_arrives(decided, None, None),
                TranscriptEffect::Late
            );
        }
    }

    #[test]
    fn a_second_recording_is_a_paragraph_of_its_own() {
        assert_eq!(
            transcript_arrives(
                ReportStatus::Draft,
                Some("Dziura w jezdni."),
                Some("Na Długiej.")
            ),
            TranscriptEffect::Draft {
                text: "Dziura w jezdni.\n\nNa Długiej.".into(),
                status: ReportStatus::Draft
            }
        );
        assert_eq!(
            transcript_arrives(ReportStatus::AwaitingTranscript, None, Some(" Dziura ")),
            TranscriptEffect::Draft {
                text: "Dziura".into(),
                status: ReportStatus::Draft
            }
        );
        assert_eq!(
            transcript_arrives(ReportStatus::MissedCall, Some(""), Some("Jednak coś")),
            TranscriptEffect::Draft {
                text: "Jednak coś".into(),
                status: ReportStatus::Draft
            }
        );
        assert_eq!(
            transcript_arrives(ReportStatus::AwaitingTranscript, None, None),
            TranscriptEffect::NoSpeech {
                status: ReportStatus::MissedCall
            }
        );
        assert_eq!(
            transcript_arrives(ReportStatus::Draft, Some("Dziura"), None),
            TranscriptEffect::NoSpeech {
                status: ReportStatus::Draft
            }
        );
    }

    #[test]
    fn report_numbers_are_short_and_readable() {
        let n = ReportNumber::new(2026, 42);
        assert_eq!(n.as_str(), "26-00042");
        assert_eq!(n.digits().collect::<Vec<_>>(), vec![2, 6, 0, 0, 0, 4, 2]);
        assert_eq!(ReportNumber::parse("2600042").unwrap(), n);
        assert_eq!(ReportNumber::parse("26 00042").unwrap(), n);
        assert!(ReportNumber::parse("26-0004").is_err());
        assert!(ReportNumber::parse("26-0004x2").is_err());
    }

    #[test]
    fn a_draft_marks_speech_without_text_where_it_was() {
        let text = draft_text([
            DraftPiece::Words("Dziura w jezdni "),
            DraftPiece::Unclear {
                start_ms: 41_200,
                end_ms: 47_900,
            },
            DraftPiece::Words(""),
            DraftPiece::Words("na Długiej."),
        ]);
        assert_eq!(
            text,
            "Dziura w jezdni [niezrozumiałe 0:41–0:47] na Długiej."
        );
        assert_eq!(clock(125_000), "2:05");
        assert_eq!(clock(-5), "0:00");
        assert_eq!(draft_text([]), "");
    }

    #[test]
    fn statuses_round_trip() {
        for s in ReportStatus::ALL {
            assert_eq!(s.as_str().parse::<ReportStatus>().unwrap(), *s);
        }
        assert!("lost".parse::<ReportStatus>().is_err());
    }
}
