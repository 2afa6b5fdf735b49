//! Texts from `prompts/`: Whisper's initial prompts and hallucination
//! blocklists per language (and, for the IVR, menu and spoken prompts).
//!
//! The repository's files are compiled in as defaults; a city points
//! `HOTLINE_PROMPTS_DIR` (or `--prompts`) at its own copy to change them
//! without rebuilding.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::domain::Language;

#[derive(Debug, thiserror::Error)]
#[error("cannot read prompt file {path}: {source}")]
pub struct PromptError {
    path: PathBuf,
    source: std::io::Error,
}

/// Compiled-in copies of the files under `prompts/`.
const BUILTIN: &[(&str, &str)] = &[
    ("pl/whisper.txt", include_str!("../prompts/pl/whisper.txt")),
    ("uk/whisper.txt", include_str!("../prompts/uk/whisper.txt")),
    ("en/whisper.txt", include_str!("../prompts/en/whisper.txt")),
    (
        "pl/hallucinations.txt",
        include_str!("../prompts/pl/hallucinations.txt"),
    ),
    (
        "uk/hallucinations.txt",
        include_str!("../prompts/uk/hallucinations.txt"),
    ),
    (
        "en/hallucinations.txt",
        include_str!("../prompts/en/hallucinations.txt"),
    ),
    ("pl/words.txt", include_str!("../prompts/pl/words.txt")),
    ("uk/words.txt", include_str!("../prompts/uk/words.txt")),
    ("en/words.txt", include_str!("../prompts/en/words.txt")),
    ("menu.toml", include_str!("../prompts/menu.toml")),
    ("streets.txt", include_str!("../prompts/streets.txt")),
    ("pl/ivr.toml", include_str!("../prompts/pl/ivr.toml")),
    ("uk/ivr.toml", include_str!("../prompts/uk/ivr.toml")),
    ("en/ivr.toml", include_str!("../prompts/en/ivr.toml")),
    ("pl/privacy.txt", include_str!("../prompts/pl/privacy.txt")),
    ("uk/privacy.txt", include_str!("../prompts/uk/privacy.txt")),
    ("en/privacy.txt", include_str!("../prompts/en/privacy.txt")),
    ("schedule.toml", include_str!("../prompts/schedule.toml")),
    ("pl/urgent.txt", include_str!("../prompts/pl/urgent.txt")),
    ("uk/urgent.txt", include_str!("../prompts/uk/urgent.txt")),
    ("en/urgent.txt", include_str!("../prompts/en/urgent.txt")),
    (
        "pl/categories.txt",
        include_str!("../prompts/pl/categories.txt"),
    ),
    (
        "uk/categories.txt",
        include_str!("../prompts/uk/categories.txt"),
    ),
    (
        "en/categories.txt",
        include_str!("../prompts/en/categories.txt"),
    ),
];

/// Where prompt files come from.
#[derive(Debug, Clone, Default)]
pub struct PromptSource {
    dir: Option<PathBuf>,
}

impl PromptSource {
    pub fn builtin() -> Self {
        Self { dir: None }
    }

    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
        }
    }

    /// `HOTLINE_PROMPTS_DIR` if set, else the compiled-in files.
    pub fn from_env() -> Self {
        std::env::var_os("HOTLINE_PROMPTS_DIR")
            .map(Self::dir)
            .unwrap_or_default()
    }

    pub fn directory(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The text of `rel` (e.g. `pl/whisper.txt`): from the directory when
    /// it has the file, else compiled in; `None` if neither has it.
    pub fn read(&self, rel: &str) -> Result<Option<String>, PromptError> {
        if let Some(dir) = &self.dir {
            let path = dir.join(rel);
            match std::fs::read_to_string(&path) {
                Ok(text) => return Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(PromptError { path, source }),
            }
        }
        Ok(BUILTIN
            .iter()
            .find(|(name, _)| *name == rel)
            .map(|(_, text)| (*text).to_owned()))
    }
}

/// Whisper-side texts per language.
#[derive(Debug, Clone, Default)]
pub struct WhisperPrompts {
    pub initial: HashMap<Language, String>,
    pub blocklist: HashMap<Language, Blocklist>,
    /// The city's words per language for the decoder's lexicon: the
    /// initial prompt, `<lang>/words.txt` and the street names.
    pub words: HashMap<Language, String>,
}

impl WhisperPrompts {
    pub fn load(src: &PromptSource) -> Result<Self, PromptError> {
        let mut out = Self::default();
        let streets = src.read("streets.txt")?.unwrap_or_default();
        let streets: Vec<&str> = content_lines(&streets).collect();
        for lang in Language::ALL {
            let prompt = src
                .read(&format!("{lang}/whisper.txt"))?
                .unwrap_or_default();
            let prompt = prompt.trim();
            if !prompt.is_empty() {
                out.initial.insert(lang, prompt.to_owned());
            }
            let own = src.read(&format!("{lang}/words.txt"))?.unwrap_or_default();
            let words: Vec<&str> = content_lines(&own)
                .chain([prompt])
                .chain(streets.iter().copied())
                .collect();
            out.words.insert(lang, words.join("\n"));
            let list = src
                .read(&format!("{lang}/hallucinations.txt"))?
                .unwrap_or_default();
            out.blocklist.insert(lang, Blocklist::parse(&list));
        }
        Ok(out)
    }
}

/// Phrases Whisper hallucinates; matched against whole segments.
#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

/// The lines of a prompt file that are not blank or `#` comments, trimmed.
pub fn content_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Blocklist {
    pub fn parse(text: &str) -> Self {
        let mut list = Self::default();
        for line in content_lines(text) {
            match line.strip_suffix('*') {
                Some(prefix) => list.prefixes.push(normalize(prefix)),
                None => list.exact.push(normalize(line)),
            }
        }
        list
    }

    pub fn matches(&self, segment: &str) -> bool {
        let n = normalize(segment);
        !n.is_empty()
            && (self.exact.contains(&n) || self.prefixes.iter().any(|p| n.starts_with(p.as_str())))
    }
}

/// Lower-case, punctuation removed, spaces collapsed: the form texts are
/// compared in (also used for WER).
pub fn normalize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' || c == '’' {
                c
            } else {
                ' '
            }
        })
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .replace('’', "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocklist_matches_whole_segments_and_prefixes() {
        let b = Blocklist::parse("# c\nDziękuję za obejrzenie\nNapisy stworzone przez*\n");
        assert!(b.matches(" Dziękuję za obejrzenie!"));
        assert!(b.matches("Napisy stworzone przez społeczność Amara.org"));
        assert!(!b.matches("Dziękuję za obejrzenie dziury w jezdni na Długiej"));
        assert!(!b.matches(""));
    }

    #[test]
    fn builtin_prompts_exist_for_every_language() {
        let p = WhisperPrompts::load(&PromptSource::builtin()).unwrap();
        for lang in Language::ALL {
            assert!(p.initial.contains_key(&lang));
            assert!(p.blocklist[&lang].matches(match lang {
                Language::Pl => "Napisy stworzone przez społeczność Amara.org",
                Language::Uk => "Дякую за перегляд!",
                Language::En => "Thank you for watching.",
            }));
        }
    }

    #[test]
    fn normalize_strips_case_and_punctuation() {
        assert_eq!(
            normalize("  Jak daleko, jest stacja?! "),
            "jak daleko jest stacja"
        );
        assert_eq!(
            normalize("З'єднання — з абонентом."),
            "з'єднання з абонентом"
        );
    }
}
