//! `prompts/menu.toml` (categories and menus) and `prompts/<lang>/ivr.toml`
//! (what the IVR says), validated when loaded.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::Language;
use crate::prompts::{PromptError, PromptSource};

#[derive(Debug, thiserror::Error)]
pub enum MenuError {
    #[error(transparent)]
    Read(#[from] PromptError),
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

fn invalid(file: &str, message: impl Into<String>) -> MenuError {
    MenuError::Invalid {
        file: file.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub code: String,
    /// The service that acts on this around the clock, if any.
    #[serde(default)]
    pub referral: Option<Referral>,
    /// Whether an urgent phrase in a transcript makes a report of this
    /// category urgent (default: yes).
    #[serde(default = "yes")]
    pub urgent: bool,
    #[serde(flatten)]
    pub names: BTreeMap<Language, String>,
}

fn yes() -> bool {
    true
}

/// A 24/7 service a caller is told of (and, with `transfer`, offered a
/// connection to) after choosing a category.
#[derive(Debug, Clone, Deserialize)]
pub struct Referral {
    /// As dialled and spoken: `994`, `12 616 75 55`.
    pub number: String,
    /// Whether hotline offers to connect the caller.
    #[serde(default)]
    pub transfer: bool,
    /// What `<Dial>` calls, when it is not `number` without spaces (an
    /// E.164 number or a SIP URI).
    #[serde(default)]
    pub dial: Option<String>,
    #[serde(flatten)]
    pub names: BTreeMap<Language, String>,
}

impl Referral {
    pub fn name(&self, lang: Language) -> &str {
        self.names.get(&lang).map(String::as_str).unwrap_or("")
    }

    /// What `<Dial>` calls.
    pub fn dial_target(&self) -> String {
        self.dial
            .clone()
            .unwrap_or_else(|| self.number.chars().filter(|c| !c.is_whitespace()).collect())
    }
}

/// The key that reads the full privacy notice in every menu.
pub const PRIVACY_KEY: &str = "9";

#[derive(Debug, Clone, Deserialize)]
pub struct MenuOption {
    pub digit: String,
    pub category: Option<String>,
    pub menu: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MenuLevel {
    pub id: String,
    pub options: Vec<MenuOption>,
    /// Spoken name of a submenu.
    #[serde(flatten)]
    pub names: BTreeMap<Language, String>,
}

/// Where a key press leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice<'a> {
    Category(&'a str),
    Menu(&'a str),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Menu {
    pub default_category: String,
    /// The main menu's key for hearing a report's status by its number
    /// (none: not offered).
    #[serde(default)]
    pub status_key: Option<String>,
    /// After recording, the caller may keep the message (1, or silence) or
    /// record it once more (2); only the kept recording is fetched.
    #[serde(default = "yes")]
    pub review_recording: bool,
    pub categories: Vec<Category>,
    pub menus: Vec<MenuLevel>,
}

impl Menu {
    pub const ROOT: &'static str = "main";

    pub fn load(src: &PromptSource) -> Result<Self, MenuError> {
        let text = src
            .read("menu.toml")?
            .ok_or_else(|| invalid("menu.toml", "missing"))?;
        let menu: Menu = toml::from_str(&text).map_err(|e| invalid("menu.toml", e.to_string()))?;
        menu.validate()?;
        Ok(menu)
    }

    fn validate(&self) -> Result<(), MenuError> {
        let f = "menu.toml";
        if self.category(&self.default_category).is_none() {
            return Err(invalid(
                f,
                format!(
                    "default_category {:?} is not a category",
                    self.default_category
                ),
            ));
        }
        if let Some(key) = &self.status_key {
            let taken = self
                .level(Self::ROOT)
                .is_some_and(|m| m.options.iter().any(|o| &o.digit == key));
            let digit = key.len() == 1 && key != "0" && key != PRIVACY_KEY;
            if !digit || !key.bytes().all(|b| b.is_ascii_digit()) || taken {
                return Err(invalid(
                    f,
                    format!("status_key {key:?} must be a key 1–8 the main menu does not use"),
                ));
            }
        }
        for c in &self.categories {
            if !c
                .code
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch == '_')
                || c.code.is_empty()
            {
                return Err(invalid(
                    f,
                    format!("category code {:?}: use lower-case letters and _", c.code),
                ));
            }
            for lang in Language::ALL {
                if !c.names.contains_key(&lang) {
                    return Err(invalid(
                        f,
                        format!("category {} has no {lang} name", c.code),
                    ));
                }
            }
            if let Some(r) = &c.referral {
                let number_ok = !r.number.trim().is_empty()
                    && r.number.chars().all(|ch| ch.is_ascii_digit() || ch == ' ');
                if !number_ok {
                    return Err(invalid(
                        f,
                        format!(
                            "category {}: referral number {:?} must be digits (and spaces)",
                            c.code, r.number
                        ),
                    ));
                }
                if let Some(lang) = Language::ALL
                    .into_iter()
                    .find(|l| r.name(*l).trim().is_empty())
                {
                    return Err(invalid(
                        f,
                        format!("category {}: the referral has no {lang} name", c.code),
                    ));
                }
            }
        }
        if self.level(Self::ROOT).is_none() {
            return Err(invalid(f, "no menu with id \"main\""));
        }
        for m in &self.menus {
            if m.options.is_empty() || m.options.len() > 6 {
                return Err(invalid(
                    f,
                    format!(
                        "menu {} has {} options (1 to 6 allowed)",
                        m.id,
                        m.options.len()
                    ),
                ));
            }
            for o in &m.options {
                let digit_ok = o.digit.len() == 1
                    && o.digit.chars().all(|c| c.is_ascii_digit() && c != '0')
                    && o.digit != PRIVACY_KEY;
                if !digit_ok {
                    return Err(invalid(
                        f,
                        format!(
                            "menu {}: key {:?} must be 1–8 (9 reads the privacy notice)",
                            m.id, o.digit
                        ),
                    ));
                }
                match (&o.category, &o.menu) {
                    (Some(c), None) if self.category(c).is_some() => {}
                    (None, Some(id))
                        if id != Self::ROOT
                            && self.level(id).is_some_and(|l| {
                                Language::ALL.iter().all(|lang| l.names.contains_key(lang))
                            }) => {}
                    _ => {
                        return Err(invalid(
                            f,
                            format!(
                                "menu {} key {}: needs a known category or a named submenu",
                                m.id, o.digit
                            ),
                        ))
                    }
                }
            }
            let mut digits: Vec<&str> = m.options.iter().map(|o| o.digit.as_str()).collect();
            digits.sort_unstable();
            digits.dedup();
            if digits.len() != m.options.len() {
                return Err(invalid(f, format!("menu {} uses a key twice", m.id)));
            }
        }
        Ok(())
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    pub fn level(&self, id: &str) -> Option<&MenuLevel> {
        self.menus.iter().find(|m| m.id == id)
    }

    pub fn choose(&self, menu: &str, digit: &str) -> Option<Choice<'_>> {
        let option = self
            .level(menu)?
            .options
            .iter()
            .find(|o| o.digit == digit)?;
        match (&option.category, &option.menu) {
            (Some(c), _) => Some(Choice::Category(c)),
            (None, Some(m)) => Some(Choice::Menu(m)),
            _ => None,
        }
    }

    /// The 24/7 service of a category, if it names one.
    pub fn referral(&self, code: &str) -> Option<&Referral> {
        self.category(code).and_then(|c| c.referral.as_ref())
    }

    pub fn category_name(&self, code: &str, lang: Language) -> String {
        self.category(code)
            .and_then(|c| c.names.get(&lang))
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
}

macro_rules! phrases {
    ($($(#[$m:meta])* $variant:ident => $field:ident),+ $(,)?) => {
        /// The IVR's phrases in one language (`prompts/<lang>/ivr.toml`).
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Phrases {
            $(pub $field: String,)+
            /// The full privacy notice (`prompts/<lang>/privacy.txt`).
            #[serde(skip)]
            pub privacy_full: String,
        }

        /// Keys of [`Phrases`]; also the file names of recorded replacements.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Phrase {
            $($(#[$m])* $variant,)+
            PrivacyFull,
        }

        impl Phrases {
            pub fn get(&self, key: Phrase) -> &str {
                match key {
                    $(Phrase::$variant => &self.$field,)+
                    Phrase::PrivacyFull => &self.privacy_full,
                }
            }
        }

        impl Phrase {
            pub fn key(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($field),)+
                    Self::PrivacyFull => "privacy_full",
                }
            }
        }
    };
}

phrases! {
    /// The first words of every call: call 112 when it is dangerous now.
    Emergency => emergency,
    StateClosed => state_closed,
    /// `{name}`: the holiday.
    StateHoliday => state_holiday,
    StateClosure => state_closure,
    StateBusy => state_busy,
    StateStaffed => state_staffed,
    /// `{days}`: how long recordings are kept.
    PrivacyShort => privacy_short,
    PrivacyBack => privacy_back,
    TextChannels => text_channels,
    /// `{text}`: a staff announcement.
    Announcement => announcement,
    LanguageOption => language_option,
    MenuIntro => menu_intro,
    Option => option,
    Back => back,
    RepeatHint => repeat_hint,
    Invalid => invalid,
    NoInput => no_input,
    FiledAs => filed_as,
    Instructions => instructions,
    NoRecordingRetry => no_recording_retry,
    NoRecordingFinal => no_recording_final,
    NumberIntro => number_intro,
    NumberRepeat => number_repeat,
    Goodbye => goodbye,
    Connecting => connecting,
    /// `{service}`.
    ReferralOffer => referral_offer,
    /// `{service}`, `{number}`.
    ReferralInfo => referral_info,
    ConnectingService => connecting_service,
    TransferFailed => transfer_failed,
    ReviewOffer => review_offer,
    Rerecord => rerecord,
    /// The second recording was empty: the first one is kept.
    RerecordEmpty => rerecord_empty,
    CallbackOffer => callback_offer,
    CallbackNoted => callback_noted,
    /// `{digit}`: the main menu's key for a report's status.
    StatusOption => status_option,
    StatusAsk => status_ask,
    StatusMore => status_more,
    StatusLimit => status_limit,
    StatusMalformed => status_malformed,
    /// `{number}` (every status phrase): the number, digit by digit.
    StatusNotFound => status_not_found,
    StatusWaiting => status_waiting,
    StatusMissed => status_missed,
    /// `{date}`: the day it was passed on ("3 grudnia").
    StatusConfirmed => status_confirmed,
    /// `{reason}`: one of the reason phrases.
    StatusRejected => status_rejected,
    ReasonSpam => reason_spam,
    ReasonSilence => reason_silence,
    ReasonDuplicate => reason_duplicate,
    ReasonNotCity => reason_not_city,
    ReasonOther => reason_other,
    /// The months' names as a date says them, comma-separated.
    Months => months,
}

/// Menu and phrases for every language.
#[derive(Debug, Clone)]
pub struct Script {
    pub menu: Menu,
    pub phrases: BTreeMap<Language, Phrases>,
    /// Order in which the language menu offers languages (key 1, 2, 3).
    pub languages: Vec<Language>,
}

impl Script {
    pub fn load(src: &PromptSource) -> Result<Self, MenuError> {
        let menu = Menu::load(src)?;
        let mut phrases = BTreeMap::new();
        for lang in Language::ALL {
            let file = format!("{lang}/ivr.toml");
            let text = src.read(&file)?.ok_or_else(|| invalid(&file, "missing"))?;
            let mut p: Phrases =
                toml::from_str(&text).map_err(|e| invalid(&file, e.to_string()))?;
            let notice = format!("{lang}/privacy.txt");
            p.privacy_full = src
                .read(&notice)?
                .ok_or_else(|| invalid(&notice, "missing"))?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            phrases.insert(lang, p);
        }
        Ok(Self {
            menu,
            phrases,
            languages: Language::ALL.to_vec(),
        })
    }

    pub fn phrase(&self, lang: Language, key: Phrase) -> &str {
        self.phrases.get(&lang).map(|p| p.get(key)).unwrap_or("")
    }
}
