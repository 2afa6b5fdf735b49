//! A language hotline speaks with callers and transcribes, and its codes.

use std::fmt;
use std::str::FromStr;

/// A language hotline speaks with callers and transcribes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Pl,
    Uk,
    En,
}

impl Language {
    /// The language of a call whose caller chose none, and of the line's
    /// first words: Polish.
    pub const DEFAULT: Language = Language::Pl;

    pub const ALL: [Language; 3] = [Language::Pl, Language::Uk, Language::En];

    /// ISO 639-1 code, as Whisper and the prompt folders name it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pl => "pl",
            Self::Uk => "uk",
            Self::En => "en",
        }
    }

    /// The code, as stored.
    pub fn as_str(self) -> &'static str {
        self.code()
    }

    /// BCP 47 tag for text-to-speech (`<Say language=…>`).
    pub fn tts_tag(self) -> &'static str {
        match self {
            Self::Pl => "pl-PL",
            Self::Uk => "uk-UA",
            Self::En => "en-GB",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?} (expected pl, uk or en)")]
pub struct UnknownLanguage(pub String);

impl TryFrom<String> for Language {
    type Error = UnknownLanguage;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl PartialEq<&str> for Language {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pl" | "pl-pl" | "polish" => Ok(Self::Pl),
            "uk" | "uk-ua" | "ukrainian" => Ok(Self::Uk),
            "en" | "en-gb" | "en-us" | "english" => Ok(Self::En),
            _ => Err(UnknownLanguage(s.to_owned())),
        }
    }
}
