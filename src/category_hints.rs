//! A category suggested from the transcript, for reports filed under the
//! default category (the caller pressed nothing, or chose "other"): the
//! keywords of each category in `prompts/<lang>/categories.txt`, found by
//! the phrase matcher ([`crate::phrases`]). Each category scores the
//! content words of its phrases heard ("ciepła woda" outweighs "woda");
//! the highest wins, a tie goes to the one heard first.

use std::collections::BTreeMap;

use crate::domain::Language;
use crate::ivr::{Menu, MenuError};
use crate::phrases::{PhraseList, Said};
use crate::prompts::PromptSource;

/// A suggested category and what was heard for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub category: String,
    /// The phrases of `categories.txt` heard, in the list's order.
    pub phrases: Vec<String>,
}

/// The keywords of every category, per language.
#[derive(Debug, Clone, Default)]
pub struct CategoryHints {
    by_lang: BTreeMap<Language, Vec<(String, PhraseList)>>,
}

impl CategoryHints {
    /// Every language's list; a section naming no category of `menu` (or
    /// the default one) is an error.
    pub fn load(src: &PromptSource, menu: &Menu) -> Result<Self, MenuError> {
        let mut by_lang = BTreeMap::new();
        for lang in Language::ALL {
            let file = format!("{lang}/categories.txt");
            let text = src.read(&file)?.unwrap_or_default();
            let lists = Self::parse_lists(&text);
            for (code, _) in &lists {
                if menu.category(code).is_none() || *code == menu.default_category {
                    return Err(MenuError::Invalid {
                        file,
                        message: format!("[{code}] is not a category a report can be moved to"),
                    });
                }
            }
            by_lang.insert(lang, lists);
        }
        Ok(Self { by_lang })
    }

    /// One language's list: `[code]` lines open a category's keywords.
    pub fn parse(lang: Language, text: &str) -> Self {
        Self {
            by_lang: [(lang, Self::parse_lists(text))].into_iter().collect(),
        }
    }

    fn parse_lists(text: &str) -> Vec<(String, PhraseList)> {
        let mut sections: Vec<(String, String)> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            match trimmed
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
            {
                Some(code) => sections.push((code.trim().to_owned(), String::new())),
                None => {
                    if let Some((_, body)) = sections.last_mut() {
                        body.push_str(line);
                        body.push('\n');
                    }
                }
            }
        }
        sections
            .into_iter()
            .map(|(code, body)| (code, PhraseList::parse(&body)))
            .filter(|(_, list)| !list.is_empty())
            .collect()
    }

    /// The category `transcript` speaks of, if any keyword is heard.
    pub fn suggest(&self, lang: Language, transcript: &str) -> Option<Suggestion> {
        let said = Said::new(transcript);
        let mut best: Option<(usize, usize, Suggestion)> = None;
        for (code, list) in self.by_lang.get(&lang)? {
            let found = list.all(&said);
            let Some(first) = found.iter().map(|m| m.at).min() else {
                continue;
            };
            let score: usize = found.iter().map(|m| m.words).sum();
            let better = match &best {
                None => true,
                Some((s, at, _)) => score > *s || (score == *s && first < *at),
            };
            if better {
                let phrases = found.into_iter().map(|m| m.phrase).collect();
                best = Some((
                    score,
                    first,
                    Suggestion {
                        category: code.clone(),
                        phrases,
                    },
                ));
            }
        }
        best.map(|(_, _, s)| s)
    }
}
