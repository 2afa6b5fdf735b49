//! Phrases in a transcript, found despite inflection, word order and
//! transcription errors: the same stems as the street hints
//! ([`crate::address::stem`]), compared with a tolerance, every content
//! word of a phrase within a short window of the transcript, in any order.
//! Lists are plain text in `prompts/<lang>/` (one phrase a line, `#`
//! comments; `heard => shown` for a transcription error of a phrase, shown
//! as the phrase). The urgent phrases and the category keywords use it.

use crate::address::{similarity, stem};

/// Words that carry no meaning of their own in a phrase.
const FILLERS: &[&str] = &[
    "sie", "na", "w", "we", "z", "ze", "do", "i", "o", "po", "przy", "od", "jest", "to", "u", "a",
    "the", "an", "is", "of", "on", "in", "at", "there", "my", "has", "have", "are", "на", "в", "у",
    "з", "і", "й", "та", "по", "біля", "є", "до", "від",
];

/// One phrase: how it is shown, and the stems a transcript must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Phrase {
    text: String,
    stems: Vec<String>,
}

/// A phrase found in a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhraseMatch {
    /// The phrase as the list shows it.
    pub phrase: String,
    /// The words of the transcript that matched it.
    pub heard: String,
    /// How many content words the phrase has (longer: more specific).
    pub words: usize,
    /// Where in the transcript it starts, in content words.
    pub at: usize,
}

/// A list of phrases of one language.
#[derive(Debug, Clone, Default)]
pub struct PhraseList {
    phrases: Vec<Phrase>,
}

/// A transcript as the matcher reads it: its content words and their stems.
pub struct Said<'a>(Vec<(&'a str, String)>);

impl<'a> Said<'a> {
    pub fn new(transcript: &'a str) -> Self {
        Self(
            words(transcript)
                .into_iter()
                .flat_map(unglue)
                .filter_map(|w| content(w).map(|s| (w, s)))
                .collect(),
        )
    }
}

fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect()
}

fn content(word: &str) -> Option<String> {
    let s = stem(word);
    (!FILLERS.contains(&s.as_str()) && !FILLERS.contains(&crate::address::fold(word).as_str()))
        .then_some(s)
}

/// Whether two stems are the same word, inflected or misheard: close by
/// edit distance, or one the other plus a short ending.
pub(crate) fn same_word(a: &str, b: &str) -> bool {
    inflected(a, b) || {
        let n = a.chars().count().min(b.chars().count());
        n >= 4 && similarity(a, b) >= 0.75
    }
}

/// Whether one stem is the other plus a short ending (or the same).
fn inflected(a: &str, b: &str) -> bool {
    let (short, long) = if a.chars().count() <= b.chars().count() {
        (a, b)
    } else {
        (b, a)
    };
    let (ns, nl) = (short.chars().count(), long.chars().count());
    if ns < 3 {
        return short == long;
    }
    let ending = if ns < 5 { 1 } else { 2 };
    long.starts_with(short) && nl - ns <= ending
}

/// A word and, when Whisper glued "się" to the next word ("ulatnia
/// sięgasz" for "ulatnia się gaz"), what follows the "się" as well.
fn unglue(word: &str) -> Vec<&str> {
    let rest = word
        .strip_prefix("się")
        .or_else(|| word.strip_prefix("Się"))
        .filter(|r| r.chars().count() >= 3);
    std::iter::once(word).chain(rest).collect()
}

impl PhraseList {
    pub fn parse(text: &str) -> Self {
        let phrases = crate::prompts::content_lines(text)
            .filter_map(|line| {
                let (heard, shown) = line.split_once("=>").unwrap_or((line, line));
                let stems: Vec<String> = words(heard).into_iter().filter_map(content).collect();
                (!stems.is_empty()).then(|| Phrase {
                    text: shown.trim().to_owned(),
                    stems,
                })
            })
            .collect();
        Self { phrases }
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The first phrase of the list that `said` holds.
    pub fn first(&self, said: &Said) -> Option<PhraseMatch> {
        self.phrases.iter().find_map(|p| find(p, said))
    }

    /// Every phrase of the list that `said` holds, each once.
    pub fn all(&self, said: &Said) -> Vec<PhraseMatch> {
        self.phrases.iter().filter_map(|p| find(p, said)).collect()
    }
}

/// Where `p` is said first: every stem within a window of the phrase's
/// length plus two, the window starting with one of them.
fn find(p: &Phrase, said: &Said) -> Option<PhraseMatch> {
    let said = &said.0;
    let window = p.stems.len() + 2;
    // A word alone has no neighbours to confirm a misheard form ("garaż"
    // is not "gałąź"): inflection only.
    let single = p.stems.len() == 1;
    (0..said.len()).find_map(|start| {
        let span = &said[start..(start + window).min(said.len())];
        let hits: Vec<&str> = p
            .stems
            .iter()
            .map(|want| {
                span.iter()
                    .find(|(_, s)| match single {
                        true => inflected(want, s),
                        false => same_word(want, s),
                    })
                    .map(|(w, _)| *w)
            })
            .collect::<Option<_>>()?;
        span.first()
            .filter(|(w, _)| hits.contains(w))
            .map(|_| PhraseMatch {
                phrase: p.text.clone(),
                heard: hits.join(" "),
                words: p.stems.len(),
                at: start,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_meet_across_inflection_and_small_errors() {
        assert!(same_word(&stem("gaz"), &stem("gazu")));
        assert!(same_word(&stem("przewróciło"), &stem("przewrócone")));
        assert!(!same_word(&stem("gaz"), &stem("gazeta")));
        assert!(!same_word(&stem("pali"), &stem("palec")));
        assert!(!same_word(&stem("lezy"), &stem("lesie")));
    }

    #[test]
    fn a_word_alone_is_not_taken_for_a_misheard_one() {
        let list = PhraseList::parse("gałąź\nzłamana gałąź\n");
        assert!(list.first(&Said::new("Sąsiad buduje garaż.")).is_none());
        let found = list.all(&Said::new("Leży złamana gałęź."));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].phrase, "złamana gałąź");
    }

    #[test]
    fn every_phrase_is_found_once_with_its_place() {
        let list = PhraseList::parse("# a comment\nciepła woda\nwoda\ngas => gaz\n");
        let said = Said::new("Od rana nie ma ciepłej wody, czuć gas.");
        let found = list.all(&said);
        let shown: Vec<(&str, usize)> =
            found.iter().map(|m| (m.phrase.as_str(), m.words)).collect();
        assert_eq!(shown, vec![("ciepła woda", 2), ("woda", 1), ("gaz", 1)]);
        assert!(found[0].at < found[2].at);
        assert_eq!(list.first(&said).unwrap().heard, "ciepłej wody");
    }
}
