//! Address hints: street mentions in a transcript ("na ulicy Długiej 12",
//! "przy alei Mickiewicza", "na rondzie Mogilskim") matched to the city's
//! street list (`prompts/streets.txt`) despite Polish inflection and
//! transcription errors ("Długiej" → Długa, "Dłógiej" → Długa).
//!
//! Matching compares stems: lower case, no diacritics, case endings
//! removed, so "Długa", "Długiej" and "Długą" meet at "dlug"; stems that are
//! close (Levenshtein) still match, with a lower score.

use crate::prompts::{PromptError, PromptSource};

/// One street of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Street {
    /// ulica, aleja, plac, rondo, osiedle, rynek, most, bulwar.
    pub kind: String,
    pub name: String,
    stems: Vec<String>,
}

impl Street {
    /// How an agent writes it: "Długa", "al. Adama Mickiewicza", "Rondo Mogilskie".
    pub fn display(&self) -> String {
        match self.kind.as_str() {
            "ulica" => self.name.clone(),
            "aleja" => format!("al. {}", self.name),
            "plac" => format!("pl. {}", self.name),
            "osiedle" => format!("os. {}", self.name),
            "rondo" => format!("Rondo {}", self.name),
            "rynek" => format!("Rynek {}", self.name),
            "most" => format!("Most {}", self.name),
            "bulwar" => format!("Bulwar {}", self.name),
            _ => self.name.clone(),
        }
    }
}

pub use crate::domain::AddressCandidate as Candidate;

#[derive(Debug, Clone, Default)]
pub struct Streets {
    streets: Vec<Street>,
}

/// Words that announce a street, with the kind they announce.
const MARKERS: &[(&str, &str)] = &[
    ("ulica", "ulica"),
    ("ulicy", "ulica"),
    ("ulice", "ulica"),
    ("ulica", "ulica"),
    ("ul", "ulica"),
    ("aleja", "aleja"),
    ("alei", "aleja"),
    ("aleje", "aleja"),
    ("al", "aleja"),
    ("alejach", "aleja"),
    ("plac", "plac"),
    ("placu", "plac"),
    ("pl", "plac"),
    ("rondo", "rondo"),
    ("rondzie", "rondo"),
    ("ronda", "rondo"),
    ("osiedle", "osiedle"),
    ("osiedlu", "osiedle"),
    ("osiedla", "osiedle"),
    ("os", "osiedle"),
    ("rynek", "rynek"),
    ("rynku", "rynek"),
    ("most", "most"),
    ("moscie", "most"),
    ("mostu", "most"),
    ("bulwar", "bulwar"),
    ("bulwarze", "bulwar"),
    ("bulwaru", "bulwar"),
];

/// Prepositions after which a bare street name is likely ("na Długiej").
const PREPOSITIONS: &[&str] = &[
    "na",
    "przy",
    "przed",
    "za",
    "kolo",
    "obok",
    "naprzeciwko",
    "z",
    "od",
    "do",
    "w",
    "pod",
];

/// Case endings removed before comparing, longest first.
const ENDINGS: &[&str] = &[
    "owej", "iego", "owym", "owa", "owe", "owy", "iej", "ego", "emu", "ymi", "imi", "ich", "ych",
    "ami", "ach", "ej", "em", "ym", "im", "om", "ie", "a", "e", "i", "y", "u", "o",
];

/// Lower case, Polish diacritics folded.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ą' => 'a',
            'ć' => 'c',
            'ę' => 'e',
            'ł' => 'l',
            'ń' => 'n',
            'ó' => 'o',
            'ś' => 's',
            'ź' | 'ż' => 'z',
            c => c,
        })
        .collect()
}

pub fn stem(word: &str) -> String {
    let w = fold(word);
    for e in ENDINGS {
        if w.len() > e.len() + 2 {
            if let Some(s) = w.strip_suffix(e) {
                return s.to_owned();
            }
        }
    }
    w
}

/// 1 − Levenshtein distance / the longer length.
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let n = a.len().max(b.len());
    if n == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    1.0 - prev[b.len()] as f64 / n as f64
}

/// Words of the name that identify it (first names and honorifics dropped
/// when callers usually omit them: "alei Mickiewicza").
fn key_words(name: &str) -> Vec<&str> {
    let words: Vec<&str> = name.split([' ', '-']).filter(|w| !w.is_empty()).collect();
    let skip = ["im.", "Świętego", "Świętej", "Księcia", "Marszałka"];
    let words: Vec<&str> = words.into_iter().filter(|w| !skip.contains(w)).collect();
    // "Adama Mickiewicza" → "Mickiewicza"; "Bohaterów Getta" stays whole.
    if words.len() == 2
        && words[0].ends_with('a')
        && words[1].ends_with('a')
        && words[0].chars().next().is_some_and(char::is_uppercase)
    {
        return vec![words[1]];
    }
    words
}

impl Streets {
    pub fn load(src: &PromptSource) -> Result<Self, PromptError> {
        Ok(Self::parse(&src.read("streets.txt")?.unwrap_or_default()))
    }

    pub fn parse(text: &str) -> Self {
        let mut streets: Vec<Street> = Vec::new();
        for line in crate::prompts::content_lines(text) {
            let Some((kind, name)) = line.split_once(';') else {
                continue;
            };
            let (kind, name) = (kind.trim().to_owned(), name.trim().to_owned());
            if streets.iter().any(|s| s.kind == kind && s.name == name) {
                continue;
            }
            let stems = key_words(&name).iter().map(|w| stem(w)).collect();
            streets.push(Street { kind, name, stems });
        }
        Self { streets }
    }

    pub fn len(&self) -> usize {
        self.streets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streets.is_empty()
    }

    /// Streets mentioned in `text`, best first (at most three).
    pub fn find(&self, text: &str) -> Vec<Candidate> {
        let words: Vec<&str> = text
            .split(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | ':' | '!' | '?' | '(' | ')' | '"')
            })
            .map(|w| w.trim_end_matches('.'))
            .filter(|w| !w.is_empty())
            .collect();
        let folded: Vec<String> = words.iter().map(|w| fold(w)).collect();
        let mut found: Vec<Candidate> = Vec::new();
        for i in 0..words.len() {
            let marker = MARKERS
                .iter()
                .find(|(m, _)| *m == folded[i])
                .map(|(_, k)| *k);
            let after_preposition = PREPOSITIONS.contains(&folded[i].as_str());
            if marker.is_none() && !after_preposition {
                continue;
            }
            let start = i + 1;
            // Without a marker, only a capitalised word can be a street.
            if marker.is_none()
                && !words
                    .get(start)
                    .is_some_and(|w| w.chars().next().is_some_and(char::is_uppercase))
            {
                continue;
            }
            for len in 1..=3 {
                let name_words = &words.get(start..start + len).unwrap_or(&[]);
                if name_words.len() < len
                    || name_words
                        .iter()
                        .any(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
                {
                    break;
                }
                if let Some((street, score)) = self.best(name_words, marker) {
                    let house = words
                        .get(start + len)
                        .filter(|w| house_number(w))
                        .map(|w| (*w).to_owned());
                    let heard = words
                        [i..(start + len + usize::from(house.is_some())).min(words.len())]
                        .join(" ");
                    found.push(Candidate {
                        street: street.display(),
                        house,
                        score,
                        heard,
                    });
                }
            }
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut out: Vec<Candidate> = Vec::new();
        for c in found {
            match out.iter_mut().find(|o| o.street == c.street) {
                // Keep the best score, and a house number if any mention had one.
                Some(o) => {
                    if o.house.is_none() {
                        o.house = c.house;
                    }
                }
                None => out.push(c),
            }
        }
        out.truncate(3);
        out
    }

    /// The street whose key words best match `words` (all of them), if good enough.
    fn best(&self, words: &[&str], marker: Option<&str>) -> Option<(&Street, f64)> {
        let stems: Vec<String> = words.iter().map(|w| stem(w)).collect();
        let mut best: Option<(&Street, f64)> = None;
        for s in &self.streets {
            if s.stems.len() != stems.len() {
                continue;
            }
            let sim = s
                .stems
                .iter()
                .zip(&stems)
                .map(|(a, b)| similarity(a, b))
                .fold(1.0f64, f64::min);
            let kind_bonus = match marker {
                Some(k) if k == s.kind => 0.05,
                Some(_) => -0.1,
                None => 0.0,
            };
            let score = (sim + kind_bonus).min(1.0);
            if score >= 0.75 && best.is_none_or(|(_, b)| score > b) {
                best = Some((s, score));
            }
        }
        best
    }
}

fn house_number(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_ascii_digit())
        && w.len() <= 6
        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet_across_cases() {
        assert_eq!(stem("Długa"), stem("Długiej"));
        assert_eq!(stem("Wielicka"), stem("Wielickiej"));
        assert_eq!(stem("Mogilskie"), stem("Mogilskim"));
        assert_eq!(fold("Źdźbło"), "zdzblo");
        assert!(similarity("dlug", "dlog") >= 0.75);
    }
}
