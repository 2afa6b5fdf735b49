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
    #[serde(flatten)]
    pub names: BTreeMap<Language, String>,
}

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
                let digit_ok =
                    o.digit.len() == 1 && o.digit.chars().all(|c| c.is_ascii_digit() && c != '0');
                if !digit_ok {
                    return Err(invalid(
                        f,
                        format!("menu {}: key {:?} must be 1–9", m.id, o.digit),
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

    pub fn category_name(&self, code: &str, lang: Language) -> String {
        self.category(code)
            .and_then(|c| c.names.get(&lang))
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
}

/// The IVR's phrases in one language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrases {
    pub greeting: String,
    pub language_option: String,
    pub menu_intro: String,
    pub option: String,
    pub back: String,
    pub repeat_hint: String,
    pub invalid: String,
    pub no_input: String,
    pub filed_as: String,
    pub instructions: String,
    pub no_recording_retry: String,
    pub no_recording_final: String,
    pub number_intro: String,
    pub number_repeat: String,
    pub goodbye: String,
}

impl Phrases {
    pub fn get(&self, key: Phrase) -> &str {
        match key {
            Phrase::Greeting => &self.greeting,
            Phrase::LanguageOption => &self.language_option,
            Phrase::MenuIntro => &self.menu_intro,
            Phrase::Option => &self.option,
            Phrase::Back => &self.back,
            Phrase::RepeatHint => &self.repeat_hint,
            Phrase::Invalid => &self.invalid,
            Phrase::NoInput => &self.no_input,
            Phrase::FiledAs => &self.filed_as,
            Phrase::Instructions => &self.instructions,
            Phrase::NoRecordingRetry => &self.no_recording_retry,
            Phrase::NoRecordingFinal => &self.no_recording_final,
            Phrase::NumberIntro => &self.number_intro,
            Phrase::NumberRepeat => &self.number_repeat,
            Phrase::Goodbye => &self.goodbye,
        }
    }
}

/// Keys of [`Phrases`]; also the file names of recorded replacements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phrase {
    Greeting,
    LanguageOption,
    MenuIntro,
    Option,
    Back,
    RepeatHint,
    Invalid,
    NoInput,
    FiledAs,
    Instructions,
    NoRecordingRetry,
    NoRecordingFinal,
    NumberIntro,
    NumberRepeat,
    Goodbye,
}

impl Phrase {
    pub fn key(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::LanguageOption => "language_option",
            Self::MenuIntro => "menu_intro",
            Self::Option => "option",
            Self::Back => "back",
            Self::RepeatHint => "repeat_hint",
            Self::Invalid => "invalid",
            Self::NoInput => "no_input",
            Self::FiledAs => "filed_as",
            Self::Instructions => "instructions",
            Self::NoRecordingRetry => "no_recording_retry",
            Self::NoRecordingFinal => "no_recording_final",
            Self::NumberIntro => "number_intro",
            Self::NumberRepeat => "number_repeat",
            Self::Goodbye => "goodbye",
        }
    }
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
            let p: Phrases = toml::from_str(&text).map_err(|e| invalid(&file, e.to_string()))?;
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
